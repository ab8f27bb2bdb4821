// Integration: PacketSocket on a veth pair: vnet header, pkttype, own/outgoing skipped, VLAN
// auxdata, GSO, memberships.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <map>

#include "frames.hpp"
#include "io/af_packet.hpp"
#include "lab.hpp"
#include "sys/dev_mcast.hpp"
#include "sys/netlink.hpp"

namespace subnic::test {
namespace {

using io::Membership;
using io::PacketSocket;
using io::RxSlot;
using sys::Netlink;

// A received frame of ours (EtherType kTestEthertype), copied out of its slot.
struct Got {
  std::string marker;
  std::vector<std::uint8_t> bytes;  // vnet header + frame
  std::uint8_t pkttype = 0;
  bool has_vlan = false;
  std::uint16_t vlan_tci = 0;
  std::uint16_t vlan_tpid = 0;
};

// Receives for up to `timeout`, keeping our frames, until `want` of them arrived.
std::vector<Got> receive(PacketSocket& s, std::size_t want,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}) {
  std::vector<std::vector<std::uint8_t>> bufs(PacketSocket::kMaxBurst,
                                              std::vector<std::uint8_t>(io::kMaxFrame));
  std::vector<RxSlot> slots(bufs.size());
  std::vector<Got> out;
  wait_until(
      [&] {
        for (std::size_t i = 0; i < slots.size(); ++i) {
          slots[i] = RxSlot{bufs[i].data(), bufs[i].size()};
        }
        auto n = s.recv_batch(slots);
        EXPECT_TRUE(n) << n.error().message;
        for (std::size_t i = 0; n && i < *n; ++i) {
          const RxSlot& r = slots[i];
          auto m = marker_of(r.buf, r.len);
          if (!m.empty()) {
            out.push_back(Got{m, std::vector<std::uint8_t>(r.buf, r.buf + r.len), r.pkttype,
                              r.has_vlan, r.vlan_tci, r.vlan_tpid});
          }
        }
        return out.size() >= want;
      },
      timeout);
  return out;
}

class PacketIT : public LabTest {
 protected:
  Result<std::size_t> send(PacketSocket& s, const std::vector<std::uint8_t>& f) {
    const std::array<std::span<const std::uint8_t>, 1> frames{std::span{f}};
    return s.send_batch(frames);
  }
  std::uint32_t promiscuity(int ifindex) { return nl_->get_link(ifindex)->promiscuity; }
};

TEST_F(PacketIT, ReceivesWhatThePeerSendsWithVnetHeaderAndPkttype) {
  auto tx = PacketSocket::open(v0_.ifindex);
  ASSERT_TRUE(tx) << tx.error().message;
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(rx) << rx.error().message;
  EXPECT_EQ(rx->ifindex(), v1_.ifindex);

  const auto bc = test_frame(kBroadcast, v0_.address, "bcast");
  const auto host = test_frame(v1_.address, v0_.address, "host");
  const auto other = test_frame(kSomeUnicast, v0_.address, "other");
  const auto mc = test_frame(core::Mac{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x42}}, v0_.address, "mcast");
  for (const auto* f : {&bc, &host, &other, &mc}) {
    auto r = send(*tx, *f);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, 1U);
  }
  const auto got = receive(*rx, 4);
  ASSERT_EQ(got.size(), 4U);
  std::map<std::string, const Got*> by;
  for (const auto& g : got) {
    by[g.marker] = &g;
  }
  ASSERT_EQ(by.size(), 4U);
  EXPECT_EQ(by["bcast"]->pkttype, PACKET_BROADCAST);
  EXPECT_EQ(by["host"]->pkttype, PACKET_HOST);
  EXPECT_EQ(by["other"]->pkttype, PACKET_OTHERHOST);
  EXPECT_EQ(by["mcast"]->pkttype, PACKET_MULTICAST);
  // Same bytes as sent: the plain vnet header, then the frame, unchanged.
  EXPECT_EQ(by["bcast"]->bytes, bc);
  EXPECT_EQ(by["host"]->bytes, host);
  EXPECT_FALSE(by["host"]->has_vlan);
}

TEST_F(PacketIT, NeverReturnsOwnOrOutgoingFrames) {
  auto tx = PacketSocket::open(v0_.ifindex);
  auto other_on_v0 = PacketSocket::open(v0_.ifindex);
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(tx && other_on_v0 && rx);

  ASSERT_TRUE(send(*tx, test_frame(kBroadcast, v0_.address, "mine")));
  EXPECT_EQ(receive(*rx, 1).size(), 1U);  // it did go out
  // Neither the sender nor another socket on the sending device sees it.
  EXPECT_TRUE(receive(*tx, 1, std::chrono::milliseconds{200}).empty());
  EXPECT_TRUE(receive(*other_on_v0, 1, std::chrono::milliseconds{200}).empty());
  // The kernel filtered them (PACKET_IGNORE_OUTGOING); our pkttype fallback never had to.
  EXPECT_EQ(other_on_v0->counters().rx_outgoing, 0U);
}

TEST_F(PacketIT, BatchesCrossInOrder) {
  auto tx = PacketSocket::open(v0_.ifindex);
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(tx && rx);
  constexpr std::size_t kCount = 100;  // more than one burst
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < kCount; ++i) {
    frames.push_back(test_frame(kBroadcast, v0_.address, "n" + std::to_string(i)));
  }
  std::vector<std::span<const std::uint8_t>> spans(frames.begin(), frames.end());
  auto sent = tx->send_batch(spans);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, kCount);
  const auto got = receive(*rx, kCount);
  ASSERT_EQ(got.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(got[i].marker, "n" + std::to_string(i));
  }
  auto st = rx->kernel_stats();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_GE(st->packets, kCount);
  EXPECT_EQ(st->drops, 0U);
}

TEST_F(PacketIT, MalformedFramesAreCountedAndSkipped) {
  auto tx = PacketSocket::open(v0_.ifindex);
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(tx && rx);
  const auto good1 = test_frame(kBroadcast, v0_.address, "good1");
  const std::vector<std::uint8_t> runt(io::kVnetHdrLen + 4, 0);  // shorter than an Ethernet header
  auto jumbo = test_frame(kBroadcast, v0_.address, "jumbo");
  jumbo.resize(io::kVnetHdrLen + 3000);  // over the 1500 MTU, no GSO
  const auto good2 = test_frame(kBroadcast, v0_.address, "good2");
  const std::array<std::span<const std::uint8_t>, 4> frames{std::span{good1}, std::span{runt},
                                                            std::span{jumbo}, std::span{good2}};
  auto sent = tx->send_batch(frames);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, 4U);
  EXPECT_EQ(tx->counters().tx_malformed, 2U);
  const auto got = receive(*rx, 2);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].marker, "good1");
  EXPECT_EQ(got[1].marker, "good2");
}

TEST_F(PacketIT, ReportsTheVlanTagTheKernelStripped) {
  auto tx = PacketSocket::open(v0_.ifindex);
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(tx && rx);
  const std::uint16_t tci = (3 << 13) | 100;  // PCP 3, VID 100
  const auto tagged = test_frame(kBroadcast, v0_.address, "tagged", tci);
  ASSERT_TRUE(send(*tx, tagged));
  const auto got = receive(*rx, 1);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_TRUE(got[0].has_vlan);
  EXPECT_EQ(got[0].vlan_tci, tci);
  EXPECT_EQ(got[0].vlan_tpid, 0x8100);
  // The frame arrives without the tag (software untag on receive).
  EXPECT_EQ(got[0].bytes.size(), tagged.size() - core::kVlanTagLen);
}

TEST_F(PacketIT, TruncatedFramesAreDroppedAndCounted) {
  auto tx = PacketSocket::open(v0_.ifindex);
  auto rx = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(tx && rx);
  ASSERT_TRUE(send(*tx, test_frame(kBroadcast, v0_.address, "long")));
  ASSERT_TRUE(wait_readable(rx->fd(), std::chrono::milliseconds{2000}));
  std::array<std::uint8_t, 30> small{};
  RxSlot slot{small.data(), small.size()};
  bool counted = false;
  wait_until([&] {
    auto n = rx->recv_batch(std::span{&slot, 1});
    EXPECT_TRUE(n);
    counted = rx->counters().rx_truncated > 0;
    return counted;
  });
  EXPECT_TRUE(counted);

  std::array<std::uint8_t, 4> tiny{};
  RxSlot bad{tiny.data(), tiny.size()};
  auto r = rx->recv_batch(std::span{&bad, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST_F(PacketIT, UnicastMembershipMakesAVethPromiscuous) {
  auto s = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(s);
  ASSERT_EQ(promiscuity(v1_.ifindex), 0U);
  ASSERT_TRUE(s->add_membership(Membership::kUnicast, kSomeUnicast));
  EXPECT_EQ(promiscuity(v1_.ifindex), 1U);  // veth has no IFF_UNICAST_FLT
  const core::Mac second{{0x02, 0x5e, 0x10, 0x00, 0x00, 0x02}};
  ASSERT_TRUE(s->add_membership(Membership::kUnicast, second));
  EXPECT_EQ(promiscuity(v1_.ifindex), 1U);  // one reference for the whole list
  ASSERT_TRUE(s->drop_membership(Membership::kUnicast, kSomeUnicast));
  EXPECT_EQ(promiscuity(v1_.ifindex), 1U);
  ASSERT_TRUE(s->drop_membership(Membership::kUnicast, second));
  EXPECT_EQ(promiscuity(v1_.ifindex), 0U);

  // Only while the device is up (__dev_set_rx_mode does nothing when down).
  ASSERT_TRUE(nl_->set_up(v1_.ifindex, false));
  ASSERT_TRUE(s->add_membership(Membership::kUnicast, kSomeUnicast));
  EXPECT_EQ(promiscuity(v1_.ifindex), 0U);
  ASSERT_TRUE(nl_->set_up(v1_.ifindex, true));
  EXPECT_EQ(promiscuity(v1_.ifindex), 1U);

  // Closing the socket drops its memberships.
  { [[maybe_unused]] PacketSocket closing = std::move(*s); }
  EXPECT_EQ(promiscuity(v1_.ifindex), 0U);
}

TEST_F(PacketIT, PromiscAndAllmultiMemberships) {
  auto s = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->add_membership(Membership::kPromisc));
  EXPECT_EQ(promiscuity(v1_.ifindex), 1U);
  ASSERT_TRUE(s->drop_membership(Membership::kPromisc));
  EXPECT_EQ(promiscuity(v1_.ifindex), 0U);
  ASSERT_TRUE(s->add_membership(Membership::kAllmulti));
  EXPECT_EQ(nl_->get_link(v1_.ifindex)->allmulti, 1U);
  ASSERT_TRUE(s->drop_membership(Membership::kAllmulti));
  EXPECT_EQ(nl_->get_link(v1_.ifindex)->allmulti, 0U);
}

TEST_F(PacketIT, MulticastMembershipAppearsInDevMcast) {
  auto s = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(s);
  const core::Mac group{{0x01, 0x00, 0x5e, 0x07, 0x08, 0x09}};
  ASSERT_TRUE(s->add_membership(Membership::kMulticast, group));
  auto list = sys::read_dev_mcast(v1_.ifindex);
  ASSERT_TRUE(list);
  EXPECT_EQ(std::count(list->begin(), list->end(), group), 1);
  ASSERT_TRUE(s->drop_membership(Membership::kMulticast, group));
  list = sys::read_dev_mcast(v1_.ifindex);
  ASSERT_TRUE(list);
  EXPECT_EQ(std::count(list->begin(), list->end(), group), 0);
}

TEST_F(PacketIT, MembershipErrors) {
  auto s = PacketSocket::open(v1_.ifindex);
  ASSERT_TRUE(s);
  auto group_as_unicast = s->add_membership(Membership::kUnicast, kBroadcast);
  ASSERT_FALSE(group_as_unicast);
  EXPECT_EQ(group_as_unicast.error().code, EINVAL);
  auto unicast_as_group = s->add_membership(Membership::kMulticast, kSomeUnicast);
  ASSERT_FALSE(unicast_as_group);
  EXPECT_EQ(unicast_as_group.error().code, EINVAL);
  // Kernel-dependent answer (0 on 6.18, EADDRNOTAVAIL on older ones); no effect either way.
  auto never_added = s->drop_membership(Membership::kUnicast, kSomeUnicast);
  if (!never_added) {
    EXPECT_EQ(never_added.error().code, EADDRNOTAVAIL);
  }
  EXPECT_EQ(promiscuity(v1_.ifindex), 0U);
}

TEST_F(PacketIT, OpenErrors) {
  auto bad = PacketSocket::open(0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EINVAL);
  auto missing = PacketSocket::open(0x7ffffff0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
}

TEST_F(PacketIT, SendOnADownDeviceIsAnError) {
  auto tx = PacketSocket::open(v0_.ifindex);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(nl_->set_up(v0_.ifindex, false));
  auto r = send(*tx, test_frame(kBroadcast, v0_.address, "down"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENETDOWN);
}

// TCP from A (sntv0) to B (sntv1): veth hands the TSO super-frames to the peer
// whole, and the packet socket on sntv1 gets them with a GSO vnet header.
TEST_F(PacketIT, GsoSuperFramesCrossWhole) {
  ASSERT_TRUE(nl_->set_netns(v1_.ifindex, b().fd()));
  ASSERT_EQ(a().ip("addr add 10.77.0.1/24 dev sntv0").status, 0);
  ASSERT_EQ(b().ip("addr add 10.77.0.2/24 dev sntv1").status, 0);
  ASSERT_EQ(b().ip("link set sntv1 up").status, 0);
  ASSERT_EQ(b().ip("link set lo up").status, 0);

  auto rx = sys::in_netns(b().fd(), [] {
    auto n = Netlink::open();
    return n ? PacketSocket::open(n->get_link("sntv1")->ifindex) : tl::unexpected<Error>{n.error()};
  });
  ASSERT_TRUE(rx) << rx.error().message;

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(47001);
  ::inet_pton(AF_INET, "10.77.0.2", &addr.sin_addr);
  auto listener = sys::in_netns(b().fd(), [&]() -> Result<sys::UniqueFd> {
    sys::UniqueFd l{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!l || ::bind(l.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(l.get(), 1) != 0) {
      return sys::sys_error("listen");
    }
    return l;
  });
  ASSERT_TRUE(listener) << listener.error().message;
  sys::UniqueFd client{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  ASSERT_TRUE(client);
  // Neighbour resolution and the handshake go through the (non-blocking) packet socket unharmed.
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << sys::errno_text(errno);
  sys::UniqueFd server{::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)};
  ASSERT_TRUE(server);
  ::fcntl(client.get(), F_SETFL, O_NONBLOCK);

  std::vector<std::uint8_t> chunk(256 * 1024, 0x5a);
  std::vector<std::uint8_t> sink(256 * 1024);
  std::vector<std::vector<std::uint8_t>> bufs(PacketSocket::kMaxBurst,
                                              std::vector<std::uint8_t>(io::kMaxFrame));
  std::vector<RxSlot> slots(bufs.size());
  std::size_t biggest = 0;
  io::VnetHdr hdr{};
  wait_until(
      [&] {
        (void)::send(client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
        while (::recv(server.get(), sink.data(), sink.size(), 0) > 0) {
        }
        for (std::size_t i = 0; i < slots.size(); ++i) {
          slots[i] = RxSlot{bufs[i].data(), bufs[i].size()};
        }
        auto n = rx->recv_batch(slots);
        EXPECT_TRUE(n) << n.error().message;
        for (std::size_t i = 0; n && i < *n; ++i) {
          if (slots[i].len > biggest) {
            biggest = slots[i].len;
            std::memcpy(&hdr, slots[i].buf, sizeof hdr);
          }
        }
        return biggest > io::kVnetHdrLen + 1514;
      },
      std::chrono::milliseconds{5000});
  ASSERT_GT(biggest, io::kVnetHdrLen + 1514) << "no super-frame seen";
  EXPECT_LE(biggest, io::kMaxFrame);
  EXPECT_EQ(hdr.gso_type & ~io::kVnetGsoEcn, io::kVnetGsoTcpv4);
  EXPECT_GT(hdr.gso_size, 0);
  EXPECT_LE(hdr.gso_size, 1500 - 20 - 20);
  EXPECT_EQ(rx->counters().rx_truncated, 0U);
}

}  // namespace
}  // namespace subnic::test
