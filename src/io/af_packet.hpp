// PacketSocket: an AF_PACKET socket on the lower device, with vnet headers, VLAN metadata and
// batched I/O.
//
// Kernel: net/packet/af_packet.c. packet_rcv queues every frame the device
// receives or (without PACKET_IGNORE_OUTGOING) transmits; packet_recvmsg
// prepends the virtio_net_hdr (packet_rcv_vnet) and reports the VLAN tag the
// device or __netif_receive_skb_core's software untag moved out of the frame
// (PACKET_AUXDATA); packet_snd transmits with dev_queue_xmit.
//
// Contract: non-blocking, O_CLOEXEC, bound to one ifindex in the namespace
// where open() ran. Every frame in both directions is a kVnetHdrLen-byte
// virtio_net_hdr (host byte order) followed by the Ethernet frame, so GSO
// super-frames cross whole. Frames this host transmits on the device
// (PACKET_OUTGOING), including our own, are never returned. The socket holds
// its memberships: they are dropped when it closes. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/error.hpp"
#include "core/mac.hpp"
#include "io/vnet.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

/// What add_membership() asks of the device (PACKET_ADD_MEMBERSHIP, packet_dev_mc()).
enum class Membership {
  /// PACKET_MR_UNICAST: add the MAC to the device's unicast filter
  /// (dev_uc_add, as macvlan does for each upper); a device without
  /// IFF_UNICAST_FLT (veth, bridge, tap) goes promiscuous instead, and only
  /// while it is up (__dev_set_rx_mode).
  kUnicast,
  /// PACKET_MR_MULTICAST: add the group MAC to the multicast filter (dev_mc_add).
  kMulticast,
  /// PACKET_MR_PROMISC: one promiscuity reference (dev_set_promiscuity); the MAC is ignored.
  kPromisc,
  /// PACKET_MR_ALLMULTI: one allmulti reference (dev_set_allmulti); the MAC is ignored.
  kAllmulti,
};

/// One receive buffer, filled by recv_batch().
struct RxSlot {
  std::uint8_t* buf = nullptr;  // caller's memory: vnet header + frame land here
  std::size_t cap = 0;          // bytes at buf; at least kVnetHdrLen, ideally kMaxFrame
  std::size_t len = 0;          // out: bytes received, vnet header included
  std::uint8_t pkttype =
      0;                  // out: PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST
  bool has_vlan = false;  // out: the kernel took a VLAN tag out of the frame
  std::uint16_t vlan_tci = 0;   // out: that tag's TCI (PCP, DEI, VID), host order
  std::uint16_t vlan_tpid = 0;  // out: that tag's TPID (0x8100 or 0x88a8), host order
};

/// Why frames were not returned or not sent; counted since open().
struct PacketCounters {
  std::uint64_t rx_truncated = 0;  // longer than the slot (MSG_TRUNC): dropped
  std::uint64_t rx_outgoing = 0;   // PACKET_OUTGOING reached us (kernel without IGNORE_OUTGOING)
  std::uint64_t rx_bad_vnet =
      0;  // GSO kind a virtio_net_hdr cannot describe: the kernel drops it (EINVAL)
  std::uint64_t tx_dropped = 0;  // the qdisc or driver dropped it (ENOBUFS)
  std::uint64_t tx_malformed =
      0;  // refused by packet_snd (EINVAL, EMSGSIZE: bad vnet header, over MTU)
};

/// The kernel's own counts (PACKET_STATISTICS, reset by each read).
struct PacketKernelStats {
  std::uint32_t packets = 0;  // frames queued to the socket
  std::uint32_t drops = 0;    // frames dropped because the receive buffer was full
};

class PacketSocket {
 public:
  /// Frames per recvmmsg/sendmmsg call; longer spans are handled in chunks.
  static constexpr std::size_t kMaxBurst = 64;
  /// Receive buffer asked for, bytes (SO_RCVBUFFORCE, else SO_RCVBUF up to rmem_max).
  static constexpr int kRcvBufBytes = 8 * 1024 * 1024;

  /// SOCK_RAW, ETH_P_ALL, bound to `ifindex` in the calling thread's namespace,
  /// with PACKET_VNET_HDR, PACKET_AUXDATA and PACKET_IGNORE_OUTGOING (kernel
  /// >= 4.20; without it outgoing frames are filtered by sll_pkttype).
  /// The socket starts unbound (protocol 0) so that no frame of another
  /// device is queued before bind(). Errors: EPERM without CAP_NET_RAW;
  /// ENODEV if no such device; EINVAL for ifindex <= 0.
  static Result<PacketSocket> open(int ifindex);

  PacketSocket(PacketSocket&&) noexcept = default;
  PacketSocket& operator=(PacketSocket&&) noexcept = default;
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;
  ~PacketSocket() = default;

  int fd() const { return fd_.get(); }
  int ifindex() const { return ifindex_; }
  const PacketCounters& counters() const { return counters_; }
  /// Reads and resets the kernel's PACKET_STATISTICS.
  Result<PacketKernelStats> kernel_stats();

  /// PACKET_ADD_MEMBERSHIP on our ifindex. The kernel counts memberships per
  /// socket, so adding the same one twice needs two drops. EINVAL if `mac` is
  /// a group address for kUnicast or not one for kMulticast.
  Status add_membership(Membership kind, core::Mac mac = {});
  /// PACKET_DROP_MEMBERSHIP. Dropping a membership this socket does not hold
  /// changes nothing; older kernels report EADDRNOTAVAIL for it, 6.18 returns 0.
  Status drop_membership(Membership kind, core::Mac mac = {});

  /// Receives up to min(slots.size(), kMaxBurst) frames with one recvmmsg
  /// (a few more calls only when outgoing, truncated or bad-vnet frames had to
  /// be skipped); returns how many, 0 when none is pending. The received
  /// frames are in slots[0, n). Skipped frames are compacted away by swapping
  /// whole slots, so a slot's buf may move to another index: every buf passed
  /// in is still in `slots`, in some order.
  /// Errors: EINVAL if a slot holds less than kVnetHdrLen bytes; ENETDOWN
  /// etc. from the socket (nothing was received then).
  Result<std::size_t> recv_batch(std::span<RxSlot> slots);

  /// Transmits each element (vnet header + Ethernet frame) on the device
  /// with sendmmsg. Returns how many frames from the front were consumed:
  /// sent, or dropped and counted (tx_dropped, tx_malformed). Fewer than
  /// frames.size() means the socket would block (EAGAIN); the rest were not
  /// touched. Errors (ENETDOWN, ENXIO...) only when the first frame fails
  /// for a reason that is not the frame's own.
  Result<std::size_t> send_batch(std::span<const std::span<const std::uint8_t>> frames);

 private:
  struct Scratch;  // mmsghdr/iovec/sockaddr_ll/cmsg arrays for one burst
  struct ScratchDeleter {
    void operator()(Scratch* s) const;
  };
  PacketSocket(sys::UniqueFd fd, int ifindex, std::unique_ptr<Scratch, ScratchDeleter> scratch);
  Status membership(int op, Membership kind, core::Mac mac);

  sys::UniqueFd fd_;
  int ifindex_ = 0;
  std::unique_ptr<Scratch, ScratchDeleter> scratch_;  // allocated once, by open()
  PacketCounters counters_;
};

}  // namespace subnic::io
