// The table of link types the CLI knows: one entry per `type` word, each implemented in its own
// parse_<type>.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/cli_error.hpp"
#include "ctl/json.hpp"

namespace subnic::cli {

using ctl::Json;

/// What the CLI does for one `type KIND`. Adding a type is a parse_<kind>.hpp/.cpp
/// pair defining one of these plus a line in link_type.cpp.
struct LinkTypeOps {
  std::string_view kind;

  /// Turns the words after `type KIND` (for add and set) into the request's
  /// `info_data` object, as iproute2 ip/iplink_<kind>.c parse_opt() turns
  /// them into IFLA_INFO_DATA. An empty object means "send no info_data".
  CliResult<Json> (*parse)(std::span<const std::string> words);

  /// Appends the `ip -d link show` words for `info_data` (after "    KIND "),
  /// as iproute2 print_opt() prints them: each word followed by one space.
  void (*print)(const Json& info_data, std::string& out);

  /// The type's help text (`link help KIND`, or the word `help` after `type
  /// KIND`), without a trailing newline.
  std::string_view (*usage)();

  /// A slave kind (`bridge_slave`): `link set DEV type KIND ...` sends the
  /// words as "info_slave_data" (ip: IFLA_INFO_SLAVE_KIND/SLAVE_DATA), and
  /// the printer uses it for linkinfo's "info_slave_kind" (kind without
  /// "_slave"). Slave kinds cannot be created.
  bool slave = false;
};

/// The entry for `kind`, or nullptr when subnic does not implement it.
const LinkTypeOps* find_link_type(std::string_view kind);

/// The kinds subnic implements, in the order `link help` lists them.
std::span<const LinkTypeOps* const> link_types();

/// The entry for linkinfo's "info_slave_kind" (`bridge` → bridge_slave), or nullptr.
const LinkTypeOps* find_slave_type(std::string_view slave_kind);

/// `Error: subnic: type "KIND" is not supported yet`, exit 1.
tl::unexpected<CliError> type_not_supported(std::string_view kind);

}  // namespace subnic::cli
