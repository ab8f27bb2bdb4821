// DHCP demultiplexing (subnic's extension for ipvlan l2, T-IV-22): parse_dhcp() on well-formed
// and malformed frames (RFC 2131 message layout, RFC 2132 option 61), and the DhcpTable ring.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/dhcp.hpp"
#include "test_frames.hpp"

namespace {

using namespace subnic::core;
using namespace subnic::test;

const Mac kClient = *Mac::parse("02:00:00:00:00:fe");
const Mac kServer = *Mac::parse("02:00:00:00:00:64");
constexpr std::uint32_t kXid = 0xdeadbeef;

std::optional<DhcpInfo> parse(const Bytes& f) {
  return parse_dhcp(FrameView{f});
}

// A client -> server frame with UDP payload `msg`, ports and IPv4 fields as given.
Bytes to_server(const Bytes& msg, std::uint16_t sport = 68, std::uint16_t dport = 67,
                const Ipv4Opts& o = {}) {
  return eth(Mac::broadcast(), kClient, kIpv4Type,
             ipv4("0.0.0.0", "255.255.255.255", udp(sport, dport, msg), o));
}

Bytes client_id_of(const DhcpInfo& d) {
  return Bytes(d.client_id.begin(), d.client_id.begin() + d.client_id_len);
}

DhcpInfo info(std::uint8_t op, std::uint32_t xid, const Bytes& cid = {}) {
  DhcpInfo d;
  d.op = op;
  d.xid = xid;
  d.client_id_len = static_cast<std::uint8_t>(cid.size());
  std::copy(cid.begin(), cid.end(), d.client_id.begin());
  return d;
}

// ---- parse_dhcp --------------------------------------------------------------------------

TEST(DhcpParse, RequestAndReply) {
  auto d = parse(dhcp_request(kClient, kXid));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->op, kBootRequest);
  EXPECT_EQ(d->xid, kXid);
  EXPECT_EQ(d->client_id_len, 0);
  d = parse(dhcp_reply(kClient, kServer, "10.0.0.100", "10.0.0.50", 0x01020304));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->op, kBootReply);
  EXPECT_EQ(d->xid, 0x01020304u);
  d = parse(dhcp_reply(Mac::broadcast(), kServer, "10.0.0.100", "255.255.255.255", 7));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->xid, 7u);
}

TEST(DhcpParse, ClientIdentifierOption) {
  const Bytes cid{0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
  auto d = parse(dhcp_request(kClient, kXid, cid));
  ASSERT_TRUE(d);
  EXPECT_EQ(client_id_of(*d), cid);
  d = parse(dhcp_reply(kClient, kServer, "10.0.0.100", "10.0.0.50", kXid, cid));
  ASSERT_TRUE(d);
  EXPECT_EQ(client_id_of(*d), cid);
}

TEST(DhcpParse, LongClientIdIsCut) {
  Bytes cid(40);
  for (std::size_t i = 0; i < cid.size(); ++i) {
    cid[i] = static_cast<std::uint8_t>(i + 1);
  }
  const auto d = parse(dhcp_request(kClient, kXid, cid));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, kMaxClientIdLen);
  EXPECT_EQ(client_id_of(*d), Bytes(cid.begin(), cid.begin() + kMaxClientIdLen));
}

TEST(DhcpParse, PadsAreSkippedAndEndStops) {
  auto d = parse(to_server(bootp(kBootRequest, kXid, {0, 0, 53, 1, 1, 0, 61, 2, 0xaa, 0xbb, 255})));
  ASSERT_TRUE(d);
  EXPECT_EQ(client_id_of(*d), (Bytes{0xaa, 0xbb}));
  // Option 61 after END is not looked at.
  d = parse(to_server(bootp(kBootRequest, kXid, {53, 1, 1, 255, 61, 2, 0xaa, 0xbb})));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
  // No options at all (cookie only): still DHCP.
  d = parse(to_server(bootp(kBootRequest, kXid, {})));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
}

TEST(DhcpParse, TruncatedOptionKeepsWhatWasFound) {
  // 61 is complete; the next option claims 50 bytes that are not there.
  auto d = parse(to_server(bootp(kBootRequest, kXid, {61, 2, 0xaa, 0xbb, 12, 50, 'h'})));
  ASSERT_TRUE(d);
  EXPECT_EQ(client_id_of(*d), (Bytes{0xaa, 0xbb}));
  // 61 itself is cut: no client id, but the message still parses.
  d = parse(to_server(bootp(kBootRequest, kXid, {53, 1, 1, 61, 10, 0xaa, 0xbb})));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
  // A code byte without its length byte.
  d = parse(to_server(bootp(kBootRequest, kXid, {61})));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
}

TEST(DhcpParse, OptionsEndWithTheUdpPayload) {
  // The UDP length covers the message up to the cookie; option 61 lies beyond it.
  const auto msg = bootp(kBootRequest, kXid, {61, 2, 0xaa, 0xbb, 255});
  auto f = eth(Mac::broadcast(), kClient, kIpv4Type,
               ipv4("0.0.0.0", "255.255.255.255",
                    udp(68, 67, msg, static_cast<std::uint16_t>(8 + 236 + 4))));
  auto d = parse(f);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
  // Ethernet padding after the IP packet is not part of the options.
  f = to_server(bootp(kBootRequest, kXid, {}));
  for (const std::uint8_t b : {61, 2, 0xaa, 0xbb}) {
    f.push_back(b);
  }
  d = parse(f);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->client_id_len, 0);
  // A UDP length shorter than the BOOTP fixed part + cookie: not DHCP.
  f = eth(Mac::broadcast(), kClient, kIpv4Type,
          ipv4("0.0.0.0", "255.255.255.255",
               udp(68, 67, msg, static_cast<std::uint16_t>(8 + 236 + 3))));
  EXPECT_FALSE(parse(f));
  // A UDP length below the UDP header: not DHCP.
  f = eth(Mac::broadcast(), kClient, kIpv4Type,
          ipv4("0.0.0.0", "255.255.255.255", udp(68, 67, msg, 7)));
  EXPECT_FALSE(parse(f));
}

TEST(DhcpParse, TruncatedFramesAreNotDhcp) {
  const auto full = dhcp_request(kClient, kXid, {1, 2, 3});
  ASSERT_TRUE(parse(full));
  // Cut anywhere before the end of the cookie (IP total length then exceeds the frame).
  for (const std::size_t n :
       {std::size_t{0}, std::size_t{13}, std::size_t{14}, std::size_t{14 + 19},
        std::size_t{14 + 20}, std::size_t{14 + 27}, std::size_t{14 + 28 + 100},
        std::size_t{14 + 28 + 239}, full.size() - 1}) {
    Bytes f(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse(f)) << n;
  }
  // Honest lengths, but a message shorter than the fixed part + cookie.
  EXPECT_FALSE(parse(to_server(Bytes(239, 0))));
  auto short_msg = bootp(kBootRequest, kXid, {});
  short_msg.pop_back();
  EXPECT_FALSE(parse(to_server(short_msg)));
  // UDP header cut by the IP total length.
  Ipv4Opts tiny;
  tiny.tot_len = 20 + 7;
  EXPECT_FALSE(parse(to_server(bootp(kBootRequest, kXid, {}), 68, 67, tiny)));
}

TEST(DhcpParse, FragmentsAreNotDhcp) {
  const auto msg = bootp(kBootRequest, kXid, {255});
  Ipv4Opts mf;
  mf.frag = 0x2000;  // more fragments
  EXPECT_FALSE(parse(to_server(msg, 68, 67, mf)));
  Ipv4Opts offset;
  offset.frag = 0x0001;  // offset 8 bytes
  EXPECT_FALSE(parse(to_server(msg, 68, 67, offset)));
  Ipv4Opts last;
  last.frag = 0x00b9;  // last fragment (MF clear), non-zero offset
  EXPECT_FALSE(parse(to_server(msg, 68, 67, last)));
  Ipv4Opts df;
  df.frag = 0x4000;  // don't fragment: a whole datagram
  EXPECT_TRUE(parse(to_server(msg, 68, 67, df)));
}

TEST(DhcpParse, WrongPortsOrOpAreNotDhcp) {
  const auto req = bootp(kBootRequest, kXid, {255});
  const auto rep = bootp(kBootReply, kXid, {255});
  EXPECT_TRUE(parse(to_server(req, 68, 67)));
  EXPECT_TRUE(parse(to_server(rep, 67, 68)));
  EXPECT_FALSE(parse(to_server(req, 67, 68)));  // a request from the server port
  EXPECT_FALSE(parse(to_server(rep, 68, 67)));  // a reply to the server port
  EXPECT_FALSE(parse(to_server(req, 68, 68)));
  EXPECT_FALSE(parse(to_server(req, 67, 67)));  // relay-to-server traffic is not a client's
  EXPECT_FALSE(parse(to_server(req, 1068, 67)));
  EXPECT_FALSE(parse(to_server(rep, 67, 1068)));
  EXPECT_FALSE(parse(to_server(bootp(3, kXid, {255}), 68, 67)));
  EXPECT_FALSE(parse(to_server(bootp(0, kXid, {255}), 67, 68)));
}

TEST(DhcpParse, MagicCookieRequired) {
  EXPECT_FALSE(parse(to_server(bootp(kBootRequest, kXid, {}, false))));
  auto msg = bootp(kBootRequest, kXid, {255});
  msg[236 + 3] = 98;  // 99.130.83.98
  EXPECT_FALSE(parse(to_server(msg)));
  // Plain BOOTP (a vendor area without the cookie) is not DHCP either.
  EXPECT_FALSE(parse(to_server(bootp(kBootRequest, kXid, Bytes(64, 0), false))));
}

TEST(DhcpParse, OnlyUntaggedIpv4Udp) {
  const auto msg = bootp(kBootRequest, kXid, {255});
  Ipv4Opts tcp;
  tcp.proto = 6;
  EXPECT_FALSE(parse(to_server(msg, 68, 67, tcp)));
  const auto tagged = eth(Mac::broadcast(), kClient, kIpv4Type,
                          ipv4("0.0.0.0", "255.255.255.255", udp(68, 67, msg)), 10);
  EXPECT_FALSE(parse(tagged));
  const auto over6 = eth(Mac::broadcast(), kClient, kIpv6Type,
                         ipv6("fe80::1", "ff02::1:2", kUdpProto, udp(68, 67, msg)));
  EXPECT_FALSE(parse(over6));
  EXPECT_FALSE(parse(
      eth(Mac::broadcast(), kClient, kArpType, arp(1, kClient, "10.0.0.1", Mac{}, "10.0.0.2"))));
}

TEST(DhcpParse, IpHeaderChecks) {
  const auto msg = bootp(kBootRequest, kXid, {255});
  Ipv4Opts options;
  options.ihl = 6;  // 4 bytes of IP options move the UDP header
  const auto d = parse(to_server(msg, 68, 67, options));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->xid, kXid);
  Ipv4Opts ihl4;
  ihl4.ihl = 4;
  EXPECT_FALSE(parse(to_server(msg, 68, 67, ihl4)));
  Ipv4Opts version6;
  version6.version = 6;
  EXPECT_FALSE(parse(to_server(msg, 68, 67, version6)));
  Ipv4Opts total_below_header;
  total_below_header.ihl = 6;
  total_below_header.tot_len = 20;
  EXPECT_FALSE(parse(to_server(msg, 68, 67, total_below_header)));
}

// ---- DhcpTable ---------------------------------------------------------------------------

TEST(DhcpTable, LearnAndLookup) {
  DhcpTable t;
  EXPECT_EQ(t.lookup(info(kBootReply, kXid)), std::nullopt);
  t.learn(info(kBootRequest, kXid), 11);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid)), 11u);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid + 1)), std::nullopt);
  // Learned from parsed frames, looked up with parsed frames.
  t.learn(*parse(dhcp_request(kClient, 0x55, {9, 9})), 12);
  EXPECT_EQ(t.lookup(*parse(dhcp_reply(kClient, kServer, "10.0.0.100", "10.0.0.50", 0x55, {9, 9}))),
            12u);
}

TEST(DhcpTable, ClientIdMustMatchWhenBothCarryOne) {
  DhcpTable t;
  t.learn(info(kBootRequest, kXid, {1, 2, 3}), 11);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {1, 2, 3})), 11u);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid)), 11u);  // the server did not echo option 61
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {1, 2, 4})), std::nullopt);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {1, 2})), std::nullopt);
  DhcpTable u;
  u.learn(info(kBootRequest, kXid), 12);  // the client sent no option 61
  EXPECT_EQ(u.lookup(info(kBootReply, kXid, {1, 2, 3})), 12u);
}

TEST(DhcpTable, SameXidDifferentClients) {
  DhcpTable t;
  t.learn(info(kBootRequest, kXid, {0xa}), 11);
  t.learn(info(kBootRequest, kXid, {0xb}), 12);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {0xa})), 11u);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {0xb})), 12u);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid)), 12u);  // no client id: the newest request
}

TEST(DhcpTable, NewestFirstAndRelearnInPlace) {
  DhcpTable t;
  t.learn(info(kBootRequest, kXid), 11);
  t.learn(info(kBootRequest, kXid), 12);  // the same (xid, no client id) again, another upper
  EXPECT_EQ(t.lookup(info(kBootReply, kXid)), 12u);
  // A request without a client id still answers a reply with one when nothing newer matches.
  t.learn(info(kBootRequest, kXid, {0xb}), 13);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {0xb})), 13u);
  EXPECT_EQ(t.lookup(info(kBootReply, kXid, {0xc})), 12u);
}

TEST(DhcpTable, RingKeepsTheLastSlots) {
  DhcpTable t;
  const auto n = static_cast<std::uint32_t>(DhcpTable::kSlots);
  for (std::uint32_t x = 1; x <= n; ++x) {
    t.learn(info(kBootRequest, x), 1000 + x);
  }
  for (std::uint32_t x = 1; x <= n; ++x) {
    EXPECT_EQ(t.lookup(info(kBootReply, x)), 1000u + x) << x;
  }
  // Re-learning an entry does not take a slot.
  t.learn(info(kBootRequest, 5), 2005);
  EXPECT_EQ(t.lookup(info(kBootReply, 5)), 2005u);
  EXPECT_EQ(t.lookup(info(kBootReply, 1)), 1001u);
  // One more distinct request evicts the oldest.
  t.learn(info(kBootRequest, n + 1), 1000 + n + 1);
  EXPECT_EQ(t.lookup(info(kBootReply, 1)), std::nullopt);
  EXPECT_EQ(t.lookup(info(kBootReply, 2)), 1002u);
  EXPECT_EQ(t.lookup(info(kBootReply, n + 1)), 1000u + n + 1);
}

TEST(DhcpTable, ForgetOneUpper) {
  DhcpTable t;
  t.learn(info(kBootRequest, 1), 11);
  t.learn(info(kBootRequest, 2), 12);
  t.learn(info(kBootRequest, 3, {7}), 11);
  t.forget(11);
  EXPECT_EQ(t.lookup(info(kBootReply, 1)), std::nullopt);
  EXPECT_EQ(t.lookup(info(kBootReply, 3, {7})), std::nullopt);
  EXPECT_EQ(t.lookup(info(kBootReply, 2)), 12u);
  t.forget(99);  // unknown: nothing happens
  EXPECT_EQ(t.lookup(info(kBootReply, 2)), 12u);
  t.learn(info(kBootRequest, 1), 13);
  EXPECT_EQ(t.lookup(info(kBootReply, 1)), 13u);
}

}  // namespace
