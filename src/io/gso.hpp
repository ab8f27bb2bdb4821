// Software GSO for frames going to a VM: what the kernel's skb_gso_segment does to a super-frame
// before a device that cannot take it (validate_xmit_skb), and skb_checksum_help for a partial
// checksum the device cannot finish.
//
// Kernel: net/core/gso.c skb_mac_gso_segment (walks VLAN tags: skb_network_protocol) ->
// net/ipv4/af_inet.c inet_gso_segment / net/ipv6/ip6_offload.c ipv6_gso_segment (per segment:
// IPv4 tot_len, id + 1 per segment, header checksum; IPv6 payload_len) -> net/ipv4/tcp_offload.c
// tcp_gso_segment (seq += mss, FIN and PSH only on the last segment, CWR only on the first, the
// checksum's pseudo-header length adjusted), net/ipv4/udp_offload.c __udp_gso_segment (USO: one
// UDP datagram per segment) and udp4_ufo_fragment / net/ipv6/udp_offload.c udp6_ufo_fragment
// (UFO: the UDP checksum completed over the whole datagram, then IP fragments).
//
// Contract: frames in and out are a kVnetHdrLen-byte virtio_net_hdr (host byte order,
// io/vnet.hpp) followed by the Ethernet frame. The input is never modified; segments are built one
// at a time in a caller-provided scratch buffer and handed to a callback, so nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "core/error.hpp"
#include "io/vm_port.hpp"
#include "io/vnet.hpp"

namespace subnic::io {

/// A non-owning reference to a callable taking one frame (`std::span<const std::uint8_t>`:
/// kVnetHdrLen-byte header + Ethernet frame) and returning bool (true: taken, go on; false:
/// stop) or void (always go on). The callable must outlive the call it is passed to (a lambda
/// written in the argument list does). The frame's bytes are valid only during the call.
class FrameSink {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FrameSink> &&
           std::is_invocable_v<F&, std::span<const std::uint8_t>>) FrameSink(F&& f)
  noexcept  // NOLINT(google-explicit-constructor): used like a function ref
      : obj_{const_cast<void*>(static_cast<const void*>(std::addressof(f)))},
        call_{[](void* o, std::span<const std::uint8_t> frame) -> bool {
          auto& fn = *static_cast<std::remove_reference_t<F>*>(o);
          if constexpr (std::is_void_v<std::invoke_result_t<F&, std::span<const std::uint8_t>>>) {
            fn(frame);
            return true;
          } else {
            return static_cast<bool>(fn(frame));
          }
        }} {}

  bool operator()(std::span<const std::uint8_t> frame) const { return call_(obj_, frame); }

 private:
  void* obj_;
  bool (*call_)(void*, std::span<const std::uint8_t>);
};

/// The header at the front of `vnet_and_frame` (its first kVnetHdrLen bytes, host order); an
/// all-zero header if the span is shorter.
VnetHdr load_vnet_hdr(std::span<const std::uint8_t> vnet_and_frame);

/// True if a frame with header `h` may go to a guest accepting `g` unchanged: no
/// VIRTIO_NET_HDR_F_NEEDS_CSUM unless g.csum; GSO_TCPV4 needs g.tso4, GSO_TCPV6 g.tso6 (both
/// also g.csum), either with VIRTIO_NET_HDR_GSO_ECN also g.tso_ecn; GSO_UDP needs g.ufo (and
/// g.csum when NEEDS_CSUM); GSO_UDP_L4 and unknown types never fit (no GUEST_USO in
/// GuestOffloads). The virtio 1.x §5.1.6.4 rules for what a device may hand a driver.
bool fits(const VnetHdr& h, const GuestOffloads& g);

/// Bytes of scratch that segment() needs at most for any input up to kMaxFrame bytes: one
/// output frame (header + Ethernet frame) plus the 8-byte IPv6 fragment header UFO inserts.
inline constexpr std::size_t kGsoScratch = kMaxFrame + 8;

/// Turns one frame (`vnet_and_frame`: header + Ethernet frame) into frames that fit `g`, calling
/// `out` once per resulting frame in order, and returns how many frames `out` took (it stops
/// at the first `false`).
///
/// - Already fits (see fits()): `out` gets the input itself, unchanged (no copy).
/// - No GSO, VIRTIO_NET_HDR_F_NEEDS_CSUM, guest without csum: copied into `scratch`, the
///   checksum completed (complete_checksum over csum_start .. end of the IP packet, so
///   Ethernet padding is left out, as skb_checksum_help sees skb->len), header all zero.
/// - GSO_TCPV4 / GSO_TCPV6 (tcp_gso_segment): segments of gso_size payload bytes (the last
///   one shorter), headers copied (VLAN tags, IP and TCP options included); IPv4 tot_len, id
///   (the super-frame's id + segment index, mod 2^16) and header checksum; IPv6 payload_len;
///   TCP seq += bytes before the segment; FIN and PSH kept on the last segment only, CWR on
///   the first only (whatever VIRTIO_NET_HDR_GSO_ECN says, as the kernel does).
/// - GSO_UDP_L4 (__udp_gso_segment): one UDP datagram of gso_size payload bytes per segment,
///   UDP length per segment, IPv4 id and lengths as for TCP.
/// - GSO_UDP (UFO, udp4_ufo_fragment / udp6_ufo_fragment): the UDP checksum is computed over
///   the whole datagram (0 sent as 0xffff), then the IP packet is fragmented into pieces of
///   gso_size bytes of the fragmentable part (UDP header included): IPv4 keeps the id, sets
///   frag_off = offset / 8 | MF except on the last (DF cleared, as inet_gso_segment
///   overwrites frag_off); IPv6 gets a fragment header after the unfragmentable part
///   (hop-by-hop, routing and destination options before a routing header, as
///   ip6_find_1stfragopt) with an id from a process-wide counter (the kernel hashes the
///   addresses: ipv6_proxy_select_ident). gso_size must be a multiple of 8 when more than one
///   fragment results. Fragments always carry complete checksums.
/// - A GSO frame whose payload fits one segment comes out as one plain frame (the kernel
///   passes it on as is; UFO would fail with EINVAL in udp4_ufo_fragment, we send it).
///
/// Segment checksums: if g.csum, each segment keeps VIRTIO_NET_HDR_F_NEEDS_CSUM (csum_start at
/// the TCP/UDP header, the field holding the pseudo-header sum for the segment's length, as
/// gso_reset_checksum leaves it for a device with NETIF_F_HW_CSUM); otherwise the checksum is
/// completed. The pseudo-header sum is adjusted from the super-frame's field when it carries
/// NEEDS_CSUM at the transport header (as tcp_gso_segment does: right even with an IPv6
/// routing header), else computed from the IP header's addresses. Output headers: gso_type
/// NONE, hdr_len and gso_size 0.
///
/// The Ethernet frame may carry up to two 802.1Q/802.1ad tags. IPv4 options and IPv6
/// hop-by-hop, routing and destination options headers are copied into every segment. The IP
/// packet ends at IPv4 tot_len / 40 + IPv6 payload_len (a value of 0 means "to the end of the
/// frame"); bytes after it are Ethernet padding and are dropped from segments.
///
/// Errors (nothing was passed to `out`): EINVAL for a malformed input: shorter than the
/// header plus 14 bytes, unknown gso_type, gso_size 0, a GSO frame that is not IPv4/IPv6 with
/// the transport protocol its type names, a truncated IP/TCP/UDP/extension header, an IP
/// length beyond the frame, an IPv4 packet that is already a fragment, an IPv6 packet with a
/// fragment header, NEEDS_CSUM with the checksum field beyond the packet, a UFO gso_size not
/// a multiple of 8 (or too small to hold the UDP header in the first fragment); ENOBUFS if
/// `scratch` cannot hold one output frame (kGsoScratch always can).
Result<std::size_t> segment(std::span<const std::uint8_t> vnet_and_frame, const GuestOffloads& g,
                            std::span<std::uint8_t> scratch, FrameSink out);

}  // namespace subnic::io
