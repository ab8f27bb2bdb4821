// IP addresses as the ipvlan address table keys them: IPv4 and IPv6 in one 16-byte value.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace subnic::core {

/// One IPv4 or IPv6 address. IPv4 is stored as the IPv4-mapped IPv6 address ::ffff:a.b.c.d
/// (RFC 4291 §2.5.5.2), so one ordered table holds both families; `v4()` tells them apart.
/// Bytes are in network order.
struct IpAddr {
  std::array<std::uint8_t, 16> bytes{};

  /// From 4 network-order bytes.
  static IpAddr from_v4(const std::uint8_t* p);
  /// From 16 network-order bytes.
  static IpAddr from_v6(const std::uint8_t* p);
  /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (inet_pton); nullopt otherwise.
  static std::optional<IpAddr> parse(std::string_view s);

  /// True for an IPv4 address (stored IPv4-mapped).
  bool v4() const;
  /// inet_ntop text: "10.0.0.1", "fd00::1".
  std::string to_string() const;

  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

}  // namespace subnic::core
