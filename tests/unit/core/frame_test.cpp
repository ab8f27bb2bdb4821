// Frame parsing and MAC text forms.
#include <gtest/gtest.h>

#include <vector>

#include "core/frame.hpp"
#include "core/mac.hpp"

using subnic::core::FrameView;
using subnic::core::Mac;

TEST(Mac, ParsesAndPrintsAsIpDoes) {
  const auto m = Mac::parse("02:AB:c:0:10:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:ab:0c:00:10:ff");
  EXPECT_FALSE(Mac::parse("02:ab:0c:00:10"));
  EXPECT_FALSE(Mac::parse("02:ab:0c:00:10:ff:11"));
  EXPECT_FALSE(Mac::parse("02:ab:0c:00:10:fff"));
  EXPECT_FALSE(Mac::parse("02:ab:0c:00:10:fg"));
  EXPECT_FALSE(Mac::parse(""));
}

TEST(Mac, Classes) {
  EXPECT_TRUE(Mac::broadcast().is_broadcast());
  EXPECT_TRUE(Mac::parse("01:00:5e:00:00:01")->is_multicast());
  EXPECT_FALSE(Mac::parse("00:00:00:00:00:00")->is_valid_unicast());
  EXPECT_FALSE(Mac::parse("01:00:5e:00:00:01")->is_valid_unicast());
  const Mac r = subnic::core::mac_from_random(0xffffffffffffull);
  EXPECT_TRUE(r.is_valid_unicast());
  EXPECT_TRUE(r.is_local_admin());
}

TEST(Frame, RuntsAndTruncatedTagsAreMalformed) {
  std::vector<std::uint8_t> f(13, 0);
  EXPECT_FALSE(FrameView{f}.parse());
  f.assign(14, 0);
  EXPECT_TRUE(FrameView{f}.parse());
  f[12] = 0x81;
  f[13] = 0x00;
  EXPECT_FALSE(FrameView{f}.parse());  // announces a tag it does not carry
  f.resize(18);
  f[14] = 0x20;
  f[15] = 0x0a;  // PCP 1, VID 10
  f[16] = 0x08;
  f[17] = 0x00;
  const auto h = FrameView{f}.parse();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->vlan_id, 10);
  EXPECT_EQ(h->inner_ethertype, 0x0800);
  EXPECT_EQ(h->payload_offset, 18u);
}
