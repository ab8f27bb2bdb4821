// `type macvlan` words (iproute2 ip/iplink_macvlan.c) to info_data, and info_data back to `ip -d`
// words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// macvlan's entry in the link type table.
extern const LinkTypeOps kMacvlanOps;

/// Parses the words after `type macvlan` into PROTOCOL.md's macvlan
/// info_data, following iproute2 ip/iplink_macvlan.c macvlan_parse_opt():
///
/// - keywords by ip's prefix rule in ip's order: mode, flag, macaddr,
///   nopromisc, nodst, bcqueuelen, then bclim (exact), help;
/// - `mode M` → "mode"; no mode word → no "mode" key (kernel default vepa);
/// - `nopromisc`, `nodst`, `flag nopromisc|nodst|null` accumulate "flags"
///   (any of them present → the key is sent; `flag null` alone → []);
/// - `macaddr add|del MAC`, `macaddr set [MAC...]` (takes the following words
///   while they are 6-byte addresses), `macaddr flush` → "macaddr": {"op",
///   "addrs"}; the last macaddr word wins, as the kernel keeps the last
///   attribute;
/// - `bcqueuelen N` (u32) and `bclim N` (s32), numbers as get_u32/get_s32.
///
/// Errors (exit 1 unless noted), with ip's wording:
/// - `Error: argument of "mode" must be "private", "vepa", "bridge",
///   "passthru" or "source", not "X"` (mode_arg);
/// - `Error: argument of "flag" must be "nopromisc", "nodst" or "null", not
///   "X"` (flag_arg);
/// - `Error: argument of "bcqueuelen" must be a positive integer
///   [0-4294967295], not "X"` (bc_queue_len_arg);
/// - `Error: illegal value for "bclim": "X"` (bclim_arg);
/// - `macvlan: nopromisc flag only valid in passthru mode` (flags sent with
///   nopromisc and mode ≠ passthru, including no mode word);
/// - `macvlan: unknown option "X"?` (any other word);
/// - `"X" is invalid lladdr.` for a bad MAC after `macaddr add|del` (ip says
///   this when the text does not parse and nothing when it has the wrong
///   length; subnic says it in both cases);
/// - subnic's own, where ip prints only its usage text: `Error: argument of
///   "macaddr" must be "add", "del", "set" or "flush", not "X"`;
/// - a missing argument: `Command line is not complete. Try option "help"`
///   (exit 255); `help`: the usage text (exit 1).
///
/// `nodst` is accepted in every mode, as ip 6.1 and the kernel accept it
/// (checked against `ip link add ... type macvlan mode bridge nodst`, which
/// succeeds and shows "mode bridge nodst").
CliResult<Json> parse_macvlan(std::span<const std::string> words);

/// `mode M [nopromisc] [nodst] bcqueuelen N usedbcqueuelen N [bclim N]
/// [remotes (N) MAC...]`, each word followed by a space, as
/// iplink_macvlan.c macvlan_print_opt() (with the bclim patch). Flags are read
/// from "flags" (PROTOCOL.md) or from ip's own "nopromisc"/"nodst" booleans.
void print_macvlan(const Json& info_data, std::string& out);

}  // namespace subnic::cli
