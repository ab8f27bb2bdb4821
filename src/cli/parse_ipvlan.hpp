// `type ipvlan` words (iproute2 ip/iplink_ipvlan.c, 6.1) to info_data, and info_data back to
// `ip -d` words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// ipvlan's entry in the link type table.
extern const LinkTypeOps kIpvlanOps;

/// Parses the words after `type ipvlan` into PROTOCOL.md's ipvlan info_data,
/// following iproute2 6.1 ip/iplink_ipvlan.c ipvlan_parse_opt():
///
/// - keywords by ip's prefix rule in ip's order: mode, private, vepa, bridge,
///   help;
/// - `mode l2|l3|l3s` (exact) → "mode"; the last mode word wins (ip sends one
///   attribute per word and the kernel keeps the last); no mode word → no
///   "mode" key (the kernel then applies l3 to the whole port);
/// - the first of `bridge|private|vepa` → "flags"; "flags" is always present
///   in the result ("bridge" when no flag word was given), because ip always
///   sends IFLA_IPVLAN_FLAGS once it parses any word;
/// - no words at all → an empty object (no info_data), as ip's iplink.c calls
///   parse_opt only when words follow the type.
///
/// Errors, with ip's first line (ip also prints the usage text after an
/// unknown option; subnic prints the one line):
/// - `Error: argument of "mode" must be either "l2", "l3" or "l3s"`, exit 1;
/// - `ipvlan: unknown option "X"?`, exit 1: any other word, including a
///   second `bridge|private|vepa`;
/// - a missing mode argument: `Command line is not complete. Try option
///   "help"`, exit 255;
/// - `help`: ip's usage text, exit 1.
CliResult<Json> parse_ipvlan(std::span<const std::string> words);

/// ` mode M ` then `bridge `, `private ` or `vepa `, as iplink_ipvlan.c
/// ipvlan_print_opt() prints them (so the line reads `    ipvlan  mode l2
/// bridge `, two spaces after the kind). The mode is read from "mode"; the flag
/// from ip -j's own keys ("private", "vepa", "bridge": true, tried in that
/// order, as ip tests the bits) or from a PROTOCOL.md request-style "flags"
/// string. Either part is left out when absent, as ip leaves out a missing
/// attribute.
void print_ipvlan(const Json& info_data, std::string& out);

}  // namespace subnic::cli
