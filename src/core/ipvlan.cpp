// ipvlan port: configuration rules and per-frame decisions (drivers/net/ipvlan, semantics.md §3).
#include "core/ipvlan.hpp"

#include <algorithm>

namespace subnic::core {

namespace {

constexpr std::size_t kIpv4HeaderMin = 20;  // bytes
constexpr std::size_t kIpv6Header = 40;     // bytes
constexpr std::size_t kArpEthIpv4 = 28;     // bytes: Ethernet/IPv4 ARP body
constexpr std::uint8_t kIcmpv6 = 58;        // NEXTHDR_ICMP
constexpr std::uint8_t kNeighbourSolicitation = 135;
constexpr std::uint16_t kMaxDevId = 0xFFFD;  // ipvlan_link_new: ida range 0x1..0xFFFE exclusive

std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

bool all_zero(const std::uint8_t* p, std::size_t n) {
  return std::all_of(p, p + n, [](std::uint8_t b) { return b == 0; });
}

}  // namespace

std::string_view to_string(IpvlanMode m) {
  switch (m) {
    case IpvlanMode::kL2:
      return "l2";
    case IpvlanMode::kL3:
      return "l3";
    case IpvlanMode::kL3S:
      return "l3s";
  }
  return "unknown";
}

std::optional<IpvlanMode> parse_ipvlan_mode(std::string_view s) {
  for (auto m : {IpvlanMode::kL2, IpvlanMode::kL3, IpvlanMode::kL3S}) {
    if (to_string(m) == s) {
      return m;
    }
  }
  return std::nullopt;
}

std::string_view ipvlan_flags_word(std::uint16_t flags) {
  if (flags & kIpvlanPrivate) {
    return "private";
  }
  if (flags & kIpvlanVepa) {
    return "vepa";
  }
  return "bridge";
}

std::optional<IpAddr> l3_key(FrameView frame, const EthHeader& eth, bool use_dest) {
  const auto b = frame.bytes();
  const std::size_t off = eth.payload_offset;
  if (eth.vlan_id) {
    return std::nullopt;  // the outer EtherType is a tag: ipvlan_get_L3_hdr finds no L3 header
  }
  const std::uint8_t* p = b.data() + off;
  const std::size_t len = b.size() - off;
  switch (eth.ethertype) {
    case kEthPArp: {
      // arp_hdr_len: 8 bytes of header + 2 * (6-byte MAC + 4-byte IPv4).
      if (len < kArpEthIpv4) {
        return std::nullopt;
      }
      return IpAddr::from_v4(p + (use_dest ? 24 : 14));
    }
    case kEthPIpv4: {
      if (len < kIpv4HeaderMin) {
        return std::nullopt;
      }
      const unsigned version = p[0] >> 4;
      const unsigned ihl = p[0] & 0x0f;
      const std::size_t total = load_be16(p + 2);
      if (ihl < 5 || version != 4 || len < total || total < ihl * 4) {
        return std::nullopt;
      }
      return IpAddr::from_v4(p + (use_dest ? 16 : 12));
    }
    case kEthPIpv6: {
      if (len < kIpv6Header || (p[0] >> 4) != 6) {
        return std::nullopt;
      }
      if (all_zero(p + 8, 16) && p[6] == kIcmpv6) {
        // From the unspecified source: only a Neighbour Solicitation (DAD) has a key, its target.
        if (len < kIpv6Header + 4) {
          return std::nullopt;
        }
        if (p[kIpv6Header] != kNeighbourSolicitation) {
          return std::nullopt;
        }
        if (len < kIpv6Header + 8 + 16) {
          return std::nullopt;
        }
        return IpAddr::from_v6(p + kIpv6Header + 8);
      }
      return IpAddr::from_v6(p + (use_dest ? 24 : 8));
    }
    default:
      return std::nullopt;
  }
}

bool spoofed_source(FrameView frame, const EthHeader& eth, const IpvlanUpper& u) {
  if (eth.src != u.mac || eth.vlan_id) {
    return true;
  }
  const auto b = frame.bytes();
  const std::uint8_t* p = b.data() + eth.payload_offset;
  const std::size_t len = b.size() - eth.payload_offset;
  // An owned address, or the unspecified one (`n` bytes at `a`, IPv4 or IPv6).
  const auto ok = [&](const std::uint8_t* a, bool v4) {
    const std::size_t n = v4 ? 4 : 16;
    if (all_zero(a, n)) {
      return true;
    }
    const IpAddr ip = v4 ? IpAddr::from_v4(a) : IpAddr::from_v6(a);
    return std::binary_search(u.addrs.begin(), u.addrs.end(), ip);
  };
  switch (eth.ethertype) {
    case kEthPArp:
      // Sender hardware address at 8, sender IP at 14 (RFC 826, Ethernet/IPv4).
      return len < kArpEthIpv4 || !std::equal(p + 8, p + 14, u.mac.bytes.begin()) ||
             !ok(p + 14, true);
    case kEthPIpv4:
      return len < kIpv4HeaderMin || (p[0] >> 4) != 4 || !ok(p + 12, true);
    case kEthPIpv6:
      return len < kIpv6Header || (p[0] >> 4) != 6 || !ok(p + 8, false);
    default:
      return false;
  }
}

// ---- configuration -----------------------------------------------------------------------

Status IpvlanPort::check_change(const IpvlanChange& c) {
  // ipvlan_nl_validate: mode below IPVLAN_MODE_MAX (the enum makes that true); flags.
  if (c.flags) {
    if ((*c.flags & ~(kIpvlanPrivate | kIpvlanVepa)) != 0) {
      return fail(EINVAL, "RTNETLINK answers: Invalid argument (unknown ipvlan flags)");
    }
    if ((*c.flags & kIpvlanPrivate) && (*c.flags & kIpvlanVepa)) {
      return fail(EINVAL, "RTNETLINK answers: Invalid argument (private and vepa together)");
    }
  }
  if (c.mode && static_cast<unsigned>(*c.mode) > static_cast<unsigned>(IpvlanMode::kL3S)) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument (ipvlan mode)");
  }
  return {};
}

Result<std::uint32_t> IpvlanPort::add_upper(std::uint64_t id, std::optional<std::uint32_t> mtu,
                                            const IpvlanChange& change) {
  if (auto st = check_change(change); !st) {
    return tl::unexpected{st.error()};
  }
  const std::uint32_t m = mtu.value_or(lower_.mtu);
  if (m < kMinMtu || m > kIpvlanMaxMtu) {
    return tl::unexpected{Error{EINVAL, "RTNETLINK answers: Invalid argument"}};
  }
  // dev_id: round robin over 1..0xFFFD, skipping ids in use (ida_alloc_range from dev_id_start).
  if (uppers_.size() >= kMaxDevId) {
    return tl::unexpected{Error{ENOSPC, "RTNETLINK answers: No space left on device"}};
  }
  std::uint16_t dev_id = next_dev_id_;
  while (std::any_of(uppers_.begin(), uppers_.end(),
                     [&](const IpvlanUpper& u) { return u.dev_id == dev_id; })) {
    dev_id = dev_id >= kMaxDevId ? 1 : static_cast<std::uint16_t>(dev_id + 1);
  }
  next_dev_id_ = dev_id >= kMaxDevId ? 1 : static_cast<std::uint16_t>(dev_id + 1);

  // ipvlan_link_new: the port's mode becomes the given one or l3; flags only when given.
  mode_ = change.mode.value_or(IpvlanMode::kL3);
  if (change.flags) {
    flags_ = *change.flags;
  }
  IpvlanUpper u;
  u.id = id;
  u.mac = lower_.mac;
  u.mtu = m;
  u.dev_id = dev_id;
  uppers_.push_back(std::move(u));
  rebuild();
  return static_cast<std::uint32_t>(uppers_.size() - 1);
}

void IpvlanPort::remove_upper(std::uint32_t index) {
  if (index >= uppers_.size()) {
    return;
  }
  (void)set_addresses(index, {});  // releases its addresses to uppers that wanted them
  uppers_.erase(uppers_.begin() + index);
  rebuild();
}

Status IpvlanPort::open(std::uint32_t index) {
  uppers_.at(index).up = true;
  rebuild();
  return {};
}

void IpvlanPort::stop(std::uint32_t index) {
  uppers_.at(index).up = false;
  rebuild();
}

Result<bool> IpvlanPort::set_address(std::uint32_t index, const Mac& mac) {
  // No ndo_set_mac_address: dev_set_mac_address fails before it compares, same MAC or not.
  (void)uppers_.at(index);
  (void)mac;
  return tl::unexpected{Error{EOPNOTSUPP, "RTNETLINK answers: Operation not supported"}};
}

Status IpvlanPort::set_mtu(std::uint32_t index, std::uint32_t mtu) {
  if (mtu < kMinMtu || mtu > kIpvlanMaxMtu) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument");
  }
  uppers_.at(index).mtu = mtu;
  return {};
}

Status IpvlanPort::changelink(std::uint32_t index, const IpvlanChange& change) {
  (void)uppers_.at(index);
  if (auto st = check_change(change); !st) {
    return st;
  }
  // ipvlan_nl_changelink: flags first, then the mode (ipvlan_set_port_mode) for the port.
  if (change.flags) {
    flags_ = *change.flags;
  }
  if (change.mode) {
    mode_ = *change.mode;
  }
  rebuild();
  return {};
}

void IpvlanPort::set_upper_rx(std::uint32_t index, bool promisc, bool allmulti,
                              std::vector<Mac> mc_list) {
  uppers_.at(index).set_rx(promisc, allmulti, std::move(mc_list));
  rebuild();
}

void IpvlanPort::set_lower(const LowerState& lower) {
  const bool mtu_changed = lower.mtu != lower_.mtu;
  lower_ = lower;
  for (auto& u : uppers_) {
    u.mac = lower_.mac;  // NETDEV_CHANGEADDR: eth_hw_addr_set on every slave
    if (mtu_changed) {
      u.mtu = lower_.mtu;  // NETDEV_CHANGEMTU: ipvlan_adjust_mtu, up or down
    }
  }
  rebuild();
}

std::size_t IpvlanPort::set_addresses(std::uint32_t index, std::vector<IpAddr> addrs) {
  std::sort(addrs.begin(), addrs.end());
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
  auto owned_by_other = [&](const IpAddr& a) {
    for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
      if (i != index && std::binary_search(uppers_[i].addrs.begin(), uppers_[i].addrs.end(), a)) {
        return true;
      }
    }
    return false;
  };
  auto& u = uppers_.at(index);
  std::vector<IpAddr> released;
  for (const auto& a : u.addrs) {
    if (!std::binary_search(addrs.begin(), addrs.end(), a)) {
      released.push_back(a);
    }
  }
  std::vector<IpAddr> owned, conflicts;
  std::size_t new_conflicts = 0;
  for (const auto& a : addrs) {
    if (std::binary_search(u.addrs.begin(), u.addrs.end(), a) || !owned_by_other(a)) {
      owned.push_back(a);
    } else {
      conflicts.push_back(a);
      if (!std::binary_search(u.conflicts.begin(), u.conflicts.end(), a)) {
        ++new_conflicts;
      }
    }
  }
  u.addrs = std::move(owned);
  u.conflicts = std::move(conflicts);
  u.conflicts_seen += new_conflicts;
  // A released address goes to the first other upper that has it configured in conflict.
  for (const auto& a : released) {
    for (auto& o : uppers_) {
      auto it = std::lower_bound(o.conflicts.begin(), o.conflicts.end(), a);
      if (&o != &uppers_[index] && it != o.conflicts.end() && *it == a) {
        o.conflicts.erase(it);
        o.addrs.insert(std::lower_bound(o.addrs.begin(), o.addrs.end(), a), a);
        break;
      }
    }
  }
  rebuild();
  return new_conflicts;
}

void IpvlanPort::rebuild() {
  up_addrs_.clear();
  up_order_.clear();
  for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
    if (!uppers_[i].up) {
      continue;
    }
    up_order_.push_back(i);
    for (const auto& a : uppers_[i].addrs) {
      up_addrs_.push_back(AddrKey{load_be64(a.bytes.data()), load_be64(a.bytes.data() + 8), i});
    }
  }
  std::sort(up_addrs_.begin(), up_addrs_.end(), [](const AddrKey& x, const AddrKey& y) {
    return x.hi != y.hi ? x.hi < y.hi : x.lo < y.lo;
  });
}

// ---- inspection ----------------------------------------------------------------------------

std::optional<std::uint32_t> IpvlanPort::find(std::uint64_t id) const {
  for (std::uint32_t i = 0; i < uppers_.size(); ++i) {
    if (uppers_[i].id == id) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<std::uint32_t> IpvlanPort::owner_by_key(const IpAddr& a) const {
  const std::uint64_t hi = load_be64(a.bytes.data());
  const std::uint64_t lo = load_be64(a.bytes.data() + 8);
  auto it = std::lower_bound(up_addrs_.begin(), up_addrs_.end(), 0, [&](const AddrKey& e, int) {
    return e.hi != hi ? e.hi < hi : e.lo < lo;
  });
  if (it != up_addrs_.end() && it->hi == hi && it->lo == lo) {
    return it->upper;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> IpvlanPort::owner(const IpAddr& a) const {
  return owner_by_key(a);
}

LowerFilter IpvlanPort::lower_filter() const {
  LowerFilter f;
  for (const auto i : up_order_) {
    const auto& u = uppers_[i];
    f.multicast.insert(f.multicast.end(), u.mc_list.begin(), u.mc_list.end());
    if (u.allmulti) {
      ++f.allmulti;
    }
  }
  f.multicast = normalize_mc_list(std::move(f.multicast));
  return f;
}

// ---- datapath ------------------------------------------------------------------------------

void IpvlanPort::flood(const EthHeader& eth, std::optional<std::uint32_t> src,
                       Decision& out) const {
  for (const auto i : up_order_) {
    if (src && *src == i) {
      continue;
    }
    if (uppers_[i].accepts_group(eth.dst)) {
      out.deliveries.push_back(Delivery{i, DropReason::kNone, false});
    }
  }
}

void IpvlanPort::receive(FrameView frame, bool gso, const DhcpTable* dhcp, Decision& out) const {
  (void)gso;
  const auto eth = frame.parse();
  if (!eth) {
    out.drop = DropReason::kMalformed;
    return;
  }
  // subnic's extension (l2): a DHCP reply answering an upper's request goes to that upper only.
  if (mode_ == IpvlanMode::kL2 && dhcp != nullptr) {
    if (const auto d = parse_dhcp(frame); d && d->op == 2) {
      if (const auto id = dhcp->lookup(*d)) {
        if (const auto i = find(*id); i && uppers_[*i].up) {
          out.deliveries.push_back(Delivery{*i, DropReason::kNone, false});
          out.to_lower_host = true;
          return;
        }
      }
    }
  }
  switch (mode_) {
    case IpvlanMode::kL2:
      if (eth->dst.is_group()) {
        // ipvlan_handle_mode_l2: the lower's stack gets it at once; the slaves' copies are
        // queued unless it is a slave's own IP/ARP frame reflected by the switch
        // (ipvlan_external_frame).
        out.to_lower_host = true;
        if (eth->src == lower_.mac) {
          if (const auto k = l3_key(frame, *eth, false); k && owner_by_key(*k)) {
            return;
          }
        }
        if (eth->ethertype == kEthPPause) {
          return;  // ipvlan_multicast_enqueue drops PAUSE frames
        }
        flood(*eth, std::nullopt, out);
        return;
      }
      [[fallthrough]];  // unicast: "perform like l3 mode"
    case IpvlanMode::kL3:
      // ipvlan_handle_mode_l3: any frame keyed to an UP upper goes to it, and only to it.
      if (const auto k = l3_key(frame, *eth, true)) {
        if (const auto i = owner_by_key(*k)) {
          out.deliveries.push_back(Delivery{*i, DropReason::kNone, false});
          out.consumed = true;
          return;
        }
      }
      out.to_lower_host = true;
      return;
    case IpvlanMode::kL3S:
      // ipvlan_handle_frame passes everything to the lower's stack; unicast to an upper's
      // address is moved to the upper at the end of the lower namespace's INPUT hook
      // (ipvlan_l3_rcv / ipvlan_nf_input). subnic delivers it from the lower directly.
      out.to_lower_host = true;
      // The lower's IP layer drops frames for another host (ip_rcv_core: PACKET_OTHERHOST)
      // before the l3s hook runs.
      if (!eth->dst.is_group() && eth->dst != lower_.mac) {
        return;
      }
      if (eth->ethertype == kEthPIpv4 || eth->ethertype == kEthPIpv6) {
        if (const auto k = l3_key(frame, *eth, true)) {
          if (const auto i = owner_by_key(*k)) {
            out.deliveries.push_back(Delivery{*i, DropReason::kNone, false});
          }
        }
      }
      return;
  }
}

void IpvlanPort::transmit(std::uint32_t sender, FrameView frame, bool gso, Decision& out) const {
  const auto eth = frame.parse();
  if (!eth) {
    out.drop = DropReason::kMalformed;
    return;
  }
  // spoofchk (subnic's extension), before anything else looks at the frame: one flag test per
  // frame while off.
  if (uppers_[sender].spoofchk && spoofed_source(frame, *eth, uppers_[sender])) {
    out.drop = DropReason::kSpoofed;
    return;
  }
  const bool vepa = (flags_ & kIpvlanVepa) != 0;
  const bool priv = (flags_ & kIpvlanPrivate) != 0;
  // An owned destination: dropped on a private port, else delivered locally through
  // ipvlan_rcv_frame(local) -> dev_forward_skb, which checks the receiver's MTU
  // (is_skb_forwardable).
  auto to_owner = [&](std::uint32_t d) {
    if (priv) {
      out.drop = DropReason::kPrivate;
      return;
    }
    const bool fits = forwardable(frame.size(), gso, uppers_[d].mtu);
    out.deliveries.push_back(Delivery{d, fits ? DropReason::kNone : DropReason::kTooBig, false});
  };
  if (mode_ == IpvlanMode::kL2) {
    // ipvlan_xmit_mode_l2.
    if (!vepa && eth->dst == eth->src) {
      if (const auto k = l3_key(frame, *eth, true)) {
        if (const auto d = owner_by_key(*k)) {
          to_owner(*d);
          return;
        }
      }
      // "the dest is local": dev_forward_skb to the lower, whose stack receives it — with or
      // without an L3 key. subnic can hand IP to the lower's IP output only.
      if (eth->ethertype == kEthPIpv4 || eth->ethertype == kEthPIpv6) {
        out.to_host_route = true;
        return;
      }
      if (eth->ethertype == kEthPArp) {
        out.to_host_neigh = true;  // what arp_process would learn from it
        return;
      }
      out.drop = DropReason::kNoInject;
      return;
    }
    if (eth->dst.is_group()) {
      if (eth->ethertype == kEthPPause) {
        out.drop = DropReason::kPause;
        return;
      }
      // ipvlan_process_multicast(tx): every other UP upper accepting dst, then the wire.
      flood(*eth, sender, out);
      for (auto& d : out.deliveries) {
        if (!forwardable(frame.size(), gso, uppers_[d.upper].mtu)) {
          d.drop = DropReason::kTooBig;
        }
      }
      out.to_wire = true;
      return;
    }
    out.to_wire = true;
    return;
  }
  // ipvlan_xmit_mode_l3 (l3 and l3s). Without an L3 key (malformed header, ICMPv6 from the
  // unspecified source other than a Neighbour Solicitation) the local lookup is skipped and
  // the frame goes on to ipvlan_process_outbound like any other.
  const auto k = l3_key(frame, *eth, true);
  if (k && !vepa) {
    if (const auto d = owner_by_key(*k)) {
      to_owner(*d);
      return;
    }
  }
  // ipvlan_process_outbound: group destinations and non-IP (ARP) are dropped; IP is routed by
  // the lower's namespace.
  if (eth->dst.is_group() || (eth->ethertype != kEthPIpv4 && eth->ethertype != kEthPIpv6)) {
    out.drop = DropReason::kNotRoutable;
    return;
  }
  // ipvlan_process_v4_outbound accepts unicast and local routes only: a multicast or limited
  // broadcast destination is dropped here; a subnet broadcast is refused by the route lookup.
  if (eth->ethertype == kEthPIpv4 && frame.size() >= eth->payload_offset + kIpv4HeaderMin) {
    const std::uint8_t* dst = frame.bytes().data() + eth->payload_offset + 16;
    const bool limited = dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255;
    if ((dst[0] & 0xf0) == 0xe0 || limited) {
      out.drop = DropReason::kNotRoutable;
      return;
    }
  }
  out.to_host_route = true;
}

}  // namespace subnic::core
