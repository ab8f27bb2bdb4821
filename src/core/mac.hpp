// Ethernet MAC addresses: a strong 6-byte type with parsing and formatting.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace subnic::core {

/// Value of one hexadecimal digit (either case), -1 for any other character.
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// A 48-bit IEEE 802 MAC address in wire order.
struct Mac {
  std::array<std::uint8_t, 6> bytes{};

  static constexpr Mac broadcast() { return Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

  /// Group bit (I/G, IEEE 802-2014 §8.2): broadcast or multicast.
  constexpr bool is_group() const { return (bytes[0] & 0x01) != 0; }
  constexpr bool is_broadcast() const { return *this == broadcast(); }
  constexpr bool is_multicast() const { return is_group() && !is_broadcast(); }
  constexpr bool is_zero() const { return *this == Mac{}; }
  /// Valid as a device address: not group, not all-zero (is_valid_ether_addr()).
  constexpr bool is_valid_unicast() const { return !is_group() && !is_zero(); }
  constexpr bool is_local_admin() const { return (bytes[0] & 0x02) != 0; }

  /// The 48 bits packed into the low bits of an integer (for hashing).
  constexpr std::uint64_t to_u64() const {
    std::uint64_t v = 0;
    for (auto b : bytes) {
      v = (v << 8) | b;
    }
    return v;
  }

  /// Reads 6 bytes from `p` (no alignment needed).
  static Mac from_bytes(const std::uint8_t* p) {
    Mac m;
    for (int i = 0; i < 6; ++i) {
      m.bytes[static_cast<std::size_t>(i)] = p[i];
    }
    return m;
  }

  /// Parses "aa:bb:cc:dd:ee:ff" (hex digits, either case; one- or two-digit octets as `ip`
  /// accepts).
  static std::optional<Mac> parse(std::string_view s);
  /// "aa:bb:cc:dd:ee:ff", lower case, as `ip` prints.
  std::string to_string() const;

  friend constexpr auto operator<=>(const Mac&, const Mac&) = default;
};

/// Random locally administered unicast MAC (eth_random_addr()), from 48 random bits.
constexpr Mac mac_from_random(std::uint64_t r) {
  Mac m;
  for (int i = 0; i < 6; ++i) {
    m.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(r >> (8 * i));
  }
  m.bytes[0] = static_cast<std::uint8_t>((m.bytes[0] & 0xfe) | 0x02);
  return m;
}

}  // namespace subnic::core
