// `link add|set|delete|show` words to PROTOCOL.md params, following
// iproute2 ip/iplink.c iplink_parse() (6.1) word by word, in its order.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cli/link_type.hpp"
#include "cli/parse.hpp"
#include "cli/usage.hpp"
#include "cli/words.hpp"
#include "core/mac.hpp"

namespace subnic::cli {

namespace {

// Words iplink_parse() knows that subnic does not implement. `exact` words
// are strcmp()ed by ip, the others matched by prefix; the table keeps ip's
// order relative to the words handled in parse_words() below (see there).
struct IpWord {
  std::string_view word;
  bool exact;
};

// Checked right after "mtu" in ip's order, before "netns".
constexpr std::array<IpWord, 4> kXdpWords = {
    {{"xdpgeneric", true}, {"xdpdrv", true}, {"xdpoffload", true}, {"xdp", true}}};
// Checked between "promisc" and "type"; "master" (prefix) comes after "vf",
// "nomaster" (prefix) after "vrf" (see parse_words()).
constexpr std::array<IpWord, 4> kBeforeMaster = {
    {{"trailers", true}, {"arp", true}, {"carrier", true}, {"vf", true}}};
// Checked after "type", before the device-name fallback.
constexpr std::array<IpWord, 17> kLateWords = {{{"alias", false},
                                                {"group", true},
                                                {"mode", true},
                                                {"state", true},
                                                {"numtxqueues", false},
                                                {"numrxqueues", false},
                                                {"addrgenmode", false},
                                                {"link-netns", false},
                                                {"link-netnsid", false},
                                                {"protodown", true},
                                                {"protodown_reason", true},
                                                {"gso_max_size", true},
                                                {"gso_max_segs", true},
                                                {"gro_max_size", true},
                                                {"gso_ipv4_max_size", true},
                                                {"gro_ipv4_max_size", true},
                                                {"parentdev", true}}};

template <std::size_t N>
bool in(const std::array<IpWord, N>& table, std::string_view w) {
  for (const IpWord& k : table) {
    if (k.exact ? w == k.word : matches(w, k.word)) {
      return true;
    }
  }
  return false;
}

// What iplink_parse() collected.
struct LinkWords {
  std::optional<std::string> name;  // "name NAME"
  std::optional<std::string> dev;   // "dev NAME" or a bare NAME
  bool dev_is_name = false;         // ip: dev and name are the same pointer
  std::optional<std::string> link;
  std::optional<std::vector<std::uint8_t>> address;
  std::optional<int> mtu;
  std::optional<int> txqueuelen;
  std::optional<std::string> netns;
  std::optional<bool> up;
  std::optional<bool> promisc;
  std::optional<bool> allmulticast;
  std::optional<bool> spoofchk;          // subnic's: per upper (ip: `vf N spoofchk`)
  std::optional<std::uint32_t> maxmacs;  // subnic's: per lower
  std::optional<std::string> master;     // "master BR", or "" for "nomaster"; the last word wins
  std::optional<std::string> type;
  std::vector<std::string> type_args;
};

CliResult<bool> parse_on_off(std::string_view key, std::string_view arg) {
  if (arg == "on") {
    return true;
  }
  if (arg == "off") {
    return false;
  }
  return on_off(key, arg);
}

// The iplink_parse() loop. `verb` is "add", "set" or "del".
CliResult<LinkWords> parse_words(std::string_view verb, std::span<const std::string> args) {
  LinkWords lw;
  const bool create = verb == "add";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    const auto next = [&]() -> const std::string* {
      return i + 1 < args.size() ? &args[++i] : nullptr;
    };
    // Words that would change the new link at creation, which link.add does
    // not carry (PROTOCOL.md): refused rather than silently dropped.
    const auto add_only_refusal = [&]() -> std::optional<CliError> {
      if (create) {
        return not_supported(w).value();
      }
      return std::nullopt;
    };

    if (w == "up" || w == "down") {
      if (auto e = add_only_refusal()) {
        return tl::unexpected{*e};
      }
      lw.up = w == "up";
    } else if (w == "name") {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (lw.name) {
        return duparg("name", *arg);
      }
      if (!ip_check_ifname(*arg)) {
        return invarg("\"name\" not a valid ifname", *arg);
      }
      lw.name = *arg;
      if (!lw.dev) {
        lw.dev = *arg;
        lw.dev_is_name = true;
      }
    } else if (w == "index") {
      return not_supported(w);
    } else if (matches(w, "link")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      lw.link = *arg;  // used by add only, as in ip
    } else if (matches(w, "address")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      auto bytes = ll_addr_a2n(*arg);
      if (!bytes) {
        return tl::unexpected{bytes.error()};
      }
      lw.address = std::move(*bytes);
    } else if (matches(w, "broadcast") || w == "brd") {
      return not_supported(w);
    } else if (matches(w, "txqueuelen") || w == "qlen" || matches(w, "txqlen")) {
      if (!create) {
        return not_supported(w);  // link.set has no txqueuelen (PROTOCOL.md)
      }
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (lw.txqueuelen) {
        return duparg("txqueuelen", *arg);
      }
      lw.txqueuelen = get_integer(*arg);
      if (!lw.txqueuelen) {
        return invarg("Invalid \"txqueuelen\" value", *arg);
      }
    } else if (w == "mtu") {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (lw.mtu) {
        return duparg("mtu", *arg);
      }
      lw.mtu = get_integer(*arg);
      if (!lw.mtu) {
        return invarg("Invalid \"mtu\" value", *arg);
      }
    } else if (in(kXdpWords, w)) {
      return not_supported(w);
    } else if (w == "netns") {
      // On add: create the device there ("to_netns"); on set: move it.
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (lw.netns) {
        return duparg("netns", *arg);
      }
      lw.netns = *arg;
    } else if (w == "multicast") {
      return not_supported(w);
    } else if (w == "allmulticast" || w == "promisc" || w == "spoofchk") {
      // spoofchk is subnic's word (issue 7), on `add` and `set`: ip has it only for SR-IOV VFs.
      if (w != "spoofchk") {
        if (auto e = add_only_refusal()) {
          return tl::unexpected{*e};
        }
      }
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      auto on = parse_on_off(w, *arg);
      if (!on) {
        return tl::unexpected{on.error()};
      }
      (w == "promisc" ? lw.promisc : w == "spoofchk" ? lw.spoofchk : lw.allmulticast) = *on;
    } else if (w == "maxmacs") {
      // subnic's word (issue 7), `set` only: the lower's MAC limit.
      if (create) {
        return not_supported(w);
      }
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (lw.maxmacs) {
        return duparg("maxmacs", *arg);
      }
      const auto n = get_u32(*arg);
      if (!n) {
        return invarg("Invalid \"maxmacs\" value", *arg);
      }
      lw.maxmacs = *n;
    } else if (in(kBeforeMaster, w)) {
      return not_supported(w);
    } else if (matches(w, "master")) {
      if (auto e = add_only_refusal()) {
        return tl::unexpected{*e};
      }
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      lw.master = *arg;  // ip resolves it; subnicd answers a missing one as ip does
    } else if (w == "vrf") {
      return not_supported(w);
    } else if (matches(w, "nomaster")) {
      if (auto e = add_only_refusal()) {
        return tl::unexpected{*e};
      }
      lw.master = std::string{};
    } else if (matches(w, "dynamic")) {
      return not_supported(w);
    } else if (matches(w, "type")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      lw.type = *arg;
      lw.type_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    } else if (in(kLateWords, w)) {
      return not_supported(w);
    } else {
      if (matches(w, "help")) {
        return stop(link_usage(), kExitUsage);
      }
      const std::string* arg = &w;
      if (w == "dev") {
        arg = next();
        if (arg == nullptr) {
          return incomplete_command();
        }
      }
      if (lw.dev && !lw.dev_is_name) {
        return duparg2("dev", *arg);
      }
      if (!ip_check_altifname(*arg)) {
        return invarg("\"dev\" not a valid ifname", *arg);
      }
      lw.dev = *arg;
      lw.dev_is_name = false;
    }
  }
  return lw;
}

std::string mac_text(const std::vector<std::uint8_t>& bytes) {
  return core::Mac::from_bytes(bytes.data()).to_string();
}

}  // namespace

CliResult<Command> parse_link_modify(std::string_view verb, std::span<const std::string> args,
                                     const GlobalOptions& opts) {
  auto parsed = parse_words(verb, args);
  if (!parsed) {
    return tl::unexpected{parsed.error()};
  }
  LinkWords& lw = *parsed;
  const bool create = verb == "add";

  // "Allow ip link add dev and ip link add name" (iplink_parse): a name given
  // both ways must be the same name.
  const bool same = !lw.name || lw.dev_is_name || (lw.dev && *lw.dev == *lw.name);
  const bool bad_address_len = lw.address && lw.address->size() != 6;

  if (!create && lw.dev && bad_address_len) {
    return stop(
        "Invalid address length " + std::to_string(lw.address->size()) + " - must be 6 bytes",
        kExitFailure);
  }
  if (create && !same) {
    return stop("both \"name\" and \"dev\" cannot be used when creating devices.", kExitUsage);
  }
  if (!create && !lw.dev) {
    return stop("Not enough information: \"dev\" argument is required.", kExitUsage);
  }

  Command cmd;
  cmd.params = Json::object();
  Json& p = cmd.params;
  if (lw.type) {
    const LinkTypeOps* t = find_link_type(*lw.type);
    if (t == nullptr) {
      return type_not_supported(*lw.type);
    }
    Json info = Json::object();
    if (!lw.type_args.empty()) {
      auto r = t->parse(lw.type_args);
      if (!r) {
        return tl::unexpected{r.error()};
      }
      info = std::move(*r);
    }
    if (create && t->slave) {
      // ip sends IFLA_INFO_SLAVE_KIND without IFLA_INFO_KIND: the kernel's
      // rtnl_newlink() finds no link ops.
      return stop("Error: Unknown device type.", kExitDaemon);
    }
    if (verb != "del") {
      p["type"] = std::string{t->kind};
      if (!info.empty()) {
        p[t->slave ? "info_slave_data" : "info_data"] = std::move(info);
      }
    }
  } else if (create) {
    return stop("Not enough information: \"type\" argument is required", kExitFailure);
  }

  if (create) {
    const std::optional<std::string>& name = lw.name ? lw.name : lw.dev;
    if (!name) {
      return stop("Not enough information: \"name\" argument is required.", kExitUsage);
    }
    if (bad_address_len) {
      // ip sends it and the kernel refuses any address that is not 6 bytes
      // (macvlan_validate(): EINVAL); say what ip would print.
      return stop("RTNETLINK answers: Invalid argument", kExitDaemon);
    }
    cmd.method = "link.add";
    p["name"] = *name;
    if (lw.link) {
      p["link"] = *lw.link;
    }
    if (lw.address) {
      p["address"] = mac_text(*lw.address);
    }
    if (lw.mtu) {
      p["mtu"] = *lw.mtu;
    }
    if (lw.txqueuelen) {
      p["txqueuelen"] = *lw.txqueuelen;
    }
    if (lw.netns) {
      p["to_netns"] = *lw.netns;
    }
    if (lw.spoofchk) {
      p["spoofchk"] = *lw.spoofchk;
    }
  } else if (verb == "set") {
    cmd.method = "link.set";
    p["name"] = *lw.dev;
    if (lw.up) {
      p["up"] = *lw.up;
    }
    if (lw.address) {
      p["address"] = mac_text(*lw.address);
    }
    if (lw.mtu) {
      p["mtu"] = *lw.mtu;
    }
    if (!same) {
      p["newname"] = *lw.name;  // ip renames only to a different name
    }
    if (lw.netns) {
      p["to_netns"] = *lw.netns;
    }
    if (lw.promisc) {
      p["promisc"] = *lw.promisc;
    }
    if (lw.allmulticast) {
      p["allmulticast"] = *lw.allmulticast;
    }
    if (lw.spoofchk) {
      p["spoofchk"] = *lw.spoofchk;
    }
    if (lw.maxmacs) {
      p["maxmacs"] = *lw.maxmacs;
    }
    if (lw.master && lw.master->empty()) {
      p["nomaster"] = true;
    } else if (lw.master) {
      p["master"] = *lw.master;
    }
  } else {
    // RTM_DELLINK: ip sends the other words too and the kernel ignores them.
    cmd.method = "link.del";
    p = Json{{"name", *lw.dev}};
  }
  if (opts.netns) {
    p["netns"] = *opts.netns;
  }
  return cmd;
}

CliResult<Json> parse_peer_words(std::span<const std::string> words) {
  auto parsed = parse_words("add", words);
  if (!parsed) {
    return tl::unexpected{parsed.error()};
  }
  const LinkWords& lw = *parsed;
  if (lw.type) {
    return duparg("type", *lw.type);  // link_veth.c: the peer has no type of its own
  }
  if (lw.txqueuelen) {
    return not_supported("txqueuelen");  // not part of the peer's request (PROTOCOL.md)
  }
  if (lw.address && lw.address->size() != 6) {
    return stop("RTNETLINK answers: Invalid argument", kExitDaemon);  // veth_validate()
  }
  // `link` is parsed and dropped, as veth_parse_opt() drops it.
  Json peer = Json::object();
  if (const std::optional<std::string>& name = lw.name ? lw.name : lw.dev; name) {
    peer["name"] = *name;
  }
  if (lw.netns) {
    peer["to_netns"] = *lw.netns;
  }
  if (lw.address) {
    peer["address"] = mac_text(*lw.address);
  }
  if (lw.mtu) {
    peer["mtu"] = *lw.mtu;
  }
  return peer;
}

CliResult<Command> parse_link_show(std::span<const std::string> args, const GlobalOptions& opts) {
  // iproute2 ip/ipaddress.c ipaddr_list_flush_or_save(), the words that
  // apply to links.
  Command cmd;
  cmd.method = "link.show";
  std::optional<std::string> dev;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    const auto next = [&]() -> const std::string* {
      return i + 1 < args.size() ? &args[++i] : nullptr;
    };
    if (w == "up") {
      cmd.filter.up_only = true;
    } else if (w == "type") {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      cmd.filter.kind = *arg;
    } else if (w == "to" || w == "scope" || w == "label" || w == "group" || w == "master" ||
               w == "vrf" || w == "nomaster" || w == "protocol") {
      return not_supported(w);
    } else {
      const std::string* arg = &w;
      if (w == "dev") {
        arg = next();
        if (arg == nullptr) {
          return incomplete_command();
        }
      } else if (matches(w, "help")) {
        return stop(link_usage(), kExitUsage);
      }
      if (dev) {
        return duparg2("dev", *arg);
      }
      dev = *arg;
    }
  }
  cmd.params = Json::object();
  if (dev) {
    cmd.params["name"] = *dev;
  }
  cmd.params["stats"] = opts.stats > 0;
  cmd.params["details"] = opts.details || cmd.filter.kind.has_value();
  cmd.filter.strip_details = cmd.filter.kind.has_value() && !opts.details;
  if (opts.netns) {
    cmd.params["netns"] = *opts.netns;
  }
  return cmd;
}

}  // namespace subnic::cli
