// Small helpers the daemon's translation units share: error lines as `ip` prints them, the
// daemon's random source, `ip -j` flag words.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "core/mac.hpp"
#include "daemon/counters.hpp"

namespace subnic::daemon::detail {

/// Error{code, message}.
Error err(int code, std::string message);
/// "RTNETLINK answers: <strerror(code)>", the line `ip` prints for a kernel errno.
std::string strerror_line(int code);
/// The daemon's one source of random bits (MACs, link-local interface identifiers).
std::uint64_t random_u64();
/// A random locally administered unicast MAC (eth_random_addr).
core::Mac random_mac();
/// fe80::/64 with the modified EUI-64 identifier of `m` (RFC 4291 Appendix A).
core::IpAddr eui64_link_local(const core::Mac& m);
/// CLOCK_MONOTONIC in ns: the one clock of the bridges' FDB ageing and STP timers.
std::uint64_t mono_ns();
/// `ip -j` flag words in iproute2's order (ip/ipaddress.c print_link_flags); LOWER_UP only
/// when up and `carrier`, NO-CARRIER when up without it.
nlohmann::json flag_words(unsigned flags, bool carrier);
/// `ip -j -s` counters of a device: {"stats64": {rx, tx}, "drops": {REASON: count}} (the
/// subnic extension lists only non-zero reasons).
nlohmann::json stats_json(const DeviceCounters& c);

}  // namespace subnic::daemon::detail
