// Per-upper and per-lower counters: written by the datapath thread only, read by the control
// thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/drop_reason.hpp"

namespace subnic::daemon {

/// A monotonically increasing count with one writer (the datapath thread) and any number of
/// readers. A relaxed load-add-store is enough for a single writer and avoids a locked
/// instruction per frame.
class Counter {
 public:
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// Counters of one device as `ip -s link` shows them (frames and bytes), plus drops by reason.
/// "rx" is what the device received (for an upper: what subnic delivered to it), "tx" what it
/// sent (for an upper: what subnic read from it).
struct DeviceCounters {
  Counter rx_packets, rx_bytes, rx_dropped, rx_multicast;
  Counter tx_packets, tx_bytes, tx_dropped;
  std::array<Counter, static_cast<std::size_t>(core::DropReason::kCount)> drops;

  void drop(core::DropReason why, bool on_rx) {
    drops[static_cast<std::size_t>(why)].add();
    (on_rx ? rx_dropped : tx_dropped).add();
  }
};

}  // namespace subnic::daemon
