// Control socket access: who allow_peer() lets in, and the message a refused peer gets.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/access.hpp"

namespace subnic::daemon {
namespace {

PeerCreds peer(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  PeerCreds p;
  p.uid = uid;
  p.gid = gid;
  p.groups = std::move(groups);
  p.groups_known = true;
  return p;
}

const ControlGroup kSubnic{"subnic", gid_t{990}};
const ControlGroup kNoGroup{"subnic", std::nullopt};

TEST(ControlAccess, RootIsAlwaysAllowed) {
  EXPECT_TRUE(allow_peer(peer(0, 0), kSubnic));
  EXPECT_TRUE(allow_peer(peer(0, 1234), kNoGroup));
}

TEST(ControlAccess, PrimaryOrSupplementaryGroupIsAllowed) {
  EXPECT_TRUE(allow_peer(peer(1000, 990), kSubnic));
  EXPECT_TRUE(allow_peer(peer(1000, 1000, {27, 990, 100}), kSubnic));
}

TEST(ControlAccess, OthersAreRefusedWithEaccesNamingUidAndGroup) {
  const auto r = allow_peer(peer(65534, 65534, {100}), kSubnic);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EACCES);
  EXPECT_EQ(r.error().message, "Error: uid 65534 is neither root nor in group subnic");
}

TEST(ControlAccess, MissingGroupMeansRootOnly) {
  const auto r = allow_peer(peer(1000, 990, {990}), kNoGroup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EACCES);
  EXPECT_EQ(r.error().message,
            "Error: uid 1000 is neither root nor in group subnic (the group does not exist: root "
            "only)");
}

TEST(ControlAccess, GroupLookup) {
  const auto root = lookup_control_group("root");  // gid 0 on every Linux system
  ASSERT_TRUE(root) << root.error().message;
  ASSERT_TRUE(root->gid.has_value());
  EXPECT_EQ(*root->gid, 0u);
  const auto none = lookup_control_group("subnic-no-such-group-x");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->gid.has_value());
  EXPECT_FALSE(lookup_control_group(""));
}

TEST(ControlAccess, PeerCredsOfASocketPairAreOurOwn) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const auto p = peer_creds(sv[0]);
  ::close(sv[0]);
  ::close(sv[1]);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->pid, ::getpid());
  EXPECT_EQ(p->uid, ::geteuid());
  EXPECT_EQ(p->gid, ::getegid());
  EXPECT_TRUE(p->groups_known);  // Linux >= 4.13
}

}  // namespace
}  // namespace subnic::daemon
