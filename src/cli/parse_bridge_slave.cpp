// Bridge ports and their words: iproute2 ip/iplink_bridge_slave.c (6.1), kernel
// net/bridge/br_netlink.c.
#include "cli/parse_bridge_slave.hpp"

#include <array>
#include <string_view>

#include "cli/parse_bridge.hpp"
#include "cli/words.hpp"

namespace subnic::cli {

namespace {

// ip 6.1's print_explain(), word for word (tabs included).
constexpr std::string_view kUsage =
    "Usage: ... bridge_slave [ fdb_flush ]\n"
    "\t\t\t[ state STATE ]\n"
    "\t\t\t[ priority PRIO ]\n"
    "\t\t\t[ cost COST ]\n"
    "\t\t\t[ guard {on | off} ]\n"
    "\t\t\t[ hairpin {on | off} ]\n"
    "\t\t\t[ fastleave {on | off} ]\n"
    "\t\t\t[ root_block {on | off} ]\n"
    "\t\t\t[ learning {on | off} ]\n"
    "\t\t\t[ flood {on | off} ]\n"
    "\t\t\t[ proxy_arp {on | off} ]\n"
    "\t\t\t[ proxy_arp_wifi {on | off} ]\n"
    "\t\t\t[ mcast_router MULTICAST_ROUTER ]\n"
    "\t\t\t[ mcast_fast_leave {on | off} ]\n"
    "\t\t\t[ mcast_flood {on | off} ]\n"
    "\t\t\t[ bcast_flood {on | off} ]\n"
    "\t\t\t[ mcast_to_unicast {on | off} ]\n"
    "\t\t\t[ group_fwd_mask MASK ]\n"
    "\t\t\t[ neigh_suppress {on | off} ]\n"
    "\t\t\t[ vlan_tunnel {on | off} ]\n"
    "\t\t\t[ isolated {on | off} ]\n"
    "\t\t\t[ locked {on | off} ]\n"
    "\t\t\t[ backup_port DEVICE ] [ nobackup_port ]";

std::string_view bridge_slave_usage() {
  return kUsage;
}

enum class Kind { kU8, kU16, kU32, kOnOff, kUnsupported, kUnsupportedNoArg };

struct Word {
  std::string_view word;
  Kind kind;
};

// bridge_slave_parse_opt()'s order (6.1); the first prefix match wins.
constexpr Word kWords[] = {
    {"fdb_flush", Kind::kUnsupportedNoArg},
    {"state", Kind::kU8},
    {"priority", Kind::kU16},
    {"cost", Kind::kU32},
    {"guard", Kind::kUnsupported},
    {"hairpin", Kind::kOnOff},
    {"fastleave", Kind::kUnsupported},
    {"root_block", Kind::kUnsupported},
    {"learning", Kind::kOnOff},
    {"flood", Kind::kOnOff},
    {"mcast_flood", Kind::kOnOff},
    {"bcast_flood", Kind::kOnOff},
    {"mcast_to_unicast", Kind::kUnsupported},
    {"proxy_arp", Kind::kUnsupported},
    {"proxy_arp_wifi", Kind::kUnsupported},
    {"mcast_router", Kind::kUnsupported},
    {"mcast_fast_leave", Kind::kUnsupported},
    {"neigh_suppress", Kind::kUnsupported},
    {"group_fwd_mask", Kind::kUnsupported},
    {"vlan_tunnel", Kind::kUnsupported},
    {"isolated", Kind::kOnOff},
    {"locked", Kind::kUnsupported},
    {"backup_port", Kind::kUnsupported},
    {"nobackup_port", Kind::kUnsupportedNoArg},
};

}  // namespace

CliResult<Json> parse_bridge_slave(std::span<const std::string> words) {
  Json info = Json::object();
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const Word* known = nullptr;
    for (const Word& k : kWords) {
      if (matches(w, k.word)) {
        known = &k;
        break;
      }
    }
    if (known == nullptr) {
      if (matches(w, "help")) {
        return stop(std::string{kUsage}, kExitFailure);
      }
      return stop("bridge_slave: unknown option \"" + w + "\"?", kExitFailure);
    }
    if (known->kind == Kind::kUnsupported || known->kind == Kind::kUnsupportedNoArg) {
      return not_supported(w);
    }
    if (i + 1 >= words.size()) {
      return incomplete_command();
    }
    const std::string& arg = words[++i];
    const std::string key{known->word};
    switch (known->kind) {
      case Kind::kOnOff:
        if (arg != "on" && arg != "off") {
          return one_of_off_on(key, arg);
        }
        info[key] = arg == "on";
        break;
      case Kind::kU8:
      case Kind::kU16:
      case Kind::kU32: {
        const auto v = known->kind == Kind::kU8    ? std::optional<std::uint32_t>{get_u8(arg)}
                       : known->kind == Kind::kU16 ? std::optional<std::uint32_t>{get_u16(arg)}
                                                   : get_u32(arg);
        if (!v) {
          return invarg(key + " is invalid", arg);
        }
        info[key] = *v;
        break;
      }
      default:
        break;
    }
  }
  return info;
}

namespace {

enum class Shown { kValue, kOnOff, kTimer };

struct PrintKey {
  std::string_view key;   // ip -j's key
  std::string_view word;  // ip's text word
  Shown shown;
};

// bridge_slave_print_opt() order (6.1), after "state".
constexpr PrintKey kPrint[] = {
    {"priority", "priority", Shown::kValue},
    {"cost", "cost", Shown::kValue},
    {"hairpin", "hairpin", Shown::kOnOff},
    {"guard", "guard", Shown::kOnOff},
    {"root_block", "root_block", Shown::kOnOff},
    {"fastleave", "fastleave", Shown::kOnOff},
    {"learning", "learning", Shown::kOnOff},
    {"flood", "flood", Shown::kOnOff},
    {"id", "port_id", Shown::kValue},
    {"no", "port_no", Shown::kValue},
    {"designated_port", "designated_port", Shown::kValue},
    {"designated_cost", "designated_cost", Shown::kValue},
    {"bridge_id", "designated_bridge", Shown::kValue},
    {"root_id", "designated_root", Shown::kValue},
    {"hold_timer", "hold_timer", Shown::kTimer},
    {"message_age_timer", "message_age_timer", Shown::kTimer},
    {"forward_delay_timer", "forward_delay_timer", Shown::kTimer},
    {"topology_change_ack", "topology_change_ack", Shown::kValue},
    {"config_pending", "config_pending", Shown::kValue},
    {"proxy_arp", "proxy_arp", Shown::kOnOff},
    {"proxy_arp_wifi", "proxy_arp_wifi", Shown::kOnOff},
    {"multicast_router", "mcast_router", Shown::kValue},
    {"fastleave", "mcast_fast_leave", Shown::kOnOff},
    {"mcast_flood", "mcast_flood", Shown::kOnOff},
    {"bcast_flood", "bcast_flood", Shown::kOnOff},
    {"mcast_to_unicast", "mcast_to_unicast", Shown::kOnOff},
    {"neigh_suppress", "neigh_suppress", Shown::kOnOff},
    {"group_fwd_mask", "group_fwd_mask", Shown::kValue},
    {"group_fwd_mask_str", "group_fwd_mask_str", Shown::kValue},
    {"vlan_tunnel", "vlan_tunnel", Shown::kOnOff},
    {"isolated", "isolated", Shown::kOnOff},
    {"locked", "locked", Shown::kOnOff},
};

std::string value_text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

void print_bridge_slave(const Json& info, std::string& out) {
  if (const auto s = info.find("state"); s != info.end() && !s->is_null()) {
    out += "state " + value_text(*s) + " ";
  } else if (const auto n = info.find("state_index"); n != info.end() && n->is_number()) {
    out += "state (" + n->dump() + ") ";
  }
  for (const PrintKey& k : kPrint) {
    const auto v = info.find(std::string{k.key});
    if (v == info.end() || v->is_null() || v->is_object() || v->is_array()) {
      continue;
    }
    std::string text;
    switch (k.shown) {
      case Shown::kOnOff:
        text = (v->is_boolean() ? v->get<bool>() : (v->is_number() && *v != 0)) ? "on" : "off";
        break;
      case Shown::kTimer:
        text = bridge_timer_text(*v);
        break;
      case Shown::kValue:
        text = value_text(*v);
        break;
    }
    out += std::string{k.word} + " " + text + " ";
  }
}

const LinkTypeOps kBridgeSlaveOps = {"bridge_slave", &parse_bridge_slave, &print_bridge_slave,
                                     &bridge_slave_usage, true};

}  // namespace subnic::cli
