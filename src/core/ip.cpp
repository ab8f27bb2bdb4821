// IpAddr: IPv4 (stored IPv4-mapped) and IPv6 addresses in one value; text with inet_pton/inet_ntop.
#include "core/ip.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace subnic::core {
namespace {

// ::ffff:0:0/96, the IPv4-mapped prefix (RFC 4291 §2.5.5.2).
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

IpAddr IpAddr::from_v4(const std::uint8_t* p) {
  IpAddr a;
  std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin());
  std::memcpy(a.bytes.data() + 12, p, 4);
  return a;
}

IpAddr IpAddr::from_v6(const std::uint8_t* p) {
  IpAddr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  // inet_pton needs a NUL-terminated string; the longest IPv6 text is 45 characters.
  char text[INET6_ADDRSTRLEN] = {};
  if (s.empty() || s.size() >= sizeof text) {
    return std::nullopt;
  }
  s.copy(text, s.size());
  std::uint8_t raw[16] = {};
  if (::inet_pton(AF_INET, text, raw) == 1) {
    return from_v4(raw);
  }
  if (::inet_pton(AF_INET6, text, raw) == 1) {
    return from_v6(raw);
  }
  return std::nullopt;
}

bool IpAddr::v4() const {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

std::string IpAddr::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (v4()) {
    ::inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

}  // namespace subnic::core
