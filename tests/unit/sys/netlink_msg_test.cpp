// Netlink message building and parsing (pure), plus read-only requests that need no root.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "sys/netlink.hpp"

namespace subnic::sys {
namespace {

using core::Mac;

struct alignas(4) Buf {
  std::array<std::uint8_t, nlmsg::kRequestBufSize> bytes{};
};

// Top-level attributes of an ifinfomsg message, by type.
std::map<int, const nlattr*> attrs_of(const nlmsghdr* nlh) {
  std::map<int, const nlattr*> out;
  mnl_attr_parse(
      nlh, sizeof(ifinfomsg),
      [](const nlattr* a, void* data) {
        (*static_cast<std::map<int, const nlattr*>*>(data))[mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
      },
      &out);
  return out;
}

const ifinfomsg* ifi_of(const nlmsghdr* nlh) {
  return static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
}

TEST(NlmsgBuild, ChangeLinkEmptyHasOnlyTheHeader) {
  Buf b;
  const nlmsghdr* nlh = nlmsg::build_change_link(b.bytes, LinkChange{.ifindex = 7});
  EXPECT_EQ(nlh->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(ifinfomsg)));
  EXPECT_EQ(ifi_of(nlh)->ifi_index, 7);
  EXPECT_EQ(ifi_of(nlh)->ifi_family, AF_UNSPEC);
  EXPECT_EQ(ifi_of(nlh)->ifi_change, 0U);
}

TEST(NlmsgBuild, FlagsUseIfiChangeAsMask) {
  Buf b;
  const nlmsghdr* nlh = nlmsg::build_change_link(
      b.bytes, LinkChange{.ifindex = 3, .up = false, .promisc = true, .allmulti = false});
  EXPECT_EQ(ifi_of(nlh)->ifi_change, unsigned{IFF_UP | IFF_PROMISC | IFF_ALLMULTI});
  EXPECT_EQ(ifi_of(nlh)->ifi_flags, unsigned{IFF_PROMISC});
}

TEST(NlmsgBuild, NoarpIsAFlagLikeIpLinkSetArpOff) {
  Buf off;
  const nlmsghdr* nlh =
      nlmsg::build_change_link(off.bytes, LinkChange{.ifindex = 4, .noarp = true});
  EXPECT_EQ(ifi_of(nlh)->ifi_change, unsigned{IFF_NOARP});
  EXPECT_EQ(ifi_of(nlh)->ifi_flags, unsigned{IFF_NOARP});
  EXPECT_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(ifinfomsg)));  // no attribute
  Buf on;
  nlh = nlmsg::build_change_link(on.bytes, LinkChange{.ifindex = 4, .up = true, .noarp = false});
  EXPECT_EQ(ifi_of(nlh)->ifi_change, unsigned{IFF_UP | IFF_NOARP});
  EXPECT_EQ(ifi_of(nlh)->ifi_flags, unsigned{IFF_UP});
  EXPECT_EQ(LinkInfo::kIffNoarp, unsigned{IFF_NOARP});
}

TEST(NlmsgBuild, DumpAddrsIsAnUnspecDump) {
  Buf b;
  const nlmsghdr* nlh = nlmsg::build_dump_addrs(b.bytes, 12);
  EXPECT_EQ(nlh->nlmsg_type, RTM_GETADDR);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(nlh->nlmsg_len, NLMSG_LENGTH(sizeof(ifaddrmsg)));
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  EXPECT_EQ(ifa->ifa_family, AF_UNSPEC);
  EXPECT_EQ(ifa->ifa_index, 12U);
  EXPECT_EQ(ifa->ifa_prefixlen, 0);
}

TEST(NlmsgBuild, ChangeLinkCarriesEveryAttribute) {
  Buf b;
  const Mac mac{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
  const LinkChange c{.ifindex = 9,
                     .up = true,
                     .mtu = 1400,
                     .txqlen = 1000,
                     .address = mac,
                     .name = std::string{"sntx0"},
                     .netns_fd = 42,
                     .addr_gen_mode = 3};
  const nlmsghdr* nlh = nlmsg::build_change_link(b.bytes, c);
  EXPECT_EQ(ifi_of(nlh)->ifi_flags, unsigned{IFF_UP});
  auto a = attrs_of(nlh);
  ASSERT_TRUE(a.count(IFLA_MTU));
  EXPECT_EQ(mnl_attr_get_u32(a[IFLA_MTU]), 1400U);
  ASSERT_TRUE(a.count(IFLA_TXQLEN));
  EXPECT_EQ(mnl_attr_get_u32(a[IFLA_TXQLEN]), 1000U);
  ASSERT_TRUE(a.count(IFLA_NET_NS_FD));
  EXPECT_EQ(mnl_attr_get_u32(a[IFLA_NET_NS_FD]), 42U);
  ASSERT_TRUE(a.count(IFLA_IFNAME));
  EXPECT_STREQ(mnl_attr_get_str(a[IFLA_IFNAME]), "sntx0");
  EXPECT_EQ(mnl_attr_get_payload_len(a[IFLA_IFNAME]), 6U);  // NUL-terminated, as iproute2 sends it
  ASSERT_TRUE(a.count(IFLA_ADDRESS));
  ASSERT_EQ(mnl_attr_get_payload_len(a[IFLA_ADDRESS]), 6U);
  EXPECT_EQ(std::memcmp(mnl_attr_get_payload(a[IFLA_ADDRESS]), mac.bytes.data(), 6), 0);

  // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE u8 } }
  ASSERT_TRUE(a.count(IFLA_AF_SPEC));
  const nlattr* inet6 = nullptr;
  mnl_attr_parse_nested(
      a[IFLA_AF_SPEC],
      [](const nlattr* x, void* d) {
        if (mnl_attr_get_type(x) == AF_INET6) {
          *static_cast<const nlattr**>(d) = x;
        }
        return MNL_CB_OK;
      },
      &inet6);
  ASSERT_NE(inet6, nullptr);
  const nlattr* mode = nullptr;
  mnl_attr_parse_nested(
      inet6,
      [](const nlattr* x, void* d) {
        if (mnl_attr_get_type(x) == IFLA_INET6_ADDR_GEN_MODE) {
          *static_cast<const nlattr**>(d) = x;
        }
        return MNL_CB_OK;
      },
      &mode);
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ(mnl_attr_get_u8(mode), 3);
}

TEST(NlmsgBuild, GetLinkByNameOrIndex) {
  Buf b;
  const nlmsghdr* by_name = nlmsg::build_get_link(b.bytes, 0, "eth0");
  EXPECT_EQ(by_name->nlmsg_type, RTM_GETLINK);
  EXPECT_EQ(by_name->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  auto a = attrs_of(by_name);
  ASSERT_TRUE(a.count(IFLA_IFNAME));
  EXPECT_STREQ(mnl_attr_get_str(a[IFLA_IFNAME]), "eth0");
  EXPECT_EQ(mnl_attr_get_u32(a[IFLA_EXT_MASK]), unsigned{RTEXT_FILTER_SKIP_STATS});

  Buf b2;
  const nlmsghdr* by_index = nlmsg::build_get_link(b2.bytes, 5, "");
  EXPECT_EQ(ifi_of(by_index)->ifi_index, 5);
  EXPECT_FALSE(attrs_of(by_index).count(IFLA_IFNAME));
}

TEST(NlmsgBuild, DumpAndDelete) {
  Buf b;
  const nlmsghdr* dump = nlmsg::build_dump_links(b.bytes);
  EXPECT_EQ(dump->nlmsg_type, RTM_GETLINK);
  EXPECT_EQ(dump->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  Buf b2;
  const nlmsghdr* del = nlmsg::build_del_link(b2.bytes, 11);
  EXPECT_EQ(del->nlmsg_type, RTM_DELLINK);
  EXPECT_EQ(ifi_of(del)->ifi_index, 11);
}

// An RTM_NEWLINK as the kernel would send it, built with libmnl.
nlmsghdr* fake_newlink(Buf& b) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = 17;
  ifi->ifi_type = ARPHRD_ETHER;
  ifi->ifi_flags = IFF_UP | IFF_BROADCAST | IFF_LOWER_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "sntv0");
  mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
  mnl_attr_put_u32(nlh, IFLA_MIN_MTU, 68);
  mnl_attr_put_u32(nlh, IFLA_MAX_MTU, 65535);
  mnl_attr_put_u32(nlh, IFLA_TXQLEN, 1000);
  mnl_attr_put_u32(nlh, IFLA_PROMISCUITY, 2);
  mnl_attr_put_u32(nlh, IFLA_ALLMULTI, 1);
  mnl_attr_put_u32(nlh, IFLA_LINK, 18);
  mnl_attr_put_u32(nlh, IFLA_MASTER, 4);
  mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
  const std::uint8_t addr[6] = {0x02, 0, 0, 0, 0, 0x17};
  mnl_attr_put(nlh, IFLA_ADDRESS, sizeof addr, addr);
  mnl_attr_put(nlh, IFLA_MAX + 5, 4, "junk");  // from a kernel newer than our headers
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  mnl_attr_nest_end(nlh, info);
  return nlh;
}

TEST(NlmsgParse, DecodesEveryField) {
  Buf b;
  const auto li = nlmsg::parse_link(fake_newlink(b));
  ASSERT_TRUE(li);
  EXPECT_EQ(li->ifindex, 17);
  EXPECT_EQ(li->name, "sntv0");
  EXPECT_EQ(li->type, ARPHRD_ETHER);
  EXPECT_TRUE(li->up());
  EXPECT_TRUE(li->lower_up());
  EXPECT_EQ(li->operstate, IF_OPER_UP);
  EXPECT_EQ(li->mtu, 1500U);
  EXPECT_EQ(li->min_mtu, 68U);
  EXPECT_EQ(li->max_mtu, 65535U);
  EXPECT_EQ(li->txqlen, 1000U);
  EXPECT_EQ(li->promiscuity, 2U);
  EXPECT_EQ(li->allmulti, 1U);
  EXPECT_EQ(li->link_ifindex, 18);
  EXPECT_EQ(li->master_ifindex, 4);
  EXPECT_EQ(li->address, (Mac{{0x02, 0, 0, 0, 0, 0x17}}));
  EXPECT_EQ(li->kind, "veth");
}

TEST(NlmsgParse, MissingAttributesAreZero) {
  Buf b;
  nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes.data());
  nlh->nlmsg_type = RTM_DELLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = 3;
  const auto li = nlmsg::parse_link(nlh);
  ASSERT_TRUE(li);
  EXPECT_EQ(li->ifindex, 3);
  EXPECT_EQ(li->name, "");
  EXPECT_EQ(li->kind, "");
  EXPECT_EQ(li->link_ifindex, 0);
  EXPECT_TRUE(li->address.is_zero());
  EXPECT_FALSE(li->up());
}

TEST(NlmsgParse, RejectsOtherMessagesAndShortOnes) {
  Buf b;
  nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes.data());
  nlh->nlmsg_type = RTM_NEWADDR;
  mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
  EXPECT_FALSE(nlmsg::parse_link(nlh));

  Buf b2;
  nlmsghdr* shorty = mnl_nlmsg_put_header(b2.bytes.data());
  shorty->nlmsg_type = RTM_NEWLINK;
  EXPECT_FALSE(nlmsg::parse_link(shorty));
}

// An RTM_NEWADDR as inet_fill_ifaddr / inet6_fill_ifaddr would send it.
struct FakeAddr {
  std::uint16_t type = RTM_NEWADDR;
  std::uint8_t family = AF_INET;
  std::uint32_t ifindex = 5;
  std::uint8_t prefixlen = 24;
  std::uint8_t scope = RT_SCOPE_UNIVERSE;
  std::uint8_t ifa_flags = 0;
  std::vector<std::uint8_t> local;          // IFA_LOCAL payload, omitted if empty
  std::vector<std::uint8_t> address;        // IFA_ADDRESS payload, omitted if empty
  std::optional<std::uint32_t> flags_attr;  // IFA_FLAGS
};

nlmsghdr* fake_addr(Buf& b, const FakeAddr& f) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes.data());
  nlh->nlmsg_type = f.type;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = f.family;
  ifa->ifa_index = f.ifindex;
  ifa->ifa_prefixlen = f.prefixlen;
  ifa->ifa_scope = f.scope;
  ifa->ifa_flags = f.ifa_flags;
  if (!f.address.empty()) {
    mnl_attr_put(nlh, IFA_ADDRESS, f.address.size(), f.address.data());
  }
  if (!f.local.empty()) {
    mnl_attr_put(nlh, IFA_LOCAL, f.local.size(), f.local.data());
  }
  mnl_attr_put_strz(nlh, IFA_LABEL, "sntv0");
  if (f.flags_attr) {
    mnl_attr_put_u32(nlh, IFA_FLAGS, *f.flags_attr);
  }
  mnl_attr_put(nlh, IFA_MAX + 3, 4, "junk");  // from a kernel newer than our headers
  return nlh;
}

std::vector<std::uint8_t> v6_bytes(const char* text) {
  const auto a = core::IpAddr::parse(text);
  EXPECT_TRUE(a) << text;
  return a ? std::vector<std::uint8_t>(a->bytes.begin(), a->bytes.end())
           : std::vector<std::uint8_t>(16, 0);
}

// Sets the fields a test names, leaves the rest at their defaults (a designated initializer
// would need every member after the last one named).
template <class F>
FakeAddr addr_with(F&& set) {
  FakeAddr f;
  set(f);
  return f;
}

TEST(NlmsgParseAddr, Ipv4PrefersIfaLocal) {
  Buf b;
  // `ip addr add 10.0.0.1 peer 10.0.0.2/32`: IFA_LOCAL is ours, IFA_ADDRESS the peer's.
  const auto a = nlmsg::parse_addr(fake_addr(b, addr_with([](FakeAddr& f) {
                                               f.prefixlen = 32;
                                               f.local = {10, 0, 0, 1};
                                               f.address = {10, 0, 0, 2};
                                             })));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ifindex, 5);
  EXPECT_EQ(a->address.to_string(), "10.0.0.1");
  EXPECT_TRUE(a->address.v4());
  EXPECT_EQ(a->prefixlen, 32);

  Buf b2;  // IFA_ADDRESS only (some tools omit IFA_LOCAL)
  const auto only = nlmsg::parse_addr(fake_addr(b2, addr_with([](FakeAddr& f) {
                                                  f.address = {192, 168, 7, 9};
                                                })));
  ASSERT_TRUE(only);
  EXPECT_EQ(only->address.to_string(), "192.168.7.9");
}

TEST(NlmsgParseAddr, Ipv6UsesIfaAddressAndIfaFlags) {
  Buf b;
  const auto a = nlmsg::parse_addr(fake_addr(b, addr_with([](FakeAddr& f) {
                                               f.type = RTM_DELADDR;
                                               f.family = AF_INET6;
                                               f.ifindex = 9;
                                               f.prefixlen = 64;
                                               f.scope = RT_SCOPE_LINK;
                                               f.ifa_flags = IFA_F_TENTATIVE;
                                               f.address = v6_bytes("fe80::1:2");
                                               f.flags_attr = IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE;
                                             })));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ifindex, 9);
  EXPECT_FALSE(a->address.v4());
  EXPECT_EQ(a->address.to_string(), "fe80::1:2");
  EXPECT_EQ(a->scope, RT_SCOPE_LINK);
  EXPECT_EQ(a->flags, unsigned{IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE});  // IFA_FLAGS wins

  Buf b2;  // with a peer, inet6_fill_ifaddr puts ours in IFA_LOCAL too
  const auto peer = nlmsg::parse_addr(fake_addr(b2, addr_with([](FakeAddr& f) {
                                                  f.family = AF_INET6;
                                                  f.local = v6_bytes("fd00::1");
                                                  f.address = v6_bytes("fd00::2");
                                                })));
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->address.to_string(), "fd00::1");
}

TEST(NlmsgParseAddr, RejectsOtherFamiliesMessagesAndBadLengths) {
  Buf b;
  EXPECT_FALSE(nlmsg::parse_addr(fake_addr(b, addr_with([](FakeAddr& f) {
                                             f.family = AF_PACKET;
                                             f.address = {1, 2, 3, 4};
                                           }))));
  Buf b2;
  EXPECT_FALSE(nlmsg::parse_addr(fake_addr(b2, addr_with([](FakeAddr& f) {
                                             f.type = RTM_NEWLINK;
                                             f.address = {1, 2, 3, 4};
                                           }))));
  Buf b3;  // an IPv6-length address in an AF_INET message
  EXPECT_FALSE(nlmsg::parse_addr(
      fake_addr(b3, addr_with([](FakeAddr& f) { f.address = v6_bytes("fd00::1"); }))));
  Buf b4;  // no address attribute at all
  EXPECT_FALSE(nlmsg::parse_addr(fake_addr(b4, FakeAddr{})));
  Buf b5;
  nlmsghdr* shorty = mnl_nlmsg_put_header(b5.bytes.data());
  shorty->nlmsg_type = RTM_NEWADDR;
  EXPECT_FALSE(nlmsg::parse_addr(shorty));
  Buf b6;  // a bad IFA_LOCAL falls back to IFA_ADDRESS
  const auto fallback = nlmsg::parse_addr(fake_addr(b6, addr_with([](FakeAddr& f) {
                                                      f.local = {10, 0};
                                                      f.address = {10, 0, 0, 3};
                                                    })));
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->address.to_string(), "10.0.0.3");
}

// Read-only requests: any user may make them in its own namespace.
TEST(NetlinkLocal, FindsLoopbackByNameAndIndex) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto lo = nl->get_link("lo");
  ASSERT_TRUE(lo) << lo.error().message;
  EXPECT_EQ(lo->type, ARPHRD_LOOPBACK);
  auto same = nl->get_link(lo->ifindex);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->name, "lo");
  auto all = nl->list_links();
  ASSERT_TRUE(all) << all.error().message;
  bool found = false;
  for (const auto& l : *all) {
    found = found || l.name == "lo";
  }
  EXPECT_TRUE(found);
}

TEST(NetlinkLocal, ListsLoopbackAddresses) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto lo = nl->get_link("lo");
  ASSERT_TRUE(lo) << lo.error().message;
  if (!lo->up()) {
    GTEST_SKIP() << "lo is down here: it has no addresses";
  }
  auto addrs = nl->list_addrs(lo->ifindex);
  ASSERT_TRUE(addrs) << addrs.error().message;
  const auto has = [&](const char* text) {
    return std::find(addrs->begin(), addrs->end(), *core::IpAddr::parse(text)) != addrs->end();
  };
  EXPECT_TRUE(has("127.0.0.1"));
  for (const auto& a : *addrs) {
    EXPECT_NE(a.to_string(), "") << "unprintable address";
  }
  auto none = nl->list_addrs(0x7ffffff0);  // no such device: an empty list, not an error
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
}

TEST(NetlinkLocal, MissingDeviceUsesIproute2Wording) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto r = nl->get_link("sntnosuchdev");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENODEV);
  EXPECT_EQ(r.error().message, "Cannot find device \"sntnosuchdev\"");
  auto too_long = nl->get_link("a-name-much-too-long-for-ifnamsiz");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ENODEV);
  auto by_index = nl->get_link(0x7ffffff0);
  ASSERT_FALSE(by_index);
  EXPECT_EQ(by_index.error().code, ENODEV);
}

TEST(NetlinkLocal, RequestsStillWorkAfterAnError) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(nl->get_link("sntnosuchdev"));
    EXPECT_TRUE(nl->get_link("lo"));
  }
}

TEST(NetlinkLocal, ChangeWithATooLongNameIsEinval) {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  auto r = nl->set_name(1, "a-name-much-too-long-for-ifnamsiz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(r.error().message, "RTNETLINK answers: Invalid argument");
}

TEST(LinkMonitorLocal, OpensNonBlockingAndDrainsNothing) {
  auto mon = LinkMonitor::open();
  ASSERT_TRUE(mon) << mon.error().message;
  EXPECT_GE(mon->fd(), 0);
  int events = 0;
  auto r = mon->drain([&](const LinkEvent&) { ++events; });
  EXPECT_TRUE(r) << r.error().message;
}

}  // namespace
}  // namespace subnic::sys
