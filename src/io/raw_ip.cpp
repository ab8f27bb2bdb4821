// RawIpSocket: header-included raw IPv4/IPv6 sockets bound to the lower; complete_checksum.
#include "io/raw_ip.hpp"

#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/frame.hpp"

namespace subnic::io {
namespace {

constexpr std::size_t kIpv4MinHeader = 20;  // bytes, ihl = 5
constexpr std::size_t kIpv6Header = 40;     // bytes, fixed header

// One raw socket of `family`, IPPROTO_RAW (header included), bound to `ifindex`.
Result<sys::UniqueFd> open_raw(int family, int ifindex) {
  const char* fam = family == AF_INET ? "AF_INET" : "AF_INET6";
  sys::UniqueFd fd{::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW)};
  if (!fd) {
    return sys::sys_error(std::string{"socket "} + fam + " SOCK_RAW IPPROTO_RAW");
  }
  // Such a socket also receives every incoming packet of IP protocol 255; take none.
  sock_filter drop_all{BPF_RET | BPF_K, 0, 0, 0};
  sock_fprog prog{1, &drop_all};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
    return sys::sys_error(std::string{"SO_ATTACH_FILTER "} + fam);
  }
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof ifindex) < 0) {
    return sys::sys_error(std::string{"SO_BINDTOIFINDEX "} + std::to_string(ifindex));
  }
  // No SO_BROADCAST: raw_sendmsg then refuses a broadcast route (EACCES), as
  // ipvlan_process_v4_outbound drops every route that is neither unicast nor local.
  return fd;
}

Status sendto_errno(int fd, std::span<const std::uint8_t> pkt, const sockaddr* to,
                    socklen_t to_len) {
  for (;;) {
    const ssize_t n = ::sendto(fd, pkt.data(), pkt.size(), MSG_DONTWAIT, to, to_len);
    if (n >= 0) {
      return {};
    }
    if (errno != EINTR) {
      return sys::sys_error("sendto raw IP");
    }
  }
}

// __ipv6_addr_needs_scope_id: link-local unicast (fe80::/10) and multicast of interface- or
// link-local scope (ff01::/16, ff02::/16, including every flag combination).
bool needs_scope_id(const std::uint8_t* a) {
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
    return true;
  }
  if (a[0] == 0xff) {
    const unsigned scope = a[1] & 0x0f;
    return scope == 0x1 || scope == 0x2;
  }
  return false;
}

}  // namespace

Result<RawIpSocket> RawIpSocket::open(int ifindex) {
  if (ifindex <= 0) {
    return fail(EINVAL, "raw IP socket: invalid ifindex " + std::to_string(ifindex));
  }
  auto v4 = open_raw(AF_INET, ifindex);
  if (!v4) {
    return tl::unexpected<Error>{v4.error()};
  }
  // SO_BINDTOIFINDEX takes any index (sock_bindtoindex_locked does not look the device up), so
  // ask the socket's namespace whether the device exists.
  ifreq ifr{};
  ifr.ifr_ifindex = ifindex;
  if (::ioctl(v4->get(), SIOCGIFNAME, &ifr) < 0) {
    return sys::sys_error("raw IP socket: device with index " + std::to_string(ifindex));
  }
  auto v6 = open_raw(AF_INET6, ifindex);
  if (!v6) {
    if (v6.error().code != EAFNOSUPPORT) {
      return tl::unexpected<Error>{v6.error()};
    }
    return RawIpSocket{ifindex, std::move(*v4), sys::UniqueFd{}};
  }
  return RawIpSocket{ifindex, std::move(*v4), std::move(*v6)};
}

Status RawIpSocket::send(std::span<const std::uint8_t> pkt) {
  if (pkt.empty()) {
    return fail(EINVAL, "raw IP send: empty packet");
  }
  const unsigned version = pkt[0] >> 4;
  if (version == 4) {
    const std::size_t ihl = std::size_t{pkt[0] & 0x0fU} * 4;
    if (pkt.size() < kIpv4MinHeader || ihl < kIpv4MinHeader || ihl > pkt.size()) {
      return fail(EINVAL, "raw IP send: IPv4 packet shorter than its header");
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, pkt.data() + 16, 4);
    return sendto_errno(v4_.get(), pkt, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  if (version == 6) {
    if (pkt.size() < kIpv6Header) {
      return fail(EINVAL, "raw IP send: IPv6 packet shorter than its header");
    }
    if (!v6_) {
      return fail(EAFNOSUPPORT, "raw IP send: IPv6 is not available in this namespace");
    }
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, pkt.data() + 24, 16);
    if (needs_scope_id(pkt.data() + 24)) {
      to.sin6_scope_id = static_cast<std::uint32_t>(ifindex_);
    }
    return sendto_errno(v6_.get(), pkt, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  return fail(EINVAL, "raw IP send: IP version " + std::to_string(version) + " is not 4 or 6");
}

void complete_checksum(std::span<std::uint8_t> p, std::uint16_t csum_start,
                       std::uint16_t csum_offset) {
  const std::size_t field = std::size_t{csum_start} + csum_offset;
  if (field + 2 > p.size()) {
    return;
  }
  const std::uint16_t sum =
      core::inet_fold(core::inet_sum(p.data() + csum_start, p.size() - csum_start));
  std::uint16_t csum = static_cast<std::uint16_t>(~sum & 0xffff);
  if (csum == 0) {
    csum = 0xffff;  // CSUM_MANGLED_0
  }
  p[field] = static_cast<std::uint8_t>(csum >> 8);
  p[field + 1] = static_cast<std::uint8_t>(csum & 0xff);
}

}  // namespace subnic::io
