// VLAN devices of one lower: rules, receive classification, tag push/pop (net/8021q).
#include "core/vlan.hpp"

#include <algorithm>
#include <cstring>

namespace subnic::core {

namespace {
constexpr std::uint32_t kKnownFlags = kVlanFlagReorderHdr | kVlanFlagGvrp | kVlanFlagLooseBinding |
                                      kVlanFlagMvrp | kVlanFlagBridgeBinding;
constexpr std::size_t kMacsLen = 12;  // bytes: destination and source MAC
}  // namespace

std::string_view to_string(VlanProto p) {
  return p == VlanProto::k8021AD ? "802.1ad" : "802.1Q";
}

std::optional<VlanProto> parse_vlan_proto(std::string_view s) {
  if (s == "802.1Q" || s == "802.1q") {
    return VlanProto::k8021Q;
  }
  if (s == "802.1ad" || s == "802.1AD") {
    return VlanProto::k8021AD;
  }
  return std::nullopt;
}

Result<std::uint32_t> VlanTable::add(std::uint64_t id, VlanProto proto, std::uint16_t vid,
                                     std::uint32_t flags, std::optional<std::uint32_t> mtu,
                                     std::optional<Mac> mac, std::uint32_t lower_mtu,
                                     const Mac& lower_mac) {
  // vlan_validate: the id range, the flag mask, then vlan_newlink's MTU check.
  if (vid > kVlanMaxVid) {
    return tl::unexpected{Error{ERANGE, "RTNETLINK answers: Numerical result out of range"}};
  }
  if ((flags & ~kKnownFlags) != 0) {
    return tl::unexpected{Error{EINVAL, "RTNETLINK answers: Invalid argument"}};
  }
  const std::uint32_t m = mtu.value_or(lower_mtu);
  if (m > lower_mtu || m < 68) {
    return tl::unexpected{Error{EINVAL, "RTNETLINK answers: Invalid argument"}};
  }
  if (find(proto, vid)) {
    // vlan_check_real_dev -> vlan_find_dev: "VLAN device already exists".
    return tl::unexpected{Error{EEXIST, "RTNETLINK answers: File exists"}};
  }
  VlanDevice d;
  d.id = id;
  d.proto = proto;
  d.vid = vid;
  d.flags = flags;
  d.mtu = m;
  d.mac = mac.value_or(lower_mac);
  devices_.push_back(d);
  return static_cast<std::uint32_t>(devices_.size() - 1);
}

void VlanTable::remove(std::uint32_t index) {
  if (index < devices_.size()) {
    devices_.erase(devices_.begin() + index);
  }
}

Status VlanTable::open(std::uint32_t index, bool lower_up) {
  auto& d = devices_.at(index);
  if (!lower_up && (d.flags & kVlanFlagLooseBinding) == 0) {
    return fail(ENETDOWN, "RTNETLINK answers: Network is down");
  }
  d.up = true;
  return {};
}

void VlanTable::stop(std::uint32_t index) {
  devices_.at(index).up = false;
}

std::vector<std::uint32_t> VlanTable::lower_admin(bool up) {
  std::vector<std::uint32_t> changed;
  for (std::uint32_t i = 0; i < devices_.size(); ++i) {
    auto& d = devices_[i];
    if ((d.flags & kVlanFlagLooseBinding) == 0 && d.up != up) {
      d.up = up;
      changed.push_back(i);
    }
  }
  return changed;
}

void VlanTable::lower_mtu(std::uint32_t mtu) {
  for (auto& d : devices_) {
    d.mtu = std::min(d.mtu, mtu);
  }
}

std::optional<std::uint32_t> VlanTable::find(VlanProto proto, std::uint16_t vid) const {
  for (std::uint32_t i = 0; i < devices_.size(); ++i) {
    if (devices_[i].proto == proto && devices_[i].vid == vid) {
      return i;
    }
  }
  return std::nullopt;
}

VlanRxResult VlanTable::classify(FrameView frame) const {
  const auto eth = frame.parse();
  if (!eth) {
    return {VlanRx::kMalformed, 0};
  }
  if (!eth->vlan_id) {
    return {VlanRx::kLower, 0};
  }
  const auto proto = static_cast<VlanProto>(eth->ethertype);
  const auto vid = static_cast<std::uint16_t>(*eth->vlan_id & 0x0fff);
  if (const auto i = find(proto, vid)) {
    return {devices_[*i].up ? VlanRx::kVlan : VlanRx::kDownDrop, *i};
  }
  // No device: a priority tag (VID 0) is untagged traffic of the lower; any other VID goes on
  // on the lower as "other host" (__netif_receive_skb_core after vlan_do_receive fails).
  return {vid == 0 ? VlanRx::kLower : VlanRx::kOtherHost, 0};
}

std::uint8_t* push_vlan_tag(std::uint8_t* frame, std::size_t len, VlanProto proto,
                            std::uint16_t tci) {
  (void)len;
  std::uint8_t* start = frame - kVlanTagLen;
  std::memmove(start, frame, kMacsLen);
  const auto tpid = static_cast<std::uint16_t>(proto);
  start[12] = static_cast<std::uint8_t>(tpid >> 8);
  start[13] = static_cast<std::uint8_t>(tpid);
  start[14] = static_cast<std::uint8_t>(tci >> 8);
  start[15] = static_cast<std::uint8_t>(tci);
  return start;
}

std::uint8_t* pop_vlan_tag(std::uint8_t* frame, std::size_t len) {
  if (len < kEthHeaderLen + kVlanTagLen) {
    return nullptr;
  }
  const std::uint16_t tpid = load_be16(frame + kMacsLen);
  if (tpid != kEthPVlan && tpid != kEthPQinQ) {
    return nullptr;
  }
  std::memmove(frame + kVlanTagLen, frame, kMacsLen);
  return frame + kVlanTagLen;
}

}  // namespace subnic::core
