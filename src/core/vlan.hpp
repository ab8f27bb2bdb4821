// 802.1Q / 802.1ad VLAN sub-devices of one lower: configuration rules, receive classification
// and tag push/pop, as values (issue 4's foundation; the daemon does not use it yet).
//
// Source: torvalds/linux net/8021q/vlan_netlink.c (vlan_validate, vlan_newlink), vlan.c
// (vlan_check_real_dev, register_vlan_dev), vlan_core.c (vlan_do_receive), vlan_dev.c
// (vlan_dev_hard_start_xmit, vlan_dev_open); net/core/dev.c (__netif_receive_skb_core);
// IEEE 802.1Q-2018 §9.6 (tag format: TPID, then PCP 3 bits, DEI 1 bit, VID 12 bits);
// /work/shared/docs/semantics.md §4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"
#include "core/mac.hpp"

namespace subnic::core {

/// The tag protocol (TPID), as `ip link add ... type vlan protocol 802.1Q|802.1ad` names it.
enum class VlanProto : std::uint16_t { k8021Q = kEthPVlan, k8021AD = kEthPQinQ };

/// "802.1Q" or "802.1ad", as `ip -d link show` prints it.
std::string_view to_string(VlanProto p);
/// Parses "802.1Q" / "802.1ad" (case as `ip` accepts them: exact, or lower-case "802.1q").
std::optional<VlanProto> parse_vlan_proto(std::string_view s);

inline constexpr std::uint16_t kVlanMaxVid = 4094;  // VLAN_N_VID - 2: 4095 is reserved

/// VLAN flags (enum vlan_flags, include/uapi/linux/if_vlan.h).
inline constexpr std::uint32_t kVlanFlagReorderHdr = 0x1;
inline constexpr std::uint32_t kVlanFlagGvrp = 0x2;
inline constexpr std::uint32_t kVlanFlagLooseBinding = 0x4;
inline constexpr std::uint32_t kVlanFlagMvrp = 0x8;
inline constexpr std::uint32_t kVlanFlagBridgeBinding = 0x10;

/// One VLAN device on the lower.
struct VlanDevice {
  std::uint64_t id = 0;  // the daemon's stable id
  VlanProto proto = VlanProto::k8021Q;
  std::uint16_t vid = 0;
  std::uint32_t flags = kVlanFlagReorderHdr;  // vlan_newlink's default: reorder_hdr on
  std::uint32_t mtu = 1500;
  Mac mac;
  bool up = false;
};

/// How a frame received on the lower is classified (vlan_do_receive and its caller).
enum class VlanRx : std::uint8_t {
  kLower,      // untagged, or a priority tag (VID 0) with no VID-0 device: stays on the lower
  kVlan,       // for the UP VLAN device `index`: pop the tag, receive it there
  kDownDrop,   // the matching VLAN device is down: dropped
  kOtherHost,  // tagged for a VID nobody has: continues on the lower marked "other host"
  kMalformed,  // announces a tag but is too short for it
};

struct VlanRxResult {
  VlanRx kind = VlanRx::kLower;
  std::uint32_t index = 0;  // with kVlan / kDownDrop: the device
};

/// The VLAN devices of one lower.
class VlanTable {
 public:
  /// Validates and adds a device (vlan_validate, vlan_check_real_dev, vlan_newlink).
  /// `mtu` nullopt = the lower's MTU; `mac` nullopt = the lower's MAC. Errors: ERANGE vid
  /// above 4094; EINVAL flags outside the five known bits, or mtu above the lower's MTU or
  /// below 68; EEXIST the same (protocol, vid) exists ("VLAN device already exists"); the
  /// same vid with the other protocol is allowed. Returns the new index.
  Result<std::uint32_t> add(std::uint64_t id, VlanProto proto, std::uint16_t vid,
                            std::uint32_t flags, std::optional<std::uint32_t> mtu,
                            std::optional<Mac> mac, std::uint32_t lower_mtu, const Mac& lower_mac);
  /// Removes device `index`; later indices shift down.
  void remove(std::uint32_t index);
  /// Brings a device up (vlan_dev_open): ENETDOWN while the lower is down, unless
  /// loose_binding.
  Status open(std::uint32_t index, bool lower_up);
  void stop(std::uint32_t index);
  /// The lower went admin down or up (vlan_device_event NETDEV_DOWN/NETDEV_UP): every device
  /// without loose_binding follows it. Returns the indices whose admin state changed.
  std::vector<std::uint32_t> lower_admin(bool up);
  /// The lower's MTU changed: a device above it is lowered to it (NETDEV_CHANGEMTU).
  void lower_mtu(std::uint32_t mtu);

  /// The device's MTU or MAC changed (the caller checked the MTU against the lower's).
  void set_mtu(std::uint32_t index, std::uint32_t mtu) { devices_[index].mtu = mtu; }
  void set_mac(std::uint32_t index, const Mac& mac) { devices_[index].mac = mac; }

  /// Classifies a frame received on the lower (__netif_receive_skb_core -> vlan_do_receive).
  VlanRxResult classify(FrameView frame) const;

  const std::vector<VlanDevice>& devices() const { return devices_; }
  std::optional<std::uint32_t> find(VlanProto proto, std::uint16_t vid) const;

 private:
  std::vector<VlanDevice> devices_;
};

/// Inserts a tag after the two MACs of the frame at `frame` (`len` bytes), in place: the 12
/// MAC bytes move 4 bytes towards the front, into headroom the caller guarantees (at least
/// kVlanTagLen bytes before `frame`). `tci` = PCP << 13 | DEI << 12 | VID. Returns the start of
/// the tagged frame (frame - 4); its length is len + 4. Precondition: len >= 12.
std::uint8_t* push_vlan_tag(std::uint8_t* frame, std::size_t len, VlanProto proto,
                            std::uint16_t tci);

/// Removes the outer tag of a tagged frame in place: the 12 MAC bytes move 4 bytes towards the
/// end. Returns the start of the untagged frame (frame + 4; its length is len - 4), or nullptr
/// if the frame is not tagged with an 802.1Q/802.1ad TPID or is shorter than 18 bytes.
std::uint8_t* pop_vlan_tag(std::uint8_t* frame, std::size_t len);

}  // namespace subnic::core
