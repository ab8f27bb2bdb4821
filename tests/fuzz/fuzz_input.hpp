// What every fuzz target shares: a reader that takes configuration bytes from the front of the
// input (zeros once it is exhausted), invariant checks that abort, and a small pool of MACs the
// seed frames use, so that configuration and frames meet.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "core/mac.hpp"
#include "core/port.hpp"

namespace subnic::fuzz {

/// Reads the fuzz input front to back. Past the end every read yields zeros (or an empty span),
/// so any input is a valid configuration.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_{data}, n_{size} {}

  bool empty() const { return n_ == 0; }
  std::size_t left() const { return n_; }

  std::uint8_t u8() {
    if (n_ == 0) {
      return 0;
    }
    --n_;
    return *p_++;
  }
  std::uint16_t u16() {
    const std::uint16_t hi = u8();
    const std::uint16_t lo = u8();
    return static_cast<std::uint16_t>(hi << 8 | lo);
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return hi << 16 | u16();
  }
  /// Up to `k` bytes.
  std::span<const std::uint8_t> bytes(std::size_t k) {
    k = std::min(k, n_);
    std::span<const std::uint8_t> s{p_, k};
    p_ += k;
    n_ -= k;
    return s;
  }
  /// A chunk: a 2-byte big-endian length, then that many bytes (fewer at the end).
  std::span<const std::uint8_t> chunk() { return bytes(u16()); }
  std::span<const std::uint8_t> rest() { return bytes(n_); }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", what, file, line);
  std::abort();
}

#define FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::subnic::fuzz::invariant_failed(#cond, __FILE__, __LINE__))

/// The MAC pool of the seeds: index 0 is the lower's 02:00:00:00:00:00, 1..7 are
/// 02:00:00:00:00:0k (uppers, hosts), 8..13 multicast 01:00:5e:00:00:0k, 14 broadcast, 15 zero.
inline core::Mac pool_mac(std::uint8_t b) {
  const unsigned k = b & 0x0f;
  if (k < 8) {
    return core::Mac{{0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(k)}};
  }
  if (k < 14) {
    return core::Mac{{0x01, 0x00, 0x5e, 0, 0, static_cast<std::uint8_t>(k - 7)}};
  }
  return k == 14 ? core::Mac::broadcast() : core::Mac{};
}

/// The invariants of a port decision (macvlan, ipvlan): every delivery names an existing upper,
/// a delivered copy goes to an UP upper, and a whole-frame drop sends nothing anywhere. `upper_up`
/// has one entry per upper. A receive may keep copies made before the drop (macvlan: the
/// source-mode copies are netif_rx'd before macvlan_broadcast_enqueue finds the queue full);
/// `allow_copies_with_drop` says so.
template <class Upper>
void check_decision(const core::Decision& d, const std::vector<Upper>& uppers,
                    bool allow_copies_with_drop) {
  for (const auto& del : d.deliveries) {
    FUZZ_CHECK(del.upper < uppers.size());
    if (del.drop == core::DropReason::kNone) {
      FUZZ_CHECK(uppers[del.upper].up);
    }
    FUZZ_CHECK(del.drop < core::DropReason::kCount);
  }
  FUZZ_CHECK(d.drop < core::DropReason::kCount);
  if (d.drop != core::DropReason::kNone) {
    FUZZ_CHECK(!d.to_wire);
    FUZZ_CHECK(!d.to_host_route);
    FUZZ_CHECK(!d.to_host_neigh);
    FUZZ_CHECK(allow_copies_with_drop || d.deliveries.empty());
  }
}

}  // namespace subnic::fuzz
