// The JSON value type of the control protocol, shared by subnicd and the CLI.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace subnic::ctl {

/// Every control message is one of these (keys sorted; see PROTOCOL.md).
using Json = nlohmann::json;

/// `j` as one compact line without the trailing newline. Never throws: strings
/// that are not valid UTF-8 (device names typed by a user, say) have the bad
/// bytes replaced by U+FFFD instead of raising nlohmann's type_error 316.
std::string dump_compact(const Json& j);

}  // namespace subnic::ctl
