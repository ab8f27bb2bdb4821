// ipvlan and its words: iproute2 ip/iplink_ipvlan.c (6.1), kernel drivers/net/ipvlan/ipvlan_main.c.
#include "cli/parse_ipvlan.hpp"

#include <array>
#include <optional>
#include <string_view>

#include "cli/words.hpp"

namespace subnic::cli {

namespace {

// ip's print_explain() with lu->id "ipvlan", word for word.
constexpr std::string_view kUsage =
    "Usage: ... ipvlan [ mode MODE ] [ FLAGS ]\n"
    "\n"
    "MODE: l3 | l3s | l2\n"
    "FLAGS: bridge | private | vepa\n"
    "(first values are the defaults if nothing is specified).";

std::string_view ipvlan_usage() {
  return kUsage;
}

// IFLA_IPVLAN_MODE values by name; ip compares them with strcmp().
constexpr std::array<std::string_view, 3> kModes = {"l2", "l3", "l3s"};

// The flag words in the order ip tries them, each by prefix; "bridge" is no bit (0).
constexpr std::array<std::string_view, 3> kFlagWords = {"private", "vepa", "bridge"};

bool is_set(const Json& info, std::string_view key) {
  const auto it = info.find(std::string{key});
  return it != info.end() && !(it->is_boolean() && !it->get<bool>());
}

}  // namespace

CliResult<Json> parse_ipvlan(std::span<const std::string> words) {
  Json info = Json::object();
  if (words.empty()) {
    return info;
  }
  std::optional<std::string> mode;
  std::optional<std::string_view> flag;

  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (matches(w, "mode")) {
      if (i + 1 >= words.size()) {
        return incomplete_command();
      }
      const std::string& arg = words[++i];
      bool known = false;
      for (const auto m : kModes) {
        known = known || arg == m;
      }
      if (!known) {
        return stop("Error: argument of \"mode\" must be either \"l2\", \"l3\" or \"l3s\"",
                    kExitFailure);
      }
      mode = arg;
      continue;
    }
    // Only the first flag word is taken; a second one falls through to the
    // unknown-option error (ip: `matches(...) == 0 && !mflag_given`).
    bool taken = false;
    for (const auto f : kFlagWords) {
      if (!flag && matches(w, f)) {
        flag = f;
        taken = true;
        break;
      }
    }
    if (taken) {
      continue;
    }
    if (matches(w, "help")) {
      return stop(std::string{kUsage}, kExitFailure);
    }
    return stop("ipvlan: unknown option \"" + w + "\"?", kExitFailure);
  }

  if (mode) {
    info["mode"] = *mode;
  }
  info["flags"] = std::string{flag.value_or("bridge")};
  return info;
}

void print_ipvlan(const Json& info, std::string& out) {
  if (const auto mode = info.find("mode"); mode != info.end() && mode->is_string()) {
    out += " mode " + mode->get<std::string>() + " ";
  }
  for (const auto f : kFlagWords) {
    if (is_set(info, f)) {
      out += std::string{f} + " ";
      return;
    }
  }
  if (const auto flags = info.find("flags"); flags != info.end() && flags->is_string()) {
    out += flags->get<std::string>() + " ";
  }
}

const LinkTypeOps kIpvlanOps = {"ipvlan", &parse_ipvlan, &print_ipvlan, &ipvlan_usage};

}  // namespace subnic::cli
