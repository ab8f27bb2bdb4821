// VlanTable and tag push/pop against semantics.md §4 (net/8021q).
#include <gtest/gtest.h>

#include <vector>

#include "core/vlan.hpp"

namespace subnic::core {
namespace {

const Mac kLowerMac{{0x02, 0, 0, 0, 0, 0xfe}};

// An untagged 60-byte frame dst -> src with EtherType IPv4 and a payload marker.
std::vector<std::uint8_t> untagged(const Mac& dst, const Mac& src) {
  std::vector<std::uint8_t> f(60, 0);
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 6);
  f[12] = 0x08;
  f[20] = 0xab;
  return f;
}

std::vector<std::uint8_t> tagged(VlanProto proto, std::uint16_t tci) {
  auto f = untagged(Mac::broadcast(), kLowerMac);
  std::vector<std::uint8_t> buf(kVlanTagLen);
  buf.insert(buf.end(), f.begin(), f.end());
  std::uint8_t* start = push_vlan_tag(buf.data() + kVlanTagLen, f.size(), proto, tci);
  return std::vector<std::uint8_t>(start, start + f.size() + kVlanTagLen);
}

VlanTable table_with(std::initializer_list<std::pair<VlanProto, std::uint16_t>> vids) {
  VlanTable t;
  std::uint64_t id = 1;
  for (const auto& [p, v] : vids) {
    EXPECT_TRUE(
        t.add(id++, p, v, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500, kLowerMac));
  }
  return t;
}

TEST(Vlan, PushThenPopRestoresTheFrame) {
  const auto f = untagged(Mac::broadcast(), kLowerMac);
  std::vector<std::uint8_t> buf(kVlanTagLen);
  buf.insert(buf.end(), f.begin(), f.end());
  std::uint8_t* t =
      push_vlan_tag(buf.data() + kVlanTagLen, f.size(), VlanProto::k8021Q, (5 << 13) | 10);
  EXPECT_EQ(t, buf.data());
  EXPECT_EQ(load_be16(t + 12), 0x8100);
  EXPECT_EQ(load_be16(t + 14), (5 << 13) | 10);  // PCP 5, DEI 0, VID 10 (802.1Q §9.6)
  EXPECT_EQ(load_be16(t + 16), 0x0800);          // the original EtherType follows the tag
  const auto eth = FrameView{t, f.size() + kVlanTagLen}.parse();
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->vlan_id, 10);
  EXPECT_EQ(eth->inner_ethertype, 0x0800);
  std::uint8_t* u = pop_vlan_tag(t, f.size() + kVlanTagLen);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(std::vector<std::uint8_t>(u, u + f.size()), f);
}

TEST(Vlan, PopRefusesUntaggedAndShortFrames) {
  auto f = untagged(Mac::broadcast(), kLowerMac);
  EXPECT_EQ(pop_vlan_tag(f.data(), f.size()), nullptr);
  auto t = tagged(VlanProto::k8021AD, 20);
  EXPECT_EQ(load_be16(t.data() + 12), 0x88a8);
  EXPECT_EQ(pop_vlan_tag(t.data(), 17), nullptr);
  EXPECT_NE(pop_vlan_tag(t.data(), t.size()), nullptr);
}

// §4 receive table.
TEST(Vlan, ReceiveClassification) {
  auto t = table_with({{VlanProto::k8021Q, 10}, {VlanProto::k8021AD, 10}, {VlanProto::k8021Q, 20}});
  ASSERT_TRUE(t.open(0, true));
  ASSERT_TRUE(t.open(1, true));
  // tagged for an UP device: to it; the protocol is part of the match
  auto r = t.classify(FrameView{tagged(VlanProto::k8021Q, 10)});
  EXPECT_EQ(r.kind, VlanRx::kVlan);
  EXPECT_EQ(r.index, 0U);
  r = t.classify(FrameView{tagged(VlanProto::k8021AD, 10)});
  EXPECT_EQ(r.kind, VlanRx::kVlan);
  EXPECT_EQ(r.index, 1U);
  // the PCP bits do not matter
  EXPECT_EQ(t.classify(FrameView{tagged(VlanProto::k8021Q, (7 << 13) | 10)}).index, 0U);
  // matching device down: dropped
  r = t.classify(FrameView{tagged(VlanProto::k8021Q, 20)});
  EXPECT_EQ(r.kind, VlanRx::kDownDrop);
  EXPECT_EQ(r.index, 2U);
  // no device for the VID: on the lower as "other host"
  EXPECT_EQ(t.classify(FrameView{tagged(VlanProto::k8021Q, 30)}).kind, VlanRx::kOtherHost);
  // priority tag without a VID-0 device: untagged traffic of the lower
  EXPECT_EQ(t.classify(FrameView{tagged(VlanProto::k8021Q, 5 << 13)}).kind, VlanRx::kLower);
  // untagged never reaches a VLAN device
  EXPECT_EQ(t.classify(FrameView{untagged(Mac::broadcast(), kLowerMac)}).kind, VlanRx::kLower);
  // a frame that announces a tag but is cut short
  const auto full = tagged(VlanProto::k8021Q, 10);
  EXPECT_EQ(t.classify(FrameView{full.data(), 16}).kind, VlanRx::kMalformed);
}

TEST(Vlan, PriorityTagGoesToAVid0Device) {
  auto t = table_with({{VlanProto::k8021Q, 0}});
  ASSERT_TRUE(t.open(0, true));
  EXPECT_EQ(t.classify(FrameView{tagged(VlanProto::k8021Q, 3 << 13)}).kind, VlanRx::kVlan);
}

// §4 rules table.
TEST(Vlan, AddRules) {
  VlanTable t;
  auto r = t.add(1, VlanProto::k8021Q, 4095, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
                 kLowerMac);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ERANGE);
  r = t.add(1, VlanProto::k8021Q, 10, 0x20, std::nullopt, std::nullopt, 1500, kLowerMac);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  r = t.add(1, VlanProto::k8021Q, 10, kVlanFlagReorderHdr, 1501, std::nullopt, 1500, kLowerMac);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  r = t.add(1, VlanProto::k8021Q, 4094, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
            kLowerMac);
  ASSERT_TRUE(r);
  EXPECT_EQ(t.devices()[*r].mtu, 1500U);      // none -> the lower's MTU
  EXPECT_EQ(t.devices()[*r].mac, kLowerMac);  // no address -> the lower's MAC
  r = t.add(2, VlanProto::k8021Q, 4094, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
            kLowerMac);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EEXIST);
  // the same id with the other protocol is allowed
  EXPECT_TRUE(
      t.add(3, VlanProto::k8021AD, 4094, kVlanFlagReorderHdr, 1400, std::nullopt, 1500, kLowerMac));
}

TEST(Vlan, UpNeedsTheLowerUpUnlessLooseBinding) {
  VlanTable t;
  ASSERT_TRUE(t.add(1, VlanProto::k8021Q, 10, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
                    kLowerMac));
  ASSERT_TRUE(t.add(2, VlanProto::k8021Q, 11, kVlanFlagReorderHdr | kVlanFlagLooseBinding,
                    std::nullopt, std::nullopt, 1500, kLowerMac));
  auto st = t.open(0, false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ENETDOWN);
  EXPECT_TRUE(t.open(1, false));
}

// The lower going down takes its VLAN devices admin down, and up again (unlike macvlan).
TEST(Vlan, LowerAdminStateIsFollowedWithoutLooseBinding) {
  VlanTable t;
  ASSERT_TRUE(t.add(1, VlanProto::k8021Q, 10, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
                    kLowerMac));
  ASSERT_TRUE(t.add(2, VlanProto::k8021Q, 11, kVlanFlagLooseBinding, std::nullopt, std::nullopt,
                    1500, kLowerMac));
  ASSERT_TRUE(t.open(0, true));
  ASSERT_TRUE(t.open(1, true));
  EXPECT_EQ(t.lower_admin(false), std::vector<std::uint32_t>{0});
  EXPECT_FALSE(t.devices()[0].up);
  EXPECT_TRUE(t.devices()[1].up);
  EXPECT_EQ(t.lower_admin(true), std::vector<std::uint32_t>{0});
  EXPECT_TRUE(t.devices()[0].up);
}

TEST(Vlan, LowerMtuLowersDevicesAboveIt) {
  VlanTable t;
  ASSERT_TRUE(t.add(1, VlanProto::k8021Q, 10, kVlanFlagReorderHdr, std::nullopt, std::nullopt, 1500,
                    kLowerMac));
  ASSERT_TRUE(
      t.add(2, VlanProto::k8021Q, 11, kVlanFlagReorderHdr, 1200, std::nullopt, 1500, kLowerMac));
  t.lower_mtu(1300);
  EXPECT_EQ(t.devices()[0].mtu, 1300U);
  EXPECT_EQ(t.devices()[1].mtu, 1200U);
}

TEST(Vlan, ProtocolNames) {
  EXPECT_EQ(parse_vlan_proto("802.1Q"), VlanProto::k8021Q);
  EXPECT_EQ(parse_vlan_proto("802.1ad"), VlanProto::k8021AD);
  EXPECT_FALSE(parse_vlan_proto("802.1x"));
  EXPECT_EQ(to_string(VlanProto::k8021AD), "802.1ad");
}

}  // namespace
}  // namespace subnic::core
