// Software GSO: TCP and UDP segmentation, UDP fragmentation and checksum completion for frames
// going to a guest that cannot take them whole.
#include "io/gso.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/frame.hpp"
#include "io/raw_ip.hpp"

namespace subnic::io {
namespace {

constexpr std::size_t kEthLen = 14;         // bytes: dst, src, EtherType
constexpr std::size_t kTagLen = 4;          // bytes: one 802.1Q/802.1ad tag
constexpr std::size_t kMaxTags = 2;         // QinQ
constexpr std::size_t kIpv4MinLen = 20;     // bytes, ihl = 5
constexpr std::size_t kIpv6Len = 40;        // bytes, fixed header
constexpr std::size_t kIpv6FragLen = 8;     // bytes, fragment header
constexpr std::size_t kTcpMinLen = 20;      // bytes, doff = 5
constexpr std::size_t kUdpLen = 8;          // bytes
constexpr std::size_t kTcpCsumOffset = 16;  // offsetof(struct tcphdr, check)
constexpr std::size_t kUdpCsumOffset = 6;   // offsetof(struct udphdr, check)
constexpr std::size_t kMaxIpLen = 65535;    // bytes: 16-bit IPv4 tot_len / IPv6 payload_len
constexpr std::size_t kMaxExtHeaders = 8;   // IPv6 extension headers we walk at most
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kNhHop = 0;
constexpr std::uint8_t kNhRouting = 43;
constexpr std::uint8_t kNhFragment = 44;
constexpr std::uint8_t kNhDest = 60;
constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;
constexpr std::uint16_t kIpv4Mf = 0x2000;
constexpr std::uint16_t kIpv4FragMask = 0x3fff;  // MF | fragment offset
constexpr std::uint16_t kIpv6Mf = 0x0001;

using core::inet_fold;
using core::inet_sum;
constexpr auto ld16 = core::load_be16;
constexpr auto ld32 = core::load_be32;
constexpr auto st16 = core::store_be16;
constexpr auto st32 = core::store_be32;

void store_vnet(std::uint8_t* p, const VnetHdr& h) {
  std::memcpy(p, &h, kVnetHdrLen);
}

// Where the layers of one IP frame are, as byte offsets from the start of the Ethernet frame.
struct Layout {
  std::size_t l3 = 0;  // IP header
  bool v6 = false;
  std::size_t l4 = 0;       // transport header (after IPv6 extension headers)
  std::uint8_t proto = 0;   // transport protocol (IPv4 protocol / last IPv6 next header)
  std::size_t end = 0;      // end of the IP packet (frame bytes after it are padding)
  std::size_t unfrag = 0;   // IPv6: end of the unfragmentable part (ip6_find_1stfragopt)
  std::size_t prev_nh = 0;  // IPv6: the next-header byte that names the first fragmentable one
};

// Offset of the network header after up to kMaxTags VLAN tags, and its EtherType; 0 if the
// frame is too short.
std::size_t network_offset(std::span<const std::uint8_t> f, std::uint16_t& ethertype) {
  if (f.size() < kEthLen) {
    return 0;
  }
  std::size_t off = kEthLen;
  ethertype = ld16(&f[12]);
  for (std::size_t i = 0; i < kMaxTags && (ethertype == 0x8100 || ethertype == 0x88a8); ++i) {
    if (f.size() < off + kTagLen) {
      return 0;
    }
    ethertype = ld16(&f[off + 2]);
    off += kTagLen;
  }
  return off;
}

// Parses Ethernet (+ tags) and IPv4/IPv6 (+ extension headers) with every read bounds-checked.
// EINVAL for anything truncated or not IP; `allow_frag` lets an IPv4 fragment through (checksum
// completion only needs the layout).
Result<Layout> parse_ip(std::span<const std::uint8_t> f, bool allow_frag) {
  Layout l;
  std::uint16_t et = 0;
  l.l3 = network_offset(f, et);
  if (l.l3 == 0) {
    return fail(EINVAL, "GSO: truncated Ethernet header");
  }
  const std::size_t avail = f.size() - l.l3;
  if (et == 0x0800) {
    if (avail < kIpv4MinLen || (f[l.l3] >> 4) != 4) {
      return fail(EINVAL, "GSO: truncated or bad IPv4 header");
    }
    const std::size_t ihl = std::size_t{f[l.l3] & 0x0fu} * 4;
    std::size_t tot = ld16(&f[l.l3 + 2]);
    if (tot == 0) {
      tot = avail;
    }
    if (ihl < kIpv4MinLen || tot < ihl || tot > avail || tot > kMaxIpLen) {
      return fail(EINVAL, "GSO: bad IPv4 ihl or total length");
    }
    if (!allow_frag && (ld16(&f[l.l3 + 6]) & kIpv4FragMask) != 0) {
      return fail(EINVAL, "GSO: IPv4 packet is a fragment");
    }
    l.l4 = l.l3 + ihl;
    l.proto = f[l.l3 + 9];
    l.end = l.l3 + tot;
    return l;
  }
  if (et != 0x86dd) {
    return fail(EINVAL, "GSO: not an IP frame");
  }
  if (avail < kIpv6Len || (f[l.l3] >> 4) != 6) {
    return fail(EINVAL, "GSO: truncated or bad IPv6 header");
  }
  std::size_t plen = ld16(&f[l.l3 + 4]);
  if (plen == 0) {
    plen = avail - kIpv6Len;
  }
  if (plen > avail - kIpv6Len || plen > kMaxIpLen) {
    return fail(EINVAL, "GSO: bad IPv6 payload length");
  }
  l.v6 = true;
  l.end = l.l3 + kIpv6Len + plen;
  std::size_t off = l.l3 + kIpv6Len;
  std::size_t nh_at = l.l3 + 6;
  std::uint8_t nh = f[nh_at];
  bool found_rhdr = false;
  bool unfrag_set = false;
  for (std::size_t i = 0; nh == kNhHop || nh == kNhRouting || nh == kNhDest; ++i) {
    if (i == kMaxExtHeaders || off + 2 > l.end) {
      return fail(EINVAL, "GSO: truncated or too many IPv6 extension headers");
    }
    if (!unfrag_set) {
      if (nh == kNhRouting) {
        found_rhdr = true;
      } else if (nh == kNhDest && found_rhdr) {
        l.unfrag = off;
        l.prev_nh = nh_at;
        unfrag_set = true;
      }
    }
    const std::size_t len = (std::size_t{f[off + 1]} + 1) * 8;
    if (off + len > l.end) {
      return fail(EINVAL, "GSO: truncated IPv6 extension header");
    }
    nh_at = off;
    nh = f[off];
    off += len;
  }
  if (nh == kNhFragment && !allow_frag) {
    return fail(EINVAL, "GSO: IPv6 packet is a fragment");
  }
  if (!unfrag_set) {
    l.unfrag = off;
    l.prev_nh = nh_at;
  }
  l.l4 = off;
  l.proto = nh;
  return l;
}

// The IPv4 header checksum over `ihl` bytes at `ip`, with the field zeroed first.
void ipv4_header_csum(std::uint8_t* ip) {
  const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
  ip[10] = 0;
  ip[11] = 0;
  st16(ip + 10, static_cast<std::uint16_t>(~inet_fold(inet_sum(ip, ihl)) & 0xffff));
}

// The unfolded pseudo-header sum without its length: addresses and protocol (RFC 9293 §3.1,
// RFC 768, RFC 8200 §8.1). Add the transport length and fold to get the field's partial value.
std::uint64_t pseudo_base(const std::uint8_t* f, const Layout& l) {
  if (l.v6) {
    return inet_sum(f + l.l3 + 8, 32, l.proto);
  }
  return inet_sum(f + l.l3 + 12, 8, l.proto);
}

std::atomic<std::uint32_t> g_ipv6_frag_id{0x2c6b5e01};

struct Emit {
  std::size_t taken = 0;
  bool stopped = false;
};

// Segmentation by payload (TCP, USO): every output frame = headers + one piece of payload.
Result<std::size_t> segment_l4(std::span<const std::uint8_t> f, const VnetHdr& h, const Layout& l,
                               const GuestOffloads& g, std::span<std::uint8_t> scratch,
                               FrameSink& out) {
  const bool tcp = l.proto == kProtoTcp;
  std::size_t thlen = kUdpLen;
  if (tcp) {
    if (l.l4 + kTcpMinLen > l.end) {
      return fail(EINVAL, "GSO: truncated TCP header");
    }
    thlen = (std::size_t{f[l.l4 + 12]} >> 4) * 4;
    if (thlen < kTcpMinLen) {
      return fail(EINVAL, "GSO: bad TCP data offset");
    }
  }
  const std::size_t hdrs = l.l4 + thlen;
  if (hdrs > l.end) {
    return fail(EINVAL, "GSO: truncated transport header");
  }
  const std::size_t mss = h.gso_size;
  const std::size_t payload = l.end - hdrs;
  const std::size_t first = payload < mss ? payload : mss;
  if (scratch.size() < kVnetHdrLen + hdrs + first) {
    return fail(ENOBUFS, "GSO: scratch buffer too small for one segment");
  }
  const std::size_t csum_off = tcp ? kTcpCsumOffset : kUdpCsumOffset;
  // Pseudo-header sum per segment = inet_fold(base + transport length).
  std::uint64_t base;
  const std::size_t full_l4 = l.end - l.l4;
  if ((h.flags & kVnetFNeedsCsum) != 0 && h.csum_start == l.l4 && h.csum_offset == csum_off) {
    // tcp_gso_segment: the field holds the pseudo-header sum for the whole length; take that
    // length out (ones-complement subtraction = adding its complement).
    base = std::uint64_t{ld16(&f[l.l4 + csum_off])} + (0xffffu - full_l4);
  } else {
    base = pseudo_base(f.data(), l);
  }
  const std::uint32_t seq0 = tcp ? ld32(&f[l.l4 + 4]) : 0;
  const std::uint16_t id0 = l.v6 ? 0 : ld16(&f[l.l3 + 4]);
  const std::size_t nseg = payload == 0 ? 1 : (payload + mss - 1) / mss;

  VnetHdr oh;
  if (g.csum) {
    oh.flags = kVnetFNeedsCsum;
    oh.csum_start = static_cast<std::uint16_t>(l.l4);
    oh.csum_offset = static_cast<std::uint16_t>(csum_off);
  }
  std::size_t taken = 0;
  for (std::size_t i = 0; i < nseg; ++i) {
    const std::size_t off = i * mss;
    const std::size_t len = payload - off < mss ? payload - off : mss;
    std::uint8_t* o = scratch.data();
    std::uint8_t* fr = o + kVnetHdrLen;
    store_vnet(o, oh);
    std::memcpy(fr, f.data(), hdrs);
    std::memcpy(fr + hdrs, f.data() + hdrs + off, len);
    const std::size_t flen = hdrs + len;
    const std::size_t l4len = thlen + len;
    if (l.v6) {
      st16(fr + l.l3 + 4, static_cast<std::uint32_t>(flen - l.l3 - kIpv6Len));
    } else {
      st16(fr + l.l3 + 2, static_cast<std::uint32_t>(flen - l.l3));
      st16(fr + l.l3 + 4, static_cast<std::uint16_t>(id0 + i));
      ipv4_header_csum(fr + l.l3);
    }
    std::uint8_t* th = fr + l.l4;
    if (tcp) {
      st32(th + 4, static_cast<std::uint32_t>(seq0 + off));
      if (i + 1 < nseg) {
        th[13] = static_cast<std::uint8_t>(th[13] & ~(kTcpFin | kTcpPsh));
      }
      if (i > 0) {
        th[13] = static_cast<std::uint8_t>(th[13] & ~kTcpCwr);
      }
    } else {
      st16(th + 4, static_cast<std::uint32_t>(l4len));
    }
    st16(th + csum_off, inet_fold(base + l4len));
    if (!g.csum) {
      complete_checksum(std::span<std::uint8_t>{fr, flen}, static_cast<std::uint16_t>(l.l4),
                        static_cast<std::uint16_t>(csum_off));
    }
    if (!out(std::span<const std::uint8_t>{o, kVnetHdrLen + flen})) {
      return taken;
    }
    ++taken;
  }
  return taken;
}

// UFO: complete the UDP checksum over the whole datagram, then fragment the IP packet.
Result<std::size_t> fragment_udp(std::span<const std::uint8_t> f, const VnetHdr& h, const Layout& l,
                                 std::span<std::uint8_t> scratch, FrameSink& out) {
  if (l.l4 + kUdpLen > l.end) {
    return fail(EINVAL, "UFO: truncated UDP header");
  }
  // The checksum: pseudo-header (addresses, protocol, UDP length) + header (field zero) + data.
  const std::size_t udp_len = l.end - l.l4;
  std::uint64_t acc = pseudo_base(f.data(), l) + udp_len;
  acc = inet_sum(f.data() + l.l4, kUdpCsumOffset, acc);  // ports and length, not the checksum
  acc = inet_sum(f.data() + l.l4 + kUdpLen, udp_len - kUdpLen, acc);
  std::uint16_t csum = static_cast<std::uint16_t>(~inet_fold(acc) & 0xffff);
  if (csum == 0) {
    csum = 0xffff;  // CSUM_MANGLED_0
  }

  const std::size_t mss = h.gso_size;
  const std::size_t frag_start = l.v6 ? l.unfrag : l.l4;  // first fragmentable byte
  const std::size_t data = l.end - frag_start;
  const std::size_t hdr_out = frag_start + (l.v6 ? kIpv6FragLen : 0);
  if (data <= mss) {
    // One piece: no fragmentation, just the completed checksum.
    if (scratch.size() < kVnetHdrLen + l.end) {
      return fail(ENOBUFS, "UFO: scratch buffer too small");
    }
    std::uint8_t* o = scratch.data();
    store_vnet(o, VnetHdr{});
    std::memcpy(o + kVnetHdrLen, f.data(), l.end);
    st16(o + kVnetHdrLen + l.l4 + kUdpCsumOffset, csum);
    return out(std::span<const std::uint8_t>{o, kVnetHdrLen + l.end}) ? 1 : 0;
  }
  if (mss % 8 != 0 || mss < l.l4 + kUdpLen - frag_start) {
    return fail(EINVAL, "UFO: gso_size not a multiple of 8 or below the UDP header");
  }
  if (scratch.size() < kVnetHdrLen + hdr_out + mss) {
    return fail(ENOBUFS, "UFO: scratch buffer too small for one fragment");
  }
  std::uint32_t frag_id = 0;
  if (l.v6) {
    do {
      frag_id = g_ipv6_frag_id.fetch_add(1, std::memory_order_relaxed);
    } while (frag_id == 0);
  }
  std::size_t taken = 0;
  for (std::size_t off = 0; off < data; off += mss) {
    const std::size_t len = data - off < mss ? data - off : mss;
    const bool last = off + len == data;
    std::uint8_t* o = scratch.data();
    std::uint8_t* fr = o + kVnetHdrLen;
    store_vnet(o, VnetHdr{});
    std::memcpy(fr, f.data(), frag_start);
    std::memcpy(fr + hdr_out, f.data() + frag_start + off, len);
    if (off == 0) {
      st16(fr + hdr_out + (l.l4 - frag_start) + kUdpCsumOffset, csum);
    }
    const std::size_t flen = hdr_out + len;
    if (l.v6) {
      std::uint8_t* fh = fr + frag_start;
      fh[0] = f[l.prev_nh];  // the fragment header names what followed the unfragmentable part
      fh[1] = 0;
      st16(fh + 2, static_cast<std::uint32_t>(off | (last ? 0 : kIpv6Mf)));
      st32(fh + 4, frag_id);
      fr[l.prev_nh] = kNhFragment;
      st16(fr + l.l3 + 4, static_cast<std::uint32_t>(flen - l.l3 - kIpv6Len));
    } else {
      st16(fr + l.l3 + 2, static_cast<std::uint32_t>(flen - l.l3));
      st16(fr + l.l3 + 6, static_cast<std::uint32_t>((off >> 3) | (last ? 0 : kIpv4Mf)));
      ipv4_header_csum(fr + l.l3);
    }
    if (!out(std::span<const std::uint8_t>{o, kVnetHdrLen + flen})) {
      return taken;
    }
    ++taken;
  }
  return taken;
}

}  // namespace

VnetHdr load_vnet_hdr(std::span<const std::uint8_t> b) {
  VnetHdr h;
  if (b.size() >= kVnetHdrLen) {
    std::memcpy(&h, b.data(), kVnetHdrLen);
  }
  return h;
}

bool fits(const VnetHdr& h, const GuestOffloads& g) {
  if ((h.flags & kVnetFNeedsCsum) != 0 && !g.csum) {
    return false;
  }
  const bool ecn = (h.gso_type & kVnetGsoEcn) != 0;
  switch (h.gso_type & ~kVnetGsoEcn) {
    case kVnetGsoNone:
      return !ecn;
    case kVnetGsoTcpv4:
      return g.tso4 && g.csum && (!ecn || g.tso_ecn);
    case kVnetGsoTcpv6:
      return g.tso6 && g.csum && (!ecn || g.tso_ecn);
    case kVnetGsoUdp:
      return g.ufo && !ecn;
    default:
      return false;
  }
}

Result<std::size_t> segment(std::span<const std::uint8_t> vnet_and_frame, const GuestOffloads& g,
                            std::span<std::uint8_t> scratch, FrameSink out) {
  if (vnet_and_frame.size() < kVnetHdrLen + kEthLen) {
    return fail(EINVAL, "GSO: frame shorter than the vnet and Ethernet headers");
  }
  const VnetHdr h = load_vnet_hdr(vnet_and_frame);
  const auto f = vnet_and_frame.subspan(kVnetHdrLen);
  const std::uint8_t type = h.gso_type & static_cast<std::uint8_t>(~kVnetGsoEcn);
  const bool ecn = (h.gso_type & kVnetGsoEcn) != 0;
  const bool tcp_type = type == kVnetGsoTcpv4 || type == kVnetGsoTcpv6;
  if ((type != kVnetGsoNone && !tcp_type && type != kVnetGsoUdp && type != kVnetGsoUdpL4) ||
      (ecn && !tcp_type)) {
    return fail(EINVAL, "GSO: unknown gso_type");
  }
  const bool needs_csum = (h.flags & kVnetFNeedsCsum) != 0;
  const std::size_t field = std::size_t{h.csum_start} + h.csum_offset;
  if (needs_csum && field + 2 > f.size()) {
    return fail(EINVAL, "GSO: checksum field beyond the frame");
  }
  if (fits(h, g)) {
    return out(vnet_and_frame) ? 1 : 0;
  }

  if (type == kVnetGsoNone) {
    // Only the checksum is left to do (skb_checksum_help). The packet ends where the IP
    // header says if this is IP; otherwise at the end of the frame.
    std::size_t end = f.size();
    if (auto l = parse_ip(f, true)) {
      end = l->end;
    }
    if (field + 2 > end) {
      return fail(EINVAL, "GSO: checksum field beyond the packet");
    }
    if (scratch.size() < vnet_and_frame.size()) {
      return fail(ENOBUFS, "GSO: scratch buffer too small for the frame");
    }
    std::uint8_t* o = scratch.data();
    store_vnet(o, VnetHdr{});
    std::memcpy(o + kVnetHdrLen, f.data(), f.size());
    complete_checksum(std::span<std::uint8_t>{o + kVnetHdrLen, end}, h.csum_start, h.csum_offset);
    return out(std::span<const std::uint8_t>{o, vnet_and_frame.size()}) ? 1 : 0;
  }

  if (h.gso_size == 0) {
    return fail(EINVAL, "GSO: gso_size 0");
  }
  auto l = parse_ip(f, false);
  if (!l) {
    return tl::unexpected(l.error());
  }
  if (needs_csum && field + 2 > l->end) {
    return fail(EINVAL, "GSO: checksum field beyond the packet");
  }
  switch (type) {
    case kVnetGsoTcpv4:
    case kVnetGsoTcpv6:
      if (l->v6 != (type == kVnetGsoTcpv6) || l->proto != kProtoTcp) {
        return fail(EINVAL, "GSO: TCP gso_type on a packet of another family or protocol");
      }
      return segment_l4(f, h, *l, g, scratch, out);
    case kVnetGsoUdpL4:
      if (l->proto != kProtoUdp) {
        return fail(EINVAL, "GSO: UDP_L4 gso_type on a non-UDP packet");
      }
      return segment_l4(f, h, *l, g, scratch, out);
    default:  // kVnetGsoUdp
      if (l->proto != kProtoUdp) {
        return fail(EINVAL, "GSO: UDP gso_type on a non-UDP packet");
      }
      return fragment_udp(f, h, *l, scratch, out);
  }
}

}  // namespace subnic::io
