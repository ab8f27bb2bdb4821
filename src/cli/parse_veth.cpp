// veth and its words: iproute2 ip/link_veth.c (6.1), kernel drivers/net/veth.c.
#include "cli/parse_veth.hpp"

#include <string_view>

#include "cli/parse.hpp"

namespace subnic::cli {

namespace {

// ip's print_usage(), with subnic's name for the command.
constexpr std::string_view kUsage =
    "Usage: subnic link <options> type veth [peer <options>]\n"
    "To get <options> type 'subnic link add help'";

std::string_view veth_usage() {
  return kUsage;
}

// ip -d prints nothing after "veth " (veth has no print_opt).
void print_veth(const Json& /*info_data*/, std::string& /*out*/) {}

}  // namespace

CliResult<Json> parse_veth(std::span<const std::string> words) {
  Json info = Json::object();
  if (words.empty()) {
    return info;
  }
  if (words[0] != "peer") {
    return tl::unexpected{CliError{std::string{kUsage}, kExitFailure, true}};
  }
  auto peer = parse_peer_words(words.subspan(1));
  if (!peer) {
    return tl::unexpected{peer.error()};
  }
  info["peer"] = std::move(*peer);
  return info;
}

const LinkTypeOps kVethOps = {"veth", &parse_veth, &print_veth, &veth_usage};

}  // namespace subnic::cli
