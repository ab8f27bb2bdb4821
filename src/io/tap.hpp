// Tap: a persistent TAP device with a virtio-net header, the upper side of subnic.
//
// Kernel: drivers/net/tun.c. tun_set_iff creates or attaches (TUNSETIFF);
// tun_get_user handles our writes (the frame is *received* by the TAP's
// namespace); tun_put_user hands us what that namespace *transmits*.
// set_offload (TUNSETOFFLOAD) decides which GSO/checksum work the namespace
// stack may leave to us. A TAP device is created in the namespace where
// /dev/net/tun was opened, may later be moved anywhere (`ip link set X netns
// Y`), and this descriptor keeps working wherever it goes.
//
// Contract: the descriptor is non-blocking and O_CLOEXEC; every frame read or
// written starts with a kVnetHdrLen-byte virtio_net_hdr (host byte order).
// One Tap object per device: the TAP is single-queue, so a second attach()
// while one is open fails with EBUSY. If someone deletes the device (`ip link
// del`), every later call on the descriptor fails with EBADFD; close it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "io/vnet.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

class Tap {
 public:
  /// TUNSETOFFLOAD flags (TUN_F_*, <linux/if_tun.h>): what the namespace's stack may hand us
  /// unfinished, announced to it as device features (tun.c set_offload ->
  /// netdev_update_features). TUN_F_CSUM (0x01) = NETIF_F_HW_CSUM: frames may come with
  /// VIRTIO_NET_HDR_F_NEEDS_CSUM (checksum partial: csum_start/csum_offset, the field holding the
  /// pseudo-header sum). TUN_F_TSO4 (0x02), TUN_F_TSO6 (0x04), TUN_F_TSO_ECN (0x08) = NETIF_F_TSO,
  /// TSO6, TSO_ECN: TCP super-frames up to 64 KiB with gso_type/gso_size set. Every TSO flag
  /// needs TUN_F_CSUM.
  static constexpr unsigned kOffloadCsum = 0x01;
  static constexpr unsigned kOffloadTso4 = 0x02;
  static constexpr unsigned kOffloadTso6 = 0x04;
  static constexpr unsigned kOffloadTsoEcn = 0x08;
  /// What create() and attach() set: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN.
  static constexpr unsigned kOffloadsFull =
      kOffloadCsum | kOffloadTso4 | kOffloadTso6 | kOffloadTsoEcn;
  /// TUN_F_CSUM only: the namespace's stack never hands us TSO super-frames (it segments
  /// them itself, validate_xmit_skb -> skb_gso_segment, before tun_net_xmit) but may still
  /// leave checksums partial (NEEDS_CSUM; complete them with io::complete_checksum).
  static constexpr unsigned kOffloadsCsumOnly = kOffloadCsum;

  /// Creates a new persistent TAP `name` in the calling thread's namespace:
  /// IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, vnet header 10 bytes, offloads kOffloadsFull =
  /// TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN (the namespace's TCP
  /// then hands us 64 KiB super-frames), TUNSETPERSIST 1. The device starts
  /// down, with a random MAC, carrier on (a queue is attached).
  /// Errors: EINVAL if `name` is empty, has 16 bytes or more, or contains '%';
  /// Error{EEXIST, "RTNETLINK answers: File exists"} if any device of that name
  /// exists there (checked with netlink first, then enforced by IFF_TUN_EXCL:
  /// plain TUNSETIFF would silently attach to an existing TAP); EPERM without
  /// CAP_NET_ADMIN; other ioctl errnos as Error{errno, "TUNSETIFF NAME: ..."}.
  static Result<Tap> create(std::string_view name);

  /// Reopens an existing persistent TAP `name` in the calling thread's
  /// namespace (after a daemon restart), with the same flags and offloads.
  /// Never creates a device: Error{ENODEV, "Cannot find device \"NAME\""} if
  /// no device of that name exists; EINVAL if it is not a TAP (netlink kind
  /// "tun" with Ethernet type); EBUSY if another descriptor has it open.
  static Result<Tap> attach(std::string_view name);

  Tap(Tap&&) noexcept = default;
  Tap& operator=(Tap&&) noexcept = default;
  Tap(const Tap&) = delete;
  Tap& operator=(const Tap&) = delete;
  /// Closes the descriptor; a persistent device stays (with carrier off).
  ~Tap() = default;

  /// The device's current name (TUNGETIFF), following renames.
  Result<std::string> name() const;
  /// The namespace the device is in now (TUNGETDEVNETNS), even
  /// after it was moved. Needs CAP_NET_ADMIN over that namespace (EPERM).
  Result<sys::UniqueFd> netns() const;
  /// Carrier on or off (TUNSETCARRIER), seen as IFF_LOWER_UP
  /// while the device is up. Turning it on needs a queue attached (ours is).
  Status set_carrier(bool on);
  /// TUNSETPERSIST: a persistent device outlives its descriptors.
  Status set_persist(bool on);
  /// TUNSETOFFLOAD `flags` (TUN_F_*: kOffloadsFull, kOffloadsCsumOnly, or 0 for every frame
  /// complete: no GSO, checksums done). Replaces what create() or attach() set (kOffloadsFull);
  /// a later attach() sets kOffloadsFull again. Takes effect for frames the stack builds from
  /// then on; frames already queued keep their form. Only the namespace's transmit side is
  /// affected: frames we write may carry GSO or NEEDS_CSUM whatever is set (tun_get_user ->
  /// virtio_net_hdr_to_skb does not consult these flags). Kernel: drivers/net/tun.c set_offload.
  /// Errors: EINVAL for a flag tun does not know or cannot honour, e.g. a TSO flag without
  /// TUN_F_CSUM (set_offload keeps it in its leftover bits); EBADFD once the device was deleted.
  Status set_offload(unsigned flags);
  int fd() const { return fd_.get(); }

  /// Reads one frame the namespace transmitted, vnet header included, into
  /// `buf`; returns its length in bytes, 0 when none is pending (EAGAIN).
  /// `buf` should hold kMaxFrame bytes: the kernel fails a read into a smaller
  /// buffer (EINVAL below kVnetHdrLen, EFAULT for a frame that does not fit)
  /// and the frame is lost. EBADFD once the device was deleted.
  Result<std::size_t> read(std::span<std::uint8_t> buf);
  /// Writes one frame (vnet header + Ethernet frame): the namespace receives it.
  /// All or nothing. EINVAL for a malformed vnet header or a frame shorter than
  /// an Ethernet header; EIO while the device is down.
  Status write(std::span<const std::uint8_t> vnet_and_frame);
  /// Same, with the header and the frame in separate buffers (one writev).
  Status writev(std::span<const std::uint8_t> vnet_hdr, std::span<const std::uint8_t> frame);

  /// Makes the device non-persistent and closes the descriptor, so the device
  /// disappears wherever it is now (any namespace), unless another process
  /// holds a descriptor on it. The Tap is empty afterwards, even on error.
  Status destroy();

 private:
  explicit Tap(sys::UniqueFd fd) : fd_{std::move(fd)} {}
  sys::UniqueFd fd_;
};

}  // namespace subnic::io
