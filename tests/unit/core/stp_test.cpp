// Kernel STP (IEEE 802.1D-1998 as net/bridge implements it): BPDU encoding against hand-built
// bytes (br_stp_bpdu.c), and bridges wired by a small simulator that passes their BPDUs over
// links in 100 ms steps (br_stp.c, br_stp_if.c, br_stp_timer.c).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/bridge.hpp"
#include "test_frames.hpp"

namespace subnic::core {
namespace {

using test::Bytes;

constexpr std::uint64_t kSec = 1'000'000'000;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kStep = 100 * kMs;

Mac mac(std::uint8_t a, std::uint8_t b) {
  return Mac{{0x02, 0, 0, 0, a, b}};
}
std::uint64_t bridge_id(std::uint16_t prio, const Mac& m) {
  return (std::uint64_t{prio} << 48) | m.to_u64();
}

// ---- BPDU encoding ----

TEST(StpBpdu, ConfigBpduMatchesHandBuiltBytes) {
  ConfigBpdu b;
  b.topology_change = true;
  b.topology_change_ack = true;
  b.root_id = 0x1000'0200'0000'000aULL;
  b.root_path_cost = 0x01020304;
  b.bridge_id = 0x8000'0200'0000'000bULL;
  b.port_id = 0x8002;
  b.message_age_ns = 1 * kSec;         // 256 ticks = 0x0100
  b.max_age_ns = 20 * kSec;            // 0x1400
  b.hello_time_ns = 2 * kSec;          // 0x0200
  b.forward_delay_ns = 15 * kSec + 1;  // 0x0f00: truncated to whole ticks
  const Mac src = mac(0xaa, 0x01);
  const Bytes expect = {
      0x01, 0x80, 0xc2, 0x00, 0x00, 0x00,              // dst: bridge group address
      0x02, 0x00, 0x00, 0x00, 0xaa, 0x01,              // src: the port's MAC
      0x00, 0x26,                                      // 802.3 length: 3 (LLC) + 35
      0x42, 0x42, 0x03,                                // LLC: DSAP, SSAP, UI
      0x00, 0x00,                                      // protocol identifier
      0x00,                                            // version: STP
      0x00,                                            // type: configuration
      0x81,                                            // flags: TC (0x01) | TCA (0x80)
      0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,  // root id
      0x01, 0x02, 0x03, 0x04,                          // root path cost
      0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,  // bridge id
      0x80, 0x02,                                      // port id
      0x01, 0x00,                                      // message age
      0x14, 0x00,                                      // max age
      0x02, 0x00,                                      // hello time
      0x0f, 0x00,                                      // forward delay
  };
  const auto f = encode_config_bpdu(src, b);
  EXPECT_EQ(f, expect);
  EXPECT_EQ(f.size(), 52U);

  const auto parsed = parse_bpdu(FrameView{f});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->type, BpduType::kConfig);
  ConfigBpdu back = b;
  back.forward_delay_ns = 15 * kSec;  // what survives the 1/256 s encoding
  EXPECT_EQ(parsed->config, back);
}

TEST(StpBpdu, TcnBpduMatchesHandBuiltBytes) {
  const Bytes expect = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xaa,
                        0x02, 0x00, 0x07, 0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x80};
  const auto f = encode_tcn_bpdu(mac(0xaa, 0x02));
  EXPECT_EQ(f, expect);
  const auto parsed = parse_bpdu(FrameView{f});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->type, BpduType::kTcn);
}

TEST(StpBpdu, ParseRejectsWhatTheKernelIgnores) {
  ConfigBpdu b;
  b.max_age_ns = 20 * kSec;
  const auto good = encode_config_bpdu(mac(1, 1), b);
  ASSERT_TRUE(parse_bpdu(FrameView{good}));
  auto bad = good;
  bad[19] = 2;  // version 2: an RST BPDU
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad[14] = 0xaa;  // not the STP SAP
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad[5] = 0x0e;  // not the group address
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad[12] = 0x08;  // an EtherType (0x0826), not a length
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad[13] = 0x30;  // length beyond the frame
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad.resize(40);  // a truncated config BPDU
  bad[13] = 40 - 14;
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  bad = good;
  bad[20] = 0x02;  // unknown type
  EXPECT_FALSE(parse_bpdu(FrameView{bad}));
  // padding after the length is allowed (a NIC pads to 60 bytes)
  auto padded = good;
  padded.resize(60, 0);
  EXPECT_TRUE(parse_bpdu(FrameView{padded}));
}

// ---- Simulator ----

struct Link {
  std::size_t a;
  std::uint32_t a_port;
  std::size_t b;
  std::uint32_t b_port;
  bool up = true;
  bool a_to_b = true;  // false: BPDUs from a are lost on the way to b
};

struct Sent {
  std::uint64_t t;
  std::size_t from;
  std::uint32_t port;
  Bpdu bpdu;
};

class Sim {
 public:
  /// Bridges with STP on; MACs 02:00:00:00:<n>:00 for bridge n, ...:<n>:<port+1> for ports.
  std::size_t add_bridge(std::uint8_t n, std::uint16_t priority = 0x8000) {
    BridgeConfig cfg;
    cfg.stp = true;
    cfg.priority = priority;
    bridges_.push_back(std::make_unique<Bridge>(mac(n, 0), cfg));
    ids_.push_back(n);
    return bridges_.size() - 1;
  }
  std::uint32_t add_port(std::size_t b) {
    Bridge& br = *bridges_[b];
    const auto next = static_cast<std::uint8_t>(br.ports() + 1);
    return br.add_port(mac(ids_[b], next), {}, now_);
  }
  void link(std::size_t a, std::uint32_t ap, std::size_t b, std::uint32_t bp) {
    links_.push_back(Link{a, ap, b, bp});
  }
  void start() {
    for (auto& b : bridges_) {
      b->set_up(true, now_);
    }
  }
  Bridge& operator[](std::size_t i) { return *bridges_[i]; }
  std::uint64_t now() const { return now_; }
  std::vector<Link>& links() { return links_; }
  const std::vector<Sent>& sent() const { return sent_; }

  /// Takes a link down or up at both ends (carrier of both ports).
  void set_link(std::size_t l, bool up) {
    Link& k = links_[l];
    k.up = up;
    bridges_[k.a]->set_port_carrier(k.a_port, up, now_);
    bridges_[k.b]->set_port_carrier(k.b_port, up, now_);
  }

  /// One step: deliver what was sent in the previous one, then tick every bridge.
  void step() {
    now_ += kStep;
    auto flying = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [from, out] : flying) {
      deliver(from, out);
    }
    for (std::size_t i = 0; i < bridges_.size(); ++i) {
      std::vector<BpduOut> out;
      bridges_[i]->tick(now_, out);
      queue(i, out);
    }
  }
  void run_until(std::uint64_t t) {
    while (now_ < t) {
      step();
    }
  }

  std::size_t count_sent(std::size_t from, BpduType type, std::uint64_t since = 0) const {
    std::size_t n = 0;
    for (const auto& s : sent_) {
      n += s.from == from && s.bpdu.type == type && s.t >= since ? 1 : 0;
    }
    return n;
  }

 private:
  void queue(std::size_t from, std::vector<BpduOut>& out) {
    for (auto& o : out) {
      const auto parsed = parse_bpdu(FrameView{o.frame});
      EXPECT_TRUE(parsed) << "bridge " << from << " sent a frame that is no BPDU";
      if (parsed) {
        sent_.push_back(Sent{now_, from, o.port, *parsed});
      }
      in_flight_.emplace_back(from, std::move(o));
    }
  }
  void deliver(std::size_t from, const BpduOut& o) {
    for (const auto& k : links_) {
      std::size_t to = 0;
      std::uint32_t to_port = 0;
      if (k.a == from && k.a_port == o.port) {
        if (!k.a_to_b) {
          continue;
        }
        to = k.b;
        to_port = k.b_port;
      } else if (k.b == from && k.b_port == o.port) {
        to = k.a;
        to_port = k.a_port;
      } else {
        continue;
      }
      if (!k.up) {
        continue;
      }
      Bridge& br = *bridges_[to];
      BridgeDecision d;
      br.receive(to_port, FrameView{o.frame}, now_, d);
      if (d.to_stp) {
        std::vector<BpduOut> out;
        br.receive_bpdu(to_port, FrameView{o.frame}, now_, out);
        queue(to, out);
      }
    }
  }

  std::vector<std::unique_ptr<Bridge>> bridges_;
  std::vector<std::uint8_t> ids_;
  std::vector<Link> links_;
  std::vector<std::pair<std::size_t, BpduOut>> in_flight_;
  std::vector<Sent> sent_;
  std::uint64_t now_ = 0;
};

std::size_t count_state(Bridge& b, StpPortState s) {
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < b.ports(); ++i) {
    n += b.port_state(i) == s ? 1 : 0;
  }
  return n;
}

// Two bridges A (lower id) and B joined by two links: A.p0-B.p0, A.p1-B.p1.
struct TwoBridgeLoop : ::testing::Test {
  TwoBridgeLoop() {
    a = sim.add_bridge(0x0a);
    b = sim.add_bridge(0x0b);
    for (int i = 0; i < 2; ++i) {
      sim.link(a, sim.add_port(a), b, sim.add_port(b));
    }
    sim.start();
  }
  Sim sim;
  std::size_t a = 0;
  std::size_t b = 0;
};

TEST_F(TwoBridgeLoop, PortsStartListeningAndTheRootSendsHellos) {
  for (std::uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(sim[a].port_state(i), StpPortState::kListening);
  }
  sim.run_until(7 * kSec);
  // hellos every 2 s from A on both ports: at 2, 4, 6 s; plus at 3 s its replies to B's
  // inferior BPDUs of 2 s, held back by the 1 s hold timer
  EXPECT_EQ(sim.count_sent(a, BpduType::kConfig), 8U);
  EXPECT_EQ(sim.count_sent(a, BpduType::kConfig, 3 * kSec) -
                sim.count_sent(a, BpduType::kConfig, 3 * kSec + 1),
            2U);
  for (const auto& s : sim.sent()) {
    if (s.from == a) {
      EXPECT_EQ(s.bpdu.config.root_id, bridge_id(0x8000, mac(0x0a, 0)));
      EXPECT_EQ(s.bpdu.config.message_age_ns, 0U);
      EXPECT_EQ(s.bpdu.config.port_id, 0x8001 + s.port);
    }
  }
}

TEST_F(TwoBridgeLoop, ConvergesToOneBlockingPortOnTheNonRootBridge) {
  sim.run_until(5 * kSec);
  const auto root = bridge_id(0x8000, mac(0x0a, 0));
  EXPECT_EQ(sim[a].stp().root_id, root);
  EXPECT_EQ(sim[b].stp().root_id, root);
  EXPECT_EQ(sim[a].stp().root_port, 0);
  EXPECT_EQ(sim[b].stp().root_port, 1);  // port_no 1: A's port id 0x8001 beats 0x8002
  EXPECT_EQ(sim[b].stp().root_path_cost, 100U);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  EXPECT_EQ(sim[b].port_stp(1).designated_bridge, root);
  EXPECT_EQ(sim[b].port_stp(1).designated_port, 0x8002);

  // listening until forward_delay, learning until 2 * forward_delay, then forwarding
  sim.run_until(15 * kSec - kStep);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kListening);
  sim.run_until(15 * kSec);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kLearning);
  EXPECT_EQ(sim[a].port_state(0), StpPortState::kLearning);
  sim.run_until(30 * kSec - kStep);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kLearning);
  EXPECT_FALSE(sim[b].carrier());
  sim.run_until(30 * kSec);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kForwarding);
  EXPECT_TRUE(sim[b].carrier());

  sim.run_until(60 * kSec);
  EXPECT_EQ(count_state(sim[a], StpPortState::kForwarding), 2U);
  EXPECT_EQ(count_state(sim[b], StpPortState::kForwarding), 1U);
  EXPECT_EQ(count_state(sim[b], StpPortState::kBlocking), 1U);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  // B relays nothing: it is designated for no segment
  EXPECT_EQ(sim.count_sent(b, BpduType::kConfig, 10 * kSec), 0U);
}

TEST_F(TwoBridgeLoop, BlockingPortDropsDataButStillHearsBpdus) {
  sim.run_until(31 * kSec);
  ASSERT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  const auto f = test::eth(Mac::broadcast(), mac(0x77, 1), test::kIpv4Type, Bytes(46, 0));
  BridgeDecision d;
  sim[b].receive(1, FrameView{f}, sim.now(), d);
  EXPECT_EQ(d.drop, DropReason::kStpBlocked);
  EXPECT_FALSE(sim[b].fdb_find(mac(0x77, 1)));
  sim[b].receive(0, FrameView{f}, sim.now(), d);
  EXPECT_TRUE(d.ports.empty());  // nothing goes out of the blocking port
  EXPECT_TRUE(d.to_host);
}

TEST_F(TwoBridgeLoop, RootsTopologyChangeReachesTheOtherBridgeAndShortensAgeing) {
  // A's ports going forwarding at 30 s is a topology change at the root: flagged for
  // forward_delay + max_age = 35 s. B learns it from A's next hello (32 s).
  sim.run_until(33 * kSec);
  EXPECT_TRUE(sim[a].stp().topology_change);
  EXPECT_TRUE(sim[b].stp().topology_change);  // from the root's BPDUs
  // B ages learned entries by forward_delay meanwhile
  const auto f = test::eth(mac(0x77, 2), mac(0x77, 1), test::kIpv4Type, Bytes(46, 0));
  BridgeDecision d;
  sim[b].receive(0, FrameView{f}, sim.now(), d);
  ASSERT_TRUE(sim[b].fdb_find(mac(0x77, 1)));
  sim.run_until(33 * kSec + 15 * kSec - kStep);
  EXPECT_TRUE(sim[b].fdb_find(mac(0x77, 1)));
  sim.run_until(33 * kSec + 15 * kSec);
  EXPECT_FALSE(sim[b].fdb_find(mac(0x77, 1)));
  sim.run_until(67 * kSec);  // A's flag cleared at 65 s, B's from A's hello of 66 s
  EXPECT_FALSE(sim[a].stp().topology_change);
  EXPECT_FALSE(sim[b].stp().topology_change);
}

TEST_F(TwoBridgeLoop, TcnPropagatesToTheRootAndIsAcknowledged) {
  sim.run_until(70 * kSec);  // converged, the first topology change over
  ASSERT_FALSE(sim[a].stp().topology_change);
  // a new leaf port on B: designated, forwarding after 2 * forward_delay: a topology change
  const auto leaf = sim.add_port(b);
  EXPECT_EQ(sim[b].port_state(leaf), StpPortState::kListening);
  sim.run_until(100 * kSec - kStep);
  EXPECT_EQ(sim.count_sent(b, BpduType::kTcn), 0U);
  // an entry learned now would live 300 s; the topology change cuts that to 15 s
  const auto f = test::eth(mac(0x77, 2), mac(0x77, 1), test::kIpv4Type, Bytes(46, 0));
  BridgeDecision d;
  sim[b].receive(0, FrameView{f}, sim.now(), d);
  sim.run_until(100 * kSec);
  EXPECT_EQ(sim[b].port_state(leaf), StpPortState::kForwarding);
  EXPECT_TRUE(sim[b].stp().topology_change_detected);
  ASSERT_EQ(sim.count_sent(b, BpduType::kTcn), 1U);
  for (const auto& s : sim.sent()) {
    if (s.bpdu.type == BpduType::kTcn) {
      EXPECT_EQ(s.port, 0U);  // out of the root port
    }
  }
  sim.run_until(102 * kSec);
  EXPECT_TRUE(sim[a].stp().topology_change);
  EXPECT_TRUE(sim[b].stp().topology_change);
  EXPECT_FALSE(sim[b].stp().topology_change_detected);  // acknowledged
  bool acked = false;
  for (const auto& s : sim.sent()) {
    acked = acked || (s.from == a && s.port == 0 && s.bpdu.config.topology_change_ack);
  }
  EXPECT_TRUE(acked);
  sim.run_until(110 * kSec);
  EXPECT_EQ(sim.count_sent(b, BpduType::kTcn), 1U);  // not repeated after the ack
  EXPECT_TRUE(sim[b].fdb_find(mac(0x77, 1)));
  sim.run_until(115 * kSec);
  EXPECT_FALSE(sim[b].fdb_find(mac(0x77, 1)));
}

TEST_F(TwoBridgeLoop, TcnIsRepeatedEveryHelloTimeUntilAcknowledged) {
  sim.run_until(70 * kSec);
  sim.add_port(b);  // forwards at 100 s: a topology change B must report
  sim.run_until(95 * kSec);
  for (auto& k : sim.links()) {
    k.a_to_b = false;  // from now on A's acks are lost; B's stored info lasts until ~114 s
  }
  sim.run_until(109 * kSec + kStep);
  EXPECT_EQ(sim.count_sent(b, BpduType::kTcn), 5U);  // 100, 102, 104, 106, 108 s
  EXPECT_TRUE(sim[b].stp().topology_change_detected);
  for (auto& k : sim.links()) {
    k.a_to_b = true;
  }
  sim.run_until(113 * kSec);
  EXPECT_FALSE(sim[b].stp().topology_change_detected);
  const auto n = sim.count_sent(b, BpduType::kTcn);
  sim.run_until(120 * kSec);
  EXPECT_EQ(sim.count_sent(b, BpduType::kTcn), n);
}

TEST_F(TwoBridgeLoop, RootPortLinkDownMovesTheRootPortToTheBlockedLink) {
  sim.run_until(40 * kSec);
  ASSERT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  sim.set_link(0, false);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kDisabled);
  EXPECT_EQ(sim[b].stp().root_port, 2);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kListening);
  sim.run_until(55 * kSec - kStep);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kListening);
  sim.run_until(55 * kSec);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kLearning);
  sim.run_until(70 * kSec);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kForwarding);
  EXPECT_EQ(sim[b].stp().root_id, bridge_id(0x8000, mac(0x0a, 0)));
  // the link comes back: B's port 0 wins the root port again, port 1 blocks
  sim.set_link(0, true);
  sim.run_until(75 * kSec);
  EXPECT_EQ(sim[b].stp().root_port, 1);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  sim.run_until(110 * kSec);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kForwarding);
  EXPECT_EQ(count_state(sim[b], StpPortState::kBlocking), 1U);
}

TEST_F(TwoBridgeLoop, LostRootInformationAgesOutAfterMaxAge) {
  sim.run_until(40 * kSec);
  for (auto& k : sim.links()) {
    k.a_to_b = false;
  }
  sim.run_until(58 * kSec);
  EXPECT_EQ(sim[b].stp().root_port, 1);  // last BPDU received at 38.1 s, max age 20 s
  sim.run_until(58 * kSec + kStep);
  EXPECT_EQ(sim[b].stp().root_id, bridge_id(0x8000, mac(0x0b, 0)));
  EXPECT_EQ(sim[b].stp().root_port, 0);
}

TEST_F(TwoBridgeLoop, StpOffKeepsBlockedPortUntilItsInformationAges) {
  sim.run_until(40 * kSec);
  auto cfg = sim[b].config();
  cfg.stp = false;
  ASSERT_TRUE(sim[b].set_config(cfg, sim.now()));
  sim.run_until(45 * kSec);
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kBlocking);
  EXPECT_EQ(sim.count_sent(b, BpduType::kConfig, 40 * kSec), 0U);
  sim.run_until(61 * kSec);  // message age timer: designated, forwarding at once (no STP)
  EXPECT_EQ(sim[b].port_state(1), StpPortState::kForwarding);
  EXPECT_EQ(sim[b].port_state(0), StpPortState::kForwarding);
}

TEST_F(TwoBridgeLoop, BridgePriorityDecidesTheRoot) {
  auto cfg = sim[b].config();
  cfg.priority = 0x1000;
  ASSERT_TRUE(sim[b].set_config(cfg, sim.now()));
  sim.run_until(40 * kSec);
  const auto root = bridge_id(0x1000, mac(0x0b, 0));
  EXPECT_EQ(sim[a].stp().root_id, root);
  EXPECT_EQ(sim[b].stp().root_id, root);
  EXPECT_EQ(count_state(sim[b], StpPortState::kForwarding), 2U);
  EXPECT_EQ(sim[a].port_state(1), StpPortState::kBlocking);
  EXPECT_EQ(sim[a].port_state(0), StpPortState::kForwarding);
}

TEST_F(TwoBridgeLoop, BpdusAreIgnoredWithStpOffOrOnDisabledPorts) {
  ConfigBpdu superior;
  superior.root_id = bridge_id(0x0001, mac(0x01, 0));
  superior.bridge_id = superior.root_id;
  superior.port_id = 0x8001;
  superior.max_age_ns = 20 * kSec;
  superior.hello_time_ns = 2 * kSec;
  superior.forward_delay_ns = 15 * kSec;
  const auto f = encode_config_bpdu(mac(0x01, 1), superior);
  std::vector<BpduOut> out;
  sim[a].set_port_carrier(0, false, sim.now());
  sim[a].receive_bpdu(0, FrameView{f}, sim.now(), out);
  EXPECT_EQ(sim[a].stp().root_id, bridge_id(0x8000, mac(0x0a, 0)));
  auto cfg = sim[a].config();
  cfg.stp = false;
  ASSERT_TRUE(sim[a].set_config(cfg, sim.now()));
  sim[a].receive_bpdu(1, FrameView{f}, sim.now(), out);
  EXPECT_EQ(sim[a].stp().root_id, bridge_id(0x8000, mac(0x0a, 0)));
  cfg.stp = true;
  ASSERT_TRUE(sim[a].set_config(cfg, sim.now()));
  sim[a].receive_bpdu(1, FrameView{f}, sim.now(), out);
  EXPECT_EQ(sim[a].stp().root_id, superior.root_id);  // and now it counts
  EXPECT_EQ(sim[a].stp().root_port, 2);
}

TEST_F(TwoBridgeLoop, MessageAgeGrowsOnRelayedBpdus) {
  // a third bridge behind B sees A's BPDUs relayed with message age > 0
  const auto c = sim.add_bridge(0x0c);
  const auto bp = sim.add_port(b);
  const auto cp = sim.add_port(c);
  sim.link(b, bp, c, cp);
  sim[c].set_up(true, sim.now());
  sim.run_until(10 * kSec);
  bool relayed = false;
  for (const auto& s : sim.sent()) {
    if (s.from == b && s.port == bp && s.bpdu.type == BpduType::kConfig &&
        s.bpdu.config.root_id == bridge_id(0x8000, mac(0x0a, 0))) {
      relayed = true;
      EXPECT_GT(s.bpdu.config.message_age_ns, 0U);
      EXPECT_LT(s.bpdu.config.message_age_ns, 1 * kSec);
      EXPECT_EQ(s.bpdu.config.root_path_cost, 100U);
    }
  }
  EXPECT_TRUE(relayed);
  EXPECT_EQ(sim[c].stp().root_path_cost, 200U);
}

// Two ports of one bridge on one segment: the bridge hears its own BPDU and blocks the port
// with the higher port id (br_supersedes_port_info's last rule).
TEST(StpSelfLoop, OwnBpduBlocksTheHigherPort) {
  Sim sim;
  const auto a = sim.add_bridge(0x0a);
  const auto p0 = sim.add_port(a);
  const auto p1 = sim.add_port(a);
  sim.link(a, p0, a, p1);
  sim.start();
  sim.run_until(35 * kSec);
  EXPECT_EQ(sim[a].port_state(p1), StpPortState::kBlocking);
  EXPECT_EQ(sim[a].port_state(p0), StpPortState::kForwarding);
  EXPECT_EQ(sim[a].port_stp(p1).designated_port, 0x8001);
}

TEST(StpTimers, StoredInformationExpiresAtMaxAgeMinusMessageAge) {
  BridgeConfig cfg;
  cfg.stp = true;
  Bridge br{mac(0x0b, 0), cfg};
  br.add_port(mac(0x0b, 1), {}, 0);
  br.set_up(true, 0);
  ConfigBpdu b;
  b.root_id = bridge_id(0x8000, mac(0x0a, 0));
  b.bridge_id = b.root_id;
  b.port_id = 0x8001;
  b.message_age_ns = 15 * kSec;
  b.max_age_ns = 20 * kSec;
  b.hello_time_ns = 2 * kSec;
  b.forward_delay_ns = 15 * kSec;
  const auto f = encode_config_bpdu(mac(0x0a, 1), b);
  std::vector<BpduOut> out;
  br.receive_bpdu(0, FrameView{f}, 1 * kSec, out);
  EXPECT_EQ(br.stp().root_id, b.root_id);
  br.tick(6 * kSec - 1, out);
  EXPECT_EQ(br.stp().root_id, b.root_id);
  br.tick(6 * kSec, out);
  EXPECT_EQ(br.stp().root_id, bridge_id(0x8000, mac(0x0b, 0)));
  // a BPDU older than its max age is ignored (br_stp_rcv)
  b.message_age_ns = 21 * kSec;
  const auto stale = encode_config_bpdu(mac(0x0a, 1), b);
  br.receive_bpdu(0, FrameView{stale}, 7 * kSec, out);
  EXPECT_EQ(br.stp().root_id, bridge_id(0x8000, mac(0x0b, 0)));
}

// A, B, C in a triangle: A.p0-B.p0, B.p1-C.p0, C.p1-A.p1. A (lowest id) is root; on the B-C
// segment B (lower id, same cost) is designated, so C's port 0 is the one blocking port.
TEST(StpTriangle, ConvergesWithExactlyOneBlockingPort) {
  Sim sim;
  const auto a = sim.add_bridge(0x0a);
  const auto b = sim.add_bridge(0x0b);
  const auto c = sim.add_bridge(0x0c);
  const auto a0 = sim.add_port(a);
  const auto a1 = sim.add_port(a);
  const auto b0 = sim.add_port(b);
  const auto b1 = sim.add_port(b);
  const auto c0 = sim.add_port(c);
  const auto c1 = sim.add_port(c);
  sim.link(a, a0, b, b0);
  sim.link(b, b1, c, c0);
  sim.link(c, c1, a, a1);
  sim.start();
  sim.run_until(40 * kSec);
  const auto root = bridge_id(0x8000, mac(0x0a, 0));
  for (std::size_t i : {a, b, c}) {
    EXPECT_EQ(sim[i].stp().root_id, root);
  }
  EXPECT_EQ(sim[b].stp().root_port, 1);
  EXPECT_EQ(sim[c].stp().root_port, 2);
  std::size_t blocking = 0;
  for (std::size_t i : {a, b, c}) {
    blocking += count_state(sim[i], StpPortState::kBlocking);
  }
  EXPECT_EQ(blocking, 1U);
  EXPECT_EQ(sim[c].port_state(c0), StpPortState::kBlocking);
  EXPECT_EQ(sim[b].port_state(b1), StpPortState::kForwarding);
  EXPECT_EQ(count_state(sim[a], StpPortState::kForwarding), 2U);

  // the A-B link fails: B's way to the root is now through C, whose blocked port opens
  sim.set_link(0, false);
  sim.run_until(40 * kSec + 20 * kSec + 2 * 15 * kSec + 5 * kSec);
  EXPECT_EQ(sim[b].stp().root_id, root);
  EXPECT_EQ(sim[b].stp().root_port, 2);
  EXPECT_EQ(sim[b].stp().root_path_cost, 200U);
  EXPECT_EQ(sim[c].port_state(c0), StpPortState::kForwarding);
  EXPECT_EQ(sim[b].port_state(b1), StpPortState::kForwarding);
  blocking = 0;
  for (std::size_t i : {a, b, c}) {
    blocking += count_state(sim[i], StpPortState::kBlocking);
  }
  EXPECT_EQ(blocking, 0U);
}

TEST(StpConfig, TimeRangesAndForwardDelayClamp) {
  Bridge br{mac(1, 0)};
  auto cfg = br.config();
  cfg.hello_time_ns = 500 * kMs;
  auto r = br.set_config(cfg, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ERANGE);
  cfg = br.config();
  cfg.max_age_ns = 41 * kSec;
  EXPECT_FALSE(br.set_config(cfg, 0));
  // forward delay 0 is fine without STP, and clamped to 2 s when STP starts
  cfg = br.config();
  cfg.forward_delay_ns = 0;
  ASSERT_TRUE(br.set_config(cfg, 0));
  cfg.stp = true;
  ASSERT_TRUE(br.set_config(cfg, 0));
  EXPECT_EQ(br.config().forward_delay_ns, 2 * kSec);
  EXPECT_EQ(br.stp().forward_delay_ns, 2 * kSec);
  cfg = br.config();
  cfg.forward_delay_ns = 31 * kSec;
  r = br.set_config(cfg, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ERANGE);
}

TEST(StpConfig, SingleBridgeWithStpGoesListeningLearningForwarding) {
  BridgeConfig cfg;
  cfg.stp = true;
  cfg.forward_delay_ns = 4 * kSec;
  Bridge br{mac(1, 0), cfg};
  br.add_port(mac(1, 1), {}, 0);
  br.set_up(true, 0);
  EXPECT_EQ(br.port_state(0), StpPortState::kListening);
  std::vector<BpduOut> out;
  br.tick(4 * kSec, out);
  EXPECT_EQ(br.port_state(0), StpPortState::kLearning);
  br.tick(8 * kSec, out);
  EXPECT_EQ(br.port_state(0), StpPortState::kForwarding);
  // hellos at 2, 4, 6, 8 s out of port 0, sourced from its MAC
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].port, 0U);
  EXPECT_EQ(Mac::from_bytes(out[0].frame.data() + 6), mac(1, 1));
  // STP on with ports already forwarding: they stay forwarding (br_stp_start)
  Bridge nostp{mac(2, 0)};
  nostp.add_port(mac(2, 1), {}, 0);
  nostp.set_up(true, 0);
  auto c2 = nostp.config();
  c2.stp = true;
  ASSERT_TRUE(nostp.set_config(c2, 1 * kSec));
  EXPECT_EQ(nostp.port_state(0), StpPortState::kForwarding);
}

}  // namespace
}  // namespace subnic::core
