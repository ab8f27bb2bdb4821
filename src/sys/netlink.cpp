// rtnetlink over libmnl: link requests with ACKs, link and address dumps, and the link/address
// monitor.
#include "sys/netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "sys/unique_fd.hpp"

namespace subnic::sys {
namespace nlmsg {
namespace {

constexpr std::size_t kIfNameMax = IFNAMSIZ - 1;  // bytes, without the NUL
static_assert(LinkInfo::kIffNoarp == IFF_NOARP && LinkInfo::kIffUp == IFF_UP);

nlmsghdr* start(std::span<std::uint8_t> buf, std::uint16_t type, std::uint16_t flags, int ifindex) {
  std::memset(buf.data(), 0, std::min(buf.size(), kRequestBufSize));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return nlh;
}

struct Attrs {
  std::array<const nlattr*, IFLA_MAX + 1> tb{};
};

// Keeps the last attribute of each known type; attributes newer than our
// headers (type > IFLA_MAX) are ignored.
int collect_attr(const nlattr* attr, void* data) {
  auto* a = static_cast<Attrs*>(data);
  const auto type = mnl_attr_get_type(attr);
  if (type <= IFLA_MAX) {
    a->tb[type] = attr;
  }
  return MNL_CB_OK;
}

int find_info_kind(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_INFO_KIND) {
    *static_cast<const nlattr**>(data) = attr;
  }
  return MNL_CB_OK;
}

std::string attr_string(const nlattr* a) {
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string{p, ::strnlen(p, mnl_attr_get_payload_len(a))};
}

std::uint32_t attr_u32(const nlattr* a) {
  return mnl_attr_get_payload_len(a) >= sizeof(std::uint32_t) ? mnl_attr_get_u32(a) : 0;
}

}  // namespace

nlmsghdr* build_get_link(std::span<std::uint8_t> buf, int ifindex, std::string_view name) {
  nlmsghdr* nlh = start(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, ifindex);
  if (ifindex == 0) {
    const std::string n{name.substr(0, kIfNameMax)};
    mnl_attr_put_strz(nlh, IFLA_IFNAME, n.c_str());
  }
  // Counters are large and unused here; ask the kernel to leave them out.
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nlh;
}

nlmsghdr* build_dump_links(std::span<std::uint8_t> buf) {
  nlmsghdr* nlh = start(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nlh;
}

nlmsghdr* build_change_link(std::span<std::uint8_t> buf, const LinkChange& c) {
  nlmsghdr* nlh = start(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, c.ifindex);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  auto flag = [ifi](const std::optional<bool>& v, unsigned bit) {
    if (v) {
      ifi->ifi_change |= bit;
      if (*v) {
        ifi->ifi_flags |= bit;
      }
    }
  };
  flag(c.up, IFF_UP);
  flag(c.promisc, IFF_PROMISC);
  flag(c.allmulti, IFF_ALLMULTI);
  flag(c.noarp, IFF_NOARP);
  if (c.netns_fd) {
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(*c.netns_fd));
  }
  if (c.name) {
    // Longer names are cut to IFNAMSIZ-1 here; Netlink refuses them before building.
    const std::string n = c.name->substr(0, kIfNameMax);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, n.c_str());
  }
  if (c.mtu) {
    mnl_attr_put_u32(nlh, IFLA_MTU, *c.mtu);
  }
  if (c.txqlen) {
    mnl_attr_put_u32(nlh, IFLA_TXQLEN, *c.txqlen);
  }
  if (c.address) {
    mnl_attr_put(nlh, IFLA_ADDRESS, c.address->bytes.size(), c.address->bytes.data());
  }
  if (c.addr_gen_mode) {
    nlattr* spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    nlattr* inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, *c.addr_gen_mode);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, spec);
  }
  return nlh;
}

nlmsghdr* build_del_link(std::span<std::uint8_t> buf, int ifindex) {
  return start(buf, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, ifindex);
}

nlmsghdr* build_dump_addrs(std::span<std::uint8_t> buf, int ifindex) {
  std::memset(buf.data(), 0, std::min(buf.size(), kRequestBufSize));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_UNSPEC;
  ifa->ifa_index = static_cast<std::uint32_t>(ifindex);
  return nlh;
}

nlmsghdr* build_addr(std::span<std::uint8_t> buf, bool add, int ifindex, const core::IpAddr& a,
                     std::uint8_t prefixlen) {
  std::memset(buf.data(), 0, std::min(buf.size(), kRequestBufSize));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  const bool v4 = a.v4();
  ifa->ifa_family = v4 ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = prefixlen;
  ifa->ifa_index = static_cast<std::uint32_t>(ifindex);
  const std::uint8_t* bytes = a.bytes.data() + (v4 ? 12 : 0);
  const std::size_t n = v4 ? 4 : 16;
  mnl_attr_put(nlh, IFA_LOCAL, n, bytes);
  mnl_attr_put(nlh, IFA_ADDRESS, n, bytes);
  return nlh;
}

nlmsghdr* build_neigh(std::span<std::uint8_t> buf, int ifindex, const core::IpAddr& ip,
                      const core::Mac& mac, std::uint16_t state, bool create) {
  std::memset(buf.data(), 0, std::min(buf.size(), kRequestBufSize));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWNEIGH;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | (create ? NLM_F_CREATE : 0);
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  const bool v4 = ip.v4();
  nd->ndm_family = v4 ? AF_INET : AF_INET6;
  nd->ndm_ifindex = ifindex;
  nd->ndm_state = state;
  mnl_attr_put(nlh, NDA_DST, v4 ? 4 : 16, ip.bytes.data() + (v4 ? 12 : 0));
  mnl_attr_put(nlh, NDA_LLADDR, 6, mac.bytes.data());
  return nlh;
}

std::optional<AddrInfo> parse_addr(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) {
    return std::nullopt;
  }
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) {
    return std::nullopt;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  std::size_t len = 0;
  if (ifa->ifa_family == AF_INET) {
    len = 4;
  } else if (ifa->ifa_family == AF_INET6) {
    len = 16;
  } else {
    return std::nullopt;
  }
  struct AddrAttrs {
    std::array<const nlattr*, IFA_MAX + 1> tb{};
  } a;
  auto collect = [](const nlattr* attr, void* data) -> int {
    const auto type = mnl_attr_get_type(attr);
    if (type <= IFA_MAX) {
      static_cast<AddrAttrs*>(data)->tb[type] = attr;
    }
    return MNL_CB_OK;
  };
  if (mnl_attr_parse(nlh, sizeof(ifaddrmsg), collect, &a) < 0) {
    return std::nullopt;
  }
  auto usable = [len](const nlattr* x) {
    return x != nullptr && mnl_attr_get_payload_len(x) == len;
  };
  const nlattr* addr = usable(a.tb[IFA_LOCAL]) ? a.tb[IFA_LOCAL] : a.tb[IFA_ADDRESS];
  if (!usable(addr)) {
    return std::nullopt;
  }
  const auto* p = static_cast<const std::uint8_t*>(mnl_attr_get_payload(addr));
  AddrInfo ai;
  ai.ifindex = static_cast<int>(ifa->ifa_index);
  ai.address = len == 4 ? core::IpAddr::from_v4(p) : core::IpAddr::from_v6(p);
  ai.prefixlen = ifa->ifa_prefixlen;
  ai.scope = ifa->ifa_scope;
  ai.flags = ifa->ifa_flags;
  // ifa_flags has 8 bits; IFA_FLAGS (since 3.14) carries all 32.
  if (const nlattr* x = a.tb[IFA_FLAGS]; x && mnl_attr_get_payload_len(x) >= 4) {
    ai.flags = mnl_attr_get_u32(x);
  }
  return ai;
}

std::optional<LinkInfo> parse_link(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) {
    return std::nullopt;
  }
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) {
    return std::nullopt;
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Attrs a;
  if (mnl_attr_parse(nlh, sizeof(ifinfomsg), collect_attr, &a) < 0) {
    return std::nullopt;
  }
  LinkInfo li;
  li.ifindex = ifi->ifi_index;
  li.flags = ifi->ifi_flags;
  li.type = ifi->ifi_type;
  if (const nlattr* x = a.tb[IFLA_IFNAME]) {
    li.name = attr_string(x);
  }
  if (const nlattr* x = a.tb[IFLA_OPERSTATE]; x && mnl_attr_get_payload_len(x) >= 1) {
    li.operstate = mnl_attr_get_u8(x);
  }
  auto u32 = [&a](int type) { return a.tb[type] ? attr_u32(a.tb[type]) : 0U; };
  li.mtu = u32(IFLA_MTU);
  li.min_mtu = u32(IFLA_MIN_MTU);
  li.max_mtu = u32(IFLA_MAX_MTU);
  li.txqlen = u32(IFLA_TXQLEN);
  li.promiscuity = u32(IFLA_PROMISCUITY);
  li.allmulti = u32(IFLA_ALLMULTI);
  li.link_ifindex = static_cast<int>(u32(IFLA_LINK));
  li.master_ifindex = static_cast<int>(u32(IFLA_MASTER));
  if (const nlattr* x = a.tb[IFLA_ADDRESS]; x && mnl_attr_get_payload_len(x) == 6) {
    li.address = core::Mac::from_bytes(static_cast<const std::uint8_t*>(mnl_attr_get_payload(x)));
  }
  if (const nlattr* x = a.tb[IFLA_LINKINFO]) {
    const nlattr* kind = nullptr;
    if (mnl_attr_parse_nested(x, find_info_kind, &kind) >= 0 && kind != nullptr) {
      li.kind = attr_string(kind);
    }
  }
  return li;
}

}  // namespace nlmsg

namespace {

constexpr std::size_t kRecvBufSize = 32 * 1024;  // bytes; libmnl's MNL_SOCKET_DUMP_SIZE
constexpr int kReplyTimeoutSec = 5;
constexpr int kMaxDumpRestarts = 5;
constexpr int kMaxReadsPerRequest = 1 << 16;  // a dump of ~1M devices; bounds the loop
constexpr int kMaxMonitorReads = 4096;
constexpr int kMonitorRcvbuf = 4 * 1024 * 1024;  // bytes

Error rtnl_error(int code) {
  return Error{code, "RTNETLINK answers: " + errno_text(code)};
}

int collect_link(const nlmsghdr* nlh, void* data) {
  if (auto li = nlmsg::parse_link(nlh)) {
    static_cast<std::vector<LinkInfo>*>(data)->push_back(std::move(*li));
  }
  return MNL_CB_OK;
}

struct AddrFilter {
  int ifindex = 0;
  std::vector<core::IpAddr> out;
};

int collect_addr(const nlmsghdr* nlh, void* data) {
  auto* f = static_cast<AddrFilter*>(data);
  if (auto ai = nlmsg::parse_addr(nlh); ai && ai->ifindex == f->ifindex) {
    f->out.push_back(ai->address);
  }
  return MNL_CB_OK;
}

}  // namespace

void Netlink::SocketDeleter::operator()(mnl_socket* s) const {
  mnl_socket_close(s);
}
void LinkMonitor::SocketDeleter::operator()(mnl_socket* s) const {
  mnl_socket_close(s);
}

Netlink::Netlink(std::unique_ptr<mnl_socket, SocketDeleter> sock, std::uint32_t portid)
    : sock_{std::move(sock)}, portid_{portid}, buf_(kRecvBufSize) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

int Netlink::fd() const {
  return sock_ ? mnl_socket_get_fd(sock_.get()) : -1;
}

Result<Netlink> Netlink::open() {
  std::unique_ptr<mnl_socket, SocketDeleter> sock{mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)};
  if (!sock) {
    return sys_error("netlink socket");
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sys_error("netlink bind");
  }
  // The kernel answers rtnetlink requests synchronously; the timeout only
  // bounds the wait should that ever not hold.
  timeval tv{kReplyTimeoutSec, 0};
  if (::setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    return sys_error("netlink SO_RCVTIMEO");
  }
  const auto portid = mnl_socket_get_portid(sock.get());
  return Netlink{std::move(sock), portid};
}

Status Netlink::transact(nlmsghdr* nlh, Callback cb, void* data) {
  if (!sock_) {
    return fail(EBADF, "netlink socket is closed");
  }
  const int fd = mnl_socket_get_fd(sock_.get());
  // Throw away leftovers of an earlier request that ended early (an error in
  // the middle of a dump): their old sequence numbers would fail this one.
  for (int i = 0; i < kMaxReadsPerRequest; ++i) {
    if (::recv(fd, buf_.data(), buf_.size(), MSG_DONTWAIT) < 0) {
      break;
    }
  }
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return sys_error("netlink send");
  }
  for (int i = 0; i < kMaxReadsPerRequest; ++i) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fail(ETIMEDOUT, "netlink: no answer from the kernel");
      }
      return sys_error("netlink recv");
    }
    const int r = mnl_cb_run(buf_.data(), static_cast<std::size_t>(n), seq_, portid_, cb, data);
    if (r == MNL_CB_STOP) {
      return {};
    }
    if (r < 0) {
      return tl::unexpected<Error>{rtnl_error(errno)};
    }
  }
  return fail(EOVERFLOW, "netlink: answer too long");
}

Result<LinkInfo> Netlink::get_link(std::string_view name) {
  if (name.empty() || name.size() > nlmsg::kIfNameMax) {
    return fail(ENODEV, "Cannot find device \"" + std::string{name} + "\"");
  }
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  std::vector<LinkInfo> out;
  auto r = transact(nlmsg::build_get_link(req, 0, name), collect_link, &out);
  if (!r) {
    if (r.error().code == ENODEV) {
      return fail(ENODEV, "Cannot find device \"" + std::string{name} + "\"");
    }
    return tl::unexpected<Error>{r.error()};
  }
  if (out.empty()) {
    return fail(EPROTO, "netlink: no link in the answer");
  }
  return std::move(out.front());
}

Result<LinkInfo> Netlink::get_link(int ifindex) {
  if (ifindex <= 0) {
    return fail(ENODEV, "Cannot find device with index " + std::to_string(ifindex));
  }
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  std::vector<LinkInfo> out;
  auto r = transact(nlmsg::build_get_link(req, ifindex, {}), collect_link, &out);
  if (!r) {
    if (r.error().code == ENODEV) {
      return fail(ENODEV, "Cannot find device with index " + std::to_string(ifindex));
    }
    return tl::unexpected<Error>{r.error()};
  }
  if (out.empty()) {
    return fail(EPROTO, "netlink: no link in the answer");
  }
  return std::move(out.front());
}

Result<std::vector<LinkInfo>> Netlink::list_links() {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  for (int attempt = 0;; ++attempt) {
    std::vector<LinkInfo> out;
    auto r = transact(nlmsg::build_dump_links(req), collect_link, &out);
    if (r) {
      std::sort(out.begin(), out.end(),
                [](const LinkInfo& x, const LinkInfo& y) { return x.ifindex < y.ifindex; });
      return out;
    }
    // libmnl reports a dump the kernel flagged NLM_F_DUMP_INTR as EINTR.
    if (r.error().code != EINTR || attempt + 1 >= kMaxDumpRestarts) {
      return tl::unexpected<Error>{r.error()};
    }
  }
}

Result<std::vector<core::IpAddr>> Netlink::list_addrs(int ifindex) {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  for (int attempt = 0;; ++attempt) {
    AddrFilter f{.ifindex = ifindex, .out = {}};
    auto r = transact(nlmsg::build_dump_addrs(req, ifindex), collect_addr, &f);
    if (r) {
      return std::move(f.out);
    }
    if (r.error().code != EINTR || attempt + 1 >= kMaxDumpRestarts) {
      return tl::unexpected<Error>{r.error()};
    }
  }
}

Status Netlink::change_link(const LinkChange& change) {
  if (change.name && (change.name->empty() || change.name->size() > nlmsg::kIfNameMax)) {
    return tl::unexpected<Error>{rtnl_error(EINVAL)};  // what the kernel's attribute policy answers
  }
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  return transact(nlmsg::build_change_link(req, change), nullptr, nullptr);
}

Status Netlink::set_up(int ifindex, bool up) {
  return change_link(LinkChange{.ifindex = ifindex, .up = up});
}
Status Netlink::set_mtu(int ifindex, std::uint32_t mtu) {
  return change_link(LinkChange{.ifindex = ifindex, .mtu = mtu});
}
Status Netlink::set_address(int ifindex, core::Mac mac) {
  return change_link(LinkChange{.ifindex = ifindex, .address = mac});
}
Status Netlink::set_name(int ifindex, std::string_view name) {
  return change_link(LinkChange{.ifindex = ifindex, .name = std::string{name}});
}
Status Netlink::set_netns(int ifindex, int ns_fd) {
  return change_link(LinkChange{.ifindex = ifindex, .netns_fd = ns_fd});
}
Status Netlink::set_txqlen(int ifindex, std::uint32_t txqlen) {
  return change_link(LinkChange{.ifindex = ifindex, .txqlen = txqlen});
}
Status Netlink::set_addr_gen_mode(int ifindex, std::uint8_t mode) {
  return change_link(LinkChange{.ifindex = ifindex, .addr_gen_mode = mode});
}
Status Netlink::set_promisc(int ifindex, bool on) {
  return change_link(LinkChange{.ifindex = ifindex, .promisc = on});
}
Status Netlink::set_allmulti(int ifindex, bool on) {
  return change_link(LinkChange{.ifindex = ifindex, .allmulti = on});
}
Status Netlink::set_noarp(int ifindex, bool on) {
  return change_link(LinkChange{.ifindex = ifindex, .noarp = on});
}

Status Netlink::add_addr(int ifindex, const core::IpAddr& a, std::uint8_t prefixlen) {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  return transact(nlmsg::build_addr(req, true, ifindex, a, prefixlen), nullptr, nullptr);
}

Status Netlink::del_addr(int ifindex, const core::IpAddr& a, std::uint8_t prefixlen) {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  return transact(nlmsg::build_addr(req, false, ifindex, a, prefixlen), nullptr, nullptr);
}

Status Netlink::set_neigh(int ifindex, const core::IpAddr& ip, const core::Mac& mac,
                          std::uint16_t state, bool create) {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  return transact(nlmsg::build_neigh(req, ifindex, ip, mac, state, create), nullptr, nullptr);
}

Status Netlink::del_link(int ifindex) {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> req{};
  return transact(nlmsg::build_del_link(req, ifindex), nullptr, nullptr);
}

LinkMonitor::LinkMonitor(std::unique_ptr<mnl_socket, SocketDeleter> sock)
    : sock_{std::move(sock)}, buf_(kRecvBufSize) {}
LinkMonitor::LinkMonitor(LinkMonitor&&) noexcept = default;
LinkMonitor& LinkMonitor::operator=(LinkMonitor&&) noexcept = default;
LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::fd() const {
  return sock_ ? mnl_socket_get_fd(sock_.get()) : -1;
}

Result<LinkMonitor> LinkMonitor::open() {
  std::unique_ptr<mnl_socket, SocketDeleter> sock{
      mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC)};
  if (!sock) {
    return sys_error("netlink socket");
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sys_error("netlink bind");
  }
  // The address groups exist whether or not IPv6 is enabled (rtnetlink registers all
  // RTNLGRP_MAX groups), so joining RTNLGRP_IPV6_IFADDR does not fail without IPv6.
  struct Group {
    int id;
    const char* name;
  };
  for (Group g : {Group{RTNLGRP_LINK, "netlink RTNLGRP_LINK"},
                  Group{RTNLGRP_IPV4_IFADDR, "netlink RTNLGRP_IPV4_IFADDR"},
                  Group{RTNLGRP_IPV6_IFADDR, "netlink RTNLGRP_IPV6_IFADDR"}}) {
    if (mnl_socket_setsockopt(sock.get(), NETLINK_ADD_MEMBERSHIP, &g.id, sizeof g.id) < 0) {
      return sys_error(g.name);
    }
  }
  // A bigger buffer makes overruns rarer (bursts of a few thousand events);
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN, so fall back to the capped SO_RCVBUF.
  const int fd = mnl_socket_get_fd(sock.get());
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kMonitorRcvbuf, sizeof kMonitorRcvbuf) < 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kMonitorRcvbuf, sizeof kMonitorRcvbuf);
  }
  return LinkMonitor{std::move(sock)};
}

Status LinkMonitor::drain(const std::function<void(const LinkEvent&)>& on_event) {
  if (!sock_) {
    return fail(EBADF, "netlink socket is closed");
  }
  struct Ctx {
    const std::function<void(const LinkEvent&)>* cb;
  } ctx{&on_event};
  auto on_msg = [](const nlmsghdr* nlh, void* data) -> int {
    if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) {
      if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(ifaddrmsg)) {
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        LinkEvent ev;
        ev.address = true;
        ev.link.ifindex = static_cast<int>(ifa->ifa_index);
        (*static_cast<Ctx*>(data)->cb)(ev);
      }
      return MNL_CB_OK;
    }
    if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(ifinfomsg)) {
      const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
      if (ifi->ifi_family == AF_BRIDGE) {
        return MNL_CB_OK;
      }
    }
    if (auto li = nlmsg::parse_link(nlh)) {
      LinkEvent ev;
      ev.removed = nlh->nlmsg_type == RTM_DELLINK;
      ev.link = std::move(*li);
      (*static_cast<Ctx*>(data)->cb)(ev);
    }
    return MNL_CB_OK;
  };
  for (int i = 0; i < kMaxMonitorReads; ++i) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return {};
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == ENOBUFS) {
        LinkEvent ev;
        ev.overrun = true;
        on_event(ev);
        continue;
      }
      return sys_error("netlink recv");
    }
    // Notifications carry seq 0 and portid 0: no sequence or port check.
    if (mnl_cb_run(buf_.data(), static_cast<std::size_t>(n), 0, 0, on_msg, &ctx) < 0 &&
        errno != EINTR) {
      return sys_error("netlink parse");
    }
  }
  return {};
}

}  // namespace subnic::sys
