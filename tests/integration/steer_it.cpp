// Integration: IngressSteer takes frames away from the lower's own stack after the packet taps —
// what subnic needs to consume frames as the kernel's ipvlan rx handler does.
#include <string_view>

#include "io/af_packet.hpp"
#include "lab.hpp"
#include "sys/steer.hpp"

namespace subnic::test {
namespace {

// A: sntv0 10.99.0.1/24 (the "lower"); B: sntv1 10.99.0.2/24 with a static neighbour for
// 10.99.0.1, so the pings below need no ARP. The test thread is in A.
class SteerIT : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    for (const std::string& cmd : std::vector<std::string>{"link set sntv1 netns " + b().name(),
                                                           "addr add 10.99.0.1/24 dev sntv0"}) {
      auto r = a().ip(cmd);
      ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
    }
    for (const std::string& cmd : std::vector<std::string>{
             "link set sntv1 up", "addr add 10.99.0.2/24 dev sntv1",
             "neigh add 10.99.0.1 lladdr " + v0_.address.to_string() + " dev sntv1"}) {
      auto r = b().ip(cmd);
      ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
    }
  }

  bool ping_from_b() {
    return run("ip netns exec " + b().name() + " ping -c1 -W1 10.99.0.1").status == 0;
  }

  // Echo requests for 10.99.0.1 that `sock` saw.
  static int echo_requests(io::PacketSocket& sock) {
    int n = 0;
    std::vector<std::uint8_t> buf(io::kMaxFrame);
    for (;;) {
      io::RxSlot slot{buf.data(), buf.size()};
      auto got = sock.recv_batch(std::span{&slot, 1});
      if (!got || *got == 0) {
        return n;
      }
      const std::uint8_t* ip = slot.buf + io::kVnetHdrLen + 14;
      if (slot.len >= io::kVnetHdrLen + 14 + 21 && ip[9] == 1 && ip[16] == 10 && ip[17] == 99 &&
          ip[18] == 0 && ip[19] == 1 && ip[20] == 8) {
        ++n;
      }
    }
  }
};

TEST_F(SteerIT, ScriptDropsOwnedAddressesPerMode) {
  auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
  ASSERT_TRUE(steer) << steer.error().message;
  sys::SteerRules r;
  r.addrs = {*core::IpAddr::parse("10.1.0.1"), *core::IpAddr::parse("fd00::1")};
  r.unicast_only = true;
  const auto s = steer->script(r);
  EXPECT_NE(s.find("hook ingress device \"sntv0\""), std::string::npos) << s;
  EXPECT_NE(s.find("meta pkttype != { broadcast, multicast } ip daddr { 10.1.0.1 } counter drop"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("arp daddr ip { 10.1.0.1 }"), std::string::npos) << s;
  EXPECT_NE(s.find("ip6 daddr { fd00::1 }"), std::string::npos) << s;
  r.unicast_only = false;
  r.arp = false;
  const auto s3 = steer->script(r);
  EXPECT_EQ(s3.find("pkttype"), std::string::npos) << s3;
  EXPECT_EQ(s3.find("arp daddr"), std::string::npos) << s3;
}

TEST_F(SteerIT, DroppedFramesStillReachThePacketSocketButNotTheStack) {
  auto sock = io::PacketSocket::open(v0_.ifindex);
  ASSERT_TRUE(sock) << sock.error().message;
  auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
  ASSERT_TRUE(steer) << steer.error().message;
  ASSERT_TRUE(ping_from_b());  // baseline: the stack answers
  (void)echo_requests(*sock);

  sys::SteerRules r;
  r.addrs = {*core::IpAddr::parse("10.99.0.1")};
  ASSERT_TRUE(steer->apply(r));
  const long before = snmp(a(), "Icmp", "InEchos");
  EXPECT_FALSE(ping_from_b());                      // the stack never got it...
  EXPECT_EQ(snmp(a(), "Icmp", "InEchos"), before);  // ...not even its ICMP counters
  EXPECT_GE(echo_requests(*sock), 1);               // but the packet socket saw it
  EXPECT_TRUE(steer->apply(sys::SteerRules{}));     // no addresses: the table goes
  EXPECT_TRUE(ping_from_b());
  EXPECT_EQ(run("ip netns exec " + a().name() + " nft list tables").output.find("subnic_"),
            std::string::npos);
}

TEST_F(SteerIT, AllTakesEveryFrameFromTheStackOfABridgePort) {
  auto sock = io::PacketSocket::open(v0_.ifindex);
  ASSERT_TRUE(sock) << sock.error().message;
  auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
  ASSERT_TRUE(steer) << steer.error().message;
  sys::SteerRules r;
  r.all = true;  // no addresses: the table is still made
  EXPECT_NE(steer->script(r).find("    counter drop"), std::string::npos) << steer->script(r);
  ASSERT_TRUE(steer->apply(r));
  (void)echo_requests(*sock);
  EXPECT_FALSE(ping_from_b());
  EXPECT_GE(echo_requests(*sock), 1);  // br_handle_frame's copy: subnicd still gets it
  ASSERT_TRUE(steer->apply(sys::SteerRules{}));
  EXPECT_TRUE(ping_from_b());
}

// macvlan's MAC rules on the real kernel: B's unicast echo request is dropped by source (nodst)
// or as unicast (passthru), not as a group frame's source (the echo of a private upper); the
// packet socket sees it every time.
TEST_F(SteerIT, MacvlanRulesDropByMac) {
  auto sock = io::PacketSocket::open(v0_.ifindex);
  ASSERT_TRUE(sock) << sock.error().message;
  auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
  ASSERT_TRUE(steer) << steer.error().message;
  sys::SteerRules r;
  r.src_group = {v1_.address};
  ASSERT_TRUE(steer->apply(r));
  EXPECT_TRUE(ping_from_b());
  r = {};
  r.src_any = {v1_.address};
  ASSERT_TRUE(steer->apply(r));
  (void)echo_requests(*sock);
  EXPECT_FALSE(ping_from_b());
  EXPECT_GE(echo_requests(*sock), 1);
  r = {};
  r.unicast = true;
  ASSERT_TRUE(steer->apply(r));
  EXPECT_FALSE(ping_from_b());
  EXPECT_GE(echo_requests(*sock), 1);
  ASSERT_TRUE(steer->apply(sys::SteerRules{}));
  EXPECT_TRUE(ping_from_b());
}

// A table left behind by a killed subnicd goes at the first apply(), even an empty one.
TEST_F(SteerIT, TheFirstApplyDeletesATableLeftBehind) {
  const std::string t = "subnic_" + std::to_string(v0_.ifindex);
  auto r = run("ip netns exec " + a().name() + " nft add table netdev " + t);
  ASSERT_EQ(r.status, 0) << r.output;
  auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
  ASSERT_TRUE(steer) << steer.error().message;
  EXPECT_TRUE(steer->apply(sys::SteerRules{}));
  EXPECT_EQ(run("ip netns exec " + a().name() + " nft list tables").output.find(t),
            std::string::npos);
}

TEST_F(SteerIT, TheTableGoesWithTheObject) {
  {
    auto steer = sys::IngressSteer::open("sntv0", v0_.ifindex);
    ASSERT_TRUE(steer) << steer.error().message;
    sys::SteerRules r;
    r.addrs = {*core::IpAddr::parse("10.99.0.1")};
    ASSERT_TRUE(steer->apply(r));
    EXPECT_NE(run("ip netns exec " + a().name() + " nft list tables").output.find("subnic_"),
              std::string::npos);
  }
  EXPECT_EQ(run("ip netns exec " + a().name() + " nft list tables").output.find("subnic_"),
            std::string::npos);
  EXPECT_TRUE(ping_from_b());
}

}  // namespace
}  // namespace subnic::test

namespace subnic::test {
namespace {

// The daemon opens the steer inside the lower's namespace and applies it from its own.
TEST_F(SteerIT, ActsInTheNamespaceItWasOpenedIn) {
  const int v1 = *sys::in_netns(b().fd(), []() -> Result<int> {
    auto n = sys::Netlink::open();
    return n ? n->get_link("sntv1").map([](const sys::LinkInfo& l) { return l.ifindex; })
             : tl::unexpected<Error>{n.error()};
  });
  auto steer = sys::in_netns(b().fd(), [&] { return sys::IngressSteer::open("sntv1", v1); });
  ASSERT_TRUE(steer) << steer.error().message;
  sys::SteerRules r;
  r.addrs = {*core::IpAddr::parse("10.99.0.2")};
  ASSERT_TRUE(steer->apply(r));  // the thread is in A
  EXPECT_NE(run("ip netns exec " + b().name() + " nft list tables").output.find("subnic_"),
            std::string::npos);
  EXPECT_EQ(run("ip netns exec " + a().name() + " nft list tables").output.find("subnic_"),
            std::string::npos);
}

}  // namespace
}  // namespace subnic::test
