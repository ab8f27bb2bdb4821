// Fuzz target: the ipvlan port (core/ipvlan.hpp) and the DHCP demultiplexing it uses
// (core/dhcp.hpp). The input configures a port — mode and flags, up to 6 uppers with MTUs,
// receive filters and addresses from a small pool (10.0.0.k, fd00::k) — applies up to 6
// changes, then carries frames, each received on the lower or transmitted by an upper. A DHCP
// request an upper transmits is learnt, as the datapath does, so replies can find it.
//
// Input: [mode/flags byte] [n uppers] n x [4 bytes] [n changes] n x [3 bytes]
//        then frames: [direction byte] [2-byte length] [frame] ...
// Invariants: decisions name existing uppers, deliver only to UP ones, a whole-frame drop sends
// nothing; every address has one owner, an address in conflict is owned by another upper, and
// the UP owner found by owner() is the upper holding it; l3_key of an unparsable frame is none.
#include <cstddef>
#include <cstdint>
#include <map>

#include "core/dhcp.hpp"
#include "core/ipvlan.hpp"
#include "fuzz_input.hpp"

using namespace subnic;
using namespace subnic::core;
using subnic::fuzz::pool_mac;

namespace {

IpAddr pool_ip(std::uint8_t b) {
  const std::uint8_t k = b & 0x07;
  if ((b & 0x08) == 0) {
    const std::uint8_t v4[4] = {10, 0, 0, k};
    return IpAddr::from_v4(v4);
  }
  std::uint8_t v6[16] = {0xfd};
  v6[15] = k;
  return IpAddr::from_v6(v6);
}

std::vector<IpAddr> addrs_from(std::uint8_t a, std::uint8_t b) {
  std::vector<IpAddr> v;
  for (unsigned i = 0; i < 8; ++i) {
    if ((a & (1u << i)) != 0) {
      v.push_back(pool_ip(static_cast<std::uint8_t>(i | (b & 0x08))));
    }
  }
  if ((b & 0x80) != 0) {
    v.push_back(pool_ip(b));  // a duplicate, or the other family
  }
  return v;
}

IpvlanChange change_from(std::uint8_t b) {
  IpvlanChange c;
  if ((b & 0x04) == 0) {
    c.mode = static_cast<IpvlanMode>((b & 0x03) % 3);
  }
  if ((b & 0x08) != 0) {
    c.flags = static_cast<std::uint16_t>((b >> 4) & 0x07);  // 3 = private|vepa, 4 unknown
  }
  return c;
}

void check_port(const IpvlanPort& port) {
  const auto& uppers = port.uppers();
  FUZZ_CHECK((port.flags() & (kIpvlanPrivate | kIpvlanVepa)) != (kIpvlanPrivate | kIpvlanVepa));
  std::map<IpAddr, std::uint32_t> owner;
  for (std::uint32_t i = 0; i < uppers.size(); ++i) {
    const auto& u = uppers[i];
    FUZZ_CHECK(std::is_sorted(u.addrs.begin(), u.addrs.end()));
    FUZZ_CHECK(u.mac == port.lower().mac);
    for (const auto& a : u.addrs) {
      FUZZ_CHECK(owner.emplace(a, i).second);  // one owner per address
    }
  }
  for (std::uint32_t i = 0; i < uppers.size(); ++i) {
    for (const auto& a : uppers[i].conflicts) {
      const auto it = owner.find(a);
      FUZZ_CHECK(it != owner.end() && it->second != i);
    }
  }
  for (const auto& [a, i] : owner) {
    const auto o = port.owner(a);
    FUZZ_CHECK(uppers[i].up ? o == i : !o.has_value());
  }
  (void)port.lower_filter();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in{data, size};
  LowerState lower;
  lower.mac = pool_mac(0);
  lower.up = true;
  lower.carrier = true;
  const std::uint8_t port_byte = in.u8();
  lower.mtu = (port_byte & 0x80) != 0 ? 9000 : 1500;
  IpvlanPort port{lower};

  const unsigned n_uppers = in.u8() % 7;
  for (unsigned i = 0; i < n_uppers; ++i) {
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    const std::uint8_t c = in.u8();
    const std::uint8_t d = in.u8();
    std::optional<std::uint32_t> mtu;
    if ((c & 0x01) != 0) {
      mtu = (c & 0x02) != 0 ? 1400u : 9000u;
    }
    const auto idx =
        port.add_upper(i + 1, mtu, i == 0 ? change_from(port_byte) : change_from(c >> 2));
    if (!idx) {
      continue;
    }
    FUZZ_CHECK(*idx < port.uppers().size());
    port.set_upper_rx(*idx, (d & 0x01) != 0, (d & 0x02) != 0,
                      {pool_mac(d >> 4), pool_mac(static_cast<std::uint8_t>(8 + ((d >> 2) & 3)))});
    if ((c & 0x80) != 0) {
      (void)port.open(*idx);
    }
    port.set_addresses(*idx, addrs_from(a, b));
    check_port(port);
  }

  const unsigned n_changes = in.u8() % 7;
  for (unsigned i = 0; i < n_changes; ++i) {
    const std::uint8_t op = in.u8();
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    if (port.uppers().empty()) {
      break;
    }
    const auto idx = static_cast<std::uint32_t>((op >> 3) % port.uppers().size());
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
        (void)port.changelink(idx, change_from(a));
        break;
      case 4:
        FUZZ_CHECK(!port.set_address(idx, pool_mac(a)));
        break;
      case 5:
        (void)port.set_mtu(idx, (a & 1) != 0 ? 1400u + b : 40u + b);
        break;
      case 6: {
        LowerState l = port.lower();
        l.mac = pool_mac(a & 7);
        l.mtu = 576u + b;
        port.set_lower(l);
        break;
      }
      default:
        port.set_addresses(idx, addrs_from(a, b));
        port.set_spoofchk(idx, (op & 0x80) != 0);
        break;
    }
    check_port(port);
  }

  DhcpTable dhcp;
  Decision out;
  while (!in.empty()) {
    const std::uint8_t how = in.u8();
    const FrameView frame{in.chunk()};
    const bool gso = (how & 0x02) != 0;
    out.clear();
    if (const auto eth = frame.parse()) {
      for (const bool use_dest : {false, true}) {
        if (const auto k = l3_key(frame, *eth, use_dest)) {
          FUZZ_CHECK(eth->ethertype == kEthPIpv4 || eth->ethertype == kEthPIpv6 ||
                     eth->ethertype == kEthPArp);
        }
      }
    }
    if ((how & 0x01) == 0 || port.uppers().empty()) {
      port.receive(frame, gso, (how & 0x04) != 0 ? &dhcp : nullptr, out);
      fuzz::check_decision(out, port.uppers(), false);
      FUZZ_CHECK(!out.to_wire && !out.to_host_route && !out.to_host_neigh);
    } else {
      const auto sender = static_cast<std::uint32_t>((how >> 3) % port.uppers().size());
      port.transmit(sender, frame, gso, out);
      fuzz::check_decision(out, port.uppers(), false);
      // spoofchk: a source that is not the sender's goes nowhere; one that is passes the check.
      if (const auto eth = frame.parse(); eth && port.uppers()[sender].spoofchk) {
        const bool spoofed = spoofed_source(frame, *eth, port.uppers()[sender]);
        FUZZ_CHECK(spoofed == (out.drop == DropReason::kSpoofed));
        if (spoofed) {
          FUZZ_CHECK(out.deliveries.empty() && !out.to_wire && !out.to_host_route &&
                     !out.to_host_neigh);
        }
      }
      if (const auto eth = frame.parse();
          eth && port.mode() == IpvlanMode::kL2 && eth->dst.is_group() && eth->dst != eth->src) {
        for (const auto& d : out.deliveries) {
          FUZZ_CHECK(d.upper != sender);  // a flood skips its sender
        }
      }
      // At most one of: the wire, the lower's IP output, the lower's neighbour table.
      FUZZ_CHECK(int{out.to_wire} + int{out.to_host_route} + int{out.to_host_neigh} <= 1);
      if (const auto d = parse_dhcp(frame); d && d->op == 1) {
        dhcp.learn(*d, port.uppers()[sender].id);
      }
    }
    if ((how & 0x40) != 0 && !port.uppers().empty()) {
      dhcp.forget(port.uppers()[(how >> 3) % port.uppers().size()].id);
    }
  }
  return 0;
}
