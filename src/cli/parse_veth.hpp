// `type veth` words (iproute2 6.1 ip/link_veth.c) to info_data.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

/// veth's entry in the link type table.
extern const LinkTypeOps kVethOps;

/// Parses the words after `type veth` into PROTOCOL.md's veth info_data,
/// following iproute2 6.1 ip/link_veth.c veth_parse_opt():
///
/// - no words → an empty object (no info_data: subnicd names the peer vethN);
/// - the first word must be exactly `peer`, else ip's usage text on stdout,
///   exit 1 (veth's print_usage() writes with printf);
/// - the words after `peer` are link words for the peer, read by
///   parse_peer_words() (iplink_parse() in ip): `[name] PEER`, `dev PEER`,
///   `netns NS`, `address MAC`, `mtu N` → "peer": {"name", "to_netns",
///   "address", "mtu"}, only the keys given (`peer` alone → "peer": {}).
CliResult<Json> parse_veth(std::span<const std::string> words);

}  // namespace subnic::cli
