// Object and command dispatch of the CLI, in ip's order and with ip's prefix rule.
#include "cli/parse.hpp"

#include <array>
#include <string_view>

#include "cli/link_type.hpp"
#include "cli/usage.hpp"
#include "cli/words.hpp"

namespace subnic::cli {

namespace {

// iproute2 ip/ip.c cmds[] (6.1) other than link and help.
constexpr std::array<std::string_view, 33> kOtherIpObjects = {
    "address",   "addrlabel", "amt",    "maddress", "route", "rule",       "neighbor",
    "neighbour", "ntable",    "ntbl",   "l2tp",     "fou",   "ila",        "macsec",
    "tunnel",    "tunl",      "tuntap", "tap",      "token", "tcpmetrics", "tcp_metrics",
    "monitor",   "xfrm",      "mroute", "mrule",    "netns", "netconf",    "vrf",
    "sr",        "nexthop",   "mptcp",  "ioam",     "stats"};

CliResult<Command> parse_link(std::span<const std::string> args, const GlobalOptions& opts) {
  if (args.empty()) {
    return parse_link_show(args, opts);
  }
  const std::string& cmd = args[0];
  const auto rest = args.subspan(1);
  if (matches(cmd, "add")) {
    return parse_link_modify("add", rest, opts);
  }
  if (matches(cmd, "set") || matches(cmd, "change")) {
    return parse_link_modify("set", rest, opts);
  }
  if (matches(cmd, "replace")) {
    return not_supported(cmd);
  }
  if (matches(cmd, "delete")) {
    return parse_link_modify("del", rest, opts);
  }
  if (matches(cmd, "show") || matches(cmd, "lst") || matches(cmd, "list")) {
    return parse_link_show(rest, opts);
  }
  if (matches(cmd, "xstats") || matches(cmd, "afstats") || matches(cmd, "property")) {
    return not_supported(cmd);
  }
  if (matches(cmd, "help")) {
    // iplink.c do_help(): `link help TYPE` prints the type's help on stdout
    // and succeeds; otherwise the link usage, exit 255.
    if (!rest.empty()) {
      if (const LinkTypeOps* t = find_link_type(rest[0])) {
        return tl::unexpected{CliError{std::string{t->usage()}, 0, true}};
      }
    }
    return stop(link_usage(), kExitUsage);
  }
  return stop("Command \"" + cmd + "\" is unknown, try \"subnic link help\".", kExitUsage);
}

}  // namespace

CliResult<Command> parse_fdb(std::span<const std::string> args, const GlobalOptions& opts) {
  // bridge/fdb.c do_fdb(): no command is show.
  std::span<const std::string> words = args;
  if (!args.empty()) {
    const std::string& cmd = args[0];
    words = args.subspan(1);
    if (matches(cmd, "add") || matches(cmd, "append") || matches(cmd, "replace") ||
        matches(cmd, "delete")) {
      return not_supported(cmd);
    }
    if (!(matches(cmd, "show") || matches(cmd, "lst") || matches(cmd, "list"))) {
      if (matches(cmd, "get") || matches(cmd, "flush")) {
        return not_supported(cmd);
      }
      if (matches(cmd, "help")) {
        return stop(fdb_usage(), kExitUsage);
      }
      return stop("Command \"" + cmd + "\" is unknown, try \"subnic fdb help\".", kExitUsage);
    }
  }
  // fdb_show(): exact words; the last br / brport|dev wins; other words are
  // ignored, as bridge ignores them.
  Command cmd;
  cmd.method = "fdb.show";
  cmd.params = Json::object();
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto next = [&]() -> const std::string* {
      return i + 1 < words.size() ? &words[++i] : nullptr;
    };
    if (w == "brport" || w == "dev" || w == "br") {
      const std::string* arg = next();
      if (arg == nullptr) {
        return incomplete_command();
      }
      cmd.params[w == "br" ? "br" : "dev"] = *arg;
      cmd.filter.fdb_port_given = cmd.filter.fdb_port_given || w != "br";
    } else if (w == "vlan" || w == "state" || w == "dynamic") {
      return not_supported(w);
    } else if (matches(w, "help")) {
      return stop(fdb_usage(), kExitUsage);
    }
  }
  cmd.params["stats"] = opts.stats > 0;
  if (opts.netns) {
    cmd.params["netns"] = *opts.netns;
  }
  return cmd;
}

CliResult<Command> parse_command(std::span<const std::string> args, const GlobalOptions& opts) {
  if (args.empty()) {
    return stop(main_usage(), kExitUsage);
  }
  const std::string& object = args[0];
  if (matches(object, "link")) {
    return parse_link(args.subspan(1), opts);
  }
  if (matches(object, "fdb")) {
    return parse_fdb(args.subspan(1), opts);
  }
  if (matches(object, "help")) {
    return stop(main_usage(), kExitUsage);
  }
  for (const auto other : kOtherIpObjects) {
    if (matches(object, other)) {
      return stop("Error: subnic: object \"" + object + "\" is not supported yet", kExitFailure);
    }
  }
  return stop("Object \"" + object + "\" is unknown, try \"subnic help\".", kExitFailure);
}

}  // namespace subnic::cli
