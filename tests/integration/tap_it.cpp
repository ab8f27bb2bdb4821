// Integration: Tap create/attach, renames, moves between namespaces, carrier, destroy, and frames
// both ways.
#include <linux/if_arp.h>
#include <linux/if_packet.h>

#include <array>

#include "frames.hpp"
#include "io/af_packet.hpp"
#include "io/tap.hpp"
#include "lab.hpp"
#include "sys/netlink.hpp"

namespace subnic::test {
namespace {

using io::Tap;
using sys::Netlink;

class TapIT : public LabTest {
 protected:
  // get_link in namespace `ns_fd` (B, say) from our thread in A.
  static Result<sys::LinkInfo> link_in(int ns_fd, const std::string& name) {
    return sys::in_netns(ns_fd, [&]() -> Result<sys::LinkInfo> {
      auto n = Netlink::open();
      if (!n) {
        return tl::unexpected<Error>{n.error()};
      }
      return n->get_link(name);
    });
  }
};

TEST_F(TapIT, CreatesAPersistentTap) {
  {
    auto tap = Tap::create("sntt0");
    ASSERT_TRUE(tap) << tap.error().message;
    EXPECT_GE(tap->fd(), 0);
    auto l = nl_->get_link("sntt0");
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->kind, "tun");
    EXPECT_EQ(l->type, ARPHRD_ETHER);
    EXPECT_FALSE(l->up());
    EXPECT_TRUE(l->address.is_valid_unicast());
    auto name = tap->name();
    ASSERT_TRUE(name);
    EXPECT_EQ(*name, "sntt0");
  }
  // The Tap object is gone; the device stays.
  EXPECT_TRUE(nl_->get_link("sntt0"));
}

TEST_F(TapIT, CreateOnAnExistingNameIsEexist) {
  for (const char* taken : {"sntv0", "lo"}) {
    auto tap = Tap::create(taken);
    ASSERT_FALSE(tap) << taken;
    EXPECT_EQ(tap.error().code, EEXIST);
    EXPECT_EQ(tap.error().message, "RTNETLINK answers: File exists");
  }
  auto first = Tap::create("sntt0");
  ASSERT_TRUE(first) << first.error().message;
  auto second = Tap::create("sntt0");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EEXIST);
}

TEST_F(TapIT, CreateRejectsBadNames) {
  for (const char* bad : {"", "tap%d", "sntt0123456789abc"}) {
    auto tap = Tap::create(bad);
    ASSERT_FALSE(tap) << bad;
    EXPECT_EQ(tap.error().code, EINVAL) << bad;
  }
}

TEST_F(TapIT, AttachReopensAndNeverCreates) {
  {
    auto tap = Tap::create("sntt0");
    ASSERT_TRUE(tap) << tap.error().message;
    const int ifindex = nl_->get_link("sntt0")->ifindex;
    auto busy = Tap::attach("sntt0");  // single queue: one opener at a time
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, EBUSY);
    tap = Tap{std::move(*tap)};  // moving keeps the descriptor
    EXPECT_EQ(nl_->get_link("sntt0")->ifindex, ifindex);
  }
  auto again = Tap::attach("sntt0");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again->name(), "sntt0");

  auto missing = Tap::attach("sntnone");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
  EXPECT_EQ(missing.error().message, "Cannot find device \"sntnone\"");
  EXPECT_FALSE(nl_->get_link("sntnone"));

  auto not_tap = Tap::attach("sntv0");
  ASSERT_FALSE(not_tap);
  EXPECT_EQ(not_tap.error().code, EINVAL);
}

TEST_F(TapIT, NameFollowsRenames) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_name(ifindex, "sntt1"));
  auto name = tap->name();
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_EQ(*name, "sntt1");
}

TEST_F(TapIT, NetnsFollowsAMoveToAnotherNamespace) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  auto ns = tap->netns();
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(sys::netns_inode(ns->get()), a().inode());

  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_netns(ifindex, b().fd()));
  EXPECT_FALSE(nl_->get_link("sntt0"));
  EXPECT_TRUE(link_in(b().fd(), "sntt0"));

  auto moved = tap->netns();
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(sys::netns_inode(moved->get()), b().inode());
  EXPECT_EQ(sys::netns_name_of(sys::netns_inode(moved->get())), b().name());

  // After a "restart", it is found and reattached where it now lives.
  { [[maybe_unused]] Tap closing = std::move(*tap); }  // close the descriptor
  auto again = sys::in_netns(b().fd(), [] { return Tap::attach("sntt0"); });
  ASSERT_TRUE(again) << again.error().message;
}

TEST_F(TapIT, CarrierIsVisibleAsLowerUp) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  // IFF_LOWER_UP is only reported while the device is up (dev_get_flags).
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  ASSERT_TRUE(nl_->set_up(ifindex, true));
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());  // a queue is attached: carrier on

  ASSERT_TRUE(tap->set_carrier(false));
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  EXPECT_TRUE(nl_->get_link(ifindex)->up());
  ASSERT_TRUE(tap->set_carrier(true));
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());

  { [[maybe_unused]] Tap closing = std::move(*tap); }  // close our queue: carrier goes off
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  auto again = Tap::attach("sntt0");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());
}

TEST_F(TapIT, DestroyRemovesItEvenFromAnotherNamespace) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_netns(ifindex, b().fd()));
  ASSERT_TRUE(link_in(b().fd(), "sntt0"));

  ASSERT_TRUE(tap->destroy());
  EXPECT_EQ(tap->fd(), -1);
  auto gone = link_in(b().fd(), "sntt0");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENODEV);
  EXPECT_FALSE(nl_->get_link("sntt0"));

  auto twice = tap->destroy();
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, EBADF);
}

TEST_F(TapIT, DestroyOfAnAttachedTapRemovesIt) {
  ASSERT_TRUE(Tap::create("sntt0"));
  auto tap = Tap::attach("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(tap->destroy());
  EXPECT_FALSE(nl_->get_link("sntt0"));
}

TEST_F(TapIT, ReadWithNothingPendingIsZero) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  auto n = tap->read(buf);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0U);
}

// The namespace side of the TAP is observed through a packet socket on it.
TEST_F(TapIT, FramesCrossInBothDirections) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const auto link = nl_->get_link("sntt0");
  ASSERT_TRUE(link);
  ASSERT_TRUE(nl_->set_up(link->ifindex, true));
  auto ns_side = io::PacketSocket::open(link->ifindex);
  ASSERT_TRUE(ns_side) << ns_side.error().message;

  // subnic writes -> the namespace receives (to the TAP's own MAC: PACKET_HOST).
  const auto in = test_frame(link->address, kSomeUnicast, "to-namespace");
  ASSERT_TRUE(tap->write(in));
  const auto in_split = test_frame(kBroadcast, kSomeUnicast, "to-namespace-v");
  ASSERT_TRUE(tap->writev(std::span{in_split}.first(io::kVnetHdrLen),
                          std::span{in_split}.subspan(io::kVnetHdrLen)));
  std::vector<std::uint8_t> rx(io::kMaxFrame);
  std::vector<std::pair<std::string, std::uint8_t>> got;
  wait_until([&] {
    io::RxSlot slot{rx.data(), rx.size()};
    auto n = ns_side->recv_batch(std::span{&slot, 1});
    if (n && *n == 1) {
      const auto m = marker_of(slot.buf, slot.len);
      if (!m.empty()) {
        EXPECT_EQ(slot.len, in.size());
        got.emplace_back(m, slot.pkttype);
      }
    }
    return got.size() >= 2;
  });
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0], (std::pair<std::string, std::uint8_t>{"to-namespace", PACKET_HOST}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::uint8_t>{"to-namespace-v", PACKET_BROADCAST}));

  // The namespace transmits -> subnic reads it, vnet header first.
  const auto out = test_frame(kBroadcast, link->address, "from-namespace");
  const std::array<std::span<const std::uint8_t>, 1> frames{std::span{out}};
  auto sent = ns_side->send_batch(frames);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(*sent, 1U);
  std::string seen;
  std::size_t seen_len = 0;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  wait_until([&] {
    auto n = tap->read(buf);
    EXPECT_TRUE(n);
    if (n && *n > 0 && marker_of(buf.data(), *n) == "from-namespace") {
      seen = "from-namespace";
      seen_len = *n;
    }
    return !seen.empty();
  });
  EXPECT_EQ(seen, "from-namespace");
  EXPECT_EQ(seen_len, out.size());
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + io::kVnetHdrLen),
            std::vector<std::uint8_t>(io::kVnetHdrLen, 0));  // no GSO, no checksum work
}

TEST_F(TapIT, WriteRejectsAFrameWithoutRoomForTheHeader) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(nl_->set_up(nl_->get_link("sntt0")->ifindex, true));
  const std::array<std::uint8_t, 4> runt{};
  auto r = tap->write(runt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
}

}  // namespace
}  // namespace subnic::test

namespace subnic::test {
namespace {

TEST_F(TapIT, WriteWhileDownIsEio) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  auto r = tap->write(test_frame(kBroadcast, kSomeUnicast, "down"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
}

TEST_F(TapIT, DescriptorOfADeletedTapFailsWithEbadfd) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(nl_->del_link(nl_->get_link("sntt0")->ifindex));  // `ip link del` behind our back
  EXPECT_FALSE(nl_->get_link("sntt0"));
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  auto r = tap->read(buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EBADFD);
  auto name = tap->name();
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().code, EBADFD);
}

}  // namespace
}  // namespace subnic::test
