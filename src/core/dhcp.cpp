// DHCP demultiplexing for uppers sharing one MAC (RFC 2131, RFC 2132, RFC 6842).
#include "core/dhcp.hpp"

#include <algorithm>
#include <cstring>

namespace subnic::core {

namespace {

constexpr std::size_t kIpv4HeaderMin = 20;  // bytes
constexpr std::size_t kUdpHeader = 8;       // bytes
constexpr std::uint8_t kUdp = 17;
// BOOTP fixed part (RFC 2131 §2, figure 1) up to the options: op..file = 236 bytes, then the
// 4-byte magic cookie 99.130.83.99 (RFC 2131 §3).
constexpr std::size_t kBootpFixed = 236;
constexpr std::uint8_t kCookie[4] = {99, 130, 83, 99};
constexpr std::uint8_t kOptPad = 0;
constexpr std::uint8_t kOptEnd = 255;
constexpr std::uint8_t kOptClientId = 61;

bool same_client(const DhcpInfo& a, const DhcpInfo& b) {
  return a.client_id_len == b.client_id_len &&
         std::equal(a.client_id.begin(), a.client_id.begin() + a.client_id_len,
                    b.client_id.begin());
}

}  // namespace

std::optional<DhcpInfo> parse_dhcp(FrameView frame) {
  const auto eth = frame.parse();
  if (!eth || eth->vlan_id || eth->ethertype != kEthPIpv4) {
    return std::nullopt;
  }
  const auto b = frame.bytes();
  const std::uint8_t* ip = b.data() + eth->payload_offset;
  const std::size_t avail = b.size() - eth->payload_offset;
  if (avail < kIpv4HeaderMin || (ip[0] >> 4) != 4 || ip[9] != kUdp) {
    return std::nullopt;
  }
  const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
  const std::size_t total = load_be16(ip + 2);
  const std::uint16_t frag = load_be16(ip + 6);
  if (ihl < kIpv4HeaderMin || total < ihl || total > avail || (frag & 0x3fff) != 0) {
    return std::nullopt;  // malformed, or a fragment (MF set or non-zero offset)
  }
  const std::uint8_t* udp = ip + ihl;
  const std::size_t udp_avail = total - ihl;
  if (udp_avail < kUdpHeader) {
    return std::nullopt;
  }
  const std::uint16_t sport = load_be16(udp);
  const std::uint16_t dport = load_be16(udp + 2);
  const std::size_t udp_len = std::min<std::size_t>(load_be16(udp + 4), udp_avail);
  if (udp_len < kUdpHeader) {
    return std::nullopt;
  }
  const std::uint8_t* m = udp + kUdpHeader;
  const std::size_t mlen = udp_len - kUdpHeader;
  if (mlen < kBootpFixed + sizeof kCookie || std::memcmp(m + kBootpFixed, kCookie, 4) != 0) {
    return std::nullopt;
  }
  DhcpInfo d;
  d.op = m[0];
  const bool request = d.op == 1 && sport == kDhcpClientPort && dport == kDhcpServerPort;
  const bool reply = d.op == 2 && sport == kDhcpServerPort && dport == kDhcpClientPort;
  if (!request && !reply) {
    return std::nullopt;
  }
  d.xid =
      (std::uint32_t{m[4]} << 24) | (std::uint32_t{m[5]} << 16) | (std::uint32_t{m[6]} << 8) | m[7];
  for (std::size_t i = kBootpFixed + sizeof kCookie; i < mlen;) {
    const std::uint8_t code = m[i];
    if (code == kOptEnd) {
      break;
    }
    if (code == kOptPad) {
      ++i;
      continue;
    }
    if (i + 2 > mlen || i + 2 + m[i + 1] > mlen) {
      break;  // truncated option: stop scanning, keep what was found
    }
    const std::size_t olen = m[i + 1];
    if (code == kOptClientId) {
      d.client_id_len = static_cast<std::uint8_t>(std::min(olen, kMaxClientIdLen));
      std::memcpy(d.client_id.data(), m + i + 2, d.client_id_len);
    }
    i += 2 + olen;
  }
  return d;
}

void DhcpTable::learn(const DhcpInfo& req, std::uint64_t upper_id) {
  for (auto& s : slots_) {
    if (s.used && s.req.xid == req.xid && same_client(s.req, req)) {
      s.upper = upper_id;
      return;
    }
  }
  slots_[next_] = Slot{true, req, upper_id};
  next_ = (next_ + 1) % kSlots;
}

std::optional<std::uint64_t> DhcpTable::lookup(const DhcpInfo& reply) const {
  // Newest first: a reused xid answers the latest request.
  for (std::size_t n = 0; n < kSlots; ++n) {
    const auto& s = slots_[(next_ + kSlots - 1 - n) % kSlots];
    if (!s.used || s.req.xid != reply.xid) {
      continue;
    }
    if (reply.client_id_len == 0 || s.req.client_id_len == 0 || same_client(s.req, reply)) {
      return s.upper;
    }
  }
  return std::nullopt;
}

void DhcpTable::forget(std::uint64_t upper_id) {
  for (auto& s : slots_) {
    if (s.used && s.upper == upper_id) {
      s.used = false;
    }
  }
}

}  // namespace subnic::core
