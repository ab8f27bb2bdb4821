// ip-compatible word, number and address parsing.
#include "cli/words.hpp"

#include "core/mac.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace subnic::cli {

bool matches(std::string_view arg, std::string_view word) {
  return !arg.empty() && arg.size() <= word.size() && word.substr(0, arg.size()) == arg;
}

namespace {

// strtol/strtoul need a NUL-terminated string; argv words have no NUL inside,
// but a string_view built elsewhere could, and then the whole word is not a number.
bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

std::optional<long> whole_strtol(std::string_view arg) {
  if (arg.empty() || has_nul(arg)) {
    return std::nullopt;
  }
  const std::string s{arg};
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 0);
  if (end == s.c_str() || *end != '\0') {
    return std::nullopt;
  }
  if ((v == LONG_MAX || v == LONG_MIN) && errno == ERANGE) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<int> get_integer(std::string_view arg) {
  const auto v = whole_strtol(arg);
  if (!v || *v < INT_MIN || *v > INT_MAX) {
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

std::optional<std::int32_t> get_s32(std::string_view arg) {
  const auto v = whole_strtol(arg);
  if (!v || *v < INT32_MIN || *v > INT32_MAX) {
    return std::nullopt;
  }
  return static_cast<std::int32_t>(*v);
}

std::optional<std::uint32_t> get_u32(std::string_view arg) {
  if (arg.empty() || has_nul(arg)) {
    return std::nullopt;
  }
  const std::string s{arg};
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (end == s.c_str() || *end != '\0') {
    return std::nullopt;
  }
  if (v == ULONG_MAX && errno == ERANGE) {
    return std::nullopt;
  }
  if (v > 0xffffffffUL) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint16_t> get_u16(std::string_view arg) {
  const auto v = get_u32(arg);
  if (!v || *v > 0xffff) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

std::optional<std::uint8_t> get_u8(std::string_view arg) {
  const auto v = get_u32(arg);
  if (!v || *v > 0xff) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(*v);
}

namespace {

// One byte of an address the way sscanf(seg, "%x", &int) reads it; nullopt
// when sscanf would fail or the value is outside 0..255 (ll_addr_a2n()).
std::optional<std::uint8_t> scan_hex_byte(std::string_view seg) {
  std::size_t i = 0;
  while (i < seg.size() && std::isspace(static_cast<unsigned char>(seg[i])) != 0) {
    ++i;
  }
  bool negative = false;
  if (i < seg.size() && (seg[i] == '+' || seg[i] == '-')) {
    negative = seg[i] == '-';
    ++i;
  }
  if (i + 1 < seg.size() && seg[i] == '0' && (seg[i + 1] == 'x' || seg[i + 1] == 'X') &&
      i + 2 < seg.size() && core::hex_digit(seg[i + 2]) >= 0) {
    i += 2;
  }
  if (i >= seg.size() || core::hex_digit(seg[i]) < 0) {
    return std::nullopt;
  }
  unsigned long value = 0;
  for (; i < seg.size() && core::hex_digit(seg[i]) >= 0; ++i) {
    value = value * 16 + static_cast<unsigned long>(core::hex_digit(seg[i]));
    if (value > 0xffff) {
      value = 0xffff;  // saturate: anything past 255 is refused anyway
    }
  }
  if ((negative && value != 0) || value > 255) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(value);
}

}  // namespace

CliResult<std::vector<std::uint8_t>> ll_addr_a2n(std::string_view arg) {
  const auto invalid = [](std::string_view what) {
    return stop("\"" + std::string{what} + "\" is invalid lladdr.", kExitFailure);
  };
  if (arg.find('.') != std::string_view::npos) {
    in_addr a{};
    if (has_nul(arg) || ::inet_pton(AF_INET, std::string{arg}.c_str(), &a) != 1) {
      return invalid(arg);
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(&a.s_addr);
    return std::vector<std::uint8_t>(p, p + 4);
  }
  std::vector<std::uint8_t> bytes;
  for (;;) {
    const auto colon = arg.find(':');
    const std::string_view seg = arg.substr(0, colon);
    const auto b = scan_hex_byte(seg);
    if (!b) {
      return invalid(seg);
    }
    bytes.push_back(*b);
    if (colon == std::string_view::npos) {
      return bytes;
    }
    arg.remove_prefix(colon + 1);
  }
}

namespace {
bool ip_isspace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
}  // namespace

bool ip_check_altifname(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    if (c == '/' || c == '\0' || ip_isspace(c)) {
      return false;
    }
  }
  return true;
}

bool ip_check_ifname(std::string_view name) {
  return name.size() < 16 && ip_check_altifname(name);
}

tl::unexpected<CliError> invarg(std::string_view msg, std::string_view arg) {
  return stop("Error: argument \"" + std::string{arg} + "\" is wrong: " + std::string{msg},
              kExitUsage);
}

tl::unexpected<CliError> duparg(std::string_view key, std::string_view arg) {
  return stop("Error: duplicate \"" + std::string{key} + "\": \"" + std::string{arg} +
                  "\" is the second value.",
              kExitUsage);
}

tl::unexpected<CliError> duparg2(std::string_view key, std::string_view arg) {
  return stop("Error: either \"" + std::string{key} + "\" is duplicate, or \"" + std::string{arg} +
                  "\" is a garbage.",
              kExitUsage);
}

tl::unexpected<CliError> incomplete_command() {
  return stop("Command line is not complete. Try option \"help\"", kExitUsage);
}

tl::unexpected<CliError> on_off(std::string_view key, std::string_view arg) {
  return stop("Error: argument of \"" + std::string{key} + "\" must be \"on\" or \"off\", not \"" +
                  std::string{arg} + "\"",
              kExitFailure);
}

tl::unexpected<CliError> one_of_off_on(std::string_view key, std::string_view arg) {
  return stop("Error: argument of \"" + std::string{key} +
                  "\" must be one of \"off\", \"on\", not \"" + std::string{arg} + "\"",
              kExitFailure);
}

tl::unexpected<CliError> not_supported(std::string_view word) {
  return stop("Error: subnic: \"" + std::string{word} + "\" is not supported yet", kExitFailure);
}

}  // namespace subnic::cli
