// `ip link` grammar to PROTOCOL.md params, and every client-side error line with ip's wording and
// exit status.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/parse.hpp"
#include "cli/parse_ipvlan.hpp"
#include "parse_helpers.hpp"

namespace subnic::cli {
namespace {

using namespace test;

std::string method(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  return r ? r->method : "ERROR: " + r.error().text;
}

// --- link add ---------------------------------------------------------------

TEST(ParseAdd, MinimalHasNoInfoData) {
  EXPECT_EQ(params({"link", "add", "link", "eth0", "name", "mv1", "type", "macvlan"}),
            J(R"({"name":"mv1","link":"eth0","type":"macvlan"})"));
  EXPECT_EQ(method({"link", "add", "link", "eth0", "name", "mv1", "type", "macvlan"}), "link.add");
}

TEST(ParseAdd, WordOrderVariants) {
  const Json want = J(R"({"name":"mv1","link":"eth0","type":"macvlan"})");
  EXPECT_EQ(params({"link", "add", "link", "eth0", "name", "mv1", "type", "macvlan"}), want);
  EXPECT_EQ(params({"link", "add", "mv1", "link", "eth0", "type", "macvlan"}), want);
  EXPECT_EQ(params({"link", "add", "name", "mv1", "link", "eth0", "type", "macvlan"}), want);
  EXPECT_EQ(params({"link", "add", "dev", "mv1", "link", "eth0", "type", "macvlan"}), want);
  // The same name given both ways is one name (iplink_parse: strcmp(name, dev)).
  EXPECT_EQ(params({"link", "add", "link", "eth0", "name", "mv1", "mv1", "type", "macvlan"}), want);
  EXPECT_EQ(params({"link", "add", "dev", "mv1", "name", "mv1", "link", "eth0", "type", "macvlan"}),
            want);
}

TEST(ParseAdd, AllLinkWords) {
  EXPECT_EQ(params({"link", "add", "link", "eth0", "name", "mv1", "address", "36:C0:9A:7F:BB:AE",
                    "mtu", "1400", "txqueuelen", "500", "type", "macvlan"}),
            J(R"({"name":"mv1","link":"eth0","type":"macvlan","address":"36:c0:9a:7f:bb:ae",
                  "mtu":1400,"txqueuelen":500})"));
}

TEST(ParseAdd, NumbersAsGetInteger) {
  // get_integer(..., 0): 0x is hex, a leading 0 octal (checked: `ip link add
  // ... mtu 02000` makes mtu 1024).
  EXPECT_EQ(params({"link", "add", "mv1", "mtu", "0x5dc", "type", "macvlan"})["mtu"], 1500);
  EXPECT_EQ(params({"link", "add", "mv1", "mtu", "02000", "type", "macvlan"})["mtu"], 1024);
  EXPECT_EQ(params({"link", "add", "mv1", "qlen", "010", "type", "macvlan"})["txqueuelen"], 8);
  EXPECT_EQ(params({"link", "add", "mv1", "txqlen", "7", "type", "macvlan"})["txqueuelen"], 7);
}

TEST(ParseAdd, ShortAddressBytesAreNormalized) {
  // ll_addr_a2n() reads each byte with sscanf("%x"): "0x1" and "a" are fine.
  EXPECT_EQ(
      params({"link", "add", "mv1", "address", "0x2:a:b:c:d:e", "type", "macvlan"})["address"],
      "02:0a:0b:0c:0d:0e");
}

TEST(ParseAdd, Abbreviations) {
  const Json want =
      J(R"({"name":"mv1","link":"eth0","type":"macvlan","address":"02:00:00:00:00:01"})");
  // "l" is link (object and word), "a" add (command) and address (word).
  EXPECT_EQ(
      params({"l", "a", "l", "eth0", "name", "mv1", "a", "02:00:00:00:00:01", "ty", "macvlan"}),
      want);
  EXPECT_EQ(params({"li", "ad", "lin", "eth0", "name", "mv1", "addr", "02:00:00:00:00:01", "typ",
                    "macvlan"}),
            want);
  // "t" selects txqueuelen (checked before type in iplink_parse), "ty" type.
  EXPECT_EQ(error({"link", "add", "mv1", "t", "macvlan"}),
            (std::pair<std::string, int>{
                "Error: argument \"macvlan\" is wrong: Invalid \"txqueuelen\" value", 255}));
  EXPECT_EQ(params({"lin", "add", "mv1", "ty", "macvlan", "m", "bridge"})["info_data"],
            J(R"({"mode":"bridge"})"));
}

// --- type macvlan words ------------------------------------------------------

Json info(std::vector<std::string> words) {
  std::vector<std::string> args = {"link", "add", "link", "eth0", "name", "mv1", "type", "macvlan"};
  args.insert(args.end(), words.begin(), words.end());
  const Json p = params(args);
  return p.is_object() && p.contains("info_data") ? p["info_data"] : Json{};
}

TEST(ParseMacvlan, Modes) {
  for (const char* m : {"private", "vepa", "bridge", "passthru", "source"}) {
    EXPECT_EQ(info({"mode", m}), Json({{"mode", m}})) << m;
  }
  EXPECT_EQ(info({"mode", "bridge", "mode", "vepa"}), J(R"({"mode":"vepa"})"));  // last wins
}

TEST(ParseMacvlan, NoModeWordNoModeKey) {
  EXPECT_EQ(info({"bcqueuelen", "10"}), J(R"({"bcqueuelen":10})"));
  EXPECT_EQ(info({}), Json{});
}

TEST(ParseMacvlan, Flags) {
  EXPECT_EQ(info({"mode", "passthru", "nopromisc"}),
            J(R"({"mode":"passthru","flags":["nopromisc"]})"));
  EXPECT_EQ(info({"mode", "passthru", "flag", "nopromisc"}),
            J(R"({"mode":"passthru","flags":["nopromisc"]})"));
  EXPECT_EQ(info({"mode", "source", "nodst"}), J(R"({"mode":"source","flags":["nodst"]})"));
  EXPECT_EQ(info({"mode", "source", "flag", "nodst"}), J(R"({"mode":"source","flags":["nodst"]})"));
  EXPECT_EQ(info({"flag", "null"}), J(R"({"flags":[]})"));
  EXPECT_EQ(info({"mode", "bridge", "flag", "null"}), J(R"({"mode":"bridge","flags":[]})"));
  // Flags accumulate; "flag null" adds nothing.
  EXPECT_EQ(info({"nodst", "flag", "nopromisc", "flag", "null", "mode", "passthru"}),
            J(R"({"mode":"passthru","flags":["nopromisc","nodst"]})"));
}

TEST(ParseMacvlan, NodstIsAcceptedInEveryModeAsIp61Does) {
  // `ip link add ... type macvlan mode bridge nodst` succeeds with iproute2
  // 6.1 and the kernel keeps the flag (ip -d shows "mode bridge nodst").
  EXPECT_EQ(info({"mode", "bridge", "nodst"}), J(R"({"mode":"bridge","flags":["nodst"]})"));
}

TEST(ParseMacvlan, Macaddr) {
  EXPECT_EQ(info({"mode", "source", "macaddr", "add", "00:11:22:33:44:55"}),
            J(R"({"mode":"source","macaddr":{"op":"add","addrs":["00:11:22:33:44:55"]}})"));
  EXPECT_EQ(info({"macaddr", "del", "00:AA:22:33:44:55"}),
            J(R"({"macaddr":{"op":"del","addrs":["00:aa:22:33:44:55"]}})"));
  EXPECT_EQ(info({"macaddr", "flush"}), J(R"({"macaddr":{"op":"flush","addrs":[]}})"));
  EXPECT_EQ(info({"macaddr", "set"}), J(R"({"macaddr":{"op":"set","addrs":[]}})"));
  EXPECT_EQ(info({"macaddr", "set", "00:11:22:33:44:55", "00:11:22:33:44:66"}),
            J(R"({"macaddr":{"op":"set","addrs":["00:11:22:33:44:55","00:11:22:33:44:66"]}})"));
  // "set" stops at the first word that is not a 6-byte address.
  EXPECT_EQ(info({"macaddr", "set", "00:11:22:33:44:55", "mode", "source"}),
            J(R"({"mode":"source","macaddr":{"op":"set","addrs":["00:11:22:33:44:55"]}})"));
  EXPECT_EQ(info({"macaddr", "set", "bcqueuelen", "5"}),
            J(R"({"bcqueuelen":5,"macaddr":{"op":"set","addrs":[]}})"));
  // The last macaddr word wins, as the kernel keeps the last attribute.
  EXPECT_EQ(info({"macaddr", "flush", "macaddr", "add", "00:11:22:33:44:55"}),
            J(R"({"macaddr":{"op":"add","addrs":["00:11:22:33:44:55"]}})"));
}

TEST(ParseMacvlan, QueueWords) {
  EXPECT_EQ(info({"bcqueuelen", "4294967295"}), J(R"({"bcqueuelen":4294967295})"));
  EXPECT_EQ(info({"bcqueuelen", "0x10"}), J(R"({"bcqueuelen":16})"));
  EXPECT_EQ(info({"bclim", "-1"}), J(R"({"bclim":-1})"));
  EXPECT_EQ(info({"bclim", "017"}), J(R"({"bclim":15})"));
}

TEST(ParseMacvlan, Abbreviations) {
  // ip's order: mode, flag, macaddr, nopromisc, nodst, bcqueuelen; bclim exact.
  EXPECT_EQ(info({"m", "passthru", "n"}), J(R"({"mode":"passthru","flags":["nopromisc"]})"));
  EXPECT_EQ(info({"mod", "source", "nod"}), J(R"({"mode":"source","flags":["nodst"]})"));
  EXPECT_EQ(info({"f", "null"}), J(R"({"flags":[]})"));
  EXPECT_EQ(info({"ma", "flush"}), J(R"({"macaddr":{"op":"flush","addrs":[]}})"));
  EXPECT_EQ(info({"b", "7"}), J(R"({"bcqueuelen":7})"));
  EXPECT_EQ(error({"link", "add", "mv1", "type", "macvlan", "bcl", "1"}).first,
            "macvlan: unknown option \"bcl\"?");
}

using Err = std::pair<std::string, int>;

TEST(ParseMacvlanErrors, IpWording) {
  const std::vector<std::string> base = {"link", "add", "link", "eth0",
                                         "name", "mv1", "type", "macvlan"};
  const auto err = [&](std::vector<std::string> words) {
    std::vector<std::string> args = base;
    args.insert(args.end(), words.begin(), words.end());
    return error(args);
  };
  EXPECT_EQ(err({"mode", "bogus"}),
            Err("Error: argument of \"mode\" must be \"private\", \"vepa\", \"bridge\", "
                "\"passthru\" or \"source\", not \"bogus\"",
                1));
  EXPECT_EQ(err({"mode", "bridge", "nopromisc"}),
            Err("macvlan: nopromisc flag only valid in passthru mode", 1));
  EXPECT_EQ(err({"nopromisc"}), Err("macvlan: nopromisc flag only valid in passthru mode", 1));
  EXPECT_EQ(err({"flag", "nopromisc", "mode", "vepa"}),
            Err("macvlan: nopromisc flag only valid in passthru mode", 1));
  EXPECT_EQ(err({"flag", "bogus"}),
            Err("Error: argument of \"flag\" must be \"nopromisc\", \"nodst\" or \"null\", not "
                "\"bogus\"",
                1));
  EXPECT_EQ(err({"bogus"}), Err("macvlan: unknown option \"bogus\"?", 1));
  EXPECT_EQ(err({"bcqueuelen", "-1"}),
            Err("Error: argument of \"bcqueuelen\" must be a positive integer [0-4294967295], "
                "not \"-1\"",
                1));
  EXPECT_EQ(err({"bcqueuelen", "4294967296"}).second, 1);
  EXPECT_EQ(err({"bclim", "x"}), Err("Error: illegal value for \"bclim\": \"x\"", 1));
  EXPECT_EQ(err({"bclim", "2147483648"}),
            Err("Error: illegal value for \"bclim\": \"2147483648\"", 1));
  EXPECT_EQ(err({"macaddr", "bogus"}),
            Err("Error: argument of \"macaddr\" must be \"add\", \"del\", \"set\" or \"flush\", "
                "not \"bogus\"",
                1));
  EXPECT_EQ(err({"mode", "source", "macaddr", "add", "zz"}), Err("\"zz\" is invalid lladdr.", 1));
  EXPECT_EQ(err({"macaddr", "add", "00:11"}), Err("\"00:11\" is invalid lladdr.", 1));
  EXPECT_EQ(err({"macaddr", "del", "00:11:22:33:44:zz"}), Err("\"zz\" is invalid lladdr.", 1));
  EXPECT_EQ(err({"macaddr", "set", "00:11:22:33:44:55", "zz"}),
            Err("macvlan: unknown option \"zz\"?", 1));
  const Err incomplete{"Command line is not complete. Try option \"help\"", 255};
  EXPECT_EQ(err({"mode"}), incomplete);
  EXPECT_EQ(err({"flag"}), incomplete);
  EXPECT_EQ(err({"macaddr"}), incomplete);
  EXPECT_EQ(err({"macaddr", "add"}), incomplete);
  EXPECT_EQ(err({"bcqueuelen"}), incomplete);
  EXPECT_EQ(err({"bclim"}), incomplete);
}

TEST(ParseMacvlanErrors, HelpPrintsUsage) {
  const auto [text, status] = error({"link", "add", "mv1", "type", "macvlan", "help"});
  EXPECT_EQ(status, 1);
  EXPECT_NE(text.find("Usage: ... macvlan"), std::string::npos);
}

// --- type ipvlan (iproute2 6.1 ip/iplink_ipvlan.c; the client-side lines below were checked
// against the installed ip 6.1.0, the attributes it sends with strace) ---------------------------

constexpr const char* kIpvlanUsage =
    "Usage: ... ipvlan [ mode MODE ] [ FLAGS ]\n"
    "\n"
    "MODE: l3 | l3s | l2\n"
    "FLAGS: bridge | private | vepa\n"
    "(first values are the defaults if nothing is specified).";

Json ipvlan_params(std::vector<std::string> words) {
  std::vector<std::string> args = {"link", "add", "iv1", "link", "eth0", "type", "ipvlan"};
  args.insert(args.end(), words.begin(), words.end());
  return params(args);
}

Json ipvlan_info(std::vector<std::string> words) {
  const Json p = ipvlan_params(std::move(words));
  return p.is_object() && p.contains("info_data") ? p["info_data"] : Json{};
}

Err ipvlan_error(std::vector<std::string> words) {
  std::vector<std::string> args = {"link", "add", "iv1", "link", "eth0", "type", "ipvlan"};
  args.insert(args.end(), words.begin(), words.end());
  return error(args);
}

// T-IV-16: `type ipvlan` with no further words sends no ipvlan attributes (the kernel then puts
// the whole port in l3 and keeps its flags), on add and on set.
TEST(ParseIpvlan, T_IV_16_NoWordsSendNoInfoData) {
  EXPECT_EQ(ipvlan_params({}), J(R"({"name":"iv1","link":"eth0","type":"ipvlan"})"));
  EXPECT_EQ(method({"link", "add", "iv1", "link", "eth0", "type", "ipvlan"}), "link.add");
  EXPECT_EQ(params({"link", "set", "iv1", "type", "ipvlan"}),
            J(R"({"name":"iv1","type":"ipvlan"})"));
  EXPECT_EQ(parse_ipvlan({}).value(), Json::object());
}

// T-IV-16: any word sends the flags (bridge unless private/vepa); the mode only when given.
TEST(ParseIpvlan, T_IV_16_ModeOnlySendsBridgeFlags) {
  for (const char* m : {"l2", "l3", "l3s"}) {
    EXPECT_EQ(ipvlan_info({"mode", m}), Json({{"mode", m}, {"flags", "bridge"}})) << m;
  }
}

TEST(ParseIpvlan, T_IV_16_FlagOnlySendsNoMode) {
  EXPECT_EQ(ipvlan_info({"bridge"}), J(R"({"flags":"bridge"})"));
  EXPECT_EQ(ipvlan_info({"private"}), J(R"({"flags":"private"})"));
  EXPECT_EQ(ipvlan_info({"vepa"}), J(R"({"flags":"vepa"})"));
}

TEST(ParseIpvlan, T_IV_16_ModeAndFlag) {
  EXPECT_EQ(ipvlan_info({"mode", "l2", "private"}), J(R"({"mode":"l2","flags":"private"})"));
  EXPECT_EQ(ipvlan_info({"vepa", "mode", "l3s"}), J(R"({"mode":"l3s","flags":"vepa"})"));
  EXPECT_EQ(ipvlan_info({"bridge", "mode", "l3"}), J(R"({"mode":"l3","flags":"bridge"})"));
  // ip sends one mode attribute per word and the kernel keeps the last.
  EXPECT_EQ(ipvlan_info({"mode", "l2", "mode", "l3"}), J(R"({"mode":"l3","flags":"bridge"})"));
}

TEST(ParseIpvlan, Abbreviations) {
  // ip's order: mode, private, vepa, bridge, help; all by prefix. Mode values are exact.
  EXPECT_EQ(ipvlan_info({"m", "l2", "p"}), J(R"({"mode":"l2","flags":"private"})"));
  EXPECT_EQ(ipvlan_info({"mod", "l3s", "v"}), J(R"({"mode":"l3s","flags":"vepa"})"));
  EXPECT_EQ(ipvlan_info({"b"}), J(R"({"flags":"bridge"})"));
  EXPECT_EQ(ipvlan_info({"priv"}), J(R"({"flags":"private"})"));
  EXPECT_EQ(ipvlan_error({"mode", "L2"}).first,
            "Error: argument of \"mode\" must be either \"l2\", \"l3\" or \"l3s\"");
}

TEST(ParseIpvlan, T_IV_16_Set) {
  EXPECT_EQ(params({"link", "set", "iv1", "type", "ipvlan", "mode", "l2"}),
            J(R"({"name":"iv1","type":"ipvlan","info_data":{"mode":"l2","flags":"bridge"}})"));
  EXPECT_EQ(params({"link", "set", "dev", "iv1", "type", "ipvlan", "private"}),
            J(R"({"name":"iv1","type":"ipvlan","info_data":{"flags":"private"}})"));
  EXPECT_EQ(method({"link", "set", "iv1", "type", "ipvlan", "mode", "l3"}), "link.set");
  EXPECT_EQ(error({"link", "set", "iv1", "type", "ipvlan", "private", "vepa"}),
            Err("ipvlan: unknown option \"vepa\"?", 1));
}

// T-IV-17: only the first of bridge|private|vepa is taken; a second one is ip's unknown option.
TEST(ParseIpvlanErrors, T_IV_17_SecondFlagIsUnknownOption) {
  EXPECT_EQ(ipvlan_error({"private", "vepa"}), Err("ipvlan: unknown option \"vepa\"?", 1));
  EXPECT_EQ(ipvlan_error({"bridge", "bridge"}), Err("ipvlan: unknown option \"bridge\"?", 1));
  EXPECT_EQ(ipvlan_error({"vepa", "mode", "l2", "private"}),
            Err("ipvlan: unknown option \"private\"?", 1));
  EXPECT_EQ(ipvlan_error({"p", "v"}), Err("ipvlan: unknown option \"v\"?", 1));
}

// T-IV-17: a mode other than l2, l3, l3s.
TEST(ParseIpvlanErrors, T_IV_17_BadMode) {
  const Err bad{"Error: argument of \"mode\" must be either \"l2\", \"l3\" or \"l3s\"", 1};
  EXPECT_EQ(ipvlan_error({"mode", "l4"}), bad);
  EXPECT_EQ(ipvlan_error({"mode", "bridge"}), bad);
  EXPECT_EQ(ipvlan_error({"private", "mode", "l2s"}), bad);
}

TEST(ParseIpvlanErrors, IpWording) {
  EXPECT_EQ(ipvlan_error({"bogus"}), Err("ipvlan: unknown option \"bogus\"?", 1));
  EXPECT_EQ(ipvlan_error({"nopromisc"}), Err("ipvlan: unknown option \"nopromisc\"?", 1));
  const Err incomplete{"Command line is not complete. Try option \"help\"", 255};
  EXPECT_EQ(ipvlan_error({"mode"}), incomplete);
  EXPECT_EQ(ipvlan_error({"mode", "l2", "mode"}), incomplete);
}

TEST(ParseIpvlanErrors, HelpPrintsIpsUsage) {
  EXPECT_EQ(ipvlan_error({"help"}), Err(kIpvlanUsage, 1));
  EXPECT_EQ(ipvlan_error({"h"}), Err(kIpvlanUsage, 1));
  // After a flag word, "h" is still help (ip: `vepa h` prints the usage).
  EXPECT_EQ(ipvlan_error({"vepa", "h"}), Err(kIpvlanUsage, 1));
  // `link help ipvlan` succeeds and goes to stdout.
  auto typed = parse({"link", "help", "ipvlan"});
  ASSERT_FALSE(typed);
  EXPECT_EQ(typed.error().exit_status, 0);
  EXPECT_TRUE(typed.error().to_stdout);
  EXPECT_EQ(typed.error().text, kIpvlanUsage);
}

// --- link add errors -----------------------------------------------------------

TEST(ParseAddErrors, IpWording) {
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "mv1", "mtu", "abc", "type", "macvlan"}),
            Err("Error: argument \"abc\" is wrong: Invalid \"mtu\" value", 255));
  EXPECT_EQ(error({"link", "add", "mv1", "mtu", "1400", "mtu", "1300", "type", "macvlan"}),
            Err("Error: duplicate \"mtu\": \"1300\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "mv1", "mtu", "99999999999", "type", "macvlan"}),
            Err("Error: argument \"99999999999\" is wrong: Invalid \"mtu\" value", 255));
  EXPECT_EQ(error({"link", "add", "mv1", "txqueuelen", "x", "type", "macvlan"}),
            Err("Error: argument \"x\" is wrong: Invalid \"txqueuelen\" value", 255));
  EXPECT_EQ(error({"link", "add", "mv1", "txqueuelen", "1", "qlen", "2", "type", "macvlan"}),
            Err("Error: duplicate \"txqueuelen\": \"2\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "mv1", "foo", "bar", "type", "macvlan"}),
            Err("Error: either \"dev\" is duplicate, or \"bar\" is a garbage.", 255));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "m2", "m3", "type", "macvlan"}),
            Err("Error: either \"dev\" is duplicate, or \"m3\" is a garbage.", 255));
  EXPECT_EQ(error({"link", "add", "name", "a", "name", "b", "type", "macvlan"}),
            Err("Error: duplicate \"name\": \"b\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "name", "mv9", "dev", "mv8", "type", "macvlan"}),
            Err("both \"name\" and \"dev\" cannot be used when creating devices.", 255));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "0123456789abcdef", "type", "macvlan"}),
            Err("Error: argument \"0123456789abcdef\" is wrong: \"name\" not a valid ifname", 255));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "a/b", "type", "macvlan"}),
            Err("Error: argument \"a/b\" is wrong: \"name\" not a valid ifname", 255));
  EXPECT_EQ(error({"link", "add", "dev", "a b", "type", "macvlan"}),
            Err("Error: argument \"a b\" is wrong: \"dev\" not a valid ifname", 255));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "mv1"}),
            Err("Not enough information: \"type\" argument is required", 1));
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "mv1", "type"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(error({"link", "add", "link"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(error({"link", "add", "dev"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(
      error({"link", "add", "link", "eth0", "name", "mv1", "address", "zz", "type", "macvlan"}),
      Err("\"zz\" is invalid lladdr.", 1));
  EXPECT_EQ(error({"link", "add", "mv1", "address", "00:zz:22:33:44:55", "type", "macvlan"}),
            Err("\"zz\" is invalid lladdr.", 1));
  // ip sends a 5-byte address and the kernel answers EINVAL (exit 2).
  EXPECT_EQ(error({"link", "add", "mv1", "address", "00:11:22:33:44", "type", "macvlan"}),
            Err("RTNETLINK answers: Invalid argument", 2));
}

TEST(ParseAddErrors, SubnicOwn) {
  EXPECT_EQ(error({"link", "add", "link", "eth0", "name", "m2", "type", "bogus"}),
            Err("Error: subnic: type \"bogus\" is not supported yet", 1));
  for (const char* t : {"bond", "vxlan", "dummy"}) {
    EXPECT_EQ(error({"link", "add", "m2", "type", t}),
              Err("Error: subnic: type \"" + std::string{t} + "\" is not supported yet", 1));
  }
  // The kernel would pick a name; subnic's link.add needs one.
  EXPECT_EQ(error({"link", "add", "link", "eth0", "type", "macvlan"}),
            Err("Not enough information: \"name\" argument is required.", 255));
  EXPECT_EQ(error({"link", "add", "mv1", "up", "type", "macvlan"}),
            Err("Error: subnic: \"up\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "mv1", "promisc", "on", "type", "macvlan"}),
            Err("Error: subnic: \"promisc\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "mv1", "master", "br0", "type", "macvlan"}),
            Err("Error: subnic: \"master\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "mv1", "arp", "off", "type", "macvlan"}),
            Err("Error: subnic: \"arp\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "mv1", "numtx", "2", "type", "macvlan"}),
            Err("Error: subnic: \"numtx\" is not supported yet", 1));
}

TEST(ParseAddErrors, HelpWordIsIpsUsage) {
  // In iplink_parse() any prefix of "help" in the device-name position is help.
  for (const char* h : {"h", "he", "help"}) {
    const auto [text, status] = error({"link", "add", h, "type", "macvlan"});
    EXPECT_EQ(status, 255);
    EXPECT_EQ(text.rfind("Usage: subnic link add", 0), 0u) << text;
  }
  // After "dev" it is a name.
  EXPECT_EQ(params({"link", "add", "dev", "help", "type", "macvlan"})["name"], "help");
}

// --- link set ------------------------------------------------------------------

TEST(ParseSet, EveryWord) {
  EXPECT_EQ(params({"link", "set", "dev", "mv1", "up", "address", "02:00:00:00:00:09", "mtu",
                    "1400", "name", "mv2", "netns", "c1", "promisc", "on", "allmulticast", "off"}),
            J(R"({"name":"mv1","up":true,"address":"02:00:00:00:00:09","mtu":1400,
                  "newname":"mv2","to_netns":"c1","promisc":true,"allmulticast":false})"));
  EXPECT_EQ(method({"link", "set", "mv1", "down"}), "link.set");
  EXPECT_EQ(params({"link", "set", "mv1", "down"}), J(R"({"name":"mv1","up":false})"));
  EXPECT_EQ(params({"link", "set", "mv1", "up", "down"}), J(R"({"name":"mv1","up":false})"));
}

// subnic's words of issue 7: spoofchk on add and set (an upper), maxmacs on set (a lower).
TEST(ParseSet, SpoofchkAndMaxmacs) {
  EXPECT_EQ(params({"link", "set", "mv1", "spoofchk", "on"}),
            J(R"({"name":"mv1","spoofchk":true})"));
  EXPECT_EQ(params({"link", "set", "eth0", "maxmacs", "0x10"}),
            J(R"({"name":"eth0","maxmacs":16})"));
  EXPECT_EQ(params({"link", "set", "eth0", "maxmacs", "0"}), J(R"({"name":"eth0","maxmacs":0})"));
  EXPECT_EQ(params({"link", "add", "mv1", "link", "eth0", "spoofchk", "off", "type", "macvlan"}),
            J(R"({"name":"mv1","link":"eth0","type":"macvlan","spoofchk":false})"));
  auto e = error({"link", "set", "mv1", "spoofchk", "maybe"});
  EXPECT_NE(e.first.find("spoofchk"), std::string::npos) << e.first;
  EXPECT_NE(e.second, 0);
  e = error({"link", "set", "eth0", "maxmacs", "-1"});
  EXPECT_NE(e.first.find("maxmacs"), std::string::npos) << e.first;
  e = error({"link", "set", "eth0", "maxmacs", "4", "maxmacs", "5"});
  EXPECT_NE(e.first.find("duplicate"), std::string::npos) << e.first;
  e = error({"link", "set", "eth0", "maxmacs"});
  EXPECT_NE(e.second, 0);
  // maxmacs belongs to a lower, which `link add` does not create.
  e = error({"link", "add", "mv1", "link", "eth0", "maxmacs", "4", "type", "macvlan"});
  EXPECT_NE(e.second, 0);
}

TEST(ParseSet, NameRules) {
  // Renaming to the same name is no rename (iplink_parse: "Not renaming to the same name").
  EXPECT_EQ(params({"link", "set", "mv1", "name", "mv1"}), J(R"({"name":"mv1"})"));
  // "name X" alone names the device itself.
  EXPECT_EQ(params({"link", "set", "name", "mv1", "up"}), J(R"({"name":"mv1","up":true})"));
  EXPECT_EQ(params({"link", "set", "name", "mv2", "dev", "mv1"}),
            J(R"({"name":"mv1","newname":"mv2"})"));
  EXPECT_EQ(error({"link", "set", "dev", "m2", "dev", "mv1"}),
            Err("Error: either \"dev\" is duplicate, or \"mv1\" is a garbage.", 255));
  EXPECT_EQ(error({"link", "set", "m2", "name", "a/b"}),
            Err("Error: argument \"a/b\" is wrong: \"name\" not a valid ifname", 255));
}

TEST(ParseSet, TypeMacvlanWords) {
  EXPECT_EQ(params({"link", "set", "mv1", "type", "macvlan", "mode", "private"}),
            J(R"({"name":"mv1","type":"macvlan","info_data":{"mode":"private"}})"));
  EXPECT_EQ(params({"link", "set", "mv1", "type", "macvlan"}),
            J(R"({"name":"mv1","type":"macvlan"})"));
  EXPECT_EQ(params({"link", "set", "mv1", "type", "macvlan", "mode", "source", "macaddr", "set"}),
            J(R"({"name":"mv1","type":"macvlan",
                  "info_data":{"mode":"source","macaddr":{"op":"set","addrs":[]}}})"));
  EXPECT_EQ(params({"link", "set", "mv1", "type", "macvlan", "bcqueuelen", "5", "bclim", "-1"}),
            J(R"({"name":"mv1","type":"macvlan","info_data":{"bcqueuelen":5,"bclim":-1}})"));
  EXPECT_EQ(error({"link", "set", "m2", "type", "macvlan", "mode", "vepa", "nopromisc"}),
            Err("macvlan: nopromisc flag only valid in passthru mode", 1));
  EXPECT_EQ(error({"link", "set", "m2", "type", "macvlan", "mode"}),
            Err("Command line is not complete. Try option \"help\"", 255));
}

TEST(ParseSet, Abbreviations) {
  EXPECT_EQ(params({"l", "s", "mv1", "up"}), J(R"({"name":"mv1","up":true})"));
  EXPECT_EQ(params({"link", "change", "mv1", "up"}), J(R"({"name":"mv1","up":true})"));
  EXPECT_EQ(params({"link", "c", "mv1", "a", "02:00:00:00:00:01"}),
            J(R"({"name":"mv1","address":"02:00:00:00:00:01"})"));
  // "link" on set is parsed and ignored, as ip does.
  EXPECT_EQ(params({"link", "set", "mv1", "link", "eth0", "up"}), J(R"({"name":"mv1","up":true})"));
}

TEST(ParseSetErrors, IpWording) {
  EXPECT_EQ(error({"link", "set", "up"}),
            Err("Not enough information: \"dev\" argument is required.", 255));
  EXPECT_EQ(error({"link", "set"}),
            Err("Not enough information: \"dev\" argument is required.", 255));
  EXPECT_EQ(error({"link", "set", "m2", "mtu", "x"}),
            Err("Error: argument \"x\" is wrong: Invalid \"mtu\" value", 255));
  EXPECT_EQ(error({"link", "set", "m2", "promisc", "maybe"}),
            Err("Error: argument of \"promisc\" must be \"on\" or \"off\", not \"maybe\"", 1));
  EXPECT_EQ(error({"link", "set", "m2", "allmulticast", "maybe"}),
            Err("Error: argument of \"allmulticast\" must be \"on\" or \"off\", not \"maybe\"", 1));
  EXPECT_EQ(error({"link", "set", "m2", "netns", "a", "netns", "b"}),
            Err("Error: duplicate \"netns\": \"b\" is the second value.", 255));
  EXPECT_EQ(error({"link", "set", "m2", "address", "00:11:22:33:44"}),
            Err("Invalid address length 5 - must be 6 bytes", 1));
  EXPECT_EQ(error({"link", "set", "m2", "promisc"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(error({"link", "set", "m2", "type", "bond", "mode", "1"}),
            Err("Error: subnic: type \"bond\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "set", "m2", "txqueuelen", "5"}),
            Err("Error: subnic: \"txqueuelen\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "set", "m2", "mode", "dormant"}),
            Err("Error: subnic: \"mode\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "set", "m2", "vrf", "red"}),
            Err("Error: subnic: \"vrf\" is not supported yet", 1));
}

// --- link delete -----------------------------------------------------------------

TEST(ParseDel, Forms) {
  const Json want = J(R"({"name":"mv1"})");
  EXPECT_EQ(params({"link", "del", "mv1"}), want);
  EXPECT_EQ(params({"link", "delete", "dev", "mv1"}), want);
  EXPECT_EQ(params({"link", "d", "mv1"}), want);
  EXPECT_EQ(params({"l", "de", "dev", "mv1", "type", "macvlan"}), want);
  EXPECT_EQ(method({"link", "del", "mv1"}), "link.del");
}

TEST(ParseDelErrors, IpWording) {
  EXPECT_EQ(error({"link", "del"}),
            Err("Not enough information: \"dev\" argument is required.", 255));
  EXPECT_EQ(error({"link", "del", "m2", "extra"}),
            Err("Error: either \"dev\" is duplicate, or \"extra\" is a garbage.", 255));
  EXPECT_EQ(error({"link", "del", "dev"}),
            Err("Command line is not complete. Try option \"help\"", 255));
}

// --- link show -------------------------------------------------------------------

TEST(ParseShow, Forms) {
  const Json all = J(R"({"stats":false,"details":false})");
  EXPECT_EQ(params({"link"}), all);
  EXPECT_EQ(params({"link", "show"}), all);
  EXPECT_EQ(params({"l"}), all);
  const Json one = J(R"({"name":"mv1","stats":false,"details":false})");
  for (const char* verb : {"show", "list", "ls", "lst", "sh", "l", "li"}) {
    EXPECT_EQ(params({"link", verb, "mv1"}), one) << verb;
    EXPECT_EQ(params({"link", verb, "dev", "mv1"}), one) << verb;
  }
  EXPECT_EQ(method({"link", "ls"}), "link.show");
}

TEST(ParseShow, OptionsAndFilters) {
  GlobalOptions o;
  o.stats = 1;
  o.details = true;
  o.netns = "c1";
  EXPECT_EQ(params({"link", "show", "mv1"}, o),
            J(R"({"name":"mv1","stats":true,"details":true,"netns":"c1"})"));
  auto up = parse({"link", "show", "up"});
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->filter.up_only);
  // `type` filters on linkinfo, so details are asked for and stripped again.
  auto typed = parse({"link", "show", "type", "macvlan"});
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->filter.kind, "macvlan");
  EXPECT_TRUE(typed->filter.strip_details);
  EXPECT_EQ(typed->params, J(R"({"stats":false,"details":true})"));
}

TEST(ParseShowErrors, IpWording) {
  EXPECT_EQ(error({"link", "show", "mv1", "extra"}),
            Err("Error: either \"dev\" is duplicate, or \"extra\" is a garbage.", 255));
  EXPECT_EQ(error({"link", "show", "dev"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(error({"link", "show", "type"}),
            Err("Command line is not complete. Try option \"help\"", 255));
  EXPECT_EQ(error({"link", "show", "master", "br0"}),
            Err("Error: subnic: \"master\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "show", "help"}).second, 255);
}

// --- netns, objects, commands, help ------------------------------------------------

TEST(ParseGlobal, NetnsGoesIntoEveryRequest) {
  GlobalOptions o;
  o.netns = "c1";
  EXPECT_EQ(params({"link", "add", "mv1", "link", "eth0", "type", "macvlan"}, o)["netns"], "c1");
  EXPECT_EQ(params({"link", "set", "mv1", "up"}, o)["netns"], "c1");
  EXPECT_EQ(params({"link", "del", "mv1"}, o), J(R"({"name":"mv1","netns":"c1"})"));
  EXPECT_EQ(params({"link", "show"}, o)["netns"], "c1");
  EXPECT_FALSE(params({"link", "del", "mv1"}).contains("netns"));
}

TEST(ParseGlobal, ObjectsAndCommands) {
  EXPECT_EQ(error({"bogus"}), Err("Object \"bogus\" is unknown, try \"subnic help\".", 1));
  EXPECT_EQ(error({"address", "show"}),
            Err("Error: subnic: object \"address\" is not supported yet", 1));
  EXPECT_EQ(error({"r"}), Err("Error: subnic: object \"r\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "bogus"}),
            Err("Command \"bogus\" is unknown, try \"subnic link help\".", 255));
  EXPECT_EQ(error({"link", "addr"}),
            Err("Command \"addr\" is unknown, try \"subnic link help\".", 255));
  EXPECT_EQ(error({"link", "replace", "mv1"}),
            Err("Error: subnic: \"replace\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "xstats"}), Err("Error: subnic: \"xstats\" is not supported yet", 1));
}

TEST(ParseGlobal, Help) {
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"help"}, {"h"}}) {
    const auto [text, status] = error(args);
    EXPECT_EQ(status, 255);
    EXPECT_EQ(text.rfind("Usage: subnic [ OPTIONS ] OBJECT", 0), 0u) << text;
  }
  const auto [text, status] = error({"link", "help"});
  EXPECT_EQ(status, 255);
  EXPECT_EQ(text.rfind("Usage: subnic link add", 0), 0u);
  // ip lists its kinds alphabetically.
  EXPECT_NE(
      text.find(
          "TYPE := { bridge | bridge_slave | ipvlan | ipvtap | macvlan | macvtap | veth | vlan }"),
      std::string::npos);
  // `link help macvlan` succeeds and goes to stdout (iplink.c do_help()).
  auto typed = parse({"link", "help", "macvlan"});
  ASSERT_FALSE(typed);
  EXPECT_EQ(typed.error().exit_status, 0);
  EXPECT_TRUE(typed.error().to_stdout);
  EXPECT_EQ(typed.error().text.rfind("Usage: ... macvlan", 0), 0u);
  EXPECT_EQ(error({"link", "help", "bond"}).second, 255);
}

}  // namespace
}  // namespace subnic::cli
