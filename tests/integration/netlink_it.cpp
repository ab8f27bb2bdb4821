// Integration: Netlink getters and setters on a veth pair, LinkMonitor events, and read_dev_mcast.
#include <linux/if_arp.h>

#include <algorithm>

#include "lab.hpp"
#include "sys/dev_mcast.hpp"
#include "sys/netlink.hpp"

namespace subnic::test {
namespace {

using core::Mac;
using sys::LinkEvent;
using sys::LinkInfo;
using sys::Netlink;

class NetlinkIT : public LabTest {
 protected:
  LinkInfo link(int ifindex) {
    auto l = nl_->get_link(ifindex);
    EXPECT_TRUE(l) << l.error().message;
    return l ? *l : LinkInfo{};
  }
};

TEST_F(NetlinkIT, DescribesAVethPair) {
  EXPECT_EQ(v0_.kind, "veth");
  EXPECT_EQ(v0_.type, ARPHRD_ETHER);
  EXPECT_EQ(v0_.link_ifindex, v1_.ifindex);
  EXPECT_EQ(v1_.link_ifindex, v0_.ifindex);
  EXPECT_TRUE(v0_.up());
  EXPECT_EQ(v0_.mtu, 1500U);
  EXPECT_GT(v0_.max_mtu, v0_.mtu);
  EXPECT_TRUE(v0_.address.is_valid_unicast());
  EXPECT_EQ(v0_.master_ifindex, 0);
  EXPECT_EQ(v0_.promiscuity, 0U);

  auto all = nl_->list_links();
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> names;
  for (const auto& l : *all) {
    names.push_back(l.name);
  }
  std::sort(names.begin(), names.end());  // veth creates the peer first: sntv1 has the lower index
  EXPECT_EQ(names, (std::vector<std::string>{"lo", "sntv0", "sntv1"}));
}

TEST_F(NetlinkIT, SettersChangeTheDevice) {
  ASSERT_TRUE(nl_->set_mtu(v0_.ifindex, 1400));
  EXPECT_EQ(link(v0_.ifindex).mtu, 1400U);
  ASSERT_TRUE(nl_->set_txqlen(v0_.ifindex, 123));
  EXPECT_EQ(link(v0_.ifindex).txqlen, 123U);
  const Mac mac{{0x02, 0x00, 0x5e, 0xaa, 0xbb, 0xcc}};
  ASSERT_TRUE(nl_->set_address(v0_.ifindex, mac));
  EXPECT_EQ(link(v0_.ifindex).address, mac);

  ASSERT_TRUE(nl_->set_up(v0_.ifindex, false));
  EXPECT_FALSE(link(v0_.ifindex).up());
  ASSERT_TRUE(nl_->set_name(v0_.ifindex, "sntv9"));  // down: allowed on every kernel
  EXPECT_EQ(link(v0_.ifindex).name, "sntv9");
  ASSERT_TRUE(nl_->set_up(v0_.ifindex, true));
  EXPECT_TRUE(link(v0_.ifindex).up());

  ASSERT_TRUE(nl_->set_promisc(v0_.ifindex, true));
  EXPECT_EQ(link(v0_.ifindex).promiscuity, 1U);
  EXPECT_TRUE(link(v0_.ifindex).flags & LinkInfo::kIffPromisc);
  ASSERT_TRUE(nl_->set_promisc(v0_.ifindex, true));  // the user flag counts once
  EXPECT_EQ(link(v0_.ifindex).promiscuity, 1U);
  ASSERT_TRUE(nl_->set_promisc(v0_.ifindex, false));
  EXPECT_EQ(link(v0_.ifindex).promiscuity, 0U);

  ASSERT_TRUE(nl_->set_allmulti(v0_.ifindex, true));
  EXPECT_EQ(link(v0_.ifindex).allmulti, 1U);
  ASSERT_TRUE(nl_->set_allmulti(v0_.ifindex, false));
  EXPECT_EQ(link(v0_.ifindex).allmulti, 0U);

  ASSERT_TRUE(nl_->set_addr_gen_mode(v0_.ifindex, 3 /* IN6_ADDR_GEN_MODE_RANDOM */));
  EXPECT_NE(a().ip("-d link show sntv9").output.find("addrgenmode random"), std::string::npos);
}

TEST_F(NetlinkIT, SeveralChangesInOneRequest) {
  ASSERT_TRUE(nl_->change_link(
      sys::LinkChange{.ifindex = v1_.ifindex, .up = false, .mtu = 1280, .txqlen = 77}));
  const auto l = link(v1_.ifindex);
  EXPECT_FALSE(l.up());
  EXPECT_EQ(l.mtu, 1280U);
  EXPECT_EQ(l.txqlen, 77U);
}

TEST_F(NetlinkIT, KernelErrorsUseRtnetlinkWording) {
  auto taken = nl_->set_name(v0_.ifindex, "sntv1");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, EEXIST);
  EXPECT_EQ(taken.error().message, "RTNETLINK answers: File exists");

  auto big = nl_->set_mtu(v0_.ifindex, v0_.max_mtu + 1);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, EINVAL);
  EXPECT_EQ(big.error().message, "RTNETLINK answers: Invalid argument");

  auto nodev = nl_->set_up(0x7ffffff0, true);
  ASSERT_FALSE(nodev);
  EXPECT_EQ(nodev.error().code, ENODEV);
  EXPECT_EQ(nodev.error().message, "RTNETLINK answers: No such device");

  auto group = nl_->set_address(v0_.ifindex, Mac::broadcast());
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().code, EADDRNOTAVAIL);
}

TEST_F(NetlinkIT, MovesToAnotherNamespaceAndDeletes) {
  ASSERT_TRUE(nl_->set_netns(v0_.ifindex, b().fd()));
  auto gone = nl_->get_link("sntv0");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENODEV);
  EXPECT_EQ(gone.error().message, "Cannot find device \"sntv0\"");

  auto in_b = sys::in_netns(b().fd(), [] {
    auto n = Netlink::open();
    return n ? n->get_link("sntv0") : tl::unexpected<Error>{n.error()};
  });
  ASSERT_TRUE(in_b) << in_b.error().message;
  EXPECT_EQ(in_b->kind, "veth");

  ASSERT_TRUE(nl_->del_link(v1_.ifindex));  // deleting one end removes the pair
  EXPECT_FALSE(nl_->get_link("sntv1"));
  auto after = sys::in_netns(b().fd(), [] {
    auto n = Netlink::open();
    return n ? n->get_link("sntv0") : tl::unexpected<Error>{n.error()};
  });
  EXPECT_FALSE(after);
}

// Collects events from `mon` until `pred` matches one, or 2 s pass.
std::optional<LinkEvent> wait_event(sys::LinkMonitor& mon,
                                    const std::function<bool(const LinkEvent&)>& pred) {
  std::optional<LinkEvent> hit;
  wait_until([&] {
    if (!wait_readable(mon.fd(), std::chrono::milliseconds{50})) {
      return false;
    }
    auto r = mon.drain([&](const LinkEvent& e) {
      if (!hit && pred(e)) {
        hit = e;
      }
    });
    EXPECT_TRUE(r) << r.error().message;
    return hit.has_value();
  });
  return hit;
}

TEST_F(NetlinkIT, MonitorSeesUpDownRenameAndRemoval) {
  auto mon = sys::LinkMonitor::open();
  ASSERT_TRUE(mon) << mon.error().message;
  const int idx = v0_.ifindex;

  ASSERT_TRUE(nl_->set_up(idx, false));
  auto down = wait_event(*mon, [&](const LinkEvent& e) {
    return !e.removed && e.link.ifindex == idx && !e.link.up();
  });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->link.name, "sntv0");

  ASSERT_TRUE(nl_->set_name(idx, "sntv7"));
  auto renamed = wait_event(*mon, [&](const LinkEvent& e) {
    return !e.removed && e.link.ifindex == idx && e.link.name == "sntv7";
  });
  EXPECT_TRUE(renamed);

  ASSERT_TRUE(nl_->set_up(idx, true));
  auto up = wait_event(
      *mon, [&](const LinkEvent& e) { return !e.removed && e.link.ifindex == idx && e.link.up(); });
  EXPECT_TRUE(up);

  ASSERT_TRUE(nl_->del_link(idx));
  auto removed =
      wait_event(*mon, [&](const LinkEvent& e) { return e.removed && e.link.ifindex == idx; });
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->link.name, "sntv7");
}

TEST_F(NetlinkIT, MonitorOnlySeesItsOwnNamespace) {
  auto mon = sys::LinkMonitor::open();  // in A
  ASSERT_TRUE(mon);
  ASSERT_EQ(b().ip("link add sntb0 type veth peer name sntb1").status, 0);
  ASSERT_TRUE(nl_->set_txqlen(v0_.ifindex, 99));  // a marker event in A, after B's
  bool saw_b = false;
  auto marker = wait_event(*mon, [&](const LinkEvent& e) {
    saw_b = saw_b || e.link.name == "sntb0" || e.link.name == "sntb1";
    return e.link.ifindex == v0_.ifindex && e.link.txqlen == 99;
  });
  EXPECT_TRUE(marker);
  EXPECT_FALSE(saw_b);
}

TEST_F(NetlinkIT, MonitorReportsOverrunAndKeepsWorking) {
  auto mon = sys::LinkMonitor::open();
  ASSERT_TRUE(mon);
  // Far more notifications than the socket buffer (8 MiB) holds, none read meanwhile.
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(nl_->set_txqlen(v0_.ifindex, 1000 + static_cast<std::uint32_t>(i % 2)));
  }
  bool overrun = false;
  int events = 0;
  auto r = mon->drain([&](const LinkEvent& e) {
    overrun = overrun || e.overrun;
    ++events;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(events, 1);
  EXPECT_TRUE(overrun);
  // After the overrun, events flow again.
  ASSERT_TRUE(nl_->set_txqlen(v0_.ifindex, 4242));
  auto after = wait_event(*mon, [&](const LinkEvent& e) { return e.link.txqlen == 4242; });
  EXPECT_TRUE(after);
}

TEST_F(NetlinkIT, DevMcastSeesAGroupAddedWithIpMaddr) {
  const Mac group{{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}};
  auto before = sys::read_dev_mcast(v1_.ifindex);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(std::count(before->begin(), before->end(), group), 0);

  auto r = a().ip("maddr add 01:00:5e:01:02:03 dev sntv1");
  ASSERT_EQ(r.status, 0) << r.output;
  auto after = sys::read_dev_mcast(v1_.ifindex);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(std::count(after->begin(), after->end(), group), 1);
  auto other = sys::read_dev_mcast(v0_.ifindex);
  ASSERT_TRUE(other);
  EXPECT_EQ(std::count(other->begin(), other->end(), group), 0);

  // The calling thread's namespace counts, not the process's: B has no sntv1.
  auto in_b = sys::in_netns(b().fd(), [&] { return sys::read_dev_mcast(v1_.ifindex); });
  ASSERT_TRUE(in_b);
  EXPECT_EQ(std::count(in_b->begin(), in_b->end(), group), 0);
}

}  // namespace
}  // namespace subnic::test
