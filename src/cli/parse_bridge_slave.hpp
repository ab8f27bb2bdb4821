// `type bridge_slave` words (iproute2 6.1 ip/iplink_bridge_slave.c) to info_slave_data, and
// info_slave_data back to `ip -d` words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// bridge_slave's entry in the link type table (a slave kind: `link set DEV
/// type bridge_slave ...` only).
extern const LinkTypeOps kBridgeSlaveOps;

/// Parses the words after `type bridge_slave` into PROTOCOL.md's
/// info_slave_data, following iproute2 6.1 bridge_slave_parse_opt():
///
/// - by ip's prefix rule in ip's order (fdb_flush, state, priority, cost,
///   guard, hairpin, fastleave, root_block, learning, flood, mcast_flood,
///   bcast_flood, mcast_to_unicast, proxy_arp, proxy_arp_wifi, mcast_router,
///   mcast_fast_leave, neigh_suppress, group_fwd_mask, vlan_tunnel,
///   isolated, locked, backup_port, nobackup_port, help);
/// - subnic's words: `state N` (get_u8; the kernel checks 0..4), `priority N`
///   (get_u16), `cost N` (get_u32) → ints; `hairpin`, `learning`, `flood`,
///   `mcast_flood`, `bcast_flood`, `isolated` `on|off` → bools; the last
///   word for a key wins;
/// - ip's other words: `Error: subnic: "W" is not supported yet`, exit 1.
///
/// Errors as ip 6.1: `Error: argument "X" is wrong: state is invalid`
/// (priority, cost likewise; exit 255); `Error: argument of "hairpin" must be
/// one of "off", "on", not "X"` (exit 1); `bridge_slave: unknown option
/// "X"?` (exit 1); a missing value: `Command line is not complete. Try
/// option "help"` (exit 255); `help`: the usage (exit 1).
CliResult<Json> parse_bridge_slave(std::span<const std::string> words);

/// The keys ip 6.1 bridge_slave_print_opt() prints, in its order: `state S`
/// (or `state (N)` from "state_index"), `priority N`, `cost N`, the
/// booleans as `WORD on|off` (ip -j's keys: hairpin, guard, root_block,
/// fastleave, learning, flood, proxy_arp, proxy_arp_wifi, mcast_flood,
/// bcast_flood, mcast_to_unicast, neigh_suppress, vlan_tunnel, isolated,
/// locked; fastleave printed a second time as mcast_fast_leave, as ip does),
/// port_id/port_no/designated_* from "id"/"no"/"bridge_id"/"root_id",
/// timers as `%4i.%.2i`.
void print_bridge_slave(const Json& info_slave_data, std::string& out);

}  // namespace subnic::cli
