// rtnetlink over libmnl: read, change, move and watch network devices in one namespace.
//
// Kernel: net/core/rtnetlink.c (rtnl_getlink, rtnl_dump_ifinfo, rtnl_newlink ->
// do_setlink, rtnl_dellink, rtmsg_ifinfo for the RTNLGRP_LINK events), and for
// addresses net/ipv4/devinet.c (inet_dump_ifaddr, rtmsg_ifa) and
// net/ipv6/addrconf.c (inet6_dump_ifaddr, inet6_ifa_notify). A
// netlink socket lives in the namespace it was created in (sock_net()), so
// a Netlink or LinkMonitor opened inside a NetnsGuard keeps acting on that
// namespace after the guard ends. Neither class is thread-safe: use one per
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "core/mac.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace subnic::sys {

/// One network device as RTM_NEWLINK describes it (`ip -d link show`).
struct LinkInfo {
  int ifindex = 0;
  std::string name;
  unsigned flags = 0;          // IFF_* from ifi_flags (dev_get_flags(): IFF_LOWER_UP only while up)
  std::uint8_t operstate = 0;  // IF_OPER_* (RFC 2863), IFLA_OPERSTATE
  std::uint32_t mtu = 0;       // bytes of L3 payload, IFLA_MTU
  std::uint32_t min_mtu = 0;   // IFLA_MIN_MTU, 0 if not reported
  std::uint32_t max_mtu = 0;   // IFLA_MAX_MTU, 0 if not reported
  std::uint32_t txqlen = 0;    // packets, IFLA_TXQLEN
  std::uint32_t promiscuity = 0;  // promiscuous-mode reference count, IFLA_PROMISCUITY
  std::uint32_t allmulti = 0;  // allmulti reference count, IFLA_ALLMULTI, 0 if the kernel omits it
  core::Mac address;           // IFLA_ADDRESS if 6 bytes long, else zero
  std::uint16_t type = 0;      // ARPHRD_* from ifi_type (1 = Ethernet)
  std::string kind;            // IFLA_INFO_KIND ("veth", "tun", ...), "" if none
  int link_ifindex = 0;        // IFLA_LINK (veth: the peer, maybe in another netns), 0 if none
  int master_ifindex = 0;      // IFLA_MASTER, 0 if none

  static constexpr unsigned kIffUp = 0x1;  // IFF_UP, <linux/if.h>
  static constexpr unsigned kIffPromisc =
      0x100;  // IFF_PROMISC: set by the user, not by memberships
  static constexpr unsigned kIffLowerUp =
      0x10000;                                 // IFF_LOWER_UP: carrier (RFC 2863 "lower layer up")
  static constexpr unsigned kIffNoarp = 0x80;  // IFF_NOARP: no ARP/ND (`ip link set X arp off`)

  /// Administratively up (IFF_UP).
  bool up() const { return (flags & kIffUp) != 0; }
  /// Carrier on (IFF_LOWER_UP); the kernel reports it only while the device is up.
  bool lower_up() const { return (flags & kIffLowerUp) != 0; }
  /// Resolves no neighbours (IFF_NOARP).
  bool noarp() const { return (flags & kIffNoarp) != 0; }
};

/// A change to an existing device, sent as one RTM_NEWLINK request (as
/// `ip link set` does). Unset fields are left alone. The kernel applies the
/// attributes one after the other (do_setlink) and stops at the first that
/// fails, so a failed request may have applied part of the change.
struct LinkChange {
  int ifindex = 0;
  std::optional<bool> up{};               // ifi_flags/ifi_change IFF_UP
  std::optional<bool> promisc{};          // IFF_PROMISC: the user's promiscuity flag (counted once)
  std::optional<bool> allmulti{};         // IFF_ALLMULTI: the user's allmulti flag (counted once)
  std::optional<std::uint32_t> mtu{};     // IFLA_MTU, bytes
  std::optional<std::uint32_t> txqlen{};  // IFLA_TXQLEN, packets
  std::optional<core::Mac> address{};     // IFLA_ADDRESS
  std::optional<std::string>
      name{};                     // IFLA_IFNAME (kernels < 6.2: EBUSY unless the device is down)
  std::optional<int> netns_fd{};  // IFLA_NET_NS_FD: move to that namespace
  std::optional<std::uint8_t>
      addr_gen_mode{};  // IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE (IN6_ADDR_GEN_MODE_*)
  std::optional<bool> noarp{};  // IFF_NOARP (`ip link set X arp off` = true): no ARP/ND resolution
};

/// One address as RTM_NEWADDR describes it (`ip addr show`).
struct AddrInfo {
  int ifindex = 0;             // ifa_index
  core::IpAddr address;        // the local address (see nlmsg::parse_addr)
  std::uint8_t prefixlen = 0;  // ifa_prefixlen, bits
  std::uint8_t scope = 0;      // ifa_scope: RT_SCOPE_UNIVERSE 0, RT_SCOPE_LINK 253, HOST 254
  std::uint32_t flags = 0;     // IFA_F_* (IFA_FLAGS if present, else ifa_flags): TENTATIVE 0x40...
};

/// A request/reply rtnetlink socket in the namespace it was opened in.
///
/// Every request waits for the kernel's answer (at most 5 s, then ETIMEDOUT).
/// Change requests return the kernel's errno as
/// Error{code, "RTNETLINK answers: <strerror>"}, as `ip` prints it.
class Netlink {
 public:
  /// Opens a NETLINK_ROUTE socket in the calling thread's current namespace.
  static Result<Netlink> open();

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  /// RTM_GETLINK by name (IFLA_IFNAME). ENODEV -> Error{ENODEV, "Cannot find device \"NAME\""};
  /// an empty name or one of 16 bytes or more is the same ENODEV (no device can have it).
  Result<LinkInfo> get_link(std::string_view name);
  /// RTM_GETLINK by index. ENODEV -> Error{ENODEV, "Cannot find device with index N"}.
  Result<LinkInfo> get_link(int ifindex);
  /// Every device of the namespace (RTM_GETLINK dump), sorted by ifindex.
  /// A dump interrupted by concurrent changes (NLM_F_DUMP_INTR) is restarted, at most 5 times.
  Result<std::vector<LinkInfo>> list_links();

  /// Every IPv4 and IPv6 address of device `ifindex` (`ip addr show dev X`), in the kernel's dump
  /// order (IPv4 first, each family in its own list order), IPv4 as IPv4-mapped IpAddr.
  /// One RTM_GETADDR dump with family AF_UNSPEC (rtnl_dump_all runs inet_dump_ifaddr and
  /// inet6_dump_ifaddr), filtered here by ifa_index: without NETLINK_GET_STRICT_CHK the kernel
  /// ignores the request's ifa_index. Every address counts, whatever its scope or state: IPv6
  /// link-local, tentative (DAD not done), deprecated and dadfailed ones too (in6_dump_addrs
  /// walks idev->addr_list unfiltered). The address is IFA_LOCAL if present, else IFA_ADDRESS:
  /// with a peer (`ip addr add A peer P`) IFA_ADDRESS is the peer's, for IPv4
  /// (inet_fill_ifaddr) and IPv6 (inet6_fill_ifaddr) alike; otherwise both are the local one.
  /// A device without addresses, or an ifindex that does not exist, gives an empty list (no
  /// ENODEV). A device with IPv6 disabled simply has no IPv6 addresses. A dump interrupted by
  /// concurrent changes (NLM_F_DUMP_INTR) is restarted, at most 5 times, then EINTR.
  /// Errors: the transport errors of every request (ETIMEDOUT, ENOBUFS...).
  Result<std::vector<core::IpAddr>> list_addrs(int ifindex);

  /// Sends one RTM_NEWLINK change request and waits for its ACK.
  Status change_link(const LinkChange& change);

  Status set_up(int ifindex, bool up);
  Status set_mtu(int ifindex, std::uint32_t mtu);
  Status set_address(int ifindex, core::Mac mac);
  /// Rename. EEXIST if the name is taken; kernels before 6.2 also refuse
  /// (EBUSY) while the device is up, later ones allow it (dev_change_name).
  Status set_name(int ifindex, std::string_view name);
  /// Moves the device to the namespace open on `ns_fd`; it gets a new ifindex
  /// there only if its index is taken in the target namespace.
  Status set_netns(int ifindex, int ns_fd);
  Status set_txqlen(int ifindex, std::uint32_t txqlen);
  /// IPv6 link-local generation mode (IN6_ADDR_GEN_MODE_EUI64 = 0, NONE = 1,
  /// STABLE_PRIVACY = 2, RANDOM = 3). EAFNOSUPPORT if IPv6 is disabled.
  Status set_addr_gen_mode(int ifindex, std::uint8_t mode);
  Status set_promisc(int ifindex, bool on);
  Status set_allmulti(int ifindex, bool on);
  /// IFF_NOARP on (`ip link set X arp off`) or off, through ifi_flags/ifi_change
  /// (dev_change_flags; IFF_NOARP is one of the flags __dev_change_flags lets the user change).
  /// With it the device resolves no neighbours: a new unicast IPv4 or IPv6 neighbour is
  /// NUD_NOARP with the device's *own* MAC as lladdr (arp_constructor, ndisc_constructor), so
  /// frames leave addressed to the sender itself; multicast ones keep their mapped MAC. The
  /// device also answers no ARP requests (arp_rcv drops on IFF_NOARP). Changing the flag
  /// flushes the device's IPv4 and IPv6 neighbours (NETDEV_CHANGE with IFF_NOARP in
  /// flags_changed: arp_netdev_event, ndisc_netdev_event -> neigh_changeaddr), so the new
  /// rule applies to every neighbour at once. The kernel's ipvlan sets it on
  /// every upper of an l3/l3s port (ipvlan_set_port_mode). ENODEV if there is no such device.
  Status set_noarp(int ifindex, bool on);
  /// RTM_NEWADDR (`ip addr add A/PREFIXLEN dev X`): IFA_LOCAL = IFA_ADDRESS = `a`. EEXIST if
  /// the device has it already; EADDRNOTAVAIL/EINVAL as the kernel answers (inet_rtm_newaddr,
  /// inet6_rtm_newaddr).
  Status add_addr(int ifindex, const core::IpAddr& a, std::uint8_t prefixlen);
  /// RTM_DELADDR (`ip addr del A/PREFIXLEN dev X`). EADDRNOTAVAIL if the device has no such
  /// address.
  Status del_addr(int ifindex, const core::IpAddr& a, std::uint8_t prefixlen);
  /// RTM_NEWNEIGH with NLM_F_REPLACE (`ip neigh replace IP lladdr MAC nud STATE dev X`), and
  /// NLM_F_CREATE when `create`. `state` is NUD_* (linux/neighbour.h: REACHABLE 0x02, STALE
  /// 0x04). Without `create`, ENOENT when the device has no entry for `ip`.
  Status set_neigh(int ifindex, const core::IpAddr& ip, const core::Mac& mac, std::uint16_t state,
                   bool create);
  /// RTM_DELLINK.
  Status del_link(int ifindex);

  int fd() const;

 private:
  struct SocketDeleter {
    void operator()(mnl_socket* s) const;
  };
  using Callback = int (*)(const nlmsghdr*, void*);

  Netlink(std::unique_ptr<mnl_socket, SocketDeleter> sock, std::uint32_t portid);
  // Sends `nlh` (its seq is set here), then reads until the ACK or NLMSG_DONE,
  // calling `cb` on each data message. An NLMSG_ERROR becomes
  // Error{errno, "RTNETLINK answers: <strerror>"}.
  Status transact(nlmsghdr* nlh, Callback cb, void* data);

  std::unique_ptr<mnl_socket, SocketDeleter> sock_;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  std::vector<std::uint8_t> buf_;  // receive buffer, large enough for one dump datagram
};

/// One RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR or RTNLGRP_IPV6_IFADDR notification.
struct LinkEvent {
  bool removed = false;  // RTM_DELLINK (the device is gone or left this namespace); never set for
                         // address events: the device is still there
  bool overrun = false;  // events were lost (ENOBUFS): re-read everything with list_links()
  bool address = false;  // RTM_NEWADDR/RTM_DELADDR: an address of device link.ifindex was added,
                         // removed or changed (e.g. DAD finished); re-read with list_addrs()
  LinkInfo link;         // the device's state after the change (empty when overrun); for address
                         // events only link.ifindex (the address's ifa_index) is set
};

/// A non-blocking subscription to link and address changes (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
/// RTNLGRP_IPV6_IFADDR) in the namespace it was opened in. Put fd() in epoll (EPOLLIN) and call
/// drain() when it is readable.
class LinkMonitor {
 public:
  static Result<LinkMonitor> open();

  LinkMonitor(LinkMonitor&&) noexcept;
  LinkMonitor& operator=(LinkMonitor&&) noexcept;
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;
  ~LinkMonitor();

  int fd() const;

  /// Reads every pending notification and calls `on_event` for each, in
  /// order. On overrun (ENOBUFS: the kernel dropped notifications because the
  /// socket buffer was full) it reports one event with overrun = true and
  /// keeps reading; the caller resyncs with Netlink::list_links(). Bridge
  /// port notifications (ifi_family AF_BRIDGE) are skipped. Address
  /// notifications (rtmsg_ifa, inet6_ifa_notify: one per address added, removed or changed,
  /// IPv6 also when DAD completes) become events with address = true. At most 4096
  /// datagrams per call, so a flood cannot starve the caller's loop.
  Status drain(const std::function<void(const LinkEvent&)>& on_event);

 private:
  struct SocketDeleter {
    void operator()(mnl_socket* s) const;
  };
  explicit LinkMonitor(std::unique_ptr<mnl_socket, SocketDeleter> sock);

  std::unique_ptr<mnl_socket, SocketDeleter> sock_;
  std::vector<std::uint8_t> buf_;
};

namespace nlmsg {

/// Buffer size enough for any request below (one page, as libmnl suggests).
inline constexpr std::size_t kRequestBufSize = 4096;

/// Pure message builders and parser used by Netlink, exposed for unit tests.
/// Each builder writes one message at the start of `buf` (4-byte aligned, at
/// least kRequestBufSize bytes) and returns it; seq is left 0.
nlmsghdr* build_get_link(std::span<std::uint8_t> buf, int ifindex, std::string_view name);
nlmsghdr* build_dump_links(std::span<std::uint8_t> buf);
nlmsghdr* build_change_link(std::span<std::uint8_t> buf, const LinkChange& change);
nlmsghdr* build_del_link(std::span<std::uint8_t> buf, int ifindex);
/// RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, ifaddrmsg with family AF_UNSPEC and ifa_index
/// `ifindex` (a filter only a NETLINK_GET_STRICT_CHK socket gets from the kernel).
nlmsghdr* build_dump_addrs(std::span<std::uint8_t> buf, int ifindex);

/// Decodes an RTM_NEWLINK/RTM_DELLINK message; nullopt if it is not one or is too short.
std::optional<LinkInfo> parse_link(const nlmsghdr* nlh);
/// Decodes an RTM_NEWADDR/RTM_DELADDR message of family AF_INET or AF_INET6: the address is
/// IFA_LOCAL if present, else IFA_ADDRESS (4 or 16 bytes). nullopt if it is another message or
/// family, too short, or carries neither attribute at the family's length.
/// RTM_NEWADDR (add) or RTM_DELADDR with IFA_LOCAL and IFA_ADDRESS set to `a`.
nlmsghdr* build_addr(std::span<std::uint8_t> buf, bool add, int ifindex, const core::IpAddr& a,
                     std::uint8_t prefixlen);
/// RTM_NEWNEIGH (replace; create when asked) for `ip` -> `mac` in NUD `state`.
nlmsghdr* build_neigh(std::span<std::uint8_t> buf, int ifindex, const core::IpAddr& ip,
                      const core::Mac& mac, std::uint16_t state, bool create);
std::optional<AddrInfo> parse_addr(const nlmsghdr* nlh);

}  // namespace nlmsg

}  // namespace subnic::sys
