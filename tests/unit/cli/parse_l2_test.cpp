// Issue 4 grammar: `type vlan|veth|bridge|bridge_slave`, `master`/`nomaster`, `netns` on add and
// the `fdb` object, against iproute2 6.1's words and error lines (checked with ip 6.1 and bridge
// 6.1 in a scratch network namespace where the kernel has the driver; vlan's lines from
// iplink_vlan.c, the build kernel has no 8021q).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/parse.hpp"
#include "parse_helpers.hpp"

namespace subnic::cli {
namespace {

using namespace test;

using Err = std::pair<std::string, int>;

std::vector<std::string> with(std::vector<std::string> head, std::vector<std::string> tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

const std::string kIncomplete = "Command line is not complete. Try option \"help\"";

// --- vlan ------------------------------------------------------------------------

Json vlan(std::vector<std::string> words) {
  const Json p = params(
      with({"link", "add", "link", "eth2", "name", "eth2.10", "type", "vlan"}, std::move(words)));
  return p.is_object() && p.contains("info_data") ? p["info_data"] : Json{};
}

Err vlan_error(std::vector<std::string> words) {
  return error(
      with({"link", "add", "link", "eth2", "name", "eth2.10", "type", "vlan"}, std::move(words)));
}

TEST(ParseVlan, IdAndLink) {
  EXPECT_EQ(params({"link", "add", "link", "eth2", "name", "eth2.10", "type", "vlan", "id", "10"}),
            J(R"({"name":"eth2.10","link":"eth2","type":"vlan","info_data":{"id":10}})"));
  EXPECT_EQ(vlan({"id", "0x10"}), J(R"({"id":16})"));  // get_u16(..., 0)
  EXPECT_EQ(vlan({"id", "010"}), J(R"({"id":8})"));
  EXPECT_EQ(vlan({"id", "0"}), J(R"({"id":0})"));
  // ip takes any u16; the kernel refuses 4095 and more (subnicd answers).
  EXPECT_EQ(vlan({"id", "5000"}), J(R"({"id":5000})"));
  EXPECT_EQ(vlan({"id", "65535"}), J(R"({"id":65535})"));
  EXPECT_EQ(vlan({"id", "3", "id", "4"}), J(R"({"id":4})"));  // the last attribute wins
}

TEST(ParseVlan, NoIdIsTheKernelsError) {
  // `id` missing: ip sends no IFLA_VLAN_ID and the kernel answers EINVAL.
  EXPECT_EQ(params({"link", "add", "link", "eth2", "name", "v", "type", "vlan"}),
            J(R"({"name":"v","link":"eth2","type":"vlan"})"));
  EXPECT_EQ(vlan({"protocol", "802.1Q"}), J(R"({"protocol":"802.1Q"})"));
  // No `link` either: also the kernel's ("link not specified").
  EXPECT_EQ(params({"link", "add", "v", "type", "vlan", "id", "3"}),
            J(R"({"name":"v","type":"vlan","info_data":{"id":3}})"));
}

TEST(ParseVlan, Protocols) {
  for (const char* p : {"802.1Q", "802.1q", "0x8100", "33024"}) {
    EXPECT_EQ(vlan({"id", "1", "protocol", p}), J(R"({"id":1,"protocol":"802.1Q"})")) << p;
  }
  for (const char* p : {"802.1ad", "802.1AD", "0x88a8", "0x88A8"}) {
    EXPECT_EQ(vlan({"id", "1", "protocol", p}), J(R"({"id":1,"protocol":"802.1ad"})")) << p;
  }
}

TEST(ParseVlan, Flags) {
  EXPECT_EQ(vlan({"id", "10", "reorder_hdr", "on", "gvrp", "off", "mvrp", "on", "loose_binding",
                  "on", "bridge_binding", "off"}),
            J(R"({"id":10,"flags":{"reorder_hdr":true,"gvrp":false,"mvrp":true,
                  "loose_binding":true,"bridge_binding":false}})"));
  EXPECT_EQ(vlan({"id", "10", "reorder_hdr", "off"}),
            J(R"({"id":10,"flags":{"reorder_hdr":false}})"));
  EXPECT_EQ(vlan({"id", "10", "gvrp", "on", "gvrp", "off"}),
            J(R"({"id":10,"flags":{"gvrp":false}})"));
}

TEST(ParseVlan, AbbreviationsInIpsOrder) {
  // protocol, id, reorder_hdr, gvrp, mvrp, loose_binding, bridge_binding.
  EXPECT_EQ(
      vlan({"p", "802.1ad", "i", "7", "r", "off", "g", "on", "m", "on", "l", "on", "b", "on"}),
      J(R"({"protocol":"802.1ad","id":7,"flags":{"reorder_hdr":false,"gvrp":true,
                  "mvrp":true,"loose_binding":true,"bridge_binding":true}})"));
}

TEST(ParseVlan, Set) {
  EXPECT_EQ(params({"link", "set", "eth2.10", "type", "vlan", "reorder_hdr", "off"}),
            J(R"({"name":"eth2.10","type":"vlan","info_data":{"flags":{"reorder_hdr":false}}})"));
}

TEST(ParseVlanErrors, IpWording) {
  EXPECT_EQ(vlan_error({"id", "abc"}), Err("Error: argument \"abc\" is wrong: id is invalid", 255));
  EXPECT_EQ(vlan_error({"id", "70000"}),
            Err("Error: argument \"70000\" is wrong: id is invalid", 255));
  EXPECT_EQ(vlan_error({"id", "-1"}), Err("Error: argument \"-1\" is wrong: id is invalid", 255));
  EXPECT_EQ(vlan_error({"id", "1", "protocol", "foo"}),
            Err("Error: argument \"foo\" is wrong: protocol is invalid", 255));
  // A valid ethertype that is not 802.1Q/802.1ad: vlan_validate()'s EPROTONOSUPPORT.
  EXPECT_EQ(vlan_error({"id", "1", "protocol", "0x800"}),
            Err("Error: 8021q: Invalid VLAN protocol.", 2));
  EXPECT_EQ(vlan_error({"id", "1", "reorder_hdr", "maybe"}),
            Err("Error: argument of \"reorder_hdr\" must be \"on\" or \"off\", not \"maybe\"", 1));
  EXPECT_EQ(vlan_error({"id", "1", "bridge_binding", "1"}),
            Err("Error: argument of \"bridge_binding\" must be \"on\" or \"off\", not \"1\"", 1));
  EXPECT_EQ(vlan_error({"id", "12", "bogus"}), Err("vlan: unknown command \"bogus\"?", 1));
  EXPECT_EQ(vlan_error({"id", "4", "reorder_hdr"}), Err(kIncomplete, 255));
  EXPECT_EQ(vlan_error({"id"}), Err(kIncomplete, 255));
  EXPECT_EQ(vlan_error({"id", "4", "ingress-qos-map", "1:2"}),
            Err("Error: subnic: \"ingress-qos-map\" is not supported yet", 1));
  EXPECT_EQ(vlan_error({"id", "4", "egress-qos-map", "1:2"}),
            Err("Error: subnic: \"egress-qos-map\" is not supported yet", 1));
}

constexpr const char* kVlanUsage =
    "Usage: ... vlan id VLANID\n"
    "\t\t[ protocol VLANPROTO ]\n"
    "\t\t[ reorder_hdr { on | off } ]\n"
    "\t\t[ gvrp { on | off } ]\n"
    "\t\t[ mvrp { on | off } ]\n"
    "\t\t[ loose_binding { on | off } ]\n"
    "\t\t[ bridge_binding { on | off } ]\n"
    "\t\t[ ingress-qos-map QOS-MAP ]\n"
    "\t\t[ egress-qos-map QOS-MAP ]\n"
    "\n"
    "VLANID := 0-4095\n"
    "VLANPROTO: [ 802.1Q | 802.1ad ]\n"
    "QOS-MAP := [ QOS-MAP ] QOS-MAPPING\n"
    "QOS-MAPPING := FROM:TO";

TEST(ParseVlanErrors, HelpIsIpsUsage) {
  EXPECT_EQ(vlan_error({"help"}), Err(kVlanUsage, 1));
  auto r = parse({"link", "help", "vlan"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().text, kVlanUsage);
  EXPECT_EQ(r.error().exit_status, 0);
  EXPECT_TRUE(r.error().to_stdout);
}

// --- veth and netns on add ------------------------------------------------------------

TEST(ParseVeth, Peer) {
  EXPECT_EQ(params({"link", "add", "veth01", "type", "veth", "peer", "name", "veth10"}),
            J(R"({"name":"veth01","type":"veth","info_data":{"peer":{"name":"veth10"}}})"));
  // A bare name and `dev NAME` name the peer too (checked: ip creates v9p).
  EXPECT_EQ(params({"link", "add", "v9", "type", "veth", "peer", "v9p"})["info_data"],
            J(R"({"peer":{"name":"v9p"}})"));
  EXPECT_EQ(params({"link", "add", "v9", "type", "veth", "peer", "dev", "v9p"})["info_data"],
            J(R"({"peer":{"name":"v9p"}})"));
  // No peer words: the kernel names the peer vethN.
  EXPECT_EQ(params({"link", "add", "v1", "type", "veth"}), J(R"({"name":"v1","type":"veth"})"));
  EXPECT_EQ(params({"link", "add", "v1", "type", "veth", "peer"})["info_data"],
            J(R"({"peer":{}})"));
}

TEST(ParseVeth, EveryWordBothEnds) {
  EXPECT_EQ(params({"link",
                    "add",
                    "veth01",
                    "netns",
                    "c1",
                    "address",
                    "02:00:00:00:00:01",
                    "mtu",
                    "1400",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "veth10",
                    "netns",
                    "c2",
                    "address",
                    "02:00:00:00:00:0A",
                    "mtu",
                    "1300"}),
            J(R"({"name":"veth01","to_netns":"c1","address":"02:00:00:00:00:01","mtu":1400,
                  "type":"veth","info_data":{"peer":{"name":"veth10","to_netns":"c2",
                  "address":"02:00:00:00:00:0a","mtu":1300}}})"));
  // Prefixes as iplink_parse(): "a" address, "ty" type.
  EXPECT_EQ(params({"link", "add", "v4", "ty", "veth", "peer", "v4p", "mtu", "1400", "a",
                    "02:00:00:00:00:09"})["info_data"],
            J(R"({"peer":{"name":"v4p","mtu":1400,"address":"02:00:00:00:00:09"}})"));
  // `link` of the peer is dropped, as veth_parse_opt() drops it.
  EXPECT_EQ(params({"link", "add", "v14", "type", "veth", "peer", "name", "v14p", "link",
                    "eth0"})["info_data"],
            J(R"({"peer":{"name":"v14p"}})"));
  GlobalOptions o;
  o.netns = "c0";
  EXPECT_EQ(params({"link", "add", "v1", "type", "veth", "peer", "v1p", "netns", "c3"}, o),
            J(R"({"name":"v1","type":"veth","netns":"c0","info_data":{"peer":{"name":"v1p",
                  "to_netns":"c3"}}})"));
}

TEST(ParseVeth, NetnsOnAddForAnyType) {
  EXPECT_EQ(params({"link", "add", "mv1", "link", "eth0", "netns", "c1", "type", "macvlan"}),
            J(R"({"name":"mv1","link":"eth0","to_netns":"c1","type":"macvlan"})"));
  EXPECT_EQ(error({"link", "add", "v1", "netns", "a", "netns", "b", "type", "veth"}),
            Err("Error: duplicate \"netns\": \"b\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "v1", "netns"}), Err(kIncomplete, 255));
}

constexpr const char* kVethUsage =
    "Usage: subnic link <options> type veth [peer <options>]\n"
    "To get <options> type 'subnic link add help'";

TEST(ParseVethErrors, IpWording) {
  // veth's usage goes to stdout (print_usage() uses printf), exit 1.
  for (const char* w : {"bogus", "help", "name"}) {
    auto r = parse({"link", "add", "v3", "type", "veth", w});
    ASSERT_FALSE(r) << w;
    EXPECT_EQ(r.error().text, kVethUsage);
    EXPECT_EQ(r.error().exit_status, 1);
    EXPECT_TRUE(r.error().to_stdout);
  }
  EXPECT_EQ(error({"link", "add", "v2", "type", "veth", "peer", "name"}), Err(kIncomplete, 255));
  EXPECT_EQ(error({"link", "add", "v5", "type", "veth", "peer", "name", "v5p", "type", "veth"}),
            Err("Error: duplicate \"type\": \"veth\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "v7", "type", "veth", "peer", "name", "v7p", "name", "v7q"}),
            Err("Error: duplicate \"name\": \"v7q\" is the second value.", 255));
  EXPECT_EQ(error({"link", "add", "v11", "type", "veth", "peer", "name", "v11p", "mtu", "abc"}),
            Err("Error: argument \"abc\" is wrong: Invalid \"mtu\" value", 255));
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "q1", "q2"}),
            Err("Error: either \"dev\" is duplicate, or \"q2\" is a garbage.", 255));
  // "a" is `address` by ip's prefix rule: a one-byte address, the kernel's EINVAL.
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "a", "b"}),
            Err("RTNETLINK answers: Invalid argument", 2));
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "v", "address", "00:11:22:33:44"}),
            Err("RTNETLINK answers: Invalid argument", 2));
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "v", "address", "zz"}),
            Err("\"zz\" is invalid lladdr.", 1));
  // `peer help` is iplink_parse()'s help: the link usage, exit 255.
  const auto [text, status] = error({"link", "add", "v12", "type", "veth", "peer", "help"});
  EXPECT_EQ(status, 255);
  EXPECT_EQ(text.rfind("Usage: subnic link add", 0), 0u) << text;
  // Words subnic's peer does not carry are refused, not dropped.
  EXPECT_EQ(error({"link", "add", "v8", "type", "veth", "peer", "name", "v8p", "up"}),
            Err("Error: subnic: \"up\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "name", "p", "txqueuelen", "5"}),
            Err("Error: subnic: \"txqueuelen\" is not supported yet", 1));
  EXPECT_EQ(error({"link", "add", "v", "type", "veth", "peer", "name", "p", "master", "br0"}),
            Err("Error: subnic: \"master\" is not supported yet", 1));
}

TEST(ParseVeth, HelpTopic) {
  auto r = parse({"link", "help", "veth"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().text, kVethUsage);
  EXPECT_EQ(r.error().exit_status, 0);
  EXPECT_TRUE(r.error().to_stdout);
}

// --- bridge ------------------------------------------------------------------------

Json bridge(std::vector<std::string> words) {
  const Json p = params(with({"link", "add", "br0", "type", "bridge"}, std::move(words)));
  return p.is_object() && p.contains("info_data") ? p["info_data"] : Json{};
}

Err bridge_error(std::vector<std::string> words) {
  return error(with({"link", "set", "br0", "type", "bridge"}, std::move(words)));
}

TEST(ParseBridge, Words) {
  EXPECT_EQ(params({"link", "add", "br0", "type", "bridge"}),
            J(R"({"name":"br0","type":"bridge"})"));
  EXPECT_EQ(bridge({"ageing_time", "30000", "stp_state", "1", "forward_delay", "1500", "hello_time",
                    "200", "max_age", "2000", "priority", "4096", "fdb_max_learned", "100"}),
            J(R"({"ageing_time":30000,"stp_state":1,"forward_delay":1500,"hello_time":200,
                  "max_age":2000,"priority":4096,"fdb_max_learned":100})"));
  // Prefixes in ip's order: f forward_delay, h hello_time, m max_age, a ageing_time, s stp_state,
  // p priority (checked: `ip link set br0 type bridge a 100 s 1 ...`).
  EXPECT_EQ(bridge({"f", "1000", "h", "100", "m", "1000", "a", "100", "s", "1", "p", "0x1000"}),
            J(R"({"forward_delay":1000,"hello_time":100,"max_age":1000,"ageing_time":100,
                  "stp_state":1,"priority":4096})"));
  EXPECT_EQ(bridge({"stp_state", "0", "stp_state", "1"}), J(R"({"stp_state":1})"));
  // Values as given: the kernel checks the ranges (hello_time 0x10 is its ERANGE).
  EXPECT_EQ(bridge({"hello_time", "0x10"}), J(R"({"hello_time":16})"));
  EXPECT_EQ(params({"link", "set", "br0", "type", "bridge", "stp_state", "1"}),
            J(R"({"name":"br0","type":"bridge","info_data":{"stp_state":1}})"));
  // ip resolves `link` and the kernel ignores it; subnic sends it for subnicd to check.
  EXPECT_EQ(params({"link", "add", "br9", "link", "eth0", "type", "bridge"}),
            J(R"({"name":"br9","link":"eth0","type":"bridge"})"));
}

TEST(ParseBridgeErrors, IpWording) {
  EXPECT_EQ(bridge_error({"priority", "x"}),
            Err("Error: argument \"x\" is wrong: invalid priority", 255));
  EXPECT_EQ(bridge_error({"priority", "70000"}),
            Err("Error: argument \"70000\" is wrong: invalid priority", 255));
  EXPECT_EQ(bridge_error({"stp_state", "x"}),
            Err("Error: argument \"x\" is wrong: invalid stp_state", 255));
  EXPECT_EQ(bridge_error({"ageing_time", "-1"}),
            Err("Error: argument \"-1\" is wrong: invalid ageing_time", 255));
  EXPECT_EQ(bridge_error({"forward_delay", "x"}),
            Err("Error: argument \"x\" is wrong: invalid forward_delay", 255));
  EXPECT_EQ(bridge_error({"hello_time", "1.5"}),
            Err("Error: argument \"1.5\" is wrong: invalid hello_time", 255));
  EXPECT_EQ(bridge_error({"max_age", ""}),
            Err("Error: argument \"\" is wrong: invalid max_age", 255));
  EXPECT_EQ(bridge_error({"fdb_max_learned", "x"}),
            Err("Error: argument \"x\" is wrong: invalid fdb_max_learned", 255));
  EXPECT_EQ(bridge_error({"priority"}), Err(kIncomplete, 255));
  EXPECT_EQ(bridge_error({"bogus"}), Err("bridge: unknown command \"bogus\"?", 1));
  // fdb_max_learned is strcmp()ed.
  EXPECT_EQ(bridge_error({"fdb_max", "5"}), Err("bridge: unknown command \"fdb_max\"?", 1));
  for (const char* w : {"vlan_filtering", "mcast_snooping", "nf_call_iptables", "group_fwd_mask",
                        "fdb_flush", "no_linklocal_learn", "vlan_protocol"}) {
    EXPECT_EQ(bridge_error({w, "1"}),
              Err("Error: subnic: \"" + std::string{w} + "\" is not supported yet", 1));
  }
  const auto [text, status] = bridge_error({"help"});
  EXPECT_EQ(status, 1);
  EXPECT_EQ(
      text.rfind("Usage: ... bridge [ fdb_flush ]\n\t\t  [ forward_delay FORWARD_DELAY ]\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("\t\t  [ fdb_max_learned FDB_MAX_LEARNED ]\n"), std::string::npos);
  EXPECT_NE(text.find("\nWhere: VLAN_PROTOCOL := { 802.1Q | 802.1ad }"), std::string::npos);
}

// --- master, nomaster, bridge_slave --------------------------------------------------

TEST(ParseMaster, SetMasterAndNomaster) {
  EXPECT_EQ(params({"link", "set", "eth2", "master", "br0"}),
            J(R"({"name":"eth2","master":"br0"})"));
  EXPECT_EQ(params({"link", "set", "dev", "eth2", "ma", "br0", "up"}),
            J(R"({"name":"eth2","master":"br0","up":true})"));
  EXPECT_EQ(params({"link", "set", "eth2", "nomaster"}), J(R"({"name":"eth2","nomaster":true})"));
  EXPECT_EQ(params({"link", "set", "eth2", "nom"}), J(R"({"name":"eth2","nomaster":true})"));
  // The last word wins, as the kernel keeps the last IFLA_MASTER.
  EXPECT_EQ(params({"link", "set", "eth2", "nomaster", "master", "br0"}),
            J(R"({"name":"eth2","master":"br0"})"));
  EXPECT_EQ(params({"link", "set", "eth2", "master", "br0", "nomaster"}),
            J(R"({"name":"eth2","nomaster":true})"));
  GlobalOptions o;
  o.netns = "c1";
  EXPECT_EQ(params({"link", "set", "eth2", "master", "br0"}, o),
            J(R"({"name":"eth2","master":"br0","netns":"c1"})"));
  EXPECT_EQ(error({"link", "set", "eth2", "master"}), Err(kIncomplete, 255));
}

TEST(ParseBridgeSlave, Words) {
  EXPECT_EQ(
      params({"link",     "set",   "eth2", "type",        "bridge_slave", "state",       "3",
              "priority", "5",     "cost", "7",           "hairpin",      "on",          "learning",
              "off",      "flood", "off",  "mcast_flood", "off",          "bcast_flood", "off",
              "isolated", "on"}),
      J(R"({"name":"eth2","type":"bridge_slave","info_slave_data":{"state":3,"priority":5,
            "cost":7,"hairpin":true,"learning":false,"flood":false,"mcast_flood":false,
            "bcast_flood":false,"isolated":true}})"));
  // Prefixes in ip 6.1's order (checked: b bcast_flood, l learning, fl flood, mcast_f
  // mcast_flood, i isolated, h hairpin).
  EXPECT_EQ(
      params({"link", "set", "eth2", "type",    "bridge_slave", "b", "on", "l",
              "off",  "fl",  "off",  "mcast_f", "off",          "i", "on", "h",
              "on",   "s",   "0",    "p",       "63",           "c", "100"})["info_slave_data"],
      J(R"({"bcast_flood":true,"learning":false,"flood":false,"mcast_flood":false,
                  "isolated":true,"hairpin":true,"state":0,"priority":63,"cost":100})"));
  // The kernel checks state 0..4 (state 9 is its EINVAL).
  EXPECT_EQ(
      params({"link", "set", "eth2", "type", "bridge_slave", "state", "9"})["info_slave_data"],
      J(R"({"state":9})"));
  EXPECT_EQ(params({"link", "set", "eth2", "type", "bridge_slave"}),
            J(R"({"name":"eth2","type":"bridge_slave"})"));
  EXPECT_EQ(
      params({"link", "set", "eth2", "master", "br0", "type", "bridge_slave", "learning", "off"}),
      J(R"({"name":"eth2","master":"br0","type":"bridge_slave",
                  "info_slave_data":{"learning":false}})"));
}

Err slave_error(std::vector<std::string> words) {
  return error(with({"link", "set", "eth2", "type", "bridge_slave"}, std::move(words)));
}

TEST(ParseBridgeSlaveErrors, IpWording) {
  EXPECT_EQ(slave_error({"hairpin", "maybe"}),
            Err("Error: argument of \"hairpin\" must be one of \"off\", \"on\", not \"maybe\"", 1));
  EXPECT_EQ(slave_error({"isolated", "1"}),
            Err("Error: argument of \"isolated\" must be one of \"off\", \"on\", not \"1\"", 1));
  EXPECT_EQ(slave_error({"state", "x"}),
            Err("Error: argument \"x\" is wrong: state is invalid", 255));
  EXPECT_EQ(slave_error({"state", "256"}),
            Err("Error: argument \"256\" is wrong: state is invalid", 255));
  EXPECT_EQ(slave_error({"priority", "x"}),
            Err("Error: argument \"x\" is wrong: priority is invalid", 255));
  EXPECT_EQ(slave_error({"priority", "65536"}),
            Err("Error: argument \"65536\" is wrong: priority is invalid", 255));
  EXPECT_EQ(slave_error({"cost", "x"}),
            Err("Error: argument \"x\" is wrong: cost is invalid", 255));
  EXPECT_EQ(slave_error({"bogus"}), Err("bridge_slave: unknown option \"bogus\"?", 1));
  EXPECT_EQ(slave_error({"state"}), Err(kIncomplete, 255));
  EXPECT_EQ(slave_error({"learning"}), Err(kIncomplete, 255));
  // "f" is fdb_flush in ip's order.
  EXPECT_EQ(slave_error({"f", "on"}), Err("Error: subnic: \"f\" is not supported yet", 1));
  for (const char* w : {"guard", "fastleave", "root_block", "proxy_arp", "neigh_suppress",
                        "mcast_router", "vlan_tunnel", "locked", "backup_port", "nobackup_port",
                        "mcast_to_unicast", "group_fwd_mask"}) {
    EXPECT_EQ(slave_error({w, "on"}),
              Err("Error: subnic: \"" + std::string{w} + "\" is not supported yet", 1));
  }
  const auto [text, status] = slave_error({"help"});
  EXPECT_EQ(status, 1);
  EXPECT_EQ(text.rfind("Usage: ... bridge_slave [ fdb_flush ]\n\t\t\t[ state STATE ]\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("\t\t\t[ backup_port DEVICE ] [ nobackup_port ]"), std::string::npos);
  // A slave kind cannot be created: the kernel finds no link ops.
  EXPECT_EQ(error({"link", "add", "br1", "type", "bridge_slave"}),
            Err("Error: Unknown device type.", 2));
}

// --- fdb -------------------------------------------------------------------------------

TEST(ParseFdb, Show) {
  const Json all = J(R"({"stats":false})");
  EXPECT_EQ(params({"fdb"}), all);
  EXPECT_EQ(params({"fdb", "show"}), all);
  for (const char* obj : {"f", "fd", "fdb"}) {
    for (const char* verb : {"s", "sh", "show", "l", "lst", "list"}) {
      EXPECT_EQ(params({obj, verb, "br", "br0"}), J(R"({"br":"br0","stats":false})"))
          << obj << " " << verb;
    }
  }
  auto r = parse({"fdb", "show", "br", "br0", "brport", "eth2"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "fdb.show");
  EXPECT_EQ(r->params, J(R"({"br":"br0","dev":"eth2","stats":false})"));
  EXPECT_TRUE(r->filter.fdb_port_given);
  EXPECT_EQ(params({"fdb", "show", "dev", "eth2"}), J(R"({"dev":"eth2","stats":false})"));
  auto br_only = parse({"fdb", "show", "br", "br0"});
  ASSERT_TRUE(br_only);
  EXPECT_FALSE(br_only->filter.fdb_port_given);
  // The last br / dev wins; other words are ignored, as bridge's fdb_show() ignores them.
  EXPECT_EQ(params({"fdb", "show", "br", "a", "br", "b", "dev", "x", "brport", "y"}),
            J(R"({"br":"b","dev":"y","stats":false})"));
  EXPECT_EQ(params({"fdb", "show", "bogus"}), all);
  GlobalOptions o;
  o.stats = 1;
  o.netns = "c1";
  o.json = true;
  EXPECT_EQ(params({"fdb", "show", "br", "br0"}, o),
            J(R"({"br":"br0","stats":true,"netns":"c1"})"));
}

TEST(ParseFdbErrors, BridgeWording) {
  EXPECT_EQ(error({"fdb", "show", "br"}), Err(kIncomplete, 255));
  EXPECT_EQ(error({"fdb", "show", "brport"}), Err(kIncomplete, 255));
  EXPECT_EQ(error({"fdb", "bogus"}),
            Err("Command \"bogus\" is unknown, try \"subnic fdb help\".", 255));
  const Err usage{"Usage: subnic fdb [ show [ br BRDEV ] [ { brport | dev } DEV ] ]", 255};
  EXPECT_EQ(error({"fdb", "help"}), usage);
  EXPECT_EQ(error({"fdb", "show", "help"}), usage);
  for (const char* cmd : {"add", "append", "replace", "delete", "get", "flush"}) {
    EXPECT_EQ(error({"fdb", cmd, "00:11:22:33:44:55", "dev", "eth2"}),
              Err("Error: subnic: \"" + std::string{cmd} + "\" is not supported yet", 1));
  }
  for (const char* w : {"vlan", "state", "dynamic"}) {
    EXPECT_EQ(error({"fdb", "show", w, "1"}),
              Err("Error: subnic: \"" + std::string{w} + "\" is not supported yet", 1));
  }
}

TEST(ParseFdb, MainUsageListsFdb) {
  const auto [text, status] = error({"help"});
  EXPECT_EQ(status, 255);
  EXPECT_NE(text.find("where  OBJECT := { link | fdb }\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace subnic::cli
