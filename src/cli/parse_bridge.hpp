// `type bridge` words (iproute2 6.1 ip/iplink_bridge.c) to info_data, and info_data back to
// `ip -d` words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// bridge's entry in the link type table.
extern const LinkTypeOps kBridgeOps;

/// Parses the words after `type bridge` (add and set) into PROTOCOL.md's
/// bridge info_data, following iproute2 ip/iplink_bridge.c bridge_parse_opt():
///
/// - by ip's prefix rule in ip's order: forward_delay, hello_time, max_age,
///   ageing_time, stp_state, priority; `fdb_max_learned` exact (iproute2 6.7's
///   word, after no_linklocal_learn); values as given (times in
///   centiseconds, as ip sends them), the last word for a key wins;
///   numbers as get_u32 (priority get_u16);
/// - the other words of ip's bridge (vlan_filtering, mcast_*, nf_call_*,
///   group_*, fdb_flush, ...): `Error: subnic: "W" is not supported yet`, exit 1;
/// - `Error: argument "X" is wrong: invalid KEY` (exit 255) for a bad number;
///   `bridge: unknown command "X"?` (exit 1); a missing value: `Command line
///   is not complete. Try option "help"` (exit 255); `help`: the usage (exit 1).
CliResult<Json> parse_bridge(std::span<const std::string> words);

/// The keys of info_data that ip 6.1 bridge_print_opt() prints, in its
/// order, `WORD VALUE ` each, values as given (root_id as `designated_root`,
/// group_addr as `group_address`, timers as `%4i.%.2i`), then iproute2
/// 6.7's fdb_n_learned and fdb_max_learned after gc_timer.
void print_bridge(const Json& info_data, std::string& out);

/// A timer as ip's text prints it, `%4i.%.2i` (seconds, hundredths), from
/// ip -j's number of seconds (`gc_timer 299.49` → "299.49", 0 → "   0.00").
std::string bridge_timer_text(const Json& seconds);

}  // namespace subnic::cli
