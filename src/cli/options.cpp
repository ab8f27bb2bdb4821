// Global option parsing in ip's style. CLI11 is not used here: ip's options
// are any prefix of their name ("-s", "-stat", "-statistics"), "--x" means
// "-x", and the first word without '-' ends them; CLI11 has none of these rules.
#include "cli/options.hpp"

#include <array>
#include <string_view>

#include "cli/usage.hpp"
#include "cli/words.hpp"

namespace subnic::cli {

namespace {

enum class Act {
  kIgnore,         // ip option with no meaning for subnic
  kIgnoreWithArg,  // same, takes a value
  kUnsupported,    // changes ip's output or flow; subnic does not do it yet
  kHuman,
  kIec,
  kStats,
  kDetails,
  kVersion,
  kJson,
  kPretty,
  kHelp,
  kNetns,
  kSocket,
};

struct Opt {
  std::string_view name;
  bool exact;  // strcmp in ip, else matches()
  Act act;
};

// iproute2 ip/ip.c main(), in its order; first match wins.
constexpr std::array kOptions = {
    Opt{"-loops", false, Act::kIgnoreWithArg},
    Opt{"-family", false, Act::kIgnoreWithArg},
    Opt{"-4", true, Act::kIgnore},
    Opt{"-6", true, Act::kIgnore},
    Opt{"-0", true, Act::kIgnore},
    Opt{"-D", true, Act::kIgnore},
    Opt{"-M", true, Act::kIgnore},
    Opt{"-B", true, Act::kIgnore},
    Opt{"-human", false, Act::kHuman},
    Opt{"-human-readable", false, Act::kHuman},
    Opt{"-iec", false, Act::kIec},
    Opt{"-stats", false, Act::kStats},
    Opt{"-statistics", false, Act::kStats},
    Opt{"-details", false, Act::kDetails},
    Opt{"-resolve", false, Act::kIgnore},
    Opt{"-oneline", false, Act::kUnsupported},
    Opt{"-timestamp", false, Act::kIgnore},
    Opt{"-tshort", false, Act::kIgnore},
    Opt{"-Version", false, Act::kVersion},
    Opt{"-force", false, Act::kIgnore},
    Opt{"-batch", false, Act::kUnsupported},
    Opt{"-brief", false, Act::kUnsupported},
    Opt{"-json", false, Act::kJson},
    Opt{"-pretty", false, Act::kPretty},
    Opt{"-rcvbuf", false, Act::kIgnoreWithArg},
    Opt{"-color", false, Act::kIgnore},
    Opt{"-help", false, Act::kHelp},
    Opt{"-netns", false, Act::kNetns},
    Opt{"-Numeric", false, Act::kIgnore},
    Opt{"-all", false, Act::kUnsupported},
    Opt{"-socket", false, Act::kSocket},
};

const Opt* find_option(std::string_view opt) {
  for (const Opt& o : kOptions) {
    if (o.exact ? opt == o.name : matches(opt, o.name)) {
      return &o;
    }
  }
  return nullptr;
}

}  // namespace

CliResult<std::size_t> parse_global_options(std::span<const std::string> args,
                                            GlobalOptions& opts) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view opt = args[i];
    if (opt == "--") {
      return i + 1;
    }
    if (opt.empty() || opt[0] != '-') {
      break;
    }
    if (opt.size() > 1 && opt[1] == '-') {
      opt.remove_prefix(1);
    }
    // "-color=auto" and "-socket=PATH" carry their value after '='.
    std::optional<std::string_view> inline_value;
    if (const auto eq = opt.find('='); eq != std::string_view::npos) {
      inline_value = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    }
    const Opt* o = find_option(opt);
    const bool takes_value = o != nullptr && (o->act == Act::kIgnoreWithArg ||
                                              o->act == Act::kNetns || o->act == Act::kSocket);
    if (o == nullptr || (inline_value && o->act != Act::kSocket && o->name != "-color")) {
      return stop("Option \"" + args[i] + "\" is unknown, try \"subnic -help\".", kExitUsage);
    }
    std::string value;
    if (takes_value) {
      if (inline_value) {
        value = std::string{*inline_value};
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return incomplete_command();
      }
    }
    switch (o->act) {
      case Act::kIgnore:
      case Act::kIgnoreWithArg:
        break;
      case Act::kUnsupported:
        return stop("Error: subnic: option \"" + args[i] + "\" is not supported yet", kExitUsage);
      case Act::kHuman:
        opts.human = true;
        break;
      case Act::kIec:
        opts.iec = true;
        break;
      case Act::kStats:
        ++opts.stats;
        break;
      case Act::kDetails:
        opts.details = true;
        break;
      case Act::kVersion:
        opts.version = true;  // ip prints its version at once and ignores the rest
        return i + 1;
      case Act::kJson:
        opts.json = true;
        break;
      case Act::kPretty:
        opts.pretty = true;
        break;
      case Act::kHelp:
        return stop(main_usage(), kExitUsage);
      case Act::kNetns:
        opts.netns = value;
        break;
      case Act::kSocket:
        opts.socket_path = value;
        break;
    }
  }
  return i;
}

}  // namespace subnic::cli
