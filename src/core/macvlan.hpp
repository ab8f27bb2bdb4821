// macvlan port: the per-lower switching logic and configuration rules of macvlan/macvtap, as
// values.
//
// Source of every rule: torvalds/linux drivers/net/macvlan.c (v6.18) — the functions are named
// on each method below — and /work/shared/docs/semantics.md §2. A MacvlanPort is the analogue of
// `struct macvlan_port`: it owns the uppers stacked on one lower and decides, for one frame,
// who receives it. It does no I/O and keeps no clock; the daemon applies the decisions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/drop_reason.hpp"
#include "core/error.hpp"
#include "core/frame.hpp"
#include "core/mac.hpp"
#include "core/mac_table.hpp"
#include "core/port.hpp"

namespace subnic::core {

/// macvlan modes with their netlink values (include/uapi/linux/if_link.h, enum macvlan_mode).
enum class MacvlanMode : std::uint8_t {
  kPrivate = 1,
  kVepa = 2,
  kBridge = 4,
  kPassthru = 8,
  kSource = 16,
};

/// The mode's name as `ip` spells it ("private", "vepa", ...).
std::string_view to_string(MacvlanMode m);
/// Parses a mode name as `ip` spells it.
std::optional<MacvlanMode> parse_macvlan_mode(std::string_view s);

/// macvlan flags (MACVLAN_FLAG_*): bit values as in if_link.h.
inline constexpr std::uint16_t kMacvlanNoPromisc = 1;
inline constexpr std::uint16_t kMacvlanNoDst = 2;

/// Defaults of the port-wide broadcast queue (macvlan.c MACVLAN_DEFAULT_BC_QUEUE_LEN, bc_cutoff).
inline constexpr std::uint32_t kDefaultBcQueueLen = 1000;  // frames
inline constexpr std::int32_t kDefaultBcLim = 1;           // subscribers

/// Source-mode list operation (IFLA_MACVLAN_MACADDR_MODE).
enum class MacaddrOp : std::uint8_t { kAdd, kDel, kSet, kFlush };

/// The type-specific words of one `link add` / `link set ... type macvlan` request. Absent
/// fields are attributes `ip` would not send.
struct MacvlanChange {
  std::optional<MacvlanMode> mode;
  std::optional<std::uint16_t> flags;
  std::optional<MacaddrOp> macaddr_op;
  std::vector<Mac> macaddrs;
  std::optional<std::uint32_t> bcqueuelen;
  std::optional<std::int32_t> bclim;
};

/// One upper's configuration and the state the port switches on.
struct MacvlanUpper : UpperRxFilter {
  std::uint64_t id = 0;  // the daemon's stable id; not interpreted here
  Mac mac;
  MacvlanMode mode = MacvlanMode::kVepa;
  std::uint16_t flags = 0;
  std::uint32_t mtu = 1500;
  std::uint32_t bcqueuelen = kDefaultBcQueueLen;
  bool up = false;  // IFF_UP: only UP uppers are in the MAC hash (macvlan_open/macvlan_stop)
  std::vector<Mac> sources;  // source mode allow-list, in insertion order
  /// subnic's extension (issue 7), off by default as the kernel checks nothing: frames this
  /// upper sends with a source MAC other than `mac` are dropped (DropReason::kSpoofed).
  bool spoofchk = false;
};

class MacvlanPort {
 public:
  explicit MacvlanPort(LowerState lower) : lower_{lower} {}

  // ---- configuration (control thread) ----------------------------------------------------

  /// Adds an upper (macvlan_common_newlink). `mac` nullopt = the caller's random MAC is used
  /// instead (`random_mac`); passthru takes the lower's MAC. `mtu` nullopt = the lower's MTU.
  /// Errors: EINVAL port is passthru, or passthru requested while uppers exist, or macaddr op
  /// without source mode, or unknown flags, or mtu outside 68..lower MTU; EADDRNOTAVAIL
  /// group or zero MAC. A MAC equal to another upper's is accepted: it is checked at up.
  /// Returns the new upper's index.
  Result<std::uint32_t> add_upper(std::uint64_t id, std::optional<Mac> mac, Mac random_mac,
                                  std::optional<std::uint32_t> mtu, const MacvlanChange& change);

  /// Removes an upper (macvlan_uninit / macvlan_port_destroy). Indices above it shift down.
  void remove_upper(std::uint32_t index);

  /// Brings an upper up (macvlan_open). EADDRINUSE when not passthru and its MAC is the
  /// lower's or that of another UP upper.
  Status open(std::uint32_t index);
  /// Brings an upper down (macvlan_stop): it leaves the MAC hash.
  void stop(std::uint32_t index);

  /// Changes an upper's MAC (macvlan_set_mac_address). EADDRNOTAVAIL not a valid unicast MAC;
  /// EADDRINUSE the lower's or an UP upper's MAC. In passthru the lower's MAC must change
  /// instead: returns true, and the caller changes the lower (the upper follows via
  /// set_lower). Same MAC: no-op.
  Result<bool> set_address(std::uint32_t index, const Mac& mac);

  /// Changes an upper's MTU (macvlan_change_mtu). EINVAL above the lower's MTU or below 68.
  Status set_mtu(std::uint32_t index, std::uint32_t mtu);

  /// Applies `ip link set NAME type macvlan ...` (macvlan_changelink). EINVAL: mode change to
  /// or from passthru, macaddr op while (after the change) not in source mode, unknown flags.
  /// Leaving source mode flushes the list.
  Status changelink(std::uint32_t index, const MacvlanChange& change);

  /// spoofchk on|off for one upper (subnic's extension; `ip link set DEV vf N spoofchk` is the
  /// SR-IOV equivalent). Never fails.
  void set_spoofchk(std::uint32_t index, bool on) { uppers_.at(index).spoofchk = on; }

  /// maxmacs of the lower (subnic's extension, issue 7: a switch port's MAC limit): at most `n`
  /// distinct MACs among this port's uppers (up or down; the lower's own MAC is not counted, a
  /// passthru upper's MAC is the lower's and counts once); 0 = no limit, the default. add_upper
  /// and set_address then fail with ENOSPC rather than add a MAC beyond it. EBUSY when the
  /// uppers already carry more than `n` (unless `force`: a restored limit is kept as it was).
  Status set_max_macs(std::uint32_t n, bool force = false);
  std::uint32_t max_macs() const { return max_macs_; }
  /// How many distinct MACs the uppers carry (what maxmacs limits).
  std::size_t mac_count() const;

  /// The upper's receive filter state as its own stack set it (promisc, allmulti, list; the
  /// list is normalised with normalize_mc_list).
  void set_upper_rx(std::uint32_t index, bool promisc, bool allmulti, std::vector<Mac> mc_list);

  /// New lower state (macvlan_device_event). Lower MTU below an upper's lowers that upper's
  /// MTU; a passthru upper follows the lower's MAC.
  void set_lower(const LowerState& lower);

  // ---- datapath (const; safe to share read-only between threads) --------------------------

  /// A frame received on the lower (macvlan_handle_frame and the broadcast machinery).
  /// `gso`: the frame is a GSO super-frame (exempt from length checks).
  void receive(FrameView frame, bool gso, BurstState& burst, Decision& out) const;

  /// A frame transmitted by upper `sender` (macvlan_queue_xmit): local deliveries and wire.
  /// Needs no BurstState: a bridge upper's broadcast is distributed synchronously
  /// (macvlan_broadcast from macvlan_queue_xmit), never through the broadcast queue.
  void transmit(std::uint32_t sender, FrameView frame, bool gso, Decision& out) const;

  // ---- inspection ------------------------------------------------------------------------

  const std::vector<MacvlanUpper>& uppers() const { return uppers_; }
  const LowerState& lower() const { return lower_; }
  bool passthru() const { return passthru_; }
  std::int32_t bclim() const { return bclim_; }
  /// max of every upper's bcqueuelen (update_port_bc_queue_len); 0 without uppers.
  std::uint32_t bc_queue_len_used() const { return bc_queue_len_used_; }
  /// The lower MAC before a passthru upper changed it, to restore when it goes (§2.7).
  std::optional<Mac> saved_lower_mac() const { return saved_lower_mac_; }
  std::optional<std::uint32_t> find(std::uint64_t id) const;
  LowerFilter lower_filter() const;
  /// True when the upper's MTU differs from what the port allows and must be lowered.
  /// The port filters: frames in the bc filter are queued, in the mc filter delivered at once.
  bool in_bc_filter(const Mac& dst) const;
  bool in_mc_filter(const Mac& dst) const;

 private:
  void rebuild();
  Status check_change(const MacvlanUpper& u, const MacvlanChange& c, bool creating) const;
  void apply_change(MacvlanUpper& u, const MacvlanChange& c);
  bool addr_busy(const Mac& mac) const;
  /// ENOSPC when a maxmacs limit is set, `mac` is not among the uppers' MACs (ignoring upper
  /// `except`, whose MAC is being replaced) and one more MAC would exceed it.
  Status check_room(const Mac& mac, std::optional<std::uint32_t> except) const;
  /// The uppers' MACs, sorted and distinct, leaving out upper `except` if given.
  std::vector<Mac> distinct_macs(std::optional<std::uint32_t> except) const;
  std::optional<std::uint32_t> lookup_up(const Mac& mac) const;
  /// macvlan_broadcast: one copy to every UP upper in `modes` other than `src` whose filter
  /// accepts dst; `local` copies (bridge transmit) are length-checked against the receiver.
  void broadcast(FrameView frame, const EthHeader& eth, std::optional<std::uint32_t> src,
                 unsigned modes, bool local, bool gso, Decision& out) const;
  /// macvlan_forward_source: copies to UP source-mode uppers listing `src`; true if one of
  /// them has nodst (the frame is consumed).
  bool forward_source(const Mac& src, Decision& out) const;
  /// The unicast half of receive() once the destination upper is known (`dest`: the UP upper
  /// owning dst, the passthru upper, or none): source-mode copies, then `dest` or the lower.
  void receive_unicast(const EthHeader& eth, std::optional<std::uint32_t> dest,
                       Decision& out) const;

  LowerState lower_;
  std::vector<MacvlanUpper> uppers_;
  bool passthru_ = false;
  std::int32_t bclim_ = kDefaultBcLim;
  std::uint32_t bc_queue_len_used_ = 0;
  std::optional<Mac> saved_lower_mac_;
  std::uint32_t max_macs_ = 0;  // 0 = no limit

  // Derived by rebuild() after each configuration change.
  MacTable up_by_mac_;                                  // UP uppers by MAC (vlan_hash)
  std::vector<std::pair<Mac, std::uint32_t>> sources_;  // (source MAC, upper) sorted by MAC
  std::vector<std::uint32_t> up_order_;                 // UP uppers, for flooding
  std::vector<Mac> port_mc_;                            // groups synced by >= 1 UP upper
  std::vector<Mac> port_bc_;                            // groups synced by > bclim UP uppers
  bool lower_all_groups_ = false;                       // lower promisc or allmulti
};

}  // namespace subnic::core
