// Parsing and printing of MAC addresses.
#include "core/mac.hpp"

#include <cstdio>

namespace subnic::core {

std::optional<Mac> Mac::parse(std::string_view s) {
  Mac m;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    int value = 0;
    int digits = 0;
    while (pos < s.size() && s[pos] != ':') {
      const int h = hex_digit(s[pos]);
      if (h < 0 || digits == 2) {
        return std::nullopt;
      }
      value = value * 16 + h;
      ++digits;
      ++pos;
    }
    if (digits == 0) {
      return std::nullopt;
    }
    m.bytes[i] = static_cast<std::uint8_t>(value);
    if (i < 5) {
      if (pos >= s.size() || s[pos] != ':') {
        return std::nullopt;
      }
      ++pos;
    }
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  return m;
}

std::string Mac::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

}  // namespace subnic::core
