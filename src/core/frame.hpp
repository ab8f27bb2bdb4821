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

}  // namespace subnic::core
