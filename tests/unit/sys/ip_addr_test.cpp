// core::IpAddr: IPv4-mapped storage, parsing and printing (inet_pton/inet_ntop), ordering.
#include "core/ip.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace subnic::core {
namespace {

TEST(IpAddr, Ipv4IsStoredIpv4Mapped) {
  const std::uint8_t raw[4] = {10, 1, 2, 3};
  const IpAddr a = IpAddr::from_v4(raw);
  const std::array<std::uint8_t, 16> mapped = {0, 0, 0,    0,    0,  0, 0, 0,
                                               0, 0, 0xff, 0xff, 10, 1, 2, 3};
  EXPECT_EQ(a.bytes, mapped);
  EXPECT_TRUE(a.v4());
  EXPECT_EQ(a.to_string(), "10.1.2.3");
}

TEST(IpAddr, Ipv6RoundTrips) {
  std::uint8_t raw[16] = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const IpAddr a = IpAddr::from_v6(raw);
  EXPECT_FALSE(a.v4());
  EXPECT_EQ(a.to_string(), "fd99::1");
  EXPECT_EQ(IpAddr::parse("fd99::1"), a);
  EXPECT_EQ(IpAddr::parse("fd99:0:0::0001"), a);  // any RFC 4291 spelling
}

TEST(IpAddr, ParsesBothFamilies) {
  const auto v4 = IpAddr::parse("192.168.0.255");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->v4());
  EXPECT_EQ(v4->to_string(), "192.168.0.255");
  const auto ll = IpAddr::parse("fe80::1ff:fe23:4567:890a");
  ASSERT_TRUE(ll);
  EXPECT_FALSE(ll->v4());
  EXPECT_EQ(ll->to_string(), "fe80::1ff:fe23:4567:890a");
  const auto any6 = IpAddr::parse("::");
  ASSERT_TRUE(any6);
  EXPECT_EQ(any6->to_string(), "::");
  // The IPv4-mapped text form is the same value as the dotted quad.
  EXPECT_EQ(IpAddr::parse("::ffff:10.0.0.1"), IpAddr::parse("10.0.0.1"));
}

TEST(IpAddr, RejectsWhatInetPtonRejects) {
  for (const char* bad :
       {"", "10.0.0", "10.0.0.256", "010.0.0.1x", "fd99:::1", "fe80::1%eth0", "10.0.0.1/24",
        " 10.0.0.1", "gggg::1", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001"}) {
    EXPECT_FALSE(IpAddr::parse(bad)) << bad;
  }
}

TEST(IpAddr, OrdersIpv4BeforeGlobalIpv6) {
  std::set<IpAddr> s;
  s.insert(*IpAddr::parse("fd00::1"));
  s.insert(*IpAddr::parse("10.0.0.2"));
  s.insert(*IpAddr::parse("10.0.0.1"));
  s.insert(*IpAddr::parse("10.0.0.1"));
  ASSERT_EQ(s.size(), 3U);
  EXPECT_EQ(s.begin()->to_string(), "10.0.0.1");
  EXPECT_EQ(s.rbegin()->to_string(), "fd00::1");
}

}  // namespace
}  // namespace subnic::core
