// The link type table.
#include "cli/link_type.hpp"

#include <array>

#include "cli/parse_bridge.hpp"
#include "cli/parse_bridge_slave.hpp"
#include "cli/parse_ipvlan.hpp"
#include "cli/parse_macvlan.hpp"
#include "cli/parse_veth.hpp"
#include "cli/parse_vlan.hpp"
#include "cli/parse_vmtap.hpp"

namespace subnic::cli {

namespace {
// In ip's `link help` order (alphabetical); bond: one line here when its parse_<kind>.cpp lands.
constexpr std::array<const LinkTypeOps*, 8> kTypes = {&kBridgeOps, &kBridgeSlaveOps, &kIpvlanOps,
                                                      &kIpvtapOps, &kMacvlanOps,     &kMacvtapOps,
                                                      &kVethOps,   &kVlanOps};
}  // namespace

const LinkTypeOps* find_link_type(std::string_view kind) {
  for (const LinkTypeOps* t : kTypes) {
    if (t->kind == kind) {
      return t;
    }
  }
  return nullptr;
}

const LinkTypeOps* find_slave_type(std::string_view slave_kind) {
  for (const LinkTypeOps* t : kTypes) {
    if (t->slave && t->kind.size() == slave_kind.size() + 6 && t->kind.starts_with(slave_kind) &&
        t->kind.ends_with("_slave")) {
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
