// Issue 5 grammar: `type macvtap|ipvtap` = macvlan's/ipvlan's words (iproute2 reads them with
// iplink_macvlan.c / iplink_ipvlan.c, naming the type by lu->id) plus subnic's endpoint words
// `stream PATH` and `vhost-user PATH`.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/parse_vmtap.hpp"
#include "cli/print.hpp"
#include "parse_helpers.hpp"

namespace subnic::cli {
namespace {

using namespace test;

std::vector<std::string> add(std::string type, std::vector<std::string> tail) {
  std::vector<std::string> v{"link", "add", "link", "eth0", "name", "vm0", "type", std::move(type)};
  v.insert(v.end(), tail.begin(), tail.end());
  return v;
}

TEST(ParseMacvtap, ModeAndStreamEndpoint) {
  const Json p = params(add("macvtap", {"mode", "bridge", "stream", "/run/vm0.sock"}));
  EXPECT_EQ(p["type"], "macvtap");
  EXPECT_EQ(p["info_data"]["mode"], "bridge");
  EXPECT_EQ(p["info_data"]["vm"], J(R"({"type": "stream", "path": "/run/vm0.sock"})"));
}

TEST(ParseMacvtap, EndpointFirstThenMacvlanWords) {
  const Json p = params(add("macvtap", {"vhost-user", "/tmp/x/../vu.sock", "mode", "private"}));
  EXPECT_EQ(p["info_data"]["mode"], "private");
  EXPECT_EQ(p["info_data"]["vm"], J(R"({"type": "vhost-user", "path": "/tmp/vu.sock"})"));
}

TEST(ParseMacvtap, RelativePathIsMadeAbsoluteAgainstTheCallersDirectory) {
  const Json p = params(add("macvtap", {"stream", "vm.sock"}));
  const auto want = (std::filesystem::current_path() / "vm.sock").lexically_normal().string();
  EXPECT_EQ(p["info_data"]["vm"]["path"], want);
}

TEST(ParseMacvtap, ErrorsNameTheTypeAsIpDoes) {
  EXPECT_EQ(error(add("macvtap", {"stream", "/a", "bogus"})),
            (std::pair<std::string, int>{"macvtap: unknown option \"bogus\"?", 1}));
  EXPECT_EQ(error(add("macvtap", {"stream", "/a", "nopromisc"})).first,
            "macvtap: nopromisc flag only valid in passthru mode");
  EXPECT_EQ(error(add("macvtap", {"mode", "bogus", "stream", "/a"})).first,
            "Error: argument of \"mode\" must be \"private\", \"vepa\", \"bridge\", "
            "\"passthru\" or \"source\", not \"bogus\"");
}

TEST(ParseMacvtap, EndpointWordErrors) {
  EXPECT_EQ(error(add("macvtap", {"stream"})).second, 255);
  EXPECT_EQ(error(add("macvtap", {"stream", "/a", "vhost-user", "/b"})).first,
            "Error: either \"stream\" or \"vhost-user\" is allowed, not both");
  EXPECT_EQ(error(add("macvtap", {"stream", ""})).first,
            "Error: argument of \"stream\" must be a socket path, not \"\"");
}

TEST(ParseMacvtap, HelpIsMacvlansUsageUnderItsOwnNameWithTheEndpoints) {
  const auto [text, rc] = error(add("macvtap", {"help"}));
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(text.rfind("Usage: ... macvtap [ mode MODE ]", 0), 0u) << text;
  EXPECT_NE(text.find("ENDPOINT := { stream PATH | vhost-user PATH }"), std::string::npos);
}

TEST(ParseIpvtap, ModeFlagAndEndpoint) {
  const Json p = params(add("ipvtap", {"mode", "l2", "vepa", "vhost-user", "/run/v.sock"}));
  EXPECT_EQ(p["type"], "ipvtap");
  EXPECT_EQ(p["info_data"]["mode"], "l2");
  EXPECT_EQ(p["info_data"]["flags"], "vepa");
  EXPECT_EQ(p["info_data"]["vm"]["type"], "vhost-user");
  EXPECT_EQ(error(add("ipvtap", {"stream", "/a", "mode", "l4"})).first,
            "Error: argument of \"mode\" must be either \"l2\", \"l3\" or \"l3s\"");
  EXPECT_EQ(error(add("ipvtap", {"stream", "/a", "bogus"})).first,
            "ipvtap: unknown option \"bogus\"?");
}

TEST(ParseIpvtap, EndpointAloneSendsNoIpvlanWords) {
  const Json p = params(add("ipvtap", {"stream", "/a"}));
  EXPECT_EQ(p["info_data"], J(R"({"vm": {"type": "stream", "path": "/a"}})"));
}

TEST(PrintVmtap, DriverWordsThenEndpoint) {
  std::string out;
  kMacvtapOps.print(J(R"({"mode": "bridge", "bcqueuelen": 1000, "usedbcqueuelen": 1000,
                         "vm": {"type": "vhost-user", "path": "/run/v.sock"}})"),
                    out);
  EXPECT_EQ(out, "mode bridge bcqueuelen 1000 usedbcqueuelen 1000 vhost-user /run/v.sock ");
  out.clear();
  kIpvtapOps.print(J(R"({"mode": "l2", "bridge": true, "vm": {"type": "stream", "path": "/s"}})"),
                   out);
  EXPECT_EQ(out, " mode l2 bridge stream /s ");
}

TEST(PrintVmtap, EndpointStateLineWithDetails) {
  Json l = J(R"({"ifindex": 5, "ifname": "vm1", "flags": ["UP"], "mtu": 1500, "qdisc": "noqueue",
                "operstate": "UP", "linkmode": "DEFAULT", "group": "default", "txqlen": 1000,
                "link_type": "ether", "address": "02:5e:00:00:03:01",
                "broadcast": "ff:ff:ff:ff:ff:ff",
                "subnic": {"vm": {"connected": true, "connects": 2, "malformed": 0,
                                  "overruns": 3}}})");
  PrintOptions o;
  o.details = true;
  std::string out = format_link(l, o);
  EXPECT_NE(out.find("    subnic vm connected connects 2 malformed 0 overruns 3\n"),
            std::string::npos)
      << out;
  l["subnic"]["vm"] = J(R"({"connected": false, "error": "gone"})");
  out = format_link(l, o);
  EXPECT_NE(out.find("    subnic vm not connected: gone\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace subnic::cli
