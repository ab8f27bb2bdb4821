// IngressSteer: takes the frames subnic consumes away from the lower's own stack.
//
// The kernel's ipvlan rx handler consumes a frame it delivers to an upper: the lower's IP
// stack never sees it (ipvlan_handle_mode_l3 returns RX_HANDLER_CONSUMED); macvlan's consumes
// the `[CONSUME]` frames of semantics.md §2.3 (macvlan_handle_frame). An AF_PACKET
// socket only copies. So subnic drops those frames on the lower's netfilter *ingress* hook
// (a netdev-family nftables table), which runs after the packet taps — subnicd's socket still
// gets them — and before the IP stack, its PREROUTING hooks and any routing (net/core/dev.c
// __netif_receive_skb_core: ptype_all taps, tc ingress, nf_ingress, rx_handler, ptype_base).
//
// One table per lower, named `subnic_<ifindex>`, in the lower's namespace, managed through
// libnftables. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "core/mac.hpp"
#include "core/macvlan.hpp"

struct nft_ctx;

namespace subnic::sys {

/// What the lower's stack must not see.
struct SteerRules {
  std::vector<core::IpAddr> addrs;  // IPv4 and IPv6: destination / ARP target owned by an upper
  bool unicast_only = false;        // only frames not sent to a group MAC (ipvlan l2)
  bool arp = true;                  // also ARP whose target IP is one of `addrs`
  /// Every frame (a bridge port: br_handle_frame consumes all it bridges).
  bool all = false;
  // macvlan (macvlan_handle_frame). Only untagged frames: a tagged one goes to the lower's
  // VLAN device, if it has one, before the rx handler runs (vlan_do_receive).
  /// Any frame from these source MACs (the lists of the source-mode uppers with nodst:
  /// macvlan_forward_source consumes them, whether that upper is up or not).
  std::vector<core::Mac> src_any;
  /// Broadcast and multicast frames from these source MACs (UP private, passthru and source
  /// uppers: their own frame, reflected, goes back to them only).
  std::vector<core::Mac> src_group;
  /// Every unicast frame (a passthru port: to its upper, or dropped when it is down).
  bool unicast = false;
  /// Nothing to drop: apply() deletes the table.
  bool empty() const {
    return addrs.empty() && !all && src_any.empty() && src_group.empty() && !unicast;
  }
  friend bool operator==(const SteerRules&, const SteerRules&) = default;
};

/// What macvlan_handle_frame takes from the lower's stack for `port` (semantics.md §2.3, the
/// `[CONSUME]` rows): frames from a nodst source list, the reflected group frames of UP
/// private, passthru and source uppers, and every unicast frame of a passthru port. Sorted,
/// without repetitions.
SteerRules macvlan_steer_rules(const core::MacvlanPort& port);

class IngressSteer {
 public:
  /// Prepares the table for the lower `ifname` (index `ifindex`) of the calling thread's
  /// current namespace: the netlink socket libnftables uses is opened here, so later calls
  /// act on this namespace wherever they run. Errors: ENOMEM (context), EPERM without
  /// CAP_NET_ADMIN (reported by the first apply()).
  static Result<IngressSteer> open(std::string ifname, int ifindex);

  IngressSteer(IngressSteer&&) noexcept;
  IngressSteer& operator=(IngressSteer&&) noexcept;
  IngressSteer(const IngressSteer&) = delete;
  IngressSteer& operator=(const IngressSteer&) = delete;
  /// Deletes the table (best effort).
  ~IngressSteer();

  /// Replaces the table's rules with `rules` in one nftables transaction (empty rules
  /// delete the table; the first call also deletes a table of that name left behind by an
  /// earlier process, ignoring errors). No-op when `rules` equals what was applied last. Errors:
  /// Error{EIO, "nftables: <nft's message>"} (no netdev family or ingress hook in the kernel:
  /// CONFIG_NF_TABLES_NETDEV, CONFIG_NETFILTER_INGRESS; device gone).
  Status apply(const SteerRules& rules);

  /// The nftables script apply() runs for `rules` (for tests and logs).
  std::string script(const SteerRules& rules) const;
  std::string table() const;

 private:
  struct CtxDeleter {
    void operator()(nft_ctx* c) const;
  };
  IngressSteer(std::unique_ptr<nft_ctx, CtxDeleter> ctx, std::string ifname, int ifindex);
  Status run(const std::string& cmd);

  std::unique_ptr<nft_ctx, CtxDeleter> ctx_;
  std::string ifname_;
  int ifindex_ = 0;
  bool present_ = false;
  bool swept_ = false;  // the first apply() has run (it clears a table left behind)
  SteerRules applied_;
};

}  // namespace subnic::sys
