// Global options before the object (`subnic -d -n c1 link show`), read the way `ip` reads its own.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "cli/cli_error.hpp"

namespace subnic::cli {

/// What the global options asked for.
struct GlobalOptions {
  std::optional<std::string> netns;  ///< -n/-netns NAME: sent as params "netns"
  bool json = false;                 ///< -j/-json
  bool pretty = false;               ///< -p/-pretty (with -j)
  bool details = false;              ///< -d/-details
  int stats = 0;                     ///< -s/-stats/-statistics, counted
  bool human = false;                ///< -h/-human/-human-readable (stats in k/M/G)
  bool iec = false;                  ///< -iec (with -h: powers of 1024, "Ki")
  std::string socket_path;           ///< --socket PATH; empty: ctl::default_socket_path()
  bool version = false;              ///< -V/-Version
};

/// Reads options from `args` (argv without the program name) up to the first
/// word not starting with '-' or after "--"; returns the index of that word
/// (the object).
///
/// Matching follows iproute2 ip/ip.c main(): a leading "--" counts as "-",
/// and an option is any non-empty prefix of its name, tried in ip's order
/// (so "-s" is -stats, "-d" -details, "-n" -netns, "-h" -human, "-j" -json,
/// "-p" -pretty, "-V" -Version; "-he" is -help). subnic adds "-socket PATH"
/// (also "--socket=PATH"), tried last. Options of ip that do not change what
/// subnic does (-4, -6, -0, -D, -M, -B, -family F, -loops N, -resolve,
/// -timestamp, -tshort, -force, -rcvbuf N, -color[=WHEN], -Numeric) are
/// accepted and ignored; -oneline, -brief, -batch and -all are refused as not
/// supported yet.
///
/// Errors: `Option "X" is unknown, try "subnic -help".` (exit 255); a missing
/// value: `Command line is not complete. Try option "help"` (exit 255);
/// -help: the usage text (exit 255), as ip's usage().
CliResult<std::size_t> parse_global_options(std::span<const std::string> args, GlobalOptions& opts);

}  // namespace subnic::cli
