// io::segment and io::fits: software GSO against what the kernel's skb_gso_segment produces
// (tcp_gso_segment, __udp_gso_segment, udp4/udp6_ufo_fragment), byte by byte, with every
// checksum verified by recomputing it from scratch (RFC 791, RFC 768, RFC 9293, RFC 8200 §8.1).
#include "io/gso.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "../inet_checksum_oracle.hpp"
#include "io/raw_ip.hpp"
#include "io/vnet.hpp"

namespace subnic::io {
namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint32_t kSeq0 = 0xfffffa00;  // wraps during a 64 KiB super-frame
constexpr std::uint16_t kId0 = 0xfffe;       // wraps after two segments
constexpr std::uint8_t kAck = 0x10, kPsh = 0x08, kFin = 0x01, kCwr = 0x80, kEce = 0x40;

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}
using test::fold;
using test::sum16;
std::uint8_t pattern(std::size_t i) {
  return static_cast<std::uint8_t>(i * 7 + 3);
}

// What to build: Ethernet (+ tags) + IPv4/IPv6 (+ hop-by-hop) + TCP/UDP + patterned payload.
struct Spec {
  bool v6 = false;
  int tags = 0;  // 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q)
  std::uint8_t proto = kTcp;
  std::size_t payload = 3000;
  std::uint16_t mss = 1400;
  std::uint8_t gso_type = kVnetGsoTcpv4;
  std::uint8_t tcp_flags = kAck;
  std::size_t tcp_opts = 0;  // bytes of TCP options (multiple of 4)
  std::size_t hbh = 0;       // bytes of an IPv6 hop-by-hop header (multiple of 8), 0: none
  bool needs_csum = true;    // else the transport checksum field holds junk and no NEEDS_CSUM
  std::size_t pad = 0;       // Ethernet padding after the IP packet
};

struct Built {
  std::vector<std::uint8_t> bytes;  // vnet header + frame
  std::size_t l3 = 0, l4 = 0, end = 0;
  std::size_t thlen = 0;
  std::span<const std::uint8_t> frame() const {
    return std::span<const std::uint8_t>{bytes}.subspan(kVnetHdrLen);
  }
};

// Pseudo-header sum (unfolded) of an IP packet at `ip` for a transport length `l4len`.
std::uint32_t pseudo(const std::uint8_t* ip, bool v6, std::uint8_t proto, std::size_t l4len) {
  std::uint32_t acc = proto + static_cast<std::uint32_t>(l4len);
  return v6 ? sum16(ip + 8, 32, acc) : sum16(ip + 12, 8, acc);
}

Built build(const Spec& s) {
  Built b;
  std::vector<std::uint8_t> f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (s.tags == 2) {
    f.insert(f.end(), {0x88, 0xa8, 0x00, 0x64});
  }
  if (s.tags >= 1) {
    f.insert(f.end(), {0x81, 0x00, 0x00, 0x05});
  }
  f.push_back(s.v6 ? 0x86 : 0x08);
  f.push_back(s.v6 ? 0xdd : 0x00);
  b.l3 = f.size();
  const std::size_t iphl = s.v6 ? 40 + s.hbh : 20;
  b.thlen = s.proto == kTcp ? 20 + s.tcp_opts : 8;
  b.l4 = b.l3 + iphl;
  b.end = b.l4 + b.thlen + s.payload;
  f.resize(b.end + s.pad, 0);
  std::uint8_t* ip = f.data() + b.l3;
  if (s.v6) {
    ip[0] = 0x60;
    put16(ip + 4, static_cast<std::uint32_t>(b.end - b.l3 - 40));
    ip[6] = s.hbh != 0 ? 0 : s.proto;
    ip[7] = 64;
    const std::uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, src, 16);
    ip[39] = 2;
    if (s.hbh != 0) {
      std::uint8_t* h = ip + 40;
      h[0] = s.proto;
      h[1] = static_cast<std::uint8_t>(s.hbh / 8 - 1);
      h[2] = 1;  // PadN over the rest
      h[3] = static_cast<std::uint8_t>(s.hbh - 4);
    }
  } else {
    ip[0] = 0x45;
    put16(ip + 2, static_cast<std::uint32_t>(b.end - b.l3));
    put16(ip + 4, kId0);
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = s.proto;
    const std::uint8_t addrs[8] = {192, 0, 2, 1, 198, 51, 100, 2};
    std::memcpy(ip + 12, addrs, 8);
    put16(ip + 10, static_cast<std::uint16_t>(~fold(sum16(ip, 20))));
  }
  std::uint8_t* th = f.data() + b.l4;
  put16(th, 8080);
  put16(th + 2, 50000);
  std::size_t csum_off = 6;
  if (s.proto == kTcp) {
    put32(th + 4, kSeq0);
    put32(th + 8, 0x01020304);
    th[12] = static_cast<std::uint8_t>((b.thlen / 4) << 4);
    th[13] = s.tcp_flags;
    put16(th + 14, 0xffff);
    for (std::size_t i = 0; i < s.tcp_opts; ++i) {
      th[20 + i] = static_cast<std::uint8_t>(i % 4 == 0 ? 1 : 0xa0 + i);  // marked, NOP-led
    }
    csum_off = 16;
  } else {
    put16(th + 4, static_cast<std::uint32_t>(b.thlen + s.payload));
  }
  for (std::size_t i = 0; i < s.payload; ++i) {
    f[b.l4 + b.thlen + i] = pattern(i);
  }
  VnetHdr h;
  h.gso_type = s.gso_type;
  h.gso_size = s.mss;
  h.hdr_len = static_cast<std::uint16_t>(b.l4 + b.thlen);
  if (s.needs_csum) {
    h.flags = kVnetFNeedsCsum;
    h.csum_start = static_cast<std::uint16_t>(b.l4);
    h.csum_offset = static_cast<std::uint16_t>(csum_off);
    put16(th + csum_off, fold(pseudo(ip, s.v6, s.proto, b.end - b.l4)));
  } else {
    put16(th + csum_off, 0xdead);  // junk: segment() must not trust it
  }
  b.bytes.resize(kVnetHdrLen);
  std::memcpy(b.bytes.data(), &h, kVnetHdrLen);
  b.bytes.insert(b.bytes.end(), f.begin(), f.end());
  return b;
}

// Every frame segment() hands out, copied.
struct Collected {
  std::vector<std::vector<std::uint8_t>> frames;
  Result<std::size_t> run(const Built& b, const GuestOffloads& g) {
    std::vector<std::uint8_t> scratch(kGsoScratch);
    return segment(b.bytes, g, scratch, [this](std::span<const std::uint8_t> f) {
      frames.emplace_back(f.begin(), f.end());
      return true;
    });
  }
};

VnetHdr hdr_of(const std::vector<std::uint8_t>& f) {
  return load_vnet_hdr(f);
}

bool ipv4_csum_ok(const std::uint8_t* ip) {
  return fold(sum16(ip, std::size_t{ip[0] & 0x0fu} * 4)) == 0xffff;
}

// The transport checksum of a non-fragment verified from scratch over [l4, l4 + l4len).
bool l4_csum_ok(const std::uint8_t* frame, std::size_t l3, bool v6, std::uint8_t proto,
                std::size_t l4, std::size_t l4len) {
  return fold(sum16(frame + l4, l4len, pseudo(frame + l3, v6, proto, l4len))) == 0xffff;
}

const GuestOffloads kNone{};
const GuestOffloads kCsumOnly{.csum = true};
const GuestOffloads kTso4{.csum = true, .tso4 = true};
const GuestOffloads kAll{.csum = true, .tso4 = true, .tso6 = true, .tso_ecn = true, .ufo = true};

// --- fits ---------------------------------------------------------------------------------

TEST(GsoFits, FollowsTheGuestsFeatures) {
  VnetHdr plain;
  EXPECT_TRUE(fits(plain, kNone));
  VnetHdr partial{.flags = kVnetFNeedsCsum};
  EXPECT_FALSE(fits(partial, kNone));
  EXPECT_TRUE(fits(partial, kCsumOnly));
  VnetHdr tso4{.flags = kVnetFNeedsCsum, .gso_type = kVnetGsoTcpv4, .gso_size = 1448};
  EXPECT_FALSE(fits(tso4, kCsumOnly));
  EXPECT_TRUE(fits(tso4, kTso4));
  EXPECT_FALSE(fits(tso4, GuestOffloads{.tso4 = true}));  // TSO without csum is no TSO
  VnetHdr tso4_ecn = tso4;
  tso4_ecn.gso_type = kVnetGsoTcpv4 | kVnetGsoEcn;
  EXPECT_FALSE(fits(tso4_ecn, kTso4));
  EXPECT_TRUE(fits(tso4_ecn, GuestOffloads{.csum = true, .tso4 = true, .tso_ecn = true}));
  VnetHdr tso6 = tso4;
  tso6.gso_type = kVnetGsoTcpv6;
  EXPECT_FALSE(fits(tso6, kTso4));
  EXPECT_TRUE(fits(tso6, GuestOffloads{.csum = true, .tso6 = true}));
  VnetHdr ufo{.flags = kVnetFNeedsCsum, .gso_type = kVnetGsoUdp, .gso_size = 1480};
  EXPECT_FALSE(fits(ufo, kTso4));
  EXPECT_TRUE(fits(ufo, GuestOffloads{.csum = true, .ufo = true}));
  VnetHdr uso{.flags = kVnetFNeedsCsum, .gso_type = kVnetGsoUdpL4, .gso_size = 1000};
  EXPECT_FALSE(fits(uso, kAll));  // no GUEST_USO in GuestOffloads
  VnetHdr unknown{.gso_type = 2};
  EXPECT_FALSE(fits(unknown, kAll));
}

TEST(GsoFits, LoadVnetHdrReadsHostOrderAndToleratesShortSpans) {
  Built b = build(Spec{});
  const VnetHdr h = load_vnet_hdr(b.bytes);
  EXPECT_EQ(h.gso_type, kVnetGsoTcpv4);
  EXPECT_EQ(h.gso_size, 1400);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  const VnetHdr z = load_vnet_hdr(std::span<const std::uint8_t>{b.bytes}.first(5));
  EXPECT_EQ(z.flags, 0);
  EXPECT_EQ(z.gso_type, 0);
}

// --- pass-through and checksum completion -------------------------------------------------

TEST(Gso, AFrameThatFitsIsHandedOnAsIsWithoutACopy) {
  Built b = build(Spec{});
  std::vector<std::uint8_t> scratch(kGsoScratch);
  const std::uint8_t* seen = nullptr;
  std::size_t seen_len = 0;
  auto r = segment(b.bytes, kTso4, scratch, [&](std::span<const std::uint8_t> f) {
    seen = f.data();
    seen_len = f.size();
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(seen, b.bytes.data());
  EXPECT_EQ(seen_len, b.bytes.size());
}

TEST(Gso, PartialChecksumIsCompletedOverTheIpPacketNotThePadding) {
  Spec s{.proto = kUdp, .payload = 5, .gso_type = kVnetGsoNone, .pad = 13};
  Built b = build(s);     // 14 + 20 + 8 + 5 = 47 bytes of packet + 13 of padding = 60
  b.bytes.back() = 0x77;  // padding that would change the sum if it were included
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 1u);
  const auto& o = c.frames[0];
  ASSERT_EQ(o.size(), b.bytes.size());  // padding kept on the wire
  const VnetHdr h = hdr_of(o);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.gso_type, 0);
  const std::uint8_t* fr = o.data() + kVnetHdrLen;
  EXPECT_TRUE(l4_csum_ok(fr, b.l3, false, kUdp, b.l4, 13));
  EXPECT_NE(get16(fr + b.l4 + 6), 0);
  // Everything but the checksum field is the input's.
  for (std::size_t i = 0; i < o.size() - kVnetHdrLen; ++i) {
    if (i != b.l4 + 6 && i != b.l4 + 7) {
      EXPECT_EQ(fr[i], b.bytes[kVnetHdrLen + i]) << i;
    }
  }
}

// --- TCP over IPv4 ------------------------------------------------------------------------

TEST(GsoTcp4, ThreeSegmentsWithSeqIdLengthsFlagsAndChecksums) {
  Spec s{.payload = 3000, .mss = 1400, .tcp_flags = kAck | kPsh | kFin | kCwr | kEce};
  Built b = build(s);
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  ASSERT_EQ(c.frames.size(), 3u);
  const std::size_t lens[3] = {1400, 1400, 200};
  const std::uint8_t flags[3] = {kAck | kCwr | kEce, kAck | kEce, kAck | kEce | kPsh | kFin};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& o = c.frames[i];
    SCOPED_TRACE(i);
    ASSERT_EQ(o.size(), kVnetHdrLen + 14 + 20 + 20 + lens[i]);
    const VnetHdr h = hdr_of(o);
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gso_type, kVnetGsoNone);
    EXPECT_EQ(h.gso_size, 0);
    const std::uint8_t* fr = o.data() + kVnetHdrLen;
    const std::uint8_t* ip = fr + 14;
    EXPECT_EQ(get16(ip + 2), 40 + lens[i]);                          // tot_len
    EXPECT_EQ(get16(ip + 4), static_cast<std::uint16_t>(kId0 + i));  // 0xfffe, 0xffff, 0x0000
    EXPECT_EQ(get16(ip + 6), 0x4000);                                // DF kept
    EXPECT_TRUE(ipv4_csum_ok(ip));
    const std::uint8_t* th = ip + 20;
    EXPECT_EQ(get32(th + 4), static_cast<std::uint32_t>(kSeq0 + 1400 * i));
    EXPECT_EQ(get32(th + 8), 0x01020304u);  // ack unchanged
    EXPECT_EQ(th[13], flags[i]);
    EXPECT_TRUE(l4_csum_ok(fr, 14, false, kTcp, 34, 20 + lens[i]));
    for (std::size_t k = 0; k < lens[i]; ++k) {
      ASSERT_EQ(th[20 + k], pattern(1400 * i + k)) << k;
    }
  }
  // Hand-computed: segment 0 header 45 00 05 a0 ff fe 40 00 40 06 [csum] c0 00 02 01 c6 33 64 02:
  // 4500 + 05a0 + fffe + 4000 + 4006 + c000 + 0201 + c633 + 6402 = 0x3b6da -> 0xb6dd, ~ = 0x4922.
  EXPECT_EQ(get16(c.frames[0].data() + kVnetHdrLen + 14 + 10), 0x4922);
  // Last segment's seq wrapped past 2^32: 0xfffffa00 + 2800 = 0x4f0.
  EXPECT_EQ(get32(c.frames[2].data() + kVnetHdrLen + 34 + 4), 0x4f0u);
}

TEST(GsoTcp4, CsumGuestGetsSegmentsWithPartialChecksums) {
  Built b = build(Spec{.payload = 2900, .mss = 1448});
  Collected c;
  auto r = c.run(b, kCsumOnly);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  const std::size_t lens[3] = {1448, 1448, 4};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    auto o = c.frames[i];
    const VnetHdr h = hdr_of(o);
    EXPECT_EQ(h.flags, kVnetFNeedsCsum);
    EXPECT_EQ(h.gso_type, kVnetGsoNone);
    EXPECT_EQ(h.csum_start, 34);
    EXPECT_EQ(h.csum_offset, 16);
    std::uint8_t* fr = o.data() + kVnetHdrLen;
    // The field holds the folded pseudo-header sum for this segment's length, not complemented.
    EXPECT_EQ(get16(fr + 34 + 16), fold(pseudo(fr + 14, false, kTcp, 20 + lens[i])));
    complete_checksum(std::span<std::uint8_t>{fr, o.size() - kVnetHdrLen}, 34, 16);
    EXPECT_TRUE(l4_csum_ok(fr, 14, false, kTcp, 34, 20 + lens[i]));
  }
}

TEST(GsoTcp4, ChecksumIsComputedFromScratchWithoutNeedsCsum) {
  Built b = build(Spec{.payload = 3000, .mss = 1000, .needs_csum = false});
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  for (const auto& o : c.frames) {
    EXPECT_TRUE(l4_csum_ok(o.data() + kVnetHdrLen, 14, false, kTcp, 34, 1020));
  }
}

TEST(GsoTcp4, ExactMultipleAndSinglePieceAndOptions) {
  {
    Built b = build(Spec{.payload = 2800, .mss = 1400, .tcp_flags = kAck | kFin});
    Collected c;
    ASSERT_EQ(c.run(b, kNone).value(), 2u);
    EXPECT_EQ(c.frames[0].size(), kVnetHdrLen + 54 + 1400);
    EXPECT_EQ(c.frames[1].size(), kVnetHdrLen + 54 + 1400);
    EXPECT_EQ(c.frames[0][kVnetHdrLen + 34 + 13], kAck);
    EXPECT_EQ(c.frames[1][kVnetHdrLen + 34 + 13], kAck | kFin);
  }
  {
    // Payload below gso_size: one plain frame, flags intact, checksum completed.
    Built b = build(Spec{.payload = 100, .mss = 1400, .tcp_flags = kAck | kPsh | kCwr});
    Collected c;
    ASSERT_EQ(c.run(b, kNone).value(), 1u);
    const std::uint8_t* fr = c.frames[0].data() + kVnetHdrLen;
    EXPECT_EQ(c.frames[0].size(), b.bytes.size());
    EXPECT_EQ(fr[34 + 13], kAck | kPsh | kCwr);
    EXPECT_EQ(get16(fr + 14 + 4), kId0);
    EXPECT_TRUE(l4_csum_ok(fr, 14, false, kTcp, 34, 120));
  }
  {
    // 12 bytes of TCP options are repeated in every segment; payload follows them.
    Built b = build(Spec{.payload = 2000, .mss = 1000, .tcp_opts = 12});
    Collected c;
    ASSERT_EQ(c.run(b, kNone).value(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
      EXPECT_EQ(fr[34 + 12], 0x80);  // doff 8
      EXPECT_EQ(std::memcmp(fr + 54, b.frame().data() + 54, 12), 0);
      EXPECT_EQ(fr[66], pattern(1000 * i));
      EXPECT_TRUE(l4_csum_ok(fr, 14, false, kTcp, 34, 32 + 1000));
    }
  }
}

TEST(GsoTcp4, EcnFrameIsSegmentedForAGuestWithoutTsoEcn) {
  Spec s{.payload = 3000,
         .mss = 1500,
         .gso_type = kVnetGsoTcpv4 | kVnetGsoEcn,
         .tcp_flags = kAck | kCwr};
  Built b = build(s);
  Collected c;
  auto r = c.run(b, kTso4);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 2u);
  EXPECT_EQ(c.frames[0][kVnetHdrLen + 34 + 13], kAck | kCwr);
  EXPECT_EQ(c.frames[1][kVnetHdrLen + 34 + 13], kAck);
  EXPECT_EQ(hdr_of(c.frames[0]).flags, kVnetFNeedsCsum);  // guest takes partial checksums
  Collected whole;
  ASSERT_EQ(whole.run(b, GuestOffloads{.csum = true, .tso4 = true, .tso_ecn = true}).value(), 1u);
  EXPECT_EQ(whole.frames[0], b.bytes);
}

TEST(GsoTcp4, QinQTaggedFrameKeepsBothTags) {
  Built b = build(Spec{.tags = 2, .payload = 2000, .mss = 1000});
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 2u);
  for (const auto& o : c.frames) {
    const std::uint8_t* fr = o.data() + kVnetHdrLen;
    EXPECT_EQ(std::memcmp(fr, b.frame().data(), 22), 0);  // MACs, 88a8 0064, 8100 0005, 0800
    EXPECT_EQ(get16(fr + 22 + 2), 1040);
    EXPECT_TRUE(ipv4_csum_ok(fr + 22));
    EXPECT_TRUE(l4_csum_ok(fr, 22, false, kTcp, 42, 1020));
  }
}

TEST(GsoTcp4, SixtyFourKiBSuperFrame) {
  Built b = build(Spec{.payload = 65000, .mss = 1448});
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 45u);  // ceil(65000 / 1448)
  std::size_t total = 0;
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    const std::size_t len = c.frames[i].size() - kVnetHdrLen - 54;
    EXPECT_EQ(get32(fr + 34 + 4), static_cast<std::uint32_t>(kSeq0 + total));
    ASSERT_TRUE(l4_csum_ok(fr, 14, false, kTcp, 34, 20 + len)) << i;
    total += len;
  }
  EXPECT_EQ(total, 65000u);
  EXPECT_EQ(c.frames.back().size(), kVnetHdrLen + 54 + 65000 - 44 * 1448);
}

TEST(GsoTcp4, StopsWhenTheSinkRefuses) {
  Built b = build(Spec{.payload = 3000, .mss = 1000});
  std::vector<std::uint8_t> scratch(kGsoScratch);
  int calls = 0;
  auto r = segment(b.bytes, kNone, scratch, [&](std::span<const std::uint8_t>) {
    return ++calls < 2;  // take the first, refuse the second
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(calls, 2);
}

// --- TCP over IPv6 ------------------------------------------------------------------------

TEST(GsoTcp6, PayloadLengthSeqAndChecksumsWithVlanTag) {
  Spec s{.v6 = true,
         .tags = 1,
         .payload = 2500,
         .mss = 1000,
         .gso_type = kVnetGsoTcpv6,
         .tcp_flags = kAck | kPsh};
  Built b = build(s);
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  const std::size_t lens[3] = {1000, 1000, 500};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    EXPECT_EQ(get16(fr + 12), 0x8100);
    EXPECT_EQ(get16(fr + 14), 5);
    EXPECT_EQ(get16(fr + 18 + 4), 20 + lens[i]);  // payload_len
    EXPECT_EQ(get32(fr + 58 + 4), static_cast<std::uint32_t>(kSeq0 + 1000 * i));
    EXPECT_EQ(fr[58 + 13], i == 2 ? (kAck | kPsh) : kAck);
    EXPECT_TRUE(l4_csum_ok(fr, 18, true, kTcp, 58, 20 + lens[i]));
  }
}

TEST(GsoTcp6, HopByHopHeaderIsCopiedAndSkipped) {
  Spec s{.v6 = true, .payload = 3000, .mss = 1440, .gso_type = kVnetGsoTcpv6, .hbh = 8};
  Built b = build(s);
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    const std::size_t len = c.frames[i].size() - kVnetHdrLen - 14 - 48 - 20;
    EXPECT_EQ(fr[14 + 6], 0);  // next header: hop-by-hop
    EXPECT_EQ(fr[54], kTcp);
    EXPECT_EQ(get16(fr + 14 + 4), 8 + 20 + len);
    EXPECT_TRUE(l4_csum_ok(fr, 14, true, kTcp, 62, 20 + len));
  }
}

// --- UDP segmentation (USO) ---------------------------------------------------------------

TEST(GsoUdpL4, EachSegmentIsADatagram) {
  Spec s{.proto = kUdp, .payload = 2500, .mss = 1000, .gso_type = kVnetGsoUdpL4};
  Built b = build(s);
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  const std::size_t lens[3] = {1000, 1000, 500};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    EXPECT_EQ(get16(fr + 14 + 2), 28 + lens[i]);
    EXPECT_EQ(get16(fr + 14 + 4), static_cast<std::uint16_t>(kId0 + i));
    EXPECT_EQ(get16(fr + 14 + 6), 0x4000);
    EXPECT_TRUE(ipv4_csum_ok(fr + 14));
    EXPECT_EQ(get16(fr + 34 + 4), 8 + lens[i]);  // UDP length
    EXPECT_TRUE(l4_csum_ok(fr, 14, false, kUdp, 34, 8 + lens[i]));
    EXPECT_EQ(fr[42], pattern(1000 * i));
  }
}

TEST(GsoUdpL4, Ipv6) {
  Spec s{.v6 = true, .proto = kUdp, .payload = 1500, .mss = 1200, .gso_type = kVnetGsoUdpL4};
  Built b = build(s);
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 2u);
  const std::uint8_t* fr = c.frames[1].data() + kVnetHdrLen;
  EXPECT_EQ(get16(fr + 14 + 4), 8 + 300);
  EXPECT_EQ(get16(fr + 54 + 4), 8 + 300);
  EXPECT_TRUE(l4_csum_ok(fr, 14, true, kUdp, 54, 308));
}

// --- UDP fragmentation (UFO) --------------------------------------------------------------

// Reassembles fragments' fragmentable bytes in order of their offsets.
std::vector<std::uint8_t> reassemble(const std::vector<std::vector<std::uint8_t>>& frags,
                                     std::size_t data_at) {
  std::vector<std::uint8_t> d;
  for (const auto& o : frags) {
    d.insert(d.end(), o.begin() + static_cast<std::ptrdiff_t>(kVnetHdrLen + data_at), o.end());
  }
  return d;
}

TEST(GsoUfo, Ipv4FragmentsWithOffsetsMfAndTheWholeDatagramsChecksum) {
  Spec s{.proto = kUdp, .payload = 3000, .mss = 1480, .gso_type = kVnetGsoUdp};
  Built b = build(s);
  Collected c;
  auto r = c.run(b, kCsumOnly);  // even a csum guest gets complete checksums in fragments
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  const std::size_t lens[3] = {1480, 1480, 48};  // of 3008 datagram bytes
  const std::uint16_t frag_off[3] = {0x2000 | 0, 0x2000 | 185, 370};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    EXPECT_EQ(hdr_of(c.frames[i]).flags, 0);
    EXPECT_EQ(c.frames[i].size(), kVnetHdrLen + 34 + lens[i]);
    EXPECT_EQ(get16(fr + 14 + 2), 20 + lens[i]);
    EXPECT_EQ(get16(fr + 14 + 4), kId0);  // same id in every fragment
    EXPECT_EQ(get16(fr + 14 + 6), frag_off[i]);
    EXPECT_TRUE(ipv4_csum_ok(fr + 14));
  }
  const auto dgram = reassemble(c.frames, 34);
  ASSERT_EQ(dgram.size(), 3008u);
  EXPECT_EQ(get16(dgram.data() + 4), 3008);
  const std::uint8_t* ip = c.frames[0].data() + kVnetHdrLen + 14;
  EXPECT_EQ(fold(sum16(dgram.data(), dgram.size(), pseudo(ip, false, kUdp, 3008))), 0xffff);
  EXPECT_NE(get16(dgram.data() + 6), 0);
  for (std::size_t k = 0; k < 3000; ++k) {
    ASSERT_EQ(dgram[8 + k], pattern(k)) << k;
  }
}

TEST(GsoUfo, Ipv6FragmentHeaderIsInserted) {
  Spec s{.v6 = true, .proto = kUdp, .payload = 2992, .mss = 1448, .gso_type = kVnetGsoUdp};
  Built b = build(s);  // 3000 datagram bytes
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(*r, 3u);
  const std::size_t lens[3] = {1448, 1448, 104};
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::uint8_t* fr = c.frames[i].data() + kVnetHdrLen;
    const std::uint8_t* ip = fr + 14;
    EXPECT_EQ(c.frames[i].size(), kVnetHdrLen + 14 + 40 + 8 + lens[i]);
    EXPECT_EQ(ip[6], 44);                   // next header: fragment
    EXPECT_EQ(get16(ip + 4), 8 + lens[i]);  // payload_len includes the fragment header
    const std::uint8_t* fh = ip + 40;
    EXPECT_EQ(fh[0], kUdp);
    EXPECT_EQ(fh[1], 0);
    EXPECT_EQ(get16(fh + 2), static_cast<std::uint16_t>(1448 * i) | (i < 2 ? 1 : 0));
    if (i == 0) {
      id = get32(fh + 4);
      EXPECT_NE(id, 0u);
    }
    EXPECT_EQ(get32(fh + 4), id);
  }
  const auto dgram = reassemble(c.frames, 62);
  ASSERT_EQ(dgram.size(), 3000u);
  const std::uint8_t* ip = b.frame().data() + 14;
  EXPECT_EQ(fold(sum16(dgram.data(), dgram.size(), pseudo(ip, true, kUdp, 3000))), 0xffff);
  // A second datagram gets another id.
  Collected c2;
  ASSERT_EQ(c2.run(b, kNone).value(), 3u);
  EXPECT_NE(get32(c2.frames[0].data() + kVnetHdrLen + 54 + 4), id);
}

TEST(GsoUfo, Ipv6WithHopByHopPutsTheFragmentHeaderAfterIt) {
  Spec s{
      .v6 = true, .proto = kUdp, .payload = 1992, .mss = 1000, .gso_type = kVnetGsoUdp, .hbh = 16};
  Built b = build(s);  // 2000 datagram bytes
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::uint8_t* ip = c.frames[i].data() + kVnetHdrLen + 14;
    EXPECT_EQ(ip[6], 0);      // still hop-by-hop first
    EXPECT_EQ(ip[40], 44);    // which now names the fragment header
    EXPECT_EQ(ip[56], kUdp);  // fragment header's next header
    EXPECT_EQ(get16(ip + 4), 16 + 8 + 1000);
  }
  const auto dgram = reassemble(c.frames, 14 + 40 + 16 + 8);
  ASSERT_EQ(dgram.size(), 2000u);
  EXPECT_EQ(fold(sum16(dgram.data(), 2000, pseudo(b.frame().data() + 14, true, kUdp, 2000))),
            0xffff);
}

TEST(GsoUfo, SinglePieceIsOnePlainDatagram) {
  Built b = build(Spec{.proto = kUdp, .payload = 100, .mss = 1480, .gso_type = kVnetGsoUdp});
  Collected c;
  ASSERT_EQ(c.run(b, kNone).value(), 1u);
  const std::uint8_t* fr = c.frames[0].data() + kVnetHdrLen;
  EXPECT_EQ(get16(fr + 14 + 6), 0x4000);  // not a fragment, DF kept
  EXPECT_TRUE(l4_csum_ok(fr, 14, false, kUdp, 34, 108));
}

TEST(GsoUfo, GsoSizeNotAMultipleOf8IsRejected) {
  Built b = build(Spec{.proto = kUdp, .payload = 3000, .mss = 1470, .gso_type = kVnetGsoUdp});
  Collected c;
  auto r = c.run(b, kNone);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_TRUE(c.frames.empty());
}

// --- malformed input ----------------------------------------------------------------------

void expect_einval(std::vector<std::uint8_t> bytes, const char* what) {
  SCOPED_TRACE(what);
  std::vector<std::uint8_t> scratch(kGsoScratch);
  int calls = 0;
  auto r = segment(bytes, kNone, scratch, [&](std::span<const std::uint8_t>) { ++calls; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(calls, 0);
}

TEST(GsoMalformed, EveryTruncationIsRejectedWithoutReadingPastTheEnd) {
  // Each prefix lives in a vector of exactly its size: an out-of-bounds read trips ASan.
  const Spec specs[] = {
      Spec{.payload = 300, .mss = 100, .tcp_opts = 12},
      Spec{.v6 = true, .tags = 2, .payload = 300, .mss = 100, .gso_type = kVnetGsoTcpv6, .hbh = 8},
      Spec{.proto = kUdp, .payload = 300, .mss = 96, .gso_type = kVnetGsoUdp},
      Spec{.v6 = true, .proto = kUdp, .payload = 300, .mss = 96, .gso_type = kVnetGsoUdp},
      Spec{.proto = kUdp, .payload = 300, .mss = 100, .gso_type = kVnetGsoUdpL4},
  };
  for (const Spec& s : specs) {
    Built b = build(s);
    for (std::size_t n = 0; n < b.bytes.size(); ++n) {
      std::vector<std::uint8_t> cut(b.bytes.begin(), b.bytes.begin() + static_cast<long>(n));
      std::vector<std::uint8_t> scratch(kGsoScratch);
      auto r = segment(cut, kNone, scratch, [](std::span<const std::uint8_t>) {});
      ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
      EXPECT_EQ(r.error().code, EINVAL);
    }
  }
}

TEST(GsoMalformed, BadHeadersAreRejected) {
  const Built t4 = build(Spec{.payload = 300, .mss = 100});
  auto at = [](std::vector<std::uint8_t> v, std::size_t i, std::uint8_t x) {
    v[kVnetHdrLen + i] = x;
    return v;
  };
  auto vnet = [](std::vector<std::uint8_t> v, std::size_t i, std::uint8_t x) {
    v[i] = x;
    return v;
  };
  expect_einval(vnet(t4.bytes, 1, 2), "unknown gso_type 2");
  expect_einval(vnet(t4.bytes, 1, kVnetGsoUdp | kVnetGsoEcn), "ECN on UDP");
  expect_einval(vnet(vnet(t4.bytes, 4, 0), 5, 0), "gso_size 0");
  expect_einval(vnet(t4.bytes, 1, kVnetGsoTcpv6), "TCPV6 on an IPv4 packet");
  expect_einval(vnet(t4.bytes, 1, kVnetGsoUdp), "UDP on a TCP packet");
  expect_einval(at(t4.bytes, 12, 0x86), "EtherType not IP");
  expect_einval(at(t4.bytes, 14, 0x44), "IPv4 ihl 4");
  expect_einval(at(t4.bytes, 14, 0x65), "IPv4 header with version 6");
  expect_einval(at(t4.bytes, 14 + 2, 0xff), "IPv4 tot_len beyond the frame");
  expect_einval(at(t4.bytes, 14 + 6, 0x20), "IPv4 MF: already a fragment");
  expect_einval(at(t4.bytes, 14 + 7, 0x01), "IPv4 fragment offset");
  expect_einval(at(t4.bytes, 34 + 12, 0x40), "TCP doff 4");
  const Built small = build(Spec{.payload = 30, .mss = 10});  // 50 bytes of TCP
  expect_einval(at(small.bytes, 34 + 12, 0xf0), "TCP doff 15 (60 bytes) beyond the packet");
  {
    auto v = t4.bytes;
    v[6] = 0xff;  // csum_start 0x..ff: field beyond the frame
    v[7] = 0xff;
    expect_einval(v, "checksum field beyond the frame");
  }
  const Built t6 =
      build(Spec{.v6 = true, .payload = 300, .mss = 100, .gso_type = kVnetGsoTcpv6, .hbh = 8});
  expect_einval(at(t6.bytes, 54 + 1, 200), "IPv6 extension header beyond the packet");
  expect_einval(at(t6.bytes, 54, 44), "IPv6 fragment header");
  expect_einval(at(t6.bytes, 14 + 4, 0xff), "IPv6 payload_len beyond the frame");
  {
    // Nine chained destination options headers: more than we walk.
    Spec s{.v6 = true, .payload = 0, .mss = 100, .gso_type = kVnetGsoTcpv6, .hbh = 8};
    Built b = build(s);
    std::vector<std::uint8_t> v(b.bytes.begin(), b.bytes.begin() + kVnetHdrLen + 54);
    for (int i = 0; i < 9; ++i) {
      v.insert(v.end(), {60, 0, 1, 4, 0, 0, 0, 0});
    }
    v[kVnetHdrLen + 54] = 60;
    put16(v.data() + kVnetHdrLen + 14 + 4, static_cast<std::uint32_t>(v.size() - kVnetHdrLen - 54));
    expect_einval(v, "too many extension headers");
  }
  {
    // A non-GSO frame asking for a checksum beyond its IP packet (into the padding).
    Built b = build(Spec{.proto = kUdp, .payload = 2, .gso_type = kVnetGsoNone, .pad = 20});
    auto v = b.bytes;
    v[6] = 50;  // csum_start 50 + csum_offset 6: inside the padding
    v[7] = 0;
    expect_einval(v, "checksum field in the padding");
  }
}

TEST(GsoMalformed, ScratchTooSmallIsEnobufs) {
  Built b = build(Spec{.payload = 3000, .mss = 1400});
  std::vector<std::uint8_t> scratch(kVnetHdrLen + 54 + 1399);
  auto r = segment(b.bytes, kNone, scratch, [](std::span<const std::uint8_t>) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOBUFS);
  scratch.resize(kVnetHdrLen + 54 + 1400);
  EXPECT_EQ(segment(b.bytes, kNone, scratch, [](std::span<const std::uint8_t>) {}).value(), 3u);
}

}  // namespace
}  // namespace subnic::io
