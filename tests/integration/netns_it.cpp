// Integration: namespaces by name, NetnsGuard/in_netns switching, finding namespaces again by
// inode.
#include <sched.h>

#include <atomic>
#include <thread>

#include "lab.hpp"
#include "sys/netns.hpp"

namespace subnic::test {
namespace {

using NetnsIT = LabTest;

std::uint64_t current_inode() {
  auto fd = sys::open_netns("");
  return fd ? sys::netns_inode(fd->get()) : 0;
}

TEST_F(NetnsIT, OpensByNameAndIdentifiesByInode) {
  auto fd = sys::open_netns(b().name());
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_EQ(sys::netns_inode(fd->get()), b().inode());
  EXPECT_NE(b().inode(), a().inode());
  EXPECT_EQ(sys::netns_name_of(b().inode()), b().name());
  EXPECT_EQ(sys::netns_name_of(a().inode()), a().name());
}

TEST_F(NetnsIT, GuardEntersAndSwitchesBack) {
  ASSERT_EQ(current_inode(), a().inode());  // the fixture put us in A
  {
    auto g = sys::NetnsGuard::enter(b().fd());
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(current_inode(), b().inode());
    auto moved = std::move(*g);  // the duty to switch back moves along
    EXPECT_EQ(current_inode(), b().inode());
  }
  EXPECT_EQ(current_inode(), a().inode());
}

TEST_F(NetnsIT, LeaveIsIdempotent) {
  auto g = sys::NetnsGuard::enter(b().fd());
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->leave());
  EXPECT_EQ(current_inode(), a().inode());
  EXPECT_TRUE(g->leave());
  EXPECT_EQ(current_inode(), a().inode());
}

TEST_F(NetnsIT, GuardIsPerThread) {
  // A thread that already exists stays where it is.
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> other{0};
  std::thread t{[&] {
    wait_until([&] { return go.load(); }, std::chrono::milliseconds{10000});
    other = current_inode();
  }};
  auto g = sys::NetnsGuard::enter(b().fd());
  go = true;
  t.join();
  ASSERT_TRUE(g);
  EXPECT_EQ(other.load(), a().inode());

  // A thread created inside the guard inherits its creator's namespace (copy_namespaces).
  std::uint64_t child = 0;
  std::thread t2{[&] { child = current_inode(); }};
  t2.join();
  EXPECT_EQ(child, b().inode());
}

TEST_F(NetnsIT, InNetnsRunsInsideAndPassesResultsThrough) {
  auto ino = sys::in_netns(b().fd(), [] { return current_inode(); });
  ASSERT_TRUE(ino);
  EXPECT_EQ(*ino, b().inode());
  EXPECT_EQ(current_inode(), a().inode());

  auto failed = sys::in_netns(b().fd(), [] { return sys::open_netns("sntio-missing"); });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ENOENT);
  EXPECT_EQ(current_inode(), a().inode());
}

TEST_F(NetnsIT, EnterRejectsANonNamespaceFd) {
  auto g = sys::NetnsGuard::enter(0 /* stdin */);
  EXPECT_FALSE(g);
  EXPECT_EQ(current_inode(), a().inode());
}

TEST_F(NetnsIT, ListAllFindsNamedAndThreadOnlyNamespaces) {
  // A namespace with no name, held only by a thread of this process.
  std::atomic<std::uint64_t> hidden{0};
  std::atomic<bool> done{false};
  std::thread t{[&] {
    if (::unshare(CLONE_NEWNET) == 0) {
      hidden = current_inode();
    } else {
      hidden = 1;
    }
    wait_until([&] { return done.load(); }, std::chrono::milliseconds{10000});
  }};
  ASSERT_TRUE(wait_until([&] { return hidden.load() != 0; }));
  ASSERT_NE(hidden.load(), 1U) << "unshare(CLONE_NEWNET) failed";

  const auto all = sys::list_all_netns();
  done = true;
  t.join();

  bool saw_a = false;
  bool saw_b = false;
  bool saw_hidden = false;
  for (const auto& e : all) {
    EXPECT_EQ(sys::netns_inode(e.fd.get()), e.inode);
    if (e.inode == a().inode()) {
      saw_a = e.name == a().name();
    }
    if (e.inode == b().inode()) {
      saw_b = e.name == b().name();
    }
    if (e.inode == hidden.load()) {
      saw_hidden = !e.name.has_value();
    }
  }
  EXPECT_TRUE(saw_a);
  EXPECT_TRUE(saw_b);
  EXPECT_TRUE(saw_hidden);
}

}  // namespace
}  // namespace subnic::test
