// subnicd's control plane: requests, the device graph, following devices, state on disk.
#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <spdlog/spdlog.h>

#include "ctl/line_buffer.hpp"
#include "ctl/message.hpp"
#include "ctl/validate.hpp"
#include "daemon/detail.hpp"
#include "daemon/privileges.hpp"
#include "io/vhost_user.hpp"
#include "sys/dev_mcast.hpp"

namespace subnic::daemon {

using namespace detail;

namespace {

constexpr std::uint64_t kListenTag = 1ull << 62;
constexpr std::uint64_t kSignalTag = kListenTag + 1;
constexpr std::uint64_t kTimerTag = kListenTag + 2;
constexpr std::uint64_t kClientTag = 1ull << 61;   // | fd
constexpr std::uint64_t kMonitorTag = 1ull << 60;  // | inode (inodes fit in 60 bits)
constexpr std::uint64_t kTagMask = kMonitorTag - 1;
constexpr int kStateVersion = 1;
constexpr unsigned kIffLowerUp =
    0x10000;  // IFF_LOWER_UP (<linux/if.h>, which clashes with <net/if.h>)

Result<core::MacvlanChange> parse_macvlan_words(const Json& d) {
  core::MacvlanChange c;
  if (d.is_null()) {
    return c;
  }
  if (!d.is_object()) {
    return tl::unexpected{err(EINVAL, "info_data must be an object")};
  }
  for (const auto& [key, value] : d.items()) {
    if (key == "mode") {
      const auto m =
          value.is_string() ? core::parse_macvlan_mode(value.get<std::string>()) : std::nullopt;
      if (!m) {
        return tl::unexpected{err(EINVAL, "Error: unknown macvlan mode " + value.dump())};
      }
      c.mode = *m;
    } else if (key == "flags") {
      std::uint16_t f = 0;
      for (const auto& w : value) {
        if (w == "nopromisc") {
          f |= core::kMacvlanNoPromisc;
        } else if (w == "nodst") {
          f |= core::kMacvlanNoDst;
        } else {
          return tl::unexpected{err(EINVAL, "Error: unknown macvlan flag " + w.dump())};
        }
      }
      c.flags = f;
    } else if (key == "macaddr") {
      const std::string op = value.value("op", "");
      if (op == "add") {
        c.macaddr_op = core::MacaddrOp::kAdd;
      } else if (op == "del") {
        c.macaddr_op = core::MacaddrOp::kDel;
      } else if (op == "set") {
        c.macaddr_op = core::MacaddrOp::kSet;
      } else if (op == "flush") {
        c.macaddr_op = core::MacaddrOp::kFlush;
      } else {
        return tl::unexpected{err(EINVAL, "Error: unknown macaddr operation \"" + op + "\"")};
      }
      for (const auto& a : value.value("addrs", Json::array())) {
        const auto m = a.is_string() ? core::Mac::parse(a.get<std::string>()) : std::nullopt;
        if (!m) {
          return tl::unexpected{err(EINVAL, "Error: invalid MAC " + a.dump())};
        }
        c.macaddrs.push_back(*m);
      }
    } else if (key == "bcqueuelen") {
      if (!value.is_number_unsigned()) {
        return tl::unexpected{err(EINVAL, "Error: bcqueuelen must be an unsigned number")};
      }
      c.bcqueuelen = value.get<std::uint32_t>();
    } else if (key == "bclim") {
      if (!value.is_number_integer()) {
        return tl::unexpected{err(EINVAL, "Error: bclim must be an integer")};
      }
      c.bclim = value.get<std::int32_t>();
    } else {
      return tl::unexpected{err(EINVAL, "Error: unknown macvlan attribute \"" + key + "\"")};
    }
  }
  return c;
}

Result<core::IpvlanChange> parse_ipvlan_words(const Json& d) {
  core::IpvlanChange c;
  if (d.is_null()) {
    return c;
  }
  if (!d.is_object()) {
    return tl::unexpected{err(EINVAL, "info_data must be an object")};
  }
  for (const auto& [key, value] : d.items()) {
    if (key == "mode") {
      const auto m =
          value.is_string() ? core::parse_ipvlan_mode(value.get<std::string>()) : std::nullopt;
      if (!m) {
        return tl::unexpected{err(EINVAL,
                                  "Error: argument of \"mode\" must be either \"l2\", "
                                  "\"l3\" or \"l3s\"")};
      }
      c.mode = *m;
    } else if (key == "flags") {
      // One word as `ip` sends it; an array ORs several (so the kernel's EINVAL for
      // private|vepa can be asked for, as with a raw netlink request).
      std::uint16_t f = 0;
      for (const auto& w : value.is_array() ? value : Json::array({value})) {
        if (w == "private") {
          f |= core::kIpvlanPrivate;
        } else if (w == "vepa") {
          f |= core::kIpvlanVepa;
        } else if (w != "bridge") {
          return tl::unexpected{err(EINVAL, "Error: unknown ipvlan flag " + w.dump())};
        }
      }
      c.flags = f;
    } else {
      return tl::unexpected{err(EINVAL, "Error: unknown ipvlan attribute \"" + key + "\"")};
    }
  }
  return c;
}

/// True when a link.set's params name the device and nothing else is left to do.
bool names_only(const Json& p) {
  for (const auto& [k, v] : p.items()) {
    if (k != "name" && k != "netns") {
      return false;
    }
  }
  return true;
}

/// EOPNOTSUPP for `spoofchk` on a device that is not a macvlan/ipvlan upper; `tail` says which.
Error spoofchk_refusal(const std::string& tail) {
  return err(EOPNOTSUPP,
             "Error: spoofchk applies to macvlan, macvtap, ipvlan and ipvtap uppers" + tail);
}

}  // namespace

namespace detail {

Error err(int code, std::string message) {
  return Error{code, std::move(message)};
}

std::string strerror_line(int code) {
  return std::string{"RTNETLINK answers: "} + std::strerror(code);
}

// The daemon's one source of random bits (MACs, link-local interface identifiers).
std::uint64_t random_u64() {
  static std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::uint64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

core::Mac random_mac() {
  return core::mac_from_random(random_u64());
}

// fe80::/64 with the modified EUI-64 interface identifier of `m` (RFC 4291 Appendix A): what
// the kernel's addrconf gives a device with that MAC in addrgenmode eui64.
core::IpAddr eui64_link_local(const core::Mac& m) {
  const std::uint8_t first = static_cast<std::uint8_t>(m.bytes[0] ^ 0x02);  // the "u" bit
  const std::uint8_t b[16] = {0xfe, 0x80,       0,          0,          0,          0,
                              0,    0,          first,      m.bytes[1], m.bytes[2], 0xff,
                              0xfe, m.bytes[3], m.bytes[4], m.bytes[5]};
  return core::IpAddr::from_v6(b);
}

// `ip -j` flag words for a device, in iproute2's order (ip/ipaddress.c print_link_flags).
Json flag_words(unsigned flags, bool carrier) {
  Json f = Json::array();
  if ((flags & IFF_UP) && !carrier) {
    f.push_back("NO-CARRIER");
  }
  const std::pair<unsigned, const char*> names[] = {{IFF_LOOPBACK, "LOOPBACK"},
                                                    {IFF_BROADCAST, "BROADCAST"},
                                                    {IFF_POINTOPOINT, "POINTOPOINT"},
                                                    {IFF_MULTICAST, "MULTICAST"},
                                                    {IFF_NOARP, "NOARP"},
                                                    {IFF_ALLMULTI, "ALLMULTI"},
                                                    {IFF_PROMISC, "PROMISC"},
                                                    {IFF_UP, "UP"},
                                                    {kIffLowerUp, "LOWER_UP"}};
  for (const auto& [bit, name] : names) {
    if (bit == kIffLowerUp) {
      if ((flags & IFF_UP) && carrier) {
        f.push_back(name);
      }
    } else if (flags & bit) {
      f.push_back(name);
    }
  }
  return f;
}

Json stats_json(const DeviceCounters& c) {
  Json j;
  j["stats64"] = {{"rx",
                   {{"bytes", c.rx_bytes.get()},
                    {"packets", c.rx_packets.get()},
                    {"errors", 0},
                    {"dropped", c.rx_dropped.get()},
                    {"over_errors", 0},
                    {"multicast", c.rx_multicast.get()}}},
                  {"tx",
                   {{"bytes", c.tx_bytes.get()},
                    {"packets", c.tx_packets.get()},
                    {"errors", 0},
                    {"dropped", c.tx_dropped.get()},
                    {"carrier_errors", 0},
                    {"collisions", 0}}}};
  Json drops = Json::object();
  for (std::size_t r = 1; r < c.drops.size(); ++r) {
    if (const auto n = c.drops[r].get(); n != 0) {
      drops[std::string{core::to_string(static_cast<core::DropReason>(r))}] = n;
    }
  }
  j["drops"] = drops;
  return j;
}

}  // namespace detail

struct Daemon::Client {
  sys::UniqueFd fd;
  ctl::LineBuffer in;
  std::string out;
};

void Daemon::ClientDeleter::operator()(Client* c) const {
  delete c;
}

Daemon::~Daemon() {
  datapath_.stop();
  if (listen_fd_) {
    ::unlink(opts_.socket_path.c_str());
  }
}

// ---- namespaces ----------------------------------------------------------------------------

Result<Daemon::Netns*> Daemon::netns_by_fd(sys::UniqueFd fd) {
  const std::uint64_t inode = sys::netns_inode(fd.get());
  if (inode == 0) {
    return tl::unexpected{err(EINVAL, "cannot identify a network namespace")};
  }
  if (auto it = netns_.find(inode); it != netns_.end()) {
    return it->second.get();
  }
  auto guard = sys::NetnsGuard::enter(fd.get());
  if (!guard) {
    return tl::unexpected{guard.error()};
  }
  auto nl = sys::Netlink::open();
  auto mon = sys::LinkMonitor::open();
  if (auto st = guard->leave(); !st) {
    return tl::unexpected{st.error()};
  }
  if (!nl) {
    return tl::unexpected{nl.error()};
  }
  if (!mon) {
    return tl::unexpected{mon.error()};
  }
  auto ns =
      std::make_unique<Netns>(Netns{std::move(fd), inode, "", std::move(*nl), std::move(*mon)});
  if (inode != home_ns_) {
    ns->name = sys::netns_name_of(inode).value_or("nsfs:[" + std::to_string(inode) + "]");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kMonitorTag | inode;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ns->monitor.fd(), &ev);
  Netns* raw = ns.get();
  netns_[inode] = std::move(ns);
  return raw;
}

Result<Daemon::Netns*> Daemon::netns_by_name(const std::string& name) {
  auto fd = sys::open_netns(name);
  if (!fd) {
    return tl::unexpected{fd.error()};
  }
  return netns_by_fd(std::move(*fd));
}

std::string Daemon::netns_label(std::uint64_t inode) const {
  if (auto it = netns_.find(inode); it != netns_.end()) {
    return it->second->name;
  }
  return inode == home_ns_ ? "" : "nsfs:[" + std::to_string(inode) + "]";
}

void Daemon::release_unused_netns() {
  for (auto it = netns_.begin(); it != netns_.end();) {
    const std::uint64_t inode = it->first;
    const bool used = inode == home_ns_ ||
                      std::any_of(lowers_.begin(), lowers_.end(),
                                  [&](const auto& l) { return l.second.ns == inode; }) ||
                      std::any_of(uppers_.begin(), uppers_.end(),
                                  [&](const auto& u) { return u.second.ns == inode; }) ||
                      std::any_of(devs_.begin(), devs_.end(),
                                  [&](const auto& d) { return d.second.ns == inode; }) ||
                      std::any_of(ports_.begin(), ports_.end(),
                                  [&](const auto& p) { return p.second.ns == inode; }) ||
                      std::any_of(limits_.begin(), limits_.end(),
                                  [&](const auto& m) { return m.first.first == inode; });
    if (used) {
      ++it;
    } else {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->monitor.fd(), nullptr);
      it = netns_.erase(it);
    }
  }
}

// ---- graph ---------------------------------------------------------------------------------

core::LowerState Daemon::lower_state(const sys::LinkInfo& li) const {
  core::LowerState s;
  s.mac = li.address;
  s.up = li.up();
  s.carrier = li.lower_up();
  s.mtu = li.mtu;
  s.max_mtu = li.max_mtu != 0 ? li.max_mtu : 65535;
  s.promisc = li.promiscuity > 0;
  s.allmulti = li.allmulti > 0;
  return s;
}

Result<Daemon::Lower*> Daemon::lower_for(Netns& ns, const sys::LinkInfo& li,
                                         std::string_view kind) {
  for (auto& [key, l] : lowers_) {
    if (l.ns == ns.inode && l.ifindex == li.ifindex) {
      if (!kind.empty() && l.port.kind() != kind) {
        if (l.port.size() != 0) {
          // One rx handler per device: macvlan_port_create / ipvlan_port_create find the
          // other's.
          return tl::unexpected{err(EBUSY, strerror_line(EBUSY) + " (" + l.ifname +
                                               " is already a " + std::string{l.port.kind()} +
                                               " lower)")};
        }
        // Only VLAN devices on it so far: the port takes the kind of its first upper.
        if (auto st = make_port(ns, li, l, kind); !st) {
          return tl::unexpected{st.error()};
        }
        apply_maxmacs(l);
      }
      return &l;
    }
  }
  // macvlan_port_create / ipvlan_port_create: Ethernet-type, not loopback, no other rx handler.
  if (li.type != ARPHRD_ETHER || (li.flags & IFF_LOOPBACK)) {
    return tl::unexpected{err(EINVAL, strerror_line(EINVAL))};
  }
  if (li.master_ifindex != 0) {
    return tl::unexpected{err(EBUSY, strerror_line(EBUSY))};
  }
  for (const auto& [k, bp] : ports_) {
    if (bp.ns == ns.inode && bp.ifindex == li.ifindex) {
      return tl::unexpected{
          err(EBUSY, strerror_line(EBUSY) + " (" + li.name + " is a bridge port)")};
    }
  }
  // A subnic VLAN device as the lower: the port is stacked inside subnic, without a socket.
  std::uint64_t via_vlan = 0;
  for (const auto& [id, d] : devs_) {
    if (d.kind == Dev::Kind::kVlan && d.ns == ns.inode && d.ifindex == li.ifindex) {
      via_vlan = id;
    }
  }
  std::shared_ptr<LowerIo> io;
  // The lower's ingress table (apply_steer); a port stacked on a subnic VLAN has none: what it
  // consumes never reaches the VLAN's TAP.
  Result<sys::IngressSteer> steer = tl::unexpected{Error{ENODEV, "stacked on a subnic vlan"}};
  if (via_vlan != 0) {
    io = std::make_shared<LowerIo>();
  } else {
    auto guard = sys::NetnsGuard::enter(ns.fd.get());
    if (!guard) {
      return tl::unexpected{guard.error()};
    }
    auto sock = io::PacketSocket::open(li.ifindex);
    steer = sys::IngressSteer::open(li.name, li.ifindex);
    if (auto st = guard->leave(); !st) {
      return tl::unexpected{st.error()};
    }
    if (!sock) {
      return tl::unexpected{sock.error()};
    }
    io = std::make_shared<LowerIo>(std::move(*sock));
  }
  Lower l{next_id_++,
          ns.inode,
          li.ifindex,
          li.name,
          Port{core::MacvlanPort{lower_state(li)}},
          std::move(io),
          {},
          {},
          false,
          {},
          {},
          {},
          via_vlan};
  if (steer) {
    l.steer.emplace(std::move(*steer));
  }
  if (!kind.empty()) {
    if (auto st = make_port(ns, li, l, kind); !st) {
      return tl::unexpected{st.error()};
    }
  }
  if (l.io->sock) {
    if (auto st = datapath_.watch(l.key, l.io->sock->fd()); !st) {
      return tl::unexpected(st.error());
    }
  }
  const auto key = l.key;
  auto [it, inserted] = lowers_.emplace(key, std::move(l));
  apply_maxmacs(it->second);
  spdlog::info("lower {} (ifindex {}) attached{}{}", li.name, li.ifindex,
               kind.empty() ? "" : " as a " + std::string{kind} + " port",
               via_vlan != 0 ? " (a subnic vlan: stacked inside subnic)" : "");
  return &it->second;
}

Status Daemon::make_port(Netns& ns, const sys::LinkInfo& li, Lower& l, std::string_view kind) {
  if (kind != "ipvlan") {
    l.port = Port{core::MacvlanPort{lower_state(li)}};
    return {};
  }
  auto guard = sys::NetnsGuard::enter(ns.fd.get());
  if (!guard) {
    return tl::unexpected{guard.error()};
  }
  auto route = io::RawIpSocket::open(li.ifindex);
  auto neigh = sys::Netlink::open();
  if (auto st = guard->leave(); !st) {
    return st;
  }
  if (!route) {
    return tl::unexpected{route.error()};
  }
  l.port = Port{core::IpvlanPort{lower_state(li)}};
  l.io->route.emplace(std::move(*route));
  if (neigh) {
    l.io->neigh.emplace(std::move(*neigh));
  }
  return {};
}

// ---- limits --------------------------------------------------------------------------------

Error Daemon::name_lower(Error e, const Lower& l) {
  if (e.code == ENOSPC || e.code == EBUSY) {
    if (const auto at = e.message.find("the lower"); at != std::string::npos) {
      e.message.replace(at, 9, l.ifname);
    }
  }
  return e;
}

void Daemon::apply_maxmacs(Lower& l) {
  auto* mv = l.port.macvlan();
  if (mv == nullptr) {
    return;
  }
  const auto it = limits_.find({l.ns, l.ifindex});
  const std::uint32_t n = it == limits_.end() ? 0 : it->second.maxmacs;
  (void)mv->set_max_macs(n, true);
  if (n != 0 && mv->mac_count() > n) {
    spdlog::warn("{} carries {} MACs, more than its maxmacs {}: no new MAC until below", l.ifname,
                 mv->mac_count(), n);
  }
}

Status Daemon::set_maxmacs(const Json& p) {
  const Json& v = p["maxmacs"];
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xffffffffull) {
    return tl::unexpected(err(EINVAL, "Error: argument of \"maxmacs\" is wrong: " + v.dump() +
                                          " (an unsigned number, 0 = no limit)"));
  }
  const auto n = v.get<std::uint32_t>();
  auto ns = netns_by_name(p.value("netns", ""));
  if (!ns) {
    return tl::unexpected(ns.error());
  }
  const std::string name = p.value("name", "");
  auto li = (*ns)->nl.get_link(name);
  if (!li) {
    return tl::unexpected(li.error());
  }
  for (const auto& [id, u] : uppers_) {
    if (u.ns == (*ns)->inode && u.ifindex == li->ifindex) {
      return tl::unexpected(err(EOPNOTSUPP, "Error: " + name + " is a " + kind_word(u) +
                                                " upper; maxmacs belongs to its lower " +
                                                lowers_.at(u.lower).ifname));
    }
  }
  for (auto& [key, l] : lowers_) {
    if (l.ns == (*ns)->inode && l.ifindex == li->ifindex) {
      if (auto* mv = l.port.macvlan()) {
        if (auto st = mv->set_max_macs(n); !st) {
          return tl::unexpected(name_lower(st.error(), l));
        }
      }
    }
  }
  if (n == 0) {
    limits_.erase({(*ns)->inode, li->ifindex});
  } else {
    limits_[{(*ns)->inode, li->ifindex}] = LowerLimit{li->name, n};
  }
  spdlog::info("lower {}: maxmacs {}", li->name, n);
  release_unused_netns();
  dirty_ = true;
  return {};
}

void Daemon::destroy_lower(std::uint64_t key) {
  auto it = lowers_.find(key);
  if (it == lowers_.end()) {
    return;
  }
  auto& l = it->second;
  if (l.io->sock) {
    datapath_.unwatch(l.io->sock->fd());
  }
  // macvlan_port_destroy: put back the MAC a passthru upper changed.
  if (auto ns = netns_.find(l.ns); ns != netns_.end()) {
    if (const auto saved = l.port.saved_lower_mac()) {
      if (auto li = ns->second->nl.get_link(l.ifindex); li && li->address != *saved) {
        (void)ns->second->nl.set_address(l.ifindex, *saved);
      }
    }
  }
  spdlog::info("lower {} released", l.ifname);
  lowers_.erase(it);
}

bool Daemon::release_if_unused(std::uint64_t key) {
  auto it = lowers_.find(key);
  if (it == lowers_.end() || !it->second.upper_ids.empty() || !it->second.vlan_ids.empty()) {
    return false;
  }
  publish();  // the datapath lets go of the port before its socket closes
  destroy_lower(key);
  return true;
}

std::uint32_t Daemon::index_of(const Upper& u) const {
  const auto& ids = lowers_.at(u.lower).upper_ids;
  return static_cast<std::uint32_t>(std::find(ids.begin(), ids.end(), u.id) - ids.begin());
}

Result<Daemon::Upper*> Daemon::find_upper(const Json& p) {
  const std::string name = p.value("name", "");
  std::optional<std::uint64_t> want_ns;
  if (p.contains("netns")) {
    auto ns = netns_by_name(p["netns"].get<std::string>());
    if (!ns) {
      return tl::unexpected{ns.error()};
    }
    want_ns = (*ns)->inode;
  }
  std::vector<Upper*> here, anywhere;
  for (auto& [id, u] : uppers_) {
    if (u.name != name) {
      continue;
    }
    anywhere.push_back(&u);
    if (u.ns == want_ns.value_or(home_ns_)) {
      here.push_back(&u);
    }
  }
  if (!here.empty()) {
    return here.front();
  }
  if (!want_ns && anywhere.size() == 1) {
    return anywhere.front();  // moved into a container: still named by its name
  }
  if (!want_ns && anywhere.size() > 1) {
    std::string where;
    for (auto* u : anywhere) {
      where += (where.empty() ? "" : ", ") + netns_label(u->ns);
    }
    return tl::unexpected{err(EINVAL, "Device \"" + name + "\" is ambiguous: it exists in " +
                                          where + "; name one with -n NETNS")};
  }
  return tl::unexpected{err(ENODEV, "Cannot find device \"" + name + "\"")};
}

void Daemon::delete_upper(std::uint64_t id, bool destroy_tap) {
  auto it = uppers_.find(id);
  if (it == uppers_.end()) {
    return;
  }
  Upper& u = it->second;
  Lower& l = lowers_.at(u.lower);
  const auto idx = index_of(u);
  datapath_.unwatch(u.io->tap.fd());
  if (u.io->vm) {
    datapath_.unwatch(u.io->vm->fd());
    ::unlink(u.vm_path.c_str());  // the port itself closes with the last snapshot
  }
  l.port.remove_upper(idx);
  l.upper_ids.erase(l.upper_ids.begin() + idx);
  if (destroy_tap) {
    if (auto st = u.io->tap.destroy(); !st) {
      spdlog::warn("{}: {}", u.name, st.error().message);
    }
  }
  spdlog::info("upper {} deleted", u.name);
  const auto lower_key = u.lower;
  uppers_.erase(it);
  if (!release_if_unused(lower_key)) {
    apply_lower(l);
  }
  release_unused_netns();
  dirty_ = true;
}

// ---- requests ------------------------------------------------------------------------------

Result<Json> Daemon::handle(const std::string& method, const Json& params) {
  // A request that journalled TAPs (journal_tap) has recorded or destroyed them by now: the
  // next save drops the journal.
  struct EndJournal {
    Daemon& d;
    ~EndJournal() {
      if (!d.creating_.empty()) {
        d.creating_.clear();
        d.dirty_ = true;
      }
    }
  } end_journal{*this};
  try {
    if (method == "link.add") {
      return link_add(params);
    }
    if (method == "link.set") {
      return link_set(params);
    }
    if (method == "link.del") {
      return link_del(params);
    }
    if (method == "link.show") {
      return link_show(params);
    }
    if (method == "fdb.show") {
      return fdb_show(params);
    }
    if (method == "ping") {
      return Json{{"pong", true}};
    }
    return tl::unexpected(err(EOPNOTSUPP, "Error: unknown method \"" + method + "\""));
  } catch (const std::exception& e) {
    // nlohmann type errors from ill-typed parameters: a bad request, never a crash.
    return tl::unexpected(err(EINVAL, std::string{"Error: bad request parameters: "} + e.what()));
  }
}

Result<Json> Daemon::link_add(const Json& p) {
  const std::string name = p.value("name", "");
  if (!ctl::valid_ifname(name)) {
    return tl::unexpected(
        err(EINVAL, "Error: argument \"" + name + "\" is wrong: \"name\" not a valid ifname"));
  }
  const std::string type = p.value("type", "");
  if (type == "vlan" || type == "veth" || type == "bridge") {
    if (p.contains("spoofchk")) {
      return tl::unexpected(spoofchk_refusal(", not to a " + type));
    }
    auto ns = netns_by_name(p.value("netns", ""));
    if (!ns) {
      return tl::unexpected(ns.error());
    }
    return type == "vlan"   ? add_vlan(**ns, p)
           : type == "veth" ? add_veth(**ns, p)
                            : add_bridge(**ns, p);
  }
  if (type != "macvlan" && type != "ipvlan" && type != "macvtap" && type != "ipvtap") {
    return tl::unexpected(
        err(EOPNOTSUPP, "Error: subnic: type \"" + type + "\" is not supported yet"));
  }
  // macvtap/ipvtap: a macvlan/ipvlan upper whose endpoint is a VM.
  const bool vm_kind = type == "macvtap" || type == "ipvtap";
  const std::string kind = type == "macvtap" ? "macvlan" : type == "ipvtap" ? "ipvlan" : type;
  Json info_data = p.value("info_data", Json());
  std::unique_ptr<io::VmPort> vm;
  std::string vm_type;
  if (vm_kind) {
    if (!info_data.is_object() || !info_data.contains("vm")) {
      return tl::unexpected(
          err(EINVAL, "Error: " + type + " needs an endpoint: stream PATH or vhost-user PATH"));
    }
    vm_type = info_data["vm"].value("type", "");  // checked by open_vm
    info_data.erase("vm");
  }
  if (!p.contains("link")) {
    return tl::unexpected(
        err(EINVAL, strerror_line(EINVAL) + " (" + type + " needs \"link LOWER\")"));
  }
  auto ns = netns_by_name(p.value("netns", ""));
  if (!ns) {
    return tl::unexpected(ns.error());
  }
  auto li = (*ns)->nl.get_link(p["link"].get<std::string>());
  if (!li) {
    return tl::unexpected(li.error());
  }
  if ((*ns)->nl.get_link(name)) {
    return tl::unexpected(err(EEXIST, strerror_line(EEXIST)));
  }
  std::optional<core::MacvlanChange> mv_change;
  std::optional<core::IpvlanChange> iv_change;
  if (kind == "macvlan") {
    auto c = parse_macvlan_words(info_data);
    if (!c) {
      return tl::unexpected(c.error());
    }
    mv_change = *c;
  } else {
    auto c = parse_ipvlan_words(info_data);
    if (!c) {
      return tl::unexpected(c.error());
    }
    iv_change = *c;
  }
  if (vm_kind) {
    auto v = open_vm(p["info_data"]["vm"], name);
    if (!v) {
      return tl::unexpected(v.error());
    }
    vm = std::move(*v);
  }
  // Until the upper owns the endpoint, a failure below removes its socket file.
  struct SocketFile {
    const std::unique_ptr<io::VmPort>& vm;
    ~SocketFile() {
      if (vm) {
        ::unlink(vm->path().c_str());
      }
    }
  } socket_file{vm};
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
  // Creating on top of one of our uppers puts the new one on that upper's lower (no nesting):
  // ipvlan_link_new attaches to the slave's master. A macvlan upper as the lower of an ipvlan
  // (or the other way round) is the same device kind clash as on the real lower: EBUSY.
  Lower* lower = nullptr;
  for (auto& [id, u] : uppers_) {
    if (u.ns == (*ns)->inode && u.ifindex == li->ifindex) {
      lower = &lowers_.at(u.lower);
      if (lower->port.kind() != kind) {
        return tl::unexpected(err(EBUSY, strerror_line(EBUSY)));
      }
    }
  }
  if (lower == nullptr) {
    auto l = lower_for(**ns, *li, kind);
    if (!l) {
      return tl::unexpected(l.error());
    }
    lower = *l;
  }
  const auto lower_key = lower->key;
  const std::uint64_t id = next_id_++;
  const auto before_mode = lower->port.ipvlan() ? lower->port.ipvlan()->mode() : core::IpvlanMode{};
  auto idx = mv_change ? lower->port.macvlan()->add_upper(id, mac, random_mac(), mtu, *mv_change)
                       : lower->port.ipvlan()->add_upper(id, mtu, *iv_change);
  if (!idx) {
    auto e = name_lower(idx.error(), *lower);
    release_if_unused(lower_key);
    return tl::unexpected(std::move(e));
  }
  lower->upper_ids.push_back(id);
  if (p.contains("spoofchk")) {
    lower->port.set_spoofchk(*idx, p["spoofchk"].get<bool>());
  }
  const auto& port = lower->port;

  journal_tap(**ns, name);
  auto guard = sys::NetnsGuard::enter((*ns)->fd.get());
  auto tap = guard ? io::Tap::create(name) : tl::unexpected{guard.error()};
  if (guard) {
    (void)guard->leave();
  }
  Result<sys::LinkInfo> tli = tap ? (*ns)->nl.get_link(name) : tl::unexpected{tap.error()};
  if (tli) {
    sys::LinkChange ch;
    ch.ifindex = tli->ifindex;
    ch.address = port.mac(*idx);
    ch.mtu = port.mtu(*idx);
    ch.txqlen = p.value("txqueuelen", 1000u);
    if (port.ipvlan()) {
      // Uppers share the lower's MAC; the kernel tells their EUI-64 link-local addresses apart
      // with a per-upper dev_id, which a TAP does not have: random generation instead (§13).
      ch.addr_gen_mode = 3;  // IN6_ADDR_GEN_MODE_RANDOM
    }
    auto st = (*ns)->nl.change_link(ch);
    if (!st && ch.addr_gen_mode && st.error().code == EAFNOSUPPORT) {
      ch.addr_gen_mode.reset();  // IPv6 disabled in that namespace
      st = (*ns)->nl.change_link(ch);
    }
    if (!st) {
      tli = tl::unexpected{st.error()};
    }
  }
  if (tli && p.contains("to_netns")) {
    // `ip link add NAME link LOWER netns NS`: rtnl_newlink creates the device in NS. The TAP
    // is made beside its lower and moved; a name taken in NS fails the add (EEXIST).
    auto target = netns_by_name(p["to_netns"].get<std::string>());
    if (target) {
      journal_tap(**target, name);  // a kill after the move leaves it there
    }
    Status st = target ? (*ns)->nl.set_netns(tli->ifindex, (*target)->fd.get())
                       : Status{tl::unexpected{target.error()}};
    if (st) {
      ns = target;
      tli = (*ns)->nl.get_link(name);
    } else {
      tli = tl::unexpected{st.error()};
    }
  }
  if (!tli) {
    if (tap) {
      (void)tap->destroy();
    }
    lower->port.remove_upper(*idx);
    lower->upper_ids.pop_back();
    release_if_unused(lower_key);
    return tl::unexpected(tli.error());
  }
  (void)tap->set_carrier(lower->port.lower().up && lower->port.lower().carrier);
  Upper u{
      id, lower_key, name, (*ns)->inode, tli->ifindex, std::make_shared<UpperIo>(std::move(*tap)),
      "", ""};
  if (auto st = datapath_.watch(id, u.io->tap.fd()); !st) {
    spdlog::error("{}: {}", name, st.error().message);
  }
  auto& rec = uppers_.emplace(id, std::move(u)).first->second;
  if (vm) {
    const std::string path = vm->path();
    attach_vm(rec, std::move(vm_type), path, std::move(vm));
  }
  if (const auto* iv = port.ipvlan()) {
    if (iv->mode() != before_mode) {
      apply_ipvlan_mode(*lower);  // no mode words = l3 for every upper of the port
    } else {
      apply_ipvlan_mode_to(rec, *iv);
    }
  }
  apply_lower(*lower);
  dirty_ = true;
  if (const auto* mv = port.macvlan()) {
    spdlog::info("upper {} added on {} ({} {})", name, lower->ifname, type,
                 core::to_string(mv->uppers()[*idx].mode));
  } else {
    spdlog::info("upper {} added on {} ({} {} {})", name, lower->ifname, type,
                 core::to_string(port.ipvlan()->mode()),
                 core::ipvlan_flags_word(port.ipvlan()->flags()));
  }
  return describe(rec, true, false);
}

Status Daemon::set_up(Upper& u, bool up) {
  Lower& l = lowers_.at(u.lower);
  const auto idx = index_of(u);
  auto& ns = *netns_.at(u.ns);
  if (up) {
    if (auto st = l.port.open(idx); !st) {
      return st;
    }
  } else {
    l.port.stop(idx);
  }
  if (auto st = ns.nl.set_up(u.ifindex, up); !st) {
    if (up) {
      l.port.stop(idx);
    }
    return st;
  }
  apply_lower(l);
  return {};
}

Status Daemon::rename_word(Netns& ns, int ifindex, const Json& p, std::string& name) {
  if (!p.contains("newname")) {
    return {};
  }
  const std::string nn = p["newname"].get<std::string>();
  if (!ctl::valid_ifname(nn)) {
    return tl::unexpected(
        err(EINVAL, "Error: argument \"" + nn + "\" is wrong: \"name\" not a valid ifname"));
  }
  if (auto st = ns.nl.set_name(ifindex, nn); !st) {
    return st;
  }
  name = nn;
  dirty_ = true;
  return {};
}

void Daemon::rx_flag_words(Netns& ns, int ifindex, const Json& p) {
  if (p.contains("promisc")) {
    (void)ns.nl.set_promisc(ifindex, p["promisc"].get<bool>());
  }
  if (p.contains("allmulticast")) {
    (void)ns.nl.set_allmulti(ifindex, p["allmulticast"].get<bool>());
  }
}

Status Daemon::netns_word(Netns& ns, int ifindex, const Json& p) {
  if (!p.contains("to_netns")) {
    return {};
  }
  auto target = netns_by_name(p["to_netns"].get<std::string>());
  if (!target) {
    return tl::unexpected(target.error());
  }
  return ns.nl.set_netns(ifindex, (*target)->fd.get());
}

Result<Json> Daemon::link_set(const Json& p0) {
  Json p = p0;
  if (p.contains("master") || p.contains("nomaster") || p.value("type", "") == "bridge_slave") {
    // Any netdev of the namespace can join or leave a subnic bridge.
    if (auto st = set_bridge_port(p); !st) {
      return tl::unexpected(st.error());
    }
    for (const char* k : {"master", "nomaster", "info_slave_data"}) {
      p.erase(k);
    }
    if (p.value("type", "") == "bridge_slave") {
      p.erase("type");
    }
    if (names_only(p)) {
      publish();
      return Json::object();
    }
  }
  if (p.contains("maxmacs")) {
    // A word for the lower (any netdev of the namespace), not for an upper.
    if (auto st = set_maxmacs(p); !st) {
      return tl::unexpected(st.error());
    }
    p.erase("maxmacs");
    if (names_only(p)) {
      return Json::object();
    }
  }
  if (auto d = find_dev(p)) {
    if (p.contains("spoofchk")) {
      return tl::unexpected(spoofchk_refusal("; " + (*d)->name + " is not one"));
    }
    return dev_set(**d, p);
  }
  auto found = find_upper(p);
  if (!found) {
    return tl::unexpected(found.error());
  }
  Upper& u = **found;
  const std::uint64_t id = u.id;
  Lower& l = lowers_.at(u.lower);
  auto& ns = *netns_.at(u.ns);
  // ip's order (iplink.c / rtnl_setlink): type data, name, address, mtu, netns, then up/down.
  if (p.contains("info_data") || p.contains("type")) {
    if (p.contains("type") && p["type"] != kind_word(u)) {
      return tl::unexpected(err(EOPNOTSUPP, strerror_line(EOPNOTSUPP) + " (not a " +
                                                p["type"].get<std::string>() + " device)"));
    }
    if (p.contains("info_data") && p["info_data"].is_object() && p["info_data"].contains("vm")) {
      if (vm_endpoint(p["info_data"]["vm"]) != std::pair{u.vm_type, u.vm_path}) {
        return tl::unexpected(err(
            EOPNOTSUPP, "Error: a " + kind_word(u) + " keeps the endpoint it was created with"));
      }
      p["info_data"].erase("vm");
    }
    if (auto* mv = l.port.macvlan()) {
      auto change = parse_macvlan_words(p.value("info_data", Json()));
      if (!change) {
        return tl::unexpected(change.error());
      }
      if (auto st = mv->changelink(index_of(u), *change); !st) {
        return tl::unexpected(st.error());
      }
    } else {
      auto change = parse_ipvlan_words(p.value("info_data", Json()));
      if (!change) {
        return tl::unexpected(change.error());
      }
      if (auto st = l.port.ipvlan()->changelink(index_of(u), *change); !st) {
        return tl::unexpected(st.error());
      }
      apply_ipvlan_mode(l);
    }
    apply_lower(l);
    dirty_ = true;
  }
  if (p.contains("spoofchk")) {
    l.port.set_spoofchk(index_of(u), p["spoofchk"].get<bool>());
    dirty_ = true;
  }
  if (auto st = rename_word(ns, u.ifindex, p, u.name); !st) {
    return tl::unexpected(st.error());
  }
  if (p.contains("address")) {
    const auto mac = core::Mac::parse(p["address"].get<std::string>());
    if (!mac) {
      return tl::unexpected(err(EINVAL, "Error: invalid MAC " + p["address"].dump()));
    }
    auto r = l.port.set_address(index_of(u), *mac);
    if (!r) {
      return tl::unexpected(name_lower(r.error(), l));
    }
    auto& lns = *netns_.at(l.ns);
    const auto st = *r ? lns.nl.set_address(l.ifindex, *mac) : ns.nl.set_address(u.ifindex, *mac);
    if (!st) {
      return tl::unexpected(st.error());
    }
    if (*r) {
      sync_lower(l.key, false);
    }
    apply_lower(l);
    dirty_ = true;
  }
  if (p.contains("mtu")) {
    const auto mtu = p["mtu"].get<std::uint32_t>();
    if (auto st = l.port.set_mtu(index_of(u), mtu); !st) {
      return tl::unexpected(st.error());
    }
    if (auto st = ns.nl.set_mtu(u.ifindex, mtu); !st) {
      return tl::unexpected(st.error());
    }
    dirty_ = true;
  }
  rx_flag_words(ns, u.ifindex, p);
  if (auto st = netns_word(ns, u.ifindex, p); !st) {
    return tl::unexpected(st.error());
  }
  if (p.contains("to_netns")) {
    sync_upper(id);
  }
  if (p.contains("up")) {
    if (uppers_.count(id) == 0) {
      return tl::unexpected(err(ENODEV, "Cannot find device \"" + p.value("name", "") + "\""));
    }
    if (auto st = set_up(uppers_.at(id), p["up"].get<bool>()); !st) {
      return tl::unexpected(st.error());
    }
  }
  if (uppers_.count(id) != 0) {
    sync_upper(id);
  }
  publish();
  return Json::object();
}

Result<Json> Daemon::link_del(const Json& p) {
  if (auto d = find_dev(p)) {
    delete_dev((*d)->id);
    publish();
    return Json::object();
  }
  auto found = find_upper(p);
  if (!found) {
    return tl::unexpected(found.error());
  }
  delete_upper((*found)->id, true);
  publish();
  return Json::object();
}

bool Daemon::owns(std::uint64_t ns, int ifindex) const {
  return std::any_of(
             uppers_.begin(), uppers_.end(),
             [&](const auto& u) { return u.second.ns == ns && u.second.ifindex == ifindex; }) ||
         std::any_of(devs_.begin(), devs_.end(), [&](const auto& d) {
           return d.second.ns == ns && d.second.ifindex == ifindex;
         });
}

Result<Json> Daemon::link_show(const Json& p) {
  Json links = Json::array();
  const bool details = p.value("details", false);
  const bool stats = p.value("stats", false);
  if (p.contains("name")) {
    if (auto d = find_dev(p)) {
      links.push_back(describe_dev(**d, details, stats));
      return Json{{"links", links}};
    }
    auto nsr = netns_by_name(p.value("netns", ""));
    for (const auto& [k, bp] : ports_) {
      if (nsr && bp.ns == (*nsr)->inode && bp.ifname == p["name"].get<std::string>()) {
        if (!owns(bp.ns, bp.ifindex)) {
          links.push_back(describe_port(bp, details, stats));
          return Json{{"links", links}};
        }
      }
    }
    auto found = find_upper(p);
    if (!found) {
      if (found.error().code == ENODEV) {
        return tl::unexpected(
            err(ENODEV, "Device \"" + p["name"].get<std::string>() + "\" does not exist."));
      }
      return tl::unexpected(found.error());
    }
    links.push_back(describe(**found, details, stats));
  } else {
    // With -n NS only that namespace's devices, as `ip -n NS link`; without, every subnic
    // device wherever it is now.
    std::optional<std::uint64_t> only;
    if (p.contains("netns")) {
      auto nsr = netns_by_name(p["netns"].get<std::string>());
      if (!nsr) {
        return tl::unexpected(nsr.error());
      }
      only = (*nsr)->inode;
    }
    const auto wanted = [&](std::uint64_t ns) { return !only || *only == ns; };
    for (auto& [id, u] : uppers_) {
      if (wanted(u.ns)) {
        links.push_back(describe(u, details, stats));
      }
    }
    for (auto& [id, d] : devs_) {
      if (wanted(d.ns)) {
        links.push_back(describe_dev(d, details, stats));
      }
    }
    for (auto& [k, bp] : ports_) {
      if (!wanted(bp.ns)) {
        continue;
      }
      // A subnic device that is a port is already listed, with "master".
      if (!owns(bp.ns, bp.ifindex)) {
        links.push_back(describe_port(bp, details, stats));
      }
    }
  }
  return Json{{"links", links}};
}

Json Daemon::describe(const Upper& u, bool details, bool stats) {
  const Lower& l = lowers_.at(u.lower);
  const auto idx = index_of(u);
  Json j;
  j["ifindex"] = u.ifindex;
  j["link"] = l.ifname;
  j["ifname"] = u.name;
  auto li = netns_.at(u.ns)->nl.get_link(u.ifindex);
  const unsigned flags = li ? li->flags : 0;
  const bool carrier = l.port.lower().up && l.port.lower().carrier;
  j["flags"] = flag_words(flags, carrier);
  j["mtu"] = l.port.mtu(idx);
  j["qdisc"] = "noqueue";
  for (const auto& [k, bp] : ports_) {
    if (bp.ns == u.ns && bp.ifindex == u.ifindex) {
      j["master"] = devs_.at(bp.bridge).name;
    }
  }
  j["operstate"] = !(flags & IFF_UP) ? "DOWN" : (carrier ? "UP" : "LOWERLAYERDOWN");
  j["linkmode"] = "DEFAULT";
  j["group"] = "default";
  j["txqlen"] = li ? li->txqlen : 1000;
  j["link_type"] = "ether";
  j["address"] = l.port.mac(idx).to_string();
  j["broadcast"] = "ff:ff:ff:ff:ff:ff";
  j["netns"] = netns_label(u.ns);
  j["link_netns"] = netns_label(l.ns);
  if (details) {
    j["promiscuity"] = li ? li->promiscuity : 0;
    j["allmulti"] = li ? li->allmulti : 0;
    j["min_mtu"] = core::kMinMtu;
    Json data;
    Json dev = Json::array();
    Json ext = Json::object();
    if (const auto* mv = l.port.macvlan()) {
      const auto& cfg = mv->uppers()[idx];
      j["max_mtu"] = l.port.lower().max_mtu;
      data["mode"] = core::to_string(cfg.mode);
      Json fl = Json::array();
      if (cfg.flags & core::kMacvlanNoPromisc) {
        fl.push_back("nopromisc");
      }
      if (cfg.flags & core::kMacvlanNoDst) {
        fl.push_back("nodst");
      }
      if (!fl.empty()) {
        data["flags"] = fl;
      }
      data["bcqueuelen"] = cfg.bcqueuelen;
      data["usedbcqueuelen"] = mv->bc_queue_len_used();
      if (mv->bclim() != core::kDefaultBcLim) {
        data["bclim"] = mv->bclim();
      }
      // The lower's MAC limit and what counts against it (subnic's maxmacs).
      ext["lower_macs"] = mv->mac_count();
      ext["lower_maxmacs"] = mv->max_macs();
      if (cfg.mode == core::MacvlanMode::kSource) {
        data["macaddr_count"] = cfg.sources.size();
        Json srcs = Json::array();
        for (const auto& m : cfg.sources) {
          srcs.push_back(m.to_string());
        }
        data["macaddr_data"] = srcs;
      }
      // What an AF_PACKET lower cannot do like the kernel (semantics.md §13).
      dev.push_back("lower-taps: bridge-local frames are not seen by the lower's packet sockets");
      // The [CONSUME] frames are dropped by the lower's ingress table (apply_steer); a port
      // stacked on a subnic VLAN hands its VLAN's TAP only what the kernel would pass.
      if ((cfg.mode == core::MacvlanMode::kPassthru || cfg.mode == core::MacvlanMode::kPrivate ||
           cfg.mode == core::MacvlanMode::kSource) &&
          l.via_vlan == 0 && (!l.steer || l.steer_failed)) {
        dev.push_back(
            "consume: frames the kernel takes from the lower's own stack still reach it (no "
            "nftables ingress hook)");
      }
    } else {
      const auto& iv = *l.port.ipvlan();
      const auto& cfg = iv.uppers()[idx];
      j["max_mtu"] = core::kIpvlanMaxMtu;
      // ip -j -d (iproute2 ip/iplink_ipvlan.c): "mode", then the flag word as a key.
      data["mode"] = core::to_string(iv.mode());
      data[std::string{core::ipvlan_flags_word(iv.flags())}] = true;
      auto texts = [](const std::vector<core::IpAddr>& v) {
        Json a = Json::array();
        for (const auto& x : v) {
          a.push_back(x.to_string());
        }
        return a;
      };
      ext["addresses"] = texts(cfg.addrs);
      ext["address_conflicts"] = texts(cfg.conflicts);
      ext["address_conflicts_seen"] = cfg.conflicts_seen;
      ext["dev_id"] = cfg.dev_id;
      dev.push_back("lower-taps: frames between uppers are not seen by the lower's packet sockets");
      if (iv.mode() != core::IpvlanMode::kL3S && l.via_vlan == 0 && (!l.steer || l.steer_failed)) {
        dev.push_back(
            "consume: frames for an upper's address also reach the lower's own stack "
            "(no nftables ingress hook; keep forwarding off there)");
      } else if (iv.mode() == core::IpvlanMode::kL3S) {
        dev.push_back(
            "l3s: traffic to the uppers crosses the lower namespace's PREROUTING hooks but not "
            "its INPUT hooks");
      }
      dev.push_back(
          "addresses: an address another upper owns is not refused in the namespace; the "
          "first owner keeps it (address_conflicts)");
      if (iv.mode() == core::IpvlanMode::kL2) {
        dev.push_back(
            "l2: IP frames for the lower's own stack enter it through its IP output, ARP "
            "becomes a neighbour update, other frames for it are dropped (no_inject)");
      }
      dev.push_back("link-local: IPv6 link-local addresses are random, not EUI-64 with dev_id");
    }
    if (!u.vm_type.empty()) {
      data["vm"] = Json{{"type", u.vm_type}, {"path", u.vm_path}};
      const auto vs = u.io->vm ? u.io->vm->stats() : io::VmPort::Stats{};
      ext["vm"] = Json{{"connected", u.io->vm && u.io->vm->connected()},
                       {"connects", vs.connects},
                       {"malformed", vs.malformed},
                       {"overruns", vs.overruns}};
      if (!u.io->vm) {
        ext["vm"]["error"] = "the endpoint could not be opened again after a restart (see the log)";
      }
      dev.push_back(
          "vm: frames the VM sends with a source MAC other than the upper's are "
          "dropped (src_mac); the kernel's macvtap passes them");
    }
    j["linkinfo"] = Json{{"info_kind", kind_word(u)}, {"info_data", data}};
    j["linkinfo"].update(slave_info(u.ns, u.ifindex));
    ext["spoofchk"] = l.port.spoofchk(idx);
    ext["deviations"] = dev;
    j["subnic"] = ext;
  }
  if (stats) {
    auto st = stats_json(u.io->counters);
    j["stats64"] = st["stats64"];
    j["drops"] = st["drops"];
  }
  return j;
}

std::string Daemon::kind_word(const Upper& u) const {
  const std::string kind{lowers_.at(u.lower).port.kind()};
  if (u.vm_type.empty()) {
    return kind;
  }
  return kind == "ipvlan" ? "ipvtap" : "macvtap";
}

std::pair<std::string, std::string> Daemon::vm_endpoint(const Json& vm) {
  return {vm.value("type", ""),
          std::filesystem::path{vm.value("path", "")}.lexically_normal().string()};
}

Result<std::unique_ptr<io::VmPort>> Daemon::open_vm(const Json& vm, const std::string& name) const {
  const auto [type, path] = vm_endpoint(vm);
  if (type != "stream" && type != "vhost-user") {
    return tl::unexpected(err(EINVAL,
                              "Error: endpoint type must be \"stream\" or "
                              "\"vhost-user\", not \"" +
                                  type + "\""));
  }
  if (path.empty() || path.front() != '/') {
    return tl::unexpected(
        err(EINVAL, "Error: " + type + " needs an absolute socket path, not \"" + path + "\""));
  }
  for (const auto& [id, u] : uppers_) {
    if (!u.vm_path.empty() && u.vm_path == path) {
      return tl::unexpected(
          err(EADDRINUSE, "Error: " + path + " is already the endpoint of " + u.name));
    }
  }
  auto port = io::listen_vm(type, path);
  if (!port) {
    return tl::unexpected(port.error());
  }
  if (auto* vu = dynamic_cast<io::VhostUserPort*>(port->get())) {
    vu->set_log([name](std::string_view line) { spdlog::info("{}: vhost-user: {}", name, line); });
  }
  return std::move(*port);
}

void Daemon::attach_vm(Upper& u, std::string type, std::string path,
                       std::unique_ptr<io::VmPort> vm) {
  u.vm_type = std::move(type);
  u.vm_path = std::move(path);
  if (!vm) {
    return;
  }
  if (auto st = datapath_.watch(u.id | kVmKeyBit, vm->fd()); !st) {
    spdlog::error("{}: {}", u.name, st.error().message);
  }
  spdlog::info("upper {}: VM endpoint {} {}", u.name, u.vm_type, u.vm_path);
  u.io->vm = std::move(vm);
}

Result<std::pair<std::string, Daemon::Netns*>> Daemon::tap_place(UpperIo& io) {
  if (io.broken.load()) {
    return tl::unexpected(err(EBADFD, "its TAP failed"));
  }
  auto name = io.tap.name();
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto nsfd = io.tap.netns();
  if (!nsfd) {
    return tl::unexpected(nsfd.error());
  }
  auto ns = netns_by_fd(std::move(*nsfd));
  return std::pair{std::move(*name), ns ? *ns : nullptr};
}

// ---- following devices ---------------------------------------------------------------------

void Daemon::apply_lower(Lower& l) {
  if (l.via_vlan != 0) {
    // Stacked on a subnic VLAN device: the physical lower's socket carries the filter.
    if (auto li = netns_.at(l.ns)->nl.get_link(l.ifindex)) {
      l.port.set_lower(lower_state(*li));
    }
    if (auto d = devs_.find(l.via_vlan); d != devs_.end()) {
      if (auto phys = lowers_.find(d->second.lower); phys != lowers_.end()) {
        apply_lower(phys->second);
        return;
      }
    }
    publish();
    return;
  }
  core::LowerFilter want = l.port.lower_filter();
  // vlan_dev_open / dev_uc_add through the VLAN: what the ports stacked on this lower's VLAN
  // devices need, and VLAN MACs other than the lower's, join the lower's filter.
  for (std::uint32_t i = 0; i < l.vlan_ids.size(); ++i) {
    const auto& vd = l.vlans.devices()[i];
    if (vd.up && vd.mac != l.port.lower().mac) {
      want.unicast.push_back(vd.mac);
    }
    for (const auto& [k, s] : lowers_) {
      if (s.via_vlan == l.vlan_ids[i]) {
        const auto f = s.port.lower_filter();
        want.unicast.insert(want.unicast.end(), f.unicast.begin(), f.unicast.end());
        want.multicast.insert(want.multicast.end(), f.multicast.begin(), f.multicast.end());
        want.promisc += f.promisc;
        want.allmulti += f.allmulti;
      }
    }
  }
  for (auto* v : {&want.unicast, &want.multicast}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  auto& sock = *l.io->sock;
  using M = io::Membership;
  auto sync_set = [&](const std::vector<core::Mac>& have, const std::vector<core::Mac>& need,
                      M kind) {
    for (const auto& m : have) {
      if (!std::binary_search(need.begin(), need.end(), m)) {
        (void)sock.drop_membership(kind, m);
      }
    }
    for (const auto& m : need) {
      if (!std::binary_search(have.begin(), have.end(), m)) {
        if (auto st = sock.add_membership(kind, m); !st) {
          spdlog::warn("{}: {}", l.ifname, st.error().message);
        }
      }
    }
  };
  sync_set(l.applied.unicast, want.unicast, M::kUnicast);
  sync_set(l.applied.multicast, want.multicast, M::kMulticast);
  if ((want.promisc > 0) != (l.applied.promisc > 0)) {
    (void)(want.promisc > 0 ? sock.add_membership(M::kPromisc) : sock.drop_membership(M::kPromisc));
  }
  if ((want.allmulti > 0) != (l.applied.allmulti > 0)) {
    (void)(want.allmulti > 0 ? sock.add_membership(M::kAllmulti)
                             : sock.drop_membership(M::kAllmulti));
  }
  l.applied = want;
  // The memberships may have changed the lower's promiscuity (§1.4): read it back.
  if (auto li = netns_.at(l.ns)->nl.get_link(l.ifindex)) {
    l.port.set_lower(lower_state(*li));
  }
  publish();
}

void Daemon::sync_lower(std::uint64_t key, bool removed) {
  auto it = lowers_.find(key);
  if (it == lowers_.end()) {
    return;
  }
  Lower& l = it->second;
  auto li = removed ? Result<sys::LinkInfo>{tl::unexpected{err(ENODEV, "")}}
                    : netns_.at(l.ns)->nl.get_link(l.ifindex);
  if (!li) {
    // NETDEV_UNREGISTER: every upper goes with its lower, wherever it is now.
    spdlog::info("lower {} disappeared: deleting its uppers", l.ifname);
    limits_.erase({l.ns, l.ifindex});
    const auto ids = l.upper_ids;
    const auto vlan_ids = l.vlan_ids;
    for (const auto id : ids) {
      delete_upper(id, true);
    }
    for (const auto id : vlan_ids) {
      delete_dev(id);  // vlan_device_event NETDEV_UNREGISTER: its VLAN devices go too
    }
    publish();
    return;
  }
  const core::LowerState before = l.port.lower();
  const auto before_mtus = [&] {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = 0; i < l.port.size(); ++i) {
      v.push_back(l.port.mtu(i));
    }
    return v;
  }();
  l.ifname = li->name;
  if (lower_state(*li) == before) {
    return;  // the periodic resync: nothing changed, no new snapshot
  }
  l.port.set_lower(lower_state(*li));
  const core::LowerState& now = l.port.lower();
  const bool carrier = now.up && now.carrier;
  sync_vlans(l, before);
  for (std::uint32_t i = 0; i < l.upper_ids.size(); ++i) {
    Upper& u = uppers_.at(l.upper_ids[i]);
    const auto cfg_mtu = l.port.mtu(i);
    const auto cfg_mac = l.port.mac(i);
    if (carrier != (before.up && before.carrier)) {
      (void)u.io->tap.set_carrier(carrier);
    }
    auto& ns = *netns_.at(u.ns);
    if (auto tli = ns.nl.get_link(u.ifindex)) {
      if (tli->mtu != cfg_mtu && cfg_mtu != before_mtus[i]) {
        (void)ns.nl.set_mtu(u.ifindex, cfg_mtu);  // NETDEV_CHANGEMTU changed it
      }
      if (tli->address != cfg_mac) {
        (void)ns.nl.set_address(u.ifindex, cfg_mac);  // passthru / ipvlan follow the lower
      }
    }
  }
  publish();
}

void Daemon::sync_upper(std::uint64_t id) {
  auto it = uppers_.find(id);
  if (it == uppers_.end()) {
    return;
  }
  Upper& u = it->second;
  auto place = tap_place(*u.io);
  if (!place) {
    // The device is gone (its namespace was deleted, or someone deleted it): as the kernel's
    // macvlan would be, the upper is gone.
    spdlog::info("upper {} vanished: {}", u.name, place.error().message);
    delete_upper(id, false);
    publish();
    return;
  }
  auto& [name, ns] = *place;
  if (ns == nullptr) {
    return;
  }
  const bool moved = ns->inode != u.ns;
  if (moved || name != u.name) {
    spdlog::info("upper {} is now {} in netns \"{}\"", u.name, name, ns->name);
    u.ns = ns->inode;
    u.name = name;
    dirty_ = true;
  }
  auto li = ns->nl.get_link(u.name);
  if (!li) {
    return;
  }
  if (moved && lowers_.at(u.lower).port.ipvlan()) {
    // A move re-creates the device's IPv6 state with the new namespace's defaults (EUI-64
    // link-local from the shared MAC): ask for random generation again (§13).
    (void)ns->nl.set_addr_gen_mode(li->ifindex, 3);  // IN6_ADDR_GEN_MODE_RANDOM
  }
  u.ifindex = li->ifindex;
  Lower& l = lowers_.at(u.lower);
  const auto idx = index_of(u);
  auto& nl = ns->nl;
  bool changed = false;
  // A plain `ip link set` on the TAP: subnic applies it through the same rules, and undoes
  // what the kernel's macvlan would have refused (the TAP cannot refuse it itself).
  if (li->up() && !l.port.up(idx)) {
    if (auto st = l.port.open(idx); !st) {
      spdlog::warn("{}: up refused ({}); setting it down again", u.name, st.error().message);
      (void)nl.set_up(u.ifindex, false);
    }
    changed = true;
  } else if (!li->up() && l.port.up(idx)) {
    l.port.stop(idx);
    changed = true;
  }
  if (li->address != l.port.mac(idx)) {
    auto r = l.port.set_address(idx, li->address);
    if (!r) {
      spdlog::warn("{}: address {} refused ({}); restoring {}", u.name, li->address.to_string(),
                   r.error().message, l.port.mac(idx).to_string());
      (void)nl.set_address(u.ifindex, l.port.mac(idx));
    } else if (*r) {
      (void)netns_.at(l.ns)->nl.set_address(l.ifindex, li->address);  // passthru: the lower
      sync_lower(l.key, false);
    }
    changed = true;
    dirty_ = true;
  }
  if (li->mtu != l.port.mtu(idx)) {
    if (auto st = l.port.set_mtu(idx, li->mtu); !st) {
      spdlog::warn("{}: mtu {} refused ({}); restoring {}", u.name, li->mtu, st.error().message,
                   l.port.mtu(idx));
      (void)nl.set_mtu(u.ifindex, l.port.mtu(idx));
    }
    dirty_ = true;
  }
  // The upper's receive filter, as its namespace's stack set it.
  std::vector<core::Mac> mc;
  if (mc_tables_) {
    // A resync of every device: each namespace's file is read once (sync_all).
    auto t = mc_tables_->find(ns->inode);
    if (t == mc_tables_->end()) {
      sys::DevMcastTable table;
      if (auto guard = sys::NetnsGuard::enter(ns->fd.get())) {
        if (auto all = sys::read_dev_mcast_all()) {
          table = std::move(*all);
        }
        (void)guard->leave();
      }
      t = mc_tables_->emplace(ns->inode, std::move(table)).first;
    }
    if (const auto list = t->second.find(u.ifindex); list != t->second.end()) {
      mc = core::normalize_mc_list(list->second);
    }
  } else if (auto guard = sys::NetnsGuard::enter(ns->fd.get())) {
    if (auto list = sys::read_dev_mcast(u.ifindex)) {
      mc = core::normalize_mc_list(std::move(*list));
    }
    (void)guard->leave();
  }
  const bool promisc = li->promiscuity > 0;
  const bool allmulti = li->allmulti > 0 || (li->flags & IFF_ALLMULTI);
  if (promisc != l.port.promisc(idx) || allmulti != l.port.allmulti(idx) ||
      mc != l.port.mc_list(idx)) {
    l.port.set_upper_rx(idx, promisc, allmulti, std::move(mc));
    changed = true;
  }
  if (l.port.ipvlan()) {
    sync_addresses(u, l, idx);
  }
  if (changed) {
    apply_lower(l);
  }
}

void Daemon::sync_addresses(Upper& u, Lower& l, std::uint32_t idx) {
  auto& iv = *l.port.ipvlan();
  auto addrs = netns_.at(u.ns)->nl.list_addrs(u.ifindex);
  if (!addrs) {
    return;
  }
  std::sort(addrs->begin(), addrs->end());
  addrs->erase(std::unique(addrs->begin(), addrs->end()), addrs->end());
  const auto& cur = iv.uppers()[idx];
  std::vector<core::IpAddr> known = cur.addrs;
  known.insert(known.end(), cur.conflicts.begin(), cur.conflicts.end());
  std::sort(known.begin(), known.end());
  if (known == *addrs) {
    return;  // the periodic resync: nothing changed
  }
  // An EUI-64 link-local address from the shared MAC, made before subnic could ask for random
  // generation (the upper came up in its new namespace at once): replace it with a random one
  // rather than leave two uppers with the same link-local address (§13).
  const core::IpAddr eui64 = eui64_link_local(l.port.mac(idx));
  if (std::binary_search(addrs->begin(), addrs->end(), eui64) && iv.owner(eui64) &&
      iv.uppers()[*iv.owner(eui64)].id != u.id) {
    auto& nl = netns_.at(u.ns)->nl;
    core::IpAddr fresh = eui64;
    const std::uint64_t r = random_u64();
    for (int i = 0; i < 8; ++i) {
      fresh.bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(r >> (8 * i));
    }
    fresh.bytes[8] &= 0xfd;  // RFC 4291 Appendix A: "u" bit 0, not a universal identifier
    if (nl.add_addr(u.ifindex, fresh, 64) && nl.del_addr(u.ifindex, eui64, 64)) {
      spdlog::info("{}: link-local {} replaced by {} (another upper has it)", u.name,
                   eui64.to_string(), fresh.to_string());
      std::replace(addrs->begin(), addrs->end(), eui64, fresh);
      std::sort(addrs->begin(), addrs->end());
    }
  }
  const auto conflicts = iv.set_addresses(idx, *addrs);
  if (conflicts > 0) {
    // The kernel refuses such an `ip addr add` with EADDRINUSE; subnic cannot veto it.
    for (const auto& a : iv.uppers()[idx].conflicts) {
      spdlog::warn("{}: address {} belongs to another upper of {}; the first owner keeps it",
                   u.name, a.to_string(), l.ifname);
    }
  }
  publish();
}

void Daemon::apply_ipvlan_mode(Lower& l) {
  const auto* iv = l.port.ipvlan();
  if (iv == nullptr) {
    return;
  }
  for (const auto id : l.upper_ids) {
    apply_ipvlan_mode_to(uppers_.at(id), *iv);
  }
}

void Daemon::apply_ipvlan_mode_to(Upper& u, const core::IpvlanPort& iv) {
  if (auto st = netns_.at(u.ns)->nl.set_noarp(u.ifindex, iv.noarp()); !st) {
    spdlog::warn("{}: NOARP: {}", u.name, st.error().message);
  }
  (void)u.io->tap.set_offload(iv.noarp() ? io::Tap::kOffloadsCsumOnly : io::Tap::kOffloadsFull);
}

void Daemon::sync_all() {
  std::vector<std::uint64_t> lower_keys;
  for (const auto& [k, l] : lowers_) {
    lower_keys.push_back(k);
  }
  for (const auto k : lower_keys) {
    sync_lower(k, false);
  }
  std::vector<std::uint64_t> ids;
  for (const auto& [id, u] : uppers_) {
    ids.push_back(id);
  }
  std::unordered_map<std::uint64_t, sys::DevMcastTable> tables;
  mc_tables_ = &tables;
  for (const auto id : ids) {
    sync_upper(id);
  }
  mc_tables_ = nullptr;
  std::vector<std::uint64_t> dev_ids, port_keys;
  for (const auto& [id, d] : devs_) {
    dev_ids.push_back(id);
  }
  for (const auto& [k, bp] : ports_) {
    port_keys.push_back(k);
  }
  for (const auto id : dev_ids) {
    sync_dev(id);
  }
  for (const auto k : port_keys) {
    sync_port(k);
  }
  release_unused_netns();
}

void Daemon::on_monitor(Netns& ns) {
  std::vector<std::uint64_t> uppers, lowers, devs, bports;
  std::vector<std::uint64_t> removed_lowers;
  bool all = false;
  const std::uint64_t inode = ns.inode;
  (void)ns.monitor.drain([&](const sys::LinkEvent& ev) {
    if (ev.overrun) {
      all = true;
      return;
    }
    for (const auto& [k, l] : lowers_) {
      if (!ev.address && l.ns == inode && l.ifindex == ev.link.ifindex) {
        (ev.removed ? removed_lowers : lowers).push_back(k);
      }
    }
    for (const auto& [id, u] : uppers_) {
      if (u.ns == inode && u.ifindex == ev.link.ifindex) {
        uppers.push_back(id);
      }
    }
    for (const auto& [id, d] : devs_) {
      if (!ev.address && d.ns == inode && d.ifindex == ev.link.ifindex) {
        devs.push_back(id);
      }
    }
    for (const auto& [k, bp] : ports_) {
      if (!ev.address && bp.ns == inode && bp.ifindex == ev.link.ifindex) {
        bports.push_back(k);
      }
    }
  });
  if (all) {
    sync_all();
    return;
  }
  for (const auto k : removed_lowers) {
    sync_lower(k, true);
  }
  for (const auto k : lowers) {
    sync_lower(k, false);
  }
  for (const auto id : uppers) {
    sync_upper(id);
  }
  for (const auto id : devs) {
    sync_dev(id);
  }
  for (const auto k : bports) {
    sync_port(k);
  }
  release_unused_netns();
}

// ---- publishing and state ------------------------------------------------------------------

void Daemon::apply_steer(Lower& l) {
  if (!l.steer) {
    return;
  }
  sys::SteerRules r;
  if (const auto* mv = l.port.macvlan()) {
    r = sys::macvlan_steer_rules(*mv);
  } else if (const auto* iv = l.port.ipvlan()) {
    r.unicast_only = iv->mode() == core::IpvlanMode::kL2;
    if (iv->mode() != core::IpvlanMode::kL3S) {
      for (const auto& u : iv->uppers()) {
        if (u.up) {
          r.addrs.insert(r.addrs.end(), u.addrs.begin(), u.addrs.end());
        }
      }
    }
    std::sort(r.addrs.begin(), r.addrs.end());
  }
  if (auto st = l.steer->apply(r); !st) {
    if (!l.steer_failed) {
      spdlog::warn("{}: frames for uppers will also reach its own stack: {}", l.ifname,
                   st.error().message);
    }
    l.steer_failed = true;
  } else {
    l.steer_failed = false;
  }
}

void Daemon::publish() {
  auto snap = std::make_shared<Snapshot>();
  std::map<std::uint64_t, std::uint32_t> port_index;
  for (auto& [key, l] : lowers_) {
    apply_steer(l);
    const auto pi = static_cast<std::uint32_t>(snap->ports.size());
    PortSnapshot ps{l.port, l.io, {}, {}, {}, {}};
    for (const auto id : l.upper_ids) {
      ps.uppers.push_back(uppers_.at(id).io);
      const auto ui = static_cast<std::int32_t>(ps.uppers.size() - 1);
      snap->by_key[id] = Endpoint{Endpoint::Kind::kUpper, pi, ui};
      if (ps.uppers.back()->vm) {
        snap->by_key[id | kVmKeyBit] = Endpoint{Endpoint::Kind::kVm, pi, ui};
      }
    }
    if (l.io->sock) {
      snap->by_key[key] = Endpoint{Endpoint::Kind::kLower, pi, -1};
    }
    port_index[key] = pi;
    snap->ports.push_back(std::move(ps));
  }
  publish_l2(*snap, port_index);
  datapath_.publish(std::move(snap));
}

void Daemon::journal_tap(Netns& ns, const std::string& name) {
  creating_.emplace_back(ns.inode, name);
  save_state();
}

void Daemon::sweep_journal(const Json& creating) {
  for (const auto& c : creating) {
    const std::string name = c.value("name", "");
    auto ns = netns_by_name(c.value("netns", ""));
    if (name.empty() || !ns) {
      continue;
    }
    // Only a TAP nobody owns: one of ours that an upper or device of the state file now
    // holds was reattached before this runs.
    auto li = (*ns)->nl.get_link(name);
    if (!li || li->kind != "tun" || owns((*ns)->inode, li->ifindex)) {
      continue;
    }
    if ((*ns)->nl.del_link(li->ifindex)) {
      spdlog::warn("{}: deleted; subnicd was killed while creating it", name);
    }
  }
}

void Daemon::save_state() {
  Json creating = Json::array();
  for (const auto& [ns, name] : creating_) {
    creating.push_back(Json{{"netns", netns_label(ns)}, {"name", name}});
  }
  Json uppers = Json::array();
  for (const auto& [id, u] : uppers_) {
    const Lower& l = lowers_.at(u.lower);
    const auto idx = index_of(u);
    Json e{{"id", id},
           {"name", u.name},
           {"netns", netns_label(u.ns)},
           {"netns_inode", u.ns},
           {"ifindex", u.ifindex},
           {"lower", {{"netns", netns_label(l.ns)}, {"ifname", l.ifname}}},
           {"type", std::string{l.port.kind()}},
           {"address", l.port.mac(idx).to_string()},
           {"mtu", l.port.mtu(idx)},
           {"spoofchk", l.port.spoofchk(idx)}};
    if (!u.vm_type.empty()) {
      e["vm"] = Json{{"type", u.vm_type}, {"path", u.vm_path}};
    }
    if (const auto* mv = l.port.macvlan()) {
      const auto& cfg = mv->uppers()[idx];
      Json srcs = Json::array();
      for (const auto& m : cfg.sources) {
        srcs.push_back(m.to_string());
      }
      e["mode"] = core::to_string(cfg.mode);
      e["flags"] = cfg.flags;
      e["bcqueuelen"] = cfg.bcqueuelen;
      e["bclim"] = mv->bclim();
      e["sources"] = srcs;
    } else {
      const auto& iv = *l.port.ipvlan();
      Json owned = Json::array();
      for (const auto& a : iv.uppers()[idx].addrs) {
        owned.push_back(a.to_string());
      }
      e["mode"] = core::to_string(iv.mode());
      e["flags"] = iv.flags();
      e["addrs"] = owned;  // ownership survives a restart: the first owner stays the owner
    }
    uppers.push_back(std::move(e));
  }
  Json limits = Json::array();
  for (auto it = limits_.begin(); it != limits_.end();) {
    const auto& [key, lim] = *it;
    auto ns = netns_.find(key.first);
    auto li = ns != netns_.end() ? ns->second->nl.get_link(key.second)
                                 : Result<sys::LinkInfo>{tl::unexpected{err(ENODEV, "")}};
    if (!li && li.error().code == ENODEV) {
      it = limits_.erase(it);  // the lower is gone, and its limit with it
      continue;
    }
    if (li) {
      it->second.ifname = li->name;  // renamed since
    }
    limits.push_back(Json{{"netns", netns_label(key.first)},
                          {"ifname", it->second.ifname},
                          {"maxmacs", it->second.maxmacs}});
    ++it;
  }
  const Json state{{"version", kStateVersion}, {"next_id", next_id_},  {"creating", creating},
                   {"uppers", uppers},         {"devices", save_l2()}, {"lower_limits", limits}};
  // Atomic replace: write a temporary file and rename it over the old one. A process crash
  // (kill -9) at any point leaves the old or the new file whole: both live in the page cache.
  // No fsync: it cost a disk flush per request (37 ms a create/delete cycle here), and what it
  // adds, surviving a power loss, is moot, since the persistent TAPs the file describes do not
  // survive a reboot (restore drops uppers whose TAP vanished).
  const std::filesystem::path dir{opts_.state_dir};
  const auto tmp = dir / "state.json.tmp";
  const auto dst = dir / "state.json";
  const std::string text = state.dump(2) + "\n";
  sys::UniqueFd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    spdlog::error("saving state to {}: {}", tmp.string(), std::strerror(errno));
    return;
  }
  fd.reset();
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    spdlog::error("saving state to {}: {}", dst.string(), std::strerror(errno));
    return;
  }
  dirty_ = false;
}

bool Daemon::attach_saved(const Json& s) {
  const std::string name = s.value("name", "");
  const auto mac = core::Mac::parse(s.value("address", ""));
  if (!mac) {
    return false;
  }
  // Where is the TAP now? First where it was last seen, then every namespace on the machine
  // by name, then by MAC (renamed while subnicd was down).
  std::vector<sys::NetnsEntry> all = sys::list_all_netns();
  const std::uint64_t last = s.value("netns_inode", std::uint64_t{0});
  const std::string last_name = s.value("netns", "");
  std::stable_sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    const bool pa = a.inode == last || (a.name && *a.name == last_name);
    const bool pb = b.inode == last || (b.name && *b.name == last_name);
    return pa && !pb;
  });
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& e : all) {
      auto guard = sys::NetnsGuard::enter(e.fd.get());
      if (!guard) {
        continue;
      }
      auto nl = sys::Netlink::open();
      std::optional<std::string> found;
      if (nl) {
        if (pass == 0) {
          if (auto li = nl->get_link(name); li && li->kind == "tun" && li->address == *mac) {
            found = name;
          }
        } else if (auto links = nl->list_links()) {
          // ipvlan TAPs all carry the lower's MAC: only the saved ifindex tells them apart.
          const bool shared_mac = s.value("type", "macvlan") == "ipvlan";
          for (const auto& li : *links) {
            if (li.kind == "tun" && li.address == *mac &&
                (!shared_mac || li.ifindex == s.value("ifindex", 0))) {
              found = li.name;
            }
          }
        }
      }
      Result<io::Tap> tap = found ? io::Tap::attach(*found) : tl::unexpected{err(ENODEV, "")};
      (void)guard->leave();
      if (!tap) {
        continue;
      }
      auto dup = sys::UniqueFd{::dup(e.fd.get())};
      auto ns = netns_by_fd(std::move(dup));
      if (!ns) {
        (void)tap->set_persist(true);
        return false;
      }
      auto li = (*ns)->nl.get_link(*found);
      auto lns = netns_by_name(s["lower"].value("netns", ""));
      auto lli = lns ? (*lns)->nl.get_link(s["lower"].value("ifname", ""))
                     : Result<sys::LinkInfo>{tl::unexpected{lns.error()}};
      const std::string type = s.value("type", "macvlan");
      auto lower = lli ? lower_for(**lns, *lli, type) : Result<Lower*>{tl::unexpected{lli.error()}};
      if (!li || !lower) {
        spdlog::warn("upper {}: its lower {} is gone; deleting it as the kernel would", name,
                     s["lower"].value("ifname", ""));
        (void)tap->destroy();
        return false;
      }
      const std::uint64_t id = s.value("id", next_id_);
      next_id_ = std::max(next_id_, id + 1);
      Result<std::uint32_t> idx = tl::unexpected{err(EINVAL, "")};
      if (auto* iv = (*lower)->port.ipvlan()) {
        core::IpvlanChange c;
        c.mode = core::parse_ipvlan_mode(s.value("mode", "l3"));
        c.flags = s.value("flags", std::uint16_t{0});
        idx = iv->add_upper(id, s.value("mtu", 1500u), c);
        if (idx) {
          std::vector<core::IpAddr> owned;
          for (const auto& a : s.value("addrs", Json::array())) {
            if (auto ip = core::IpAddr::parse(a.get<std::string>())) {
              owned.push_back(*ip);
            }
          }
          (void)iv->set_addresses(*idx, std::move(owned));
        }
      } else {
        core::MacvlanChange c;
        c.mode = core::parse_macvlan_mode(s.value("mode", "vepa"));
        c.flags = s.value("flags", std::uint16_t{0});
        c.bcqueuelen = s.value("bcqueuelen", core::kDefaultBcQueueLen);
        c.bclim = s.value("bclim", core::kDefaultBcLim);
        if (c.mode == core::MacvlanMode::kSource) {
          c.macaddr_op = core::MacaddrOp::kSet;
          for (const auto& m : s.value("sources", Json::array())) {
            if (auto sm = core::Mac::parse(m.get<std::string>())) {
              c.macaddrs.push_back(*sm);
            }
          }
        }
        idx = (*lower)->port.macvlan()->add_upper(id, *mac, *mac, s.value("mtu", 1500u), c);
      }
      if (!idx) {
        spdlog::warn("upper {}: {}", name, idx.error().message);
        (void)tap->destroy();
        return false;
      }
      (*lower)->upper_ids.push_back(id);
      (*lower)->port.set_spoofchk(*idx, s.value("spoofchk", false));
      (void)tap->set_carrier((*lower)->port.lower().up && (*lower)->port.lower().carrier);
      Upper u{id,          (*lower)->key,
              *found,      (*ns)->inode,
              li->ifindex, std::make_shared<UpperIo>(std::move(*tap)),
              "",          ""};
      (void)datapath_.watch(id, u.io->tap.fd());
      auto& rec = uppers_.emplace(id, std::move(u)).first->second;
      if (s.contains("vm")) {
        // QEMU reconnects (vhost-user reconnect=1) or is restarted onto the same path.
        // Kept a macvtap/ipvtap even if its socket cannot be opened now: the configuration
        // stays in the state file and `link show -d` says what is wrong.
        auto vm = open_vm(s["vm"], *found);
        if (!vm) {
          spdlog::error("upper {}: its VM endpoint {}: {}", *found, s["vm"].value("path", ""),
                        vm.error().message);
        }
        attach_vm(rec, s["vm"].value("type", ""), s["vm"].value("path", ""),
                  vm ? std::move(*vm) : nullptr);
      }
      spdlog::info("upper {} restored in netns \"{}\"", *found, (*ns)->name);
      return true;
    }
  }
  return false;
}

void Daemon::restore_state() {
  const auto path = std::filesystem::path{opts_.state_dir} / "state.json";
  std::ifstream in{path};
  if (!in) {
    return;
  }
  Json state;
  try {
    state = Json::parse(in);
  } catch (const std::exception& e) {
    // Never lose the old file: keep it aside for inspection and start empty.
    const auto aside = path.string() + ".corrupt";
    std::filesystem::rename(path, aside);
    spdlog::error("state file {} unreadable ({}); kept as {}", path.string(), e.what(), aside);
    return;
  }
  next_id_ = std::max<std::uint64_t>(next_id_, state.value("next_id", std::uint64_t{1}));
  const Json devices = state.value("devices", Json::array());
  restore_l2_devices(devices);
  for (const auto& s : state.value("uppers", Json::array())) {
    try {
      if (!attach_saved(s)) {
        spdlog::warn("upper {} vanished while subnicd was down", s.value("name", "?"));
      }
    } catch (const std::exception& e) {
      spdlog::error("state entry skipped: {}", e.what());
    }
  }
  restore_l2_ports(devices);
  // Limits after the uppers: a saved upper is never refused for want of room at restore.
  for (const auto& m : state.value("lower_limits", Json::array())) {
    try {
      auto ns = netns_by_name(m.value("netns", ""));
      auto li = ns ? (*ns)->nl.get_link(m.value("ifname", ""))
                   : Result<sys::LinkInfo>{tl::unexpected{ns.error()}};
      if (!li) {
        spdlog::warn("maxmacs of {}: the lower is gone ({})", m.value("ifname", "?"),
                     li.error().message);
        continue;
      }
      limits_[{(*ns)->inode, li->ifindex}] = LowerLimit{li->name, m.value("maxmacs", 0u)};
      for (auto& [key, l] : lowers_) {
        if (l.ns == (*ns)->inode && l.ifindex == li->ifindex) {
          apply_maxmacs(l);
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("state entry skipped: {}", e.what());
    }
  }
  release_unused_netns();
  sweep_journal(state.value("creating", Json::array()));
  for (auto& [key, l] : lowers_) {
    apply_ipvlan_mode(l);  // a reattached TAP has the default offloads
    apply_lower(l);
  }
  sync_all();
  dirty_ = true;
}

// ---- control socket and loop ---------------------------------------------------------------

Status Daemon::listen() {
  auto group = lookup_control_group(opts_.group);
  if (!group) {
    return tl::unexpected{group.error()};
  }
  group_ = std::move(*group);
  const std::filesystem::path path{opts_.socket_path};
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (opts_.socket_path.size() >= sizeof addr.sun_path) {
    return fail(ENAMETOOLONG, "socket path too long: " + opts_.socket_path);
  }
  std::strcpy(addr.sun_path, opts_.socket_path.c_str());
  // A live daemon answers on the path; a stale socket file from a killed one is replaced.
  {
    sys::UniqueFd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return fail(EADDRINUSE, "another subnicd is listening on " + opts_.socket_path);
    }
  }
  ::unlink(opts_.socket_path.c_str());
  listen_fd_ = sys::UniqueFd{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!listen_fd_) {
    return sys::sys_error("control socket " + opts_.socket_path);
  }
  // The file is born 0660 (umask 0117 around bind), so no one outside root and the group can
  // connect between bind and chown; init() is still single-threaded here.
  const mode_t old_umask = ::umask(0117);
  const int bound = ::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (bound < 0 || ::listen(listen_fd_.get(), 64) < 0) {
    return sys::sys_error("control socket " + opts_.socket_path);
  }
  if (::chmod(opts_.socket_path.c_str(), 0660) < 0) {
    return sys::sys_error("chmod 0660 " + opts_.socket_path);
  }
  if (group_.gid) {
    // Owner stays (root when started as root); the group needs CAP_CHOWN unless we are in it.
    if (::chown(opts_.socket_path.c_str(), static_cast<uid_t>(-1), *group_.gid) < 0) {
      return sys::sys_error("chown :" + group_.name + " " + opts_.socket_path);
    }
    spdlog::info("control socket {}: mode 0660, group {} ({})", opts_.socket_path, group_.name,
                 *group_.gid);
  } else {
    spdlog::warn("control socket {}: group {} does not exist: root only (--group NAME)",
                 opts_.socket_path, group_.name);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd_.get(), &ev);
  return {};
}

Status Daemon::init() {
  epoll_ = sys::UniqueFd{::epoll_create1(EPOLL_CLOEXEC)};
  if (!epoll_) {
    return sys::sys_error("epoll_create1");
  }
  auto home = sys::open_netns("");
  if (!home) {
    return tl::unexpected{home.error()};
  }
  home_ns_ = sys::netns_inode(home->get());
  if (auto ns = netns_by_fd(std::move(*home)); !ns) {
    return tl::unexpected{ns.error()};
  }
  std::error_code ec;
  std::filesystem::create_directories(opts_.state_dir, ec);
  if (ec) {
    return fail(ec.value(), "state directory " + opts_.state_dir + ": " + ec.message());
  }
  // Signals are taken from a signalfd: every thread must have them blocked, so block them
  // here too in case the caller did not (main() blocks them before any thread starts).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = sys::UniqueFd{::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)};
  timer_fd_ = sys::UniqueFd{::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)};
  itimerspec its{};
  its.it_interval.tv_nsec = 250'000'000;  // resync: moves, renames and multicast lists
  its.it_value.tv_nsec = 250'000'000;
  ::timerfd_settime(timer_fd_.get(), 0, &its, nullptr);
  // The socket first: a second daemon fails here (EADDRINUSE) before it touches any TAP, and
  // its chown is the last step that may need CAP_CHOWN. Requests wait for run().
  if (auto st = listen(); !st) {
    return st;
  }
  // Single-threaded still: the datapath thread started below inherits the reduced sets.
  auto dropped = drop_privileges();
  if (!dropped) {
    return fail(dropped.error().code, "cannot drop capabilities: " + dropped.error().message);
  }
  spdlog::info("capabilities kept: {}{}", capability_names(dropped->kept),
               dropped->bounding_dropped ? "" : " (bounding set left as it is: no CAP_SETPCAP)");
  if (dropped->missing != 0) {
    spdlog::warn("capabilities missing: {}: what needs them will fail (README, Privileges)",
                 capability_names(dropped->missing));
  }
  if (auto st = datapath_.start(); !st) {  // after the mask and the drop: it inherits both
    return st;
  }
  for (auto [fd, tag] : {std::pair{signal_fd_.get(), kSignalTag}, {timer_fd_.get(), kTimerTag}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  restore_state();
  publish();
  if (dirty_) {
    save_state();
  }
  return {};
}

void Daemon::accept_client() {
  for (int i = 0; i < 64; ++i) {
    sys::UniqueFd fd{::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
    if (!fd) {
      return;
    }
    // The kernel's record of who connected, checked before anything else is read or sent.
    auto peer = peer_creds(fd.get());
    const Status allowed = peer ? allow_peer(*peer, group_) : Status{tl::unexpected{peer.error()}};
    if (!allowed) {
      const std::string line = ctl::reply_error(nullptr, allowed.error());
      [[maybe_unused]] auto n = ::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL);
      if (peer) {
        spdlog::warn("control: refused pid {} uid {} gid {}: {}", peer->pid, peer->uid, peer->gid,
                     allowed.error().message);
      } else {
        spdlog::warn("control: refused a connection: {}", allowed.error().message);
      }
      continue;  // closes it
    }
    std::unique_ptr<Client, ClientDeleter> c{new Client};
    c->out = ctl::greeting();
    [[maybe_unused]] auto n = ::send(fd.get(), c->out.data(), c->out.size(), MSG_NOSIGNAL);
    c->out.clear();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kClientTag | static_cast<std::uint64_t>(fd.get());
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev);
    const int raw = fd.get();
    c->fd = std::move(fd);
    clients_[raw] = std::move(c);
  }
}

void Daemon::on_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) {
    return;
  }
  Client& c = *it->second;
  char buf[65536];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    clients_.erase(it);  // closes the fd, which leaves the epoll set
    return;
  }
  c.in.feed({buf, static_cast<std::size_t>(n)});
  std::string out;
  while (auto line = c.in.take()) {
    if (!*line) {
      out += ctl::reply_error(nullptr, line->error());
      continue;
    }
    auto req = ctl::parse_request(**line);
    if (!req) {
      out += ctl::reply_error(nullptr, req.error());
      continue;
    }
    const auto res = handle(req->method, req->params);
    out += res ? ctl::reply_ok(req->id, *res) : ctl::reply_error(req->id, res.error());
    if (dirty_) {
      save_state();
    }
  }
  // Replies are small; a client that does not read them is dropped rather than waited for.
  std::size_t off = 0;
  for (int tries = 0; off < out.size() && tries < 100; ++tries) {
    const ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
      break;
    }
    off += w > 0 ? static_cast<std::size_t>(w) : 0;
  }
  if (off < out.size()) {
    clients_.erase(fd);
  }
}

int Daemon::run() {
  spdlog::info("subnicd listening on {}", opts_.socket_path);
  std::array<epoll_event, 32> events;
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      spdlog::error("epoll_wait: {}", std::strerror(errno));
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      if (tag == kSignalTag) {
        signalfd_siginfo si;
        if (::read(signal_fd_.get(), &si, sizeof si) == sizeof si && si.ssi_signo != SIGPIPE) {
          spdlog::info("signal {}: saving state and exiting; uppers stay", si.ssi_signo);
          save_state();
          return 0;
        }
      } else if (tag == kTimerTag) {
        std::uint64_t ticks;
        [[maybe_unused]] auto r = ::read(timer_fd_.get(), &ticks, sizeof ticks);
        sync_all();
      } else if (tag == kListenTag) {
        accept_client();
      } else if ((tag & kClientTag) != 0 && (tag & kListenTag) == 0) {
        on_client(static_cast<int>(tag & ~kClientTag));
      } else if ((tag & kMonitorTag) != 0) {
        if (auto it = netns_.find(tag & kTagMask); it != netns_.end()) {
          on_monitor(*it->second);
        }
      }
    }
    if (dirty_) {
      save_state();
    }
  }
}

}  // namespace subnic::daemon
