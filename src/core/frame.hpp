// Frame views: a non-owning look at one Ethernet frame, parsed once, every read bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/mac.hpp"

namespace subnic::core {

inline constexpr std::size_t kEthHeaderLen = 14;     // bytes: dst, src, EtherType
inline constexpr std::size_t kVlanTagLen = 4;        // bytes: TPID + TCI
inline constexpr std::uint16_t kEthPVlan = 0x8100;   // IEEE 802.1Q C-tag
inline constexpr std::uint16_t kEthPQinQ = 0x88a8;   // IEEE 802.1ad S-tag
inline constexpr std::uint16_t kEthPPause = 0x8808;  // IEEE 802.3 MAC control (PAUSE)
inline constexpr std::uint16_t kEthPIpv4 = 0x0800;
inline constexpr std::uint16_t kEthPIpv6 = 0x86dd;
inline constexpr std::uint16_t kEthPArp = 0x0806;

/// The Ethernet header of one frame, as parsed from its first bytes.
struct EthHeader {
  Mac dst;
  Mac src;
  /// EtherType (host order) of the outermost header, e.g. 0x8100 for a tagged frame.
  std::uint16_t ethertype = 0;
  /// Outer 802.1Q/802.1ad tag, if any: VID (0..4095).
  std::optional<std::uint16_t> vlan_id;
  /// EtherType after the outer tag (equal to `ethertype` for untagged frames).
  std::uint16_t inner_ethertype = 0;
  /// Offset in bytes of the payload after the Ethernet header (and outer tag).
  std::size_t payload_offset = 0;
};

/// A non-owning view of one Ethernet frame (starting at the destination MAC,
/// without any virtio-net header). Valid as long as the bytes it views.
class FrameView {
 public:
  FrameView() = default;
  explicit FrameView(std::span<const std::uint8_t> b) : bytes_{b} {}
  FrameView(const std::uint8_t* p, std::size_t n) : bytes_{p, n} {}

  std::span<const std::uint8_t> bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

  /// Parses the Ethernet header. nullopt if the frame is shorter than 14 bytes,
  /// or than 18 bytes when it announces a VLAN tag (the frame is "malformed").
  std::optional<EthHeader> parse() const;

 private:
  std::span<const std::uint8_t> bytes_;
};

/// Big-endian 16-bit read; the caller guarantees 2 readable bytes.
inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// Big-endian 32-bit read; the caller guarantees 4 readable bytes.
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

/// Big-endian writes of the low 16 / all 32 bits of `v`; the caller guarantees the room.
inline void store_be16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

/// The Internet checksum's running sum (RFC 1071): `acc` plus the big-endian 16-bit words of
/// `n` bytes at `p`, an odd last byte padded with a zero byte. 64 bits: no carry is lost for any
/// frame size.
inline std::uint64_t inet_sum(const std::uint8_t* p, std::size_t n, std::uint64_t acc = 0) {
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) {
    acc += (std::uint32_t{p[i]} << 8) | p[i + 1];
  }
  if (i < n) {
    acc += std::uint32_t{p[i]} << 8;
  }
  return acc;
}

/// Folds a running sum to 16 bits (end-around carry), not complemented.
inline std::uint16_t inet_fold(std::uint64_t acc) {
  while (acc >> 16) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<std::uint16_t>(acc);
}

}  // namespace subnic::core
