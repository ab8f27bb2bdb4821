// Test lab for the io/sys integration tests: privilege check, named namespaces and a veth pair, all
// removed on exit.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sys/netlink.hpp"
#include "sys/netns.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::test {

/// Why this process cannot run the lab (no CAP_NET_ADMIN/NET_RAW/SYS_ADMIN,
/// no /dev/net/tun, no `ip`), or nullopt when it can.
std::optional<std::string> missing_privilege();

/// CI=true in the environment: a missing privilege fails instead of skipping.
bool in_ci();

/// Runs a shell command, returns its exit status and combined output.
struct CmdResult {
  int status = -1;
  std::string output;
};
CmdResult run(const std::string& cmd);

/// "sntio<pid>": the prefix of every namespace this test process creates.
std::string lab_prefix();

/// A named network namespace (`ip netns add`), deleted by the destructor.
class Netns {
 public:
  /// Creates "<lab_prefix()><suffix>"; check ok() afterwards.
  explicit Netns(const std::string& suffix);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return fd_.operator bool(); }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  std::uint64_t inode() const { return sys::netns_inode(fd_.get()); }
  /// Runs `ip -n NAME <args>`; returns its result.
  CmdResult ip(const std::string& args) const;

 private:
  std::string name_;
  std::string error_;
  sys::UniqueFd fd_;
  bool created_ = false;
};

/// A counter of `ns`'s /proc/net/snmp (`section` "Icmp", `name` "InEchos") or, for section "",
/// of /proc/net/snmp6 ("Icmp6InEchos"); -1 if absent. Read through `ip netns exec`, so the
/// calling thread's namespace does not matter.
long snmp(const Netns& ns, const std::string& section, const std::string& name);

/// Polls `pred` every 5 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds{2000});

/// Waits up to `timeout` for `fd` to become readable.
bool wait_readable(int fd, std::chrono::milliseconds timeout);

/// Two namespaces A and B; in A a veth pair sntv0 <-> sntv1, both up. The
/// test body runs with the thread inside A. Skips (or fails under CI=true)
/// without the needed privileges. Everything is removed after each test,
/// failed or not: namespaces by TearDown, and with them every device in them.
class LabTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Netns& a() { return *a_; }
  Netns& b() { return *b_; }

  std::optional<Netns> a_;
  std::optional<Netns> b_;
  std::optional<sys::NetnsGuard> in_a_;
  std::optional<sys::Netlink> nl_;  // opened inside A
  sys::LinkInfo v0_;                // sntv0 and sntv1 as SetUp found them
  sys::LinkInfo v1_;
};

}  // namespace subnic::test

/// Skips the test without privileges, or fails it when CI=true. Use in a TEST
/// body or SetUp (it returns from the enclosing function).
#define SUBNIC_REQUIRE_ROOT()                                                                \
  do {                                                                                       \
    if (auto subnic_why = ::subnic::test::missing_privilege()) {                             \
      if (::subnic::test::in_ci()) {                                                         \
        FAIL() << "CI=true and the lab cannot run: " << *subnic_why;                         \
      }                                                                                      \
      GTEST_SKIP() << "needs root for namespaces, TAPs and packet sockets: " << *subnic_why; \
    }                                                                                        \
  } while (0)
