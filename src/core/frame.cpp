// Ethernet header parsing with bounds checks.
#include "core/frame.hpp"

namespace subnic::core {

std::optional<EthHeader> FrameView::parse() const {
  if (bytes_.size() < kEthHeaderLen) {
    return std::nullopt;
  }
  const std::uint8_t* p = bytes_.data();
  EthHeader h;
  h.dst = Mac::from_bytes(p);
  h.src = Mac::from_bytes(p + 6);
  h.ethertype = load_be16(p + 12);
  h.inner_ethertype = h.ethertype;
  h.payload_offset = kEthHeaderLen;
  if (h.ethertype == kEthPVlan || h.ethertype == kEthPQinQ) {
    if (bytes_.size() < kEthHeaderLen + kVlanTagLen) {
      return std::nullopt;
    }
    h.vlan_id = static_cast<std::uint16_t>(load_be16(p + 14) & 0x0fff);
    h.inner_ethertype = load_be16(p + 16);
    h.payload_offset = kEthHeaderLen + kVlanTagLen;
  }
  return h;
}

}  // namespace subnic::core
