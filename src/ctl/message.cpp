// Building and checking control protocol lines.
#include "ctl/message.hpp"

#include <cerrno>
#include <string>

namespace subnic::ctl {

#ifndef SUBNIC_VERSION
#define SUBNIC_VERSION "0.0.0"
#endif

std::string_view version() {
  return SUBNIC_VERSION;
}

namespace {

Json one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return Json(std::move(s));
}

}  // namespace

Result<Request> parse_request(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(EPROTO, "malformed request: not a JSON value");
  }
  if (!j.is_object()) {
    return fail(EPROTO, "malformed request: not a JSON object");
  }
  Request r;
  if (const auto it = j.find("id"); it != j.end()) {
    if (!it->is_null() && !it->is_string() && !it->is_number_integer()) {
      return fail(EPROTO, "malformed request: \"id\" must be an integer, a string or null");
    }
    r.id = *it;
  }
  const auto method = j.find("method");
  if (method == j.end()) {
    return fail(EPROTO, "malformed request: \"method\" is missing");
  }
  if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
    return fail(EPROTO, "malformed request: \"method\" must be a non-empty string");
  }
  r.method = method->get<std::string>();
  const auto params = j.find("params");
  if (params == j.end()) {
    return fail(EPROTO, "malformed request: \"params\" is missing");
  }
  if (!params->is_object()) {
    return fail(EPROTO, "malformed request: \"params\" must be an object");
  }
  r.params = std::move(*params);
  return r;
}

// Built by hand so "id" comes first, as PROTOCOL.md shows it (Json sorts keys).
std::string reply_ok(const Json& id, const Json& result) {
  return "{\"id\":" + dump_compact(id) + ",\"result\":" + dump_compact(result) + "}\n";
}

std::string reply_error(const Json& id, const Error& e) {
  const Json error = {
      {"code", errno_name(e.code)},
      {"errno", e.code},
      {"message", one_line(e.message)},
  };
  return "{\"id\":" + dump_compact(id) + ",\"error\":" + dump_compact(error) + "}\n";
}

std::string greeting() {
  return "{\"subnicd\":" + dump_compact(Json(std::string{version()})) +
         ",\"protocol\":" + std::to_string(kProtocolVersion) + "}\n";
}

std::string request_line(const Json& id, std::string_view method, const Json& params) {
  return "{\"id\":" + dump_compact(id) + ",\"method\":" + dump_compact(Json(std::string{method})) +
         ",\"params\":" + dump_compact(params) + "}\n";
}

}  // namespace subnic::ctl
