// The whole CLI (cli::run) against FakeDaemon: requests sent, output printed, exit statuses.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/run.hpp"
#include "ctl/message.hpp"
#include "fake_daemon.hpp"

namespace subnic::cli {
namespace {

using ctl::Json;
using testing::FakeDaemon;

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

Outcome run_cli(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  const int status = run(args, out, err, std::chrono::milliseconds{2000});
  return {status, out.str(), err.str()};
}

const char* kLink = R"({"ifindex":4,"ifname":"mv1","link":"eth0",
  "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","txqlen":1000,
  "link_type":"ether","address":"36:c0:9a:7f:bb:ae","broadcast":"ff:ff:ff:ff:ff:ff",
  "netns":"","link_netns":""})";

// Answers link.show with kLink, other methods with {}, and names in `fail`
// with the given error.
FakeDaemon::Handler daemon_for(int fail_code = 0, std::string fail_message = {}) {
  return [=](const std::string& line) -> std::optional<std::string> {
    auto r = ctl::parse_request(line);
    if (fail_code != 0) {
      return ctl::reply_error(r->id, Error{fail_code, fail_message});
    }
    if (r->method == "link.show") {
      return ctl::reply_ok(r->id, Json{{"links", Json::array({Json::parse(kLink)})}});
    }
    return ctl::reply_ok(r->id, Json::object());
  };
}

TEST(RunTest, AddSendsParamsAndPrintsNothing) {
  FakeDaemon d{ctl::greeting(), daemon_for()};
  const auto o = run_cli({"--socket", d.path(), "-n", "c1", "link", "add", "link", "eth0", "name",
                          "mv1", "type", "macvlan", "mode", "bridge"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "");
  ASSERT_EQ(d.requests().size(), 1u);
  const auto req = ctl::parse_request(d.requests()[0]);
  EXPECT_EQ(req->method, "link.add");
  EXPECT_EQ(req->params, Json::parse(R"({"name":"mv1","link":"eth0","type":"macvlan",
                                         "info_data":{"mode":"bridge"},"netns":"c1"})"));
}

TEST(RunTest, IpvlanAddSendsFlagsOnlyWithWords) {
  FakeDaemon d{ctl::greeting(), daemon_for()};
  const auto bare =
      run_cli({"--socket", d.path(), "link", "add", "iv1", "link", "eth0", "type", "ipvlan"});
  EXPECT_EQ(bare.status, 0) << bare.err;
  const auto moded = run_cli(
      {"--socket", d.path(), "link", "add", "iv2", "link", "eth0", "type", "ipvlan", "mode", "l2"});
  EXPECT_EQ(moded.status, 0) << moded.err;
  ASSERT_EQ(d.requests().size(), 2u);
  EXPECT_EQ(ctl::parse_request(d.requests()[0])->params,
            Json::parse(R"({"name":"iv1","link":"eth0","type":"ipvlan"})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[1])->params,
            Json::parse(R"({"name":"iv2","link":"eth0","type":"ipvlan",
                            "info_data":{"mode":"l2","flags":"bridge"}})"));
  // A second flag word fails before connecting, with ip's line and status.
  const auto twice = run_cli({"--socket", "/nonexistent.sock", "link", "add", "iv3", "link", "eth0",
                              "type", "ipvlan", "private", "vepa"});
  EXPECT_EQ(twice.status, 1);
  EXPECT_EQ(twice.err, "ipvlan: unknown option \"vepa\"?\n");
}

TEST(RunTest, ShowPrintsTextAndJson) {
  FakeDaemon d{ctl::greeting(), daemon_for()};
  const auto text = run_cli({"--socket", d.path(), "link", "show"});
  EXPECT_EQ(text.status, 0);
  EXPECT_EQ(text.out,
            "4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode "
            "DEFAULT group default qlen 1000\n"
            "    link/ether 36:c0:9a:7f:bb:ae brd ff:ff:ff:ff:ff:ff\n");
  const auto json = run_cli({"--socket", d.path(), "-j", "link", "show", "mv1"});
  EXPECT_EQ(json.status, 0);
  EXPECT_EQ(Json::parse(json.out), Json::array({Json::parse(kLink)}));
  EXPECT_EQ(json.out.find('\n'), json.out.size() - 1);  // one line, like ip -j
  const auto filtered = run_cli({"--socket", d.path(), "-j", "link", "show", "type", "ipvlan"});
  EXPECT_EQ(filtered.out, "[]\n");
}

TEST(RunTest, DaemonErrorsPrintTheMessageAndExit2) {
  FakeDaemon d{ctl::greeting(),
               daemon_for(EADDRINUSE, "RTNETLINK answers: Address already in use")};
  const auto o = run_cli({"--socket", d.path(), "link", "set", "mv1", "up"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "RTNETLINK answers: Address already in use\n");
  EXPECT_EQ(o.out, "");
}

TEST(RunTest, MissingDeviceExits1AsIp) {
  FakeDaemon d{ctl::greeting(), daemon_for(ENODEV, "Device \"nope\" does not exist.")};
  const auto o = run_cli({"--socket", d.path(), "link", "show", "nope"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "Device \"nope\" does not exist.\n");
}

TEST(RunTest, ParseErrorsDoNotConnect) {
  const auto o = run_cli({"--socket", "/nonexistent.sock", "link", "set", "up"});
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.err, "Not enough information: \"dev\" argument is required.\n");
  const auto m = run_cli(
      {"--socket", "/nonexistent.sock", "link", "add", "mv1", "type", "macvlan", "mode", "bogus"});
  EXPECT_EQ(m.status, 1);
}

TEST(RunTest, NoDaemonExits1WithTheReason) {
  const auto o = run_cli({"--socket", "/nonexistent/subnicd.sock", "link", "show"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err,
            "cannot connect to subnicd at /nonexistent/subnicd.sock: No such file or directory "
            "(is subnicd running?)\n");
}

// Answers fdb.show with two br0 entries (bridge 6.1's capture), with used/updated when asked.
FakeDaemon::Handler fdb_daemon() {
  return [](const std::string& line) -> std::optional<std::string> {
    auto r = ctl::parse_request(line);
    if (r->method != "fdb.show") {
      return ctl::reply_ok(r->id, Json::object());
    }
    if (r->params.value("br", "") == "nope") {
      return ctl::reply_error(r->id, Error{ENODEV, "Cannot find bridge device \"nope\""});
    }
    Json e = Json::parse(R"([
        {"mac":"3e:1b:84:20:f5:9f","ifname":"eth2","master":"br0","state":"","flags":[]},
        {"mac":"d2:e2:a5:bb:78:24","ifname":"eth2","master":"br0","state":"permanent",
         "flags":[]}])");
    if (r->params.value("stats", false)) {
      for (auto& x : e) {
        x["used"] = 12;
        x["updated"] = 3;
      }
    }
    return ctl::reply_ok(r->id, Json{{"fdb", e}});
  };
}

TEST(RunTest, FdbShowTextAndJsonAsBridge) {
  FakeDaemon d{ctl::greeting(), fdb_daemon()};
  const auto text = run_cli({"--socket", d.path(), "fdb", "show", "br", "br0"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out,
            "3e:1b:84:20:f5:9f dev eth2 master br0 \n"
            "d2:e2:a5:bb:78:24 dev eth2 master br0 permanent\n");
  const auto stats = run_cli({"--socket", d.path(), "-s", "fdb", "show", "brport", "eth2"});
  EXPECT_EQ(stats.out,
            "3e:1b:84:20:f5:9f used 12/3 master br0 \n"
            "d2:e2:a5:bb:78:24 used 12/3 master br0 permanent\n");
  const auto json = run_cli({"--socket", d.path(), "-j", "-n", "c1", "fdb"});
  EXPECT_EQ(json.out,
            R"([{"mac":"3e:1b:84:20:f5:9f","ifname":"eth2","flags":[],"master":"br0","state":""},)"
            R"({"mac":"d2:e2:a5:bb:78:24","ifname":"eth2","flags":[],"master":"br0",)"
            R"("state":"permanent"}])"
            "\n");
  ASSERT_EQ(d.requests().size(), 3u);
  EXPECT_EQ(ctl::parse_request(d.requests()[0])->method, "fdb.show");
  EXPECT_EQ(ctl::parse_request(d.requests()[0])->params,
            Json::parse(R"({"br":"br0","stats":false})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[1])->params,
            Json::parse(R"({"dev":"eth2","stats":true})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[2])->params,
            Json::parse(R"({"stats":false,"netns":"c1"})"));
}

TEST(RunTest, FdbMissingBridgeExits255AsBridge) {
  FakeDaemon d{ctl::greeting(), fdb_daemon()};
  const auto o = run_cli({"--socket", d.path(), "fdb", "show", "br", "nope"});
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.err, "Cannot find bridge device \"nope\"\n");
  EXPECT_EQ(o.out, "");
}

TEST(RunTest, L2LinkRequests) {
  FakeDaemon d{ctl::greeting(), daemon_for()};
  EXPECT_EQ(run_cli({"--socket", d.path(), "link", "add", "link", "eth2", "name", "eth2.10", "type",
                     "vlan", "id", "10"})
                .status,
            0);
  EXPECT_EQ(run_cli({"--socket", d.path(), "link", "add", "veth01", "type", "veth", "peer", "name",
                     "veth10", "netns", "c2"})
                .status,
            0);
  EXPECT_EQ(run_cli({"--socket", d.path(), "link", "set", "veth01", "master", "br0"}).status, 0);
  EXPECT_EQ(run_cli({"--socket", d.path(), "link", "set", "veth01", "type", "bridge_slave",
                     "learning", "off"})
                .status,
            0);
  ASSERT_EQ(d.requests().size(), 4u);
  EXPECT_EQ(ctl::parse_request(d.requests()[0])->params,
            Json::parse(R"({"name":"eth2.10","link":"eth2","type":"vlan","info_data":{"id":10}})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[1])->params,
            Json::parse(R"({"name":"veth01","type":"veth",
                            "info_data":{"peer":{"name":"veth10","to_netns":"c2"}}})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[2])->method, "link.set");
  EXPECT_EQ(ctl::parse_request(d.requests()[2])->params,
            Json::parse(R"({"name":"veth01","master":"br0"})"));
  EXPECT_EQ(ctl::parse_request(d.requests()[3])->params,
            Json::parse(R"({"name":"veth01","type":"bridge_slave",
                            "info_slave_data":{"learning":false}})"));
}

TEST(RunTest, VethUsageGoesToStdoutWithStatus1) {
  const auto o =
      run_cli({"--socket", "/nonexistent.sock", "link", "add", "v3", "type", "veth", "bogus"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.out,
            "Usage: subnic link <options> type veth [peer <options>]\n"
            "To get <options> type 'subnic link add help'\n");
  EXPECT_EQ(o.err, "");
}

TEST(RunTest, VersionAndHelp) {
  const auto v = run_cli({"-V"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out, "subnic utility, subnic-0.1.0\n");
  const auto h = run_cli({"link", "help", "macvlan"});
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.out.rfind("Usage: ... macvlan", 0), 0u);
  const auto hi = run_cli({"link", "help", "ipvlan"});
  EXPECT_EQ(hi.status, 0);
  EXPECT_EQ(hi.out,
            "Usage: ... ipvlan [ mode MODE ] [ FLAGS ]\n\nMODE: l3 | l3s | l2\n"
            "FLAGS: bridge | private | vepa\n"
            "(first values are the defaults if nothing is specified).\n");
  const auto u = run_cli({});
  EXPECT_EQ(u.status, 255);
  EXPECT_EQ(u.err.rfind("Usage: subnic", 0), 0u);
}

}  // namespace
}  // namespace subnic::cli
