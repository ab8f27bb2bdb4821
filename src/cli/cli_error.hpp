// What the CLI prints instead of sending a request (an error line or a usage text) and its exit
// status.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace subnic::cli {

/// Exit statuses, as `ip` uses them (iproute2 ip/ip.c do_cmd() returns
/// -(handler result), lib/utils.c helpers call exit(-1)):
/// 1   a handler returned -1: type-argument errors (iplink_<type>.c
///     parse_opt), "on"/"off" errors, "Not enough information: \"type\"...",
///     a missing device (nodev()), an unknown object;
/// 2   the kernel refused (rtnl_talk failed): for subnic, an error reply;
/// 255 exit(-1): invarg(), duparg(), duparg2(), incomplete_command(),
///     usage(), unknown options and commands.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitDaemon = 2;
inline constexpr int kExitUsage = 255;

/// `text` has no trailing newline; the caller adds one.
struct CliError {
  std::string text;
  int exit_status = kExitFailure;
  bool to_stdout = false;  ///< help asked for explicitly (`link help TYPE`) goes to stdout
};

template <class T>
using CliResult = tl::expected<T, CliError>;

inline tl::unexpected<CliError> stop(std::string text, int exit_status) {
  return tl::unexpected<CliError>{CliError{std::move(text), exit_status, false}};
}

}  // namespace subnic::cli
