// UniqueFd ownership (closes once, moves, release/reset) and sys_error's message format.
#include "sys/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <type_traits>

namespace subnic::sys {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) >= 0;
}

int open_devnull() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);

TEST(UniqueFd, DefaultIsEmpty) {
  UniqueFd fd;
  EXPECT_FALSE(fd);
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  int raw = open_devnull();
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd{raw};
    EXPECT_TRUE(fd);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveTransfersOwnership) {
  int raw = open_devnull();
  ASSERT_GE(raw, 0);
  UniqueFd a{raw};
  UniqueFd b{std::move(a)};
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(b.get(), raw);
  EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, MoveAssignClosesThePreviousDescriptor) {
  int raw1 = open_devnull();
  int raw2 = open_devnull();
  ASSERT_GE(raw1, 0);
  ASSERT_GE(raw2, 0);
  UniqueFd a{raw1};
  UniqueFd b{raw2};
  a = std::move(b);
  EXPECT_FALSE(is_open(raw1));
  EXPECT_EQ(a.get(), raw2);
  EXPECT_TRUE(is_open(raw2));
}

TEST(UniqueFd, SelfMoveAssignKeepsTheDescriptor) {
  int raw = open_devnull();
  ASSERT_GE(raw, 0);
  UniqueFd a{raw};
  UniqueFd& alias = a;
  a = std::move(alias);
  EXPECT_EQ(a.get(), raw);
  EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  int raw = open_devnull();
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd{raw};
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd);
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, ResetClosesAndAdopts) {
  int raw1 = open_devnull();
  int raw2 = open_devnull();
  UniqueFd fd{raw1};
  fd.reset(raw2);
  EXPECT_FALSE(is_open(raw1));
  EXPECT_EQ(fd.get(), raw2);
  fd.reset();
  EXPECT_FALSE(is_open(raw2));
  EXPECT_FALSE(fd);
}

TEST(SysError, CarriesErrnoAndStrerror) {
  errno = ENOENT;
  const auto e = sys_error("open /nowhere");
  EXPECT_EQ(e.value().code, ENOENT);
  EXPECT_EQ(e.value().message, "open /nowhere: No such file or directory");
}

TEST(SysError, ReadsErrnoOfTheFailedCall) {
  UniqueFd fd{::open("/definitely/not/here", O_RDONLY)};
  ASSERT_FALSE(fd);
  const auto e = sys_error(std::string{"open"});
  EXPECT_EQ(e.value().code, ENOENT);
}

}  // namespace
}  // namespace subnic::sys
