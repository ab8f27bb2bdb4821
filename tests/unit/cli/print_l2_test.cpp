// Issue 4 output: vlan, veth, bridge and bridge-port lines of `link show`, and `fdb show`, against
// ip 6.1 / bridge 6.1 output captured in a scratch namespace (br0 with veth port eth2, peer
// veth10; vlan lines from iplink_vlan.c, the build kernel has no 8021q).
#include <gtest/gtest.h>

#include <string>

#include "cli/ip_json.hpp"
#include "cli/parse_bridge.hpp"
#include "cli/print.hpp"
#include "print_helpers.hpp"

namespace subnic::cli {
namespace {

using ctl::Json;

using test::cut_ip_only_tail;

PrintOptions details() {
  PrintOptions o;
  o.details = true;
  return o;
}

// `ip -j -d link show eth2` as ip 6.1 printed it (timers as in the text capture below).
const char* kEth2Json = R"({"ifindex":4,"link":"veth10","ifname":"eth2",
  "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"br0",
  "operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether",
  "address":"d2:e2:a5:bb:78:24","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":1,"allmulti":1,
  "min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth","info_slave_kind":"bridge",
  "info_slave_data":{"state":"forwarding","priority":32,"cost":2,"hairpin":false,"guard":false,
  "root_block":false,"fastleave":false,"learning":true,"flood":true,"id":"0x8001","no":"0x1",
  "designated_port":32769,"designated_cost":0,"bridge_id":"8000.d2:e2:a5:bb:78:24",
  "root_id":"8000.d2:e2:a5:bb:78:24","hold_timer":0.00,"message_age_timer":0.00,
  "forward_delay_timer":14.47,"topology_change_ack":0,"config_pending":0,"proxy_arp":false,
  "proxy_arp_wifi":false,"multicast_router":1,"mcast_flood":true,"bcast_flood":true,
  "mcast_to_unicast":false,"neigh_suppress":false,"group_fwd_mask":"0",
  "group_fwd_mask_str":"0x0","vlan_tunnel":false,"isolated":false,"locked":false}},
  "inet6_addr_gen_mode":"eui64","num_tx_queues":2,"num_rx_queues":2})";

constexpr const char* kEth2Plain =
    "4: eth2@veth10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP "
    "mode DEFAULT group default qlen 1000\n"
    "    link/ether d2:e2:a5:bb:78:24 brd ff:ff:ff:ff:ff:ff\n";

constexpr const char* kEth2Details =
    "4: eth2@veth10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP "
    "mode DEFAULT group default qlen 1000\n"
    "    link/ether d2:e2:a5:bb:78:24 brd ff:ff:ff:ff:ff:ff promiscuity 1  allmulti 1 minmtu 68 "
    "maxmtu 65535 \n"
    "    veth \n"
    "    bridge_slave state forwarding priority 32 cost 2 hairpin off guard off root_block off "
    "fastleave off learning on flood on port_id 0x8001 port_no 0x1 designated_port 32769 "
    "designated_cost 0 designated_bridge 8000.d2:e2:a5:bb:78:24 designated_root "
    "8000.d2:e2:a5:bb:78:24 hold_timer    0.00 message_age_timer    0.00 forward_delay_timer   "
    "14.47 topology_change_ack 0 config_pending 0 proxy_arp off proxy_arp_wifi off mcast_router 1 "
    "mcast_fast_leave off mcast_flood on bcast_flood on mcast_to_unicast off neigh_suppress off "
    "group_fwd_mask 0 group_fwd_mask_str 0x0 vlan_tunnel off isolated off locked off addrgenmode "
    "eui64 numtxqueues 2 numrxqueues 2 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 "
    "tso_max_segs 65535 gro_max_size 65536 \n";

TEST(PrintBridgePort, MasterAfterQdiscAsIp) {
  EXPECT_EQ(format_link(Json::parse(kEth2Json), {}), kEth2Plain);
}

TEST(PrintBridgePort, BridgeSlaveLineAsIp61) {
  EXPECT_EQ(format_link(Json::parse(kEth2Json), details()), cut_ip_only_tail(kEth2Details));
}

TEST(PrintBridgePort, SubnicsKeysOnly) {
  // PROTOCOL.md's port: the keys of the spec, a netdev without info_kind.
  Json l = Json::parse(kEth2Json);
  l["linkinfo"] = Json::parse(R"({"info_slave_kind":"bridge","info_slave_data":{
      "state":"forwarding","priority":32,"cost":100,"hairpin":false,"learning":true,"flood":true,
      "mcast_flood":true,"bcast_flood":false,"isolated":true}})");
  const std::string out = format_link(l, details());
  EXPECT_NE(
      out.find("maxmtu 65535 \n    bridge_slave state forwarding priority 32 cost 100 "
               "hairpin off learning on flood on mcast_flood on bcast_flood off isolated on \n"),
      std::string::npos)
      << out;
  EXPECT_EQ(out.find("    veth"), std::string::npos);
  l["linkinfo"]["info_slave_data"] = Json::parse(R"({"state_index":7})");
  EXPECT_NE(format_link(l, details()).find("    bridge_slave state (7) \n"), std::string::npos);
}

// `ip -j -d link show br0` (6.1), gc_timer as in the text capture.
const char* kBr0Json = R"({"ifindex":2,"ifname":"br0",
  "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue",
  "operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether",
  "address":"d2:e2:a5:bb:78:24","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,
  "min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"bridge","info_data":{
  "forward_delay":1500,"hello_time":200,"max_age":2000,"ageing_time":30000,"stp_state":0,
  "priority":32768,"vlan_filtering":0,"bridge_id":"8000.d2:e2:a5:bb:78:24",
  "root_id":"8000.d2:e2:a5:bb:78:24","root_port":0,"root_path_cost":0,"topology_change":0,
  "topology_change_detected":0,"hello_timer":0.00,"tcn_timer":0.00,"topology_change_timer":0.00,
  "gc_timer":299.49,"group_fwd_mask":"0","group_addr":"01:80:c2:00:00:00","mcast_snooping":1,
  "no_linklocal_learn":0,"mcast_vlan_snooping":0,"mcast_router":1,"mcast_query_use_ifaddr":0,
  "mcast_querier":0,"mcast_hash_elasticity":16,"mcast_hash_max":4096,"mcast_last_member_cnt":2,
  "mcast_startup_query_cnt":2,"mcast_last_member_intvl":100,"mcast_membership_intvl":26000,
  "mcast_querier_intvl":25500,"mcast_query_intvl":12500,"mcast_query_response_intvl":1000,
  "mcast_startup_query_intvl":3124,"mcast_stats_enabled":0,"mcast_igmp_version":2,
  "mcast_mld_version":1,"nf_call_iptables":0,"nf_call_ip6tables":0,"nf_call_arptables":0}}})";

constexpr const char* kBr0Details =
    "2: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group "
    "default qlen 1000\n"
    "    link/ether d2:e2:a5:bb:78:24 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 "
    "maxmtu 65535 \n"
    "    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 0 "
    "priority 32768 vlan_filtering 0 bridge_id 8000.d2:e2:a5:bb:78:24 designated_root "
    "8000.d2:e2:a5:bb:78:24 root_port 0 root_path_cost 0 topology_change 0 "
    "topology_change_detected 0 hello_timer    0.00 tcn_timer    0.00 topology_change_timer    "
    "0.00 gc_timer  299.49 group_fwd_mask 0 group_address 01:80:c2:00:00:00 mcast_snooping 1 "
    "no_linklocal_learn 0 mcast_vlan_snooping 0 mcast_router 1 mcast_query_use_ifaddr 0 "
    "mcast_querier 0 mcast_hash_elasticity 16 mcast_hash_max 4096 mcast_last_member_count 2 "
    "mcast_startup_query_count 2 mcast_last_member_interval 100 mcast_membership_interval 26000 "
    "mcast_querier_interval 25500 mcast_query_interval 12500 mcast_query_response_interval 1000 "
    "mcast_startup_query_interval 3124 mcast_stats_enabled 0 mcast_igmp_version 2 "
    "mcast_mld_version 1 nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 addrgenmode "
    "eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 "
    "tso_max_segs 65535 gro_max_size 65536 \n";

TEST(PrintBridge, InfoDataAsIp61) {
  EXPECT_EQ(format_link(Json::parse(kBr0Json), details()), cut_ip_only_tail(kBr0Details));
}

TEST(PrintBridge, SubnicsKeysWithFdbCounters) {
  Json l = Json::parse(kBr0Json);
  l["linkinfo"]["info_data"] = Json::parse(R"({"forward_delay":1500,"hello_time":200,
      "max_age":2000,"ageing_time":30000,"stp_state":0,"priority":32768,
      "bridge_id":"8000.d2:e2:a5:bb:78:24","root_id":"8000.d2:e2:a5:bb:78:24","root_port":0,
      "root_path_cost":0,"topology_change":0,"fdb_max_learned":0,"fdb_n_learned":3})");
  const std::string out = format_link(l, details());
  // iproute2 6.7 prints fdb_n_learned, then fdb_max_learned, after the timers.
  EXPECT_NE(out.find("\n    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time "
                     "30000 stp_state 0 priority 32768 bridge_id 8000.d2:e2:a5:bb:78:24 "
                     "designated_root 8000.d2:e2:a5:bb:78:24 root_port 0 root_path_cost 0 "
                     "topology_change 0 fdb_n_learned 3 fdb_max_learned 0 \n"),
            std::string::npos)
      << out;
}

TEST(PrintBridge, TimerText) {
  EXPECT_EQ(bridge_timer_text(Json(0.0)), "   0.00");
  EXPECT_EQ(bridge_timer_text(Json(299.49)), " 299.49");
  EXPECT_EQ(bridge_timer_text(Json(14.5)), "  14.50");
  EXPECT_EQ(bridge_timer_text(Json(12345.06)), "12345.06");
}

// veth10 of the capture: `@PEER` and a bare kind line.
TEST(PrintVeth, PeerAfterAtAndKindLine) {
  const Json l = Json::parse(R"({"ifindex":3,"link":"eth2","ifname":"veth10",
      "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue",
      "operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether",
      "address":"3e:1b:84:20:f5:9f","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,
      "min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth"}})");
  EXPECT_EQ(format_link(l, {}),
            "3: veth10@eth2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "
            "mode DEFAULT group default qlen 1000\n"
            "    link/ether 3e:1b:84:20:f5:9f brd ff:ff:ff:ff:ff:ff\n");
  EXPECT_EQ(format_link(l, details()),
            cut_ip_only_tail(
                "3: veth10@eth2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "
                "mode DEFAULT group default qlen 1000\n"
                "    link/ether 3e:1b:84:20:f5:9f brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 "
                "minmtu 68 maxmtu 65535 \n"
                "    veth addrgenmode eui64 numtxqueues 2 numrxqueues 2 gso_max_size 65536 "
                "gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 \n"));
  // The peer in another namespace: ip's ` link-netns NS` after the address.
  Json moved = l;
  moved["netns"] = "c1";
  moved["link_netns"] = "c2";
  EXPECT_EQ(format_link(moved, {}).substr(format_link(moved, {}).find("    link/")),
            "    link/ether 3e:1b:84:20:f5:9f brd ff:ff:ff:ff:ff:ff link-netns c2\n");
}

Json eth2_10() {
  return Json::parse(R"({"ifindex":7,"ifname":"eth2.10","link":"eth2",
      "flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP",
      "link_type":"ether","address":"d2:e2:a5:bb:78:24","broadcast":"ff:ff:ff:ff:ff:ff",
      "promiscuity":0,"allmulti":0,"min_mtu":0,"max_mtu":65535,
      "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":10,
                  "flags":["REORDER_HDR"]}}})");
}

TEST(PrintVlan, InfoDataAsIplinkVlan) {
  EXPECT_EQ(format_link(eth2_10(), details()),
            "7: eth2.10@eth2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "
            "mode DEFAULT group default \n"
            "    link/ether d2:e2:a5:bb:78:24 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 "
            "minmtu 0 maxmtu 65535 \n"
            "    vlan protocol 802.1Q id 10 <REORDER_HDR> \n");
  const struct {
    const char* info_data;
    const char* line;
  } cases[] = {
      {R"({"protocol":"802.1ad","id":20,"flags":["REORDER_HDR","GVRP","MVRP","LOOSE_BINDING",
          "BRIDGE_BINDING"]})",
       "    vlan protocol 802.1ad id 20 <REORDER_HDR,GVRP,MVRP,LOOSE_BINDING,BRIDGE_BINDING> \n"},
      {R"({"protocol":"802.1Q","id":0,"flags":[]})", "    vlan protocol 802.1Q id 0 <> \n"},
      {R"({"protocol":"802.1Q","id":5})", "    vlan protocol 802.1Q id 5 \n"},
      // No protocol attribute: ip's own fallback text.
      {R"({"id":5,"flags":["GVRP"]})", "    vlan protocol 802.1q id 5 <GVRP> \n"},
      // No id: ip prints nothing after the kind.
      {R"({"protocol":"802.1Q"})", "    vlan \n"},
      // PROTOCOL.md's request shape, in ip's flag order.
      {R"({"id":3,"flags":{"mvrp":true,"reorder_hdr":true,"gvrp":false}})",
       "    vlan protocol 802.1q id 3 <REORDER_HDR,MVRP> \n"},
  };
  for (const auto& c : cases) {
    Json l = eth2_10();
    l["linkinfo"]["info_data"] = Json::parse(c.info_data);
    const std::string out = format_link(l, details());
    EXPECT_EQ(out.substr(out.rfind("    vlan")), c.line) << c.info_data;
  }
}

TEST(FilterLinks, SlaveKind) {
  Json vlan = eth2_10();
  const Json links = {Json::parse(kEth2Json), Json::parse(kBr0Json), vlan};
  ShowFilter f;
  f.kind = "bridge_slave";
  Json kept = filter_links(links, f);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0]["ifname"], "eth2");
  f.kind = "bridge";
  kept = filter_links(links, f);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0]["ifname"], "br0");
  f.kind = "veth";
  EXPECT_EQ(filter_links(links, f).size(), 1u);
  f.kind = "vlan";
  EXPECT_EQ(filter_links(links, f).size(), 1u);
}

// --- fdb -------------------------------------------------------------------------

// The br0 entries of the capture: one learned, one local.
Json fdb_entries(bool stats) {
  Json e = Json::parse(R"([
      {"mac":"3e:1b:84:20:f5:9f","ifname":"eth2","master":"br0","state":"","flags":[]},
      {"mac":"d2:e2:a5:bb:78:24","ifname":"eth2","master":"br0","state":"permanent","flags":[]}])");
  if (stats) {
    for (auto& x : e) {
      x["used"] = 0;
      x["updated"] = 0;
    }
  }
  return e;
}

std::string fdb_text(const Json& entries, bool stats, bool port) {
  std::string out;
  for (const auto& e : entries) {
    out += format_fdb_entry(e, FdbPrintOptions{stats, port});
  }
  return out;
}

TEST(PrintFdb, TextAsBridge61) {
  EXPECT_EQ(fdb_text(fdb_entries(false), false, false),
            "3e:1b:84:20:f5:9f dev eth2 master br0 \n"
            "d2:e2:a5:bb:78:24 dev eth2 master br0 permanent\n");
  // -s: used/updated in seconds after dev.
  EXPECT_EQ(fdb_text(fdb_entries(true), true, false),
            "3e:1b:84:20:f5:9f dev eth2 used 0/0 master br0 \n"
            "d2:e2:a5:bb:78:24 dev eth2 used 0/0 master br0 permanent\n");
  // brport/dev filter: no "dev X".
  EXPECT_EQ(fdb_text(fdb_entries(false), false, true),
            "3e:1b:84:20:f5:9f master br0 \n"
            "d2:e2:a5:bb:78:24 master br0 permanent\n");
  // The stats keys without -s print nothing; an entry with no "flags" key prints the same.
  Json bare = fdb_entries(true);
  bare[0].erase("flags");
  EXPECT_EQ(fdb_text(bare, false, false), fdb_text(fdb_entries(false), false, false));
  // A bridge's own entry (ip: `dev br1 master br1 permanent`) and self-style flags.
  EXPECT_EQ(format_fdb_entry(Json::parse(R"({"mac":"f6:5f:77:9a:5b:20","ifname":"br1",
                "master":"br1","state":"permanent","flags":[]})"),
                             {}),
            "f6:5f:77:9a:5b:20 dev br1 master br1 permanent\n");
  EXPECT_EQ(format_fdb_entry(Json::parse(R"({"mac":"33:33:00:00:00:01","ifname":"br0",
                "state":"permanent","flags":["self"]})"),
                             {}),
            "33:33:00:00:00:01 dev br0 self permanent\n");
}

TEST(PrintFdb, JsonAsBridge61) {
  EXPECT_EQ(format_ip_json(fdb_json(fdb_entries(false), {}), false),
            R"([{"mac":"3e:1b:84:20:f5:9f","ifname":"eth2","flags":[],"master":"br0","state":""},)"
            R"({"mac":"d2:e2:a5:bb:78:24","ifname":"eth2","flags":[],"master":"br0",)"
            R"("state":"permanent"}])"
            "\n");
  EXPECT_EQ(format_ip_json(fdb_json(fdb_entries(true), FdbPrintOptions{true, false}), false),
            R"([{"mac":"3e:1b:84:20:f5:9f","ifname":"eth2","used":0,"updated":0,"flags":[],)"
            R"("master":"br0","state":""},{"mac":"d2:e2:a5:bb:78:24","ifname":"eth2","used":0,)"
            R"("updated":0,"flags":[],"master":"br0","state":"permanent"}])"
            "\n");
  // `bridge -j -p fdb show br br0 brport eth2`: no ifname, ip's pretty layout.
  Json local = Json::array({fdb_entries(false)[1]});
  EXPECT_EQ(format_ip_json(fdb_json(local, FdbPrintOptions{false, true}), true),
            "[ {\n"
            "        \"mac\": \"d2:e2:a5:bb:78:24\",\n"
            "        \"flags\": [ ],\n"
            "        \"master\": \"br0\",\n"
            "        \"state\": \"permanent\"\n"
            "    } ]\n");
  EXPECT_EQ(format_ip_json(fdb_json(Json::array(), {}), false), "[]\n");
}

}  // namespace
}  // namespace subnic::cli
