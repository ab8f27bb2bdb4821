// macvlan and its words: iproute2 ip/iplink_macvlan.c, kernel drivers/net/macvlan.c.
#include "cli/parse_macvlan.hpp"

#include <array>
#include <cstdint>
#include <optional>

#include "cli/words.hpp"
#include "core/mac.hpp"

namespace subnic::cli {

namespace {

constexpr std::array<std::string_view, 5> kModes = {"private", "vepa", "bridge", "passthru",
                                                    "source"};

constexpr std::string_view kUsage =
    "Usage: ... macvlan [ mode MODE ] [ flag MODE_FLAG ] [ nopromisc ] [ nodst ]\n"
    "                  [ macaddr { { add | del } MAC | set [ MAC ... ] | flush } ]\n"
    "                  [ bcqueuelen LENGTH ] [ bclim LIMIT ]\n"
    "\n"
    "MODE := { private | vepa | bridge | passthru | source }   (kernel default: vepa)\n"
    "MODE_FLAG := { null | nopromisc | nodst }\n"
    "    nopromisc: passthru only; the lower is not put in promiscuous mode\n"
    "    nodst: source mode; frames taken by source MAC skip destination delivery\n"
    "macaddr: edits the source-mode list of allowed source MACs\n"
    "LENGTH: broadcast/multicast queue length, 0..4294967295 (default 1000)\n"
    "LIMIT: broadcast queueing cutoff, 32-bit integer (default 1, -1: never queue)";

std::string_view macvlan_usage() {
  return kUsage;
}

constexpr unsigned kFlagNopromisc = 1;  // MACVLAN_FLAG_NOPROMISC
constexpr unsigned kFlagNodst = 2;      // MACVLAN_FLAG_NODST

std::string in_quotes(std::string_view s) {
  return "\"" + std::string{s} + "\"";
}

// A MAC for the source list: exactly 6 bytes of ll_addr_a2n() syntax.
CliResult<std::string> source_mac(std::string_view word) {
  auto bytes = ll_addr_a2n(word);
  if (!bytes) {
    return tl::unexpected{bytes.error()};
  }
  if (bytes->size() != 6) {
    return stop(in_quotes(word) + " is invalid lladdr.", kExitFailure);
  }
  return core::Mac::from_bytes(bytes->data()).to_string();
}

}  // namespace

CliResult<Json> parse_macvlan(std::span<const std::string> words) {
  Json info = Json::object();
  std::optional<std::string> mode;
  unsigned flags = 0;
  bool has_flags = false;
  std::optional<Json> macaddr;

  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto next = [&]() -> const std::string* {
      return i + 1 < words.size() ? &words[++i] : nullptr;
    };
    if (matches(w, "mode")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      bool known = false;
      for (const auto m : kModes) {
        known = known || *arg == m;
      }
      if (!known) {
        return stop(
            "Error: argument of \"mode\" must be \"private\", \"vepa\", \"bridge\", "
            "\"passthru\" or \"source\", not " +
                in_quotes(*arg),
            kExitFailure);
      }
      mode = *arg;
    } else if (matches(w, "flag")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      if (*arg == "nopromisc") {
        flags |= kFlagNopromisc;
      } else if (*arg == "nodst") {
        flags |= kFlagNodst;
      } else if (*arg != "null") {
        return stop(
            "Error: argument of \"flag\" must be \"nopromisc\", \"nodst\" or \"null\", "
            "not " +
                in_quotes(*arg),
            kExitFailure);
      }
      has_flags = true;
    } else if (matches(w, "macaddr")) {
      const std::string* op = next();
      if (op == nullptr) {
        return incomplete_command();
      }
      Json addrs = Json::array();
      if (*op == "add" || *op == "del") {
        const std::string* arg = next();
        if (arg == nullptr) {
          return incomplete_command();
        }
        auto mac = source_mac(*arg);
        if (!mac) {
          return tl::unexpected{mac.error()};
        }
        addrs.push_back(*mac);
      } else if (*op == "set") {
        // Takes the following words while they are MACs (ip: NEXT_ARG_FWD/PREV_ARG).
        while (i + 1 < words.size()) {
          auto mac = source_mac(words[i + 1]);
          if (!mac) {
            break;
          }
          addrs.push_back(*mac);
          ++i;
        }
      } else if (*op != "flush") {
        return stop(
            "Error: argument of \"macaddr\" must be \"add\", \"del\", \"set\" or "
            "\"flush\", not " +
                in_quotes(*op),
            kExitFailure);
      }
      macaddr = Json{{"op", *op}, {"addrs", std::move(addrs)}};
    } else if (matches(w, "nopromisc")) {
      flags |= kFlagNopromisc;
      has_flags = true;
    } else if (matches(w, "nodst")) {
      flags |= kFlagNodst;
      has_flags = true;
    } else if (matches(w, "bcqueuelen")) {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      const auto n = get_u32(*arg);
      if (!n) {
        return stop(
            "Error: argument of \"bcqueuelen\" must be a positive integer "
            "[0-4294967295], not " +
                in_quotes(*arg),
            kExitFailure);
      }
      info["bcqueuelen"] = *n;
    } else if (w == "bclim") {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      const auto n = get_s32(*arg);
      if (!n) {
        return stop("Error: illegal value for \"bclim\": " + in_quotes(*arg), kExitFailure);
      }
      info["bclim"] = *n;
    } else if (matches(w, "help")) {
      return stop(std::string{kUsage}, kExitFailure);
    } else {
      return stop("macvlan: unknown option " + in_quotes(w) + "?", kExitFailure);
    }
  }

  if (mode) {
    info["mode"] = *mode;
  }
  if (has_flags) {
    if ((flags & kFlagNopromisc) != 0 && mode != "passthru") {
      return stop("macvlan: nopromisc flag only valid in passthru mode", kExitFailure);
    }
    Json names = Json::array();
    if ((flags & kFlagNopromisc) != 0) {
      names.push_back("nopromisc");
    }
    if ((flags & kFlagNodst) != 0) {
      names.push_back("nodst");
    }
    info["flags"] = std::move(names);
  }
  if (macaddr) {
    info["macaddr"] = std::move(*macaddr);
  }
  return info;
}

namespace {

bool has_flag(const Json& info, std::string_view name) {
  if (const auto f = info.find("flags"); f != info.end() && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string() && v.get_ref<const std::string&>() == name) {
        return true;
      }
    }
  }
  const auto b = info.find(std::string{name});
  return b != info.end() && b->is_boolean() && b->get<bool>();
}

void put_number(const Json& info, const char* key, std::string_view word, std::string& out) {
  if (const auto v = info.find(key); v != info.end() && v->is_number()) {
    out += std::string{word} + " " + v->dump() + " ";
  }
}

}  // namespace

void print_macvlan(const Json& info, std::string& out) {
  // macvlan_print_opt() prints nothing at all without a mode attribute.
  const auto mode = info.find("mode");
  if (mode == info.end() || !mode->is_string()) {
    return;
  }
  out += "mode " + mode->get<std::string>() + " ";
  if (has_flag(info, "nopromisc")) {
    out += "nopromisc ";
  }
  if (has_flag(info, "nodst")) {
    out += "nodst ";
  }
  put_number(info, "bcqueuelen", "bcqueuelen", out);
  put_number(info, "usedbcqueuelen", "usedbcqueuelen", out);
  put_number(info, "bclim", "bclim", out);
  if (mode->get<std::string>() != "source") {
    return;
  }
  const auto count = info.find("macaddr_count");
  if (count == info.end() || !count->is_number()) {
    return;
  }
  out += "remotes (" + count->dump() + ") ";
  if (const auto data = info.find("macaddr_data"); data != info.end() && data->is_array()) {
    for (const auto& mac : *data) {
      if (mac.is_string()) {
        out += mac.get<std::string>() + " ";
      }
    }
  }
}

const LinkTypeOps kMacvlanOps = {"macvlan", &parse_macvlan, &print_macvlan, &macvlan_usage};

}  // namespace subnic::cli
