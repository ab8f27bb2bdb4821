// Namespace helpers that need no root: opening the current namespace, errors, result typing of
// in_netns.
#include "sys/netns.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace subnic::sys {
namespace {

// in_netns wraps a plain value, and passes a Result through without nesting it.
static_assert(std::is_same_v<decltype(in_netns(-1, [] { return 1; })), Result<int>>);
static_assert(std::is_same_v<decltype(in_netns(-1, [] {})), Status>);
static_assert(std::is_same_v<decltype(in_netns(-1, [] { return Result<int>{2}; })), Result<int>>);
static_assert(std::is_same_v<decltype(in_netns(-1, [] { return Status{}; })), Status>);

TEST(Netns, EmptyNameIsTheCurrentNamespace) {
  auto fd = open_netns("");
  ASSERT_TRUE(fd) << fd.error().message;
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0);
  EXPECT_EQ(netns_inode(fd->get()), st.st_ino);
}

TEST(Netns, MissingNameUsesIproute2Wording) {
  auto fd = open_netns("sntio-no-such-namespace");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ENOENT);
  EXPECT_EQ(fd.error().message,
            "Cannot open network namespace \"sntio-no-such-namespace\": No such file or directory");
}

TEST(Netns, RejectsPathLikeNames) {
  for (const char* bad : {"a/b", ".", "..", "../etc"}) {
    auto fd = open_netns(bad);
    ASSERT_FALSE(fd) << bad;
    EXPECT_EQ(fd.error().code, EINVAL) << bad;
  }
}

TEST(Netns, InodeOfABadFdIsZero) {
  EXPECT_EQ(netns_inode(-1), 0U);
}

TEST(Netns, InNetnsWithABadFdDoesNotRunTheFunction) {
  bool ran = false;
  auto r = in_netns(-1, [&] { ran = true; });
  EXPECT_FALSE(r);
  EXPECT_FALSE(ran);
}

TEST(Netns, NameOfAnUnknownInodeIsNone) {
  EXPECT_FALSE(netns_name_of(1));
}

TEST(Netns, ListAllFindsTheCurrentNamespace) {
  auto self = open_netns("");
  ASSERT_TRUE(self);
  const auto ino = netns_inode(self->get());
  const auto all = list_all_netns();
  bool found = false;
  for (const auto& e : all) {
    EXPECT_EQ(netns_inode(e.fd.get()), e.inode);
    found = found || e.inode == ino;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace subnic::sys
