// VmPort: the endpoint of a macvtap/ipvtap upper, a VM that QEMU connects to a unix socket
// subnicd serves (the server end; QEMU is the client).
//
// Back ends: StreamPort (QEMU `-netdev stream`, io/vm_stream.hpp) and VhostUserPort (QEMU
// `-netdev vhost-user`, io/vhost_user.hpp). In the kernel the same place is taken by the
// macvtap/ipvtap character device /dev/tapN (drivers/net/tap.c): tap_handle_frame queues what the
// upper receives for the VM, tap_get_user turns what the VM writes into the upper's transmit.
//
// Contract: every frame crossing this interface is a kVnetHdrLen-byte virtio_net_hdr (host byte
// order, io/vnet.hpp) followed by the Ethernet frame. Threading: the control thread creates the
// port (it binds and listens on its path, replacing a stale socket file) and then hands it to the
// datapath thread, which alone calls service(), recv(), send() and flush(). connected(),
// offloads() and stats() read atomics and may be called from any thread. The destructor closes
// every descriptor; unlinking the socket path is the owner's job (path()).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

/// What the guest accepts in frames sent to it: the virtio-net features it acked
/// (VIRTIO_NET_F_GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN, GUEST_UFO; virtio 1.x §5.1.3).
/// A stream guest accepts none: its frames carry no virtio-net header at all.
struct GuestOffloads {
  bool csum = false;     // frames may carry VIRTIO_NET_HDR_F_NEEDS_CSUM
  bool tso4 = false;     // VIRTIO_NET_HDR_GSO_TCPV4 super-frames
  bool tso6 = false;     // VIRTIO_NET_HDR_GSO_TCPV6 super-frames
  bool tso_ecn = false;  // GSO frames with VIRTIO_NET_HDR_GSO_ECN
  bool ufo = false;      // VIRTIO_NET_HDR_GSO_UDP
};

class VmPort {
 public:
  VmPort() = default;
  VmPort(const VmPort&) = delete;
  VmPort& operator=(const VmPort&) = delete;
  virtual ~VmPort() = default;

  /// An epoll descriptor over the port's own listener, connection and notification fds:
  /// readable when service() or recv() has work. The datapath watches this one fd.
  virtual int fd() const = 0;
  /// The unix socket path the port listens on.
  virtual const std::string& path() const = 0;
  /// Accepts (a new connection replaces the old one: the VM restarted), handles control
  /// messages and hang-ups. Never blocks; failures are logged and counted, never thrown.
  virtual void service() = 0;
  /// Copies one frame the guest sent into `buf` (kVnetHdrLen-byte header + frame) and returns
  /// its length in bytes; 0 when none is pending. `buf` should hold kMaxFrame bytes. Malformed
  /// guest frames are skipped and counted in stats().malformed.
  virtual std::size_t recv(std::span<std::uint8_t> buf) = 0;
  /// Sends one frame (kVnetHdrLen-byte header + frame) to the guest. The frame must already fit
  /// offloads() (the caller segments GSO frames and completes checksums the guest cannot take).
  /// False when no guest is connected and ready, there is no room (ring full, output bound
  /// reached: counted in stats().overruns), or the frame is larger than the guest can take.
  virtual bool send(std::span<const std::uint8_t> vnet_and_frame) = 0;
  /// Tells the guest about everything sent or consumed since the last flush (vhost-user: one
  /// write to each changed ring's call eventfd; stream: pushes pending output).
  virtual void flush() = 0;
  /// True while a guest is connected and can take frames.
  virtual bool connected() const = 0;
  virtual GuestOffloads offloads() const = 0;

  struct Stats {
    std::uint64_t connects = 0;   // connections accepted
    std::uint64_t malformed = 0;  // guest frames or messages rejected
    std::uint64_t overruns = 0;   // frames for the guest dropped for lack of room
  };
  /// Any thread: the back end's counts so far.
  Stats stats() const {
    return {connects_.load(std::memory_order_relaxed), malformed_.load(std::memory_order_relaxed),
            overruns_.load(std::memory_order_relaxed)};
  }

 protected:
  // Written by the datapath thread (single writer), read by any.
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::uint64_t> overruns_{0};
};

/// Binds and listens on the unix stream socket `path` (non-blocking, close-on-exec; `backlog`
/// connections), as every VM back end does. A socket file nobody accepts on (ECONNREFUSED: a
/// daemon that died) is replaced. Errors, each naming `what` and the path: EINVAL for an empty
/// path, ENAMETOOLONG for one longer than sun_path; EEXIST if `path` is not a socket (left
/// alone); EADDRINUSE if something accepts on it (left alone); bind/listen errnos.
Result<sys::UniqueFd> listen_unix(const std::string& path, int backlog, std::string_view what);

/// Opens the back end `type` ("stream": StreamPort, "vhost-user": VhostUserPort) listening on
/// `path`. Errors: EINVAL for another type; the back end's listen errors.
Result<std::unique_ptr<VmPort>> listen_vm(std::string_view type, std::string path);

}  // namespace subnic::io
