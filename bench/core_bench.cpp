// ns per frame of the macvlan and ipvlan ports' decisions: unicast and broadcast, per mode and
// port size.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/ipvlan.hpp"
#include "core/macvlan.hpp"

namespace {

using namespace subnic::core;

Mac mac_n(std::uint32_t n) {
  return Mac{{0x02, 0x00, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
              static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}};
}

std::vector<std::uint8_t> frame(const Mac& dst, const Mac& src) {
  std::vector<std::uint8_t> f(60, 0);
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 6);
  f[12] = 0x08;
  return f;
}

// A port with `n` UP uppers of one mode on a promiscuous (veth-like) lower.
MacvlanPort make_port(std::uint32_t n, MacvlanMode mode) {
  LowerState l;
  l.mac = mac_n(0xfffffff);
  l.up = l.carrier = l.promisc = true;
  MacvlanPort port{l};
  MacvlanChange c;
  c.mode = mode;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto idx = *port.add_upper(i, mac_n(i), mac_n(i), std::nullopt, c);
    (void)port.open(idx);
  }
  return port;
}

// Unicast from outside to the last upper (receive path).
void BM_ReceiveUnicast(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const auto port = make_port(n, MacvlanMode::kBridge);
  const auto f = frame(mac_n(n - 1), mac_n(0xabcdef));
  Decision d;
  d.deliveries.reserve(n);
  for (auto _ : state) {
    d.clear();
    BurstState b;
    port.receive(FrameView{f}, false, b, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReceiveUnicast)->Arg(2)->Arg(64)->Arg(512);

// Bridge upper to bridge upper (transmit path, local delivery).
void BM_TransmitBridgeUnicast(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const auto port = make_port(n, MacvlanMode::kBridge);
  const auto f = frame(mac_n(1), mac_n(0));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransmitBridgeUnicast)->Arg(2)->Arg(64)->Arg(512);

// vepa transmit: straight to the wire.
void BM_TransmitVepa(benchmark::State& state) {
  const auto port = make_port(2, MacvlanMode::kVepa);
  const auto f = frame(mac_n(1), mac_n(0));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.to_wire);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransmitVepa);

// spoofchk (issue 7) off (0) and on (1): vepa transmit of a frame with the upper's own MAC.
void BM_TransmitVepaSpoofchk(benchmark::State& state) {
  auto port = make_port(2, MacvlanMode::kVepa);
  port.set_spoofchk(0, state.range(0) != 0);
  const auto f = frame(mac_n(1), mac_n(0));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.to_wire);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransmitVepaSpoofchk)->Arg(0)->Arg(1);

// Outside broadcast fanned out to every upper: the cost grows with the receivers.
void BM_ReceiveBroadcast(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const auto port = make_port(n, MacvlanMode::kBridge);
  const auto f = frame(Mac::broadcast(), mac_n(0xabcdef));
  Decision d;
  d.deliveries.reserve(n);
  for (auto _ : state) {
    d.clear();
    BurstState b;
    port.receive(FrameView{f}, false, b, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReceiveBroadcast)->Arg(2)->Arg(64)->Arg(512);

// ---- ipvlan ----------------------------------------------------------------------------------

IpAddr ip4_n(std::uint32_t n) {
  const std::uint8_t b[4] = {10, static_cast<std::uint8_t>(n >> 16),
                             static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  return IpAddr::from_v4(b);
}

// An IPv4/UDP frame of 60 bytes from `src` to `dst` (IP addresses) between the given MACs.
std::vector<std::uint8_t> ip_frame(const Mac& dmac, const Mac& smac, IpAddr src, IpAddr dst) {
  auto f = frame(dmac, smac);
  std::uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[3] = 46;  // total length: 60 - 14
  ip[8] = 64;
  ip[9] = 17;
  std::copy(src.bytes.begin() + 12, src.bytes.end(), ip + 12);
  std::copy(dst.bytes.begin() + 12, dst.bytes.end(), ip + 16);
  return f;
}

// `n` UP ipvlan uppers owning 10.0.0.1 ... on one lower, in `mode`.
IpvlanPort make_ipvlan(std::uint32_t n, IpvlanMode mode) {
  LowerState l;
  l.mac = mac_n(0xfffffff);
  l.up = l.carrier = true;
  IpvlanPort port{l};
  IpvlanChange c;
  c.mode = mode;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto idx = *port.add_upper(i, std::nullopt, c);
    (void)port.set_addresses(idx, {ip4_n(i + 1)});
    (void)port.open(idx);
  }
  return port;
}

// Unicast from outside to the last upper's address (l2/l3 receive: L3 key lookup).
void BM_IpvlanReceiveUnicast(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const auto port = make_ipvlan(n, IpvlanMode::kL2);
  const auto f = ip_frame(port.lower().mac, mac_n(0xabcdef), ip4_n(0xfffe), ip4_n(n));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.receive(FrameView{f}, false, nullptr, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IpvlanReceiveUnicast)->Arg(2)->Arg(64)->Arg(512);

// l2 bridge: upper 0 to upper 1 (dst MAC == src MAC, owned key: local delivery).
void BM_IpvlanTransmitL2Local(benchmark::State& state) {
  const auto port = make_ipvlan(static_cast<std::uint32_t>(state.range(0)), IpvlanMode::kL2);
  const auto f = ip_frame(port.lower().mac, port.lower().mac, ip4_n(1), ip4_n(2));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IpvlanTransmitL2Local)->Arg(2)->Arg(512);

// l3: upper 0 to an outside address (not owned: routed by the lower's namespace).
void BM_IpvlanTransmitL3Routed(benchmark::State& state) {
  const auto port = make_ipvlan(2, IpvlanMode::kL3);
  const auto f = ip_frame(port.lower().mac, port.lower().mac, ip4_n(1), ip4_n(0xfffe));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.to_host_route);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IpvlanTransmitL3Routed);

// spoofchk (issue 7) off (0) and on (1): l2 upper 0 to upper 1 from its own address (the
// source looked up among the upper's addresses when on).
void BM_IpvlanTransmitL2Spoofchk(benchmark::State& state) {
  auto port = make_ipvlan(2, IpvlanMode::kL2);
  port.set_spoofchk(0, state.range(0) != 0);
  const auto f = ip_frame(port.lower().mac, port.lower().mac, ip4_n(1), ip4_n(2));
  Decision d;
  for (auto _ : state) {
    d.clear();
    port.transmit(0, FrameView{f}, false, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IpvlanTransmitL2Spoofchk)->Arg(0)->Arg(1);

// l2: outside broadcast to every upper.
void BM_IpvlanReceiveBroadcast(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  const auto port = make_ipvlan(n, IpvlanMode::kL2);
  const auto f = ip_frame(Mac::broadcast(), mac_n(0xabcdef), ip4_n(0xfffe), ip4_n(0xffffff));
  Decision d;
  d.deliveries.reserve(n);
  for (auto _ : state) {
    d.clear();
    port.receive(FrameView{f}, false, nullptr, d);
    benchmark::DoNotOptimize(d.deliveries.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IpvlanReceiveBroadcast)->Arg(2)->Arg(64)->Arg(512);

}  // namespace
