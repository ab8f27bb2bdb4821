// parse_dev_mcast: the /proc/net/dev_mcast format of net/core/dev_addr_lists.c dev_mc_seq_show.
#include "sys/dev_mcast.hpp"

#include <gtest/gtest.h>

namespace subnic::sys {
namespace {

using core::Mac;

// As the kernel prints it: "%-4d %-15s %-5d %-5d %*phN\n".
constexpr std::string_view kSample =
    "1    lo              1     0     333300000001\n"
    "1    lo              1     0     01005e000001\n"
    "4    eth0            1     0     333300000001\n"
    "4    eth0            1     0     01005e000001\n"
    "4    eth0            2     1     01005E010203\n"
    "12   sntv1           1     0     3333ff000002\n";

Mac mac(std::string_view s) {
  return *Mac::parse(s);
}

TEST(ParseDevMcast, TakesOnlyTheRequestedDevice) {
  const auto got = parse_dev_mcast(kSample, 4);
  const std::vector<Mac> want{mac("33:33:00:00:00:01"), mac("01:00:5e:00:00:01"),
                              mac("01:00:5e:01:02:03")};
  EXPECT_EQ(got, want);
}

TEST(ParseDevMcast, IndexIsMatchedExactlyNotByPrefix) {
  EXPECT_EQ(parse_dev_mcast(kSample, 12), std::vector<Mac>{mac("33:33:ff:00:00:02")});
  EXPECT_TRUE(parse_dev_mcast(kSample, 2).empty());  // "12" must not match 1 or 2
}

TEST(ParseDevMcast, UnknownDeviceGivesEmpty) {
  EXPECT_TRUE(parse_dev_mcast(kSample, 99).empty());
}

TEST(ParseDevMcast, EmptyTextGivesEmpty) {
  EXPECT_TRUE(parse_dev_mcast("", 1).empty());
}

TEST(ParseDevMcast, LastLineWithoutNewline) {
  EXPECT_EQ(parse_dev_mcast("7 x 1 0 01005e7f0001", 7), std::vector<Mac>{mac("01:00:5e:7f:00:01")});
}

TEST(ParseDevMcast, SkipsMalformedLinesAndOtherAddressLengths) {
  constexpr std::string_view text =
      "3 a 1 0 01005e00000\n"                            // 11 digits
      "3 a 1 0 01005e0000zz\n"                           // not hex
      "3 a 1 0\n"                                        // too few fields
      "3 a 1 0 01005e000001 extra\n"                     // too many fields
      "x3 a 1 0 01005e000001\n"                          // bad index
      "3 ip6gre 1 0 ff020000000000000000000000000001\n"  // 16-byte address
      "3 a 1 0 01005e000002\n";
  EXPECT_EQ(parse_dev_mcast(text, 3), std::vector<Mac>{mac("01:00:5e:00:00:02")});
}

TEST(ParseDevMcastAll, EveryDeviceInFileOrderAsTheOneDeviceParserSeesIt) {
  const auto all = parse_dev_mcast_all(kSample);
  ASSERT_EQ(all.size(), 3u);
  for (const int idx : {1, 4, 12}) {
    ASSERT_TRUE(all.contains(idx)) << idx;
    EXPECT_EQ(all.at(idx), parse_dev_mcast(kSample, idx)) << idx;
  }
  EXPECT_FALSE(all.contains(2));
}

TEST(ParseDevMcastAll, SkipsMalformedLines) {
  const auto all =
      parse_dev_mcast_all("3 a 1 0 01005e0000zz\nx3 a 1 0 01005e000001\n5 b 1 0 01005e000002");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.at(5), std::vector<Mac>{mac("01:00:5e:00:00:02")});
}

TEST(ReadDevMcast, ReadsTheCurrentNamespace) {
  // No root needed: lo exists everywhere; its list may or may not be empty.
  auto r = read_dev_mcast(1);
  ASSERT_TRUE(r) << r.error().message;
  for (const auto& m : *r) {
    EXPECT_TRUE(m.is_group()) << m.to_string();
  }
}

TEST(ReadDevMcastAll, AgreesWithTheOneDeviceRead) {
  auto all = read_dev_mcast_all();
  ASSERT_TRUE(all) << all.error().message;
  auto lo = read_dev_mcast(1);
  ASSERT_TRUE(lo) << lo.error().message;
  EXPECT_EQ(all->contains(1) ? all->at(1) : std::vector<Mac>{}, *lo);
}

}  // namespace
}  // namespace subnic::sys
