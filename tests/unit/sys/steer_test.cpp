// IngressSteer's nftables script and the macvlan rules it is given (semantics.md §2.3, the
// [CONSUME] rows of macvlan_handle_frame). No root needed: script() runs nothing.
#include <gtest/gtest.h>

#include <string>

#include "core/macvlan.hpp"
#include "sys/steer.hpp"

namespace subnic::test {
namespace {

using core::Mac;
using core::MacvlanChange;
using core::MacvlanMode;

Mac mac(std::uint8_t last) {
  return Mac{{0x02, 0x00, 0x00, 0x00, 0x00, last}};
}

sys::IngressSteer steer() {
  auto s = sys::IngressSteer::open("eth9", 42);
  EXPECT_TRUE(s) << s.error().message;
  return std::move(*s);
}

// Position of `needle` in `s` (npos fails the test).
std::size_t at(const std::string& s, const std::string& needle) {
  const auto p = s.find(needle);
  EXPECT_NE(p, std::string::npos) << "no \"" << needle << "\" in\n" << s;
  return p;
}

TEST(SteerScript, EmptyRulesOnlyDeleteTheTable) {
  const auto s = steer().script(sys::SteerRules{});
  EXPECT_EQ(s, "table netdev subnic_42\ndelete table netdev subnic_42\n");
  EXPECT_TRUE(sys::SteerRules{}.empty());
}

TEST(SteerScript, MacvlanRulesDropByMacAfterLettingTaggedFramesPass) {
  sys::SteerRules r;
  r.src_any = {mac(1), mac(2)};
  r.src_group = {mac(3)};
  r.unicast = true;
  EXPECT_FALSE(r.empty());
  const auto s = steer().script(r);
  at(s, "hook ingress device \"eth9\" priority -500; policy accept;");
  const auto tagged = at(s, "    ether type { 8021q, 8021ad } accept\n");
  const auto any = at(s, "    ether saddr { 02:00:00:00:00:01, 02:00:00:00:00:02 } counter drop\n");
  const auto group = at(s,
                        "    ether daddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 ether saddr { "
                        "02:00:00:00:00:03 } counter drop\n");
  const auto uc = at(s, "    ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 counter drop\n");
  EXPECT_LT(tagged, any);
  EXPECT_LT(tagged, group);
  EXPECT_LT(tagged, uc);
}

TEST(SteerScript, EachMacvlanRuleAlone) {
  auto st = steer();
  sys::SteerRules r;
  r.unicast = true;
  auto s = st.script(r);
  EXPECT_EQ(s.find("ether saddr"), std::string::npos) << s;
  at(s, "== 00:00:00:00:00:00 counter drop");
  r = {};
  r.src_group = {mac(7)};
  s = st.script(r);
  EXPECT_EQ(s.find("00:00:00:00:00:00 counter drop"), std::string::npos) << s;
  at(s, "== 01:00:00:00:00:00 ether saddr { 02:00:00:00:00:07 } counter drop");
}

TEST(SteerScript, IpvlanRulesHaveNoMacRules) {
  sys::SteerRules r;
  r.addrs = {*core::IpAddr::parse("10.1.0.1")};
  const auto s = steer().script(r);
  EXPECT_EQ(s.find("ether"), std::string::npos) << s;
  at(s, "ip daddr { 10.1.0.1 } counter drop");
}

// ---- macvlan_steer_rules ---------------------------------------------------------------

core::LowerState lower() {
  core::LowerState l;
  l.mac = mac(0xfe);
  l.up = l.carrier = true;
  l.mtu = 1500;
  return l;
}

MacvlanChange change(MacvlanMode m, std::uint16_t flags = 0, std::vector<Mac> sources = {}) {
  MacvlanChange c;
  c.mode = m;
  c.flags = flags;
  if (!sources.empty()) {
    c.macaddr_op = core::MacaddrOp::kSet;
    c.macaddrs = std::move(sources);
  }
  return c;
}

std::uint32_t add(core::MacvlanPort& p, std::uint8_t last, const MacvlanChange& c, bool up) {
  auto i = p.add_upper(last, mac(last), mac(last), std::nullopt, c);
  EXPECT_TRUE(i) << i.error().message;
  if (up) {
    EXPECT_TRUE(p.open(*i));
  }
  return *i;
}

TEST(MacvlanSteerRules, BridgeAndVepaConsumeNothing) {
  core::MacvlanPort p{lower()};
  add(p, 1, change(MacvlanMode::kBridge), true);
  add(p, 2, change(MacvlanMode::kVepa), true);
  EXPECT_TRUE(sys::macvlan_steer_rules(p).empty());
}

TEST(MacvlanSteerRules, EchoOfUpPrivateAndSourceUppers) {
  core::MacvlanPort p{lower()};
  add(p, 3, change(MacvlanMode::kPrivate), true);
  add(p, 1, change(MacvlanMode::kSource, 0, {mac(0x64)}), true);
  add(p, 2, change(MacvlanMode::kPrivate), false);  // down: not in the MAC hash
  add(p, 4, change(MacvlanMode::kBridge), true);
  const auto r = sys::macvlan_steer_rules(p);
  EXPECT_EQ(r.src_group, (std::vector<Mac>{mac(1), mac(3)}));
  EXPECT_TRUE(r.src_any.empty());  // no nodst
  EXPECT_FALSE(r.unicast);
}

TEST(MacvlanSteerRules, NodstListsConsumeEvenWhileTheirUpperIsDown) {
  core::MacvlanPort p{lower()};
  add(p, 1, change(MacvlanMode::kSource, core::kMacvlanNoDst, {mac(0x65), mac(0x64)}), false);
  add(p, 2, change(MacvlanMode::kSource, core::kMacvlanNoDst, {mac(0x64)}), true);
  add(p, 3, change(MacvlanMode::kSource, 0, {mac(0x66)}), true);
  const auto r = sys::macvlan_steer_rules(p);
  EXPECT_EQ(r.src_any, (std::vector<Mac>{mac(0x64), mac(0x65)}));  // sorted, once each
  EXPECT_EQ(r.src_group, (std::vector<Mac>{mac(2), mac(3)}));
}

TEST(MacvlanSteerRules, PassthruTakesEveryUnicastUpOrDown) {
  core::MacvlanPort p{lower()};
  const auto i = add(p, 1, change(MacvlanMode::kPassthru), false);
  auto r = sys::macvlan_steer_rules(p);
  EXPECT_TRUE(r.unicast);
  EXPECT_TRUE(r.src_group.empty());
  ASSERT_TRUE(p.open(i));
  r = sys::macvlan_steer_rules(p);
  EXPECT_TRUE(r.unicast);
  EXPECT_EQ(r.src_group, std::vector<Mac>{mac(0xfe)});  // the lower's MAC, which it took
  p.remove_upper(i);
  EXPECT_TRUE(sys::macvlan_steer_rules(p).empty());
}

}  // namespace
}  // namespace subnic::test
