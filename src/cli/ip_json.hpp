// JSON output laid out as `ip -j` and `ip -j -p` lay it out (iproute2 lib/json_writer.c).
#pragma once

#include <string>

#include "ctl/json.hpp"

namespace subnic::cli {

/// JSON that keeps its keys in insertion order, for output whose key order
/// is the tool's own (bridge -j fdb show).
using OrderedJson = nlohmann::ordered_json;

/// `value` as ip prints JSON, followed by '\n'.
///
/// Compact (`-j`): no spaces, as nlohmann's dump(). Pretty (`-j -p`):
/// json_writer.c's layout, not nlohmann's: 4 spaces per level, "[ " after an
/// opening bracket and " ]" before a closing one, array elements separated
/// by "," with no newline (`[ {` ... `},{` ... `} ]`, `[ "A","B" ]`), object
/// members one per line as `"key": value`, empty containers `{}` and `[ ]`.
/// Keys come in Json's (sorted) order, not ip's attribute order.
std::string format_ip_json(const ctl::Json& value, bool pretty);
/// The same layout with the keys in `value`'s insertion order.
std::string format_ip_json(const OrderedJson& value, bool pretty);

}  // namespace subnic::cli
