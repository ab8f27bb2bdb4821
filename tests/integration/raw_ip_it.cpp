// Integration: RawIpSocket, the lower namespace's IP output (ipvlan l3): packets with any source
// leave through the bound device unchanged, local destinations reach the namespace's own stack.
#include <linux/if_packet.h>

#include <string_view>

#include "core/frame.hpp"
#include "io/af_packet.hpp"
#include "io/raw_ip.hpp"
#include "ip_packets.hpp"
#include "lab.hpp"
#include "sys/netlink.hpp"

namespace subnic::test {
namespace {

using io::RawIpSocket;

constexpr std::size_t kFrameIp = io::kVnetHdrLen + core::kEthHeaderLen;  // IP offset in a slot

// Namespace A holds sntv0 (10.99.0.1/24, fd99::1/64, fe80::1/64), namespace B sntv1
// (10.99.0.2/24, fd99::2/64, fe80::2/64); all IPv6 addresses without DAD, no automatic
// link-local ones. The test thread is in A.
class RawIpIT : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    for (const std::string& cmd : std::vector<std::string>{
             "link set sntv1 netns " + b().name(), "link set sntv0 addrgenmode none",
             "-6 addr flush dev sntv0", "addr add 10.99.0.1/24 dev sntv0",
             "addr add fd99::1/64 dev sntv0 nodad", "addr add fe80::1/64 dev sntv0 nodad",
             "link set lo up"}) {
      auto r = a().ip(cmd);
      ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
    }
    for (const char* cmd :
         {"link set sntv1 addrgenmode none", "link set sntv1 up", "addr add 10.99.0.2/24 dev sntv1",
          "addr add fd99::2/64 dev sntv1 nodad", "addr add fe80::2/64 dev sntv1 nodad"}) {
      auto r = b().ip(cmd);
      ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
    }
    auto v1 = sys::in_netns(b().fd(), []() -> Result<sys::LinkInfo> {
      auto n = sys::Netlink::open();
      return n ? n->get_link("sntv1") : tl::unexpected<Error>{n.error()};
    });
    ASSERT_TRUE(v1) << v1.error().message;
    v1_ = *v1;
    auto capture = sys::in_netns(b().fd(), [&] { return io::PacketSocket::open(v1_.ifindex); });
    ASSERT_TRUE(capture) << capture.error().message;
    capture_b_.emplace(std::move(*capture));
    auto raw = RawIpSocket::open(v0_.ifindex);
    ASSERT_TRUE(raw) << raw.error().message;
    raw_.emplace(std::move(*raw));
  }

  // Frames received by `sock` within `timeout` whose IP packet contains `marker`; each as
  // vnet header + Ethernet frame.
  static std::vector<std::vector<std::uint8_t>> capture(
      io::PacketSocket& sock, const std::string& marker,
      std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}) {
    std::vector<std::vector<std::uint8_t>> out;
    std::vector<std::uint8_t> buf(io::kMaxFrame);
    wait_until(
        [&] {
          for (;;) {
            io::RxSlot slot{buf.data(), buf.size()};
            auto n = sock.recv_batch(std::span{&slot, 1});
            EXPECT_TRUE(n) << n.error().message;
            if (!n || *n == 0) {
              break;
            }
            const std::string_view bytes{reinterpret_cast<const char*>(slot.buf), slot.len};
            if (bytes.find(marker) != std::string_view::npos) {
              out.emplace_back(slot.buf, slot.buf + slot.len);
            }
          }
          return !out.empty();
        },
        timeout);
    return out;
  }

  // The IP packet of a captured frame.
  static std::vector<std::uint8_t> ip_of(const std::vector<std::uint8_t>& frame) {
    return std::vector<std::uint8_t>(frame.begin() + kFrameIp, frame.end());
  }

  sys::LinkInfo v1_;  // sntv1 as B sees it
  std::optional<io::PacketSocket> capture_b_;
  std::optional<RawIpSocket> raw_;
};

TEST_F(RawIpIT, OpensBothFamiliesBoundToTheDevice) {
  EXPECT_EQ(raw_->ifindex(), v0_.ifindex);
  EXPECT_TRUE(raw_->has_v6());
  EXPECT_GE(raw_->fd_v4(), 0);
  EXPECT_GE(raw_->fd_v6(), 0);
  for (int fd : {raw_->fd_v4(), raw_->fd_v6()}) {
    int bound = 0;
    socklen_t len = sizeof bound;
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &bound, &len), 0);
    EXPECT_EQ(bound, v0_.ifindex);
  }
}

TEST_F(RawIpIT, OpenRefusesBadIndexes) {
  auto zero = RawIpSocket::open(0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, EINVAL);
  auto missing = RawIpSocket::open(0x7ffffff0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
}

TEST_F(RawIpIT, SendsIpv4FromAnySourceUnchangedOutOfTheDevice) {
  // 10.98.0.7 is nobody's address: ipvlan l3 forwards any source, and so do we.
  const auto pkt = icmp4_echo("10.98.0.7", "10.99.0.2", 7, 0x4242, "raw-v4-remote");
  auto sent = raw_->send(pkt);
  ASSERT_TRUE(sent) << sent.error().message;
  const auto got = capture(*capture_b_, "raw-v4-remote");
  ASSERT_EQ(got.size(), 1U);
  const auto& frame = got[0];
  const std::uint8_t* eth = frame.data() + io::kVnetHdrLen;
  EXPECT_EQ(core::Mac::from_bytes(eth), v1_.address);      // resolved with ARP
  EXPECT_EQ(core::Mac::from_bytes(eth + 6), v0_.address);  // sent by the bound device
  EXPECT_EQ(get16(eth + 12), 0x0800);
  // Byte for byte what we sent: source kept, TTL not decremented, id and checksum unchanged.
  EXPECT_EQ(ip_of(frame), pkt);
  EXPECT_EQ(ip_of(frame)[8], 7);
}

TEST_F(RawIpIT, SendsIpv6FromAnySourceUnchangedOutOfTheDevice) {
  const auto pkt = icmp6_echo("fd98::7", "fd99::2", 9, 0x4343, "raw-v6-remote");
  auto sent = raw_->send(pkt);
  ASSERT_TRUE(sent) << sent.error().message;
  const auto got = capture(*capture_b_, "raw-v6-remote");
  ASSERT_EQ(got.size(), 1U);
  const std::uint8_t* eth = got[0].data() + io::kVnetHdrLen;
  EXPECT_EQ(core::Mac::from_bytes(eth), v1_.address);  // resolved with neighbour discovery
  EXPECT_EQ(get16(eth + 12), 0x86dd);
  EXPECT_EQ(ip_of(got[0]), pkt);
  EXPECT_EQ(ip_of(got[0])[7], 9);  // hop limit untouched
}

TEST_F(RawIpIT, SendsIpv6ToALinkLocalAddressOnTheBoundDevice) {
  // fe80::/64 is on every device: the binding (and the scope id send() sets) picks sntv0.
  const auto pkt = icmp6_echo("fe80::1", "fe80::2", 255, 0x4444, "raw-v6-ll");
  auto sent = raw_->send(pkt);
  ASSERT_TRUE(sent) << sent.error().message;
  const auto got = capture(*capture_b_, "raw-v6-ll");
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(ip_of(got[0]), pkt);
}

TEST_F(RawIpIT, DeliversToALocalAddressThroughTheNamespacesOwnStack) {
  auto lo_capture = io::PacketSocket::open(1);  // lo, in A (the thread is there)
  ASSERT_TRUE(lo_capture) << lo_capture.error().message;
  const long echos_before = snmp(a(), "Icmp", "InEchos");
  const long echos6_before = snmp(a(), "", "Icmp6InEchos");
  ASSERT_GE(echos_before, 0);
  ASSERT_GE(echos6_before, 0);

  // TTL 1: a forwarded packet would die here (ip_forward), a local one is delivered.
  const auto pkt = icmp4_echo("10.98.0.7", "10.99.0.1", 1, 0x4545, "raw-v4-local");
  auto sent = raw_->send(pkt);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_TRUE(wait_until([&] { return snmp(a(), "Icmp", "InEchos") == echos_before + 1; }));
  // The route is RTN_LOCAL: out through loopback, unchanged, never on the wire.
  const auto looped = capture(*lo_capture, "raw-v4-local");
  ASSERT_EQ(looped.size(), 1U);
  EXPECT_EQ(ip_of(looped[0]), pkt);
  EXPECT_EQ(ip_of(looped[0])[8], 1);

  const auto pkt6 = icmp6_echo("fd98::7", "fd99::1", 1, 0x4646, "raw-v6-local");
  sent = raw_->send(pkt6);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_TRUE(wait_until([&] { return snmp(a(), "", "Icmp6InEchos") == echos6_before + 1; }));
  const auto looped6 = capture(*lo_capture, "raw-v6-local");
  ASSERT_EQ(looped6.size(), 1U);
  EXPECT_EQ(ip_of(looped6[0]), pkt6);

  EXPECT_TRUE(capture(*capture_b_, "-local", std::chrono::milliseconds{200}).empty())
      << "a local packet reached the wire";
}

TEST_F(RawIpIT, Ipv4WithoutARouteIsAssumedOnLink) {
  // With an output interface, ip_route_output_key_hash_rcu treats an unrouted IPv4
  // destination as on-link: an ARP request for it goes out of the device, no error.
  const auto pkt = icmp4_echo("10.98.0.7", "192.0.2.1", 64, 0x4747, "raw-v4-unrouted");
  auto sent = raw_->send(pkt);
  ASSERT_TRUE(sent) << sent.error().message;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  bool arp_seen = false;
  const auto target = addr_bytes("192.0.2.1");
  wait_until([&] {
    io::RxSlot slot{buf.data(), buf.size()};
    auto n = capture_b_->recv_batch(std::span{&slot, 1});
    if (n && *n == 1 && slot.len >= kFrameIp + 28 &&
        get16(slot.buf + io::kVnetHdrLen + 12) == 0x0806) {
      arp_seen = arp_seen || std::equal(target.begin(), target.end(), slot.buf + kFrameIp + 24);
    }
    return arp_seen;
  });
  EXPECT_TRUE(arp_seen) << "no ARP request for 192.0.2.1 on the wire";

  // IPv6 has no such fallback: no route through the device is ENETUNREACH.
  auto v6 = raw_->send(icmp6_echo("fd98::7", "2001:db8::1", 64, 1, "raw-v6-unrouted"));
  ASSERT_FALSE(v6);
  EXPECT_EQ(v6.error().code, ENETUNREACH);
}

TEST_F(RawIpIT, SendErrors) {
  const auto v4 = icmp4_echo("10.98.0.7", "10.99.0.2", 64, 1, "err");
  const auto v6 = icmp6_echo("fd98::7", "fd99::2", 64, 1, "err");
  const auto expect_error = [](const Status& r, int code, const char* what) {
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, code) << what << ": " << r.error().message;
  };

  expect_error(raw_->send({}), EINVAL, "empty");
  expect_error(raw_->send(std::span{v4}.first(19)), EINVAL, "19 bytes of IPv4");
  auto ihl4 = v4;
  ihl4[0] = 0x44;
  expect_error(raw_->send(ihl4), EINVAL, "ihl 4");
  auto ihl15 = v4;
  ihl15[0] = 0x4f;  // 60 bytes of header in a shorter packet
  expect_error(raw_->send(std::span{ihl15}.first(40)), EINVAL, "ihl beyond the packet");
  expect_error(raw_->send(std::span{v6}.first(39)), EINVAL, "39 bytes of IPv6");
  auto v5 = v4;
  v5[0] = 0x55;
  expect_error(raw_->send(v5), EINVAL, "version 5");

  // Above the MTU (1500): EMSGSIZE, where ipvlan would fragment a DF-less IPv4 packet.
  const std::string big(1500, 'x');
  expect_error(raw_->send(icmp4_echo("10.98.0.7", "10.99.0.2", 64, 1, big)), EMSGSIZE,
               "IPv4 over the MTU");
  expect_error(raw_->send(icmp6_echo("fd98::7", "fd99::2", 64, 1, big)), EMSGSIZE,
               "IPv6 over the MTU");
  // Exactly the MTU passes.
  const std::string fits(1500 - 20 - 8, 'y');
  EXPECT_TRUE(raw_->send(icmp4_echo("10.98.0.7", "10.99.0.2", 64, 1, fits)));

  // The device down: no route through it for either family.
  ASSERT_TRUE(nl_->set_up(v0_.ifindex, false));
  expect_error(raw_->send(v4), ENETUNREACH, "IPv4, device down");
  expect_error(raw_->send(v6), ENETUNREACH, "IPv6, device down");
}

TEST_F(RawIpIT, SendsFailOnceTheDeviceIsDeleted) {
  ASSERT_TRUE(nl_->del_link(v0_.ifindex));  // the whole veth pair goes
  // IPv4: the lookup finds no device for the bound index (ip_route_output_key_hash_rcu: ENODEV);
  // IPv6: no route through it (ENETUNREACH).
  auto v4 = raw_->send(icmp4_echo("10.98.0.7", "10.99.0.2", 64, 1, "gone"));
  ASSERT_FALSE(v4);
  EXPECT_EQ(v4.error().code, ENODEV) << v4.error().message;
  auto v6 = raw_->send(icmp6_echo("fd98::7", "fd99::2", 64, 1, "gone"));
  ASSERT_FALSE(v6);
  EXPECT_EQ(v6.error().code, ENETUNREACH) << v6.error().message;
}

TEST_F(RawIpIT, RefusesABroadcastRouteLikeIpvlan) {
  // ipvlan_process_v4_outbound drops a route that is neither unicast nor local; without
  // SO_BROADCAST raw_sendmsg refuses a broadcast route (EACCES) and nothing leaves.
  const auto pkt = icmp4_echo("10.98.0.7", "10.99.0.255", 64, 0x4848, "raw-v4-bcast");
  auto sent = raw_->send(pkt);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, EACCES);
  EXPECT_TRUE(capture(*capture_b_, "raw-v4-bcast", std::chrono::milliseconds{300}).empty());
}

}  // namespace
}  // namespace subnic::test
