// Fuzz target: the learning bridge with kernel STP (core/bridge.hpp). The input sets up a
// bridge — its settings, 1..6 ports with their flags, up or down — and then drives a sequence of
// events with a clock that only moves forward: frames received on a port or sent by the bridge,
// BPDUs received, timer ticks, carrier changes, port state and settings changes, ports added and
// removed.
//
// Input: [config byte] [n ports] n x [2 bytes], then events: [event byte] [time byte] [payload]
// where frame and BPDU events carry [2-byte length] [frame].
// Invariants: a decision's ports are existing forwarding ports, ascending and distinct; the
// ingress port only with hairpin; a drop sends nothing; BPDUs go out of existing ports and
// parse as BPDUs; FDB entries name existing ports (or the bridge) and learned entries respect
// fdb_max_learned; the root port is an existing port.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/bridge.hpp"
#include "fuzz_input.hpp"

using namespace subnic;
using namespace subnic::core;
using subnic::fuzz::pool_mac;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000;

BridgePortConfig port_config_from(std::uint8_t a, std::uint8_t b) {
  BridgePortConfig pc;
  pc.hairpin = (a & 0x01) != 0;
  pc.learning = (a & 0x02) == 0;
  pc.flood = (a & 0x04) == 0;
  pc.mcast_flood = (a & 0x08) == 0;
  pc.bcast_flood = (a & 0x10) == 0;
  pc.isolated = (a & 0x20) != 0;
  pc.priority = static_cast<std::uint16_t>((b & 0x3f) + ((a & 0x40) != 0 ? 64 : 0));
  pc.cost = (a & 0x80) != 0 ? 0u : 1u + b * 257u;
  return pc;
}

BridgeConfig config_from(std::uint8_t b, std::uint8_t c) {
  BridgeConfig cfg;
  cfg.stp = (b & 0x01) != 0;
  cfg.ageing_time_ns = (b & 0x02) != 0 ? 0 : ((b & 0x04) != 0 ? 3 * kSec : 300 * kSec);
  cfg.forward_delay_ns = ((c & 0x0f) + 1) * kSec;           // 1..16 s (1: out of range)
  cfg.hello_time_ns = (((c >> 4) & 0x07) + 1) * kSec;       // 1..8 s
  cfg.max_age_ns = (b & 0x08) != 0 ? 5 * kSec : 20 * kSec;  // 5: out of range
  cfg.priority = static_cast<std::uint16_t>((b & 0x30) << 10);
  cfg.fdb_max_learned = (b & 0x40) != 0 ? 2 : 0;
  return cfg;
}

void check_bridge(const Bridge& br) {
  const auto n = br.ports();
  for (const auto& e : br.fdb()) {
    FUZZ_CHECK(e.port >= -1 && e.port < static_cast<std::int32_t>(n));
    FUZZ_CHECK(br.fdb_find(e.mac) == e);
  }
  if (br.config().fdb_max_learned != 0) {
    FUZZ_CHECK(br.fdb_learned() <= br.config().fdb_max_learned);
  }
  const auto s = br.stp();
  if (s.root_port != 0) {
    FUZZ_CHECK(br.port_index(s.root_port).has_value());
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto ps = br.port_stp(i);
    FUZZ_CHECK(br.port_index(ps.port_no) == i);
    FUZZ_CHECK(static_cast<std::uint8_t>(br.port_state(i)) <= 4);
  }
}

void check_decision(const Bridge& br, const BridgeDecision& d, std::optional<std::uint32_t> in) {
  for (std::size_t k = 0; k < d.ports.size(); ++k) {
    const auto q = d.ports[k];
    FUZZ_CHECK(q < br.ports());
    FUZZ_CHECK(k == 0 || d.ports[k - 1] < q);
    FUZZ_CHECK(br.port_state(q) == StpPortState::kForwarding);
    if (in && q == *in) {
      FUZZ_CHECK(br.port_config(q).hairpin);
    }
  }
  if (d.drop != DropReason::kNone) {
    FUZZ_CHECK(d.ports.empty() && !d.to_host && !d.to_stp);
  }
  if (d.to_stp) {
    FUZZ_CHECK(d.ports.empty() && !d.to_host);
  }
  FUZZ_CHECK(!d.link_local || d.to_host);
}

void check_bpdus(const Bridge& br, const std::vector<BpduOut>& out) {
  for (const auto& b : out) {
    FUZZ_CHECK(b.port < br.ports());
    const auto parsed = parse_bpdu(FrameView{b.frame});
    FUZZ_CHECK(parsed.has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in{data, size};
  const std::uint8_t b0 = in.u8();
  const std::uint8_t b1 = in.u8();
  BridgeConfig cfg = config_from(b0, b1);
  cfg.forward_delay_ns = std::max(cfg.forward_delay_ns, 2 * kSec);
  cfg.max_age_ns = 20 * kSec;
  Bridge br{pool_mac(0), cfg};
  std::uint64_t now = 0;
  const unsigned n_ports = 1 + in.u8() % 6;
  for (unsigned i = 0; i < n_ports; ++i) {
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    BridgePortConfig pc = port_config_from(a, b);
    pc.priority &= 0x3f;
    pc.cost = std::max(pc.cost, 1u);
    br.add_port(pool_mac(static_cast<std::uint8_t>(1 + i)), pc, now);
  }
  if ((b0 & 0x80) == 0) {
    br.set_up(true, now);
  }
  check_bridge(br);

  BridgeDecision d;
  std::vector<BpduOut> bpdus;
  while (!in.empty()) {
    const std::uint8_t ev = in.u8();
    now += std::uint64_t{in.u8()} * 100'000'000;  // 0..25.5 s
    bpdus.clear();
    const auto n = static_cast<std::uint32_t>(br.ports());
    const std::uint32_t port = n == 0 ? 0 : (ev >> 4) % n;
    switch (ev & 0x0f) {
      case 0:
      case 1:
      case 2: {  // a frame on a port
        const FrameView f{in.chunk()};
        br.receive(port, f, now, d);
        if (n == 0 || !f.parse()) {
          FUZZ_CHECK(d.drop == DropReason::kMalformed);
        } else {
          check_decision(br, d, port);
        }
        break;
      }
      case 3: {  // a frame from the bridge's own stack
        const FrameView f{in.chunk()};
        br.transmit(f, now, d);
        check_decision(br, d, std::nullopt);
        break;
      }
      case 4:
        if (n != 0) {
          br.receive_bpdu(port, FrameView{in.chunk()}, now, bpdus);
        }
        break;
      case 5:
      case 6:
        br.tick(now, bpdus);
        break;
      case 7:
        if (n != 0) {
          br.set_port_carrier(port, (ev & 0x10) != 0, now);
        }
        break;
      case 8:
        if (n != 0) {
          (void)br.set_port_state(port, static_cast<StpPortState>(in.u8() % 6), now);
        }
        break;
      case 9:
        if (n != 0) {
          const std::uint8_t a = in.u8();
          (void)br.set_port_config(port, port_config_from(a, in.u8()), now);
        }
        break;
      case 10: {
        const std::uint8_t a = in.u8();
        (void)br.set_config(config_from(a, in.u8()), now);
        break;
      }
      case 11:
        if (n != 0 && n > 1) {
          br.remove_port(port, now);
        }
        break;
      case 12:
        if (n < 8) {
          br.add_port(pool_mac(static_cast<std::uint8_t>(1 + (ev >> 4) % 7)), {}, now);
        }
        break;
      case 13:
        br.set_up((ev & 0x10) != 0, now);
        break;
      case 14:
        if (n != 0) {
          br.set_port_mac(port, pool_mac(in.u8() & 7));
        }
        break;
      default:
        br.set_bridge_mac(pool_mac(static_cast<std::uint8_t>((ev >> 4) & 7)), now);
        break;
    }
    br.tick(now, bpdus);
    check_bpdus(br, bpdus);
    check_bridge(br);
  }
  return 0;
}
