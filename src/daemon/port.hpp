// One lower's port, whichever driver it models: macvlan (core::MacvlanPort) or ipvlan
// (core::IpvlanPort). A lower is one kind of port at a time, as in the kernel, where a device
// has one rx handler (semantics.md §1: a macvlan lower cannot take ipvlan uppers: EBUSY).
//
// The daemon speaks to a Port for what both drivers share (up/down, MTU, MAC, receive filters,
// the lower's state and filters) and reaches the driver for the rest with macvlan()/ipvlan().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ipvlan.hpp"
#include "core/macvlan.hpp"

namespace subnic::daemon {

class Port {
 public:
  explicit Port(core::MacvlanPort p) : v_{std::move(p)} {}
  explicit Port(core::IpvlanPort p) : v_{std::move(p)} {}

  /// The driver's name as `ip` spells the link kind: "macvlan" or "ipvlan".
  std::string_view kind() const { return ipvlan() ? "ipvlan" : "macvlan"; }
  core::MacvlanPort* macvlan() { return std::get_if<core::MacvlanPort>(&v_); }
  const core::MacvlanPort* macvlan() const { return std::get_if<core::MacvlanPort>(&v_); }
  core::IpvlanPort* ipvlan() { return std::get_if<core::IpvlanPort>(&v_); }
  const core::IpvlanPort* ipvlan() const { return std::get_if<core::IpvlanPort>(&v_); }

  std::size_t size() const {
    return std::visit([](const auto& p) { return p.uppers().size(); }, v_);
  }
  const core::LowerState& lower() const {
    return std::visit([](const auto& p) -> const core::LowerState& { return p.lower(); }, v_);
  }
  // Per-upper fields both drivers keep (index into the port's uppers()).
  core::Mac mac(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].mac; }, v_);
  }
  std::uint32_t mtu(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].mtu; }, v_);
  }
  bool up(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].up; }, v_);
  }
  bool promisc(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].promisc; }, v_);
  }
  bool allmulti(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].allmulti; }, v_);
  }
  bool spoofchk(std::uint32_t i) const {
    return std::visit([i](const auto& p) { return p.uppers()[i].spoofchk; }, v_);
  }
  const std::vector<core::Mac>& mc_list(std::uint32_t i) const {
    return std::visit(
        [i](const auto& p) -> const std::vector<core::Mac>& { return p.uppers()[i].mc_list; }, v_);
  }

  // Operations with the same contract in both drivers (see their headers for the errors).
  Status open(std::uint32_t i) {
    return std::visit([i](auto& p) { return p.open(i); }, v_);
  }
  void stop(std::uint32_t i) {
    std::visit([i](auto& p) { p.stop(i); }, v_);
  }
  Result<bool> set_address(std::uint32_t i, const core::Mac& m) {
    return std::visit([&](auto& p) { return p.set_address(i, m); }, v_);
  }
  Status set_mtu(std::uint32_t i, std::uint32_t mtu) {
    return std::visit([&](auto& p) { return p.set_mtu(i, mtu); }, v_);
  }
  void set_upper_rx(std::uint32_t i, bool promisc, bool allmulti, std::vector<core::Mac> mc) {
    std::visit([&](auto& p) { p.set_upper_rx(i, promisc, allmulti, std::move(mc)); }, v_);
  }
  void set_spoofchk(std::uint32_t i, bool on) {
    std::visit([&](auto& p) { p.set_spoofchk(i, on); }, v_);
  }
  void set_lower(const core::LowerState& l) {
    std::visit([&](auto& p) { p.set_lower(l); }, v_);
  }
  void remove_upper(std::uint32_t i) {
    std::visit([i](auto& p) { p.remove_upper(i); }, v_);
  }
  core::LowerFilter lower_filter() const {
    return std::visit([](const auto& p) { return p.lower_filter(); }, v_);
  }
  std::optional<core::Mac> saved_lower_mac() const {
    return std::visit([](const auto& p) { return p.saved_lower_mac(); }, v_);
  }

 private:
  std::variant<core::MacvlanPort, core::IpvlanPort> v_;
};

}  // namespace subnic::daemon
