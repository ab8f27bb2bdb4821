// StreamPort: a VM endpoint for QEMU's `-netdev stream,addr.type=unix,addr.path=PATH,server=off`
// (QEMU >= 7.2): subnicd listens on PATH, QEMU connects.
//
// Wire format (QEMU net/stream.c net_stream_receive, net/net.c net_fill_rstate): each frame is a
// 4-byte big-endian length followed by that many bytes of Ethernet frame, no virtio-net header,
// both directions. QEMU's reader takes up to NET_BUFSIZE (4096 + 65536) bytes per frame and drops
// the connection on anything larger; we accept 1 .. kMaxStreamFrame and treat a length of 0 or
// above that as a protocol error that drops the connection. The guest's NIC (virtio-net, e1000,
// ...) gets whole frames with no offloads: frames sent to it must have complete checksums and no
// GSO (io/gso.hpp segment()).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/vm_port.hpp"
#include "io/vnet.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

class StreamPort final : public VmPort {
 public:
  /// Largest frame accepted either way, in bytes: a 64 KiB payload + Ethernet header + one tag.
  static constexpr std::size_t kMaxStreamFrame = 65536 + 14 + 4;
  /// Bytes of the length prefix before every frame.
  static constexpr std::size_t kLenPrefix = 4;
  /// Default bound on bytes queued for the guest (prefixes included) while its socket is full.
  static constexpr std::size_t kDefaultOutputBound = 1024 * 1024;

  /// Creates the unix stream socket at `path` and listens on it (non-blocking, O_CLOEXEC,
  /// backlog 4), with its own epoll set (fd()). A stale socket file at `path` (a socket nobody
  /// accepts on: connect() fails with ECONNREFUSED) is unlinked first.
  /// `output_bound`: bytes of frames (with prefixes) queued for the guest at most; at least
  /// kLenPrefix + kMaxStreamFrame (a smaller value is raised to that).
  /// Errors: ENAMETOOLONG if `path` does not fit sockaddr_un (107 bytes), EINVAL if empty;
  /// EADDRINUSE if something accepts connections on `path` already; EEXIST if `path` exists
  /// and is not a socket (it is left alone); socket/bind/listen/epoll errnos otherwise.
  static Result<std::unique_ptr<StreamPort>> listen(std::string path,
                                                    std::size_t output_bound = kDefaultOutputBound);

  ~StreamPort() override = default;

  /// The epoll descriptor: readable when a connection is waiting to be accepted, the
  /// connection has bytes or hung up, (while output is pending) it became writable, or
  /// frames read from the socket are still buffered (an internal eventfd, armed while recv()
  /// leaves bytes behind, cleared when recv() returns 0: a caller that stops after a burst is
  /// woken again for the rest, with no new byte from the guest).
  int fd() const override { return ep_.get(); }
  const std::string& path() const override { return path_; }
  /// Accepts every pending connection (each replaces the one before: input and output
  /// buffered for the old one are discarded; stats().connects counts each; one that has
  /// already hung up without sending a byte, a liveness probe, is closed and replaces nothing),
  /// writes pending output when the socket is writable, drops a connection that reported an error
  /// or hang-up with nothing left to read. Never blocks.
  void service() override;
  /// One frame from the guest: an all-zero kVnetHdrLen-byte header + the frame, copied into
  /// `buf`; returns its length, 0 when no whole frame is buffered and the socket has no more
  /// bytes (reads at most a few times per call). A length prefix of 0 or above
  /// kMaxStreamFrame drops the connection (stats().malformed + 1). A frame shorter than an
  /// Ethernet header (14 bytes) or too big for `buf` is skipped and counted in malformed.
  /// End of stream or a read error drops the connection (connected() turns false).
  std::size_t recv(std::span<std::uint8_t> buf) override;
  /// Queues one frame (kVnetHdrLen-byte header + Ethernet frame) for the guest and writes
  /// when 64 KiB or more are queued. False, and nothing queued, when: no connection; the
  /// header asks for GSO or VIRTIO_NET_HDR_F_NEEDS_CSUM (the stream carries neither); the
  /// frame is shorter than 14 bytes or longer than kMaxStreamFrame; or the queue would exceed
  /// the output bound (stats().overruns + 1).
  bool send(std::span<const std::uint8_t> vnet_and_frame) override;
  /// Writes queued output as far as the socket takes it; the rest waits for EPOLLOUT
  /// (service()).
  void flush() override;
  bool connected() const override { return connected_.load(std::memory_order_relaxed); }
  /// None: the stream carries no virtio-net header.
  GuestOffloads offloads() const override { return {}; }
  /// Bytes queued for the guest and not yet written (for tests and statistics).
  std::size_t output_pending() const { return out_end_ - out_begin_; }

 private:
  StreamPort(std::string path, sys::UniqueFd listener, sys::UniqueFd ep, sys::UniqueFd pending,
             std::size_t bound);
  void accept_all();
  /// Arms or clears the `pending_` eventfd (buffered input left for the next recv()).
  void set_pending(bool on);
  /// Takes the listener out of the epoll set (accept failed for lack of descriptors, which
  /// would keep it readable) or puts it back.
  void pause_listener(bool on);
  void drop();
  // Writes queued output; drops the connection on a hard error. Arms/disarms EPOLLOUT.
  void write_out();
  void set_epollout(bool on);

  std::string path_;
  sys::UniqueFd listener_;
  sys::UniqueFd ep_;
  sys::UniqueFd conn_;
  sys::UniqueFd pending_;
  bool pending_armed_ = false;
  bool listener_paused_ = false;
  std::vector<std::uint8_t> in_;  // received bytes [in_begin_, in_end_)
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::vector<std::uint8_t> out_;  // queued bytes [out_begin_, out_end_)
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
  bool epollout_ = false;
  std::atomic<bool> connected_{false};
};

}  // namespace subnic::io
