// Fuzz target: the macvlan port (core/macvlan.hpp). The input configures a port — lower state,
// up to 6 uppers with their modes, flags, MACs, MTUs, source lists and receive filters, then up
// to 6 changes (up/down, remove, changelink, address, MTU, lower state) — and then carries
// frames, each received on the lower or transmitted by an upper.
//
// Input: [lower byte] [n uppers] n x [4 bytes] [n changes] n x [3 bytes]
//        then frames: [direction byte] [2-byte length] [frame] ...
// Invariants: decisions name existing uppers and deliver only to UP ones; a whole-frame drop
// sends nothing; UP non-passthru uppers have distinct MACs; passthru has one upper; every
// upper's MTU fits the lower's.
#include <cstddef>
#include <cstdint>
#include <set>

#include "core/macvlan.hpp"
#include "fuzz_input.hpp"

using namespace subnic;
using namespace subnic::core;
using subnic::fuzz::pool_mac;

namespace {

constexpr MacvlanMode kModes[] = {MacvlanMode::kPrivate, MacvlanMode::kVepa, MacvlanMode::kBridge,
                                  MacvlanMode::kPassthru, MacvlanMode::kSource};

LowerState lower_from(std::uint8_t b) {
  LowerState l;
  l.mac = pool_mac(0);
  l.up = (b & 1) != 0;
  l.carrier = (b & 2) != 0;
  l.promisc = (b & 4) != 0;
  l.allmulti = (b & 8) != 0;
  l.mtu = (b & 0x10) != 0 ? 9000 : ((b & 0x20) != 0 ? 576 : 1500);
  return l;
}

// Two bytes -> one MacvlanChange: mode, flags, source list op, bcqueuelen, bclim.
MacvlanChange change_from(std::uint8_t a, std::uint8_t b) {
  MacvlanChange c;
  if ((a & 0x08) == 0) {
    c.mode = kModes[(a & 0x07) % 5];
  }
  if ((a & 0x10) != 0) {
    c.flags = static_cast<std::uint16_t>((a >> 5) & 0x07);  // bit 2 is an unknown flag
  }
  if ((b & 0x03) != 0) {
    c.macaddr_op = static_cast<MacaddrOp>((b & 0x03) - 1 + ((b & 0x40) ? 1 : 0));
    c.macaddrs.push_back(pool_mac(b >> 2));
    if ((b & 0x80) != 0) {
      c.macaddrs.push_back(pool_mac((b >> 4) + 3));
    }
  }
  if ((b & 0x20) != 0) {
    c.bcqueuelen = (b & 0x10) != 0 ? 0u : 1u + (b >> 6);
  }
  if ((a & 0x80) != 0 && (b & 0x0c) == 0x0c) {
    c.bclim = static_cast<std::int32_t>(b >> 4) - 2;
  }
  return c;
}

std::vector<Mac> mc_list_from(std::uint8_t b) {
  std::vector<Mac> l;
  for (unsigned i = 0; i < 4; ++i) {
    if ((b & (1u << i)) != 0) {
      l.push_back(pool_mac(static_cast<std::uint8_t>(8 + i)));
    }
  }
  l.push_back(pool_mac(b >> 4));  // anything, unicast included: the port normalises it
  return l;
}

void check_port(const MacvlanPort& port) {
  const auto& uppers = port.uppers();
  FUZZ_CHECK(!port.passthru() || uppers.size() == 1);
  // maxmacs is never set below the count (EBUSY) nor exceeded (ENOSPC).
  FUZZ_CHECK(port.max_macs() == 0 || port.mac_count() <= port.max_macs());
  std::set<Mac> up_macs;
  for (const auto& u : uppers) {
    FUZZ_CHECK(u.mtu <= port.lower().mtu);
    FUZZ_CHECK(u.mac.is_valid_unicast() || port.passthru());
    if (u.up && !port.passthru()) {
      FUZZ_CHECK(up_macs.insert(u.mac).second);
    }
    FUZZ_CHECK(u.mode == MacvlanMode::kSource || u.sources.empty());
  }
  (void)port.lower_filter();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in{data, size};
  MacvlanPort port{lower_from(in.u8())};

  const unsigned n_uppers = in.u8() % 7;
  for (unsigned i = 0; i < n_uppers; ++i) {
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    const std::uint8_t c = in.u8();
    const std::uint8_t d = in.u8();
    std::optional<Mac> mac;
    if ((c & 0x10) == 0) {
      mac = pool_mac(c);
    }
    std::optional<std::uint32_t> mtu;
    if ((c & 0x20) != 0) {
      mtu = (c & 0x40) != 0 ? 1400u : 60u;  // 60: below the minimum MTU
    }
    const auto idx = port.add_upper(i + 1, mac, pool_mac(static_cast<std::uint8_t>(i + 1)), mtu,
                                    change_from(a, b));
    if (!idx) {
      continue;
    }
    FUZZ_CHECK(*idx < port.uppers().size());
    port.set_upper_rx(*idx, (d & 0x01) != 0, (d & 0x02) != 0, mc_list_from(d >> 2));
    if ((c & 0x80) != 0) {
      (void)port.open(*idx);
    }
    check_port(port);
  }

  const unsigned n_changes = in.u8() % 7;
  for (unsigned i = 0; i < n_changes; ++i) {
    const std::uint8_t op = in.u8();
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    if (port.uppers().empty() && (op & 7) != 6) {
      continue;
    }
    const auto idx =
        static_cast<std::uint32_t>(port.uppers().empty() ? 0 : (op >> 3) % port.uppers().size());
    switch (op & 7) {
      case 0:
        (void)port.open(idx);
        break;
      case 1:
        port.stop(idx);
        break;
      case 2:
        port.remove_upper(idx);
        break;
      case 3:
        (void)port.changelink(idx, change_from(a, b));
        break;
      case 4:
        (void)port.set_address(idx, pool_mac(a));
        break;
      case 5:
        (void)port.set_mtu(idx, (a & 1) != 0 ? 1400u + b : 40u + b);
        break;
      case 6: {
        LowerState l = lower_from(a);
        l.mac = pool_mac(b & 7);
        port.set_lower(l);
        break;
      }
      default:
        port.set_upper_rx(idx, (a & 1) != 0, (a & 2) != 0, mc_list_from(b));
        port.set_spoofchk(idx, (a & 4) != 0);
        (void)port.set_max_macs((a >> 3) & 7);
        break;
    }
    check_port(port);
  }

  BurstState burst;
  Decision out;
  while (!in.empty()) {
    const std::uint8_t how = in.u8();
    const FrameView frame{in.chunk()};
    const bool gso = (how & 0x02) != 0;
    out.clear();
    if ((how & 0x01) == 0 || port.uppers().empty()) {
      const std::uint32_t queued = burst.bc_queued;
      port.receive(frame, gso, burst, out);
      FUZZ_CHECK(burst.bc_queued <= queued + 1);
      fuzz::check_decision(out, port.uppers(), out.drop == DropReason::kBcQueueFull);
      FUZZ_CHECK(!out.to_wire);
      if (!frame.parse()) {
        FUZZ_CHECK(out.drop == DropReason::kMalformed && out.deliveries.empty());
      }
    } else {
      const auto sender = static_cast<std::uint32_t>((how >> 2) % port.uppers().size());
      port.transmit(sender, frame, gso, out);
      fuzz::check_decision(out, port.uppers(), false);
      // spoofchk: a foreign source MAC goes nowhere.
      if (const auto eth = frame.parse();
          eth && port.uppers()[sender].spoofchk && eth->src != port.uppers()[sender].mac) {
        FUZZ_CHECK(out.drop == DropReason::kSpoofed && out.deliveries.empty() && !out.to_wire);
      }
      // A frame for the wire or a drop: never both, and a frame that leaves is not also
      // re-received by the lower's own stack.
      FUZZ_CHECK(!(out.to_wire && out.drop != DropReason::kNone));
    }
  }
  return 0;
}
