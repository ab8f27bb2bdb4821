// The link type table.
#include "cli/link_type.hpp"

#include <array>

#include "cli/parse_ipvlan.hpp"
#include "cli/parse_macvlan.hpp"

namespace subnic::cli {

namespace {
// vlan, veth, bridge, bond: one line each here when their parse_<kind>.cpp lands.
constexpr std::array<const LinkTypeOps*, 2> kTypes = {&kMacvlanOps, &kIpvlanOps};
}  // namespace

const LinkTypeOps* find_link_type(std::string_view kind) {
  for (const LinkTypeOps* t : kTypes) {
    if (t->kind == kind) {
      return t;
    }
  }
  return nullptr;
}

std::span<const LinkTypeOps* const> link_types() {
  return kTypes;
}

tl::unexpected<CliError> type_not_supported(std::string_view kind) {
  return stop("Error: subnic: type \"" + std::string{kind} + "\" is not supported yet",
              kExitFailure);
}

}  // namespace subnic::cli
