// spoofchk and maxmacs (issue 7, subnic's extensions; no kernel case IDs): the per-upper source
// check of MacvlanPort::transmit / IpvlanPort::transmit, and the lower's MAC limit of
// MacvlanPort.
//
// spoofchk is off by default, as the kernel's macvlan and ipvlan check nothing: each test first
// shows the frame passing with it off, then dropped (DropReason::kSpoofed, nothing delivered,
// nothing to the wire) with it on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ipvlan.hpp"
#include "core/macvlan.hpp"
#include "test_frames.hpp"

namespace {

using namespace subnic::core;
using namespace subnic::test;

Mac mac(std::uint8_t last) {
  return Mac{{0x02, 0x00, 0x00, 0x00, 0x00, last}};
}
const Mac kLowerMac = mac(0xfe);
const Mac kOutside = mac(0x64);
const Mac kForged = mac(0x66);

LowerState lower() {
  LowerState l;
  l.mac = kLowerMac;
  l.up = true;
  l.carrier = true;
  l.mtu = 1500;
  return l;
}

MacvlanChange mv_mode(MacvlanMode m) {
  MacvlanChange c;
  c.mode = m;
  return c;
}

Bytes udp4(const Mac& dst, const Mac& src, std::string_view sip, std::string_view dip) {
  return eth(dst, src, kIpv4Type, ipv4(sip, dip, udp(68, 67, Bytes(18, 0))));
}

// ---- macvlan ------------------------------------------------------------------------------

// Two bridge uppers A (…:01) and B (…:02), both UP.
struct MvLab {
  MacvlanPort port{lower()};
  MvLab() {
    for (std::uint8_t i = 1; i <= 2; ++i) {
      auto r = port.add_upper(i, mac(i), mac(i), std::nullopt, mv_mode(MacvlanMode::kBridge));
      EXPECT_TRUE(r) << r.error().message;
      EXPECT_TRUE(port.open(*r));
    }
  }
  Decision tx(std::uint32_t from, const Bytes& f) const {
    Decision d;
    port.transmit(from, FrameView{f}, false, d);
    return d;
  }
};

TEST(Spoofchk, MacvlanOffByDefaultForwardsForgedSource) {
  MvLab l;
  EXPECT_FALSE(l.port.uppers()[0].spoofchk);
  // A forged source to B: delivered locally, as the kernel's macvlan does.
  auto d = l.tx(0, udp4(mac(2), kForged, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(d.deliveries[0].upper, 1u);
}

TEST(Spoofchk, MacvlanOnDropsForgedSourceMac) {
  MvLab l;
  l.port.set_spoofchk(0, true);
  for (const Mac& dst : {mac(2), kOutside, *Mac::parse("ff:ff:ff:ff:ff:ff")}) {
    auto d = l.tx(0, udp4(dst, kForged, "10.0.0.1", "10.0.0.2"));
    EXPECT_EQ(d.drop, DropReason::kSpoofed) << dst.to_string();
    EXPECT_TRUE(d.deliveries.empty());
    EXPECT_FALSE(d.to_wire);
  }
  // Another upper's MAC is as forged as any.
  EXPECT_EQ(l.tx(0, udp4(kOutside, mac(2), "10.0.0.1", "10.0.0.9")).drop, DropReason::kSpoofed);
  // Its own MAC passes: to B locally, to the outside on the wire.
  auto d = l.tx(0, udp4(mac(2), mac(1), "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_EQ(d.deliveries.size(), 1u);
  d = l.tx(0, udp4(kOutside, mac(1), "10.0.0.1", "10.0.0.9"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_TRUE(d.to_wire);
  // The other upper is unaffected; a malformed frame stays malformed.
  EXPECT_EQ(l.tx(1, udp4(kOutside, kForged, "10.0.0.2", "10.0.0.9")).drop, DropReason::kNone);
  EXPECT_EQ(l.tx(0, Bytes(10, 0)).drop, DropReason::kMalformed);
  // Off again: forwarded again.
  l.port.set_spoofchk(0, false);
  EXPECT_EQ(l.tx(0, udp4(kOutside, kForged, "10.0.0.1", "10.0.0.9")).drop, DropReason::kNone);
}

TEST(Spoofchk, MacvlanFollowsAddressChange) {
  MvLab l;
  l.port.set_spoofchk(0, true);
  ASSERT_TRUE(l.port.set_address(0, mac(7)));
  EXPECT_EQ(l.tx(0, udp4(kOutside, mac(1), "10.0.0.1", "10.0.0.9")).drop, DropReason::kSpoofed);
  EXPECT_EQ(l.tx(0, udp4(kOutside, mac(7), "10.0.0.1", "10.0.0.9")).drop, DropReason::kNone);
}

// Checked before the carrier: a spoofed frame is counted as spoofed whatever the lower's state.
TEST(Spoofchk, MacvlanCountedAsSpoofedWhileLowerDown) {
  MvLab l;
  l.port.set_spoofchk(0, true);
  auto down = lower();
  down.carrier = false;
  l.port.set_lower(down);
  EXPECT_EQ(l.tx(0, udp4(kOutside, kForged, "10.0.0.1", "10.0.0.9")).drop, DropReason::kSpoofed);
  EXPECT_EQ(l.tx(0, udp4(kOutside, mac(1), "10.0.0.1", "10.0.0.9")).drop, DropReason::kNoCarrier);
}

// ---- ipvlan -------------------------------------------------------------------------------

// l2 bridge uppers A (10.0.0.1, fd00::1, fe80::1) and B (10.0.0.2, fd00::2), both UP.
struct IvLab {
  IpvlanPort port{lower()};
  explicit IvLab(IpvlanMode m = IpvlanMode::kL2) {
    IpvlanChange c;
    c.mode = m;
    c.flags = 0;
    const std::vector<std::vector<std::string>> addrs = {{"10.0.0.1", "fd00::1", "fe80::1"},
                                                         {"10.0.0.2", "fd00::2"}};
    for (std::uint32_t i = 0; i < 2; ++i) {
      auto r = port.add_upper(i + 1, std::nullopt, c);
      EXPECT_TRUE(r) << r.error().message;
      std::vector<IpAddr> a;
      for (const auto& s : addrs[i]) {
        a.push_back(ip(s));
      }
      EXPECT_EQ(port.set_addresses(*r, a), 0u);
      EXPECT_TRUE(port.open(*r));
    }
  }
  Decision tx(std::uint32_t from, const Bytes& f) const {
    Decision d;
    port.transmit(from, FrameView{f}, false, d);
    return d;
  }
  DropReason drop(const Bytes& f) const { return tx(0, f).drop; }
};

TEST(Spoofchk, IpvlanOffByDefaultForwardsForgedSource) {
  IvLab l;
  EXPECT_FALSE(l.port.uppers()[0].spoofchk);
  // A forges B's address towards the outside, and another address to B: both pass.
  auto d = l.tx(0, udp4(kOutside, kLowerMac, "10.0.0.2", "10.0.0.9"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_TRUE(d.to_wire);
  d = l.tx(0, udp4(kLowerMac, kLowerMac, "10.0.0.77", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_EQ(d.deliveries.size(), 1u);
}

TEST(Spoofchk, IpvlanOnDropsForgedSourceIp) {
  IvLab l;
  l.port.set_spoofchk(0, true);
  // IPv4: another upper's address, a foreign one.
  EXPECT_EQ(l.drop(udp4(kOutside, kLowerMac, "10.0.0.2", "10.0.0.9")), DropReason::kSpoofed);
  auto d = l.tx(0, udp4(kLowerMac, kLowerMac, "10.0.0.77", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kSpoofed);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_FALSE(d.to_wire);
  // IPv6.
  const auto v6 = [](std::string_view s) {
    return eth(kOutside, kLowerMac, kIpv6Type, ipv6(s, "fd00::9", kUdpProto, udp(1, 2, {})));
  };
  EXPECT_EQ(l.drop(v6("fd00::2")), DropReason::kSpoofed);
  EXPECT_EQ(l.drop(v6("fd00::1")), DropReason::kNone);
  EXPECT_EQ(l.drop(v6("fe80::1")), DropReason::kNone);  // its link-local address is its own
  // ARP: the sender IP, and the sender MAC (the shared MAC).
  const Mac bc = *Mac::parse("ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(l.drop(eth(bc, kLowerMac, kArpType, arp(1, kLowerMac, "10.0.0.2", Mac{}, "10.0.0.9"))),
            DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(bc, kLowerMac, kArpType, arp(1, kForged, "10.0.0.1", Mac{}, "10.0.0.9"))),
            DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(bc, kLowerMac, kArpType, arp(1, kLowerMac, "10.0.0.1", Mac{}, "10.0.0.9"))),
            DropReason::kNone);
  // Its own addresses pass.
  EXPECT_EQ(l.drop(udp4(kOutside, kLowerMac, "10.0.0.1", "10.0.0.9")), DropReason::kNone);
  // The other upper (spoofchk off) still may.
  EXPECT_EQ(l.tx(1, udp4(kOutside, kLowerMac, "10.0.0.1", "10.0.0.9")).drop, DropReason::kNone);
}

// DHCP (from 0.0.0.0), IPv6 DAD (from ::) and ARP probes (sender 0.0.0.0, RFC 5227) must work
// before the upper owns an address.
TEST(Spoofchk, IpvlanAllowsUnspecifiedSource) {
  IvLab l;
  l.port.set_spoofchk(0, true);
  const Mac bc = *Mac::parse("ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(l.drop(dhcp_request(kLowerMac, 0x1234, {})), DropReason::kNone);
  EXPECT_EQ(l.drop(udp4(bc, kLowerMac, "0.0.0.0", "255.255.255.255")), DropReason::kNone);
  EXPECT_EQ(l.drop(eth(*Mac::parse("33:33:ff:00:00:07"), kLowerMac, kIpv6Type,
                       ipv6("::", "ff02::1:ff00:7", kIcmpv6Proto, icmpv6_ns("fd00::7")))),
            DropReason::kNone);
  EXPECT_EQ(l.drop(eth(bc, kLowerMac, kArpType, arp(1, kLowerMac, "0.0.0.0", Mac{}, "10.0.0.7"))),
            DropReason::kNone);
}

// What cannot be vouched for is refused: a foreign source MAC, a tagged frame, a header too
// short to read. Other EtherTypes pass on the MAC alone.
TEST(Spoofchk, IpvlanRefusesWhatItCannotCheck) {
  IvLab l;
  l.port.set_spoofchk(0, true);
  EXPECT_EQ(l.drop(udp4(kOutside, kForged, "10.0.0.1", "10.0.0.9")), DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(kOutside, kLowerMac, kIpv4Type, ipv4("10.0.0.1", "10.0.0.9", udp(1, 2, {})),
                       std::uint16_t{10})),
            DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(kOutside, kLowerMac, kIpv4Type, Bytes(12, 0x45))), DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(kOutside, kLowerMac, kIpv6Type, Bytes(30, 0x60))), DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(kOutside, kLowerMac, kArpType, Bytes(20, 0))), DropReason::kSpoofed);
  // An IPv4 header claiming version 6 is not IPv4 with a readable source.
  auto bad = udp4(kOutside, kLowerMac, "10.0.0.1", "10.0.0.9");
  bad[14] = 0x65;
  EXPECT_EQ(l.drop(bad), DropReason::kSpoofed);
  EXPECT_EQ(l.drop(eth(kOutside, kLowerMac, 0x88b5, Bytes(46, 0))), DropReason::kNone);
  EXPECT_EQ(l.drop(eth(kOutside, kForged, 0x88b5, Bytes(46, 0))), DropReason::kSpoofed);
}

// An address the upper configured after another upper owned it (a conflict) is not its own.
TEST(Spoofchk, IpvlanConflictingAddressIsNotOwned) {
  IvLab l;
  l.port.set_spoofchk(0, true);
  ASSERT_EQ(l.port.set_addresses(0, {ip("10.0.0.1"), ip("10.0.0.2")}), 1u);
  EXPECT_EQ(l.drop(udp4(kOutside, kLowerMac, "10.0.0.2", "10.0.0.9")), DropReason::kSpoofed);
  // Once B lets it go, A owns it and may use it.
  l.port.set_addresses(1, {});
  EXPECT_EQ(l.drop(udp4(kOutside, kLowerMac, "10.0.0.2", "10.0.0.9")), DropReason::kNone);
}

// l3: the same check, before the local lookup and the route.
TEST(Spoofchk, IpvlanL3DropsBeforeRouting) {
  IvLab l{IpvlanMode::kL3};
  l.port.set_spoofchk(0, true);
  auto d = l.tx(0, udp4(kLowerMac, kLowerMac, "10.0.0.99", "192.0.2.1"));
  EXPECT_EQ(d.drop, DropReason::kSpoofed);
  EXPECT_FALSE(d.to_host_route);
  d = l.tx(0, udp4(kLowerMac, kLowerMac, "10.0.0.1", "192.0.2.1"));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_TRUE(d.to_host_route);
}

// ---- maxmacs ------------------------------------------------------------------------------

subnic::Result<std::uint32_t> add(MacvlanPort& p, std::uint8_t i,
                                  MacvlanMode m = MacvlanMode::kBridge) {
  return p.add_upper(i, mac(i), mac(i), std::nullopt, mv_mode(m));
}

TEST(Maxmacs, NoLimitByDefault) {
  MacvlanPort p{lower()};
  EXPECT_EQ(p.max_macs(), 0u);
  for (std::uint8_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(add(p, i));
  }
  EXPECT_EQ(p.mac_count(), 50u);
}

TEST(Maxmacs, AddBeyondLimitIsEnospc) {
  MacvlanPort p{lower()};
  ASSERT_TRUE(p.set_max_macs(2));
  ASSERT_TRUE(add(p, 1));
  ASSERT_TRUE(add(p, 2));
  auto r = add(p, 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_NE(r.error().message.find("already carries 2 MACs, its maxmacs limit"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(p.uppers().size(), 2u);  // nothing was added
  // A random MAC (no address given) counts as a new one too.
  EXPECT_FALSE(p.add_upper(9, std::nullopt, mac(9), std::nullopt, mv_mode(MacvlanMode::kVepa)));
  // A MAC already on the lower (a second upper with it, up only one at a time) adds nothing.
  EXPECT_TRUE(p.add_upper(4, mac(1), mac(1), std::nullopt, mv_mode(MacvlanMode::kVepa)));
  EXPECT_EQ(p.mac_count(), 2u);
  // Room again after a removal.
  p.remove_upper(0);
  p.remove_upper(0);
  EXPECT_TRUE(add(p, 3));
}

TEST(Maxmacs, AddressChangeBeyondLimitIsEnospc) {
  MacvlanPort p{lower()};
  ASSERT_TRUE(add(p, 1));
  ASSERT_TRUE(add(p, 2));
  ASSERT_TRUE(p.set_max_macs(2));
  // Replacing a MAC keeps the count: allowed.
  ASSERT_TRUE(p.set_address(0, mac(5)));
  EXPECT_EQ(p.uppers()[0].mac, mac(5));
  // Two uppers sharing one MAC: moving one of them to a new MAC would add one.
  ASSERT_TRUE(p.add_upper(3, mac(2), mac(2), std::nullopt, mv_mode(MacvlanMode::kVepa)));
  auto r = p.set_address(2, mac(6));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_EQ(p.uppers()[2].mac, mac(2));
}

TEST(Maxmacs, LimitBelowCountIsRefused) {
  MacvlanPort p{lower()};
  for (std::uint8_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(add(p, i));
  }
  auto st = p.set_max_macs(2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EBUSY);
  EXPECT_NE(st.error().message.find("carries 3 MACs, more than maxmacs 2"), std::string::npos);
  EXPECT_EQ(p.max_macs(), 0u);
  EXPECT_TRUE(p.set_max_macs(3));
  EXPECT_TRUE(p.set_max_macs(0));
  // A restored limit is kept as it was, and then admits nothing new.
  EXPECT_TRUE(p.set_max_macs(2, true));
  EXPECT_EQ(p.max_macs(), 2u);
  EXPECT_FALSE(add(p, 4));
}

TEST(Maxmacs, PassthruCountsTheLowerMacOnce) {
  MacvlanPort p{lower()};
  ASSERT_TRUE(p.set_max_macs(1));
  ASSERT_TRUE(add(p, 1, MacvlanMode::kPassthru));
  EXPECT_EQ(p.mac_count(), 1u);
}

}  // namespace
