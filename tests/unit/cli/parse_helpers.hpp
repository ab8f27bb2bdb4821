// Shared by the CLI parse tests: run the parser, and read its result or its error line.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cli/parse.hpp"

namespace subnic::cli::test {

using ctl::Json;

inline CliResult<Command> parse(std::vector<std::string> args, const GlobalOptions& opts = {}) {
  return parse_command(args, opts);
}

/// The params of a successful parse, or a failure naming the error line.
inline Json params(std::vector<std::string> args, const GlobalOptions& opts = {}) {
  auto r = parse(std::move(args), opts);
  if (!r) {
    ADD_FAILURE() << "unexpected error: " << r.error().text;
    return nullptr;
  }
  return r->params;
}

/// The error line and exit status of a failing parse.
inline std::pair<std::string, int> error(std::vector<std::string> args,
                                         const GlobalOptions& opts = {}) {
  auto r = parse(std::move(args), opts);
  if (r) {
    ADD_FAILURE() << "expected an error, got " << r->method << " " << r->params.dump();
    return {"", 0};
  }
  return {r.error().text, r.error().exit_status};
}

inline Json J(const char* text) {
  return Json::parse(text);
}

}  // namespace subnic::cli::test
