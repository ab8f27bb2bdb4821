// A device's link-layer multicast list, read from /proc/net/dev_mcast of the calling thread's
// namespace.
//
// Kernel: net/core/dev_addr_lists.c dev_mc_seq_show() prints one line per
// address of dev->mc: "%-4d %-15s %-5d %-5d %*phN" = ifindex, name,
// refcount ("users"), global_use, address as contiguous hex. The list holds
// what `ip maddr add`, IP multicast joins and PACKET_MR_MULTICAST added.
#pragma once

#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/mac.hpp"

namespace subnic::sys {

/// Multicast MACs of device `ifindex`, in file order, from
/// /proc/thread-self/net/dev_mcast (the calling *thread's* namespace; /proc/net
/// would be the process leader's). Empty if the device has none or does not exist.
/// Errors: the open/read errno as Error{errno, "/proc/thread-self/net/dev_mcast: <strerror>"}.
Result<std::vector<core::Mac>> read_dev_mcast(int ifindex);

/// Pure parser of that file's text: addresses of lines whose first field is
/// `ifindex` and whose last is 12 hex digits. Malformed lines and addresses of
/// other lengths (non-Ethernet devices) are skipped.
std::vector<core::Mac> parse_dev_mcast(std::string_view text, int ifindex);

/// Every device's list at once: ifindex -> addresses in file order (devices without an
/// address are absent).
using DevMcastTable = std::unordered_map<int, std::vector<core::Mac>>;

/// The whole file of the calling thread's namespace, parsed once: what a periodic resync of
/// N devices in one namespace should read instead of N times read_dev_mcast (each reads the
/// whole file, so N devices cost O(N^2) lines). Errors: as read_dev_mcast.
Result<DevMcastTable> read_dev_mcast_all();

/// Pure parser behind read_dev_mcast_all(); skips what parse_dev_mcast skips.
DevMcastTable parse_dev_mcast_all(std::string_view text);

}  // namespace subnic::sys
