// ipvlan port: the per-lower switching logic and configuration rules of ipvlan/ipvtap, as values.
//
// Source of every rule: torvalds/linux drivers/net/ipvlan/ipvlan_core.c and ipvlan_main.c
// (v6.18) — the functions are named on each method below — and
// /work/shared/docs/semantics.md §3. An IpvlanPort is the analogue of `struct ipvl_port`: mode
// and flags belong to it and are shared by every upper; uppers share the lower's MAC and are
// told apart by their IP addresses. It does no I/O and keeps no clock; the daemon applies the
// decisions (local copies to TAPs, frames to the wire, packets to the lower namespace's IP
// output for l3/l3s).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dhcp.hpp"
#include "core/error.hpp"
#include "core/frame.hpp"
#include "core/ip.hpp"
#include "core/mac.hpp"
#include "core/port.hpp"

namespace subnic::core {

/// ipvlan modes with their netlink values (include/uapi/linux/if_link.h, enum ipvlan_mode).
enum class IpvlanMode : std::uint8_t { kL2 = 0, kL3 = 1, kL3S = 2 };

/// The mode's name as `ip` spells it ("l2", "l3", "l3s").
std::string_view to_string(IpvlanMode m);
std::optional<IpvlanMode> parse_ipvlan_mode(std::string_view s);

/// Port flags (IPVLAN_F_*); neither = bridge. private and vepa are exclusive.
inline constexpr std::uint16_t kIpvlanPrivate = 0x01;
inline constexpr std::uint16_t kIpvlanVepa = 0x02;
/// The flag word as `ip` prints it: "private", "vepa" or "bridge".
std::string_view ipvlan_flags_word(std::uint16_t flags);

/// Largest MTU an ipvlan upper accepts (ipvlan_link_setup: max_mtu = IP_MAX_MTU... 65535).
inline constexpr std::uint32_t kIpvlanMaxMtu = 65535;  // bytes

/// The type-specific words of one `link add` / `link set ... type ipvlan` request, as `ip`
/// sends them (semantics.md §3.8): no words at all = both absent; any word = `flags` present.
struct IpvlanChange {
  std::optional<IpvlanMode> mode;
  std::optional<std::uint16_t> flags;
};

/// One upper and the state the port switches on.
struct IpvlanUpper : UpperRxFilter {
  std::uint64_t id = 0;  // the daemon's stable id; not interpreted here
  Mac mac;               // always the lower's MAC
  std::uint32_t mtu = 1500;
  bool up = false;           // IFF_UP: only UP uppers' addresses are in the lookup table
  std::uint16_t dev_id = 0;  // 1..0xFFFD, distinct per port (ipvlan_link_new)
  /// Addresses this upper owns (configured in its namespace and not owned by another upper
  /// first), sorted.
  std::vector<IpAddr> addrs;
  /// Addresses configured in its namespace that another upper of the port owns: the kernel
  /// would have refused them (EADDRINUSE); subnic keeps the first owner. Sorted.
  std::vector<IpAddr> conflicts;
  std::uint64_t conflicts_seen = 0;  // how many times an address of it was found in conflict
  /// subnic's extension (issue 7), off by default as the kernel checks nothing: frames whose
  /// source is not this upper's are dropped (DropReason::kSpoofed; see spoofed_source()).
  bool spoofchk = false;
};

/// spoofchk's verdict on a frame upper `u` sends (subnic's extension, no kernel source): true
/// when its source is not `u`'s. The source MAC must be `u.mac` (the lower's, shared by every
/// upper); an 802.1Q/802.1ad-tagged frame is refused (its addresses are not checked, and the
/// kernel's ipvlan finds no L3 header in it either); ARP must carry `u.mac` as sender MAC and an
/// owned or unspecified sender IP; IPv4/IPv6 an owned or unspecified (0.0.0.0, ::, for DHCP and
/// DAD) source address. An IPv4/IPv6/ARP header too short (or of the wrong version) to be read
/// cannot be vouched for: spoofed. Other EtherTypes pass on the MAC check alone. "Owned" is
/// `u.addrs` (addresses `u` configured and no other upper owned first), as learnt from its
/// namespace.
bool spoofed_source(FrameView frame, const EthHeader& eth, const IpvlanUpper& u);

/// What a frame's L3 header names (ipvlan_get_L3_hdr + ipvlan_addr_lookup): the address used
/// as the lookup key, if the frame has one. `use_dest`: IPv4/IPv6 destination and ARP target
/// IP; else IPv4/IPv6 source and ARP sender IP. An IPv6 Neighbour Solicitation with the
/// unspecified source (DAD) is keyed by its target in both cases; other ICMPv6 from the
/// unspecified source has no key. Malformed headers (IPv4 ihl < 5, version wrong, total length
/// beyond the frame; short ARP/IPv6) have none. Looks at the outer EtherType only.
std::optional<IpAddr> l3_key(FrameView frame, const EthHeader& eth, bool use_dest);

class IpvlanPort {
 public:
  explicit IpvlanPort(LowerState lower) : lower_{lower} {}

  // ---- configuration (control thread) ----------------------------------------------------

  /// Adds an upper (ipvlan_link_new, ipvlan_nl_validate). An absent mode means l3 for the
  /// whole port (the kernel's default); present flags overwrite the port's. `mtu` nullopt =
  /// the lower's MTU. The upper's MAC is the lower's whatever was asked (`address` is ignored
  /// by the kernel). Errors: EINVAL flags with unknown bits or private|vepa together, mtu
  /// outside 68..65535; ENOSPC no dev_id left (0xFFFD uppers). Returns the new index.
  Result<std::uint32_t> add_upper(std::uint64_t id, std::optional<std::uint32_t> mtu,
                                  const IpvlanChange& change);
  /// Removes an upper (ipvlan_uninit); its addresses are released. Indices above shift down.
  void remove_upper(std::uint32_t index);

  /// Brings an upper up (ipvlan_open): its addresses enter the lookup table. Never fails.
  Status open(std::uint32_t index);
  /// Brings an upper down (ipvlan_stop): its addresses leave the lookup table, stay owned.
  void stop(std::uint32_t index);

  /// An upper's MAC cannot be changed (no ndo_set_mac_address): always EOPNOTSUPP, even for
  /// its current MAC (dev_set_mac_address fails before comparing).
  Result<bool> set_address(std::uint32_t index, const Mac& mac);
  /// Changes an upper's MTU: 68..65535, even above the lower's (ipvlan_link_setup). EINVAL
  /// otherwise.
  Status set_mtu(std::uint32_t index, std::uint32_t mtu);
  /// `ip link set NAME type ipvlan ...` (ipvlan_nl_changelink): applies to the whole port.
  /// EINVAL for flags as in add_upper. An absent mode leaves the mode.
  Status changelink(std::uint32_t index, const IpvlanChange& change);

  /// spoofchk on|off for one upper (subnic's extension; `ip link set DEV vf N spoofchk` is the
  /// SR-IOV equivalent). Never fails.
  void set_spoofchk(std::uint32_t index, bool on) { uppers_.at(index).spoofchk = on; }

  /// The upper's receive filter as its namespace's stack set it.
  void set_upper_rx(std::uint32_t index, bool promisc, bool allmulti, std::vector<Mac> mc_list);

  /// New lower state (ipvlan_device_event): a new MAC is every upper's MAC
  /// (NETDEV_CHANGEADDR); a new MTU is every upper's MTU, up or down (NETDEV_CHANGEMTU).
  void set_lower(const LowerState& lower);

  /// The addresses upper `index`'s namespace has configured on it now (any order, duplicates
  /// allowed). It keeps those it owned, takes those nobody owns, and records those another
  /// upper owns as conflicts (the kernel's ipvlan_addr_busy would have refused them: one
  /// address, one upper per port, up or down). Addresses it no longer has are released, and a
  /// released address passes to the first other upper (by index) that had it in conflict.
  /// Returns how many new conflicts this call found.
  std::size_t set_addresses(std::uint32_t index, std::vector<IpAddr> addrs);

  // ---- datapath (const; safe to share read-only between threads) --------------------------

  /// A frame received on the lower (ipvlan_handle_frame and the multicast worker). `dhcp`:
  /// the datapath's record of DHCP requests; in l2 a DHCP reply answering an upper's request
  /// goes to that upper only (subnic's extension; nullptr = the kernel's behaviour).
  void receive(FrameView frame, bool gso, const DhcpTable* dhcp, Decision& out) const;

  /// A frame transmitted by upper `sender` (ipvlan_queue_xmit): local deliveries, the wire, or
  /// the lower namespace's IP output (`to_host_route`).
  void transmit(std::uint32_t sender, FrameView frame, bool gso, Decision& out) const;

  // ---- inspection ------------------------------------------------------------------------

  const std::vector<IpvlanUpper>& uppers() const { return uppers_; }
  const LowerState& lower() const { return lower_; }
  IpvlanMode mode() const { return mode_; }
  std::uint16_t flags() const { return flags_; }
  /// l3 and l3s uppers are NOARP (ipvlan_open, ipvlan_set_port_mode).
  bool noarp() const { return mode_ != IpvlanMode::kL2; }
  std::optional<std::uint32_t> find(std::uint64_t id) const;
  /// The UP upper whose address `a` is, if any (ipvlan_ht_addr_lookup).
  std::optional<std::uint32_t> owner(const IpAddr& a) const;
  /// The lower's filters: the union of the UP uppers' multicast lists (dev_mc_sync) and one
  /// allmulti reference per UP allmulti upper (ipvlan_change_rx_flags). No unicast entries:
  /// every upper uses the lower's own MAC. No promiscuity.
  LowerFilter lower_filter() const;
  /// Never set for ipvlan; present so code generic over port types compiles.
  std::optional<Mac> saved_lower_mac() const { return std::nullopt; }

 private:
  void rebuild();
  static Status check_change(const IpvlanChange& c);
  std::optional<std::uint32_t> owner_by_key(const IpAddr& a) const;
  /// ipvlan_process_multicast: one copy to every UP upper (except `src`) accepting dst.
  void flood(const EthHeader& eth, std::optional<std::uint32_t> src, Decision& out) const;

  LowerState lower_;
  IpvlanMode mode_ = IpvlanMode::kL3;
  std::uint16_t flags_ = 0;
  std::uint16_t next_dev_id_ = 1;
  std::vector<IpvlanUpper> uppers_;

  // Derived by rebuild(): the UP uppers' addresses as two big-endian 64-bit halves (so integer
  // order is address order) with the owner's index, sorted: the kernel's address hash.
  struct AddrKey {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::uint32_t upper = 0;
  };
  std::vector<AddrKey> up_addrs_;
  std::vector<std::uint32_t> up_order_;
};

}  // namespace subnic::core
