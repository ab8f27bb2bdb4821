// What every port type shares: the lower as a port sees it, per-frame decisions, lower filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/drop_reason.hpp"
#include "core/mac.hpp"

namespace subnic::core {

inline constexpr std::uint32_t kMinMtu = 68;  // bytes (ETH_MIN_MTU)
/// Frames forwarded locally may exceed the receiver's MTU by the Ethernet header plus one VLAN
/// tag (net/core/dev.c is_skb_forwardable: mtu + hard_header_len + VLAN_HLEN).
inline constexpr std::uint32_t kForwardSlack = 18;  // bytes

/// dev_forward_skb's length check (is_skb_forwardable): a frame of `len` bytes fits a receiver
/// of MTU `mtu` if it is a GSO super-frame or at most mtu + kForwardSlack bytes long.
constexpr bool forwardable(std::size_t len, bool gso, std::uint32_t mtu) {
  return gso || len <= mtu + kForwardSlack;
}

/// The lower device as the port sees it (kept current by the daemon from netlink).
struct LowerState {
  Mac mac;
  bool up = false;       // IFF_UP
  bool carrier = false;  // IFF_LOWER_UP: the uppers' carrier mirrors it (§2.9)
  std::uint32_t mtu = 1500;
  std::uint32_t max_mtu = 65535;
  /// The lower's promiscuity/allmulti as the kernel counts them (IFLA_PROMISCUITY > 0 ...). A
  /// promiscuous or allmulti lower makes both port filters accept every group (§2.5).
  bool promisc = false;
  bool allmulti = false;
  friend bool operator==(const LowerState&, const LowerState&) = default;
};

/// What the port decided for one frame. Reused across frames: clear() keeps capacity, so the
/// datapath does not allocate per frame once warmed up.
struct Delivery {
  std::uint32_t upper = 0;              // index into the port's uppers()
  DropReason drop = DropReason::kNone;  // kNone = deliver; else this copy is dropped and counted
  /// Passthru delivers every unicast "for this host" (PACKET_HOST); a TAP upper's stack only
  /// does so when the destination MAC is its own, so the datapath rewrites it (§13).
  bool rewrite_dst = false;
};

struct Decision {
  std::vector<Delivery> deliveries;
  bool to_wire = false;        // transmit on the lower
  bool to_lower_host = false;  // the kernel lets the lower's own stack see it (informational)
  bool consumed = false;       // the kernel takes it from the lower's stack ([CONSUME])
  /// Hand the IP packet (the frame without its Ethernet header) to the lower namespace's IP
  /// output as a locally sent packet forced out of the lower: ipvlan l3/l3s outbound
  /// (ipvlan_process_outbound), and ipvlan l2 frames for the lower's own stack.
  bool to_host_route = false;
  /// An ARP frame for the lower's own stack (ipvlan l2): subnic cannot inject it, so the
  /// datapath applies what arp_process would learn from it — the sender's neighbour entry.
  bool to_host_neigh = false;
  DropReason drop = DropReason::kNone;  // the whole frame was dropped for this reason

  void clear() {
    deliveries.clear();
    to_wire = false;
    to_lower_host = false;
    consumed = false;
    to_host_route = false;
    to_host_neigh = false;
    drop = DropReason::kNone;
  }
};

/// Per-burst state of the broadcast queue: frames queued in this burst count against the
/// port's bcqueuelen (the kernel's work queue holds at most that many; §2.5).
struct BurstState {
  std::uint32_t bc_queued = 0;
};

/// What the lower's address filters must hold for this port (dev_uc_add / dev_mc_sync /
/// dev_set_promiscuity / dev_set_allmulti by the uppers, macvlan_open and friends).
struct LowerFilter {
  std::vector<Mac> unicast;    // MACs of UP non-passthru uppers (macvlan; ipvlan: none)
  std::vector<Mac> multicast;  // union of the UP uppers' multicast lists
  int promisc = 0;             // references taken on the lower's promiscuity
  int allmulti = 0;            // references taken on the lower's allmulti
  friend bool operator==(const LowerFilter&, const LowerFilter&) = default;
};

/// A device's multicast list as the port keeps it: group addresses only (no broadcast),
/// sorted, each once.
std::vector<Mac> normalize_mc_list(std::vector<Mac> list);

/// An upper's receive filter as its namespace's stack set it; macvlan and ipvlan keep it alike.
struct UpperRxFilter {
  bool promisc = false;
  bool allmulti = false;
  std::vector<Mac> mc_list;  // link-layer multicast list, normalised (normalize_mc_list)

  /// Which group frames the upper takes (macvlan_compute_filter with vlan != NULL,
  /// ipvlan_set_multicast_mac_filter): broadcast always; everything when promisc or allmulti;
  /// else the multicast list. Exact, where the kernels use a 256-bucket hash with false
  /// positives (semantics.md §2.5 allows exactness).
  bool accepts_group(const Mac& dst) const;
  /// Replaces the filter; the list is normalised.
  void set_rx(bool promisc_on, bool allmulti_on, std::vector<Mac> list);
};

}  // namespace subnic::core
