// `type macvtap` and `type ipvtap`: macvlan and ipvlan uppers whose endpoint is a VM
// (iproute2 reads their words with ip/iplink_macvlan.c and ip/iplink_ipvlan.c, lu->id
// "macvtap"/"ipvtap"), plus subnic's endpoint words.
#pragma once

#include <span>
#include <string>

#include "cli/link_type.hpp"

namespace subnic::cli {

extern const LinkTypeOps kMacvtapOps;
extern const LinkTypeOps kIpvtapOps;

/// The words after `type macvtap`: macvlan's words (parse_macvlan) and one endpoint,
/// `stream PATH` (QEMU `-netdev stream`, 4-byte length-prefixed frames) or `vhost-user PATH`
/// (QEMU `-netdev vhost-user`): a unix socket subnicd listens on. PATH is made absolute against
/// the CLI's working directory (the daemon has its own). Result: macvlan's info_data plus
/// "vm": {"type": "stream"|"vhost-user", "path": "/abs/path"}.
///
/// Errors (exit 1): macvlan's, with "macvtap:" where ip says lu->id; `Error: argument of
/// "stream" must be a socket path, not ""` for an empty path; `Error: either "stream" or
/// "vhost-user" is allowed, not both`; a missing PATH: incomplete_command (exit 255). Without
/// an endpoint word the result has no "vm" key (`link set` may omit it; `link add` needs one,
/// which the daemon checks).
CliResult<Json> parse_macvtap(std::span<const std::string> words);
/// The same for ipvtap over parse_ipvlan.
CliResult<Json> parse_ipvtap(std::span<const std::string> words);

/// macvlan's (or ipvlan's) `ip -d` words, then `stream PATH ` or `vhost-user PATH `.
void print_macvtap(const Json& info_data, std::string& out);
void print_ipvtap(const Json& info_data, std::string& out);

}  // namespace subnic::cli
