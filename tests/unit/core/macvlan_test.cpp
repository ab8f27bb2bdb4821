// macvlan port decisions and configuration rules, one test per semantics.md case ID (§10.1).
//
// Each test builds the case's port, feeds frames the way the lab would (transmitted by an
// upper, or received on the lower — from an outside host, or reflected by a hairpin switch),
// and checks who receives a copy. "Reflected" frames are fed to receive() with the sender's
// source MAC, exactly what the external switch sends back.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/macvlan.hpp"

namespace {

using namespace subnic::core;

Mac mac(std::uint8_t last) {
  return Mac{{0x02, 0x00, 0x00, 0x00, 0x00, last}};
}
const Mac kLowerMac = mac(0xfe);
const Mac kOutside = mac(0x64);  // X, behind the external switch
const Mac kGroup = *Mac::parse("01:00:5e:01:01:01");

std::vector<std::uint8_t> frame(const Mac& dst, const Mac& src, std::uint16_t type = 0x0800,
                                std::size_t len = 60) {
  std::vector<std::uint8_t> f(len, 0);
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 6);
  f[12] = static_cast<std::uint8_t>(type >> 8);
  f[13] = static_cast<std::uint8_t>(type);
  return f;
}

LowerState lower(std::uint32_t mtu = 1500) {
  LowerState l;
  l.mac = kLowerMac;
  l.up = true;
  l.carrier = true;
  l.mtu = mtu;
  return l;
}

MacvlanChange mode(MacvlanMode m) {
  MacvlanChange c;
  c.mode = m;
  return c;
}

// A port with named uppers, each UP unless asked otherwise.
struct Lab {
  MacvlanPort port{lower()};
  std::map<std::string, std::uint32_t> ids;
  std::map<std::string, Mac> macs;
  std::uint8_t next = 1;

  void add(const std::string& name, MacvlanMode m, bool up = true) {
    const Mac a = mac(next++);
    auto r = port.add_upper(next, a, a, std::nullopt, mode(m));
    ASSERT_TRUE(r) << r.error().message;
    ids[name] = static_cast<std::uint32_t>(next);
    macs[name] = a;
    if (up) {
      ASSERT_TRUE(port.open(index(name)));
    }
  }
  std::uint32_t index(const std::string& name) const { return *port.find(ids.at(name)); }
  std::string name_of(std::uint32_t i) const {
    for (const auto& [n, id] : ids) {
      if (*port.find(id) == i) {
        return n;
      }
    }
    return "?";
  }
  // Names of the uppers that receive a copy (dropped copies are excluded), sorted.
  std::vector<std::string> receivers(const Decision& d) const {
    std::vector<std::string> r;
    for (const auto& del : d.deliveries) {
      if (del.drop == DropReason::kNone) {
        r.push_back(name_of(del.upper));
      }
    }
    std::sort(r.begin(), r.end());
    return r;
  }
  Decision rx(const std::vector<std::uint8_t>& f) const {
    Decision d;
    BurstState b;
    port.receive(FrameView{f}, false, b, d);
    return d;
  }
  Decision tx(const std::string& from, const std::vector<std::uint8_t>& f) const {
    Decision d;
    port.transmit(index(from), FrameView{f}, false, d);
    return d;
  }
};

using Names = std::vector<std::string>;

// T-MV-01: bridge <-> bridge stays local; a bridge upper's broadcast reaches only other bridge
// uppers locally, then the wire.
TEST(Macvlan, T_MV_01_BridgeToBridgeIsLocal) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  auto d = l.tx("A", frame(l.macs["B"], l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_FALSE(d.to_wire);
  EXPECT_FALSE(d.to_lower_host);
  d = l.tx("A", frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  EXPECT_TRUE(d.to_wire);
}

// T-MV-03: the reflected broadcast of a bridge upper goes to vepa uppers only.
TEST(Macvlan, T_MV_03_ReflectedBridgeBroadcastReachesVepaOnly) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  const auto d = l.rx(frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"C"});
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-04: vepa sends everything to the wire, nothing local.
TEST(Macvlan, T_MV_04_VepaAlwaysToWire) {
  Lab l;
  l.add("A", MacvlanMode::kVepa);
  l.add("B", MacvlanMode::kVepa);
  for (const Mac& dst : {l.macs["B"], Mac::broadcast()}) {
    const auto d = l.tx("A", frame(dst, l.macs["A"]));
    EXPECT_TRUE(d.to_wire);
    EXPECT_TRUE(d.deliveries.empty());
  }
}

// T-MV-05: with hairpin, reflected vepa unicast reaches its destination; the reflected
// broadcast goes to vepa and bridge uppers except the sender, and to the lower host.
TEST(Macvlan, T_MV_05_ReflectedVepaTraffic) {
  Lab l;
  l.add("A", MacvlanMode::kVepa);
  l.add("B", MacvlanMode::kVepa);
  l.add("E", MacvlanMode::kBridge);
  auto d = l.rx(frame(l.macs["B"], l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"B"});
  d = l.rx(frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_EQ(l.receivers(d), (Names{"B", "E"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-06: private uppers send everything to the wire.
TEST(Macvlan, T_MV_06_PrivateToWire) {
  Lab l;
  l.add("A", MacvlanMode::kPrivate);
  l.add("B", MacvlanMode::kPrivate);
  for (const Mac& dst : {l.macs["B"], Mac::broadcast()}) {
    const auto d = l.tx("A", frame(dst, l.macs["A"]));
    EXPECT_TRUE(d.to_wire);
    EXPECT_TRUE(d.deliveries.empty());
  }
}

// T-MV-07: a private upper's reflected broadcast returns to it alone, and is consumed.
TEST(Macvlan, T_MV_07_PrivateEcho) {
  Lab l;
  l.add("A", MacvlanMode::kPrivate);
  l.add("B", MacvlanMode::kPrivate);
  l.add("C", MacvlanMode::kVepa);
  l.add("E", MacvlanMode::kBridge);
  const auto d = l.rx(frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  EXPECT_FALSE(d.to_lower_host);
  EXPECT_TRUE(d.consumed);
}

// T-MV-08: the host's reflected ARP request (source = lower MAC) reaches a private upper; the
// private upper's own request only comes back to itself.
TEST(Macvlan, T_MV_08_PrivateHostAsymmetry) {
  Lab l;
  l.add("D", MacvlanMode::kPrivate);
  auto d = l.rx(frame(Mac::broadcast(), l.macs["D"], 0x0806));
  EXPECT_EQ(l.receivers(d), Names{"D"});
  EXPECT_FALSE(d.to_lower_host);
  d = l.rx(frame(Mac::broadcast(), kLowerMac, 0x0806));
  EXPECT_EQ(l.receivers(d), Names{"D"});
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-09: private does not filter reflected unicast.
TEST(Macvlan, T_MV_09_PrivateDoesNotFilterUnicast) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("D", MacvlanMode::kPrivate);
  auto d = l.tx("D", frame(l.macs["A"], l.macs["D"]));
  EXPECT_TRUE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  d = l.rx(frame(l.macs["A"], l.macs["D"]));  // what the hairpin switch sends back
  EXPECT_EQ(l.receivers(d), Names{"A"});
}

// T-MV-10: a bridge sender only short-cuts to bridge destinations.
TEST(Macvlan, T_MV_10_BridgeToVepaGoesToWire) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  auto d = l.tx("A", frame(l.macs["C"], l.macs["A"]));
  EXPECT_TRUE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  d = l.tx("A", frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_TRUE(d.deliveries.empty());
  d = l.tx("C", frame(Mac::broadcast(), l.macs["C"]));
  EXPECT_TRUE(d.deliveries.empty());
}

// T-MV-11: a vepa upper's reflected broadcast reaches the bridge uppers.
TEST(Macvlan, T_MV_11_ReflectedVepaBroadcastReachesBridge) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  const auto d = l.rx(frame(Mac::broadcast(), l.macs["C"]));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-12: private isolation in a mixed port.
TEST(Macvlan, T_MV_12_PrivateIsolationMixed) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  const auto bc = Mac::broadcast();
  EXPECT_EQ(l.receivers(l.tx("A", frame(bc, l.macs["A"]))), Names{});
  EXPECT_EQ(l.receivers(l.rx(frame(bc, l.macs["A"]))), Names{"C"});
  EXPECT_EQ(l.receivers(l.rx(frame(bc, l.macs["C"]))), Names{"A"});
  EXPECT_EQ(l.receivers(l.rx(frame(bc, l.macs["D"]))), Names{"D"});
  EXPECT_EQ(l.receivers(l.rx(frame(bc, kOutside))), (Names{"A", "C", "D"}));
}

// T-MV-13: an outside broadcast reaches every UP non-source upper and the lower host.
TEST(Macvlan, T_MV_13_OutsideBroadcastFanOut) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  l.add("S", MacvlanMode::kSource);
  l.add("F", MacvlanMode::kVepa, /*up=*/false);
  const auto d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C", "D"}));
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-14: outside unicast reaches its upper only, not the lower host.
TEST(Macvlan, T_MV_14_OutsideUnicast) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  for (const char* n : {"A", "C", "D"}) {
    const auto d = l.rx(frame(l.macs[n], kOutside));
    EXPECT_EQ(l.receivers(d), Names{n});
    EXPECT_FALSE(d.to_lower_host);
  }
  const auto d = l.rx(frame(kLowerMac, kOutside));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-15: frames from an upper to the lower's MAC go to the wire, never to the host stack.
TEST(Macvlan, T_MV_15_UpperToLowerHostGoesToWire) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  for (const char* n : {"A", "C", "D"}) {
    const auto d = l.tx(n, frame(kLowerMac, l.macs[n]));
    EXPECT_TRUE(d.to_wire);
    EXPECT_FALSE(d.to_lower_host);
    EXPECT_TRUE(d.deliveries.empty());
  }
}

// T-MV-16: with hairpin, the reflected frame to the lower's MAC passes to the lower host.
TEST(Macvlan, T_MV_16_ReflectedToLowerHost) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  const auto d = l.rx(frame(kLowerMac, l.macs["A"]));
  EXPECT_TRUE(d.to_lower_host);
  EXPECT_TRUE(d.deliveries.empty());
}

// T-MV-17: a DOWN upper receives nothing; its MAC's frames pass to the lower host.
TEST(Macvlan, T_MV_17_DownUpper) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.port.stop(l.index("B"));
  auto d = l.rx(frame(l.macs["B"], kOutside));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_EQ(l.receivers(d), Names{"A"});
  d = l.tx("A", frame(l.macs["B"], l.macs["A"]));
  EXPECT_TRUE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
}

// T-MV-18: a duplicate MAC is accepted at add and refused at up.
TEST(Macvlan, T_MV_18_DuplicateMacDetectedAtUp) {
  MacvlanPort port{lower()};
  const Mac ma = mac(1);
  const auto a = port.add_upper(1, ma, ma, std::nullopt, {});
  ASSERT_TRUE(a);
  ASSERT_TRUE(port.open(*a));
  const auto b = port.add_upper(2, ma, ma, std::nullopt, {});
  ASSERT_TRUE(b);
  auto st = port.open(*b);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EADDRINUSE);
  port.stop(*a);
  EXPECT_TRUE(port.open(*b));
  st = port.open(*a);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EADDRINUSE);
}

// T-MV-19: an upper with the lower's MAC cannot come up.
TEST(Macvlan, T_MV_19_LowerMacAtUp) {
  MacvlanPort port{lower()};
  const auto u = port.add_upper(1, kLowerMac, kLowerMac, std::nullopt, {});
  ASSERT_TRUE(u);
  const auto st = port.open(*u);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EADDRINUSE);
}

// T-MV-20: address change rules.
TEST(Macvlan, T_MV_20_AddressChangeRules) {
  MacvlanPort port{lower()};
  const auto a = *port.add_upper(1, mac(1), mac(1), std::nullopt, {});
  ASSERT_TRUE(port.open(a));
  const auto m3 = *port.add_upper(3, mac(3), mac(3), std::nullopt, {});
  const auto d1 = *port.add_upper(4, mac(4), mac(4), std::nullopt, {});
  EXPECT_EQ(port.set_address(m3, mac(1)).error().code, EADDRINUSE);
  EXPECT_EQ(port.set_address(m3, kLowerMac).error().code, EADDRINUSE);
  EXPECT_EQ(port.set_address(m3, *Mac::parse("01:00:5e:00:00:01")).error().code, EADDRNOTAVAIL);
  EXPECT_EQ(port.set_address(m3, Mac{}).error().code, EADDRNOTAVAIL);
  EXPECT_TRUE(port.set_address(m3, mac(9)));
  EXPECT_TRUE(port.set_address(d1, mac(9)));  // both DOWN: accepted
  EXPECT_TRUE(port.open(m3));
  EXPECT_EQ(port.open(d1).error().code, EADDRINUSE);
  EXPECT_TRUE(port.set_address(m3, mac(9)));  // same MAC: no-op
}

// T-MV-21: passthru is exclusive.
TEST(Macvlan, T_MV_21_PassthruIsExclusive) {
  MacvlanPort l1{lower()};
  ASSERT_TRUE(l1.add_upper(1, std::nullopt, mac(1), std::nullopt, mode(MacvlanMode::kPassthru)));
  EXPECT_EQ(l1.add_upper(2, std::nullopt, mac(2), std::nullopt, {}).error().code, EINVAL);
  MacvlanPort eth0{lower()};
  ASSERT_TRUE(eth0.add_upper(1, std::nullopt, mac(1), std::nullopt, {}));
  EXPECT_EQ(eth0.add_upper(2, std::nullopt, mac(2), std::nullopt, mode(MacvlanMode::kPassthru))
                .error()
                .code,
            EINVAL);
}

// T-MV-22: passthru takes the lower's MAC, makes it promiscuous unless nopromisc, and a MAC
// change goes to the lower.
TEST(Macvlan, T_MV_22_PassthruMacAndPromiscuity) {
  MacvlanPort port{lower()};
  const auto p =
      *port.add_upper(1, std::nullopt, mac(1), std::nullopt, mode(MacvlanMode::kPassthru));
  EXPECT_EQ(port.uppers()[p].mac, kLowerMac);
  EXPECT_EQ(port.lower_filter().promisc, 0);
  ASSERT_TRUE(port.open(p));  // no busy check although it has the lower's MAC
  EXPECT_EQ(port.lower_filter().promisc, 1);
  EXPECT_TRUE(port.lower_filter().unicast.empty());
  const auto r = port.set_address(p, mac(2));
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);  // the caller must change the lower
  auto l = lower();
  l.mac = mac(2);
  port.set_lower(l);
  EXPECT_EQ(port.uppers()[p].mac, mac(2));
  MacvlanChange c = mode(MacvlanMode::kPassthru);
  c.flags = kMacvlanNoPromisc;
  ASSERT_TRUE(port.changelink(p, c));
  EXPECT_EQ(port.lower_filter().promisc, 0);
  EXPECT_EQ(port.saved_lower_mac(), kLowerMac);  // restored when P goes
}

// T-MV-23: passthru receives every unicast, marked for this host.
TEST(Macvlan, T_MV_23_PassthruReceivesAllUnicast) {
  MacvlanPort port{lower()};
  const auto p =
      *port.add_upper(1, std::nullopt, mac(1), std::nullopt, mode(MacvlanMode::kPassthru));
  ASSERT_TRUE(port.open(p));
  Decision d;
  BurstState b;
  const auto own = frame(kLowerMac, kOutside);
  port.receive(FrameView{own}, false, b, d);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_FALSE(d.deliveries[0].rewrite_dst);
  EXPECT_TRUE(d.consumed);
  d.clear();
  const auto foreign = frame(*Mac::parse("02:de:ad:be:ef:01"), kOutside);
  port.receive(FrameView{foreign}, false, b, d);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_TRUE(d.deliveries[0].rewrite_dst);
  EXPECT_FALSE(d.to_lower_host);
  // The lower host's reflected broadcast is the upper's "own" frame: back to it only.
  d.clear();
  const auto bc = frame(Mac::broadcast(), kLowerMac);
  port.receive(FrameView{bc}, false, b, d);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_FALSE(d.to_lower_host);
}

// T-MV-24: passthru can be neither entered nor left at run time.
TEST(Macvlan, T_MV_24_PassthruModeChangeRefused) {
  MacvlanPort lp{lower()};
  const auto p = *lp.add_upper(1, std::nullopt, mac(1), std::nullopt, mode(MacvlanMode::kPassthru));
  EXPECT_EQ(lp.changelink(p, mode(MacvlanMode::kBridge)).error().code, EINVAL);
  MacvlanPort port{lower()};
  const auto a = *port.add_upper(1, std::nullopt, mac(1), std::nullopt, {});
  EXPECT_EQ(port.changelink(a, mode(MacvlanMode::kPassthru)).error().code, EINVAL);
}

// T-MV-25: a mode change takes effect at once.
TEST(Macvlan, T_MV_25_RuntimeModeChange) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  EXPECT_TRUE(l.tx("C", frame(l.macs["A"], l.macs["C"])).to_wire);
  ASSERT_TRUE(l.port.changelink(l.index("C"), mode(MacvlanMode::kBridge)));
  const auto d = l.tx("C", frame(l.macs["A"], l.macs["C"]));
  EXPECT_FALSE(d.to_wire);
  EXPECT_EQ(l.receivers(d), Names{"A"});
}

MacvlanChange macaddr(MacaddrOp op, std::vector<Mac> addrs) {
  MacvlanChange c;
  c.macaddr_op = op;
  c.macaddrs = std::move(addrs);
  return c;
}

// T-MV-26: a source-mode upper receives by source MAC.
TEST(Macvlan, T_MV_26_SourceModeBySourceMac) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("D", MacvlanMode::kPrivate);
  l.add("S", MacvlanMode::kSource);
  ASSERT_TRUE(l.port.changelink(l.index("S"), macaddr(MacaddrOp::kAdd, {kOutside})));
  auto d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B", "C", "D", "S"}));
  EXPECT_TRUE(d.to_lower_host);
  d = l.rx(frame(l.macs["A"], kOutside));
  EXPECT_EQ(l.receivers(d), (Names{"A", "S"}));
  EXPECT_FALSE(d.to_lower_host);
  d = l.tx("A", frame(Mac::broadcast(), l.macs["A"]));
  EXPECT_EQ(l.receivers(d), Names{"B"});
}

// T-MV-27: nodst consumes what the source list matched.
TEST(Macvlan, T_MV_27_SourceNodst) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("S", MacvlanMode::kSource);
  MacvlanChange c = macaddr(MacaddrOp::kAdd, {kOutside});
  c.flags = kMacvlanNoDst;
  ASSERT_TRUE(l.port.changelink(l.index("S"), c));
  auto d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_EQ(l.receivers(d), Names{"S"});
  EXPECT_TRUE(d.consumed);
  EXPECT_FALSE(d.to_lower_host);
  d = l.rx(frame(l.macs["A"], kOutside));
  EXPECT_EQ(l.receivers(d), Names{"S"});
  // Frames from other sources are untouched.
  d = l.rx(frame(l.macs["A"], mac(0x77)));
  EXPECT_EQ(l.receivers(d), Names{"A"});
}

// macvlan_forward_source sets `consume` for a nodst entry before macvlan_forward_source_one
// checks IFF_UP: a down nodst upper still takes its sources' frames from everyone else.
TEST(Macvlan, SourceNodstConsumesWhileItsUpperIsDown) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("S", MacvlanMode::kSource);
  MacvlanChange c = macaddr(MacaddrOp::kAdd, {kOutside});
  c.flags = kMacvlanNoDst;
  ASSERT_TRUE(l.port.changelink(l.index("S"), c));
  l.port.stop(l.index("S"));
  auto d = l.rx(frame(l.macs["A"], kOutside));
  EXPECT_TRUE(l.receivers(d).empty());
  EXPECT_TRUE(d.consumed);
  EXPECT_FALSE(d.to_lower_host);
  d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_TRUE(l.receivers(d).empty());
  EXPECT_TRUE(d.consumed);
  // Without nodst a down source upper changes nothing: A and the lower get their frames.
  MacvlanChange clear;
  clear.flags = 0;
  ASSERT_TRUE(l.port.changelink(l.index("S"), clear));
  d = l.rx(frame(l.macs["A"], kOutside));
  EXPECT_EQ(l.receivers(d), Names{"A"});
}

// T-MV-28: source list operations.
TEST(Macvlan, T_MV_28_SourceListOperations) {
  Lab l;
  l.add("V", MacvlanMode::kVepa);
  l.add("S", MacvlanMode::kSource);
  EXPECT_EQ(l.port.changelink(l.index("V"), macaddr(MacaddrOp::kAdd, {mac(0x50)})).error().code,
            EINVAL);
  const auto s = l.index("S");
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kAdd, {mac(0x50)})));
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kAdd, {mac(0x50)})));
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kDel, {mac(0x52)})));
  EXPECT_EQ(l.port.uppers()[s].sources, std::vector<Mac>{mac(0x50)});
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kSet, {mac(0x53), mac(0x54)})));
  EXPECT_EQ(l.port.uppers()[s].sources, (std::vector<Mac>{mac(0x53), mac(0x54)}));
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kFlush, {})));
  EXPECT_TRUE(l.port.uppers()[s].sources.empty());
  ASSERT_TRUE(l.port.changelink(s, macaddr(MacaddrOp::kAdd, {mac(0x55)})));
  ASSERT_TRUE(l.port.changelink(s, mode(MacvlanMode::kVepa)));
  ASSERT_TRUE(l.port.changelink(s, mode(MacvlanMode::kSource)));
  EXPECT_TRUE(l.port.uppers()[s].sources.empty());
  EXPECT_EQ(l.port.changelink(s, macaddr(MacaddrOp::kAdd, {Mac{}})).error().code, EADDRNOTAVAIL);
  // A mode change to source carried in the same request allows the list operation.
  MacvlanChange c = macaddr(MacaddrOp::kAdd, {mac(0x56)});
  c.mode = MacvlanMode::kSource;
  EXPECT_TRUE(l.port.changelink(l.index("V"), c));
}

// T-MV-29: a source-mode upper is no flood target and gets no unicast by its own MAC.
TEST(Macvlan, T_MV_29_SourceIsNotAFloodTarget) {
  Lab l;
  l.add("S", MacvlanMode::kSource);
  l.add("A", MacvlanMode::kVepa);
  EXPECT_EQ(l.receivers(l.rx(frame(Mac::broadcast(), kOutside))), Names{"A"});
  EXPECT_EQ(l.receivers(l.rx(frame(Mac::broadcast(), l.macs["A"]))), Names{});
  const auto d = l.rx(frame(l.macs["S"], kOutside));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(d.to_lower_host);
}

// T-MV-30: the per-upper multicast filter; allmulti opens it.
TEST(Macvlan, T_MV_30_PerUpperMulticastFilter) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kBridge);
  l.port.set_upper_rx(l.index("B"), false, false, {kGroup});
  EXPECT_EQ(l.receivers(l.rx(frame(kGroup, kOutside))), Names{"B"});
  l.port.set_upper_rx(l.index("A"), false, true, {});
  EXPECT_EQ(l.receivers(l.rx(frame(kGroup, kOutside))), (Names{"A", "B"}));
}

// T-MV-31: bcqueuelen 0 everywhere drops queued frames for every upper; the port uses the max.
TEST(Macvlan, T_MV_31_BcQueueLenZeroAndMaxRule) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  MacvlanChange zero;
  zero.bcqueuelen = 0;
  ASSERT_TRUE(l.port.changelink(l.index("A"), zero));
  ASSERT_TRUE(l.port.changelink(l.index("B"), zero));
  EXPECT_EQ(l.port.bc_queue_len_used(), 0u);
  auto d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(d.drop, DropReason::kBcQueueFull);
  EXPECT_TRUE(d.to_lower_host);
  MacvlanChange big;
  big.bcqueuelen = 5000;
  ASSERT_TRUE(l.port.changelink(l.index("B"), big));
  EXPECT_EQ(l.port.bc_queue_len_used(), 5000u);
  d = l.rx(frame(Mac::broadcast(), kOutside));
  EXPECT_EQ(l.receivers(d), (Names{"A", "B"}));
}

// The queue holds at most bc_queue_len_used frames per burst.
TEST(Macvlan, BcQueueBoundsABurst) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  MacvlanChange two;
  two.bcqueuelen = 2;
  ASSERT_TRUE(l.port.changelink(l.index("A"), two));
  BurstState burst;
  const auto f = frame(Mac::broadcast(), kOutside);
  int delivered = 0;
  for (int i = 0; i < 5; ++i) {
    Decision d;
    l.port.receive(FrameView{f}, false, burst, d);
    delivered += static_cast<int>(d.deliveries.size());
  }
  EXPECT_EQ(delivered, 2);
}

// T-MV-32: bclim -1 empties the bc filter: frames go the synchronous way despite queue 0.
TEST(Macvlan, T_MV_32_BclimMinusOneBypassesQueue) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kBridge);
  MacvlanChange zero;
  zero.bcqueuelen = 0;
  for (const char* n : {"A", "B", "C"}) {
    ASSERT_TRUE(l.port.changelink(l.index(n), zero));
  }
  l.port.set_upper_rx(l.index("B"), false, false, {kGroup});
  l.port.set_upper_rx(l.index("C"), false, false, {kGroup});
  MacvlanChange lim;
  lim.bclim = -1;
  ASSERT_TRUE(l.port.changelink(l.index("A"), lim));
  EXPECT_EQ(l.receivers(l.rx(frame(Mac::broadcast(), kOutside))), (Names{"A", "B", "C"}));
  EXPECT_EQ(l.receivers(l.rx(frame(kGroup, kOutside))), (Names{"B", "C"}));
}

// T-MV-33: on a promiscuous lower even a single-subscriber group is queued.
TEST(Macvlan, T_MV_33_PromiscuousLowerQueuesEverything) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  MacvlanChange zero;
  zero.bcqueuelen = 0;
  ASSERT_TRUE(l.port.changelink(l.index("A"), zero));
  ASSERT_TRUE(l.port.changelink(l.index("B"), zero));
  l.port.set_upper_rx(l.index("B"), false, false, {kGroup});
  EXPECT_EQ(l.receivers(l.rx(frame(kGroup, kOutside))), Names{"B"});  // filtered, not queued
  auto lp = lower();
  lp.promisc = true;
  l.port.set_lower(lp);
  const auto d = l.rx(frame(kGroup, kOutside));
  EXPECT_EQ(l.receivers(d), Names{});
  EXPECT_EQ(d.drop, DropReason::kBcQueueFull);
}

// T-MV-34: MTU rules.
TEST(Macvlan, T_MV_34_MtuRules) {
  MacvlanPort port{lower()};
  EXPECT_EQ(port.add_upper(1, std::nullopt, mac(1), 9000, {}).error().code, EINVAL);
  const auto a = *port.add_upper(1, std::nullopt, mac(1), std::nullopt, {});
  EXPECT_EQ(port.uppers()[a].mtu, 1500u);
  EXPECT_EQ(port.set_mtu(a, 1600).error().code, EINVAL);
  EXPECT_EQ(port.set_mtu(a, 67).error().code, EINVAL);
  port.set_lower(lower(1400));
  EXPECT_EQ(port.uppers()[a].mtu, 1400u);
  port.set_lower(lower(1500));
  EXPECT_EQ(port.uppers()[a].mtu, 1400u);
}

// T-MV-35: with the lower down, uppers cannot transmit (bridge-local traffic stops too).
TEST(Macvlan, T_MV_35_LowerDown) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  auto down = lower();
  down.up = false;
  down.carrier = false;
  l.port.set_lower(down);
  const auto d = l.tx("A", frame(l.macs["B"], l.macs["A"]));
  EXPECT_EQ(d.drop, DropReason::kNoCarrier);
  EXPECT_FALSE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
  l.port.set_lower(lower());
  EXPECT_EQ(l.receivers(l.tx("A", frame(l.macs["B"], l.macs["A"]))), Names{"B"});
}

// T-MV-38: a promiscuous upper still filters by MAC; the lower takes one promiscuity reference.
TEST(Macvlan, T_MV_38_PromiscUpperStillFiltersByMac) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  EXPECT_EQ(l.port.lower_filter().promisc, 0);
  l.port.set_upper_rx(l.index("B"), true, false, {});
  EXPECT_EQ(l.receivers(l.rx(frame(l.macs["A"], kOutside))), Names{"A"});
  EXPECT_EQ(l.port.lower_filter().promisc, 1);
  l.port.stop(l.index("B"));
  EXPECT_EQ(l.port.lower_filter().promisc, 0);
}

// T-MV-39: no mode word means vepa.
TEST(Macvlan, T_MV_39_DefaultModeIsVepa) {
  MacvlanPort port{lower()};
  const auto a = *port.add_upper(1, std::nullopt, mac(1), std::nullopt, {});
  EXPECT_EQ(port.uppers()[a].mode, MacvlanMode::kVepa);
  EXPECT_EQ(to_string(port.uppers()[a].mode), "vepa");
}

// T-MV-40: MAC control frames are never distributed; other group frames follow the filters.
TEST(Macvlan, T_MV_40_MacControlNeverDistributed) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("C", MacvlanMode::kVepa);
  l.add("S", MacvlanMode::kSource);
  auto lp = lower();
  lp.promisc = true;  // the veth lower is promiscuous (§1.4)
  l.port.set_lower(lp);
  EXPECT_EQ(l.receivers(l.rx(frame(Mac::broadcast(), kOutside, 0x8808))), Names{});
  EXPECT_EQ(l.receivers(l.rx(frame(Mac::broadcast(), kOutside, 0x88b5))), (Names{"A", "C"}));
  EXPECT_EQ(l.receivers(l.rx(frame(*Mac::parse("01:80:c2:00:00:01"), kOutside, 0x88b5))), Names{});
  // A bridge upper's PAUSE frame goes to the wire only.
  const auto d = l.tx("A", frame(Mac::broadcast(), l.macs["A"], 0x8808));
  EXPECT_TRUE(d.to_wire);
  EXPECT_TRUE(d.deliveries.empty());
}

// T-MV-42: an UP non-passthru upper puts its MAC in the lower's unicast filter.
TEST(Macvlan, T_MV_42_LowerUnicastFilter) {
  MacvlanPort port{lower()};
  const auto u = *port.add_upper(1, std::nullopt, mac(1), std::nullopt, mode(MacvlanMode::kBridge));
  EXPECT_TRUE(port.lower_filter().unicast.empty());
  ASSERT_TRUE(port.open(u));
  EXPECT_EQ(port.lower_filter().unicast, std::vector<Mac>{mac(1)});
  port.stop(u);
  EXPECT_TRUE(port.lower_filter().unicast.empty());
}

// §2.2: bridge-local copies longer than the receiver's MTU + 18 are dropped, GSO exempt; the
// local unicast path checks the lower's MTU and state.
TEST(Macvlan, BridgeLocalLengthChecks) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  l.add("B", MacvlanMode::kBridge);
  ASSERT_TRUE(l.port.set_mtu(l.index("B"), 1000));
  const auto big = frame(Mac::broadcast(), l.macs["A"], 0x0800, 1100);
  Decision d;
  l.port.transmit(l.index("A"), FrameView{big}, false, d);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(d.deliveries[0].drop, DropReason::kTooBig);
  d.clear();
  l.port.transmit(l.index("A"), FrameView{big}, true, d);
  EXPECT_EQ(d.deliveries[0].drop, DropReason::kNone);
  const auto huge = frame(l.macs["B"], l.macs["A"], 0x0800, 1519);
  d.clear();
  l.port.transmit(l.index("A"), FrameView{huge}, false, d);
  EXPECT_EQ(d.drop, DropReason::kTooBig);
}

// Malformed frames are dropped and named, in both directions.
TEST(Macvlan, RuntsAreMalformed) {
  Lab l;
  l.add("A", MacvlanMode::kBridge);
  const std::vector<std::uint8_t> runt(10, 0xff);
  EXPECT_EQ(l.rx(runt).drop, DropReason::kMalformed);
  EXPECT_EQ(l.tx("A", runt).drop, DropReason::kMalformed);
}

}  // namespace
