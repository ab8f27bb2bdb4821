// IP test packets built by hand: Internet checksums (RFC 1071), IPv4/IPv6 headers, ICMP and ICMPv6
// echo requests, TCP/UDP checksum checks.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace subnic::test {

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

/// Running 32-bit sum of big-endian 16-bit words; an odd last byte is padded with zero.
inline std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    acc += (std::uint32_t{p[i]} << 8) | p[i + 1];
  }
  if (n % 2 != 0) {
    acc += std::uint32_t{p[n - 1]} << 8;
  }
  return acc;
}

inline std::uint16_t fold16(std::uint32_t acc) {
  while (acc >> 16) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<std::uint16_t>(acc);
}

inline void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
inline std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{get16(p)} << 16) | get16(p + 2);
}

/// 4 or 16 network-order bytes of a textual address (inet_pton).
inline std::vector<std::uint8_t> addr_bytes(const std::string& text) {
  std::vector<std::uint8_t> out(16);
  if (::inet_pton(AF_INET, text.c_str(), out.data()) == 1) {
    out.resize(4);
  } else if (::inet_pton(AF_INET6, text.c_str(), out.data()) != 1) {
    out.clear();
  }
  return out;
}

/// Pseudo-header sum (RFC 768/9293 for IPv4, RFC 8200 §8.1 for IPv6) of an IP packet's
/// transport part: addresses, protocol, transport length.
inline std::uint32_t pseudo_sum(const std::vector<std::uint8_t>& pkt, std::size_t l4_off,
                                std::uint8_t proto) {
  const auto l4_len = static_cast<std::uint32_t>(pkt.size() - l4_off);
  if ((pkt[0] >> 4) == 4) {
    return sum16(pkt.data() + 12, 8) + proto + l4_len;
  }
  return sum16(pkt.data() + 8, 32) + proto + l4_len;
}

/// A transport checksum verifies: the sum over pseudo-header and segment folds to 0xffff.
inline bool l4_checksum_ok(const std::vector<std::uint8_t>& pkt, std::size_t l4_off,
                           std::uint8_t proto) {
  return fold16(sum16(pkt.data() + l4_off, pkt.size() - l4_off, pseudo_sum(pkt, l4_off, proto))) ==
         0xffff;
}

/// An IPv4 packet with a 20-byte header (checksum filled in) around `payload`.
inline std::vector<std::uint8_t> ipv4_packet(const std::string& src, const std::string& dst,
                                             std::uint8_t proto, std::uint8_t ttl,
                                             const std::vector<std::uint8_t>& payload,
                                             std::uint16_t id = 0x1234) {
  std::vector<std::uint8_t> p(20, 0);
  p[0] = 0x45;
  put16(p.data() + 2, static_cast<std::uint16_t>(20 + payload.size()));
  put16(p.data() + 4, id);
  p[8] = ttl;
  p[9] = proto;
  const auto s = addr_bytes(src);
  const auto d = addr_bytes(dst);
  std::memcpy(p.data() + 12, s.data(), 4);
  std::memcpy(p.data() + 16, d.data(), 4);
  put16(p.data() + 10, static_cast<std::uint16_t>(~fold16(sum16(p.data(), 20))));
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

/// An IPv6 packet (fixed header only) around `payload`.
inline std::vector<std::uint8_t> ipv6_packet(const std::string& src, const std::string& dst,
                                             std::uint8_t next_header, std::uint8_t hop_limit,
                                             const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> p(40, 0);
  p[0] = 0x60;
  put16(p.data() + 4, static_cast<std::uint16_t>(payload.size()));
  p[6] = next_header;
  p[7] = hop_limit;
  const auto s = addr_bytes(src);
  const auto d = addr_bytes(dst);
  std::memcpy(p.data() + 8, s.data(), 16);
  std::memcpy(p.data() + 24, d.data(), 16);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

/// IPv4 ICMP echo request (type 8) with `marker` as data.
inline std::vector<std::uint8_t> icmp4_echo(const std::string& src, const std::string& dst,
                                            std::uint8_t ttl, std::uint16_t ident,
                                            const std::string& marker) {
  std::vector<std::uint8_t> icmp(8, 0);
  icmp[0] = 8;
  put16(icmp.data() + 4, ident);
  put16(icmp.data() + 6, 1);
  icmp.insert(icmp.end(), marker.begin(), marker.end());
  put16(icmp.data() + 2, static_cast<std::uint16_t>(~fold16(sum16(icmp.data(), icmp.size()))));
  return ipv4_packet(src, dst, kProtoIcmp, ttl, icmp);
}

/// IPv6 ICMPv6 echo request (type 128) with `marker` as data; checksum over the pseudo-header.
inline std::vector<std::uint8_t> icmp6_echo(const std::string& src, const std::string& dst,
                                            std::uint8_t hop_limit, std::uint16_t ident,
                                            const std::string& marker) {
  std::vector<std::uint8_t> icmp(8, 0);
  icmp[0] = 128;
  put16(icmp.data() + 4, ident);
  put16(icmp.data() + 6, 1);
  icmp.insert(icmp.end(), marker.begin(), marker.end());
  auto p = ipv6_packet(src, dst, kProtoIcmpv6, hop_limit, icmp);
  const std::uint32_t pseudo = pseudo_sum(p, 40, kProtoIcmpv6);
  put16(p.data() + 42,
        static_cast<std::uint16_t>(~fold16(sum16(p.data() + 40, icmp.size(), pseudo))));
  return p;
}

}  // namespace subnic::test
