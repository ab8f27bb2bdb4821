// `ip link` grammar (iproute2 ip/ip.c, ip/iplink.c, ip/ipaddress.c) to control requests
// (docs/PROTOCOL.md).
#pragma once

#include <optional>
#include <span>
#include <string>

#include "cli/cli_error.hpp"
#include "cli/options.hpp"
#include "ctl/json.hpp"

namespace subnic::cli {

using ctl::Json;

/// Filters of `link show` that the CLI applies to the daemon's answer.
struct ShowFilter {
  bool up_only = false;             ///< `up`: only links whose flags have "UP"
  std::optional<std::string> kind;  ///< `type KIND`: linkinfo.info_kind == KIND
  /// `type` needs linkinfo, so details were requested although -d was not
  /// given; the printer drops the detail keys again.
  bool strip_details = false;
  /// fdb show with `brport`/`dev`: bridge prints no `dev X` (and no "ifname").
  bool fdb_port_given = false;
};

/// One request to send, or (for `link show`) also how to filter the answer.
struct Command {
  std::string method;  ///< "link.add", "link.set", "link.del", "link.show", "fdb.show"
  Json params;         ///< exactly PROTOCOL.md's params, "netns" included with -n
  ShowFilter filter;
};

/// Parses the words after the global options: OBJECT COMMAND ARGS...
///
/// Objects (ip/ip.c do_cmd, prefix rule): `link` (also l, li, lin), `fdb`
/// (bridge's object, also f, fd: tried before ip's other objects), `help`.
/// Other objects of ip: `Error: subnic: object "X" is not supported yet`
/// (exit 1); unknown: `Object "X" is unknown, try "subnic help".` (exit 1).
/// No object: the usage text (exit 255).
///
/// Link commands (ip/iplink.c do_iplink, prefix rule, in ip's order): add,
/// set/change, replace (not supported), delete, show/lst/list, xstats/afstats/
/// property (not supported), help [TYPE]; none → show. Unknown:
/// `Command "X" is unknown, try "subnic link help".` (exit 255).
///
/// The words of add/set/delete follow iplink.c iplink_parse() and of show
/// ipaddress.c ipaddr_list_flush_or_save(); see parse_link.cpp for each word
/// and each error line.
CliResult<Command> parse_command(std::span<const std::string> args, const GlobalOptions& opts);

/// `link add|set|delete ...`: `verb` is "add", "set" or "del", `args` the
/// words after the verb. Exposed for parse_command and the tests.
CliResult<Command> parse_link_modify(std::string_view verb, std::span<const std::string> args,
                                     const GlobalOptions& opts);

/// The link words after `type veth peer` (iplink_parse() called by ip's
/// link_veth.c) → PROTOCOL.md's veth "peer" object: `[name] NAME` or `dev
/// NAME` → "name", `netns NS` → "to_netns", `address MAC`, `mtu N`; only
/// the keys given. `link DEV` is dropped, as veth drops it; `type` is
/// `Error: duplicate "type": "X" is the second value.` (exit 255);
/// txqueuelen, up/down, promisc, allmulticast, master are not supported
/// (exit 1); any other error as for `link add`.
CliResult<Json> parse_peer_words(std::span<const std::string> words);

/// `fdb [show|lst|list] [br BR] [brport DEV | dev DEV]` with `args` the words
/// after the object (bridge/fdb.c do_fdb(), fdb_show()).
CliResult<Command> parse_fdb(std::span<const std::string> args, const GlobalOptions& opts);

/// `link show ...` with `args` the words after show (or none).
CliResult<Command> parse_link_show(std::span<const std::string> args, const GlobalOptions& opts);

}  // namespace subnic::cli
