// VhostUserPort: the vhost-user-net back end (device side) of a VM's virtio-net NIC. QEMU
// (`-chardev socket,id=c0,path=PATH[,reconnect=1] -netdev vhost-user,id=n0,chardev=c0`, guest
// RAM in a shared memfd) is the front end and connects to PATH; we are the server.
//
// Protocol: QEMU docs/interop/vhost-user.rst ("Message types", "Front-end message types",
// "Ring states", "Communication"): a 12-byte header {u32 request, u32 flags (version 1, 0x4 =
// reply, 0x8 = need_reply), u32 size} then `size` payload bytes; file descriptors ride along as
// SCM_RIGHTS. The rings are virtio 1.x split virtqueues (§2.7 "Split Virtqueues") laid out in
// guest RAM, which QEMU shares with us region by region (SET_MEM_TABLE). Queue 0 is the guest's
// receive queue (we fill it: send()), queue 1 its transmit queue (we drain it: recv()); the
// control queue stays inside QEMU (hw/net/vhost_net.c). Each frame in guest memory starts with a
// virtio-net header (virtio 1.x §5.1.6 "Device Operation"): 12 bytes (num_buffers included) when
// VIRTIO_F_VERSION_1 or VIRTIO_NET_F_MRG_RXBUF was negotiated, else 10, little endian.
//
// Everything the guest or QEMU hands us is checked before use: ring sizes (power of two, at most
// 32768), ring and buffer addresses (inside a mapped region), descriptor indexes, chain lengths
// (at most kMaxChainDescs descriptors, so loops end), the direction of every descriptor
// (VRING_DESC_F_WRITE), message sizes and descriptor counts, the kind of each passed fd
// (eventfds for kick/call, sealed memfds for memory) and the virtio-net header of each
// transmitted frame. One recv() or send() reads at most ring-size descriptors in total, however
// the guest lays out its rings. What fails is skipped and counted in stats().malformed; nothing
// the peer sends can make us read or write outside the memory it shared.
//
// Limit: a memory region passed as a memfd must be sealed against shrinking (F_SEAL_SHRINK;
// QEMU memory-backend-memfd's default seal=on). Other files (QEMU memory-backend-file on tmpfs,
// hugetlbfs or a disk filesystem) cannot carry that seal and are accepted: a front end that
// truncates one after SET_MEM_TABLE makes the datapath take SIGBUS on the lost pages.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "io/vm_port.hpp"
#include "io/vnet.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

class VhostUserPort final : public VmPort {
 public:
  /// Virtio feature bits we offer in GET_FEATURES (virtio 1.x §5.1.3 "Feature bits", §6
  /// "Reserved Feature Bits"; vhost-user.rst "Feature negotiation"): CSUM (0), GUEST_CSUM (1),
  /// GUEST_TSO4 (7), GUEST_TSO6 (8), GUEST_ECN (9), HOST_TSO4 (11), HOST_TSO6 (12),
  /// HOST_ECN (13), MRG_RXBUF (15), VHOST_USER_F_PROTOCOL_FEATURES (30), VERSION_1 (32).
  /// No EVENT_IDX, INDIRECT_DESC, packed ring, LOG_ALL, MQ or UFO.
  static const std::uint64_t kFeatures;
  /// Protocol feature bits we offer (GET_PROTOCOL_FEATURES): REPLY_ACK (bit 3) only.
  static const std::uint64_t kProtocolFeatures;
  /// Largest control message payload we accept (bytes); a bigger one ends the connection.
  static constexpr std::size_t kMaxPayload = 4096;
  /// Most memory regions in a SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS).
  static constexpr std::size_t kMaxRegions = 8;
  /// Largest ring size (virtio 1.x §2.7: Queue Size <= 32768).
  static constexpr std::uint32_t kMaxRingSize = 32768;
  /// Most descriptors in one chain (DPDK's BUF_VECTOR_MAX). Linux virtio_net chains are far
  /// shorter: transmit at most MAX_SKB_FRAGS + 2, non-mergeable receive ("big packets") about 19.
  static constexpr std::uint32_t kMaxChainDescs = 256;

  /// Where to send a log line (one human sentence, no newline). Default: nowhere.
  using LogFn = std::function<void(std::string_view)>;

  /// Binds and listens (backlog 1) on the unix stream socket `path` with io::listen_unix (a
  /// stale socket file nobody accepts on is replaced). Creates the port's epoll set (listener,
  /// an internal wake eventfd, an accept-retry timerfd). Errors: ENAMETOOLONG if `path` does
  /// not fit sockaddr_un; EINVAL if it is empty; EEXIST if `path` exists and is not a socket;
  /// EADDRINUSE if something accepts on `path` already (both left alone);
  /// socket/bind/listen/epoll_create1/eventfd/timerfd_create errnos as Error{errno, "...: ..."}.
  static Result<std::unique_ptr<VhostUserPort>> listen(std::string path);

  ~VhostUserPort() override;

  /// Installs the log sink. Control thread, before the port is handed to the datapath.
  void set_log(LogFn fn) { log_ = std::move(fn); }

  /// The epoll fd: readable when a connection waits to be accepted, a control message arrived,
  /// the guest kicked a ring (a kick eventfd), recv() left frames pending in the transmit ring
  /// (an internal eventfd, cleared when recv() returns 0 with nothing left), or the accept
  /// retry timer expired. On readable: service(), then recv() until 0 (or a budget: the fd then
  /// stays readable), then flush().
  int fd() const override { return epoll_.get(); }
  const std::string& path() const override { return path_; }
  /// Accepts a connection (it replaces the current one: all guest state is dropped; one
  /// already closed by its peer when accepted, such as io::listen_unix's liveness probe, is
  /// closed and not counted), handles up to 64 control messages, drains kick eventfds, notices
  /// hang-ups. Never blocks.
  /// A connection is dropped (counted malformed) when a read brings a truncated control message
  /// (MSG_CTRUNC) or more than kMaxRegions descriptors pile up for one message. SET_VRING_KICK
  /// and SET_VRING_CALL with a descriptor that is not an eventfd fail (error reply with
  /// REPLY_ACK, counted malformed, ring state unchanged); accepted ones are set O_NONBLOCK. A
  /// kick fd whose read gives EOF or an error other than EAGAIN is no longer watched.
  /// SET_MEM_TABLE fails the same way for a memfd region without F_SEAL_SHRINK.
  /// When accept4 runs out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the
  /// listener leaves the epoll set (it would stay readable and spin the datapath) until the
  /// current connection ends or 250 ms pass (a timerfd in the set); the pending connection
  /// stays queued meanwhile.
  void service() override;
  /// One frame from the guest's transmit queue (queue 1) as a 10-byte host-order virtio_net_hdr
  /// + Ethernet frame in `buf`; returns its length in bytes, 0 when none is pending or the ring
  /// is not live. Each chain is returned to the used ring (len 0) whether good or not. Skipped
  /// and counted malformed: chains with a device-writable, indirect, out-of-memory or
  /// out-of-range descriptor, more than kMaxChainDescs (or ring-size) descriptors, shorter than
  /// header + 14 bytes, or larger than `buf`; and frames whose header breaks virtio 1.x
  /// §5.1.6.2: NEEDS_CSUM without VIRTIO_NET_F_CSUM, a GSO type other than TCPV4/TCPV6 with its
  /// negotiated HOST_TSO4/HOST_TSO6, the ECN bit without a GSO type or without HOST_ECN.
  /// The returned header keeps only NEEDS_CSUM of the flags (the guest's DATA_VALID is
  /// dropped), with csum_start/csum_offset zero without it and hdr_len/gso_size zero without
  /// GSO. One call reads at most ring-size descriptors: when the chains it skipped used them
  /// up, it returns 0 with the chain it stopped at still pending and fd() kept readable.
  std::size_t recv(std::span<std::uint8_t> buf) override;
  /// Writes one frame (10-byte host-order virtio_net_hdr + frame) into the guest's receive
  /// queue (queue 0) with the negotiated header (10 or 12 bytes, num_buffers = buffers used).
  /// With MRG_RXBUF the frame spans as many available chains as it needs; without it, one chain
  /// must hold it all. False (nothing consumed) when the ring is not live, holds too few buffers
  /// (counted in stats().overruns), the input is shorter than the header, or the frame is larger
  /// than one chain can hold (no MRG_RXBUF; counted in overruns too). Bad chains (as for recv(),
  /// device-readable instead of writable, no capacity, or with MRG_RXBUF smaller than the 12-byte
  /// header: virtio 1.x §5.1.6.3.1) are returned with len 0, counted malformed, and the next
  /// ones tried. One call reads at most ring-size descriptors; when bad chains used them up it
  /// returns false (counted in overruns) and the next call goes on past them.
  bool send(std::span<const std::uint8_t> vnet_and_frame) override;
  /// Signals the call eventfd of each ring whose used ring changed since the last flush, unless
  /// the guest set VRING_AVAIL_F_NO_INTERRUPT (virtio 1.x §2.7.7 "Used Buffer Notification
  /// Suppression"). At most one write per ring.
  void flush() override;
  /// Both rings live: memory mapped, sizes and addresses valid, kick received, enabled
  /// (SET_VRING_ENABLE 1 with PROTOCOL_FEATURES, else from SET_FEATURES on), not stopped by
  /// GET_VRING_BASE.
  bool connected() const override { return connected_.load(std::memory_order_relaxed); }
  /// The guest's acked GUEST_CSUM/GUEST_TSO4/GUEST_TSO6/GUEST_ECN (ufo always false: not
  /// offered). All false before SET_FEATURES and after a hang-up.
  GuestOffloads offloads() const override;

 private:
  struct Region;
  struct Vring;
  struct Seg {
    std::uint64_t gpa;
    std::uint32_t len;
  };
  struct Chain {
    std::uint16_t head;
    std::uint32_t seg_begin, seg_end;
    std::uint64_t cap;
  };
  enum class ChainStatus { kOk, kBad, kBudget };

  VhostUserPort(std::string path, sys::UniqueFd listener, sys::UniqueFd epoll, sys::UniqueFd wake,
                sys::UniqueFd retry);

  void accept_conn();
  void pause_accept(int err);  // listener out of the epoll set, retry timer armed
  void resume_accept();        // listener back in the set, timer disarmed
  void drop_conn(const char* why);
  void reset_device();
  void read_messages();
  bool handle_message();  // false: drop the connection
  bool reply(std::uint32_t request, const void* payload, std::uint32_t size);
  bool reply_u64(std::uint32_t request, std::uint64_t value);
  bool set_mem_table();
  void unmap_all();
  bool resolve_ring(Vring& vr);
  void start_ring(Vring& vr, std::uint32_t index);
  void update_connected();
  void watch(int fd, std::uint64_t key);
  void unwatch(int fd);
  void arm_wake();
  void clear_wake();
  void drain_kick(std::uint32_t q);
  void log(const std::string& line) const;
  void count_malformed() { malformed_.fetch_add(1, std::memory_order_relaxed); }

  // Guest memory: host pointers for [addr, addr + len) inside one region, or null.
  std::uint8_t* gpa_to_host(std::uint64_t gpa, std::uint64_t len) const;
  std::uint8_t* uva_to_host(std::uint64_t uva, std::uint64_t len) const;
  // Calls fn(host pointer, bytes) for each piece of [gpa, gpa + len) in turn, a piece per
  // region it crosses; false (after the pieces before the gap) if part of it is not mapped.
  template <class Fn>
  bool for_each_piece(std::uint64_t gpa, std::uint64_t len, Fn&& fn) const;
  // Whether [gpa, gpa + len) is mapped (possibly across adjacent regions).
  bool gpa_range_ok(std::uint64_t gpa, std::uint64_t len) const;
  bool copy_from_guest(std::uint64_t gpa, std::uint8_t* dst, std::size_t len) const;
  void copy_to_guest(std::uint64_t gpa, const std::uint8_t* src, std::size_t len) const;

  bool ring_live(const Vring& vr) const;
  // Reads avail->idx (acquire); false if the guest moved it more than num ahead (ring broken).
  bool avail_pending(Vring& vr, std::uint16_t& pending);
  ChainStatus walk_chain(const Vring& vr, std::uint16_t head, bool writable, std::uint64_t& cap,
                         std::uint32_t& budget);
  bool sanitize_tx_hdr(VnetHdr& h) const;
  void push_used(Vring& vr, std::uint16_t id, std::uint32_t len);
  void publish_used(Vring& vr);

  std::string path_;
  sys::UniqueFd listener_;
  sys::UniqueFd epoll_;
  sys::UniqueFd wake_;   // eventfd: recv() left frames pending
  sys::UniqueFd retry_;  // timerfd: put the listener back after accept4 ran out of fds
  bool wake_armed_ = false;
  bool accepting_ = true;  // listener_ is in the epoll set
  sys::UniqueFd conn_;
  LogFn log_;

  // Control message being read: header, then payload, with the descriptors that came along.
  std::uint8_t hdr_buf_[12] = {};
  std::size_t hdr_got_ = 0;
  std::vector<std::uint8_t> payload_;
  std::size_t payload_got_ = 0;
  std::vector<sys::UniqueFd> msg_fds_;
  std::uint32_t msg_request_ = 0, msg_flags_ = 0;

  std::uint64_t acked_features_ = 0;
  std::uint64_t acked_protocol_ = 0;
  std::size_t guest_hdr_len_ = 10;
  std::vector<Region> regions_;
  std::unique_ptr<Vring[]> rings_;  // [0] guest RX, [1] guest TX

  std::vector<Seg> segs_;      // send(): scratch
  std::vector<Chain> chains_;  // send(): scratch

  std::atomic<bool> connected_{false};
  std::atomic<std::uint8_t> offloads_{0};
};

}  // namespace subnic::io
