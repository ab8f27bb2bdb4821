// RawIpSocket: the lower namespace's IP output, for ipvlan l3 mode; complete_checksum for
// CHECKSUM_PARTIAL packets.
//
// Kernel: the ipvlan driver sends an l3 upper's packets with ipvlan_process_v4_outbound /
// ipvlan_process_v6_outbound (drivers/net/ipvlan/ipvlan_core.c): a route lookup in the lower's
// namespace with flowi4_oif/flowi6_oif = the lower device and any source address
// (FLOWI_FLAG_ANYSRC), then ip_local_out / ip6_local_out. The closest userspace equivalent is a
// raw socket with the header included, bound to the lower: raw_sendmsg -> raw_send_hdrinc
// (net/ipv4/raw.c) and rawv6_sendmsg -> rawv6_send_hdrinc (net/ipv6/raw.c) route with the
// socket's bound device as the output interface, keep the given source address (only 0.0.0.0
// is filled in), never touch the TTL/hop limit, and go through the OUTPUT and POSTROUTING hooks
// as ipvlan's packets do. A destination that is a local address of the namespace is delivered
// to the namespace's own stack (the route is RTN_LOCAL: out through loopback), as ipvlan does.
//
// Differences from ipvlan (what raw_send_hdrinc does to the header): IPv4 tot_len is set to the
// length sent, the header checksum is recomputed, and an id of 0 on a packet without DF is
// replaced by a fresh one (ip_select_ident). Packets above the device MTU fail with EMSGSIZE
// where ipvlan's ip_local_out would fragment an IPv4 packet without DF. A broadcast route fails
// with EACCES (no SO_BROADCAST), as ipvlan drops every route that is neither unicast nor local.
#pragma once

#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::io {

class RawIpSocket {
 public:
  /// Opens, in the calling thread's current namespace, one AF_INET SOCK_RAW IPPROTO_RAW socket
  /// (IP_HDRINCL implied: inet_create sets hdrincl for IPPROTO_RAW) and one AF_INET6 SOCK_RAW
  /// IPPROTO_RAW socket (likewise, inet6_create), both non-blocking and O_CLOEXEC, both bound
  /// to `ifindex` with SO_BINDTOIFINDEX (SO_BINDTODEVICE by index, kernel >= 5.0), so every
  /// route lookup is made with that device as the output interface (sk_bound_dev_if ->
  /// flowi4_oif/flowi6_oif), as ipvlan's outbound path does. A drop-all socket filter keeps
  /// packets of IP protocol 255 (which such sockets would otherwise receive) from piling up.
  /// If IPv6 is disabled (ipv6.disable=1: socket() fails with EAFNOSUPPORT) the IPv6 socket
  /// is left out and has_v6() is false. Errors: EINVAL for ifindex <= 0; EPERM without
  /// CAP_NET_RAW; ENODEV if no such device in this namespace (checked here with SIOCGIFNAME:
  /// SO_BINDTOIFINDEX itself accepts any index, sock_bindtoindex_locked never looks it up);
  /// other socket/setsockopt errnos. Binding is by index: the sockets follow a rename, and
  /// after the device is deleted every send fails (IPv4 ENODEV, IPv6 ENETUNREACH) until a
  /// device with the same index appears.
  static Result<RawIpSocket> open(int ifindex);

  RawIpSocket(RawIpSocket&&) noexcept = default;
  RawIpSocket& operator=(RawIpSocket&&) noexcept = default;
  RawIpSocket(const RawIpSocket&) = delete;
  RawIpSocket& operator=(const RawIpSocket&) = delete;
  ~RawIpSocket() = default;

  /// Sends one complete IPv4 or IPv6 packet (starting at the IP header; the version nibble
  /// decides the family) with sendto() to the header's destination address. For an IPv6
  /// destination that needs a scope (link-local, multicast: __ipv6_addr_needs_scope_id) the
  /// scope id is this socket's ifindex. Checksums of the transport header must already be
  /// complete (see complete_checksum): the kernel sends the bytes as given.
  /// An IPv4 destination without a route through the device is no error: with an output
  /// interface given, ip_route_output_key_hash_rcu assumes it is on link ("Apparently,
  /// routing tables are wrong") and ARPs for it on the device, as ipvlan's lookup would.
  /// The packet is gone once send returns: a neighbour resolution that fails later is not
  /// reported.
  /// Errors: EINVAL for an empty packet, a version other than 4 or 6, or a packet too short
  /// for its header (IPv4: under 20 bytes, ihl < 5 or ihl * 4 above the length; IPv6: under
  /// 40 bytes); EAFNOSUPPORT for IPv6 when has_v6() is false; otherwise the sendto errno:
  /// EAGAIN when the socket buffer is full (wait for EPOLLOUT on the fd); EMSGSIZE above the
  /// device MTU (raw_send_hdrinc, rawv6_send_hdrinc); ENETUNREACH while the device is down
  /// (both families) and for an IPv6 destination no route through the device covers; ENODEV
  /// (IPv4) or ENETUNREACH (IPv6) once the device is deleted; EPERM if netfilter drops it.
  Status send(std::span<const std::uint8_t> ip_packet);

  int ifindex() const { return ifindex_; }
  bool has_v6() const { return static_cast<bool>(v6_); }
  /// The IPv4 socket's descriptor (for EPOLLOUT after EAGAIN).
  int fd_v4() const { return v4_.get(); }
  /// The IPv6 socket's descriptor, -1 without IPv6.
  int fd_v6() const { return v6_.get(); }

 private:
  RawIpSocket(int ifindex, sys::UniqueFd v4, sys::UniqueFd v6)
      : ifindex_{ifindex}, v4_{std::move(v4)}, v6_{std::move(v6)} {}

  int ifindex_ = 0;
  sys::UniqueFd v4_;
  sys::UniqueFd v6_;
};

/// Finishes a CHECKSUM_PARTIAL packet as a NIC does for a virtio-net header with
/// VIRTIO_NET_HDR_F_NEEDS_CSUM (and as the kernel's skb_checksum_help does in software): the
/// 16-bit ones-complement sum of the bytes from `csum_start` to the end of the span (the
/// checksum field, at csum_start + csum_offset, already holds the folded pseudo-header sum,
/// not complemented), folded and complemented, is stored big-endian in that field. A result
/// of 0 is stored as 0xffff (CSUM_MANGLED_0, as skb_checksum_help does; the same value in
/// ones-complement arithmetic, and what UDP needs since 0 means "no checksum").
/// Offsets are in bytes from the start of the span: pass the vnet header's csum_start and
/// csum_offset with the Ethernet frame it came with, or subtract the link header length
/// first when passing the IP packet alone. The span must end where the packet ends (no
/// Ethernet padding). Does nothing if the field does not fit in the span
/// (csum_start + csum_offset + 2 > size).
void complete_checksum(std::span<std::uint8_t> frame_or_packet, std::uint16_t csum_start,
                       std::uint16_t csum_offset);

}  // namespace subnic::io
