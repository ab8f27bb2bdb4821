// The whole CLI as a function: argv in, text and an exit status out.
#pragma once

#include <chrono>
#include <ostream>
#include <span>
#include <string>

#include "ctl/client.hpp"

namespace subnic::cli {

/// Runs `subnic ARGS...` (`args` without the program name): global options,
/// then the command; sends the request to subnicd and prints the answer.
///
/// Output: `link show` prints its links and `fdb show` its entries on `out`
/// (text or -j JSON); the other
/// commands print nothing on success, as ip. Errors go to `err` as one line
/// (usage texts are several).
///
/// Returns the exit status, as ip's for the same failure (cli_error.hpp):
/// 0 success; 1 client-side errors ip reports by returning -1, failure to
/// reach subnicd (ip: rtnl_open() failed, exit 1), and error replies with
/// ENODEV (ip finds a missing device itself and exits 1 with `Cannot find
/// device "X"` / `Device "X" does not exist.`; for fdb.show 255, as bridge's
/// fdb_show() returns -1); 2 other error replies, whose
/// message is printed verbatim (ip: rtnl_talk() failed, exit 2), and
/// transport failures after the request was sent; 255 ip's exit(-1) errors.
/// `timeout` bounds the greeting and the reply (ctl::Client).
int run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
        std::chrono::milliseconds timeout = ctl::kDefaultTimeout);

}  // namespace subnic::cli
