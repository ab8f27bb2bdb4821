// Integration: Netlink getters and setters on a veth pair, address dumps, LinkMonitor link and
// address events, and read_dev_mcast.
#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <sstream>

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

// Every address `ip -o addr show dev DEV` prints, as text.
std::vector<std::string> ip_addrs(const Netns& ns, const std::string& dev) {
  std::istringstream out{ns.ip("-o addr show dev " + dev).output};
  std::vector<std::string> addrs;
  std::string line;
  while (std::getline(out, line)) {
    std::istringstream words{line};
    std::string w;
    while (words >> w) {
      if (w == "inet" || w == "inet6") {
        words >> w;  // "10.0.0.1/24" or "10.0.0.1" before "peer 10.0.0.2/32"
        addrs.push_back(w.substr(0, w.find('/')));
        break;
      }
    }
  }
  return addrs;
}

std::vector<std::string> as_text(const std::vector<core::IpAddr>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs) {
    out.push_back(a.to_string());
  }
  return out;
}

TEST_F(NetlinkIT, ListAddrsSeesIpv4Ipv6LinkLocalAndTentativeAddresses) {
  // Without carrier (peer down) IPv6 DAD cannot start: new IPv6 addresses stay tentative.
  ASSERT_EQ(a().ip("link set sntv1 down").status, 0);
  for (const char* cmd :
       {"addr add 10.99.0.1/24 dev sntv0", "addr add 10.99.1.1 peer 10.99.1.2/32 dev sntv0",
        "addr add fd99::1/64 dev sntv0", "addr add fe80::99/64 dev sntv0",
        "addr add 10.99.0.2/24 dev sntv1", "addr add fd99::2/64 dev sntv1"}) {
    auto r = a().ip(cmd);
    ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
  }
  const auto tentative = a().ip("-6 addr show dev sntv0 tentative").output;
  EXPECT_NE(tentative.find("fd99::1/64"), std::string::npos) << tentative;
  EXPECT_NE(tentative.find("fe80::99/64"), std::string::npos) << tentative;

  auto addrs = nl_->list_addrs(v0_.ifindex);
  ASSERT_TRUE(addrs) << addrs.error().message;
  auto ours = as_text(*addrs);
  const auto has = [&ours](const std::string& s) {
    return std::find(ours.begin(), ours.end(), s) != ours.end();
  };
  EXPECT_TRUE(has("10.99.0.1"));
  EXPECT_TRUE(has("10.99.1.1"));
  EXPECT_FALSE(has("10.99.1.2")) << "the peer address is not ours";
  EXPECT_TRUE(has("fd99::1"));
  EXPECT_TRUE(has("fe80::99"));
  EXPECT_FALSE(has("10.99.0.2")) << "sntv1's address";
  EXPECT_FALSE(has("fd99::2")) << "sntv1's address";
  for (const auto& a : *addrs) {
    EXPECT_EQ(a.v4(), a.to_string().find(':') == std::string::npos) << a.to_string();
  }
  // The same set as iproute2's, in the kernel's order (IPv4 first).
  EXPECT_EQ(ours, ip_addrs(a(), "sntv0"));
  ASSERT_FALSE(ours.empty());
  EXPECT_TRUE(addrs->front().v4());
  // Still tentative afterwards: the list did include tentative addresses.
  EXPECT_NE(a().ip("-6 addr show dev sntv0 tentative").output.find("fd99::1/64"),
            std::string::npos);

  ASSERT_EQ(a().ip("addr flush dev sntv0").status, 0);
  auto none = nl_->list_addrs(v0_.ifindex);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty()) << ::testing::PrintToString(as_text(*none));
}

TEST_F(NetlinkIT, ListAddrsIncludesTheAutomaticLinkLocal) {
  // SetUp brought both ends up: addrconf made an EUI-64 fe80:: address on each.
  std::vector<std::string> ll;
  ASSERT_TRUE(wait_until([&] {
    auto addrs = nl_->list_addrs(v1_.ifindex);
    EXPECT_TRUE(addrs);
    ll.clear();
    for (const auto& s : as_text(addrs ? *addrs : std::vector<core::IpAddr>{})) {
      if (s.rfind("fe80::", 0) == 0) {
        ll.push_back(s);
      }
    }
    return !ll.empty();
  }));
  EXPECT_EQ(ll, ip_addrs(a(), "sntv1"));
}

TEST_F(NetlinkIT, MonitorReportsAddressChangesAsEventsOfTheDevice) {
  auto mon = sys::LinkMonitor::open();
  ASSERT_TRUE(mon) << mon.error().message;
  const int idx = v0_.ifindex;
  const auto addr_event = [&](const LinkEvent& e) { return e.address && e.link.ifindex == idx; };

  ASSERT_EQ(a().ip("addr add 10.99.0.1/24 dev sntv0").status, 0);
  auto v4 = wait_event(*mon, addr_event);
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->removed);
  EXPECT_FALSE(v4->overrun);
  EXPECT_EQ(v4->link.name, "");  // only the index is known
  EXPECT_EQ(v4->link.flags, 0U);

  ASSERT_EQ(a().ip("addr add fd99::1/64 dev sntv0 nodad").status, 0);
  EXPECT_TRUE(wait_event(*mon, addr_event));

  ASSERT_EQ(a().ip("addr del 10.99.0.1/24 dev sntv0").status, 0);
  auto del = wait_event(*mon, addr_event);
  ASSERT_TRUE(del);
  EXPECT_FALSE(del->removed) << "an address went, the device is still there";

  // An address of another device is that device's event; link events still say address=false.
  ASSERT_EQ(a().ip("addr add 10.99.0.2/24 dev sntv1").status, 0);
  auto other = wait_event(*mon, [](const LinkEvent& e) { return e.address; });
  ASSERT_TRUE(other);
  EXPECT_EQ(other->link.ifindex, v1_.ifindex);
  ASSERT_TRUE(nl_->set_txqlen(idx, 321));
  auto link_ev = wait_event(*mon, [&](const LinkEvent& e) { return e.link.txqlen == 321; });
  ASSERT_TRUE(link_ev);
  EXPECT_FALSE(link_ev->address);
  EXPECT_EQ(link_ev->link.ifindex, idx);
}

TEST_F(NetlinkIT, SetNoarpResolvesNeighboursToTheDevicesOwnMac) {
  ASSERT_TRUE(nl_->set_noarp(v0_.ifindex, true));
  EXPECT_TRUE(link(v0_.ifindex).noarp());
  EXPECT_NE(a().ip("link show sntv0").output.find("NOARP"), std::string::npos);
  EXPECT_FALSE(link(v1_.ifindex).noarp());

  // Make the stack want a neighbour: one UDP datagram to an on-link address (thread is in A).
  ASSERT_EQ(a().ip("addr add 10.99.0.1/24 dev sntv0").status, 0);
  sys::UniqueFd udp{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  ASSERT_TRUE(udp);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  ::inet_pton(AF_INET, "10.99.0.7", &to.sin_addr);
  ASSERT_GE(::sendto(udp.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  const auto neigh = a().ip("neigh show 10.99.0.7 dev sntv0 nud all").output;
  EXPECT_NE(neigh.find("lladdr " + v0_.address.to_string()), std::string::npos) << neigh;
  EXPECT_NE(neigh.find("NOARP"), std::string::npos) << neigh;

  ASSERT_TRUE(nl_->set_noarp(v0_.ifindex, false));
  EXPECT_FALSE(link(v0_.ifindex).noarp());
  const auto after = a().ip("neigh show 10.99.0.7 dev sntv0 nud all").output;
  EXPECT_EQ(after.find("NOARP"), std::string::npos) << "flushed on the flag change: " << after;
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
