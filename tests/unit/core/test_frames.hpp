// Builders of test frames for the core unit tests: Ethernet (optionally 802.1Q-tagged), IPv4,
// IPv6, ARP, UDP, ICMPv6 and BOOTP/DHCP, byte by byte in network order, so a test can also
// build the malformed variants (short headers, wrong lengths, fragments).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/mac.hpp"

namespace subnic::test {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put16(Bytes& b, unsigned v) {
  put8(b, (v >> 8) & 0xff);
  put8(b, v & 0xff);
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}
inline void append(Bytes& b, const core::Mac& m) {
  b.insert(b.end(), m.bytes.begin(), m.bytes.end());
}

/// The address `s` ("10.0.0.1", "fd00::1"); throws on a typo in a test.
inline core::IpAddr ip(std::string_view s) {
  const auto a = core::IpAddr::parse(s);
  if (!a) {
    throw std::invalid_argument("bad address in test: " + std::string{s});
  }
  return *a;
}
/// The 4 network-order bytes of an IPv4 address.
inline Bytes v4(std::string_view s) {
  const auto a = ip(s);
  return Bytes(a.bytes.begin() + 12, a.bytes.end());
}
/// The 16 network-order bytes of an IPv6 address.
inline Bytes v6(std::string_view s) {
  const auto a = ip(s);
  return Bytes(a.bytes.begin(), a.bytes.end());
}

inline constexpr std::uint16_t kIpv4Type = 0x0800;
inline constexpr std::uint16_t kIpv6Type = 0x86dd;
inline constexpr std::uint16_t kArpType = 0x0806;
inline constexpr std::uint8_t kUdpProto = 17;
inline constexpr std::uint8_t kIcmpv6Proto = 58;

/// An Ethernet frame; with `vid`, one 802.1Q tag (TPID 0x8100) before `type`.
inline Bytes eth(const core::Mac& dst, const core::Mac& src, std::uint16_t type,
                 const Bytes& payload, std::optional<std::uint16_t> vid = std::nullopt) {
  Bytes b;
  append(b, dst);
  append(b, src);
  if (vid) {
    put16(b, 0x8100);
    put16(b, *vid);
  }
  put16(b, type);
  append(b, payload);
  return b;
}

/// IPv4 header fields a test may bend.
struct Ipv4Opts {
  std::uint8_t proto = kUdpProto;
  unsigned version = 4;
  unsigned ihl = 5;  // the header nibble; a 20-byte header is always written, plus options if > 5
  std::optional<std::uint16_t> tot_len;  // default: the real length
  std::uint16_t frag = 0;                // flags + fragment offset (0x2000 MF, 0x4000 DF)
};

/// An IPv4 packet (checksum left 0: nothing under test verifies it).
inline Bytes ipv4(std::string_view src, std::string_view dst, const Bytes& payload,
                  const Ipv4Opts& o = {}) {
  const std::size_t hlen = std::max(o.ihl, 5u) * 4;
  Bytes b;
  put8(b, (o.version << 4) | (o.ihl & 0x0f));
  put8(b, 0);  // TOS
  put16(b, o.tot_len.value_or(static_cast<std::uint16_t>(hlen + payload.size())));
  put16(b, 0x1234);  // id
  put16(b, o.frag);
  put8(b, 64);  // TTL
  put8(b, o.proto);
  put16(b, 0);  // checksum
  append(b, v4(src));
  append(b, v4(dst));
  b.resize(hlen, 0x01);  // IP options: NOPs
  append(b, payload);
  return b;
}

/// A UDP datagram; `len` overrides the length field.
inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
                 std::optional<std::uint16_t> len = std::nullopt) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, len.value_or(static_cast<std::uint16_t>(8 + payload.size())));
  put16(b, 0);
  append(b, payload);
  return b;
}

/// An IPv6 packet.
inline Bytes ipv6(std::string_view src, std::string_view dst, std::uint8_t nexthdr,
                  const Bytes& payload, unsigned version = 6) {
  Bytes b;
  put32(b, static_cast<std::uint32_t>(version) << 28);
  put16(b, static_cast<unsigned>(payload.size()));
  put8(b, nexthdr);
  put8(b, 255);  // hop limit
  append(b, v6(src));
  append(b, v6(dst));
  append(b, payload);
  return b;
}

/// ICMPv6 Neighbour Solicitation (RFC 4861 §4.3) for `target`.
inline Bytes icmpv6_ns(std::string_view target) {
  Bytes b{135, 0, 0, 0, 0, 0, 0, 0};  // type, code, checksum, reserved
  append(b, v6(target));
  return b;
}

/// Another ICMPv6 message: `type`, then zeros up to `len` bytes.
inline Bytes icmpv6(std::uint8_t type, std::size_t len = 8) {
  Bytes b(len, 0);
  b[0] = type;
  return b;
}

/// Ethernet/IPv4 ARP (RFC 826); op 1 request, 2 reply.
inline Bytes arp(std::uint16_t op, const core::Mac& sha, std::string_view spa, const core::Mac& tha,
                 std::string_view tpa) {
  Bytes b;
  put16(b, 1);       // hardware: Ethernet
  put16(b, 0x0800);  // protocol: IPv4
  put8(b, 6);
  put8(b, 4);
  put16(b, op);
  append(b, sha);
  append(b, v4(spa));
  append(b, tha);
  append(b, v4(tpa));
  return b;
}

/// A BOOTP message (RFC 2131 figure 1): the 236-byte fixed part, the magic cookie (unless
/// `cookie` is false) and `options` as given (the caller adds END when it wants one).
inline Bytes bootp(std::uint8_t op, std::uint32_t xid, const Bytes& options, bool cookie = true,
                   bool broadcast_flag = false) {
  Bytes b;
  put8(b, op);
  put8(b, 1);  // htype Ethernet
  put8(b, 6);  // hlen
  put8(b, 0);  // hops
  put32(b, xid);
  put16(b, 0);                            // secs
  put16(b, broadcast_flag ? 0x8000 : 0);  // flags
  b.resize(236, 0);                       // ciaddr..file
  if (cookie) {
    append(b, Bytes{99, 130, 83, 99});
  }
  append(b, options);
  return b;
}

/// DHCP option 61 (client identifier), then DHCP message type, then END.
inline Bytes dhcp_options(const Bytes& client_id, std::uint8_t msg_type = 1) {
  Bytes b{53, 1, msg_type};
  if (!client_id.empty()) {
    put8(b, 61);
    put8(b, static_cast<unsigned>(client_id.size()));
    append(b, client_id);
  }
  put8(b, 255);
  return b;
}

inline constexpr std::uint8_t kBootRequest = 1;
inline constexpr std::uint8_t kBootReply = 2;

/// A DHCP request as a client sends it: broadcast, 0.0.0.0:68 -> 255.255.255.255:67.
inline Bytes dhcp_request(const core::Mac& client_mac, std::uint32_t xid,
                          const Bytes& client_id = {}) {
  return eth(core::Mac::broadcast(), client_mac, kIpv4Type,
             ipv4("0.0.0.0", "255.255.255.255",
                  udp(68, 67, bootp(kBootRequest, xid, dhcp_options(client_id, 1)))));
}

/// A DHCP reply as a server sends it: server_ip:67 -> dst_ip:68, to `dst_mac`.
inline Bytes dhcp_reply(const core::Mac& dst_mac, const core::Mac& server_mac,
                        std::string_view server_ip, std::string_view dst_ip, std::uint32_t xid,
                        const Bytes& client_id = {}) {
  return eth(
      dst_mac, server_mac, kIpv4Type,
      ipv4(server_ip, dst_ip, udp(67, 68, bootp(kBootReply, xid, dhcp_options(client_id, 2)))));
}

}  // namespace subnic::test
