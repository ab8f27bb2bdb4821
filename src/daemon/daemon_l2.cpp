// subnicd's 802.1Q devices, veth pairs and learning bridges: creation, configuration, following
// their TAPs and ports, `link show` and `fdb show`.
//
// Sources of the behaviour: torvalds/linux net/8021q/ (vlan_netlink.c vlan_validate and
// vlan_newlink, vlan.c vlan_device_event, vlan_dev.c vlan_dev_open), drivers/net/veth.c
// (veth_newlink, veth_open, veth_close, veth_dellink), net/bridge/ (br_if.c br_add_if and
// br_del_if, br_netlink.c br_changelink and br_setport, br_stp_if.c
// br_stp_recalculate_bridge_id); /work/shared/docs/semantics.md §4, §5, §6.
#include <net/if.h>
#include <net/if_arp.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "ctl/validate.hpp"
#include "daemon/daemon.hpp"
#include "daemon/detail.hpp"

namespace subnic::daemon {

using namespace detail;

namespace {

constexpr std::uint64_t kCentisecondNs = 10'000'000;  // ip's bridge times are clock_t (USER_HZ)

std::string bridge_id_text(std::uint64_t id) {
  // iproute2 prints a bridge id as "8000.aa:bb:cc:dd:ee:ff" (priority in hex, then the MAC).
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04x.%x:%x:%x:%x:%x:%x", static_cast<unsigned>(id >> 48),
                static_cast<unsigned>((id >> 40) & 0xff), static_cast<unsigned>((id >> 32) & 0xff),
                static_cast<unsigned>((id >> 24) & 0xff), static_cast<unsigned>((id >> 16) & 0xff),
                static_cast<unsigned>((id >> 8) & 0xff), static_cast<unsigned>(id & 0xff));
  return buf;
}

/// Applies `ip link ... type bridge` words (times in centiseconds) to `cfg`; the ranges are
/// checked by core::Bridge::set_config.
void apply_bridge_words(const Json& d, core::BridgeConfig& cfg) {
  if (!d.is_object()) {
    return;
  }
  auto cs = [&](const char* key, std::uint64_t& out) {
    if (d.contains(key)) {
      out = d[key].get<std::uint64_t>() * kCentisecondNs;
    }
  };
  cs("ageing_time", cfg.ageing_time_ns);
  cs("forward_delay", cfg.forward_delay_ns);
  cs("hello_time", cfg.hello_time_ns);
  cs("max_age", cfg.max_age_ns);
  if (d.contains("stp_state")) {
    cfg.stp = d["stp_state"].get<std::uint32_t>() != 0;
  }
  if (d.contains("priority")) {
    cfg.priority = d["priority"].get<std::uint16_t>();
  }
  if (d.contains("fdb_max_learned")) {
    cfg.fdb_max_learned = d["fdb_max_learned"].get<std::uint32_t>();
  }
}

const char* operstate_of(unsigned flags, bool carrier, bool lowerlayer) {
  if (!(flags & IFF_UP)) {
    return "DOWN";
  }
  if (carrier) {
    return "UP";
  }
  return lowerlayer ? "LOWERLAYERDOWN" : "DOWN";
}

}  // namespace

// ---- creation ------------------------------------------------------------------------------

Result<std::pair<io::Tap, sys::LinkInfo>> Daemon::make_tap(Netns& ns, const std::string& name,
                                                           const core::Mac& mac, std::uint32_t mtu,
                                                           unsigned txqlen) {
  if (!ctl::valid_ifname(name)) {
    return tl::unexpected(
        err(EINVAL, "Error: argument \"" + name + "\" is wrong: \"name\" not a valid ifname"));
  }
  if (ns.nl.get_link(name)) {
    return tl::unexpected(err(EEXIST, strerror_line(EEXIST)));
  }
  auto guard = sys::NetnsGuard::enter(ns.fd.get());
  if (!guard) {
    return tl::unexpected(guard.error());
  }
  journal_tap(ns, name);
  auto tap = io::Tap::create(name);
  (void)guard->leave();
  if (!tap) {
    return tl::unexpected(tap.error());
  }
  auto li = ns.nl.get_link(name);
  if (li) {
    sys::LinkChange ch;
    ch.ifindex = li->ifindex;
    ch.address = mac;
    ch.mtu = mtu;
    ch.txqlen = txqlen;
    if (auto st = ns.nl.change_link(ch); !st) {
      li = tl::unexpected(st.error());
    } else {
      li = ns.nl.get_link(li->ifindex);
    }
  }
  if (!li) {
    (void)tap->destroy();
    return tl::unexpected(li.error());
  }
  return std::pair{std::move(*tap), std::move(*li)};
}

Result<Json> Daemon::add_vlan(Netns& ns, const Json& p) {
  const std::string name = p.value("name", "");
  if (!p.contains("link")) {
    return tl::unexpected(err(EINVAL, strerror_line(EINVAL) + " (vlan needs \"link LOWER\")"));
  }
  const Json d = p.value("info_data", Json::object());
  if (!d.contains("id")) {
    return tl::unexpected(err(EINVAL, strerror_line(EINVAL) + " (vlan needs \"id VID\")"));
  }
  const auto vid = d["id"].get<std::uint32_t>();
  auto proto = core::VlanProto::k8021Q;
  if (d.contains("protocol")) {
    const auto pr = core::parse_vlan_proto(d["protocol"].get<std::string>());
    if (!pr) {
      return tl::unexpected(err(EPROTONOSUPPORT, strerror_line(EPROTONOSUPPORT)));
    }
    proto = *pr;
  }
  std::uint32_t flags = core::kVlanFlagReorderHdr;
  const std::pair<const char*, std::uint32_t> words[] = {
      {"reorder_hdr", core::kVlanFlagReorderHdr},
      {"gvrp", core::kVlanFlagGvrp},
      {"loose_binding", core::kVlanFlagLooseBinding},
      {"mvrp", core::kVlanFlagMvrp},
      {"bridge_binding", core::kVlanFlagBridgeBinding}};
  const Json fl = d.value("flags", Json::object());
  for (const auto& [w, bit] : words) {
    if (fl.contains(w)) {
      flags = fl[w].get<bool>() ? (flags | bit) : (flags & ~bit);
    }
  }
  auto li = ns.nl.get_link(p["link"].get<std::string>());
  if (!li) {
    return tl::unexpected(li.error());
  }
  // vlan_check_real_dev: an ipvlan upper is NETIF_F_VLAN_CHALLENGED.
  for (const auto& [id, u] : uppers_) {
    if (u.ns == ns.inode && u.ifindex == li->ifindex && lowers_.at(u.lower).port.ipvlan()) {
      return tl::unexpected(err(EOPNOTSUPP, strerror_line(EOPNOTSUPP)));
    }
  }
  if (vid > core::kVlanMaxVid) {
    return tl::unexpected(err(ERANGE, strerror_line(ERANGE)));
  }
  auto lower = lower_for(ns, *li, "");
  if (!lower) {
    return tl::unexpected(lower.error());
  }
  Lower& l = **lower;
  const auto lower_key = l.key;
  std::optional<core::Mac> mac;
  if (p.contains("address")) {
    mac = core::Mac::parse(p["address"].get<std::string>());
    if (!mac) {
      return tl::unexpected(err(EINVAL, "Error: invalid MAC " + p["address"].dump()));
    }
  }
  std::optional<std::uint32_t> mtu;
  if (p.contains("mtu")) {
    mtu = p["mtu"].get<std::uint32_t>();
  }
  const std::uint64_t id = next_id_++;
  auto idx = l.vlans.add(id, proto, static_cast<std::uint16_t>(vid), flags, mtu, mac, li->mtu,
                         li->address);
  if (!idx) {
    release_if_unused(lower_key);
    return tl::unexpected(idx.error());
  }
  const auto& vd = l.vlans.devices()[*idx];
  auto tap = make_tap(ns, name, vd.mac, vd.mtu, p.value("txqueuelen", 1000u));
  if (!tap) {
    l.vlans.remove(*idx);
    release_if_unused(lower_key);
    return tl::unexpected(tap.error());
  }
  l.vlan_ids.push_back(id);
  (void)tap->first.set_carrier(li->up() && li->lower_up());
  Dev dev;
  dev.id = id;
  dev.kind = Dev::Kind::kVlan;
  dev.name = name;
  dev.ns = ns.inode;
  dev.ifindex = tap->second.ifindex;
  dev.io = std::make_shared<UpperIo>(std::move(tap->first));
  dev.mtu = vd.mtu;
  dev.mac = vd.mac;
  dev.lower = lower_key;
  if (auto st = datapath_.watch(id, dev.io->tap.fd()); !st) {
    spdlog::error("{}: {}", name, st.error().message);
  }
  auto& rec = devs_.emplace(id, std::move(dev)).first->second;
  spdlog::info("vlan {} added on {} ({} id {})", name, l.ifname, core::to_string(proto), vid);
  apply_lower(l);
  dirty_ = true;
  return describe_dev(rec, true, false);
}

Result<Json> Daemon::add_veth(Netns& ns, const Json& p) {
  const std::string name = p.value("name", "");
  Netns* ns_a = &ns;
  if (p.contains("to_netns")) {
    auto t = netns_by_name(p["to_netns"].get<std::string>());
    if (!t) {
      return tl::unexpected(t.error());
    }
    ns_a = *t;
  }
  const Json peer = p.value("info_data", Json::object()).value("peer", Json::object());
  // veth_newlink: without IFLA_NET_NS_* in the peer's attributes, the peer is created in the
  // caller's namespace, wherever the first end goes.
  Netns* ns_b = &ns;
  if (peer.contains("to_netns")) {
    auto t = netns_by_name(peer["to_netns"].get<std::string>());
    if (!t) {
      return tl::unexpected(t.error());
    }
    ns_b = *t;
  }
  std::string peer_name = peer.value("name", "");
  if (peer_name.empty()) {
    for (int n = 0; n < 4096 && peer_name.empty(); ++n) {  // the kernel's "veth%d"
      const std::string cand = "veth" + std::to_string(n);
      if (!ns_b->nl.get_link(cand) && !(ns_a == ns_b && cand == name)) {
        peer_name = cand;
      }
    }
  }
  auto mac_of = [](const Json& j) -> Result<core::Mac> {
    if (!j.contains("address")) {
      return random_mac();  // veth_newlink: eth_hw_addr_random for an end with no address
    }
    auto m = core::Mac::parse(j["address"].get<std::string>());
    if (!m) {
      return tl::unexpected(err(EINVAL, "Error: invalid MAC " + j["address"].dump()));
    }
    return *m;
  };
  auto mac_a = mac_of(p);
  auto mac_b = mac_of(peer);
  if (!mac_a || !mac_b) {
    return tl::unexpected(!mac_a ? mac_a.error() : mac_b.error());
  }
  const std::uint32_t mtu_a = p.value("mtu", 1500u);
  const std::uint32_t mtu_b = peer.value("mtu", 1500u);
  for (const auto m : {mtu_a, mtu_b}) {
    if (m < core::kMinMtu || m > 65535) {  // veth: ETH_MIN_MTU .. ETH_MAX_MTU
      return tl::unexpected(err(EINVAL, strerror_line(EINVAL)));
    }
  }
  if (ns_b->nl.get_link(peer_name) || (ns_a == ns_b && peer_name == name)) {
    return tl::unexpected(err(EEXIST, strerror_line(EEXIST)));
  }
  auto tap_a = make_tap(*ns_a, name, *mac_a, mtu_a, p.value("txqueuelen", 1000u));
  if (!tap_a) {
    return tl::unexpected(tap_a.error());
  }
  auto tap_b = make_tap(*ns_b, peer_name, *mac_b, mtu_b, peer.value("txqueuelen", 1000u));
  if (!tap_b) {
    (void)tap_a->first.destroy();
    return tl::unexpected(tap_b.error());
  }
  const std::uint64_t id_a = next_id_++;
  const std::uint64_t id_b = next_id_++;
  auto make = [&](std::uint64_t id, std::uint64_t peer_id, Netns& where, const std::string& n,
                  std::pair<io::Tap, sys::LinkInfo>& t) {
    (void)t.first.set_carrier(false);  // veth_newlink: carrier off until both ends are up
    Dev d;
    d.id = id;
    d.kind = Dev::Kind::kVeth;
    d.name = n;
    d.ns = where.inode;
    d.ifindex = t.second.ifindex;
    d.io = std::make_shared<UpperIo>(std::move(t.first));
    d.mtu = t.second.mtu;
    d.mac = t.second.address;
    d.peer = peer_id;
    if (auto st = datapath_.watch(id, d.io->tap.fd()); !st) {
      spdlog::error("{}: {}", n, st.error().message);
    }
    devs_.emplace(id, std::move(d));
  };
  make(id_a, id_b, *ns_a, name, *tap_a);
  make(id_b, id_a, *ns_b, peer_name, *tap_b);
  spdlog::info("veth {} (netns \"{}\") <-> {} (netns \"{}\") added", name, ns_a->name, peer_name,
               ns_b->name);
  dirty_ = true;
  publish();
  return describe_dev(devs_.at(id_a), true, false);
}

Result<Json> Daemon::add_bridge(Netns& ns, const Json& p) {
  const std::string name = p.value("name", "");
  core::BridgeConfig cfg;
  apply_bridge_words(p.value("info_data", Json::object()), cfg);
  bool mac_set = false;
  core::Mac mac = random_mac();
  if (p.contains("address")) {
    auto m = core::Mac::parse(p["address"].get<std::string>());
    if (!m) {
      return tl::unexpected(err(EINVAL, "Error: invalid MAC " + p["address"].dump()));
    }
    mac = *m;
    mac_set = true;
  }
  auto tap = make_tap(ns, name, mac, p.value("mtu", 1500u), p.value("txqueuelen", 1000u));
  if (!tap) {
    return tl::unexpected(tap.error());
  }
  // A bridge has carrier only while one of its ports forwards (br_port_carrier_check).
  (void)tap->first.set_carrier(false);
  const std::uint64_t id = next_id_++;
  Dev d;
  d.id = id;
  d.kind = Dev::Kind::kBridge;
  d.name = name;
  d.ns = ns.inode;
  d.ifindex = tap->second.ifindex;
  d.io = std::make_shared<UpperIo>(std::move(tap->first));
  d.mtu = tap->second.mtu;
  d.mac = mac;
  d.mac_set = mac_set;
  d.bridge = std::make_shared<BridgeIo>(core::Bridge{mac});
  if (auto st = d.bridge->br.set_config(cfg, mono_ns()); !st) {
    (void)d.io->tap.destroy();
    return tl::unexpected(st.error());
  }
  d.bridge->dev = d.io;
  if (auto st = datapath_.watch(id, d.io->tap.fd()); !st) {
    spdlog::error("{}: {}", name, st.error().message);
  }
  auto& rec = devs_.emplace(id, std::move(d)).first->second;
  spdlog::info("bridge {} added (stp_state {})", name, cfg.stp ? 1 : 0);
  dirty_ = true;
  publish();
  return describe_dev(rec, true, false);
}

// ---- finding and setting -------------------------------------------------------------------

Result<Daemon::Dev*> Daemon::find_dev(const Json& p) {
  const std::string name = p.value("name", "");
  std::uint64_t want = home_ns_;
  if (p.contains("netns")) {
    auto ns = netns_by_name(p["netns"].get<std::string>());
    if (!ns) {
      return tl::unexpected(ns.error());
    }
    want = (*ns)->inode;
  }
  Dev* anywhere = nullptr;
  int count = 0;
  for (auto& [id, d] : devs_) {
    if (d.name != name) {
      continue;
    }
    if (d.ns == want) {
      return &d;
    }
    anywhere = &d;
    ++count;
  }
  if (!p.contains("netns") && count == 1) {
    return anywhere;  // moved into a container: still named by its name
  }
  return tl::unexpected(err(ENODEV, "Cannot find device \"" + name + "\""));
}

Result<Json> Daemon::dev_set(Dev& d, const Json& p) {
  const std::uint64_t id = d.id;
  auto& ns = *netns_.at(d.ns);
  if (p.contains("type") || p.contains("info_data")) {
    const std::string type = p.value("type", "");
    if (d.kind != Dev::Kind::kBridge || (!type.empty() && type != "bridge")) {
      return tl::unexpected(err(EOPNOTSUPP, strerror_line(EOPNOTSUPP)));
    }
    std::lock_guard lock{d.bridge->mu};
    auto cfg = d.bridge->br.config();
    apply_bridge_words(p.value("info_data", Json::object()), cfg);
    if (auto st = d.bridge->br.set_config(cfg, mono_ns()); !st) {
      return tl::unexpected(st.error());
    }
    dirty_ = true;
  }
  if (auto st = rename_word(ns, d.ifindex, p, d.name); !st) {
    return tl::unexpected(st.error());
  }
  if (p.contains("address")) {
    const auto mac = core::Mac::parse(p["address"].get<std::string>());
    if (!mac || !mac->is_valid_unicast()) {
      return tl::unexpected(err(EADDRNOTAVAIL, strerror_line(EADDRNOTAVAIL)));
    }
    if (auto st = ns.nl.set_address(d.ifindex, *mac); !st) {
      return tl::unexpected(st.error());
    }
    if (d.kind == Dev::Kind::kBridge) {
      d.mac_set = true;  // br_set_mac_address: BR_SET_MAC_ADDR, no min-port-MAC rule any more
    }
    sync_dev(id);
  }
  if (p.contains("mtu")) {
    const auto mtu = p["mtu"].get<std::uint32_t>();
    if (d.kind == Dev::Kind::kVlan) {
      // vlan_dev_change_mtu: not above the lower's MTU.
      const auto& l = lowers_.at(d.lower);
      if (mtu > l.port.lower().mtu || mtu < core::kMinMtu) {
        return tl::unexpected(err(ERANGE, strerror_line(ERANGE)));
      }
    }
    if (auto st = ns.nl.set_mtu(d.ifindex, mtu); !st) {
      return tl::unexpected(st.error());
    }
    sync_dev(id);
  }
  rx_flag_words(ns, d.ifindex, p);
  if (auto st = netns_word(ns, d.ifindex, p); !st) {
    return tl::unexpected(st.error());
  }
  if (p.contains("to_netns")) {
    sync_dev(id);
  }
  if (p.contains("up") && devs_.count(id) != 0) {
    Dev& cur = devs_.at(id);
    const bool up = p["up"].get<bool>();
    if (up && cur.kind == Dev::Kind::kVlan) {
      // vlan_dev_open: ENETDOWN while the lower is down, unless loose_binding.
      auto& l = lowers_.at(cur.lower);
      const auto idx = static_cast<std::uint32_t>(
          std::find(l.vlan_ids.begin(), l.vlan_ids.end(), id) - l.vlan_ids.begin());
      if (auto st = l.vlans.open(idx, l.port.lower().up); !st) {
        return tl::unexpected(st.error());
      }
    }
    if (auto st = netns_.at(cur.ns)->nl.set_up(cur.ifindex, up); !st) {
      return tl::unexpected(st.error());
    }
    sync_dev(id);
  }
  publish();
  return Json::object();
}

Status Daemon::set_bridge_port(const Json& p) {
  const std::string name = p.value("name", "");
  auto nsr = netns_by_name(p.value("netns", ""));
  if (!nsr) {
    return tl::unexpected(nsr.error());
  }
  Netns& ns = **nsr;
  auto li = ns.nl.get_link(name);
  if (!li) {
    return tl::unexpected(li.error());
  }
  auto find_port = [&]() -> BridgePort* {
    for (auto& [k, bp] : ports_) {
      if (bp.ns == ns.inode && bp.ifindex == li->ifindex) {
        return &bp;
      }
    }
    return nullptr;
  };
  if (p.contains("nomaster") && p["nomaster"].get<bool>()) {
    if (auto* bp = find_port()) {
      release_port(bp->key);
    }
  }
  if (p.contains("master")) {
    const std::string master = p["master"].get<std::string>();
    Dev* br = nullptr;
    for (auto& [id, d] : devs_) {
      if (d.ns == ns.inode && d.name == master) {
        br = &d;
      }
    }
    if (br == nullptr) {
      if (ns.nl.get_link(master)) {
        // A kernel device that is not a subnic bridge cannot be our port's master.
        return tl::unexpected(err(EOPNOTSUPP, strerror_line(EOPNOTSUPP) + " (\"" + master +
                                                  "\" is not a subnic bridge)"));
      }
      return tl::unexpected(
          err(EINVAL, "Error: argument \"" + master + "\" is wrong: Device does not exist"));
    }
    if (br->kind != Dev::Kind::kBridge) {
      return tl::unexpected(err(EOPNOTSUPP, strerror_line(EOPNOTSUPP)));
    }
    auto* bp = find_port();
    if (bp != nullptr && bp->bridge != br->id) {
      release_port(bp->key);
      bp = nullptr;
    }
    if (bp == nullptr) {
      if (auto st = enslave(*br, ns, *li); !st) {
        return st;
      }
    }
  }
  if (p.value("type", "") == "bridge_slave") {
    auto* bp = find_port();
    if (bp == nullptr) {
      return tl::unexpected(
          err(EOPNOTSUPP, strerror_line(EOPNOTSUPP) + " (\"" + name + "\" is not a bridge port)"));
    }
    const Json d = p.value("info_slave_data", Json::object());
    auto& b = *devs_.at(bp->bridge).bridge;
    std::lock_guard lock{b.mu};
    const auto pos = std::find(b.ports.begin(), b.ports.end(), bp->io) - b.ports.begin();
    const auto idx = static_cast<std::uint32_t>(pos);
    auto pc = b.br.port_config(idx);
    auto flag = [&](const char* key, bool& out) {
      if (d.contains(key)) {
        out = d[key].get<bool>();
      }
    };
    flag("hairpin", pc.hairpin);
    flag("learning", pc.learning);
    flag("flood", pc.flood);
    flag("mcast_flood", pc.mcast_flood);
    flag("bcast_flood", pc.bcast_flood);
    flag("isolated", pc.isolated);
    if (d.contains("priority")) {
      pc.priority = d["priority"].get<std::uint16_t>();
    }
    if (d.contains("cost")) {
      pc.cost = d["cost"].get<std::uint32_t>();
    }
    if (auto st = b.br.set_port_config(idx, pc); !st) {
      return st;
    }
    if (d.contains("state")) {
      const auto s = d["state"].get<std::uint32_t>();
      if (s > 4) {
        return tl::unexpected(err(EINVAL, strerror_line(EINVAL)));
      }
      if (auto st = b.br.set_port_state(idx, static_cast<core::StpPortState>(s)); !st) {
        return st;
      }
    }
    dirty_ = true;
  }
  return {};
}

Status Daemon::enslave(Dev& br, Netns& ns, const sys::LinkInfo& li) {
  // br_add_if: Ethernet, not loopback, not a bridge itself (ELOOP), no other master (EBUSY).
  if (li.type != ARPHRD_ETHER || (li.flags & IFF_LOOPBACK)) {
    return tl::unexpected(err(EINVAL, strerror_line(EINVAL)));
  }
  for (const auto& [id, d] : devs_) {
    if (d.kind == Dev::Kind::kBridge && d.ns == ns.inode && d.ifindex == li.ifindex) {
      return tl::unexpected(err(ELOOP, strerror_line(ELOOP)));
    }
  }
  if (li.master_ifindex != 0 || li.kind == "bridge") {
    return tl::unexpected(err(li.kind == "bridge" ? ELOOP : EBUSY,
                              strerror_line(li.kind == "bridge" ? ELOOP : EBUSY)));
  }
  for (const auto& [k, l] : lowers_) {
    if (l.ns == ns.inode && l.ifindex == li.ifindex) {
      // One rx handler per device: a macvlan/ipvlan lower cannot be a bridge port.
      return tl::unexpected(err(EBUSY, strerror_line(EBUSY) + " (" + li.name + " is already a " +
                                           std::string{l.port.kind()} + " lower)"));
    }
  }
  auto guard = sys::NetnsGuard::enter(ns.fd.get());
  if (!guard) {
    return tl::unexpected(guard.error());
  }
  auto sock = io::PacketSocket::open(li.ifindex);
  auto steer = sys::IngressSteer::open(li.name, li.ifindex);
  (void)guard->leave();
  if (!sock) {
    return tl::unexpected(sock.error());
  }
  // br_add_if: the port is made promiscuous (dev_set_promiscuity(dev, 1)).
  (void)sock->add_membership(io::Membership::kPromisc);
  BridgePort bp;
  bp.key = next_id_++;
  bp.bridge = br.id;
  bp.ns = ns.inode;
  bp.ifindex = li.ifindex;
  bp.ifname = li.name;
  bp.mac = li.address;
  bp.carrier = li.up() && li.lower_up();
  bp.io = std::make_shared<LowerIo>(std::move(*sock));
  if (steer) {
    sys::SteerRules all;
    all.all = true;
    if (auto st = steer->apply(all); st) {
      bp.steer.emplace(std::move(*steer));
    } else {
      spdlog::warn("{}: its own stack will also see bridged frames: {}", li.name,
                   st.error().message);
    }
  }
  {
    std::lock_guard lock{br.bridge->mu};
    const auto now = mono_ns();
    const auto idx = br.bridge->br.add_port(li.address, {}, now);
    br.bridge->ports.insert(br.bridge->ports.begin() + idx, bp.io);
    br.bridge->br.set_port_carrier(idx, bp.carrier, now);
  }
  if (auto st = datapath_.watch(bp.key, bp.io->sock->fd()); !st) {
    spdlog::error("{}: {}", li.name, st.error().message);
  }
  spdlog::info("{} is now a port of bridge {}", li.name, br.name);
  ports_.emplace(bp.key, std::move(bp));
  recalc_bridge_mac(br);
  dirty_ = true;
  publish();
  return {};
}

void Daemon::release_port(std::uint64_t key) {
  auto it = ports_.find(key);
  if (it == ports_.end()) {
    return;
  }
  BridgePort& bp = it->second;
  if (auto b = devs_.find(bp.bridge); b != devs_.end()) {
    auto& bio = *b->second.bridge;
    std::lock_guard lock{bio.mu};
    const auto pos = std::find(bio.ports.begin(), bio.ports.end(), bp.io);
    if (pos != bio.ports.end()) {
      bio.br.remove_port(static_cast<std::uint32_t>(pos - bio.ports.begin()), mono_ns());
      bio.ports.erase(pos);
    }
  }
  if (bp.io->sock) {
    datapath_.unwatch(bp.io->sock->fd());
  }
  spdlog::info("{} released from its bridge", bp.ifname);
  const auto br = bp.bridge;
  ports_.erase(it);
  publish();  // the datapath lets go of the socket before it closes
  if (auto b = devs_.find(br); b != devs_.end()) {
    recalc_bridge_mac(b->second);
  }
  dirty_ = true;
}

void Daemon::recalc_bridge_mac(Dev& br) {
  if (br.mac_set) {
    return;
  }
  std::optional<core::Mac> lowest;
  for (const auto& [k, bp] : ports_) {
    if (bp.bridge == br.id && (!lowest || bp.mac < *lowest)) {
      lowest = bp.mac;
    }
  }
  if (!lowest || *lowest == br.mac) {
    return;
  }
  if (auto st = netns_.at(br.ns)->nl.set_address(br.ifindex, *lowest); !st) {
    spdlog::warn("{}: {}", br.name, st.error().message);
    return;
  }
  br.mac = *lowest;
  std::lock_guard lock{br.bridge->mu};
  br.bridge->br.set_bridge_mac(*lowest);
}

void Daemon::delete_dev(std::uint64_t id) {
  auto it = devs_.find(id);
  if (it == devs_.end()) {
    return;
  }
  Dev& d = it->second;
  if (d.kind == Dev::Kind::kVlan) {
    // The uppers stacked on it go with it (NETDEV_UNREGISTER on their lower).
    for (auto& [k, l] : lowers_) {
      if (l.via_vlan == id) {
        const auto key = k;
        const auto ids = l.upper_ids;
        for (const auto uid : ids) {
          delete_upper(uid, true);
        }
        release_if_unused(key);
        break;
      }
    }
    if (auto lit = lowers_.find(d.lower); lit != lowers_.end()) {
      auto& l = lit->second;
      const auto pos = std::find(l.vlan_ids.begin(), l.vlan_ids.end(), id);
      if (pos != l.vlan_ids.end()) {
        l.vlans.remove(static_cast<std::uint32_t>(pos - l.vlan_ids.begin()));
        l.vlan_ids.erase(pos);
      }
    }
  }
  if (d.kind == Dev::Kind::kBridge) {
    std::vector<std::uint64_t> keys;
    for (const auto& [k, bp] : ports_) {
      if (bp.bridge == id) {
        keys.push_back(k);
      }
    }
    for (const auto k : keys) {
      release_port(k);
    }
  }
  // Anything enslaved to a subnic bridge goes out of it when it is deleted (br_del_if).
  for (auto& [k, bp] : ports_) {
    if (bp.ns == d.ns && bp.ifindex == d.ifindex) {
      release_port(k);
      break;
    }
  }
  const std::uint64_t peer = d.kind == Dev::Kind::kVeth ? d.peer : 0;
  const std::uint64_t lower = d.kind == Dev::Kind::kVlan ? d.lower : 0;
  datapath_.unwatch(d.io->tap.fd());
  auto io = d.io;
  spdlog::info("{} {} deleted",
               d.kind == Dev::Kind::kVlan   ? "vlan"
               : d.kind == Dev::Kind::kVeth ? "veth"
                                            : "bridge",
               d.name);
  devs_.erase(it);
  publish();
  if (auto st = io->tap.destroy(); !st) {
    spdlog::debug("destroying a TAP: {}", st.error().message);
  }
  if (peer != 0) {
    delete_dev(peer);  // veth_dellink: both ends go
  }
  if (lower != 0 && !release_if_unused(lower)) {
    if (auto lit = lowers_.find(lower); lit != lowers_.end()) {
      apply_lower(lit->second);
    }
  }
  release_unused_netns();
  dirty_ = true;
}

// ---- following -----------------------------------------------------------------------------

void Daemon::apply_veth_carrier(Dev& d) {
  auto pit = devs_.find(d.peer);
  if (pit == devs_.end()) {
    (void)d.io->tap.set_carrier(false);  // veth_open: no peer, no carrier
    return;
  }
  Dev& peer = pit->second;
  const bool both = d.up && peer.up;
  (void)d.io->tap.set_carrier(both);
  (void)peer.io->tap.set_carrier(both);
}

void Daemon::sync_dev(std::uint64_t id) {
  auto it = devs_.find(id);
  if (it == devs_.end()) {
    return;
  }
  Dev& d = it->second;
  auto place = tap_place(*d.io);
  if (!place) {
    spdlog::info("{} vanished: {}", d.name, place.error().message);
    delete_dev(id);
    return;
  }
  auto& [name, ns] = *place;
  if (ns == nullptr) {
    return;
  }
  if (ns->inode != d.ns || name != d.name) {
    d.ns = ns->inode;
    d.name = name;
    dirty_ = true;
  }
  auto li = ns->nl.get_link(d.name);
  if (!li) {
    return;
  }
  d.ifindex = li->ifindex;
  bool changed = false;
  if (d.kind == Dev::Kind::kVlan) {
    auto& l = lowers_.at(d.lower);
    const auto idx = static_cast<std::uint32_t>(
        std::find(l.vlan_ids.begin(), l.vlan_ids.end(), id) - l.vlan_ids.begin());
    const auto& vd = l.vlans.devices()[idx];
    if (li->up() != vd.up) {
      if (li->up()) {
        if (auto st = l.vlans.open(idx, l.port.lower().up); !st) {
          spdlog::warn("{}: up refused ({}); setting it down again", d.name, st.error().message);
          (void)ns->nl.set_up(d.ifindex, false);
        }
      } else {
        l.vlans.stop(idx);
      }
      changed = true;
    }
    if (li->mtu != vd.mtu) {
      if (li->mtu > l.port.lower().mtu) {
        (void)ns->nl.set_mtu(d.ifindex, vd.mtu);  // vlan_dev_change_mtu would refuse it
      } else {
        l.vlans.set_mtu(idx, li->mtu);
        changed = true;
      }
    }
    if (li->address != vd.mac) {
      l.vlans.set_mac(idx, li->address);
      changed = true;
    }
    if (changed) {
      apply_lower(l);  // a VLAN MAC other than the lower's joins the lower's unicast filter
    }
  }
  if (li->up() != d.up || li->mtu != d.mtu || li->address != d.mac) {
    d.up = li->up();
    d.mtu = li->mtu;
    d.mac = li->address;
    changed = true;
    dirty_ = true;
  }
  if (d.kind == Dev::Kind::kVeth && changed) {
    apply_veth_carrier(d);
  }
  if (d.kind == Dev::Kind::kBridge) {
    bool forwarding = false;
    {
      std::lock_guard lock{d.bridge->mu};
      if (d.bridge->br.up() != d.up) {
        d.bridge->br.set_up(d.up, mono_ns());
      }
      if (!d.mac_set && d.mac != d.bridge->br.bridge_mac()) {
        d.bridge->br.set_bridge_mac(d.mac);
      }
      forwarding = d.bridge->br.carrier();
    }
    if (forwarding != li->lower_up()) {
      (void)d.io->tap.set_carrier(forwarding);
    }
  }
  if (changed) {
    publish();
  }
}

void Daemon::sync_port(std::uint64_t key) {
  auto it = ports_.find(key);
  if (it == ports_.end()) {
    return;
  }
  BridgePort& bp = it->second;
  auto li = netns_.at(bp.ns)->nl.get_link(bp.ifindex);
  if (!li || bp.io->broken.load()) {
    // br_device_event NETDEV_UNREGISTER: the port leaves the bridge.
    release_port(key);
    return;
  }
  bp.ifname = li->name;
  const bool carrier = li->up() && li->lower_up();
  const bool mac_changed = li->address != bp.mac;
  if (carrier == bp.carrier && !mac_changed) {
    return;
  }
  auto& br = devs_.at(bp.bridge);
  {
    std::lock_guard lock{br.bridge->mu};
    const auto pos = std::find(br.bridge->ports.begin(), br.bridge->ports.end(), bp.io);
    const auto idx = static_cast<std::uint32_t>(pos - br.bridge->ports.begin());
    if (carrier != bp.carrier) {
      br.bridge->br.set_port_carrier(idx, carrier, mono_ns());
    }
    if (mac_changed) {
      br.bridge->br.set_port_mac(idx, li->address);
    }
  }
  bp.carrier = carrier;
  bp.mac = li->address;
  if (mac_changed) {
    recalc_bridge_mac(br);
  }
}

void Daemon::sync_vlans(Lower& l, const core::LowerState& before) {
  const auto& now = l.port.lower();
  if (now.mtu != before.mtu) {
    l.vlans.lower_mtu(now.mtu);  // NETDEV_CHANGEMTU: a VLAN above the new MTU follows it down
  }
  std::vector<std::uint32_t> flipped;
  if (now.up != before.up) {
    flipped = l.vlans.lower_admin(now.up);  // NETDEV_DOWN / NETDEV_UP, unless loose_binding
  }
  const bool carrier = now.up && now.carrier;
  for (std::uint32_t i = 0; i < l.vlan_ids.size(); ++i) {
    auto dit = devs_.find(l.vlan_ids[i]);
    if (dit == devs_.end()) {
      continue;
    }
    Dev& d = dit->second;
    auto& nl = netns_.at(d.ns)->nl;
    const auto& vd = l.vlans.devices()[i];
    if (vd.mtu != d.mtu) {
      (void)nl.set_mtu(d.ifindex, vd.mtu);
      d.mtu = vd.mtu;
    }
    if (std::find(flipped.begin(), flipped.end(), i) != flipped.end()) {
      (void)nl.set_up(d.ifindex, vd.up);
      d.up = vd.up;
    }
    (void)d.io->tap.set_carrier(carrier);  // netif_stacked_transfer_operstate
  }
}

// ---- showing -------------------------------------------------------------------------------

Json Daemon::describe_dev(const Dev& d, bool details, bool stats) {
  Json j;
  auto li = netns_.at(d.ns)->nl.get_link(d.ifindex);
  const unsigned flags = li ? li->flags : 0;
  const bool carrier = li && li->lower_up();
  j["ifindex"] = d.ifindex;
  j["ifname"] = d.name;
  std::uint64_t link_ns = d.ns;
  if (d.kind == Dev::Kind::kVlan) {
    const auto& l = lowers_.at(d.lower);
    j["link"] = l.ifname;
    link_ns = l.ns;
  } else if (d.kind == Dev::Kind::kVeth) {
    if (auto pit = devs_.find(d.peer); pit != devs_.end()) {
      j["link"] = pit->second.name;
      link_ns = pit->second.ns;
    }
  }
  j["flags"] = flag_words(flags, carrier);
  j["mtu"] = li ? li->mtu : d.mtu;
  j["qdisc"] = "noqueue";
  for (const auto& [k, bp] : ports_) {
    if (bp.ns == d.ns && bp.ifindex == d.ifindex) {
      j["master"] = devs_.at(bp.bridge).name;
    }
  }
  j["operstate"] = operstate_of(flags, carrier, d.kind != Dev::Kind::kBridge);
  j["linkmode"] = "DEFAULT";
  j["group"] = "default";
  j["txqlen"] = li ? li->txqlen : 1000;
  j["link_type"] = "ether";
  j["address"] = (li ? li->address : d.mac).to_string();
  j["broadcast"] = "ff:ff:ff:ff:ff:ff";
  j["netns"] = netns_label(d.ns);
  j["link_netns"] = netns_label(link_ns);
  if (details) {
    j["promiscuity"] = li ? li->promiscuity : 0;
    j["allmulti"] = li ? li->allmulti : 0;
    j["min_mtu"] = core::kMinMtu;
    j["max_mtu"] = 65535;
    Json info;
    Json dev = Json::array();
    if (d.kind == Dev::Kind::kVlan) {
      const auto& l = lowers_.at(d.lower);
      const auto idx = static_cast<std::size_t>(
          std::find(l.vlan_ids.begin(), l.vlan_ids.end(), d.id) - l.vlan_ids.begin());
      const auto& vd = l.vlans.devices()[idx];
      Json fl = Json::array();
      const std::pair<std::uint32_t, const char*> names[] = {
          {core::kVlanFlagReorderHdr, "REORDER_HDR"},
          {core::kVlanFlagGvrp, "GVRP"},
          {core::kVlanFlagLooseBinding, "LOOSE_BINDING"},
          {core::kVlanFlagMvrp, "MVRP"},
          {core::kVlanFlagBridgeBinding, "BRIDGE_BINDING"}};
      for (const auto& [bit, n] : names) {
        if (vd.flags & bit) {
          fl.push_back(n);
        }
      }
      j["max_mtu"] = l.port.lower().max_mtu;
      info = Json{
          {"info_kind", "vlan"},
          {"info_data",
           {{"protocol", std::string{core::to_string(vd.proto)}}, {"id", vd.vid}, {"flags", fl}}}};
      dev.push_back("reorder_hdr: the tag is always removed from frames the VLAN device receives");
      dev.push_back("lower-stack: the lower's own stack still sees tagged frames (as other host)");
    } else if (d.kind == Dev::Kind::kVeth) {
      info = Json{{"info_kind", "veth"}};
    } else {
      std::lock_guard lock{d.bridge->mu};
      const auto& br = d.bridge->br;
      const auto& c = br.config();
      const auto stp = br.stp();
      info = Json{{"info_kind", "bridge"},
                  {"info_data",
                   {{"forward_delay", c.forward_delay_ns / kCentisecondNs},
                    {"hello_time", c.hello_time_ns / kCentisecondNs},
                    {"max_age", c.max_age_ns / kCentisecondNs},
                    {"ageing_time", c.ageing_time_ns / kCentisecondNs},
                    {"stp_state", c.stp ? 1 : 0},
                    {"priority", c.priority},
                    {"bridge_id", bridge_id_text(stp.bridge_id)},
                    {"root_id", bridge_id_text(stp.root_id)},
                    {"root_port", stp.root_port},
                    {"root_path_cost", stp.root_path_cost},
                    {"topology_change", stp.topology_change ? 1 : 0},
                    {"fdb_n_learned", br.fdb_learned()},
                    {"fdb_max_learned", c.fdb_max_learned}}}};
      dev.push_back("multicast: no snooping; multicast is flooded like broadcast");
    }
    info.update(slave_info(d.ns, d.ifindex));
    j["linkinfo"] = info;
    j["subnic"] = Json{{"deviations", dev}};
  }
  if (stats) {
    auto s = stats_json(d.io->counters);
    j["stats64"] = s["stats64"];
    j["drops"] = s["drops"];
  }
  return j;
}

Json Daemon::slave_info(std::uint64_t ns, int ifindex) const {
  for (const auto& [k, bp] : ports_) {
    if (bp.ns != ns || bp.ifindex != ifindex) {
      continue;
    }
    const Dev& br = devs_.at(bp.bridge);
    std::lock_guard lock{br.bridge->mu};
    const auto pos = std::find(br.bridge->ports.begin(), br.bridge->ports.end(), bp.io);
    const auto idx = static_cast<std::uint32_t>(pos - br.bridge->ports.begin());
    const auto& b = br.bridge->br;
    const auto pc = b.port_config(idx);
    const Json sd{{"state", std::string{core::to_string(b.port_state(idx))}},
                  {"priority", pc.priority},
                  {"cost", pc.cost},
                  {"hairpin", pc.hairpin},
                  {"learning", pc.learning},
                  {"flood", pc.flood},
                  {"mcast_flood", pc.mcast_flood},
                  {"bcast_flood", pc.bcast_flood},
                  {"isolated", pc.isolated}};
    return Json{{"info_slave_kind", "bridge"}, {"info_slave_data", sd}};
  }
  return Json::object();
}

Json Daemon::describe_port(const BridgePort& bp, bool details, bool stats) {
  auto& ns = *netns_.at(bp.ns);
  auto li = ns.nl.get_link(bp.ifindex);
  Json j;
  const unsigned flags = li ? li->flags : 0;
  j["ifindex"] = bp.ifindex;
  j["ifname"] = bp.ifname;
  j["flags"] = flag_words(flags, li && li->lower_up());
  j["mtu"] = li ? li->mtu : 1500;
  j["qdisc"] = "noqueue";
  const Dev& br = devs_.at(bp.bridge);
  j["master"] = br.name;
  j["operstate"] = operstate_of(flags, li && li->lower_up(), true);
  j["linkmode"] = "DEFAULT";
  j["group"] = "default";
  j["txqlen"] = li ? li->txqlen : 1000;
  j["link_type"] = "ether";
  j["address"] = bp.mac.to_string();
  j["broadcast"] = "ff:ff:ff:ff:ff:ff";
  j["netns"] = netns_label(bp.ns);
  if (details) {
    j["promiscuity"] = li ? li->promiscuity : 0;
    j["allmulti"] = li ? li->allmulti : 0;
    Json info = slave_info(bp.ns, bp.ifindex);
    if (li && !li->kind.empty()) {
      info["info_kind"] = li->kind;
    }
    j["linkinfo"] = info;
  }
  if (stats) {
    auto s = stats_json(bp.io->counters);
    j["stats64"] = s["stats64"];
    j["drops"] = s["drops"];
  }
  return j;
}

Result<Json> Daemon::fdb_show(const Json& p) {
  auto nsr = netns_by_name(p.value("netns", ""));
  if (!nsr) {
    return tl::unexpected(nsr.error());
  }
  const std::string want_br = p.value("br", "");
  const std::string want_dev = p.value("dev", "");
  const bool stats = p.value("stats", false);
  bool br_found = want_br.empty();
  bool dev_found = want_dev.empty();
  Json out = Json::array();
  const auto now = mono_ns();
  for (const auto& [id, d] : devs_) {
    if (d.kind != Dev::Kind::kBridge || d.ns != (*nsr)->inode) {
      continue;
    }
    if (d.name == want_dev) {
      dev_found = true;
    }
    if (!want_br.empty() && d.name != want_br) {
      continue;
    }
    br_found = true;
    std::vector<core::FdbEntry> entries;
    std::vector<std::string> port_names;
    {
      std::lock_guard lock{d.bridge->mu};
      entries = d.bridge->br.fdb();
      for (const auto& io : d.bridge->ports) {
        std::string n;
        for (const auto& [k, bp] : ports_) {
          if (bp.io == io) {
            n = bp.ifname;
          }
        }
        port_names.push_back(n);
      }
    }
    for (const auto& [k, bp] : ports_) {
      if (bp.ifname == want_dev && bp.bridge == id) {
        dev_found = true;
      }
    }
    for (const auto& e : entries) {
      const std::string dev = e.port < 0 ? d.name : port_names.at(static_cast<std::size_t>(e.port));
      if (!want_dev.empty() && dev != want_dev) {
        continue;
      }
      Json x{{"mac", e.mac.to_string()}, {"ifname", dev}, {"master", d.name}};
      x["state"] = e.local ? "permanent" : "";
      x["flags"] = Json::array();
      if (stats) {
        x["used"] = (now - std::min(now, e.used_ns)) / 1'000'000'000ull;
        x["updated"] = (now - std::min(now, e.updated_ns)) / 1'000'000'000ull;
      }
      out.push_back(std::move(x));
    }
  }
  if (!br_found) {
    return tl::unexpected(err(ENODEV, "Cannot find bridge device \"" + want_br + "\""));
  }
  if (!dev_found) {
    return tl::unexpected(err(ENODEV, "Cannot find device \"" + want_dev + "\""));
  }
  return Json{{"fdb", out}};
}

// ---- publishing and state ------------------------------------------------------------------

void Daemon::publish_l2(Snapshot& snap, const std::map<std::uint64_t, std::uint32_t>& port_index) {
  // VLAN devices of each physical lower, and the ports stacked on them.
  for (auto& [key, l] : lowers_) {
    auto& ps = snap.ports[port_index.at(key)];
    if (l.via_vlan != 0) {
      const Dev& vd = devs_.at(l.via_vlan);
      const Lower& phys = lowers_.at(vd.lower);
      const auto vi = static_cast<std::size_t>(
          std::find(phys.vlan_ids.begin(), phys.vlan_ids.end(), vd.id) - phys.vlan_ids.begin());
      const auto& v = phys.vlans.devices()[vi];
      ps.vlan = VlanLink{vd.io, phys.io, v.proto, v.vid};
    }
    if (l.vlan_ids.empty()) {
      continue;
    }
    ps.vlans = l.vlans;
    for (std::uint32_t i = 0; i < l.vlan_ids.size(); ++i) {
      const auto vid = l.vlan_ids[i];
      VlanSnap vs{devs_.at(vid).io, -1};
      for (const auto& [k2, l2] : lowers_) {
        if (l2.via_vlan == vid) {
          vs.stacked = static_cast<std::int32_t>(port_index.at(k2));
        }
      }
      ps.vlan_devs.push_back(std::move(vs));
      snap.by_key[vid] =
          Endpoint{Endpoint::Kind::kVlan, port_index.at(key), static_cast<std::int32_t>(i)};
    }
  }
  for (const auto& [id, d] : devs_) {
    if (d.kind == Dev::Kind::kVeth && id < d.peer && devs_.count(d.peer) != 0) {
      const Dev& p = devs_.at(d.peer);
      VethSnap v;
      v.end = {d.io, p.io};
      v.up = {d.up, p.up};
      v.mtu = {d.mtu, p.mtu};
      const auto idx = static_cast<std::uint32_t>(snap.veths.size());
      snap.veths.push_back(std::move(v));
      snap.by_key[id] = Endpoint{Endpoint::Kind::kVeth, idx, 0};
      snap.by_key[d.peer] = Endpoint{Endpoint::Kind::kVeth, idx, 1};
    } else if (d.kind == Dev::Kind::kBridge) {
      BridgeSnap b;
      b.io = d.bridge;
      const auto idx = static_cast<std::uint32_t>(snap.bridges.size());
      for (const auto& [k, bp] : ports_) {
        if (bp.bridge == id) {
          snap.by_key[k] =
              Endpoint{Endpoint::Kind::kBridgePort, idx, static_cast<std::int32_t>(b.ports.size())};
          b.ports.push_back(bp.io);
        }
      }
      snap.bridges.push_back(std::move(b));
      snap.by_key[id] = Endpoint{Endpoint::Kind::kBridgeDev, idx, -1};
    }
  }
}

}  // namespace subnic::daemon

namespace subnic::daemon {

// ---- state on disk -------------------------------------------------------------------------

Json Daemon::save_l2() const {
  Json out = Json::array();
  for (const auto& [id, d] : devs_) {
    Json e{{"id", id},
           {"name", d.name},
           {"netns", netns_label(d.ns)},
           {"netns_inode", d.ns},
           {"address", d.mac.to_string()},
           {"mtu", d.mtu}};
    if (d.kind == Dev::Kind::kVlan) {
      const auto& l = lowers_.at(d.lower);
      const auto idx = static_cast<std::size_t>(
          std::find(l.vlan_ids.begin(), l.vlan_ids.end(), id) - l.vlan_ids.begin());
      const auto& vd = l.vlans.devices()[idx];
      e["kind"] = "vlan";
      e["lower"] = Json{{"netns", netns_label(l.ns)}, {"ifname", l.ifname}};
      e["protocol"] = std::string{core::to_string(vd.proto)};
      e["vid"] = vd.vid;
      e["flags"] = vd.flags;
    } else if (d.kind == Dev::Kind::kVeth) {
      e["kind"] = "veth";
      e["peer"] = d.peer;
    } else {
      e["kind"] = "bridge";
      e["mac_set"] = d.mac_set;
      std::lock_guard lock{d.bridge->mu};
      const auto& c = d.bridge->br.config();
      e["config"] = Json{{"ageing_time_ns", c.ageing_time_ns},
                         {"stp", c.stp},
                         {"forward_delay_ns", c.forward_delay_ns},
                         {"hello_time_ns", c.hello_time_ns},
                         {"max_age_ns", c.max_age_ns},
                         {"priority", c.priority},
                         {"fdb_max_learned", c.fdb_max_learned}};
      Json ports = Json::array();
      for (std::uint32_t i = 0; i < d.bridge->ports.size(); ++i) {
        for (const auto& [k, bp] : ports_) {
          if (bp.io != d.bridge->ports[i]) {
            continue;
          }
          const auto& pc = d.bridge->br.port_config(i);
          ports.push_back(Json{{"netns", netns_label(bp.ns)},
                               {"ifname", bp.ifname},
                               {"hairpin", pc.hairpin},
                               {"learning", pc.learning},
                               {"flood", pc.flood},
                               {"mcast_flood", pc.mcast_flood},
                               {"bcast_flood", pc.bcast_flood},
                               {"isolated", pc.isolated},
                               {"priority", pc.priority},
                               {"cost", pc.cost}});
        }
      }
      e["ports"] = ports;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::pair<Daemon::Netns*, io::Tap>> Daemon::reattach_tap(const std::string& name,
                                                                       std::uint64_t inode,
                                                                       const std::string& label) {
  for (auto& e : sys::list_all_netns()) {
    if (e.inode != inode && !(e.name && *e.name == label) &&
        !(label.empty() && e.inode == home_ns_)) {
      continue;
    }
    auto guard = sys::NetnsGuard::enter(e.fd.get());
    if (!guard) {
      continue;
    }
    auto tap = io::Tap::attach(name);
    (void)guard->leave();
    if (!tap) {
      continue;
    }
    auto ns = netns_by_fd(std::move(e.fd));
    if (!ns) {
      (void)tap->set_persist(true);
      return std::nullopt;
    }
    return std::pair{*ns, std::move(*tap)};
  }
  return std::nullopt;
}

void Daemon::restore_l2_devices(const Json& devices) {
  std::vector<std::uint64_t> veths;
  for (const auto& s : devices) {
    try {
      const std::string name = s.value("name", "");
      const std::string kind = s.value("kind", "");
      const std::uint64_t id = s.value("id", std::uint64_t{0});
      auto found =
          reattach_tap(name, s.value("netns_inode", std::uint64_t{0}), s.value("netns", ""));
      if (!found || id == 0) {
        spdlog::warn("{} {} vanished while subnicd was down", kind, name);
        continue;
      }
      auto& [ns, tap] = *found;
      auto li = ns->nl.get_link(name);
      if (!li) {
        continue;
      }
      next_id_ = std::max(next_id_, id + 1);
      Dev d;
      d.id = id;
      d.name = name;
      d.ns = ns->inode;
      d.ifindex = li->ifindex;
      d.up = li->up();
      d.mtu = li->mtu;
      d.mac = li->address;
      if (kind == "vlan") {
        auto lns = netns_by_name(s["lower"].value("netns", ""));
        auto lli = lns ? (*lns)->nl.get_link(s["lower"].value("ifname", ""))
                       : Result<sys::LinkInfo>{tl::unexpected{lns.error()}};
        auto lower = lli ? lower_for(**lns, *lli, "") : Result<Lower*>{tl::unexpected{lli.error()}};
        const auto proto = core::parse_vlan_proto(s.value("protocol", "802.1Q"));
        auto idx = lower && proto
                       ? (*lower)->vlans.add(id, *proto, s.value("vid", std::uint16_t{0}),
                                             s.value("flags", core::kVlanFlagReorderHdr), li->mtu,
                                             li->address, lli->mtu, lli->address)
                       : Result<std::uint32_t>{tl::unexpected{err(ENODEV, "")}};
        if (!idx) {
          spdlog::warn("vlan {}: its lower is gone; deleting it as the kernel would", name);
          (void)tap.destroy();
          if (lower) {
            release_if_unused((*lower)->key);
          }
          continue;
        }
        if (li->up()) {
          (void)(*lower)->vlans.open(*idx, true);
        }
        (*lower)->vlan_ids.push_back(id);
        d.kind = Dev::Kind::kVlan;
        d.lower = (*lower)->key;
      } else if (kind == "veth") {
        d.kind = Dev::Kind::kVeth;
        d.peer = s.value("peer", std::uint64_t{0});
        veths.push_back(id);
      } else if (kind == "bridge") {
        d.kind = Dev::Kind::kBridge;
        d.mac_set = s.value("mac_set", false);
        const Json c = s.value("config", Json::object());
        core::BridgeConfig cfg;
        cfg.ageing_time_ns = c.value("ageing_time_ns", cfg.ageing_time_ns);
        cfg.stp = c.value("stp", false);
        cfg.forward_delay_ns = c.value("forward_delay_ns", cfg.forward_delay_ns);
        cfg.hello_time_ns = c.value("hello_time_ns", cfg.hello_time_ns);
        cfg.max_age_ns = c.value("max_age_ns", cfg.max_age_ns);
        cfg.priority = c.value("priority", cfg.priority);
        cfg.fdb_max_learned = c.value("fdb_max_learned", cfg.fdb_max_learned);
        d.bridge = std::make_shared<BridgeIo>(core::Bridge{li->address});
        (void)d.bridge->br.set_config(cfg, mono_ns());
        d.bridge->br.set_up(li->up(), mono_ns());
      } else {
        (void)tap.set_persist(true);
        continue;
      }
      d.io = std::make_shared<UpperIo>(std::move(tap));
      if (d.bridge) {
        d.bridge->dev = d.io;
      }
      (void)datapath_.watch(id, d.io->tap.fd());
      devs_.emplace(id, std::move(d));
      spdlog::info("{} {} restored in netns \"{}\"", kind, name, ns->name);
    } catch (const std::exception& e) {
      spdlog::error("state entry skipped: {}", e.what());
    }
  }
  for (const auto id : veths) {
    if (devs_.count(id) != 0 && devs_.count(devs_.at(id).peer) == 0) {
      spdlog::info("veth {}: its peer is gone; deleting it as the kernel would", devs_.at(id).name);
      delete_dev(id);
    } else if (devs_.count(id) != 0) {
      apply_veth_carrier(devs_.at(id));
    }
  }
  publish();
}

void Daemon::restore_l2_ports(const Json& devices) {
  for (const auto& s : devices) {
    if (s.value("kind", "") != "bridge") {
      continue;
    }
    const std::uint64_t id = s.value("id", std::uint64_t{0});
    if (devs_.count(id) == 0) {
      continue;
    }
    for (const auto& p : s.value("ports", Json::array())) {
      try {
        auto ns = netns_by_name(p.value("netns", ""));
        auto li = ns ? (*ns)->nl.get_link(p.value("ifname", ""))
                     : Result<sys::LinkInfo>{tl::unexpected{ns.error()}};
        if (!li || !enslave(devs_.at(id), **ns, *li)) {
          spdlog::warn("bridge {}: port {} is gone", s.value("name", ""), p.value("ifname", ""));
          continue;
        }
        Json req{{"name", li->name}, {"type", "bridge_slave"}, {"info_slave_data", p}};
        if (!(*ns)->name.empty()) {
          req["netns"] = (*ns)->name;
        }
        req["info_slave_data"].erase("netns");
        req["info_slave_data"].erase("ifname");
        (void)set_bridge_port(req);
      } catch (const std::exception& e) {
        spdlog::error("state entry skipped: {}", e.what());
      }
    }
  }
}

}  // namespace subnic::daemon
