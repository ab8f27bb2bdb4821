// Control protocol messages (docs/PROTOCOL.md): requests, replies and the greeting, one JSON object
// per line.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "ctl/json.hpp"

namespace subnic::ctl {

/// Protocol version sent in the greeting and checked by clients.
inline constexpr int kProtocolVersion = 1;

/// subnic's release, as the daemon announces it ("0.1.0"); set by CMake.
std::string_view version();

/// One request line: {"id": ID, "method": "link.add", "params": {...}}.
struct Request {
  Json id;  ///< integer, string or null; echoed in the reply
  std::string method;
  Json params;  ///< always an object
};

/// Parses one request line (without its '\n').
///
/// Errors, all Error{EPROTO, message naming what is wrong}: the line is not
/// JSON, is not an object, `id` is present but not an integer/string/null,
/// `method` is missing or not a non-empty string, `params` is missing or not an
/// object. Unknown methods are not checked here (the dispatcher answers
/// EOPNOTSUPP). A malformed line is answered with id null (PROTOCOL.md).
Result<Request> parse_request(std::string_view line);

/// {"id":ID,"result":RESULT}\n — exactly one line, compact.
std::string reply_ok(const Json& id, const Json& result);

/// {"id":ID,"error":{"code":"EADDRINUSE","errno":98,"message":"..."}}\n. `code`
/// is errno_name(e.code); `message` is e.message with line breaks replaced by
/// spaces, so the reply stays one line and the CLI can print it verbatim.
std::string reply_error(const Json& id, const Error& e);

/// The line the daemon sends first on every connection:
/// {"subnicd":"0.1.0","protocol":1}\n
std::string greeting();

/// A request line as a client sends it: {"id":ID,"method":M,"params":P}\n.
std::string request_line(const Json& id, std::string_view method, const Json& params);

}  // namespace subnic::ctl
