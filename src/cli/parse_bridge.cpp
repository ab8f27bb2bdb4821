// bridge and its words: iproute2 ip/iplink_bridge.c (6.1; fdb_max_learned from 6.7).
#include "cli/parse_bridge.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "cli/words.hpp"

namespace subnic::cli {

namespace {

// ip 6.1's print_explain() plus 6.7's fdb_max_learned line, word for word.
constexpr std::string_view kUsage =
    "Usage: ... bridge [ fdb_flush ]\n"
    "\t\t  [ forward_delay FORWARD_DELAY ]\n"
    "\t\t  [ hello_time HELLO_TIME ]\n"
    "\t\t  [ max_age MAX_AGE ]\n"
    "\t\t  [ ageing_time AGEING_TIME ]\n"
    "\t\t  [ stp_state STP_STATE ]\n"
    "\t\t  [ priority PRIORITY ]\n"
    "\t\t  [ group_fwd_mask MASK ]\n"
    "\t\t  [ group_address ADDRESS ]\n"
    "\t\t  [ no_linklocal_learn NO_LINKLOCAL_LEARN ]\n"
    "\t\t  [ fdb_max_learned FDB_MAX_LEARNED ]\n"
    "\t\t  [ vlan_filtering VLAN_FILTERING ]\n"
    "\t\t  [ vlan_protocol VLAN_PROTOCOL ]\n"
    "\t\t  [ vlan_default_pvid VLAN_DEFAULT_PVID ]\n"
    "\t\t  [ vlan_stats_enabled VLAN_STATS_ENABLED ]\n"
    "\t\t  [ vlan_stats_per_port VLAN_STATS_PER_PORT ]\n"
    "\t\t  [ mcast_snooping MULTICAST_SNOOPING ]\n"
    "\t\t  [ mcast_vlan_snooping MULTICAST_VLAN_SNOOPING ]\n"
    "\t\t  [ mcast_router MULTICAST_ROUTER ]\n"
    "\t\t  [ mcast_query_use_ifaddr MCAST_QUERY_USE_IFADDR ]\n"
    "\t\t  [ mcast_querier MULTICAST_QUERIER ]\n"
    "\t\t  [ mcast_hash_elasticity HASH_ELASTICITY ]\n"
    "\t\t  [ mcast_hash_max HASH_MAX ]\n"
    "\t\t  [ mcast_last_member_count LAST_MEMBER_COUNT ]\n"
    "\t\t  [ mcast_startup_query_count STARTUP_QUERY_COUNT ]\n"
    "\t\t  [ mcast_last_member_interval LAST_MEMBER_INTERVAL ]\n"
    "\t\t  [ mcast_membership_interval MEMBERSHIP_INTERVAL ]\n"
    "\t\t  [ mcast_querier_interval QUERIER_INTERVAL ]\n"
    "\t\t  [ mcast_query_interval QUERY_INTERVAL ]\n"
    "\t\t  [ mcast_query_response_interval QUERY_RESPONSE_INTERVAL ]\n"
    "\t\t  [ mcast_startup_query_interval STARTUP_QUERY_INTERVAL ]\n"
    "\t\t  [ mcast_stats_enabled MCAST_STATS_ENABLED ]\n"
    "\t\t  [ mcast_igmp_version IGMP_VERSION ]\n"
    "\t\t  [ mcast_mld_version MLD_VERSION ]\n"
    "\t\t  [ nf_call_iptables NF_CALL_IPTABLES ]\n"
    "\t\t  [ nf_call_ip6tables NF_CALL_IP6TABLES ]\n"
    "\t\t  [ nf_call_arptables NF_CALL_ARPTABLES ]\n"
    "\n"
    "Where: VLAN_PROTOCOL := { 802.1Q | 802.1ad }";

std::string_view bridge_usage() {
  return kUsage;
}

// The words subnic implements, in ip's order (all before the others in
// bridge_parse_opt(), so prefixes resolve as in ip).
struct NumWord {
  std::string_view word;
  bool u16;  // get_u16, else get_u32
};
constexpr std::array<NumWord, 6> kWords = {{{"forward_delay", false},
                                            {"hello_time", false},
                                            {"max_age", false},
                                            {"ageing_time", false},
                                            {"stp_state", false},
                                            {"priority", true}}};

// ip's other bridge words, matched by prefix after the ones above.
constexpr std::string_view kOtherWords[] = {"vlan_filtering",
                                            "vlan_protocol",
                                            "group_fwd_mask",
                                            "group_address",
                                            "no_linklocal_learn",
                                            "fdb_flush",
                                            "vlan_default_pvid",
                                            "vlan_stats_enabled",
                                            "vlan_stats_per_port",
                                            "mcast_router",
                                            "mcast_snooping",
                                            "mcast_vlan_snooping",
                                            "mcast_query_use_ifaddr",
                                            "mcast_querier",
                                            "mcast_hash_elasticity",
                                            "mcast_hash_max",
                                            "mcast_last_member_count",
                                            "mcast_startup_query_count",
                                            "mcast_last_member_interval",
                                            "mcast_membership_interval",
                                            "mcast_querier_interval",
                                            "mcast_query_interval",
                                            "mcast_query_response_interval",
                                            "mcast_startup_query_interval",
                                            "mcast_stats_enabled",
                                            "mcast_igmp_version",
                                            "mcast_mld_version",
                                            "nf_call_iptables",
                                            "nf_call_ip6tables",
                                            "nf_call_arptables"};

}  // namespace

CliResult<Json> parse_bridge(std::span<const std::string> words) {
  Json info = Json::object();
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto value = [&](std::string_view key, bool u16) -> CliResult<std::uint32_t> {
      if (i + 1 >= words.size()) {
        return incomplete_command();
      }
      const std::string& arg = words[++i];
      const auto v = u16 ? std::optional<std::uint32_t>{get_u16(arg)} : get_u32(arg);
      if (!v) {
        return invarg("invalid " + std::string{key}, arg);
      }
      return *v;
    };
    const NumWord* known = nullptr;
    for (const NumWord& k : kWords) {
      if (matches(w, k.word)) {
        known = &k;
        break;
      }
    }
    const bool max_learned = known == nullptr && w == "fdb_max_learned";
    if (known != nullptr || max_learned) {
      const std::string_view key = known != nullptr ? known->word : "fdb_max_learned";
      auto v = value(key, known != nullptr && known->u16);
      if (!v) {
        return tl::unexpected{v.error()};
      }
      info[std::string{key}] = *v;
      continue;
    }
    bool other = false;
    for (const auto o : kOtherWords) {
      other = other || matches(w, o);
    }
    if (other) {
      return not_supported(w);
    }
    if (matches(w, "help")) {
      return stop(std::string{kUsage}, kExitFailure);
    }
    return stop("bridge: unknown command \"" + w + "\"?", kExitFailure);
  }
  return info;
}

namespace {

enum class Shown { kValue, kTimer };

struct PrintKey {
  std::string_view key;   // ip -j's key
  std::string_view word;  // ip's text word
  Shown shown;
};

// bridge_print_opt() order (6.1), with 6.7's fdb counters after gc_timer.
constexpr PrintKey kPrint[] = {
    {"forward_delay", "forward_delay", Shown::kValue},
    {"hello_time", "hello_time", Shown::kValue},
    {"max_age", "max_age", Shown::kValue},
    {"ageing_time", "ageing_time", Shown::kValue},
    {"stp_state", "stp_state", Shown::kValue},
    {"priority", "priority", Shown::kValue},
    {"vlan_filtering", "vlan_filtering", Shown::kValue},
    {"vlan_protocol", "vlan_protocol", Shown::kValue},
    {"bridge_id", "bridge_id", Shown::kValue},
    {"root_id", "designated_root", Shown::kValue},
    {"root_port", "root_port", Shown::kValue},
    {"root_path_cost", "root_path_cost", Shown::kValue},
    {"topology_change", "topology_change", Shown::kValue},
    {"topology_change_detected", "topology_change_detected", Shown::kValue},
    {"hello_timer", "hello_timer", Shown::kTimer},
    {"tcn_timer", "tcn_timer", Shown::kTimer},
    {"topology_change_timer", "topology_change_timer", Shown::kTimer},
    {"gc_timer", "gc_timer", Shown::kTimer},
    {"fdb_n_learned", "fdb_n_learned", Shown::kValue},
    {"fdb_max_learned", "fdb_max_learned", Shown::kValue},
    {"vlan_default_pvid", "vlan_default_pvid", Shown::kValue},
    {"vlan_stats_enabled", "vlan_stats_enabled", Shown::kValue},
    {"vlan_stats_per_port", "vlan_stats_per_port", Shown::kValue},
    {"group_fwd_mask", "group_fwd_mask", Shown::kValue},
    {"group_addr", "group_address", Shown::kValue},
    {"mcast_snooping", "mcast_snooping", Shown::kValue},
    {"no_linklocal_learn", "no_linklocal_learn", Shown::kValue},
    {"mcast_vlan_snooping", "mcast_vlan_snooping", Shown::kValue},
    {"mcast_router", "mcast_router", Shown::kValue},
    {"mcast_query_use_ifaddr", "mcast_query_use_ifaddr", Shown::kValue},
    {"mcast_querier", "mcast_querier", Shown::kValue},
    {"mcast_hash_elasticity", "mcast_hash_elasticity", Shown::kValue},
    {"mcast_hash_max", "mcast_hash_max", Shown::kValue},
    {"mcast_last_member_cnt", "mcast_last_member_count", Shown::kValue},
    {"mcast_startup_query_cnt", "mcast_startup_query_count", Shown::kValue},
    {"mcast_last_member_intvl", "mcast_last_member_interval", Shown::kValue},
    {"mcast_membership_intvl", "mcast_membership_interval", Shown::kValue},
    {"mcast_querier_intvl", "mcast_querier_interval", Shown::kValue},
    {"mcast_query_intvl", "mcast_query_interval", Shown::kValue},
    {"mcast_query_response_intvl", "mcast_query_response_interval", Shown::kValue},
    {"mcast_startup_query_intvl", "mcast_startup_query_interval", Shown::kValue},
    {"mcast_stats_enabled", "mcast_stats_enabled", Shown::kValue},
    {"mcast_igmp_version", "mcast_igmp_version", Shown::kValue},
    {"mcast_mld_version", "mcast_mld_version", Shown::kValue},
    {"nf_call_iptables", "nf_call_iptables", Shown::kValue},
    {"nf_call_ip6tables", "nf_call_ip6tables", Shown::kValue},
    {"nf_call_arptables", "nf_call_arptables", Shown::kValue},
};

}  // namespace

std::string bridge_timer_text(const Json& v) {
  const double seconds = v.is_number() ? v.get<double>() : 0.0;
  const auto hundredths = static_cast<long long>(std::llround(seconds * 100.0));
  char buf[48];
  std::snprintf(buf, sizeof buf, "%4lld.%.2lld", hundredths / 100, hundredths % 100);
  return buf;
}

void print_bridge(const Json& info, std::string& out) {
  for (const PrintKey& k : kPrint) {
    const auto v = info.find(std::string{k.key});
    if (v == info.end() || v->is_null() || v->is_object() || v->is_array()) {
      continue;
    }
    const std::string text = k.shown == Shown::kTimer ? bridge_timer_text(*v)
                             : v->is_string()         ? v->get<std::string>()
                                                      : v->dump();
    out += std::string{k.word} + " " + text + " ";
  }
}

const LinkTypeOps kBridgeOps = {"bridge", &parse_bridge, &print_bridge, &bridge_usage};

}  // namespace subnic::cli
