// Text output of `link show` shaped like `ip [-d] [-s] link show` (iproute2 ip/ipaddress.c
// print_linkinfo()).
#pragma once

#include <cstdint>
#include <string>

#include "cli/ip_json.hpp"
#include "cli/parse.hpp"
#include "ctl/json.hpp"

namespace subnic::cli {

/// How much to print, from the global options.
struct PrintOptions {
  bool details = false;  ///< -d
  int stats = 0;         ///< -s (any count prints the same RX/TX tables)
  bool human = false;    ///< -h: counters as 1.23k, 4.5M...
  bool iec = false;      ///< -iec: with -h, powers of 1024 and "ki"/"Mi"
};

/// One LINK (PROTOCOL.md) as ip 6.1 prints it; every line ends in '\n'.
///
/// Line 1: `IFINDEX: IFNAME@LINK: <FLAGS> mtu MTU qdisc Q state OPERSTATE
/// mode M group G qlen N`. subnic's LINK has no qdisc, linkmode or group:
/// they print as the kernel's macvlan shows them (qdisc noqueue when UP, noop
/// when down; mode DEFAULT; group default) unless the keys are present;
/// `qlen` prints only when "txqlen" is present (ip: only with IFLA_TXQLEN).
/// `@LINK` uses "link", else `@ifN` from "link_index" (ip's JSON keys).
///
/// Line 2: `    link/ether MAC brd BRD`, then ` link-netns NS` when the lower
/// is in a namespace other than the upper's and has a name, then with -d
/// ` promiscuity P  allmulti A minmtu M maxmtu M ` and, from linkinfo, a line
/// `    KIND ` plus the type's words (LinkTypeOps::print), as ip.
///
/// With -s: ip's RX/TX tables (ipaddress.c print_stats64(), columns sized
/// by size_columns(), counters by print_num()).
///
/// After ip's record come subnic's own lines: with -d `    netns NS` (the
/// upper's namespace, when named), `    deviation: TEXT` per entry of
/// subnic.deviations, then (ipvlan) `    subnic addresses A B ...` when
/// subnic.addresses is non-empty and `    subnic address conflicts A B ...
/// (seen N times)` when subnic.address_conflicts is non-empty (the count from
/// subnic.address_conflicts_seen); with -s `    drops: REASON N ...` for the
/// non-zero drop counters.
std::string format_link(const ctl::Json& link, const PrintOptions& opts);

/// The links of a link.show result that pass `filter`, with the detail keys
/// removed when filter.strip_details (so -j prints what ip -j prints).
ctl::Json filter_links(const ctl::Json& links, const ShowFilter& filter);

/// What `fdb show` prints besides the entries.
struct FdbPrintOptions {
  bool stats = false;       ///< -s: `used U/P ` (and the JSON keys "used", "updated")
  bool port_given = false;  ///< `brport|dev DEV`: no `dev X ` (no "ifname"), as bridge
};

/// One fdb ENTRY (PROTOCOL.md fdb.show) as bridge 6.1 `fdb show` prints it
/// (bridge/fdb.c print_fdb()), ending in '\n': `MAC dev IFNAME [vlan V]
/// [used U/P] [FLAG...] [master BR] STATE` with each word followed by a
/// space, so a learned entry (state "") ends in "master br0 \n" and a local
/// one in "master br0 permanent\n".
std::string format_fdb_entry(const ctl::Json& entry, const FdbPrintOptions& opts);

/// The entries as `bridge -j fdb show` prints them: keys in bridge's order
/// (mac, ifname, vlan, used, updated, flags, master, state), "ifname" only
/// without a port filter, "used"/"updated" only with -s, "flags" always (an
/// array), "state" as given.
OrderedJson fdb_json(const ctl::Json& entries, const FdbPrintOptions& opts);

/// ipaddress.c print_num(): a counter right-aligned in `width` columns and a
/// space; with `human`, scaled by 1000 (1024 with `iec`) to 3 significant
/// digits with a k/M/G/T/P/E suffix ("ki", "Mi"... with iec, as ip writes them).
std::string format_counter(std::uint64_t count, unsigned width, bool human, bool iec);

}  // namespace subnic::cli
