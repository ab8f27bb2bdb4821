// `type vlan` words (iproute2 6.1 ip/iplink_vlan.c) to info_data, and info_data back to `ip -d`
// words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// vlan's entry in the link type table.
extern const LinkTypeOps kVlanOps;

/// Parses the words after `type vlan` into PROTOCOL.md's vlan info_data,
/// following iproute2 6.1 ip/iplink_vlan.c vlan_parse_opt():
///
/// - keywords by ip's prefix rule in ip's order: protocol, id, reorder_hdr,
///   gvrp, mvrp, loose_binding, bridge_binding, ingress-qos-map,
///   egress-qos-map, help;
/// - `id N` (get_u16, so 0..65535: the kernel checks the range) → "id"; no
///   id word → no "id" key (the kernel's EINVAL, answered by subnicd);
/// - `protocol P` → "protocol": "802.1Q" or "802.1ad" (ll_proto_a2n():
///   the names case-insensitively, or a number, 0x8100 / 0x88a8);
/// - `FLAG on|off` → "flags": {"reorder_hdr": bool, ...}, only the flags
///   given, the last word for a flag wins (ip keeps one mask and value);
/// - the last `id`/`protocol` wins, as the kernel keeps the last attribute.
///
/// Errors, with ip's first line:
/// - `Error: argument "X" is wrong: id is invalid` (exit 255);
/// - `Error: argument "X" is wrong: protocol is invalid` (exit 255) for a
///   word that is neither an 802.1 name nor a number; a number or name of
///   another ethertype is what the kernel refuses: `Error: 8021q: Invalid
///   VLAN protocol.` (exit 2, as ip prints the kernel's answer; ip knows
///   more ethertype names than subnic, which calls those invalid);
/// - `Error: argument of "reorder_hdr" must be "on" or "off", not "X"` (exit 1);
/// - `vlan: unknown command "X"?` (exit 1; ip then prints its usage);
/// - `ingress-qos-map`, `egress-qos-map`: `Error: subnic: "W" is not
///   supported yet` (exit 1);
/// - a missing argument: `Command line is not complete. Try option "help"`
///   (exit 255); `help`: the usage text (exit 1).
CliResult<Json> parse_vlan(std::span<const std::string> words);

/// `protocol P id N <FLAG,...> ` as iplink_vlan.c vlan_print_opt(): nothing
/// without "id"; protocol "802.1q" when absent (ip's fallback text); the
/// flags from ip -j's array ("flags": ["REORDER_HDR", ...]) or a
/// request-style object ({"reorder_hdr": true, ...}), in ip's order,
/// `<> ` for none, no `<...>` at all without "flags".
void print_vlan(const Json& info_data, std::string& out);

}  // namespace subnic::cli
