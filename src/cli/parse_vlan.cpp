// vlan and its words: iproute2 ip/iplink_vlan.c (6.1), kernel net/8021q/vlan_netlink.c.
#include "cli/parse_vlan.hpp"

#include <array>
#include <cctype>
#include <optional>
#include <string_view>

#include "cli/words.hpp"

namespace subnic::cli {

namespace {

// ip's print_explain(), word for word (tabs included).
constexpr std::string_view kUsage =
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

std::string_view vlan_usage() {
  return kUsage;
}

// The VLAN_FLAG_* words in ip's parse (and print) order: the word, the ip -d name.
struct VlanFlag {
  std::string_view word;
  std::string_view shown;
};
constexpr std::array<VlanFlag, 5> kFlags = {{{"reorder_hdr", "REORDER_HDR"},
                                             {"gvrp", "GVRP"},
                                             {"mvrp", "MVRP"},
                                             {"loose_binding", "LOOSE_BINDING"},
                                             {"bridge_binding", "BRIDGE_BINDING"}}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

constexpr std::uint16_t kEthP8021Q = 0x8100;
constexpr std::uint16_t kEthP8021AD = 0x88a8;

// ll_proto_a2n() for the two VLAN protocols: the ethertype, or nullopt when
// ip would call the word invalid.
std::optional<std::uint16_t> vlan_proto(std::string_view arg) {
  if (iequals(arg, "802.1Q")) {
    return kEthP8021Q;
  }
  if (iequals(arg, "802.1ad")) {
    return kEthP8021AD;
  }
  return get_u16(arg);
}

}  // namespace

CliResult<Json> parse_vlan(std::span<const std::string> words) {
  Json info = Json::object();
  Json flags = Json::object();
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto next = [&]() -> const std::string* {
      return i + 1 < words.size() ? &words[++i] : nullptr;
    };
    if (matches(w, "protocol")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      const auto proto = vlan_proto(*arg);
      if (!proto) {
        return invarg("protocol is invalid", *arg);
      }
      if (*proto != kEthP8021Q && *proto != kEthP8021AD) {
        // vlan_validate(): EPROTONOSUPPORT with this extack message.
        return stop("Error: 8021q: Invalid VLAN protocol.", kExitDaemon);
      }
      info["protocol"] = *proto == kEthP8021Q ? "802.1Q" : "802.1ad";
      continue;
    }
    if (matches(w, "id")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      const auto id = get_u16(*arg);
      if (!id) {
        return invarg("id is invalid", *arg);
      }
      info["id"] = *id;
      continue;
    }
    bool flag_word = false;
    for (const VlanFlag& f : kFlags) {
      if (!matches(w, f.word)) {
        continue;
      }
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (*arg != "on" && *arg != "off") {
        return on_off(f.word, *arg);
      }
      flags[std::string{f.word}] = *arg == "on";
      flag_word = true;
      break;
    }
    if (flag_word) {
      continue;
    }
    if (matches(w, "ingress-qos-map") || matches(w, "egress-qos-map")) {
      return not_supported(w);
    }
    if (matches(w, "help")) {
      return stop(std::string{kUsage}, kExitFailure);
    }
    return stop("vlan: unknown command \"" + w + "\"?", kExitFailure);
  }
  if (!flags.empty()) {
    info["flags"] = std::move(flags);
  }
  return info;
}

void print_vlan(const Json& info, std::string& out) {
  const auto id = info.find("id");
  if (id == info.end() || !id->is_number()) {
    return;
  }
  const auto proto = info.find("protocol");
  out += "protocol " +
         (proto != info.end() && proto->is_string() ? proto->get<std::string>() : "802.1q") + " ";
  out += "id " + id->dump() + " ";
  const auto flags = info.find("flags");
  if (flags == info.end()) {
    return;
  }
  std::string shown;
  const auto add = [&](std::string_view name) {
    shown += (shown.empty() ? "" : ",") + std::string{name};
  };
  if (flags->is_array()) {
    for (const auto& f : *flags) {
      if (f.is_string()) {
        add(f.get<std::string>());
      }
    }
  } else if (flags->is_object()) {
    for (const VlanFlag& f : kFlags) {
      const auto v = flags->find(std::string{f.word});
      if (v != flags->end() && v->is_boolean() && v->get<bool>()) {
        add(f.shown);
      }
    }
  }
  out += "<" + shown + "> ";
}

const LinkTypeOps kVlanOps = {"vlan", &parse_vlan, &print_vlan, &vlan_usage};

}  // namespace subnic::cli
