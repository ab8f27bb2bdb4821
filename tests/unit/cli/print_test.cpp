// Text output against `ip` 6.1 output captured on a kernel macvlan (namespace sntcli<pid>: veth
// eth0/peer0, macvlans mv1 bridge, mvs source nodst, mvp passthru nopromisc, mvx moved to another
// namespace), and the -j layouts.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "cli/ip_json.hpp"
#include "cli/print.hpp"
#include "print_helpers.hpp"

namespace subnic::cli {
namespace {

using ctl::Json;

using test::cut_ip_only_tail;

PrintOptions popts(bool details, int stats, bool human = false, bool iec = false) {
  PrintOptions o;
  o.details = details;
  o.stats = stats;
  o.human = human;
  o.iec = iec;
  return o;
}

ShowFilter sfilter(bool up_only, std::optional<std::string> kind, bool strip) {
  ShowFilter f;
  f.up_only = up_only;
  f.kind = std::move(kind);
  f.strip_details = strip;
  return f;
}

// mv1 as subnicd describes it (PROTOCOL.md keys; ip -j values of the kernel device).
Json mv1() {
  return Json::parse(R"({
    "ifindex": 4, "ifname": "mv1", "link": "eth0",
    "flags": ["BROADCAST","MULTICAST","UP","LOWER_UP"], "mtu": 1500, "operstate": "UP",
    "txqlen": 1000, "link_type": "ether", "address": "96:99:ed:6e:22:86",
    "broadcast": "ff:ff:ff:ff:ff:ff", "netns": "", "link_netns": "",
    "promiscuity": 0, "allmulti": 0, "min_mtu": 68, "max_mtu": 65535,
    "linkinfo": {"info_kind": "macvlan",
                 "info_data": {"mode": "bridge", "bcqueuelen": 1000, "usedbcqueuelen": 1000}},
    "stats64": {"rx": {"bytes": 11348938810, "packets": 7510005, "errors": 0, "dropped": 0,
                       "over_errors": 0, "multicast": 4},
                "tx": {"bytes": 11348947612, "packets": 7510168, "errors": 0, "dropped": 0,
                       "carrier_errors": 0, "collisions": 0}}
  })");
}

constexpr const char* kIpPlain =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff
)";

constexpr const char* kIpDetails =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 
    macvlan mode bridge bcqueuelen 1000 usedbcqueuelen 1000 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 
)";

constexpr const char* kIpStats =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff
    RX:   bytes packets errors dropped  missed   mcast           
    11348938810 7510005      0       0       0       4 
    TX:   bytes packets errors dropped carrier collsns           
    11348947612 7510168      0       0       0       0 
)";

constexpr const char* kIpDetailsStats =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 
    macvlan mode bridge bcqueuelen 1000 usedbcqueuelen 1000 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 
    RX:   bytes packets errors dropped  missed   mcast           
    11348938810 7510005      0       0       0       4 
    TX:   bytes packets errors dropped carrier collsns           
    11348947612 7510168      0       0       0       0 
)";

constexpr const char* kIpStatsHuman =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff
    RX:  bytes packets errors dropped  missed   mcast           
         11.3G   7.51M      0       0       0       4 
    TX:  bytes packets errors dropped carrier collsns           
         11.3G   7.51M      0       0       0       0 
)";

constexpr const char* kIpStatsHumanIec =
    R"(4: mv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:99:ed:6e:22:86 brd ff:ff:ff:ff:ff:ff
    RX:  bytes packets errors dropped  missed   mcast           
        10.6Gi  7.16Mi      0       0       0       4 
    TX:  bytes packets errors dropped carrier collsns           
        10.6Gi  7.16Mi      0       0       0       0 
)";

TEST(PrintLink, PlainAsIp) {
  EXPECT_EQ(format_link(mv1(), {}), kIpPlain);
}

TEST(PrintLink, DetailsAsIp) {
  EXPECT_EQ(format_link(mv1(), popts(true, 0)), cut_ip_only_tail(kIpDetails));
}

TEST(PrintLink, StatsAsIpWithWidenedColumns) {
  EXPECT_EQ(format_link(mv1(), popts(false, 1)), kIpStats);
  EXPECT_EQ(format_link(mv1(), popts(false, 2)), kIpStats);
}

TEST(PrintLink, DetailsAndStatsAsIp) {
  EXPECT_EQ(format_link(mv1(), popts(true, 1)), cut_ip_only_tail(kIpDetailsStats));
}

TEST(PrintLink, HumanReadableStatsAsIp) {
  EXPECT_EQ(format_link(mv1(), popts(false, 1, true)), kIpStatsHuman);
  EXPECT_EQ(format_link(mv1(), popts(false, 1, true, true)), kIpStatsHumanIec);
}

TEST(PrintLink, SmallCountersKeepIpsMinimumWidths) {
  Json l = mv1();
  l["stats64"]["rx"] = {{"bytes", 0},   {"packets", 0},     {"errors", 0},
                        {"dropped", 0}, {"over_errors", 0}, {"multicast", 0}};
  l["stats64"]["tx"] = {{"bytes", 656}, {"packets", 8},        {"errors", 0},
                        {"dropped", 0}, {"carrier_errors", 0}, {"collisions", 0}};
  // Captured before any traffic but 8 packets sent.
  EXPECT_EQ(format_link(l, popts(false, 1)),
            std::string{kIpPlain} +
                "    RX:  bytes packets errors dropped  missed   mcast           \n"
                "             0       0      0       0       0       0 \n"
                "    TX:  bytes packets errors dropped carrier collsns           \n"
                "           656       8      0       0       0       0 \n");
}

TEST(PrintLink, SourceModeWithRemotesAndNodst) {
  const Json mvs = Json::parse(R"({
    "ifindex": 8, "ifname": "mvs", "link": "eth0",
    "flags": ["BROADCAST","MULTICAST","UP","LOWER_UP"], "mtu": 1500, "operstate": "UP",
    "txqlen": 1000, "link_type": "ether", "address": "be:5a:3c:50:72:5f",
    "broadcast": "ff:ff:ff:ff:ff:ff", "netns": "", "link_netns": "",
    "promiscuity": 0, "allmulti": 0, "min_mtu": 68, "max_mtu": 65535,
    "linkinfo": {"info_kind": "macvlan",
                 "info_data": {"mode": "source", "flags": ["nodst"], "bcqueuelen": 1000,
                               "usedbcqueuelen": 1000, "macaddr_count": 2,
                               "macaddr_data": ["00:11:22:33:44:55", "00:11:22:33:44:66"]}}
  })");
  const std::string ip =
      R"(8: mvs@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether be:5a:3c:50:72:5f brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 
    macvlan mode source nodst bcqueuelen 1000 usedbcqueuelen 1000 remotes (2) 00:11:22:33:44:55 00:11:22:33:44:66 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 
)";
  EXPECT_EQ(format_link(mvs, popts(true, 0)), cut_ip_only_tail(ip));
}

TEST(PrintLink, PassthruNopromiscDownAndIpsOwnFlagKeys) {
  // ip -j's own shape ("nopromisc": true) prints the same as subnic's "flags".
  for (const char* info : {R"({"mode":"passthru","flags":["nopromisc"],"bcqueuelen":1000,
                               "usedbcqueuelen":1000})",
                           R"({"mode":"passthru","nopromisc":true,"bcqueuelen":1000,
                               "usedbcqueuelen":1000})"}) {
    Json mvp = Json::parse(R"({
      "ifindex": 7, "ifname": "mvp", "link": "eth1", "flags": ["BROADCAST","MULTICAST","M-DOWN"],
      "mtu": 1500, "operstate": "DOWN", "txqlen": 1000, "link_type": "ether",
      "address": "ce:5d:a5:80:fb:d4", "broadcast": "ff:ff:ff:ff:ff:ff",
      "promiscuity": 0, "allmulti": 0, "min_mtu": 68, "max_mtu": 65535,
      "linkinfo": {"info_kind": "macvlan"}})");
    mvp["linkinfo"]["info_data"] = Json::parse(info);
    const std::string ip =
        R"(7: mvp@eth1: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether ce:5d:a5:80:fb:d4 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 
    macvlan mode passthru nopromisc bcqueuelen 1000 usedbcqueuelen 1000 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 
)";
    EXPECT_EQ(format_link(mvp, popts(true, 0)), cut_ip_only_tail(ip));
  }
}

TEST(PrintLink, LowerInAnotherNamespace) {
  // ip -j of the kernel device: no "link" name, only "link_index".
  const Json mvx = Json::parse(R"({
    "ifindex": 9, "link_index": 3, "ifname": "mvx", "flags": ["BROADCAST","MULTICAST"],
    "mtu": 1500, "operstate": "DOWN", "txqlen": 1000, "link_type": "ether",
    "address": "c6:32:78:64:a3:fb", "broadcast": "ff:ff:ff:ff:ff:ff",
    "netns": "sntcli3026b", "link_netns": "sntcli3026",
    "promiscuity": 0, "allmulti": 0, "min_mtu": 68, "max_mtu": 65535,
    "linkinfo": {"info_kind": "macvlan",
                 "info_data": {"mode": "vepa", "bcqueuelen": 1000, "usedbcqueuelen": 1000}}})");
  const std::string ip =
      R"(9: mvx@if3: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether c6:32:78:64:a3:fb brd ff:ff:ff:ff:ff:ff link-netns sntcli3026 promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 
    macvlan mode vepa bcqueuelen 1000 usedbcqueuelen 1000 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 
)";
  // subnic's own line follows ip's record.
  EXPECT_EQ(format_link(mvx, popts(true, 0)), cut_ip_only_tail(ip) + "    netns sntcli3026b\n");
  // Without -d: ip's two lines, link-netns included.
  EXPECT_EQ(format_link(mvx, {}),
            "9: mvx@if3: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group "
            "default qlen 1000\n"
            "    link/ether c6:32:78:64:a3:fb brd ff:ff:ff:ff:ff:ff link-netns sntcli3026\n");
  // subnicd names the lower: "@eth0"; the same namespace on both sides: no hint.
  Json same = mvx;
  same["link"] = "eth0";
  same["link_netns"] = "sntcli3026b";
  EXPECT_EQ(format_link(same, {}).substr(0, 14), "9: mvx@eth0: <");
  EXPECT_EQ(format_link(same, {}).find("link-netns"), std::string::npos);
}

TEST(PrintLink, SubnicExtensions) {
  Json l = mv1();
  l["netns"] = "c1";
  l["linkinfo"]["info_data"]["bclim"] = -1;
  l["subnic"] = {{"deviations", {"lower host stack sees frames for uppers"}}};
  l["drops"] = {{"no_upper", 3}, {"queue_full", 0}, {"bad_frame", 1}};
  const std::string out = format_link(l, popts(true, 1));
  EXPECT_NE(out.find("usedbcqueuelen 1000 bclim -1 \n"), std::string::npos) << out;
  EXPECT_NE(out.find("       0 \n    netns c1\n    deviation: lower host stack sees frames for "
                     "uppers\n    drops: bad_frame 1 no_upper 3\n"),
            std::string::npos)
      << out;
  // Without -d the netns line is not printed, without -s no drops line.
  EXPECT_EQ(format_link(l, {}), kIpPlain);
}

// An ipvlan upper as subnicd describes it. The build kernel has no ipvlan, so the `    ipvlan`
// lines below are what the installed ip 6.1.0 printed for RTM_NEWLINK messages carrying these
// IFLA_IPVLAN_MODE/IFLA_IPVLAN_FLAGS values, fed to `ip -d monitor file`; ip -j's info_data keys
// are iplink_ipvlan.c ipvlan_print_opt()'s: print_string "mode" and print_bool "bridge",
// "private" or "vepa" (true).
Json iv1() {
  return Json::parse(R"({
    "ifindex": 5, "ifname": "iv1", "link": "eth0",
    "flags": ["BROADCAST","MULTICAST","UP","LOWER_UP"], "mtu": 1500, "operstate": "UP",
    "link_type": "ether", "address": "52:54:00:01:02:03",
    "broadcast": "ff:ff:ff:ff:ff:ff", "netns": "", "link_netns": "",
    "promiscuity": 0, "allmulti": 0, "min_mtu": 68, "max_mtu": 65535,
    "linkinfo": {"info_kind": "ipvlan", "info_data": {"mode": "l2", "bridge": true}}
  })");
}

constexpr const char* kIv1Head =
    "5: iv1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT "
    "group default \n"
    "    link/ether 52:54:00:01:02:03 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 "
    "maxmtu 65535 \n";

TEST(PrintIpvlan, ModeAndFlagAsIp61) {
  EXPECT_EQ(format_link(iv1(), popts(true, 0)),
            std::string{kIv1Head} + "    ipvlan  mode l2 bridge \n");
  const struct {
    const char* info_data;
    const char* line;
  } cases[] = {
      {R"({"mode":"l3","private":true})", "    ipvlan  mode l3 private \n"},
      {R"({"mode":"l3s","vepa":true})", "    ipvlan  mode l3s vepa \n"},
      {R"({"mode":"l2"})", "    ipvlan  mode l2 \n"},  // no flags attribute
      {R"({"bridge":true})", "    ipvlan bridge \n"},  // no mode attribute
      {R"({"mode":"unknown","bridge":true})", "    ipvlan  mode unknown bridge \n"},
      {R"({})", "    ipvlan \n"},
      // The key present with null (print_null's JSON) reads the same.
      {R"({"mode":"l2","vepa":null})", "    ipvlan  mode l2 vepa \n"},
      // PROTOCOL.md's request shape.
      {R"({"mode":"l2","flags":"private"})", "    ipvlan  mode l2 private \n"},
  };
  for (const auto& c : cases) {
    Json l = iv1();
    l["linkinfo"]["info_data"] = Json::parse(c.info_data);
    EXPECT_EQ(format_link(l, popts(true, 0)), std::string{kIv1Head} + c.line) << c.info_data;
  }
  Json no_data = iv1();
  no_data["linkinfo"].erase("info_data");
  EXPECT_EQ(format_link(no_data, popts(true, 0)), std::string{kIv1Head} + "    ipvlan \n");
}

TEST(PrintLink, SubnicSpoofchkAndMaxmacsLines) {
  Json l = iv1();
  l["subnic"] = Json::parse(R"({"spoofchk":true,"lower_macs":2,"lower_maxmacs":4})");
  EXPECT_EQ(format_link(l, popts(true, 0)), std::string{kIv1Head} +
                                                "    ipvlan  mode l2 bridge \n"
                                                "    subnic spoofchk on\n"
                                                "    subnic lower eth0 macs 2 maxmacs 4\n");
  l["subnic"] = Json::parse(R"({"spoofchk":false})");
  EXPECT_EQ(format_link(l, popts(true, 0)),
            std::string{kIv1Head} + "    ipvlan  mode l2 bridge \n    subnic spoofchk off\n");
}

TEST(PrintIpvlan, SubnicAddressLines) {
  Json l = iv1();
  l["subnic"] = Json::parse(R"({"deviations":["lower host stack sees frames for uppers"],
      "addresses":["10.0.0.1","fd00::1"],"address_conflicts":["10.0.0.9"],
      "address_conflicts_seen":2})");
  EXPECT_EQ(format_link(l, popts(true, 0)),
            std::string{kIv1Head} +
                "    ipvlan  mode l2 bridge \n"
                "    deviation: lower host stack sees frames for uppers\n"
                "    subnic addresses 10.0.0.1 fd00::1\n"
                "    subnic address conflicts 10.0.0.9 (seen 2 times)\n");
  // Empty lists print no line; without -d nothing of subnic's.
  l["subnic"] = Json::parse(
      R"({"deviations":[],"addresses":[],"address_conflicts":[],"address_conflicts_seen":4})");
  EXPECT_EQ(format_link(l, popts(true, 0)),
            std::string{kIv1Head} + "    ipvlan  mode l2 bridge \n");
  l["subnic"]["addresses"] = {"10.0.0.1"};
  EXPECT_EQ(format_link(l, popts(true, 0)),
            std::string{kIv1Head} + "    ipvlan  mode l2 bridge \n    subnic addresses 10.0.0.1\n");
  EXPECT_EQ(format_link(l, {}).find("subnic"), std::string::npos);
}

TEST(PrintIpvlan, JsonPassesInfoDataAndSubnicThrough) {
  Json l = iv1();
  l["subnic"] = Json::parse(R"({"deviations":[],"addresses":["10.0.0.1","fd00::1"],
      "address_conflicts":["10.0.0.9"],"address_conflicts_seen":2})");
  const std::string out = format_ip_json(filter_links(Json::array({l}), {}), false);
  EXPECT_NE(
      out.find(R"("linkinfo":{"info_data":{"bridge":true,"mode":"l2"},"info_kind":"ipvlan"})"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("subnic":{"address_conflicts":["10.0.0.9"],"address_conflicts_seen":2,)"
                     R"("addresses":["10.0.0.1","fd00::1"],"deviations":[]})"),
            std::string::npos)
      << out;
  EXPECT_EQ(Json::parse(out), Json::array({l}));
  // `link show type ipvlan` without -d: selected by kind, details stripped.
  const Json typed = filter_links(Json::array({l, mv1()}), sfilter(false, "ipvlan", true));
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0]["ifname"], "iv1");
  EXPECT_FALSE(typed[0].contains("linkinfo"));
  EXPECT_FALSE(typed[0].contains("subnic"));
}

TEST(PrintLink, DefaultsForKeysSubnicDoesNotSend) {
  Json l = mv1();
  l.erase("txqlen");
  l["flags"] = {"BROADCAST", "MULTICAST"};
  l["operstate"] = "DOWN";
  EXPECT_EQ(format_link(l, {}).substr(0, format_link(l, {}).find('\n')),
            "4: mv1@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT "
            "group default ");
}

TEST(PrintCounter, AsIpPrintNum) {
  EXPECT_EQ(format_counter(0, 7, false, false), "      0 ");
  EXPECT_EQ(format_counter(999, 3, true, false), "999 ");
  EXPECT_EQ(format_counter(1000, 6, true, false), " 1.00k ");
  EXPECT_EQ(format_counter(123456, 6, true, false), "  123k ");
  EXPECT_EQ(format_counter(1024, 6, true, true), "1.00ki ");  // ip: prefix "kMGTPE" + "i"
}

TEST(FilterLinks, UpTypeAndStrip) {
  Json down = mv1();
  down["ifname"] = "mv2";
  down["flags"] = {"BROADCAST", "MULTICAST"};
  const Json links = {mv1(), down};
  EXPECT_EQ(filter_links(links, {}).size(), 2u);
  EXPECT_EQ(filter_links(links, sfilter(true, std::nullopt, false)).size(), 1u);
  EXPECT_EQ(filter_links(links, sfilter(false, "ipvlan", false)).size(), 0u);
  const Json kept = filter_links(links, sfilter(false, "macvlan", true));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FALSE(kept[0].contains("linkinfo"));
  EXPECT_FALSE(kept[0].contains("promiscuity"));
  EXPECT_TRUE(kept[0].contains("stats64"));
}

TEST(IpJson, Compact) {
  EXPECT_EQ(format_ip_json(Json::parse(R"([{"a":1,"b":["x","y"]}])"), false),
            "[{\"a\":1,\"b\":[\"x\",\"y\"]}]\n");
  EXPECT_EQ(format_ip_json(Json::array(), false), "[]\n");
}

TEST(IpJson, PrettyAsIpJsonWriter) {
  // Layout of `ip -j -p link show` (lib/json_writer.c); keys here already in
  // ip's order where sorted order agrees.
  const Json v = Json::parse(R"([{"address":"96:99:ed:6e:22:86",
      "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
      "linkinfo":{"info_data":{"macaddr_data":["00:11:22:33:44:55","00:11:22:33:44:66"],
                               "mode":"source"},"info_kind":"macvlan"},
      "mtu":1500}])");
  EXPECT_EQ(format_ip_json(v, true),
            "[ {\n"
            "        \"address\": \"96:99:ed:6e:22:86\",\n"
            "        \"flags\": [ \"BROADCAST\",\"MULTICAST\",\"UP\",\"LOWER_UP\" ],\n"
            "        \"linkinfo\": {\n"
            "            \"info_data\": {\n"
            "                \"macaddr_data\": [ \"00:11:22:33:44:55\",\"00:11:22:33:44:66\" ],\n"
            "                \"mode\": \"source\"\n"
            "            },\n"
            "            \"info_kind\": \"macvlan\"\n"
            "        },\n"
            "        \"mtu\": 1500\n"
            "    } ]\n");
  // `ip -j -p link show type bogus` printed "[ {},{},{} ]".
  EXPECT_EQ(format_ip_json(Json::parse("[{},{},{}]"), true), "[ {},{},{} ]\n");
  EXPECT_EQ(format_ip_json(Json::array(), true), "[ ]\n");
}

}  // namespace
}  // namespace subnic::cli
