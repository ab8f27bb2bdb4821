// Test frames for the integration tests: a local-experimental EtherType and a marker to tell ours
// from stack noise.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/frame.hpp"
#include "core/mac.hpp"
#include "io/vnet.hpp"

namespace subnic::test {

/// IEEE 802 local experimental EtherType 1: no stack in the lab reacts to it.
inline constexpr std::uint16_t kTestEthertype = 0x88b5;

/// vnet header (plain) + Ethernet frame to `dst` from `src`, optionally with an
/// 802.1Q tag, carrying `marker` and padded to 60 bytes of frame.
inline std::vector<std::uint8_t> test_frame(core::Mac dst, core::Mac src, const std::string& marker,
                                            std::optional<std::uint16_t> vlan_tci = std::nullopt) {
  std::vector<std::uint8_t> f(io::kVnetHdrLen, 0);
  f.insert(f.end(), dst.bytes.begin(), dst.bytes.end());
  f.insert(f.end(), src.bytes.begin(), src.bytes.end());
  if (vlan_tci) {
    f.push_back(0x81);
    f.push_back(0x00);
    f.push_back(static_cast<std::uint8_t>(*vlan_tci >> 8));
    f.push_back(static_cast<std::uint8_t>(*vlan_tci));
  }
  f.push_back(kTestEthertype >> 8);
  f.push_back(kTestEthertype & 0xff);
  f.insert(f.end(), marker.begin(), marker.end());
  while (f.size() < io::kVnetHdrLen + 60) {
    f.push_back(0);
  }
  return f;
}

/// The marker of a received vnet+frame if it is one of ours (untagged), else "".
inline std::string marker_of(const std::uint8_t* p, std::size_t len) {
  if (len < io::kVnetHdrLen + core::kEthHeaderLen) {
    return {};
  }
  const std::uint8_t* eth = p + io::kVnetHdrLen;
  if (core::load_be16(eth + 12) != kTestEthertype) {
    return {};
  }
  const char* m = reinterpret_cast<const char*>(eth + core::kEthHeaderLen);
  const std::size_t max = len - io::kVnetHdrLen - core::kEthHeaderLen;
  return std::string{m, ::strnlen(m, max)};
}

inline const core::Mac kBroadcast = core::Mac::broadcast();
inline const core::Mac kSomeUnicast{{0x02, 0x5e, 0x10, 0x00, 0x00, 0x01}};

}  // namespace subnic::test
