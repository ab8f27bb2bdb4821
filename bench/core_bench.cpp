// ns per frame of the macvlan port's decisions: unicast and broadcast, per mode and port size.
#include <benchmark/benchmark.h>

#include <vector>

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
    BurstState b;
    port.transmit(0, FrameView{f}, false, b, d);
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
    BurstState b;
    port.transmit(0, FrameView{f}, false, b, d);
    benchmark::DoNotOptimize(d.to_wire);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransmitVepa);

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

}  // namespace
