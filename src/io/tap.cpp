// Tap: create, reattach, inspect and destroy persistent TAP devices; frame I/O with a vnet header.
#include "io/tap.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include "sys/netlink.hpp"

namespace subnic::io {
namespace {

constexpr const char* kTunDev = "/dev/net/tun";
constexpr unsigned kTapFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
static_assert(Tap::kOffloadCsum == TUN_F_CSUM && Tap::kOffloadTso4 == TUN_F_TSO4 &&
              Tap::kOffloadTso6 == TUN_F_TSO6 && Tap::kOffloadTsoEcn == TUN_F_TSO_ECN);

Status check_name(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('%') != std::string_view::npos) {
    return fail(EINVAL, "\"" + std::string{name} + "\" is not a valid TAP name");
  }
  return {};
}

// TUNSETIFF on a fresh /dev/net/tun descriptor opened in the current namespace.
Result<sys::UniqueFd> open_tun(std::string_view name, unsigned flags) {
  sys::UniqueFd fd{::open(kTunDev, O_RDWR | O_NONBLOCK | O_CLOEXEC)};
  if (!fd) {
    return sys::sys_error(kTunDev);
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(static_cast<std::uint16_t>(flags));  // ifr_flags is a short
  name.copy(ifr.ifr_name, IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    return sys::sys_error("TUNSETIFF " + std::string{name});
  }
  return fd;
}

Status set_offload_flags(int fd, unsigned flags) {
  // TUNSETOFFLOAD and TUNSETPERSIST take their argument by value, not by pointer.
  if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) < 0) {
    return sys::sys_error("TUNSETOFFLOAD");
  }
  return {};
}

// Settings applied on every open: vnet header size and offloads.
Status configure(int fd) {
  int hdr_len = static_cast<int>(kVnetHdrLen);
  if (::ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
    return sys::sys_error("TUNSETVNETHDRSZ");
  }
  return set_offload_flags(fd, Tap::kOffloadsFull);
}

}  // namespace

Result<Tap> Tap::create(std::string_view name) {
  if (auto ok = check_name(name); !ok) {
    return tl::unexpected<Error>{ok.error()};
  }
  auto nl = sys::Netlink::open();
  if (!nl) {
    return tl::unexpected<Error>{nl.error()};
  }
  if (auto existing = nl->get_link(name); existing) {
    return fail(EEXIST, "RTNETLINK answers: File exists");
  } else if (existing.error().code != ENODEV) {
    return tl::unexpected<Error>{existing.error()};
  }
  // IFF_TUN_EXCL closes the race with a device created after the check.
  auto fd = open_tun(name, kTapFlags | unsigned{IFF_TUN_EXCL});
  if (!fd) {
    if (fd.error().code == EBUSY) {
      return fail(EEXIST, "RTNETLINK answers: File exists");
    }
    return tl::unexpected<Error>{fd.error()};
  }
  // Until TUNSETPERSIST the device dies with the descriptor, so an error
  // below leaves nothing behind.
  if (auto ok = configure(fd->get()); !ok) {
    return tl::unexpected<Error>{ok.error()};
  }
  if (::ioctl(fd->get(), TUNSETPERSIST, 1UL) < 0) {
    return sys::sys_error("TUNSETPERSIST");
  }
  return Tap{std::move(*fd)};
}

Result<Tap> Tap::attach(std::string_view name) {
  if (auto ok = check_name(name); !ok) {
    return tl::unexpected<Error>{ok.error()};
  }
  auto nl = sys::Netlink::open();
  if (!nl) {
    return tl::unexpected<Error>{nl.error()};
  }
  auto link = nl->get_link(name);
  if (!link) {
    return tl::unexpected<Error>{link.error()};
  }
  if (link->kind != "tun" || link->type != ARPHRD_ETHER) {
    return fail(EINVAL, "\"" + std::string{name} + "\" is not a TAP device");
  }
  auto fd = open_tun(name, kTapFlags);
  if (!fd) {
    if (fd.error().code == EBUSY) {
      return fail(EBUSY, "TAP \"" + std::string{name} + "\" is already open elsewhere");
    }
    return tl::unexpected<Error>{fd.error()};
  }
  // If the device vanished between the check and TUNSETIFF, the kernel just
  // made a new, non-persistent one: closing the descriptor removes it again.
  ifreq ifr{};
  if (::ioctl(fd->get(), TUNGETIFF, &ifr) < 0) {
    return sys::sys_error("TUNGETIFF");
  }
  if ((ifr.ifr_flags & IFF_PERSIST) == 0) {
    return fail(ENODEV, "Cannot find device \"" + std::string{name} + "\"");
  }
  if (auto ok = configure(fd->get()); !ok) {
    return tl::unexpected<Error>{ok.error()};
  }
  return Tap{std::move(*fd)};
}

Result<std::string> Tap::name() const {
  ifreq ifr{};
  if (::ioctl(fd_.get(), TUNGETIFF, &ifr) < 0) {
    return sys::sys_error("TUNGETIFF");
  }
  return std::string{ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ)};
}

Result<sys::UniqueFd> Tap::netns() const {
  const int ns = ::ioctl(fd_.get(), TUNGETDEVNETNS);
  if (ns < 0) {
    return sys::sys_error("TUNGETDEVNETNS");
  }
  return sys::UniqueFd{ns};
}

Status Tap::set_carrier(bool on) {
  int v = on ? 1 : 0;
  if (::ioctl(fd_.get(), TUNSETCARRIER, &v) < 0) {
    return sys::sys_error("TUNSETCARRIER");
  }
  return {};
}

Status Tap::set_persist(bool on) {
  if (::ioctl(fd_.get(), TUNSETPERSIST, on ? 1UL : 0UL) < 0) {
    return sys::sys_error("TUNSETPERSIST");
  }
  return {};
}

Status Tap::set_offload(unsigned flags) {
  return set_offload_flags(fd_.get(), flags);
}

Result<std::size_t> Tap::read(std::span<std::uint8_t> buf) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return 0;
    }
    if (errno != EINTR) {
      return sys::sys_error("read tap");
    }
  }
  return 0;
}

Status Tap::write(std::span<const std::uint8_t> vnet_and_frame) {
  const ssize_t n = ::write(fd_.get(), vnet_and_frame.data(), vnet_and_frame.size());
  if (n < 0) {
    return sys::sys_error("write tap");
  }
  if (static_cast<std::size_t>(n) != vnet_and_frame.size()) {
    return fail(EIO, "write tap: short write");
  }
  return {};
}

Status Tap::writev(std::span<const std::uint8_t> vnet_hdr, std::span<const std::uint8_t> frame) {
  iovec iov[2] = {{const_cast<std::uint8_t*>(vnet_hdr.data()), vnet_hdr.size()},
                  {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
  const ssize_t n = ::writev(fd_.get(), iov, 2);
  if (n < 0) {
    return sys::sys_error("writev tap");
  }
  if (static_cast<std::size_t>(n) != vnet_hdr.size() + frame.size()) {
    return fail(EIO, "writev tap: short write");
  }
  return {};
}

Status Tap::destroy() {
  if (!fd_) {
    return fail(EBADF, "TAP is not open");
  }
  Status r{};
  if (::ioctl(fd_.get(), TUNSETPERSIST, 0UL) < 0) {
    r = sys::sys_error("TUNSETPERSIST");
  }
  fd_.reset();
  return r;
}

}  // namespace subnic::io
