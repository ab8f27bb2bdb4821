// Bridge forwarding and FDB against semantics.md §6 and §10.5 (T-BR-01..03): br_input.c,
// br_forward.c, br_fdb.c, br_device.c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "core/bridge.hpp"
#include "test_frames.hpp"

namespace subnic::core {
namespace {

using test::Bytes;

constexpr std::uint64_t kSec = 1'000'000'000;

const Mac kBridgeMac{{0x02, 0xb0, 0, 0, 0, 0x01}};
const Mac kPortMac0{{0x02, 0xa0, 0, 0, 0, 0x00}};
const Mac kPortMac1{{0x02, 0xa0, 0, 0, 0, 0x01}};
const Mac kPortMac2{{0x02, 0xa0, 0, 0, 0, 0x02}};
const Mac kHostA{{0x02, 0, 0, 0, 0, 0x0a}};
const Mac kHostB{{0x02, 0, 0, 0, 0, 0x0b}};
const Mac kHostC{{0x02, 0, 0, 0, 0, 0x0c}};
const Mac kMcast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};

Bytes frame(const Mac& dst, const Mac& src) {
  return test::eth(dst, src, test::kIpv4Type, Bytes(46, 0));
}

// An UP bridge with three ports, all with carrier; STP off: every port forwards at once.
class BridgeTest : public ::testing::Test {
 protected:
  BridgeTest() : br_{kBridgeMac} {
    br_.add_port(kPortMac0, {}, 0);
    br_.add_port(kPortMac1, {}, 0);
    br_.add_port(kPortMac2, {}, 0);
    br_.set_up(true, 0);
  }

  BridgeDecision rx(std::uint32_t in, const Mac& dst, const Mac& src, std::uint64_t t = 0) {
    const auto f = frame(dst, src);
    BridgeDecision d;
    br_.receive(in, FrameView{f}, t, d);
    return d;
  }
  BridgeDecision tx(const Mac& dst, std::uint64_t t = 0) {
    const auto f = frame(dst, kBridgeMac);
    BridgeDecision d;
    br_.transmit(FrameView{f}, t, d);
    return d;
  }
  void set_flags(std::uint32_t i, auto&& edit) {
    auto pc = br_.port_config(i);
    edit(pc);
    ASSERT_TRUE(br_.set_port_config(i, pc));
  }

  Bridge br_;
};

using Ports = std::vector<std::uint32_t>;

TEST_F(BridgeTest, PortsForwardAtOnceWithStpOff) {
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(br_.port_state(i), StpPortState::kForwarding);
  }
  EXPECT_TRUE(br_.carrier());
}

TEST_F(BridgeTest, NewBridgeIsDownWithPortsDisabled) {
  Bridge b{kBridgeMac};
  b.add_port(kPortMac0, {}, 0);
  EXPECT_EQ(b.port_state(0), StpPortState::kDisabled);
  const auto f = frame(kHostB, kHostA);
  BridgeDecision d;
  b.receive(0, FrameView{f}, 0, d);
  EXPECT_EQ(d.drop, DropReason::kStpBlocked);
  EXPECT_FALSE(b.carrier());
}

TEST_F(BridgeTest, LocalEntriesForBridgeAndPortMacs) {
  const auto e = br_.fdb_find(kBridgeMac);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->local);
  EXPECT_EQ(e->port, -1);
  const auto p1 = br_.fdb_find(kPortMac1);
  ASSERT_TRUE(p1);
  EXPECT_TRUE(p1->local);
  EXPECT_EQ(p1->port, 1);
  EXPECT_EQ(br_.fdb().size(), 4U);
  EXPECT_EQ(br_.fdb_learned(), 0U);
}

TEST_F(BridgeTest, LearnsSourceOnIngressPort) {
  rx(1, kHostB, kHostA, 5 * kSec);
  const auto e = br_.fdb_find(kHostA);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 1);
  EXPECT_FALSE(e->local);
  EXPECT_EQ(e->updated_ns, 5 * kSec);
  EXPECT_EQ(br_.fdb_learned(), 1U);
}

// T-BR-02: unknown unicast flooded to all other ports; after the reply, sent to p2 only.
TEST_F(BridgeTest, T_BR_02_FloodsUnknownThenForwardsToLearnedPort) {
  auto d = rx(0, kHostB, kHostA);
  EXPECT_EQ(d.ports, (Ports{1, 2}));
  EXPECT_FALSE(d.to_host);
  EXPECT_EQ(d.drop, DropReason::kNone);
  d = rx(2, kHostA, kHostB);
  EXPECT_EQ(d.ports, (Ports{0}));
  d = rx(0, kHostB, kHostA);
  EXPECT_EQ(d.ports, (Ports{2}));
  EXPECT_FALSE(d.to_host);
}

TEST_F(BridgeTest, KnownUnicastRecordsUseTime) {
  rx(2, kHostA, kHostB, 1 * kSec);
  rx(0, kHostB, kHostA, 7 * kSec);
  EXPECT_EQ(br_.fdb_find(kHostB)->used_ns, 7 * kSec);
  EXPECT_EQ(br_.fdb_find(kHostB)->updated_ns, 1 * kSec);
}

TEST_F(BridgeTest, LearnedMacMovesToNewPort) {
  rx(0, kHostB, kHostA, 1 * kSec);
  rx(2, kHostB, kHostA, 2 * kSec);
  const auto e = br_.fdb_find(kHostA);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 2);
  EXPECT_EQ(e->updated_ns, 2 * kSec);
  EXPECT_EQ(br_.fdb_learned(), 1U);
  EXPECT_EQ(rx(1, kHostA, kHostC).ports, (Ports{2}));
}

TEST_F(BridgeTest, EntryAgesOutAfterAgeingTime) {
  std::vector<BpduOut> out;
  rx(0, kHostB, kHostA, 10 * kSec);
  br_.tick(10 * kSec + 300 * kSec - 1, out);
  EXPECT_TRUE(br_.fdb_find(kHostA));
  br_.tick(10 * kSec + 300 * kSec, out);  // updated + ageing_time <= now: removed
  EXPECT_FALSE(br_.fdb_find(kHostA));
  EXPECT_EQ(br_.fdb_learned(), 0U);
  EXPECT_TRUE(br_.fdb_find(kBridgeMac));  // local entries never age
  EXPECT_TRUE(out.empty());               // STP off: no BPDUs
}

TEST_F(BridgeTest, RefreshRestartsAgeing) {
  std::vector<BpduOut> out;
  rx(0, kHostB, kHostA, 0);
  rx(0, kHostB, kHostA, 200 * kSec);
  br_.tick(350 * kSec, out);
  EXPECT_TRUE(br_.fdb_find(kHostA));
  br_.tick(500 * kSec, out);
  EXPECT_FALSE(br_.fdb_find(kHostA));
}

TEST_F(BridgeTest, AgeingTimeZeroLearnsNothingAndFloods) {
  auto cfg = br_.config();
  cfg.ageing_time_ns = 0;
  ASSERT_TRUE(br_.set_config(cfg, 0));
  rx(2, kHostA, kHostB);
  EXPECT_FALSE(br_.fdb_find(kHostB));
  EXPECT_EQ(rx(0, kHostB, kHostA).ports, (Ports{1, 2}));
}

TEST_F(BridgeTest, FdbMaxLearnedStopsNewEntriesButRefreshesExisting) {
  auto cfg = br_.config();
  cfg.fdb_max_learned = 2;
  ASSERT_TRUE(br_.set_config(cfg, 0));
  rx(0, kHostB, kHostA, 1 * kSec);
  rx(1, kHostA, kHostB, 1 * kSec);
  rx(2, kHostA, kHostC, 1 * kSec);
  EXPECT_EQ(br_.fdb_learned(), 2U);
  EXPECT_FALSE(br_.fdb_find(kHostC));
  // an existing entry still refreshes and moves
  rx(2, kHostB, kHostA, 9 * kSec);
  EXPECT_EQ(br_.fdb_find(kHostA)->port, 2);
  EXPECT_EQ(br_.fdb_find(kHostA)->updated_ns, 9 * kSec);
  // frames for the unlearned station are flooded; ones from it are still forwarded
  EXPECT_EQ(rx(2, kHostC, kHostA).ports, (Ports{0, 1}));
  EXPECT_EQ(rx(2, kHostB, kHostC).ports, (Ports{1}));
}

TEST_F(BridgeTest, BroadcastFloodsWithBcastFloodAndCopiesToHost) {
  set_flags(2, [](BridgePortConfig& pc) { pc.bcast_flood = false; });
  const auto d = rx(0, Mac::broadcast(), kHostA);
  EXPECT_EQ(d.ports, (Ports{1}));
  EXPECT_TRUE(d.to_host);
  EXPECT_EQ(d.drop, DropReason::kNone);
}

TEST_F(BridgeTest, MulticastFloodsWithMcastFloodAndCopiesToHost) {
  set_flags(1, [](BridgePortConfig& pc) { pc.mcast_flood = false; });
  const auto d = rx(0, kMcast, kHostA);
  EXPECT_EQ(d.ports, (Ports{2}));
  EXPECT_TRUE(d.to_host);
}

TEST_F(BridgeTest, UnknownUnicastSkipsPortsWithFloodOff) {
  set_flags(1, [](BridgePortConfig& pc) { pc.flood = false; });
  EXPECT_EQ(rx(0, kHostB, kHostA).ports, (Ports{2}));
  set_flags(2, [](BridgePortConfig& pc) { pc.flood = false; });
  const auto d = rx(0, kHostB, kHostA);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_EQ(d.drop, DropReason::kNoEgress);
  // broadcast ignores the unicast flood flag
  EXPECT_EQ(rx(0, Mac::broadcast(), kHostA).ports, (Ports{1, 2}));
}

// T-BR-01: hairpin off: to M (learned on p1) dropped, broadcast to p2 and the bridge only;
// hairpin on: to M back out p1, broadcast also out p1.
TEST(BridgeHairpin, T_BR_01_HairpinSendsBackOutOfTheIngressPort) {
  Bridge br{kBridgeMac};
  br.add_port(kPortMac1, {}, 0);  // p1
  br.add_port(kPortMac2, {}, 0);  // p2
  br.set_up(true, 0);
  const auto m_frame = frame(kHostB, kHostA);
  BridgeDecision d;
  br.receive(0, FrameView{m_frame}, 0, d);  // M = kHostA learned on p1
  ASSERT_EQ(br.fdb_find(kHostA)->port, 0);

  const auto to_m = frame(kHostA, kHostC);
  const auto bcast = frame(Mac::broadcast(), kHostC);
  br.receive(0, FrameView{to_m}, 1, d);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_EQ(d.drop, DropReason::kSamePort);
  br.receive(0, FrameView{bcast}, 1, d);
  EXPECT_EQ(d.ports, (Ports{1}));
  EXPECT_TRUE(d.to_host);

  auto pc = br.port_config(0);
  pc.hairpin = true;
  ASSERT_TRUE(br.set_port_config(0, pc));
  // M is still learned on p1
  br.receive(0, FrameView{to_m}, 2, d);
  EXPECT_EQ(d.ports, (Ports{0}));
  EXPECT_EQ(d.drop, DropReason::kNone);
  br.receive(0, FrameView{bcast}, 2, d);
  EXPECT_EQ(d.ports, (Ports{0, 1}));
  EXPECT_TRUE(d.to_host);
}

TEST_F(BridgeTest, HairpinFloodsUnknownUnicastBackToo) {
  set_flags(0, [](BridgePortConfig& pc) { pc.hairpin = true; });
  EXPECT_EQ(rx(0, kHostB, kHostA).ports, (Ports{0, 1, 2}));
}

// T-BR-03: p1 and p2 isolated: nothing crosses between them; un-isolating p2 restores it.
TEST_F(BridgeTest, T_BR_03_IsolatedPortsDoNotForwardToEachOther) {
  set_flags(0, [](BridgePortConfig& pc) { pc.isolated = true; });
  set_flags(1, [](BridgePortConfig& pc) { pc.isolated = true; });
  rx(1, kHostA, kHostB);  // B learned on p1 (flooded to p2 only: p0 and p1 are isolated)
  auto d = rx(0, kHostB, kHostA);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_EQ(d.drop, DropReason::kIsolated);
  d = rx(0, Mac::broadcast(), kHostA);
  EXPECT_EQ(d.ports, (Ports{2}));  // an isolated port still reaches non-isolated ones
  EXPECT_TRUE(d.to_host);
  set_flags(1, [](BridgePortConfig& pc) { pc.isolated = false; });
  d = rx(0, kHostB, kHostA);
  EXPECT_EQ(d.ports, (Ports{1}));
}

TEST_F(BridgeTest, LocalDestinationGoesToHostOnly) {
  auto d = rx(0, kBridgeMac, kHostA);
  EXPECT_TRUE(d.to_host);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_FALSE(d.link_local);
  d = rx(0, kPortMac2, kHostA);  // a port's MAC is local too
  EXPECT_TRUE(d.to_host);
  EXPECT_TRUE(d.ports.empty());
}

TEST_F(BridgeTest, SourceMulticastOrZeroIsDropped) {
  auto d = rx(0, kHostB, kMcast);
  EXPECT_EQ(d.drop, DropReason::kBadSrc);
  EXPECT_TRUE(d.ports.empty());
  d = rx(0, kHostB, Mac{});
  EXPECT_EQ(d.drop, DropReason::kBadSrc);
  d = rx(0, kHostB, Mac::broadcast());
  EXPECT_EQ(d.drop, DropReason::kBadSrc);
  EXPECT_EQ(br_.fdb_learned(), 0U);
}

TEST_F(BridgeTest, RuntIsMalformed) {
  const Bytes runt(10, 0);
  BridgeDecision d;
  br_.receive(0, FrameView{runt}, 0, d);
  EXPECT_EQ(d.drop, DropReason::kMalformed);
}

TEST_F(BridgeTest, StpGroupAddressIsFloodedWhileStpIsOff) {
  const auto d = rx(0, kStpGroupMac, kHostA);
  EXPECT_EQ(d.ports, (Ports{1, 2}));
  EXPECT_TRUE(d.to_host);
  EXPECT_FALSE(d.to_stp);
}

TEST_F(BridgeTest, StpGroupAddressGoesToStpOnlyWhileStpIsOn) {
  auto cfg = br_.config();
  cfg.stp = true;
  ASSERT_TRUE(br_.set_config(cfg, 0));
  const auto d = rx(0, kStpGroupMac, kHostA);
  EXPECT_TRUE(d.to_stp);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_FALSE(d.to_host);
  EXPECT_EQ(d.drop, DropReason::kNone);
  EXPECT_EQ(br_.fdb_find(kHostA)->port, 0);  // learned (__br_handle_local_finish)
}

TEST_F(BridgeTest, PauseIsDroppedAndOtherLinkLocalGoesToHostOnly) {
  const Mac pause{{0x01, 0x80, 0xc2, 0, 0, 0x01}};
  const Mac lldp{{0x01, 0x80, 0xc2, 0, 0, 0x0e}};
  const Mac lacp{{0x01, 0x80, 0xc2, 0, 0, 0x02}};
  EXPECT_EQ(rx(0, pause, kHostA).drop, DropReason::kPause);
  for (const Mac& m : {lldp, lacp}) {
    const auto d = rx(0, m, kHostA);
    EXPECT_TRUE(d.ports.empty());
    EXPECT_TRUE(d.to_host);
    EXPECT_TRUE(d.link_local);
    EXPECT_EQ(d.drop, DropReason::kNone);
  }
  // 01:80:c2:00:00:10 is not link-local: an ordinary multicast
  const Mac not_ll{{0x01, 0x80, 0xc2, 0, 0, 0x10}};
  EXPECT_EQ(rx(0, not_ll, kHostA).ports, (Ports{1, 2}));
}

TEST_F(BridgeTest, ListeningAndDisabledPortsDropDataWithoutLearning) {
  for (const auto s : {StpPortState::kListening, StpPortState::kDisabled}) {
    ASSERT_TRUE(br_.set_port_state(0, s));
    EXPECT_EQ(br_.port_state(0), s);
    const auto d = rx(0, kHostB, kHostA);
    EXPECT_EQ(d.drop, DropReason::kStpBlocked) << to_string(s);
    EXPECT_TRUE(d.ports.empty());
    EXPECT_FALSE(br_.fdb_find(kHostA));
  }
}

TEST_F(BridgeTest, LearningPortLearnsButDrops) {
  ASSERT_TRUE(br_.set_port_state(0, StpPortState::kLearning));
  const auto d = rx(0, Mac::broadcast(), kHostA);
  EXPECT_EQ(d.drop, DropReason::kStpBlocked);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_FALSE(d.to_host);
  EXPECT_EQ(br_.fdb_find(kHostA)->port, 0);
  // and nothing is forwarded to it
  const auto d2 = rx(1, kHostA, kHostB);
  EXPECT_EQ(d2.drop, DropReason::kStpBlocked);
  EXPECT_EQ(rx(1, Mac::broadcast(), kHostB).ports, (Ports{2}));
}

// br_set_port_state then br_port_state_selection: with STP off a designated port in blocking
// is made forwarding at once.
TEST_F(BridgeTest, BlockingWithStpOffBecomesForwarding) {
  ASSERT_TRUE(br_.set_port_state(1, StpPortState::kBlocking));
  EXPECT_EQ(br_.port_state(1), StpPortState::kForwarding);
}

TEST_F(BridgeTest, SetPortStateErrors) {
  auto r = br_.set_port_state(0, static_cast<StpPortState>(5));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  br_.set_port_carrier(2, false, 0);
  r = br_.set_port_state(2, StpPortState::kForwarding);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENETDOWN);
  EXPECT_TRUE(br_.set_port_state(2, StpPortState::kDisabled));
  auto cfg = br_.config();
  cfg.stp = true;
  ASSERT_TRUE(br_.set_config(cfg, 0));
  r = br_.set_port_state(0, StpPortState::kBlocking);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EBUSY);
}

TEST_F(BridgeTest, LearningOffAndOwnAddressesAreNotLearned) {
  set_flags(0, [](BridgePortConfig& pc) { pc.learning = false; });
  rx(0, kHostB, kHostA);
  EXPECT_FALSE(br_.fdb_find(kHostA));
  rx(1, kHostB, kPortMac0);  // a frame claiming the bridge's own address keeps it local
  const auto e = br_.fdb_find(kPortMac0);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->local);
  EXPECT_EQ(e->port, 0);
}

TEST_F(BridgeTest, CarrierDownDisablesPortAndFlushesItsEntries) {
  rx(0, kHostB, kHostA);
  rx(1, kHostA, kHostB);
  br_.set_port_carrier(0, false, 1 * kSec);
  EXPECT_EQ(br_.port_state(0), StpPortState::kDisabled);
  EXPECT_FALSE(br_.fdb_find(kHostA));
  EXPECT_TRUE(br_.fdb_find(kHostB));
  EXPECT_TRUE(br_.fdb_find(kPortMac0));  // the local entry stays
  EXPECT_EQ(rx(1, Mac::broadcast(), kHostB).ports, (Ports{2}));
  br_.set_port_carrier(0, true, 2 * kSec);
  EXPECT_EQ(br_.port_state(0), StpPortState::kForwarding);
}

TEST_F(BridgeTest, RemovePortShiftsIndicesAndDropsItsEntries) {
  rx(0, kHostB, kHostA);
  rx(2, kHostA, kHostC);
  br_.remove_port(1, 1 * kSec);
  EXPECT_EQ(br_.ports(), 2U);
  EXPECT_FALSE(br_.fdb_find(kPortMac1));
  EXPECT_EQ(br_.fdb_find(kHostC)->port, 1);  // was on index 2
  EXPECT_EQ(br_.fdb_find(kPortMac2)->port, 1);
  EXPECT_EQ(br_.port_stp(1).port_no, 3);  // kernel port numbers stay
  // the freed number is reused
  const auto i = br_.add_port(kPortMac1, {}, 2 * kSec);
  EXPECT_EQ(br_.port_stp(i).port_no, 2);
  EXPECT_EQ(br_.port_stp(i).port_id, 0x8002);
}

TEST_F(BridgeTest, BridgeDownDisablesEveryPortAndFlushes) {
  rx(0, kHostB, kHostA);
  br_.set_up(false, 1 * kSec);
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(br_.port_state(i), StpPortState::kDisabled);
  }
  EXPECT_EQ(br_.fdb_learned(), 0U);
  EXPECT_EQ(rx(1, kHostB, kHostA).drop, DropReason::kStpBlocked);
  br_.set_up(true, 2 * kSec);
  EXPECT_EQ(br_.port_state(2), StpPortState::kForwarding);
}

TEST_F(BridgeTest, PortWithoutCarrierStaysDisabledWhenBridgeComesUp) {
  Bridge b{kBridgeMac};
  b.add_port(kPortMac0, {}, 0);
  b.add_port(kPortMac1, {}, 0);
  b.set_port_carrier(1, false, 0);
  b.set_up(true, 0);
  EXPECT_EQ(b.port_state(0), StpPortState::kForwarding);
  EXPECT_EQ(b.port_state(1), StpPortState::kDisabled);
}

TEST_F(BridgeTest, TransmitKnownUnicastGoesToItsPortWithoutLearning) {
  rx(2, kHostA, kHostB);
  auto d = tx(kHostB);
  EXPECT_EQ(d.ports, (Ports{2}));
  EXPECT_FALSE(d.to_host);
  EXPECT_EQ(br_.fdb_learned(), 1U);  // the bridge's own source is not learned
  d = tx(kHostC);
  EXPECT_EQ(d.ports, (Ports{0, 1, 2}));
}

TEST_F(BridgeTest, TransmitGroupFramesIgnoreBcastAndMcastFloodFlags) {
  set_flags(0, [](BridgePortConfig& pc) {
    pc.bcast_flood = false;
    pc.mcast_flood = false;
    pc.flood = false;
  });
  EXPECT_EQ(tx(Mac::broadcast()).ports, (Ports{0, 1, 2}));
  EXPECT_EQ(tx(kMcast).ports, (Ports{0, 1, 2}));
  EXPECT_EQ(tx(kHostC).ports, (Ports{1, 2}));  // flood does apply
}

TEST_F(BridgeTest, TransmitToTheBridgesOwnAddressIsDropped) {
  const auto d = tx(kBridgeMac);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_EQ(d.drop, DropReason::kNoEgress);
  EXPECT_EQ(tx(kPortMac1).ports, (Ports{1}));  // a port's address leaves by that port
}

TEST_F(BridgeTest, KnownUnicastToNonForwardingPortIsDropped) {
  rx(2, kHostA, kHostB);
  ASSERT_TRUE(br_.set_port_state(2, StpPortState::kListening));
  const auto d = rx(0, kHostB, kHostA);
  EXPECT_TRUE(d.ports.empty());
  EXPECT_EQ(d.drop, DropReason::kStpBlocked);
}

TEST_F(BridgeTest, SetBridgeMacMovesTheLocalEntry) {
  const Mac m{{0x02, 0xb0, 0, 0, 0, 0x99}};
  br_.set_bridge_mac(m);
  EXPECT_FALSE(br_.fdb_find(kBridgeMac));
  EXPECT_TRUE(br_.fdb_find(m)->local);
  EXPECT_EQ(br_.stp().bridge_id, (std::uint64_t{0x8000} << 48) | m.to_u64());
  EXPECT_EQ(br_.stp().root_id, br_.stp().bridge_id);
  br_.set_port_mac(0, kHostC);
  EXPECT_FALSE(br_.fdb_find(kPortMac0));
  EXPECT_EQ(br_.fdb_find(kHostC)->port, 0);
  EXPECT_TRUE(br_.fdb_find(kHostC)->local);
}

TEST_F(BridgeTest, PortConfigRangeErrors) {
  BridgePortConfig pc;
  pc.priority = 64;
  auto r = br_.set_port_config(0, pc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ERANGE);
  pc.priority = 63;
  pc.cost = 0;
  r = br_.set_port_config(0, pc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ERANGE);
  pc.cost = 7;
  ASSERT_TRUE(br_.set_port_config(0, pc));
  EXPECT_EQ(br_.port_stp(0).port_id, (63 << 10) | 1);
  EXPECT_EQ(br_.port_config(0).cost, 7U);
}

TEST(BridgeNames, StateAndDropReasonNames) {
  EXPECT_EQ(to_string(StpPortState::kDisabled), "disabled");
  EXPECT_EQ(to_string(StpPortState::kListening), "listening");
  EXPECT_EQ(to_string(StpPortState::kLearning), "learning");
  EXPECT_EQ(to_string(StpPortState::kForwarding), "forwarding");
  EXPECT_EQ(to_string(StpPortState::kBlocking), "blocking");
  EXPECT_EQ(static_cast<int>(StpPortState::kBlocking), 4);
  EXPECT_EQ(to_string(DropReason::kBadSrc), "bad_src");
  EXPECT_EQ(to_string(DropReason::kStpBlocked), "stp_blocked");
  EXPECT_EQ(to_string(DropReason::kSamePort), "same_port");
  EXPECT_EQ(to_string(DropReason::kIsolated), "isolated");
  EXPECT_EQ(to_string(DropReason::kNoEgress), "no_egress");
}

}  // namespace
}  // namespace subnic::core
