// ipvlan port decisions and configuration rules, one test per semantics.md case ID (§10.3);
// rules of §3 without a case ID are named after their section (Sec3_x_...).
//
// The reference is the kernel (torvalds/linux drivers/net/ipvlan/ipvlan_core.c, ipvlan_main.c,
// ipvlan_l3s.c). Each test builds the case's port (slaves A, B, C = 10.0.0.1-3 and fd00::1-3 of
// the master eth0), feeds frames the way the lab would — transmitted by a slave, or received on
// the master from an outside host X or reflected by a hairpin switch — and checks the decision.
// Frames a slave's stack builds carry the master's MAC as source (ipvlan_hard_header); in l3/l3s
// (NOARP) also as destination.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/dhcp.hpp"
#include "core/ipvlan.hpp"
#include "test_frames.hpp"

namespace {

using namespace subnic::core;
using namespace subnic::test;

Mac mac(std::uint8_t last) {
  return Mac{{0x02, 0x00, 0x00, 0x00, 0x00, last}};
}
const Mac kLowerMac = mac(0xfe);                       // eth0, the master: every slave's MAC
const Mac kOutside = mac(0x64);                        // X, behind the external switch
const Mac kGroup = *Mac::parse("01:00:5e:01:01:01");   // 239.1.1.1
const Mac kGroup2 = *Mac::parse("01:00:5e:02:02:02");  // 239.2.2.2
const Mac kPauseGroup = *Mac::parse("01:80:c2:00:00:01");
const Mac kSolicitedNode = *Mac::parse("33:33:ff:00:00:01");
constexpr const char* kX = "10.0.0.100";
constexpr const char* kHost = "10.0.0.254";  // the master's own address
constexpr std::uint16_t kLocalExperimental = 0x88b5;
constexpr std::uint16_t kPauseType = 0x8808;

LowerState lower(std::uint32_t mtu = 1500, const Mac& m = kLowerMac) {
  LowerState l;
  l.mac = m;
  l.up = true;
  l.carrier = true;
  l.mtu = mtu;
  return l;
}

IpvlanChange change(std::optional<IpvlanMode> m, std::optional<std::uint16_t> flags) {
  IpvlanChange c;
  c.mode = m;
  c.flags = flags;
  return c;
}
// What `ip link add ... type ipvlan mode M [FLAG]` sends: the mode, and always the flags.
IpvlanChange words(IpvlanMode m, std::uint16_t flags = 0) {
  return change(m, flags);
}

std::vector<IpAddr> ips(const std::vector<std::string>& texts) {
  std::vector<IpAddr> r;
  for (const auto& t : texts) {
    r.push_back(ip(t));
  }
  return r;
}

// An IPv4/UDP frame with `n` payload bytes (total size 14 + 20 + 8 + n).
Bytes udp4(const Mac& dst, const Mac& src, std::string_view sip, std::string_view dip,
           std::size_t n = 18) {
  return eth(dst, src, kIpv4Type, ipv4(sip, dip, udp(1000, 2000, Bytes(n, 0))));
}
// An IPv6/UDP frame.
Bytes udp6(const Mac& dst, const Mac& src, std::string_view sip, std::string_view dip) {
  return eth(dst, src, kIpv6Type, ipv6(sip, dip, kUdpProto, udp(1000, 2000, Bytes(8, 0))));
}
// An ARP request sent by (sha, spa) for tpa, in a frame to `dst`.
Bytes arp_request(const Mac& dst, const Mac& sha, std::string_view spa, std::string_view tpa) {
  return eth(dst, sha, kArpType, arp(1, sha, spa, Mac{}, tpa));
}
// An ARP reply from (sha, spa) to (tha, tpa).
Bytes arp_reply(const Mac& sha, std::string_view spa, const Mac& tha, std::string_view tpa) {
  return eth(tha, sha, kArpType, arp(2, sha, spa, tha, tpa));
}
// A DAD Neighbour Solicitation (from ::) for `target`, in a frame to `dst`.
Bytes dad_ns(const Mac& dst, const Mac& src, std::string_view target) {
  return eth(dst, src, kIpv6Type, ipv6("::", "ff02::1:ff00:1", kIcmpv6Proto, icmpv6_ns(target)));
}
// A frame of another EtherType, 60 bytes.
Bytes raw(const Mac& dst, const Mac& src, std::uint16_t type) {
  return eth(dst, src, type, Bytes(46, 0));
}

using Names = std::vector<std::string>;

// A port with named uppers.
struct Lab {
  IpvlanPort port{lower()};
  std::map<std::string, std::uint64_t> ids;
  std::uint64_t next_id = 100;

  // `ip link add NAME link eth0 type ipvlan <c>`, its addresses configured, then up.
  void add(const std::string& name, const IpvlanChange& c,
           const std::vector<std::string>& addrs = {}, bool up = true) {
    auto r = port.add_upper(next_id, std::nullopt, c);
    ASSERT_TRUE(r) << r.error().message;
    ids[name] = next_id++;
    if (!addrs.empty()) {
      ASSERT_EQ(port.set_addresses(index(name), ips(addrs)), 0u);
    }
    if (up) {
      ASSERT_TRUE(port.open(index(name)));
    }
  }
  std::uint32_t index(const std::string& name) const { return *port.find(ids.at(name)); }
  const IpvlanUpper& upper(const std::string& name) const { return port.uppers()[index(name)]; }
  std::string name_of(std::uint32_t i) const {
    for (const auto& [n, id] : ids) {
      if (port.find(id) == i) {
        return n;
      }
    }
    return "?";
  }
  // Names of the uppers that receive a copy (dropped copies excluded), sorted.
  Names receivers(const Decision& d) const {
    Names r;
    for (const auto& del : d.deliveries) {
      if (del.drop == DropReason::kNone) {
        r.push_back(name_of(del.upper));
      }
    }
    std::sort(r.begin(), r.end());
    return r;
  }
  // Names of the uppers whose copy was dropped for `why`.
  Names dropped(const Decision& d, DropReason why) const {
    Names r;
    for (const auto& del : d.deliveries) {
      if (del.drop == why) {
        r.push_back(name_of(del.upper));
      }
    }
    std::sort(r.begin(), r.end());
    return r;
  }
  std::optional<std::string> owner(std::string_view a) const {
    const auto i = port.owner(ip(a));
    if (!i) {
      return std::nullopt;
    }
    return name_of(*i);
  }
  Decision rx(const Bytes& f, const DhcpTable* dhcp = nullptr) const {
    Decision d;
    port.receive(FrameView{f}, false, dhcp, d);
    return d;
  }
  Decision tx(const std::string& from, const Bytes& f, bool gso = false) const {
    Decision d;
    port.transmit(index(from), FrameView{f}, gso, d);
    return d;
  }
};

// The TOPO of §10.3: slaves A, B, C (10.0.0.1-3, fd00::1-3), all UP, in `m` with `flags`.
Lab topo(IpvlanMode m, std::uint16_t flags = 0) {
  Lab l;
  l.add("A", words(m, flags), {"10.0.0.1", "fd00::1"});
  l.add("B", words(m, flags), {"10.0.0.2", "fd00::2"});
  l.add("C", words(m, flags), {"10.0.0.3", "fd00::3"});
  return l;
}

// Asserts "handed to the wire only".
void expect_wire_only(const Lab& l, const Decision& d) {
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_wire);
  EXPECT_FALSE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
}

// ---- l2 ----------------------------------------------------------------------------------

// T-IV-01: l2 bridge. A's unicast to B (dst MAC == src MAC, B owns the IP) stays local; A's
// broadcasts go to every other UP slave, then once to the wire, never to the master's stack.
TEST(Ipvlan, T_IV_01_L2BridgeSlaveToSlaveLocal) {
  auto l = topo(IpvlanMode::kL2);
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_wire);
  EXPECT_FALSE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
  d = l.tx("A", udp6(kLowerMac, kLowerMac, "fd00::1", "fd00::2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_wire);
  // B's ARP reply to A is unicast between two holders of the same MAC: keyed by target IP.
  d = l.tx("B", arp_reply(kLowerMac, "10.0.0.2", kLowerMac, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_FALSE(d.to_wire);

  // A's ARP request for B: one copy each to B and C (not A), then the wire.
  d = l.tx("A", arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  EXPECT_FALSE(d.to_lower_host);
  EXPECT_FALSE(d.to_host_route);
  // A broadcast UDP probe: the same.
  d = l.tx("A", udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  EXPECT_FALSE(d.to_lower_host);
}

// T-IV-01 (§3.3): the local test is literally "dst MAC equals src MAC", not "dst MAC is the
// master's", and the source is not validated (ipvlan_xmit_mode_l2).
TEST(Ipvlan, T_IV_01_L2LocalTestIsDstEqualsSrc) {
  auto l = topo(IpvlanMode::kL2);
  const Mac other = mac(0x33);
  auto d = l.tx("A", udp4(other, other, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_wire);
  // dst is the master's MAC but src is not: not local, the wire.
  expect_wire_only(l, l.tx("A", udp4(kLowerMac, other, "10.0.0.1", "10.0.0.2")));
  // dst is X's MAC: the wire.
  expect_wire_only(l, l.tx("A", udp4(kOutside, kLowerMac, "10.0.0.1", kX)));
}

// T-IV-02: hairpin on. A's UDP broadcast: B and C get the local copy, and its reflection (the
// master's MAC and an L3 source A owns) goes to the master's stack only. A raw 0x88b5 broadcast
// has no L3 key, so its reflection is "external": B and C get a second copy and A gets one.
TEST(Ipvlan, T_IV_02_L2BroadcastWithHairpin) {
  auto l = topo(IpvlanMode::kL2);
  const auto probe = udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255");
  auto d = l.tx("A", probe);
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  d = l.rx(probe);  // reflected
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);

  const auto rawbc = raw(Mac::broadcast(), kLowerMac, kLocalExperimental);
  d = l.tx("A", rawbc);
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  d = l.rx(rawbc);  // reflected: back to its sender too
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-02 (ipvlan_external_frame): a reflected ARP keyed by its sender IP, and a reflected DAD
// NS keyed by its target (the ICMPv6 key ignores use_dest), are not redistributed when a slave
// owns the key; when no slave owns it they are.
TEST(Ipvlan, T_IV_02_ReflectionKeyedBySource) {
  auto l = topo(IpvlanMode::kL2);
  for (const char* n : {"A", "B", "C"}) {  // the solicited-node group of fd00::1 (and ::99)
    l.port.set_upper_rx(l.index(n), false, false, {kSolicitedNode});
  }
  auto d = l.rx(arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(dad_ns(kSolicitedNode, kLowerMac, "fd00::1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(dad_ns(kSolicitedNode, kLowerMac, "fd00::99"));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  // A group frame from the master's MAC whose L3 source is the master's: flooded.
  d = l.rx(udp4(Mac::broadcast(), kLowerMac, kHost, "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  // An outside DAD NS for A's address (another host probing it): flooded, A included.
  d = l.rx(dad_ns(kSolicitedNode, kOutside, "fd00::1"));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-03: l2 private blocks slave-owned unicast only; broadcasts still reach B and C; unicast
// to the master's address (static neighbour -> eth0's MAC, so dst == src) reaches the master.
TEST(Ipvlan, T_IV_03_L2Private) {
  auto l = topo(IpvlanMode::kL2, kIpvlanPrivate);
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kPrivate);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_FALSE(d.to_wire);
  EXPECT_FALSE(d.to_host_route);

  d = l.tx("A", udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  EXPECT_EQ(d.drop, DropReason::kNone);

  d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kHost));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
}

// T-IV-04: l2 vepa sends slave-owned unicast to the wire; with hairpin the reflection is keyed
// by IP and reaches B. Broadcasts still have local copies.
TEST(Ipvlan, T_IV_04_L2Vepa) {
  auto l = topo(IpvlanMode::kL2, kIpvlanVepa);
  const auto ping = udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2");
  expect_wire_only(l, l.tx("A", ping));
  auto d = l.rx(ping);  // hp on: the switch sends it back, src MAC = dst MAC = eth0's
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.consumed);
  EXPECT_FALSE(d.to_lower_host);
  // Even unicast for the master's own address goes to the wire in vepa.
  expect_wire_only(l, l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kHost)));
  d = l.tx("A", udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
}

// T-IV-05: traffic from an outside host in l2. X's ARP request is a broadcast: every UP slave
// and the master's stack. X's unicast to the shared MAC is keyed by IP: A only, consumed.
TEST(Ipvlan, T_IV_05_L2OutsideHost) {
  auto l = topo(IpvlanMode::kL2);
  auto d = l.rx(arp_request(Mac::broadcast(), kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  EXPECT_TRUE(d.to_lower_host);
  EXPECT_FALSE(d.consumed);

  d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_TRUE(d.consumed);
  EXPECT_FALSE(d.to_lower_host);
  d = l.rx(udp6(kLowerMac, kOutside, "fd00::64", "fd00::3"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  EXPECT_TRUE(d.consumed);
  // X's unicast ARP (a reply, or a unicast re-probe) is keyed by its target IP.
  d = l.rx(arp_reply(kOutside, kX, kLowerMac, "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.consumed);
  d = l.rx(eth(kLowerMac, kOutside, kArpType, arp(1, kOutside, kX, Mac{}, "10.0.0.3")));
  EXPECT_EQ(l.receivers(d), Names{"C"});
}

// T-IV-05 (§3.2, §3.5): an IPv6 DAD NS (from ::) is keyed by its target on receive.
TEST(Ipvlan, T_IV_05_L2DadNeighbourSolicitationByTarget) {
  auto l = topo(IpvlanMode::kL2);
  auto d = l.rx(dad_ns(kLowerMac, kOutside, "fd00::2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.consumed);
  d = l.rx(dad_ns(kLowerMac, kOutside, "fd00::99"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-05 (§3.5): unicast nobody owns, IP or not, goes to the master's stack only.
TEST(Ipvlan, T_IV_05_L2UnownedUnicastToMasterHost) {
  auto l = topo(IpvlanMode::kL2);
  for (const auto& f :
       {udp4(kLowerMac, kOutside, kX, kHost), udp4(kLowerMac, kOutside, kX, "10.0.0.50"),
        udp6(kLowerMac, kOutside, "fd00::64", "fd00::99"),
        raw(kLowerMac, kOutside, kLocalExperimental), arp_reply(kOutside, kX, kLowerMac, kHost)}) {
    const auto d = l.rx(f);
    EXPECT_EQ(l.receivers(d), Names{});
    EXPECT_TRUE(d.to_lower_host);
    EXPECT_FALSE(d.consumed);
  }
}

// T-IV-06: slave <-> master host in l2. Hairpin off: A's ARP request for the host's address
// reaches B, C and the wire but never the host stack. Hairpin on: the reflected request is for
// the host only, the host's reflected request floods the slaves, and the host's reflected
// unicast reaches A. Once resolved (dst == src == eth0's MAC) A's packets go to the host.
TEST(Ipvlan, T_IV_06_L2SlaveToMasterHost) {
  auto l = topo(IpvlanMode::kL2);
  const auto who_has = arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", kHost);
  auto d = l.tx("A", who_has);
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
  EXPECT_FALSE(d.to_lower_host);
  EXPECT_FALSE(d.to_host_route);
  d = l.rx(who_has);  // hp on
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);

  d = l.rx(arp_request(Mac::broadcast(), kLowerMac, kHost, "10.0.0.1"));  // the host's, reflected
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(arp_reply(kLowerMac, kHost, kLowerMac, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  d = l.rx(udp4(kLowerMac, kLowerMac, kHost, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_TRUE(d.consumed);

  d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kHost));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(d.drop, DropReason::kNone);
  d = l.tx("A", udp6(kLowerMac, kLowerMac, "fd00::1", "fd00::fe"));
  EXPECT_TRUE(d.to_host_route);
}

// §3.3: dst == src, no slave owns the key, not IP: the kernel hands it to the master's stack
// (dev_forward_skb). subnic cannot inject it: an ARP becomes the neighbour update arp_process
// would make (to_host_neigh); anything else is counted kNoInject.
TEST(Ipvlan, Sec3_3_L2NonIpForMasterHostIsNoInject) {
  auto l = topo(IpvlanMode::kL2);
  auto d = l.tx("A", raw(kLowerMac, kLowerMac, kLocalExperimental));
  EXPECT_EQ(d.drop, DropReason::kNoInject);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  d = l.tx("A", arp_reply(kLowerMac, "10.0.0.1", kLowerMac, kHost));
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_TRUE(d.to_host_neigh);
  EXPECT_FALSE(d.to_host_route);
  EXPECT_FALSE(d.to_wire);
  // An ARP keyed to an UP slave is delivered locally, like IP.
  d = l.tx("A", arp_reply(kLowerMac, "10.0.0.1", kLowerMac, "10.0.0.3"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
}

// §3.3: a well-formed IPv6 packet from the unspecified source that is not a Neighbour
// Solicitation has no L3 key (ipvlan_addr_lookup, IPVL_ICMPV6 case), so with dst == src the
// kernel forwards it to the master (ipvlan_xmit_mode_l2: dev_forward_skb(phy_dev)) like any
// unowned IP packet.
TEST(Ipvlan, Sec3_3_L2KeylessIpv6ForMasterHost) {
  auto l = topo(IpvlanMode::kL2);
  const auto echo =
      eth(kLowerMac, kLowerMac, kIpv6Type, ipv6("::", "fd00::fe", kIcmpv6Proto, icmpv6(128, 16)));
  const auto d = l.tx("A", echo);
  // The kernel hands it to the master's stack (dev_forward_skb), key or no key.
  EXPECT_TRUE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_FALSE(d.to_wire);
}

// §3.3: group frames with EtherType 0x8808 are dropped (ipvlan_multicast_enqueue), sent or
// received; other group frames are distributed whatever the flags.
TEST(Ipvlan, Sec3_3_PauseFramesAreDropped) {
  for (const std::uint16_t flags : {std::uint16_t{0}, kIpvlanPrivate, kIpvlanVepa}) {
    auto l = topo(IpvlanMode::kL2, flags);
    for (const char* n : {"A", "B", "C"}) {
      l.port.set_upper_rx(l.index(n), false, true, {});  // allmulti: every group accepted
    }
    for (const Mac& dst : {kPauseGroup, Mac::broadcast()}) {
      auto d = l.tx("A", raw(dst, kLowerMac, kPauseType));
      EXPECT_EQ(d.drop, DropReason::kPause);
      EXPECT_FALSE(d.to_wire);
      EXPECT_TRUE(d.deliveries.empty());
      d = l.rx(raw(dst, kOutside, kPauseType));
      EXPECT_EQ(l.receivers(d), Names{});
      EXPECT_TRUE(d.to_lower_host);
      d = l.tx("A", raw(dst, kLowerMac, kLocalExperimental));
      EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
      EXPECT_TRUE(d.to_wire);
      d = l.rx(raw(dst, kOutside, kLocalExperimental));
      EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
    }
  }
}

// ---- l3 / l3s ----------------------------------------------------------------------------

// T-IV-07: l3 bridge: slaves are NOARP; A -> B is delivered locally; broadcasts and multicasts
// from a slave go nowhere (ipvlan_process_outbound drops group destinations).
TEST(Ipvlan, T_IV_07_L3BridgeLocalNoBroadcast) {
  auto l = topo(IpvlanMode::kL3);
  EXPECT_TRUE(l.port.noarp());
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_wire);
  EXPECT_FALSE(d.to_host_route);
  d = l.tx("A", udp6(kLowerMac, kLowerMac, "fd00::1", "fd00::3"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  // l3 keys by IP only: the MACs do not matter.
  d = l.tx("A", udp4(kOutside, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});

  for (const auto& f : {udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"),
                        udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "255.255.255.255"),
                        udp4(kGroup, kLowerMac, "10.0.0.1", "239.1.1.1")}) {
    d = l.tx("A", f);
    EXPECT_EQ(d.drop, DropReason::kNotRoutable);
    EXPECT_TRUE(d.deliveries.empty());
    EXPECT_FALSE(d.to_wire);
    EXPECT_FALSE(d.to_host_route);
  }
  // A NOARP upper sends group IP destinations to its own MAC: ipvlan_process_v4_outbound
  // refuses the multicast and limited-broadcast routes (neither unicast nor local).
  for (const auto* dst : {"255.255.255.255", "239.1.1.1"}) {
    d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", dst));
    EXPECT_EQ(d.drop, DropReason::kNotRoutable) << dst;
    EXPECT_FALSE(d.to_host_route) << dst;
  }
}

// §3.4: ARP and other non-IP frames are never routed out; only an ARP whose target an UP slave
// owns is delivered (locally, like IP).
TEST(Ipvlan, Sec3_4_L3ArpAndNonIpAreNotRouted) {
  auto l = topo(IpvlanMode::kL3);
  for (const auto& f : {arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", kHost),
                        arp_request(kLowerMac, kLowerMac, "10.0.0.1", kHost),
                        raw(kLowerMac, kLowerMac, kLocalExperimental),
                        raw(Mac::broadcast(), kLowerMac, kLocalExperimental)}) {
    const auto d = l.tx("A", f);
    EXPECT_EQ(d.drop, DropReason::kNotRoutable);
    EXPECT_TRUE(d.deliveries.empty());
    EXPECT_FALSE(d.to_wire);
    EXPECT_FALSE(d.to_host_route);
  }
  auto d = l.tx("A", arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  // A DAD NS for C's address, although sent to a multicast MAC, is C's.
  d = l.tx("A", dad_ns(kSolicitedNode, kLowerMac, "fd00::3"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  d = l.tx("A", dad_ns(kSolicitedNode, kLowerMac, "fd00::99"));
  EXPECT_EQ(d.drop, DropReason::kNotRoutable);
}

// §3.4: an IPv6 unicast from the unspecified source that is not an NS has no L3 key, but
// ipvlan_xmit_mode_l3 only skips the local lookup (`goto out`) and ipvlan_process_outbound
// routes every IPv4/IPv6 packet with a unicast destination MAC.
TEST(Ipvlan, Sec3_4_L3KeylessIpv6IsRouted) {
  auto l = topo(IpvlanMode::kL3);
  const auto echo =
      eth(kLowerMac, kLowerMac, kIpv6Type, ipv6("::", "fd00::64", kIcmpv6Proto, icmpv6(128, 16)));
  const auto d = l.tx("A", echo);
  // No L3 key only skips the local lookup: the kernel routes it through the master's
  // namespace (ipvlan_process_v6_outbound).
  EXPECT_TRUE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
}

// T-IV-08: l3 private: slave-owned destinations are dropped; other unicast is routed.
TEST(Ipvlan, T_IV_08_L3Private) {
  auto l = topo(IpvlanMode::kL3, kIpvlanPrivate);
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(d.drop, DropReason::kPrivate);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_FALSE(d.to_host_route);
  d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kX));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_EQ(d.drop, DropReason::kNone);
}

// §3.4: l3 vepa skips the local lookup: a slave-owned destination is routed by the master's
// namespace like any other (and comes back from the wire, if at all).
TEST(Ipvlan, Sec3_4_L3VepaSkipsLocalLookup) {
  for (const auto m : {IpvlanMode::kL3, IpvlanMode::kL3S}) {
    auto l = topo(m, kIpvlanVepa);
    auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
    EXPECT_TRUE(d.to_host_route);
    EXPECT_TRUE(d.deliveries.empty());
    EXPECT_EQ(d.drop, DropReason::kNone);
    // vepa does not make ARP routable.
    d = l.tx("A", arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.2"));
    EXPECT_EQ(d.drop, DropReason::kNotRoutable);
  }
}

// T-IV-09: l3 unicast to an outside address is handed to the master namespace's IP output,
// not put on the wire by the port.
TEST(Ipvlan, T_IV_09_L3ToOutsideRoutedByMaster) {
  auto l = Lab{};
  l.add("A", words(IpvlanMode::kL3), {"10.1.0.1", "fd01::1"});
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.1.0.1", kX));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(d.drop, DropReason::kNone);
  d = l.tx("A", udp6(kLowerMac, kLowerMac, "fd01::1", "2001:db8::1"));
  EXPECT_TRUE(d.to_host_route);
  // X's reply to 10.1.0.1 arrives on the master for A.
  d = l.rx(udp4(kLowerMac, kOutside, kX, "10.1.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_TRUE(d.consumed);
}

// T-IV-10: l3: an ARP request for a slave's address goes to that slave only (which, NOARP,
// drops it): the master's stack never sees it, so nobody answers.
TEST(Ipvlan, T_IV_10_L3NobodyAnswersArpForSlaves) {
  auto l = topo(IpvlanMode::kL3);
  auto d = l.rx(arp_request(Mac::broadcast(), kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_TRUE(d.consumed);
  EXPECT_FALSE(d.to_lower_host);
  // A DAD NS (multicast) for B's address is B's.
  d = l.rx(dad_ns(kSolicitedNode, kOutside, "fd00::2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.consumed);
  // An NS from a real source is keyed by its destination (the solicited-node group), which no
  // slave owns: the master's stack only.
  d = l.rx(eth(kSolicitedNode, kOutside, kIpv6Type,
               ipv6("fd00::64", "ff02::1:ff00:1", kIcmpv6Proto, icmpv6_ns("fd00::1"))));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  // ARP for the master's own address: the master's stack.
  d = l.rx(arp_request(Mac::broadcast(), kOutside, kX, kHost));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  EXPECT_FALSE(d.consumed);
}

// T-IV-11: l3 slave -> master host: routed into the master namespace (a local route).
TEST(Ipvlan, T_IV_11_L3SlaveToMasterHost) {
  auto l = topo(IpvlanMode::kL3);
  const auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kHost));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
}

// T-IV-12 / §3.5 l3s: every frame passes the master; IPv4/IPv6 unicast to an UP slave's address
// reaches that slave (after the master's INPUT hooks). ARP and group frames: the master only.
TEST(Ipvlan, T_IV_12_L3sReceive) {
  auto l = topo(IpvlanMode::kL3S);
  EXPECT_TRUE(l.port.noarp());
  auto d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  d = l.rx(udp6(kLowerMac, kOutside, "fd00::64", "fd00::2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  d = l.rx(arp_request(Mac::broadcast(), kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(arp_reply(kOutside, kX, kLowerMac, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  l.port.set_upper_rx(l.index("B"), false, true, {kGroup});
  d = l.rx(udp4(kGroup, kOutside, kX, "239.1.1.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(udp4(Mac::broadcast(), kOutside, kX, "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.50"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-12: l3s transmit is l3's (ipvlan_queue_xmit: IPVLAN_MODE_L3S -> ipvlan_xmit_mode_l3).
TEST(Ipvlan, T_IV_12_L3sTransmitIsL3) {
  auto l = topo(IpvlanMode::kL3S);
  auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_host_route);
  d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", kX));
  EXPECT_TRUE(d.to_host_route);
  d = l.tx("A", udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"));
  EXPECT_EQ(d.drop, DropReason::kNotRoutable);
  d = l.tx("A", arp_request(Mac::broadcast(), kLowerMac, "10.0.0.1", kHost));
  EXPECT_EQ(d.drop, DropReason::kNotRoutable);
}

// §3.5 l3s: delivery happens inside the master's IP layer, and ip_rcv_core() / ipv6_rcv()
// drop PACKET_OTHERHOST before the l3mdev hook (ipvlan_l3_rcv) or INPUT (ipvlan_nf_input) run:
// a unicast frame for a foreign MAC that reaches a promiscuous master reaches no slave.
TEST(Ipvlan, Sec3_5_L3sForeignDestinationMacReachesNoSlave) {
  auto l = topo(IpvlanMode::kL3S);
  const auto d = l.rx(udp4(mac(0x77), kOutside, kX, "10.0.0.1"));
  // The master's IP layer drops it as "other host" before ipvlan's l3s hooks see it.
  EXPECT_EQ(l.receivers(d), Names{});
}

// §3.5 l2/l3: the rx handler does not check the destination MAC: a frame for a foreign MAC that
// carries a slave's IP goes to that slave (marked other host) and is taken from the master.
TEST(Ipvlan, Sec3_5_L2L3ReceiveDoesNotCheckDstMac) {
  for (const auto m : {IpvlanMode::kL2, IpvlanMode::kL3}) {
    auto l = topo(m);
    const auto d = l.rx(udp4(mac(0x77), kOutside, kX, "10.0.0.1"));
    EXPECT_EQ(l.receivers(d), Names{"A"});
    EXPECT_TRUE(d.consumed);
  }
}

// §3.5: l3 receive: any frame keyed to an UP slave (unicast or group) goes to it alone; all
// else, including every broadcast and multicast to non-slave destinations, to the master.
TEST(Ipvlan, Sec3_5_L3ReceiveNoGroupToSlaves) {
  auto l = topo(IpvlanMode::kL3);
  l.port.set_upper_rx(l.index("A"), true, true, {kGroup});
  for (const auto& f :
       {udp4(Mac::broadcast(), kOutside, kX, "10.0.0.255"), udp4(kGroup, kOutside, kX, "239.1.1.1"),
        raw(Mac::broadcast(), kOutside, kLocalExperimental),
        raw(kLowerMac, kOutside, kLocalExperimental)}) {
    const auto d = l.rx(f);
    EXPECT_EQ(l.receivers(d), Names{});
    EXPECT_TRUE(d.to_lower_host);
    EXPECT_FALSE(d.consumed);
  }
  // A broadcast MAC with a slave's IP: that slave.
  const auto d = l.rx(udp4(Mac::broadcast(), kOutside, kX, "10.0.0.3"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  EXPECT_TRUE(d.consumed);
}

// ---- multicast, DOWN slaves, addresses ---------------------------------------------------

// T-IV-13: l2 multicast follows each slave's filter (list; everything when allmulti or
// promisc); in l3 no slave receives it.
TEST(Ipvlan, T_IV_13_Multicast) {
  auto l = topo(IpvlanMode::kL2);
  const auto f = udp4(kGroup, kOutside, kX, "239.1.1.1");
  l.port.set_upper_rx(l.index("B"), false, false, {kGroup});
  auto d = l.rx(f);
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.to_lower_host);
  l.port.set_upper_rx(l.index("A"), false, true, {});
  d = l.rx(f);
  EXPECT_EQ(l.receivers(d), (Names{"A", "B"}));
  EXPECT_TRUE(d.to_lower_host);
  l.port.set_upper_rx(l.index("C"), true, false, {});
  EXPECT_EQ(l.receivers(l.rx(f)), (Names{"A", "B", "C"}));
  // Another group: only the allmulti and the promiscuous slave.
  EXPECT_EQ(l.receivers(l.rx(udp4(kGroup2, kOutside, kX, "239.2.2.2"))), (Names{"A", "C"}));
  // A slave's multicast: the same filters, sender excluded, then the wire.
  d = l.tx("B", udp4(kGroup, kLowerMac, "10.0.0.2", "239.1.1.1"));
  EXPECT_EQ(l.receivers(d), (Names{"A", "C"}));
  EXPECT_TRUE(d.to_wire);

  ASSERT_TRUE(l.port.changelink(l.index("A"), words(IpvlanMode::kL3)));
  d = l.rx(f);
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-13 (ipvlan_set_multicast_mac_filter): broadcast always; the list; all with allmulti or
// promisc. The list keeps group addresses only.
TEST(Ipvlan, T_IV_13_UpperFilter) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2));
  const auto& a = l.upper("A");
  EXPECT_TRUE(a.accepts_group(Mac::broadcast()));
  EXPECT_FALSE(a.accepts_group(kGroup));
  l.port.set_upper_rx(l.index("A"), false, false,
                      {kGroup2, kGroup, kGroup, Mac::broadcast(), mac(7)});
  EXPECT_EQ(l.upper("A").mc_list, (std::vector<Mac>{kGroup, kGroup2}));
  EXPECT_TRUE(l.upper("A").accepts_group(kGroup));
  EXPECT_FALSE(l.upper("A").accepts_group(kSolicitedNode));
  l.port.set_upper_rx(l.index("A"), false, true, {});
  EXPECT_TRUE(l.upper("A").accepts_group(kSolicitedNode));
  l.port.set_upper_rx(l.index("A"), true, false, {});
  EXPECT_TRUE(l.upper("A").accepts_group(kSolicitedNode));
}

// T-IV-13 / §3.6: the master's filters: the UP slaves' multicast lists (dev_mc_sync; a stopped
// slave's list is unsynced), one allmulti reference per UP allmulti slave
// (ipvlan_change_rx_flags), no unicast entries and never promiscuity (slaves share the
// master's MAC; ipvlan does not propagate IFF_PROMISC).
TEST(Ipvlan, T_IV_13_LowerFilter) {
  auto l = topo(IpvlanMode::kL2);
  EXPECT_EQ(l.port.lower_filter(), LowerFilter{});
  l.port.set_upper_rx(l.index("B"), false, false, {kGroup});
  l.port.set_upper_rx(l.index("C"), true, false, {kGroup, kGroup2});
  l.port.set_upper_rx(l.index("A"), false, true, {});
  auto f = l.port.lower_filter();
  EXPECT_TRUE(f.unicast.empty());
  EXPECT_EQ(f.multicast, (std::vector<Mac>{kGroup, kGroup2}));
  EXPECT_EQ(f.allmulti, 1);
  EXPECT_EQ(f.promisc, 0);
  l.port.stop(l.index("C"));
  f = l.port.lower_filter();
  EXPECT_EQ(f.multicast, std::vector<Mac>{kGroup});
  EXPECT_EQ(f.promisc, 0);
  l.port.stop(l.index("A"));
  EXPECT_EQ(l.port.lower_filter().allmulti, 0);
}

// T-IV-14: one address, one slave per port, whether the owner is up or down; subnic keeps the
// first owner and records the second configuration as a conflict. The master's own address is
// not checked. IPv6 like IPv4.
TEST(Ipvlan, T_IV_14_OneAddressOneUpper) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2), {"10.0.0.1", "fd00::1"});
  l.add("B", words(IpvlanMode::kL2));
  l.add("C", words(IpvlanMode::kL2));
  const auto b = l.index("B");
  EXPECT_EQ(l.port.set_addresses(b, ips({"10.0.0.2", "10.0.0.1"})), 1u);
  EXPECT_EQ(l.upper("B").addrs, ips({"10.0.0.2"}));
  EXPECT_EQ(l.upper("B").conflicts, ips({"10.0.0.1"}));
  EXPECT_EQ(l.upper("B").conflicts_seen, 1u);
  EXPECT_EQ(l.owner("10.0.0.1"), "A");
  EXPECT_EQ(l.owner("10.0.0.2"), "B");
  // The same configuration again is no new conflict.
  EXPECT_EQ(l.port.set_addresses(b, ips({"10.0.0.1", "10.0.0.2", "10.0.0.2"})), 0u);
  EXPECT_EQ(l.upper("B").conflicts_seen, 1u);
  EXPECT_EQ(l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1")).deliveries.size(), 1u);
  EXPECT_EQ(l.receivers(l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"))), Names{"A"});

  // A down: A still owns its addresses (EADDRINUSE in both states); they stop matching.
  l.port.stop(l.index("A"));
  EXPECT_EQ(l.port.set_addresses(b, ips({"10.0.0.1", "10.0.0.2", "fd00::1"})), 1u);
  EXPECT_EQ(l.upper("B").conflicts, ips({"10.0.0.1", "fd00::1"}));
  EXPECT_EQ(l.upper("B").conflicts_seen, 2u);
  EXPECT_EQ(l.upper("A").addrs, ips({"10.0.0.1", "fd00::1"}));
  EXPECT_EQ(l.owner("10.0.0.1"), std::nullopt);
  auto d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(udp6(kLowerMac, kOutside, "fd00::64", "fd00::1"));
  EXPECT_EQ(l.receivers(d), Names{});

  // C takes the master's address: accepted, and inbound traffic to it goes to C.
  EXPECT_EQ(l.port.set_addresses(l.index("C"), ips({kHost})), 0u);
  EXPECT_EQ(l.owner(kHost), "C");
  EXPECT_EQ(l.receivers(l.rx(udp4(kLowerMac, kOutside, kX, kHost))), Names{"C"});
}

// T-IV-14 (subnic): a released address passes to the first upper (by index) that had it in
// conflict, whether it is released by the namespace or by deleting the owner.
TEST(Ipvlan, T_IV_14_ReleasedAddressPassesToConflictingUpper) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2), {"10.0.0.1"});
  l.add("B", words(IpvlanMode::kL2));
  l.add("C", words(IpvlanMode::kL2));
  l.add("D", words(IpvlanMode::kL2), {"10.0.0.4"});
  EXPECT_EQ(l.port.set_addresses(l.index("C"), ips({"10.0.0.1"})), 1u);
  EXPECT_EQ(l.port.set_addresses(l.index("B"), ips({"10.0.0.1"})), 1u);
  EXPECT_EQ(l.port.set_addresses(l.index("A"), {}), 0u);
  EXPECT_TRUE(l.upper("A").addrs.empty());
  EXPECT_EQ(l.upper("B").addrs, ips({"10.0.0.1"}));
  EXPECT_TRUE(l.upper("B").conflicts.empty());
  EXPECT_EQ(l.upper("C").conflicts, ips({"10.0.0.1"}));
  EXPECT_EQ(l.owner("10.0.0.1"), "B");
  EXPECT_EQ(l.receivers(l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"))), Names{"B"});
  // Deleting the owner releases too.
  l.port.remove_upper(l.index("B"));
  l.ids.erase("B");
  EXPECT_EQ(l.upper("C").addrs, ips({"10.0.0.1"}));
  EXPECT_TRUE(l.upper("C").conflicts.empty());
  EXPECT_EQ(l.owner("10.0.0.1"), "C");
  EXPECT_EQ(l.owner("10.0.0.4"), "D");  // indices shifted, the table follows
  // A re-adding it now conflicts.
  EXPECT_EQ(l.port.set_addresses(l.index("A"), ips({"10.0.0.1"})), 1u);
  EXPECT_EQ(l.owner("10.0.0.1"), "C");
}

// T-IV-15: a DOWN slave is invisible: unicast to its address goes to the master's stack, it
// gets no broadcast copy, and another slave's packet to it leaves like any unowned packet.
TEST(Ipvlan, T_IV_15_DownUpperInvisible) {
  auto l = topo(IpvlanMode::kL2);
  l.port.set_upper_rx(l.index("A"), false, true, {});
  l.port.stop(l.index("A"));
  auto d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  EXPECT_FALSE(d.consumed);
  EXPECT_EQ(l.receivers(l.rx(udp4(Mac::broadcast(), kOutside, kX, "10.0.0.255"))),
            (Names{"B", "C"}));
  EXPECT_EQ(l.receivers(l.rx(udp4(kGroup, kOutside, kX, "239.1.1.1"))), Names{});
  d = l.tx("B", udp4(kLowerMac, kLowerMac, "10.0.0.2", "10.0.0.1"));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_TRUE(d.to_host_route);
  d = l.tx("B", udp4(Mac::broadcast(), kLowerMac, "10.0.0.2", "10.0.0.255"));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  EXPECT_TRUE(d.to_wire);
  // A's own reflected broadcast is no longer recognised (its address is not in the table).
  EXPECT_EQ(l.receivers(l.rx(udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"))),
            (Names{"B", "C"}));
  // Back up: everything returns.
  ASSERT_TRUE(l.port.open(l.index("A")));
  EXPECT_EQ(l.receivers(l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1"))), Names{"A"});
  EXPECT_EQ(l.receivers(l.rx(udp4(kGroup, kOutside, kX, "239.1.1.1"))), Names{"A"});

  // l3: the same.
  auto l3 = topo(IpvlanMode::kL3);
  l3.port.stop(l3.index("A"));
  d = l3.rx(arp_request(Mac::broadcast(), kOutside, kX, "10.0.0.1"));
  EXPECT_EQ(l3.receivers(d), Names{});
  EXPECT_TRUE(d.to_lower_host);
  d = l3.tx("B", udp4(kLowerMac, kLowerMac, "10.0.0.2", "10.0.0.1"));
  EXPECT_TRUE(d.to_host_route);
  EXPECT_TRUE(d.deliveries.empty());
}

// ---- configuration -----------------------------------------------------------------------

// T-IV-16: mode and flags belong to the port. `ip link add` with no type words sends no ipvlan
// attributes: the port becomes l3 (the kernel default) and keeps its flags; with any words it
// always sends the flags (bridge unless given) and the mode only when given.
TEST(Ipvlan, T_IV_16_ModeAndFlagsPerPort) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2));
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL2);
  EXPECT_FALSE(l.port.noarp());
  l.add("B", IpvlanChange{});  // no words
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL3);
  EXPECT_TRUE(l.port.noarp());
  EXPECT_EQ(l.port.flags(), 0);
  l.add("C", words(IpvlanMode::kL2, kIpvlanPrivate));
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL2);
  EXPECT_EQ(l.port.flags(), kIpvlanPrivate);
  EXPECT_EQ(ipvlan_flags_word(l.port.flags()), "private");
  EXPECT_FALSE(l.port.noarp());
  // The port's flags apply to every slave's traffic, A's included.
  ASSERT_EQ(l.port.set_addresses(l.index("A"), ips({"10.0.0.1"})), 0u);
  EXPECT_EQ(l.tx("B", udp4(kLowerMac, kLowerMac, "10.0.0.2", "10.0.0.1")).drop,
            DropReason::kPrivate);
  // `ip link set A type ipvlan mode l2`: flags back to bridge for all.
  ASSERT_TRUE(l.port.changelink(l.index("A"), words(IpvlanMode::kL2)));
  EXPECT_EQ(l.port.flags(), 0);
  EXPECT_EQ(ipvlan_flags_word(l.port.flags()), "bridge");
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL2);
}

// T-IV-16: no words keeps the port's flags (only the mode falls back to l3); a change without
// a mode keeps the mode; an empty change changes nothing.
TEST(Ipvlan, T_IV_16_NoWordsMeansL3AndKeepsFlags) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2, kIpvlanVepa));
  l.add("B", IpvlanChange{});
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL3);
  EXPECT_EQ(l.port.flags(), kIpvlanVepa);
  ASSERT_TRUE(l.port.changelink(l.index("B"), change(std::nullopt, kIpvlanPrivate)));
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL3);
  EXPECT_EQ(l.port.flags(), kIpvlanPrivate);
  ASSERT_TRUE(l.port.changelink(l.index("B"), IpvlanChange{}));
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL3);
  EXPECT_EQ(l.port.flags(), kIpvlanPrivate);
  ASSERT_TRUE(l.port.changelink(l.index("A"), change(IpvlanMode::kL3S, std::nullopt)));
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL3S);
  EXPECT_EQ(l.port.flags(), kIpvlanPrivate);
  EXPECT_TRUE(l.port.noarp());
}

// T-IV-16: the names `ip` uses and the netlink values (uapi enum ipvlan_mode: L2 = 0, L3 = 1,
// L3S = 2; IPVLAN_F_PRIVATE 1, IPVLAN_F_VEPA 2).
TEST(Ipvlan, T_IV_16_ModeNamesAndValues) {
  EXPECT_EQ(static_cast<int>(IpvlanMode::kL2), 0);
  EXPECT_EQ(static_cast<int>(IpvlanMode::kL3), 1);
  EXPECT_EQ(static_cast<int>(IpvlanMode::kL3S), 2);
  EXPECT_EQ(kIpvlanPrivate, 1);
  EXPECT_EQ(kIpvlanVepa, 2);
  for (const auto m : {IpvlanMode::kL2, IpvlanMode::kL3, IpvlanMode::kL3S}) {
    EXPECT_EQ(parse_ipvlan_mode(to_string(m)), m);
  }
  EXPECT_EQ(to_string(IpvlanMode::kL3S), "l3s");
  EXPECT_EQ(parse_ipvlan_mode("l4"), std::nullopt);
  EXPECT_EQ(parse_ipvlan_mode("L2"), std::nullopt);
  EXPECT_EQ(ipvlan_flags_word(kIpvlanVepa), "vepa");
  IpvlanPort fresh{lower()};
  EXPECT_EQ(fresh.mode(), IpvlanMode::kL3);  // ipvlan_port_create
}

// T-IV-17: flags with unknown bits, private|vepa together, and mode >= 3 are EINVAL
// (ipvlan_nl_validate), at add and at change, and change nothing.
TEST(Ipvlan, T_IV_17_InvalidFlagsAndModes) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2, kIpvlanPrivate));
  for (const std::uint16_t bad :
       {std::uint16_t{3}, std::uint16_t{4}, std::uint16_t{0x8000}, std::uint16_t{0x0101}}) {
    const auto r = l.port.add_upper(7, std::nullopt, words(IpvlanMode::kL3, bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
    const auto st = l.port.changelink(l.index("A"), words(IpvlanMode::kL3, bad));
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, EINVAL);
  }
  const auto mode3 = static_cast<IpvlanMode>(3);
  auto r = l.port.add_upper(7, std::nullopt, change(mode3, std::nullopt));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  auto st = l.port.changelink(l.index("A"), change(mode3, std::nullopt));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EINVAL);
  EXPECT_EQ(l.port.uppers().size(), 1u);
  EXPECT_EQ(l.port.mode(), IpvlanMode::kL2);
  EXPECT_EQ(l.port.flags(), kIpvlanPrivate);
}

// T-IV-18: a slave's MAC is the master's whatever was asked; it cannot be set (no
// ndo_set_mac_address: EOPNOTSUPP); it follows the master's MAC (NETDEV_CHANGEADDR), up or down.
TEST(Ipvlan, T_IV_18_MacRules) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2), {"10.0.0.1"});
  EXPECT_EQ(l.upper("A").mac, kLowerMac);
  const auto r = l.port.set_address(l.index("A"), *Mac::parse("02:00:00:00:00:01"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EOPNOTSUPP);
  EXPECT_EQ(l.upper("A").mac, kLowerMac);
  l.add("D", words(IpvlanMode::kL2), {}, false);
  EXPECT_EQ(l.upper("D").mac, kLowerMac);
  const Mac m3 = *Mac::parse("02:00:00:00:00:03");
  l.port.set_lower(lower(1500, m3));
  EXPECT_EQ(l.upper("A").mac, m3);
  EXPECT_EQ(l.upper("D").mac, m3);
  // Reflection is now recognised by the new MAC.
  EXPECT_EQ(l.receivers(l.rx(udp4(Mac::broadcast(), m3, "10.0.0.1", "10.0.0.255"))), Names{});
  EXPECT_EQ(l.receivers(l.rx(udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255"))),
            Names{"A"});
}

// T-IV-18: setting the MAC the slave already has is refused too: dev_set_mac_address()
// (netif_set_mac_address) returns EOPNOTSUPP when the driver has no ndo_set_mac_address,
// before comparing addresses, and do_setlink() always calls it for IFLA_ADDRESS.
TEST(Ipvlan, T_IV_18_SameMacAlsoRefused) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2));
  const auto r = l.port.set_address(l.index("A"), kLowerMac);
  // The kernel answers EOPNOTSUPP for `ip link set A address <eth0's MAC>` as for any other
  // address (no ndo_set_mac_address).
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EOPNOTSUPP);
}

// T-IV-19: MTU 68..65535 even above the master's; a master MTU change sets every slave's MTU,
// up or down, smaller or larger. Other lower changes leave the slaves' MTUs alone.
TEST(Ipvlan, T_IV_19_MtuRules) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2));
  l.add("B", words(IpvlanMode::kL2));
  l.add("C", words(IpvlanMode::kL2), {}, false);
  EXPECT_EQ(l.upper("A").mtu, 1500u);
  ASSERT_TRUE(l.port.set_mtu(l.index("A"), 9000));
  ASSERT_TRUE(l.port.set_mtu(l.index("B"), 1300));
  EXPECT_EQ(l.upper("A").mtu, 9000u);
  EXPECT_EQ(l.upper("B").mtu, 1300u);
  EXPECT_EQ(l.port.set_mtu(l.index("A"), 65536).error().code, EINVAL);
  EXPECT_EQ(l.port.set_mtu(l.index("A"), 67).error().code, EINVAL);
  EXPECT_EQ(l.upper("A").mtu, 9000u);
  EXPECT_TRUE(l.port.set_mtu(l.index("C"), 68));
  EXPECT_TRUE(l.port.set_mtu(l.index("C"), 65535));
  auto carrier_off = lower(1500);
  carrier_off.carrier = false;
  l.port.set_lower(carrier_off);
  EXPECT_EQ(l.upper("A").mtu, 9000u);
  l.port.set_lower(lower(1400));
  EXPECT_EQ(l.upper("A").mtu, 1400u);
  EXPECT_EQ(l.upper("B").mtu, 1400u);
  EXPECT_EQ(l.upper("C").mtu, 1400u);
  l.port.set_lower(lower(1500));
  EXPECT_EQ(l.upper("A").mtu, 1500u);
  EXPECT_EQ(l.upper("B").mtu, 1500u);
  EXPECT_EQ(l.upper("C").mtu, 1500u);
  // At creation: none = the master's; given = 68..65535, above the master's too.
  auto r = l.port.add_upper(50, 9000, words(IpvlanMode::kL2));
  ASSERT_TRUE(r);
  EXPECT_EQ(l.port.uppers()[*r].mtu, 9000u);
  EXPECT_EQ(l.port.add_upper(51, 65536, words(IpvlanMode::kL2)).error().code, EINVAL);
  EXPECT_EQ(l.port.add_upper(52, 67, words(IpvlanMode::kL2)).error().code, EINVAL);
}

// T-IV-23: every slave gets a distinct dev_id, allocated round robin from 1 (ipvlan_link_new:
// ida from dev_id_start, which then moves past the id taken).
TEST(Ipvlan, T_IV_23_DistinctDevIds) {
  Lab l;
  l.add("A", words(IpvlanMode::kL2));
  l.add("B", words(IpvlanMode::kL2));
  l.add("C", words(IpvlanMode::kL2));
  EXPECT_EQ(l.upper("A").dev_id, 1);
  EXPECT_EQ(l.upper("B").dev_id, 2);
  EXPECT_EQ(l.upper("C").dev_id, 3);
  l.port.remove_upper(l.index("B"));
  l.ids.erase("B");
  l.add("D", words(IpvlanMode::kL2));
  EXPECT_EQ(l.upper("D").dev_id, 4);  // not B's freed 2
}

// T-IV-23: after 0xFFFD the start wraps to 1, and ids still in use are skipped.
TEST(Ipvlan, T_IV_23_DevIdWrapsAndSkipsUsed) {
  IpvlanPort port{lower()};
  const auto keep = port.add_upper(1, std::nullopt, words(IpvlanMode::kL2));
  ASSERT_TRUE(keep);
  EXPECT_EQ(port.uppers()[*keep].dev_id, 1);
  for (std::uint32_t want = 2; want <= 0xFFFD; ++want) {
    const auto r = port.add_upper(want, std::nullopt, words(IpvlanMode::kL2));
    ASSERT_TRUE(r);
    ASSERT_EQ(port.uppers()[*r].dev_id, want);
    port.remove_upper(*r);
  }
  const auto r = port.add_upper(2, std::nullopt, words(IpvlanMode::kL2));
  ASSERT_TRUE(r);
  EXPECT_EQ(port.uppers()[*r].dev_id, 2);
}

// ---- datapath details --------------------------------------------------------------------

// §3.3 (ipvlan_rcv_frame -> dev_forward_skb -> is_skb_forwardable): a local copy longer than
// the receiver's MTU + 14 + 4 is dropped unless GSO; broadcast copies too, per receiver.
TEST(Ipvlan, Sec3_3_LocalDeliveryRespectsReceiverMtu) {
  for (const auto m : {IpvlanMode::kL2, IpvlanMode::kL3}) {
    auto l = topo(m);
    ASSERT_TRUE(l.port.set_mtu(l.index("B"), 1000));
    const std::size_t fits = 1000 + 18 - (14 + 20 + 8);  // UDP payload of a 1018-byte frame
    auto d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2", fits));
    EXPECT_EQ(l.receivers(d), Names{"B"});
    d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2", fits + 1));
    EXPECT_EQ(l.receivers(d), Names{});
    EXPECT_EQ(l.dropped(d, DropReason::kTooBig), Names{"B"});
    EXPECT_FALSE(d.to_wire);
    d = l.tx("A", udp4(kLowerMac, kLowerMac, "10.0.0.1", "10.0.0.2", fits + 1), true);
    EXPECT_EQ(l.receivers(d), Names{"B"});
  }
  auto l = topo(IpvlanMode::kL2);
  ASSERT_TRUE(l.port.set_mtu(l.index("B"), 1000));
  const auto d = l.tx("A", udp4(Mac::broadcast(), kLowerMac, "10.0.0.1", "10.0.0.255", 1000));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  EXPECT_EQ(l.dropped(d, DropReason::kTooBig), Names{"B"});
  EXPECT_TRUE(d.to_wire);
}

// §3.5: frames from the master are handed over without an MTU check (RX_HANDLER_ANOTHER /
// netif_rx).
TEST(Ipvlan, Sec3_5_ReceiveHasNoMtuCheck) {
  auto l = topo(IpvlanMode::kL2);
  ASSERT_TRUE(l.port.set_mtu(l.index("A"), 1000));
  auto d = l.rx(udp4(kLowerMac, kOutside, kX, "10.0.0.1", 1400));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  d = l.rx(udp4(Mac::broadcast(), kOutside, kX, "10.0.0.255", 1400));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
}

// Runts cannot be switched.
TEST(Ipvlan, RuntsAreMalformed) {
  auto l = topo(IpvlanMode::kL2);
  const Bytes runt(13, 0);
  EXPECT_EQ(l.rx(runt).drop, DropReason::kMalformed);
  EXPECT_EQ(l.tx("A", runt).drop, DropReason::kMalformed);
  auto l3 = topo(IpvlanMode::kL3);
  EXPECT_EQ(l3.tx("A", runt).drop, DropReason::kMalformed);
}

// ---- DHCP (T-IV-22) ----------------------------------------------------------------------

const Bytes kClientA{0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
const Bytes kClientB{0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
constexpr std::uint32_t kXidA = 0xa1a2a3a4;

DhcpTable learned(const Lab& l, const std::string& who, std::uint32_t xid, const Bytes& cid) {
  DhcpTable t;
  const auto req = parse_dhcp(FrameView{dhcp_request(kLowerMac, xid, cid)});
  EXPECT_TRUE(req);
  if (req) {
    t.learn(*req, l.ids.at(who));
  }
  return t;
}

// T-IV-22 (kernel): a broadcast reply reaches every UP slave and the master's stack; a unicast
// reply to eth0's MAC for an address no slave owns reaches the master's stack only. The same
// without a table, with an empty table, and with a table that has no matching request.
TEST(Ipvlan, T_IV_22_L2DhcpWithoutTableEntryIsKernelBehaviour) {
  auto l = topo(IpvlanMode::kL2);
  const DhcpTable empty;
  const auto other = learned(l, "A", 0x0bad0bad, kClientA);
  const auto bc = dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA, kClientA);
  const auto uc = dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.50", kXidA, kClientA);
  for (const DhcpTable* t : {static_cast<const DhcpTable*>(nullptr), &empty, &other}) {
    auto d = l.rx(bc, t);
    EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
    EXPECT_TRUE(d.to_lower_host);
    d = l.rx(uc, t);
    EXPECT_EQ(l.receivers(d), Names{});
    EXPECT_TRUE(d.to_lower_host);
  }
  // The client's request itself is an ordinary broadcast.
  const auto d = l.tx("A", dhcp_request(kLowerMac, kXidA, kClientA));
  EXPECT_EQ(l.receivers(d), (Names{"B", "C"}));
  EXPECT_TRUE(d.to_wire);
}

// T-IV-22 (subnic): in l2 a reply answering a learned request goes to the requester only,
// broadcast or unicast, even when another slave owns its destination address.
TEST(Ipvlan, T_IV_22_L2DhcpReplyGoesToRequester) {
  auto l = topo(IpvlanMode::kL2);
  const auto t = learned(l, "A", kXidA, kClientA);
  for (const auto& f :
       {dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA, kClientA),
        dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.50", kXidA, kClientA),
        dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.2", kXidA, kClientA),
        dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA),  // no option 61
        dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.50", kXidA)}) {
    const auto d = l.rx(f, &t);
    EXPECT_EQ(l.receivers(d), Names{"A"});
    EXPECT_FALSE(d.to_wire);
  }
  // Same xid, another client id: not A's.
  auto d = l.rx(dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA, kClientB), &t);
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  // A request from another client on the wire with the same xid is not a reply: flooded.
  d = l.rx(dhcp_request(kOutside, kXidA, kClientA), &t);
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-IV-22 (subnic): a table entry for a DOWN or deleted requester changes nothing.
TEST(Ipvlan, T_IV_22_DhcpRequesterGoneIsKernelBehaviour) {
  auto l = topo(IpvlanMode::kL2);
  auto t = learned(l, "A", kXidA, kClientA);
  const auto bc = dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA, kClientA);
  const auto uc = dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.2", kXidA, kClientA);
  l.port.stop(l.index("A"));
  EXPECT_EQ(l.receivers(l.rx(bc, &t)), (Names{"B", "C"}));
  EXPECT_EQ(l.receivers(l.rx(uc, &t)), Names{"B"});
  l.port.remove_upper(l.index("A"));
  l.ids.erase("A");
  EXPECT_EQ(l.receivers(l.rx(bc, &t)), (Names{"B", "C"}));
  EXPECT_EQ(l.receivers(l.rx(uc, &t)), Names{"B"});
}

// T-IV-22: in l3/l3s no slave receives a DHCP reply for an address it does not own, table or
// not: no lease ever.
TEST(Ipvlan, T_IV_22_L3NoLeaseEver) {
  for (const auto m : {IpvlanMode::kL3, IpvlanMode::kL3S}) {
    auto l = topo(m);
    const auto t = learned(l, "A", kXidA, kClientA);
    for (const auto& f :
         {dhcp_reply(Mac::broadcast(), kOutside, kX, "255.255.255.255", kXidA, kClientA),
          dhcp_reply(kLowerMac, kOutside, kX, "10.0.0.50", kXidA, kClientA)}) {
      const auto d = l.rx(f, &t);
      EXPECT_EQ(l.receivers(d), Names{});
      EXPECT_TRUE(d.to_lower_host);
    }
    // A slave's DHCP request cannot leave either.
    EXPECT_EQ(l.tx("A", dhcp_request(kLowerMac, kXidA, kClientA)).drop, DropReason::kNotRoutable);
  }
}

// ---- l3_key (ipvlan_get_L3_hdr + ipvlan_addr_lookup) -------------------------------------

std::optional<IpAddr> key(const Bytes& f, bool use_dest) {
  const FrameView v{f};
  const auto h = v.parse();
  if (!h) {
    ADD_FAILURE() << "frame does not parse";
    return std::nullopt;
  }
  return l3_key(v, *h, use_dest);
}

TEST(IpvlanL3Key, Ipv4DestinationAndSource) {
  const auto f = udp4(kLowerMac, kOutside, "10.0.0.9", "10.0.0.1");
  EXPECT_EQ(key(f, true), ip("10.0.0.1"));
  EXPECT_EQ(key(f, false), ip("10.0.0.9"));
  EXPECT_TRUE(key(f, true)->v4());
  // With IP options (ihl 6) the addresses stay where they are.
  Ipv4Opts o;
  o.ihl = 6;
  EXPECT_EQ(
      key(eth(kLowerMac, kOutside, kIpv4Type, ipv4("10.0.0.9", "10.0.0.1", Bytes(8, 0), o)), true),
      ip("10.0.0.1"));
  // Ethernet padding after the packet is fine (tot_len < frame).
  auto padded = eth(kLowerMac, kOutside, kIpv4Type, ipv4("10.0.0.9", "10.0.0.1", Bytes{}));
  padded.resize(60, 0);
  EXPECT_EQ(key(padded, true), ip("10.0.0.1"));
}

TEST(IpvlanL3Key, Ipv4MalformedHasNone) {
  const auto with = [](const Ipv4Opts& o, std::size_t payload = 8) {
    return eth(kLowerMac, kOutside, kIpv4Type, ipv4("10.0.0.9", "10.0.0.1", Bytes(payload, 0), o));
  };
  Ipv4Opts ihl4;
  ihl4.ihl = 4;
  EXPECT_EQ(key(with(ihl4), true), std::nullopt);
  Ipv4Opts version6;
  version6.version = 6;
  EXPECT_EQ(key(with(version6), true), std::nullopt);
  Ipv4Opts beyond;
  beyond.tot_len = 20 + 8 + 1;  // one byte more than the frame holds
  EXPECT_EQ(key(with(beyond), true), std::nullopt);
  Ipv4Opts exact;
  exact.tot_len = 20 + 8;
  EXPECT_EQ(key(with(exact), true), ip("10.0.0.1"));
  Ipv4Opts short_total;
  short_total.ihl = 6;
  short_total.tot_len = 20;  // shorter than the header (24)
  EXPECT_EQ(key(with(short_total), true), std::nullopt);
  // Fewer than 20 bytes of header.
  auto cut = udp4(kLowerMac, kOutside, "10.0.0.9", "10.0.0.1");
  cut.resize(14 + 19);
  EXPECT_EQ(key(cut, true), std::nullopt);
  EXPECT_EQ(key(cut, false), std::nullopt);
}

TEST(IpvlanL3Key, ArpTargetAndSender) {
  const auto f = arp_request(Mac::broadcast(), kOutside, "10.0.0.9", "10.0.0.1");
  EXPECT_EQ(key(f, true), ip("10.0.0.1"));
  EXPECT_EQ(key(f, false), ip("10.0.0.9"));
  auto short_arp = f;
  short_arp.resize(14 + 27);  // arp_hdr_len = 28
  EXPECT_EQ(key(short_arp, true), std::nullopt);
  EXPECT_EQ(key(short_arp, false), std::nullopt);
}

TEST(IpvlanL3Key, Ipv6DestinationAndSource) {
  const auto f = udp6(kLowerMac, kOutside, "fd00::9", "fd00::1");
  EXPECT_EQ(key(f, true), ip("fd00::1"));
  EXPECT_EQ(key(f, false), ip("fd00::9"));
  EXPECT_FALSE(key(f, true)->v4());
  auto cut = f;
  cut.resize(14 + 39);
  EXPECT_EQ(key(cut, true), std::nullopt);
  const auto v4in6 =
      eth(kLowerMac, kOutside, kIpv6Type, ipv6("fd00::9", "fd00::1", kUdpProto, Bytes(8, 0), 4));
  EXPECT_EQ(key(v4in6, true), std::nullopt);
  // UDP from :: is keyed normally (only ICMPv6 from :: is special).
  const auto from_any = udp6(kLowerMac, kOutside, "::", "fd00::1");
  EXPECT_EQ(key(from_any, true), ip("fd00::1"));
  EXPECT_EQ(key(from_any, false), ip("::"));
}

TEST(IpvlanL3Key, Ipv6DadNsKeyedByTarget) {
  const auto ns = dad_ns(kSolicitedNode, kOutside, "fd00::5");
  EXPECT_EQ(key(ns, true), ip("fd00::5"));
  EXPECT_EQ(key(ns, false), ip("fd00::5"));
  auto cut = ns;
  cut.resize(cut.size() - 1);  // the target is one byte short
  EXPECT_EQ(key(cut, true), std::nullopt);
  // Other ICMPv6 from :: (an MLD report, an echo request) has no key at all.
  for (const std::uint8_t type : {std::uint8_t{143}, std::uint8_t{128}, std::uint8_t{133}}) {
    const auto f =
        eth(kLowerMac, kOutside, kIpv6Type, ipv6("::", "fd00::1", kIcmpv6Proto, icmpv6(type, 24)));
    EXPECT_EQ(key(f, true), std::nullopt) << int{type};
    EXPECT_EQ(key(f, false), std::nullopt) << int{type};
  }
  // An NS from a real source is keyed by its addresses, not its target.
  const auto ns_from = eth(kLowerMac, kOutside, kIpv6Type,
                           ipv6("fd00::9", "fd00::1", kIcmpv6Proto, icmpv6_ns("fd00::5")));
  EXPECT_EQ(key(ns_from, true), ip("fd00::1"));
  EXPECT_EQ(key(ns_from, false), ip("fd00::9"));
}

TEST(IpvlanL3Key, VlanTaggedAndOtherTypesHaveNone) {
  const auto tagged =
      eth(kLowerMac, kOutside, kIpv4Type, ipv4("10.0.0.9", "10.0.0.1", Bytes(8, 0)), 10);
  EXPECT_EQ(key(tagged, true), std::nullopt);
  EXPECT_EQ(key(tagged, false), std::nullopt);
  EXPECT_EQ(key(raw(kLowerMac, kOutside, kLocalExperimental), true), std::nullopt);
  EXPECT_EQ(key(raw(kLowerMac, kOutside, kPauseType), true), std::nullopt);
  // And so a tagged frame for A's address is not A's.
  auto l = topo(IpvlanMode::kL3);
  EXPECT_EQ(l.tx("B", tagged).drop, DropReason::kNotRoutable);
}

}  // namespace
