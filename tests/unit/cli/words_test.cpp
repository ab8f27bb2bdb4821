// ip's lexical rules: prefix matching, numbers, link-layer addresses, names; and the shared kernel
// name check.
#include <gtest/gtest.h>

#include <climits>

#include "cli/options.hpp"
#include "cli/words.hpp"
#include "ctl/validate.hpp"

namespace subnic::cli {
namespace {

TEST(Matches, NonEmptyPrefix) {
  EXPECT_TRUE(matches("l", "link"));
  EXPECT_TRUE(matches("link", "link"));
  EXPECT_FALSE(matches("links", "link"));
  EXPECT_FALSE(matches("", "link"));
  EXPECT_FALSE(matches("lx", "link"));
}

TEST(Numbers, GetIntegerBase0) {
  EXPECT_EQ(get_integer("1500"), 1500);
  EXPECT_EQ(get_integer("0x5dc"), 1500);
  EXPECT_EQ(get_integer("02000"), 1024);
  EXPECT_EQ(get_integer("-5"), -5);
  EXPECT_EQ(get_integer(" 7"), 7);  // strtol skips leading white space
  EXPECT_EQ(get_integer("2147483647"), INT_MAX);
  EXPECT_FALSE(get_integer("2147483648"));
  EXPECT_FALSE(get_integer("abc"));
  EXPECT_FALSE(get_integer("12abc"));
  EXPECT_FALSE(get_integer(""));
  EXPECT_FALSE(get_integer("08"));  // not octal
}

TEST(Numbers, U32AndS32) {
  EXPECT_EQ(get_u32("4294967295"), 4294967295u);
  EXPECT_EQ(get_u32("0x10"), 16u);
  EXPECT_EQ(get_u32("-0"), 0u);
  EXPECT_FALSE(get_u32("-1"));
  EXPECT_FALSE(get_u32("4294967296"));
  EXPECT_EQ(get_s32("-1"), -1);
  EXPECT_EQ(get_s32("-2147483648"), INT32_MIN);
  EXPECT_FALSE(get_s32("2147483648"));
}

TEST(LlAddr, AsSscanfHex) {
  using V = std::vector<std::uint8_t>;
  EXPECT_EQ(*ll_addr_a2n("36:c0:9a:7f:bb:ae"), (V{0x36, 0xc0, 0x9a, 0x7f, 0xbb, 0xae}));
  EXPECT_EQ(*ll_addr_a2n("0x1:2:A:b:0XFF:0"), (V{1, 2, 10, 11, 255, 0}));
  EXPECT_EQ(*ll_addr_a2n("1fzz:2"), (V{0x1f, 2}));  // sscanf stops at the junk
  EXPECT_EQ(ll_addr_a2n("00:11:22:33:44")->size(), 5u);
  EXPECT_EQ(*ll_addr_a2n("10.0.0.1"), (V{10, 0, 0, 1}));
  EXPECT_EQ(ll_addr_a2n("zz").error().text, "\"zz\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("00:zz:22").error().text, "\"zz\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("00::22").error().text, "\"\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("100:1").error().text, "\"100\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("-1:1").error().text, "\"-1\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("1.2.3").error().text, "\"1.2.3\" is invalid lladdr.");
  EXPECT_EQ(ll_addr_a2n("zz").error().exit_status, 1);
}

TEST(IfName, IpChecks) {
  EXPECT_TRUE(ip_check_ifname("mv1"));
  EXPECT_TRUE(ip_check_ifname("012345678901234"));
  EXPECT_FALSE(ip_check_ifname("0123456789012345"));
  EXPECT_FALSE(ip_check_ifname(""));
  EXPECT_FALSE(ip_check_ifname("a/b"));
  EXPECT_FALSE(ip_check_ifname("a b"));
  EXPECT_TRUE(ip_check_ifname("."));  // ip leaves these to the kernel
  EXPECT_TRUE(ip_check_ifname("a:b"));
  EXPECT_TRUE(ip_check_altifname("a-very-long-alternative-name"));
  EXPECT_FALSE(ip_check_altifname("a\tb"));
}

TEST(IfName, KernelDevValidName) {
  EXPECT_TRUE(ctl::valid_ifname("mv1"));
  EXPECT_TRUE(ctl::valid_ifname("012345678901234"));
  EXPECT_FALSE(ctl::valid_ifname("0123456789012345"));
  EXPECT_FALSE(ctl::valid_ifname(""));
  EXPECT_FALSE(ctl::valid_ifname("."));
  EXPECT_FALSE(ctl::valid_ifname(".."));
  EXPECT_TRUE(ctl::valid_ifname("..."));
  EXPECT_FALSE(ctl::valid_ifname("a/b"));
  EXPECT_FALSE(ctl::valid_ifname("a:b"));
  EXPECT_FALSE(ctl::valid_ifname("a b"));
  EXPECT_FALSE(ctl::valid_ifname("a\nb"));
  EXPECT_FALSE(
      ctl::valid_ifname("a\xa0"
                        "b"));
  EXPECT_FALSE(ctl::valid_ifname(std::string_view{"a\0b", 3}));
  EXPECT_TRUE(ctl::valid_ifname("eth0.100"));
}

TEST(StockErrors, IpWordingAndStatus) {
  EXPECT_EQ(invarg("Invalid \"mtu\" value", "x").value().text,
            "Error: argument \"x\" is wrong: Invalid \"mtu\" value");
  EXPECT_EQ(invarg("m", "x").value().exit_status, 255);
  EXPECT_EQ(duparg("mtu", "2").value().text,
            "Error: duplicate \"mtu\": \"2\" is the second value.");
  EXPECT_EQ(duparg2("dev", "x").value().text,
            "Error: either \"dev\" is duplicate, or \"x\" is a garbage.");
  EXPECT_EQ(incomplete_command().value().text, "Command line is not complete. Try option \"help\"");
  EXPECT_EQ(on_off("promisc", "x").value().exit_status, 1);
}

std::pair<GlobalOptions, std::size_t> options(std::vector<std::string> args) {
  GlobalOptions o;
  auto r = parse_global_options(args, o);
  EXPECT_TRUE(r) << (r ? "" : r.error().text);
  return {o, r ? *r : 0};
}

TEST(GlobalOptionsTest, IpSpellings) {
  auto [o, at] = options({"-n", "c1", "-j", "-s", "-d", "-p", "link", "show"});
  EXPECT_EQ(at, 6u);
  EXPECT_EQ(o.netns, "c1");
  EXPECT_TRUE(o.json && o.pretty && o.details);
  EXPECT_EQ(o.stats, 1);
  auto [o2, at2] = options({"-netns", "c2", "-json", "-stats", "-statistics", "-details", "-pretty",
                            "--socket", "/tmp/x.sock", "link"});
  EXPECT_EQ(at2, 9u);
  EXPECT_EQ(o2.netns, "c2");
  EXPECT_EQ(o2.stats, 2);
  EXPECT_EQ(o2.socket_path, "/tmp/x.sock");
}

TEST(GlobalOptionsTest, ValueAfterEqualsOnlyForSocket) {
  GlobalOptions o;
  const std::vector<std::string> args = {"--netns=c3"};
  EXPECT_EQ(parse_global_options(args, o).error().text,
            "Option \"--netns=c3\" is unknown, try \"subnic -help\".");
  auto [o2, at] = options({"--socket=/s", "-h", "-iec", "-color=never", "-4", "link"});
  EXPECT_EQ(at, 5u);
  EXPECT_EQ(o2.socket_path, "/s");
  EXPECT_TRUE(o2.human);  // ip: -h is -human, -he is -help
  EXPECT_TRUE(o2.iec);
}

TEST(GlobalOptionsTest, StopsAtObjectOrDoubleDash) {
  EXPECT_EQ(options({"link", "-j"}).second, 0u);
  EXPECT_EQ(options({"-j", "--", "-x"}).second, 2u);
  EXPECT_EQ(options({}).second, 0u);
}

TEST(GlobalOptionsTest, VersionAndErrors) {
  auto [o, at] = options({"-V", "-bogus"});
  EXPECT_TRUE(o.version);
  EXPECT_EQ(at, 1u);
  GlobalOptions g;
  std::vector<std::string> a = {"-bogus"};
  EXPECT_EQ(parse_global_options(a, g).error().text,
            "Option \"-bogus\" is unknown, try \"subnic -help\".");
  EXPECT_EQ(parse_global_options(a, g).error().exit_status, 255);
  a = {"-n"};
  EXPECT_EQ(parse_global_options(a, g).error().text,
            "Command line is not complete. Try option \"help\"");
  a = {"-he"};
  EXPECT_EQ(parse_global_options(a, g).error().text.rfind("Usage: subnic", 0), 0u);
  a = {"-o"};
  EXPECT_EQ(parse_global_options(a, g).error().text,
            "Error: subnic: option \"-o\" is not supported yet");
}

}  // namespace
}  // namespace subnic::cli
