// The virtio-net header that prefixes every frame on our TAPs (IFF_VNET_HDR) and packet sockets
// (PACKET_VNET_HDR).
//
// Layout: struct virtio_net_hdr in <linux/virtio_net.h> (flags, gso_type,
// hdr_len, gso_size, csum_start, csum_offset), restated here because that
// header is not valid C++ (a member named `class`). Both ends use the host's byte
// order (legacy virtio: tun's vnet_le off, af_packet's vio_le() =
// virtio_legacy_is_little_endian()), so a header read from one can be
// written to the other unchanged. Kernel: include/linux/virtio_net.h
// (virtio_net_hdr_to_skb / virtio_net_hdr_from_skb).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace subnic::io {

/// Bytes of struct virtio_net_hdr (without num_buffers): what TUNSETVNETHDRSZ
/// and PACKET_VNET_HDR put before every frame.
inline constexpr std::size_t kVnetHdrLen = 10;

/// struct virtio_net_hdr. Multi-byte fields are in host byte order.
struct VnetHdr {
  std::uint8_t flags = 0;         // kVnetF*
  std::uint8_t gso_type = 0;      // kVnetGso*, possibly | kVnetGsoEcn
  std::uint16_t hdr_len = 0;      // bytes of Ethernet + IP + TCP/UDP headers (GSO)
  std::uint16_t gso_size = 0;     // payload bytes per segment (GSO)
  std::uint16_t csum_start = 0;   // offset where checksumming starts (kVnetFNeedsCsum)
  std::uint16_t csum_offset = 0;  // offset of the checksum field after csum_start
};
static_assert(sizeof(VnetHdr) == kVnetHdrLen);

inline constexpr std::uint8_t kVnetFNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t kVnetFDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID (receive only)
inline constexpr std::uint8_t kVnetGsoNone = 0;     // VIRTIO_NET_HDR_GSO_NONE
inline constexpr std::uint8_t kVnetGsoTcpv4 = 1;    // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr std::uint8_t kVnetGsoUdp = 3;      // VIRTIO_NET_HDR_GSO_UDP (UFO)
inline constexpr std::uint8_t kVnetGsoTcpv6 = 4;    // VIRTIO_NET_HDR_GSO_TCPV6
inline constexpr std::uint8_t kVnetGsoUdpL4 = 5;    // VIRTIO_NET_HDR_GSO_UDP_L4 (USO)
inline constexpr std::uint8_t kVnetGsoEcn = 0x80;   // VIRTIO_NET_HDR_GSO_ECN

/// Bytes of buffer for one frame as read from a TAP or packet socket,
/// vnet header included: a 64 KiB GSO super-frame (the default
/// gso_max_size/gro_max_size) plus the vnet, Ethernet and VLAN headers.
/// A device configured for BIG TCP (gso_max_size above 64 KiB) would
/// produce larger frames; the readers drop those as truncated.
inline constexpr std::size_t kMaxFrame = 65536 + 64;

/// A virtio-net header as bytes, ready to go in front of a frame.
using VnetHdrBytes = std::array<std::uint8_t, kVnetHdrLen>;

/// The header of a plain frame: no GSO (VIRTIO_NET_HDR_GSO_NONE), checksum
/// already complete (no VIRTIO_NET_HDR_F_NEEDS_CSUM): all zero.
constexpr VnetHdrBytes plain_vnet_hdr() {
  return VnetHdrBytes{};
}

}  // namespace subnic::io
