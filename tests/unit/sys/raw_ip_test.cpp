// io::complete_checksum against UDP and TCP checksums computed from scratch (RFC 768, RFC 9293,
// RFC 8200 §8.1 pseudo-headers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "../inet_checksum_oracle.hpp"
#include "io/raw_ip.hpp"

namespace subnic::io {
namespace {

constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kTcp = 6;

using test::fold;
using test::sum16;

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// A packet: IP header + transport header + payload, with the transport checksum field zero.
struct Packet {
  std::vector<std::uint8_t> bytes;
  std::size_t l4 = 0;        // offset of the transport header
  std::size_t csum_off = 0;  // offset of its checksum field from l4
  std::uint32_t pseudo = 0;  // unfolded pseudo-header sum
};

Packet ipv4(std::uint8_t proto, std::size_t payload_len) {
  Packet p;
  const std::size_t l4_len = (proto == kUdp ? 8 : 20) + payload_len;
  p.bytes.assign(20 + l4_len, 0);
  auto* b = p.bytes.data();
  b[0] = 0x45;
  put16(b + 2, static_cast<std::uint16_t>(p.bytes.size()));
  b[8] = 64;
  b[9] = proto;
  const std::uint8_t src[4] = {10, 99, 0, 1}, dst[4] = {10, 99, 0, 2};
  std::copy(src, src + 4, b + 12);
  std::copy(dst, dst + 4, b + 16);
  p.l4 = 20;
  std::uint8_t* l4 = b + 20;
  put16(l4, 40000);  // source port
  put16(l4 + 2, 53);
  if (proto == kUdp) {
    put16(l4 + 4, static_cast<std::uint16_t>(l4_len));
    p.csum_off = 6;
  } else {
    l4[12] = 5 << 4;  // data offset
    l4[13] = 0x18;    // PSH ACK
    put16(l4 + 14, 0xfaf0);
    p.csum_off = 16;
  }
  for (std::size_t i = 0; i < payload_len; ++i) {
    l4[l4_len - payload_len + i] = static_cast<std::uint8_t>(i * 37 + 11);
  }
  // Pseudo-header: source, destination, zero + protocol, transport length.
  p.pseudo = sum16(b + 12, 8) + proto + static_cast<std::uint32_t>(l4_len);
  return p;
}

Packet ipv6(std::uint8_t proto, std::size_t payload_len) {
  Packet p;
  const std::size_t l4_len = (proto == kUdp ? 8 : 20) + payload_len;
  p.bytes.assign(40 + l4_len, 0);
  auto* b = p.bytes.data();
  b[0] = 0x60;
  put16(b + 4, static_cast<std::uint16_t>(l4_len));
  b[6] = proto;
  b[7] = 64;
  for (int i = 0; i < 16; ++i) {
    b[8 + i] = static_cast<std::uint8_t>(0xfd + i * 3);
    b[24 + i] = static_cast<std::uint8_t>(0xfe - i * 5);
  }
  p.l4 = 40;
  std::uint8_t* l4 = b + 40;
  put16(l4, 5353);
  put16(l4 + 2, 443);
  if (proto == kUdp) {
    put16(l4 + 4, static_cast<std::uint16_t>(l4_len));
    p.csum_off = 6;
  } else {
    l4[12] = 5 << 4;
    l4[13] = 0x10;
    p.csum_off = 16;
  }
  for (std::size_t i = 0; i < payload_len; ++i) {
    l4[l4_len - payload_len + i] = static_cast<std::uint8_t>(255 - i * 13);
  }
  p.pseudo = sum16(b + 8, 32) + static_cast<std::uint32_t>(l4_len) + proto;
  return p;
}

// The checksum as a sender computes it without offload: complement of the whole sum.
std::uint16_t from_scratch(const Packet& p, bool udp) {
  const std::uint32_t acc = sum16(p.bytes.data() + p.l4, p.bytes.size() - p.l4, p.pseudo);
  const std::uint16_t c = static_cast<std::uint16_t>(~fold(acc));
  return udp && c == 0 ? 0xffff : c;  // RFC 768: a computed 0 is sent as all ones
}

// What a stack with checksum offload leaves: the folded pseudo-header sum, not complemented
// (e.g. udp4_hwcsum: uh->check = ~csum_tcpudp_magic(...)).
void make_partial(Packet& p) {
  put16(p.bytes.data() + p.l4 + p.csum_off, fold(p.pseudo));
}

// A receiver's check: the sum over pseudo-header and segment, checksum included, is 0xffff.
bool verifies(const Packet& p) {
  return fold(sum16(p.bytes.data() + p.l4, p.bytes.size() - p.l4, p.pseudo)) == 0xffff;
}

TEST(CompleteChecksum, MatchesFromScratchForEveryShape) {
  for (bool v6 : {false, true}) {
    for (std::uint8_t proto : {kUdp, kTcp}) {
      for (std::size_t payload : {0U, 1U, 2U, 17U, 1000U, 1401U}) {
        Packet p = v6 ? ipv6(proto, payload) : ipv4(proto, payload);
        const std::uint16_t expected = from_scratch(p, proto == kUdp);
        make_partial(p);
        complete_checksum(p.bytes, static_cast<std::uint16_t>(p.l4),
                          static_cast<std::uint16_t>(p.csum_off));
        EXPECT_EQ(get16(p.bytes.data() + p.l4 + p.csum_off), expected)
            << "v6=" << v6 << " proto=" << int{proto} << " payload=" << payload;
        EXPECT_TRUE(verifies(p));
      }
    }
  }
}

TEST(CompleteChecksum, OffsetsCountFromTheStartOfTheSpan) {
  // csum_start as a vnet header gives it: from the Ethernet header.
  Packet p = ipv4(kUdp, 33);
  const std::uint16_t expected = from_scratch(p, true);
  make_partial(p);
  std::vector<std::uint8_t> frame(14 + p.bytes.size(), 0xee);
  std::copy(p.bytes.begin(), p.bytes.end(), frame.begin() + 14);
  complete_checksum(frame, static_cast<std::uint16_t>(14 + p.l4),
                    static_cast<std::uint16_t>(p.csum_off));
  EXPECT_EQ(get16(frame.data() + 14 + p.l4 + p.csum_off), expected);
  for (std::size_t i = 0; i < 14 + p.l4; ++i) {
    ASSERT_EQ(frame[i], i < 14 ? 0xee : p.bytes[i - 14]) << "byte " << i << " changed";
  }
}

TEST(CompleteChecksum, AZeroResultIsStoredAsAllOnes) {
  // Choose two payload bytes so that the whole sum folds to 0xffff: the complement is 0.
  Packet p = ipv4(kUdp, 2);
  std::uint8_t* tail = p.bytes.data() + p.bytes.size() - 2;
  tail[0] = tail[1] = 0;
  make_partial(p);
  const std::uint16_t rest =
      fold(sum16(p.bytes.data() + p.l4, p.bytes.size() - p.l4));  // pseudo sum is in the field
  put16(tail, static_cast<std::uint16_t>(~rest));
  complete_checksum(p.bytes, static_cast<std::uint16_t>(p.l4),
                    static_cast<std::uint16_t>(p.csum_off));
  EXPECT_EQ(get16(p.bytes.data() + p.l4 + p.csum_off), 0xffff);
  EXPECT_TRUE(verifies(p));
}

TEST(CompleteChecksum, AFieldOutsideTheSpanChangesNothing) {
  std::vector<std::uint8_t> b(30, 0x5a);
  const auto copy = b;
  complete_checksum(b, 20, 9);  // field at 29..30: one byte short
  EXPECT_EQ(b, copy);
  complete_checksum(b, 40, 0);
  EXPECT_EQ(b, copy);
  complete_checksum(std::span<std::uint8_t>{}, 0, 0);
  complete_checksum(b, 28, 0);  // fits exactly: written
  EXPECT_NE(b, copy);
}

}  // namespace
}  // namespace subnic::io
