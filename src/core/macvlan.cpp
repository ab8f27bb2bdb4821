// macvlan port: configuration rules and per-frame decisions (drivers/net/macvlan.c, semantics.md
// §2).
#include "core/macvlan.hpp"

#include <algorithm>

namespace subnic::core {

namespace {

constexpr unsigned bit(MacvlanMode m) {
  return static_cast<unsigned>(m);
}

constexpr unsigned kFromOutside = bit(MacvlanMode::kPrivate) | bit(MacvlanMode::kVepa) |
                                  bit(MacvlanMode::kPassthru) | bit(MacvlanMode::kBridge);

bool valid_mode(MacvlanMode m) {
  switch (m) {
    case MacvlanMode::kPrivate:
    case MacvlanMode::kVepa:
    case MacvlanMode::kBridge:
    case MacvlanMode::kPassthru:
    case MacvlanMode::kSource:
      return true;
  }
  return false;
}

void sort_unique(std::vector<Mac>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool contains_sorted(const std::vector<Mac>& v, const Mac& m) {
  return std::binary_search(v.begin(), v.end(), m);
}

}  // namespace

std::string_view to_string(MacvlanMode m) {
  switch (m) {
    case MacvlanMode::kPrivate:
      return "private";
    case MacvlanMode::kVepa:
      return "vepa";
    case MacvlanMode::kBridge:
      return "bridge";
    case MacvlanMode::kPassthru:
      return "passthru";
    case MacvlanMode::kSource:
      return "source";
  }
  return "unknown";
}

std::optional<MacvlanMode> parse_macvlan_mode(std::string_view s) {
  for (auto m : {MacvlanMode::kPrivate, MacvlanMode::kVepa, MacvlanMode::kBridge,
                 MacvlanMode::kPassthru, MacvlanMode::kSource}) {
    if (to_string(m) == s) {
      return m;
    }
  }
  return std::nullopt;
}

// ---- configuration -----------------------------------------------------------------------

Status MacvlanPort::check_change(const MacvlanUpper& u, const MacvlanChange& c,
                                 bool creating) const {
  // macvlan_validate: flags, mode and macaddr op values.
  if (c.flags && (*c.flags & ~(kMacvlanNoPromisc | kMacvlanNoDst)) != 0) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (unknown macvlan flags)");
  }
  if (c.mode && !valid_mode(*c.mode)) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (unknown macvlan mode)");
  }
  // macvlan_changelink: passthru can't be set or cleared dynamically.
  if (!creating && c.mode &&
      ((*c.mode == MacvlanMode::kPassthru) != (u.mode == MacvlanMode::kPassthru))) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (passthru can't be set or cleared)");
  }
  if (c.macaddr_op) {
    const MacvlanMode mode = c.mode.value_or(u.mode);
    if (mode != MacvlanMode::kSource) {
      return fail(EINVAL, "RTNETLINK answers: Invalid argument (macaddr needs mode source)");
    }
    const bool needs_addr = *c.macaddr_op == MacaddrOp::kAdd || *c.macaddr_op == MacaddrOp::kDel;
    if (needs_addr && c.macaddrs.size() != 1) {
      return fail(EINVAL, "RTNETLINK answers: Invalid argument (macaddr add/del take one MAC)");
    }
    for (const auto& m : c.macaddrs) {
      if (!m.is_valid_unicast()) {
        return fail(EADDRNOTAVAIL, "RTNETLINK answers: Cannot assign requested address");
      }
    }
  }
  return {};
}

void MacvlanPort::apply_change(MacvlanUpper& u, const MacvlanChange& c) {
  if (c.mode) {
    if (u.mode == MacvlanMode::kSource && *c.mode != MacvlanMode::kSource) {
      u.sources.clear();  // macvlan_flush_sources
    }
    u.mode = *c.mode;
  }
  if (c.flags) {
    u.flags = *c.flags;
  }
  if (c.bcqueuelen) {
    u.bcqueuelen = *c.bcqueuelen;
  }
  if (c.bclim) {
    bclim_ = *c.bclim;  // port-wide, last writer wins (update_port_bc_cutoff)
  }
  if (c.macaddr_op) {  // macvlan_changelink_sources
    auto& s = u.sources;
    switch (*c.macaddr_op) {
      case MacaddrOp::kAdd:
        if (std::find(s.begin(), s.end(), c.macaddrs[0]) == s.end()) {
          s.push_back(c.macaddrs[0]);
        }
        break;
      case MacaddrOp::kDel:
        s.erase(std::remove(s.begin(), s.end(), c.macaddrs[0]), s.end());
        break;
      case MacaddrOp::kSet:
        s.clear();
        for (const auto& m : c.macaddrs) {
          if (std::find(s.begin(), s.end(), m) == s.end()) {
            s.push_back(m);
          }
        }
        break;
      case MacaddrOp::kFlush:
        s.clear();
        break;
    }
  }
}

Result<std::uint32_t> MacvlanPort::add_upper(std::uint64_t id, std::optional<Mac> mac,
                                             Mac random_mac, std::optional<std::uint32_t> mtu,
                                             const MacvlanChange& change) {
  // macvlan_common_newlink, in its order.
  if (mtu && (*mtu > lower_.mtu || *mtu < kMinMtu)) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (mtu above the lower's)");
  }
  if (mac && !mac->is_valid_unicast()) {
    return fail(EADDRNOTAVAIL, "RTNETLINK answers: Cannot assign requested address");
  }
  if (passthru_) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (the lower has a passthru upper)");
  }
  MacvlanUpper u;
  u.id = id;
  u.mac = mac.value_or(random_mac);
  u.mtu = mtu.value_or(lower_.mtu);
  if (auto st = check_change(u, change, true); !st) {
    return tl::unexpected{st.error()};
  }
  if (change.mode == MacvlanMode::kPassthru) {
    if (!uppers_.empty()) {
      return fail(EINVAL, "RTNETLINK answers: Invalid argument (passthru needs a lower alone)");
    }
  }
  // subnic's maxmacs, after the kernel's own checks (so its errors keep their precedence).
  if (auto st =
          check_room(change.mode == MacvlanMode::kPassthru ? lower_.mac : u.mac, std::nullopt);
      !st) {
    return tl::unexpected{st.error()};
  }
  if (change.mode == MacvlanMode::kPassthru) {
    passthru_ = true;
    u.mac = lower_.mac;  // eth_hw_addr_inherit
    saved_lower_mac_ = lower_.mac;
  }
  apply_change(u, change);
  uppers_.push_back(std::move(u));
  rebuild();
  return static_cast<std::uint32_t>(uppers_.size() - 1);
}

void MacvlanPort::remove_upper(std::uint32_t index) {
  if (index >= uppers_.size()) {
    return;
  }
  uppers_.erase(uppers_.begin() + index);
  if (uppers_.empty()) {
    passthru_ = false;
  }
  rebuild();
}

std::vector<Mac> MacvlanPort::distinct_macs(std::optional<std::uint32_t> except) const {
  std::vector<Mac> macs;
  macs.reserve(uppers_.size());
  for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
    if (i != except) {
      macs.push_back(uppers_[i].mac);
    }
  }
  sort_unique(macs);
  return macs;
}

std::size_t MacvlanPort::mac_count() const {
  return distinct_macs(std::nullopt).size();
}

Status MacvlanPort::check_room(const Mac& mac, std::optional<std::uint32_t> except) const {
  if (max_macs_ == 0) {
    return {};
  }
  const auto macs = distinct_macs(except);
  if (contains_sorted(macs, mac) || macs.size() < max_macs_) {
    return {};
  }
  return fail(ENOSPC, "Error: the lower already carries " + std::to_string(macs.size()) +
                          " MACs, its maxmacs limit");
}

Status MacvlanPort::set_max_macs(std::uint32_t n, bool force) {
  if (!force && n != 0) {
    if (const auto count = mac_count(); count > n) {
      return fail(EBUSY, "Error: the lower carries " + std::to_string(count) +
                             " MACs, more than maxmacs " + std::to_string(n));
    }
  }
  max_macs_ = n;
  return {};
}

bool MacvlanPort::addr_busy(const Mac& mac) const {
  return mac == lower_.mac || up_by_mac_.find(mac).has_value();  // macvlan_addr_busy
}

Status MacvlanPort::open(std::uint32_t index) {
  auto& u = uppers_.at(index);
  if (u.up) {
    return {};
  }
  if (!passthru_ && addr_busy(u.mac)) {
    return fail(EADDRINUSE, "RTNETLINK answers: Address already in use");
  }
  u.up = true;
  rebuild();
  return {};
}

void MacvlanPort::stop(std::uint32_t index) {
  auto& u = uppers_.at(index);
  if (!u.up) {
    return;
  }
  u.up = false;
  rebuild();
}

Result<bool> MacvlanPort::set_address(std::uint32_t index, const Mac& mac) {
  auto& u = uppers_.at(index);
  if (!mac.is_valid_unicast()) {
    return fail(EADDRNOTAVAIL, "RTNETLINK answers: Cannot assign requested address");
  }
  if (mac == u.mac) {
    return false;
  }
  if (u.mode == MacvlanMode::kPassthru) {
    return true;  // the lower's MAC changes; the upper follows in set_lower
  }
  if (addr_busy(mac)) {
    return fail(EADDRINUSE, "RTNETLINK answers: Address already in use");
  }
  if (auto st = check_room(mac, index); !st) {
    return tl::unexpected{st.error()};
  }
  u.mac = mac;
  rebuild();
  return false;
}

Status MacvlanPort::set_mtu(std::uint32_t index, std::uint32_t mtu) {
  auto& u = uppers_.at(index);
  if (mtu < kMinMtu || mtu > lower_.max_mtu || mtu > lower_.mtu) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (mtu above the lower's)");
  }
  u.mtu = mtu;
  return {};
}

Status MacvlanPort::changelink(std::uint32_t index, const MacvlanChange& change) {
  auto& u = uppers_.at(index);
  if (auto st = check_change(u, change, false); !st) {
    return st;
  }
  apply_change(u, change);
  rebuild();
  return {};
}

void MacvlanPort::set_upper_rx(std::uint32_t index, bool promisc, bool allmulti,
                               std::vector<Mac> mc_list) {
  uppers_.at(index).set_rx(promisc, allmulti, std::move(mc_list));
  rebuild();
}

void MacvlanPort::set_lower(const LowerState& lower) {
  lower_ = lower;
  for (auto& u : uppers_) {
    if (u.mtu > lower_.mtu) {
      u.mtu = lower_.mtu;  // NETDEV_CHANGEMTU: only ever lowered
    }
    if (passthru_) {
      u.mac = lower_.mac;  // NETDEV_CHANGEADDR: passthru follows
    }
  }
  rebuild();
}

std::optional<std::uint32_t> MacvlanPort::find(std::uint64_t id) const {
  for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
    if (uppers_[i].id == id) {
      return i;
    }
  }
  return std::nullopt;
}

LowerFilter MacvlanPort::lower_filter() const {
  LowerFilter f;
  for (const auto& u : uppers_) {
    if (!u.up) {
      continue;
    }
    if (passthru_) {
      f.promisc += (u.flags & kMacvlanNoPromisc) ? 0 : 1;
    } else {
      f.unicast.push_back(u.mac);
    }
    f.allmulti += u.allmulti ? 1 : 0;
    if (passthru_ && u.promisc) {
      // macvlan_change_rx_flags: promisc is not propagated in passthru.
    } else if (u.promisc) {
      f.promisc += 1;
    }
    f.multicast.insert(f.multicast.end(), u.mc_list.begin(), u.mc_list.end());
  }
  sort_unique(f.unicast);
  sort_unique(f.multicast);
  return f;
}

void MacvlanPort::rebuild() {
  std::vector<std::pair<Mac, std::uint32_t>> by_mac;
  up_order_.clear();
  sources_.clear();
  bc_queue_len_used_ = 0;
  std::vector<Mac> synced;  // every UP upper's list, with repetitions, for the subscriber count
  for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
    const auto& u = uppers_[i];
    bc_queue_len_used_ = std::max(bc_queue_len_used_, u.bcqueuelen);
    // A source list stays in the port's vlan_source_hash while its upper is down
    // (macvlan_hash_add_source at changelink): forward_source checks IFF_UP per copy.
    if (u.mode == MacvlanMode::kSource) {
      for (const auto& s : u.sources) {
        sources_.emplace_back(s, i);
      }
    }
    if (!u.up) {
      continue;
    }
    by_mac.emplace_back(u.mac, i);
    up_order_.push_back(i);
    synced.insert(synced.end(), u.mc_list.begin(), u.mc_list.end());
  }
  up_by_mac_.rebuild(by_mac);
  std::stable_sort(sources_.begin(), sources_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Port filters (macvlan_compute_filter with vlan == NULL): a group is in the mc filter when
  // at least one upper synced it, in the bc filter when more than bclim did.
  std::sort(synced.begin(), synced.end());
  port_mc_.clear();
  port_bc_.clear();
  for (std::size_t i = 0; i < synced.size();) {
    std::size_t j = i;
    while (j < synced.size() && synced[j] == synced[i]) {
      ++j;
    }
    const auto subscribers = static_cast<std::int64_t>(j - i);
    port_mc_.push_back(synced[i]);
    if (subscribers > bclim_) {
      port_bc_.push_back(synced[i]);
    }
    i = j;
  }
  lower_all_groups_ = lower_.promisc || lower_.allmulti;
}

bool MacvlanPort::in_bc_filter(const Mac& dst) const {
  if (bclim_ < 0) {
    return false;  // macvlan_recompute_bc_filter: cutoff < 0 empties the filter
  }
  return dst.is_broadcast() || lower_all_groups_ || contains_sorted(port_bc_, dst);
}

bool MacvlanPort::in_mc_filter(const Mac& dst) const {
  return dst.is_broadcast() || lower_all_groups_ || contains_sorted(port_mc_, dst);
}

std::optional<std::uint32_t> MacvlanPort::lookup_up(const Mac& mac) const {
  return up_by_mac_.find(mac);
}

// ---- datapath ----------------------------------------------------------------------------

bool MacvlanPort::forward_source(const Mac& src, Decision& out) const {
  bool consume = false;
  auto it = std::lower_bound(sources_.begin(), sources_.end(), src,
                             [](const auto& e, const Mac& m) { return e.first < m; });
  for (; it != sources_.end() && it->first == src; ++it) {
    // macvlan_forward_source: nodst consumes before macvlan_forward_source_one checks IFF_UP.
    if (uppers_[it->second].flags & kMacvlanNoDst) {
      consume = true;
    }
    if (uppers_[it->second].up) {
      out.deliveries.push_back(Delivery{it->second, DropReason::kNone, false});
    }
  }
  return consume;
}

void MacvlanPort::broadcast(FrameView frame, const EthHeader& eth, std::optional<std::uint32_t> src,
                            unsigned modes, bool local, bool gso, Decision& out) const {
  if (eth.ethertype == kEthPPause) {
    return;  // MAC control frames are never distributed
  }
  for (const std::uint32_t i : up_order_) {
    const auto& u = uppers_[i];
    if ((src && *src == i) || (bit(u.mode) & modes) == 0 || !u.accepts_group(eth.dst)) {
      continue;
    }
    DropReason why = DropReason::kNone;
    if (local && !forwardable(frame.size(), gso, u.mtu)) {
      why = DropReason::kTooBig;  // __dev_forward_skb on the receiver
    }
    out.deliveries.push_back(Delivery{i, why, false});
  }
}

void MacvlanPort::receive(FrameView frame, bool gso, BurstState& burst, Decision& out) const {
  const auto eth = frame.parse();
  if (!eth) {
    out.drop = DropReason::kMalformed;
    return;
  }
  if (eth->dst.is_group()) {
    if (forward_source(eth->src, out)) {
      out.consumed = true;
      return;
    }
    const auto src = lookup_up(eth->src);
    if (src) {
      const auto mode = uppers_[*src].mode;
      if (mode != MacvlanMode::kVepa && mode != MacvlanMode::kBridge) {
        // A private/passthru/source upper's own frame, reflected: back to it only.
        out.deliveries.push_back(Delivery{*src, DropReason::kNone, false});
        out.consumed = true;
        return;
      }
    }
    out.to_lower_host = true;
    unsigned modes = kFromOutside;
    if (src) {
      modes = uppers_[*src].mode == MacvlanMode::kVepa
                  ? bit(MacvlanMode::kVepa) | bit(MacvlanMode::kBridge)
                  : bit(MacvlanMode::kVepa);  // bridge uppers saw it on the way out
    }
    if (in_bc_filter(eth->dst)) {
      // macvlan_broadcast_enqueue: the queue holds at most bc_queue_len_used frames.
      if (burst.bc_queued >= bc_queue_len_used_) {
        out.drop = DropReason::kBcQueueFull;
        return;
      }
      ++burst.bc_queued;
      broadcast(frame, *eth, src, modes, false, gso, out);
    } else if (in_mc_filter(eth->dst)) {
      broadcast(frame, *eth, src, modes, false, gso, out);  // macvlan_multicast_rx
    }
    return;
  }

  std::optional<std::uint32_t> dest;
  if (passthru_) {
    if (!uppers_.empty()) {
      dest = 0;
    }
  } else {
    dest = lookup_up(eth->dst);
  }
  receive_unicast(*eth, dest, out);
}

[[gnu::always_inline]] inline void MacvlanPort::receive_unicast(const EthHeader& eth,
                                                                std::optional<std::uint32_t> dest,
                                                                Decision& out) const {
  if (forward_source(eth.src, out)) {
    out.consumed = true;
    return;
  }
  if (!dest || uppers_[*dest].mode == MacvlanMode::kSource) {
    out.to_lower_host = true;
    return;
  }
  out.consumed = true;
  const auto& u = uppers_[*dest];
  if (!u.up) {
    out.deliveries.push_back(Delivery{*dest, DropReason::kUpperDown, false});
    return;
  }
  out.deliveries.push_back(Delivery{*dest, DropReason::kNone, passthru_ && eth.dst != u.mac});
}

void MacvlanPort::transmit(std::uint32_t sender, FrameView frame, bool gso, Decision& out) const {
  const auto eth = frame.parse();
  if (!eth) {
    out.drop = DropReason::kMalformed;
    return;
  }
  const auto& s = uppers_[sender];
  // spoofchk (subnic's extension), before anything else looks at the frame: one flag test per
  // frame while off.
  if (s.spoofchk && eth->src != s.mac) {
    out.drop = DropReason::kSpoofed;
    return;
  }
  if (!lower_.up || !lower_.carrier) {
    out.drop = DropReason::kNoCarrier;
    return;
  }
  if (s.mode == MacvlanMode::kBridge) {
    if (eth->dst.is_group()) {
      broadcast(frame, *eth, sender, bit(MacvlanMode::kBridge), true, gso, out);
    } else if (const auto dest = lookup_up(eth->dst);
               dest && uppers_[*dest].mode == MacvlanMode::kBridge) {
      // dev_forward_skb(lowerdev): re-received on the lower, through macvlan_handle_frame.
      if (!forwardable(frame.size(), gso, lower_.mtu)) {
        out.drop = DropReason::kTooBig;
        return;
      }
      // The re-received frame is the same unicast: skip its second parse and lookup (a port
      // with a bridge upper is never passthru, so receive() would find the same `dest`).
      receive_unicast(*eth, dest, out);
      out.to_lower_host = false;
      return;
    }
  }
  out.to_wire = true;
}

}  // namespace subnic::core
