// Fuzz target: the CLI's parser, as cli::run uses it before it connects: the global options
// (parse_global_options), then the command (parse_command). The input is argv without the
// program name, words separated by NUL bytes.
//
// Invariants: the object's index lies within argv; an accepted command has one of the methods
// of PROTOCOL.md and an object as params; its request line (ctl::request_line) parses back
// (ctl::parse_request) to the same method and params, so the daemon gets what the CLI built;
// a refusal has an exit status of 1, 2 (what the kernel would refuse) or 255 (0 for help
// asked for) and a text.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.hpp"
#include "cli/parse.hpp"
#include "ctl/message.hpp"
#include "fuzz_input.hpp"

using namespace subnic;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) {
    return 0;
  }
  std::vector<std::string> args;
  const std::string_view s{reinterpret_cast<const char*>(data), size};
  std::size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const auto end = s.find('\0', start);
    args.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }

  cli::GlobalOptions opts;
  const auto object_at = cli::parse_global_options(args, opts);
  if (!object_at) {
    const auto& e = object_at.error();
    FUZZ_CHECK(e.exit_status == cli::kExitFailure || e.exit_status == cli::kExitDaemon ||
               e.exit_status == cli::kExitUsage || (e.exit_status == 0 && e.to_stdout));
    FUZZ_CHECK(!e.text.empty());
    return 0;
  }
  FUZZ_CHECK(*object_at <= args.size());
  if (opts.version) {
    return 0;
  }
  const auto cmd = cli::parse_command(std::span<const std::string>{args}.subspan(*object_at), opts);
  if (!cmd) {
    const auto& e = cmd.error();
    FUZZ_CHECK(e.exit_status == cli::kExitFailure || e.exit_status == cli::kExitDaemon ||
               e.exit_status == cli::kExitUsage ||
               (e.exit_status == 0 && e.to_stdout));  // help asked for: printed, exit 0
    FUZZ_CHECK(!e.text.empty());
    return 0;
  }
  static const std::set<std::string> kMethods = {"link.add", "link.set", "link.del", "link.show",
                                                 "fdb.show"};
  FUZZ_CHECK(kMethods.count(cmd->method) == 1);
  FUZZ_CHECK(cmd->params.is_object());
  if (opts.netns) {
    FUZZ_CHECK(cmd->params.contains("netns"));
  }
  const std::string line = ctl::request_line(7, cmd->method, cmd->params);
  FUZZ_CHECK(line.back() == '\n' && line.find('\n') == line.size() - 1);
  const auto req = ctl::parse_request(std::string_view{line}.substr(0, line.size() - 1));
  FUZZ_CHECK(req.has_value());
  FUZZ_CHECK(req->method == cmd->method);
  FUZZ_CHECK(req->id == 7);
  FUZZ_CHECK(ctl::dump_compact(req->params) == ctl::dump_compact(cmd->params));
  return 0;
}
