// Test lab: privilege check, shell runner, RAII namespaces, the LabTest fixture and stale-namespace
// cleanup.
#include "lab.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace subnic::test {
namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapNetRaw = 13;
constexpr int kCapSysAdmin = 21;

std::uint64_t effective_caps() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      return std::stoull(line.substr(7), nullptr, 16);
    }
  }
  return 0;
}

bool has_ip() {
  return run("command -v ip").status == 0;
}

}  // namespace

std::optional<std::string> missing_privilege() {
  const std::uint64_t caps = effective_caps();
  for (auto [bit, name] :
       {std::pair{kCapNetAdmin, "CAP_NET_ADMIN"}, std::pair{kCapNetRaw, "CAP_NET_RAW"},
        std::pair{kCapSysAdmin, "CAP_SYS_ADMIN"}}) {
    if ((caps & (std::uint64_t{1} << bit)) == 0) {
      return std::string{"missing "} + name;
    }
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    return std::string{"/dev/net/tun is not accessible"};
  }
  if (!has_ip()) {
    return std::string{"iproute2 `ip` not found"};
  }
  return std::nullopt;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view{ci} == "true";
}

CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return r;
  }
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
    r.output += buf.data();
  }
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

long snmp(const Netns& ns, const std::string& section, const std::string& name) {
  const auto r =
      run("ip netns exec " + ns.name() + " cat /proc/net/snmp" + (section.empty() ? "6" : ""));
  std::istringstream in{r.output};
  std::string line;
  if (section.empty()) {
    while (std::getline(in, line)) {
      std::istringstream w{line};
      std::string key;
      long value = -1;
      if (w >> key >> value && key == name) {
        return value;
      }
    }
    return -1;
  }
  std::string header;
  while (std::getline(in, header)) {
    if (header.rfind(section + ": ", 0) != 0 || !std::getline(in, line)) {
      continue;
    }
    std::istringstream names{header.substr(section.size() + 1)};
    std::istringstream values{line.substr(section.size() + 1)};
    std::string n;
    long v = 0;
    while (names >> n && values >> v) {
      if (n == name) {
        return v;
      }
    }
  }
  return -1;
}

std::string lab_prefix() {
  return "sntio" + std::to_string(::getpid());
}

Netns::Netns(const std::string& suffix) : name_{lab_prefix() + suffix} {
  const auto r = run("ip netns add " + name_);
  if (r.status != 0) {
    error_ = "ip netns add " + name_ + ": " + r.output;
    return;
  }
  created_ = true;
  auto fd = sys::open_netns(name_);
  if (!fd) {
    error_ = fd.error().message;
    return;
  }
  fd_ = std::move(*fd);
}

Netns::~Netns() {
  fd_.reset();
  if (created_) {
    run("ip netns del " + name_);
  }
}

CmdResult Netns::ip(const std::string& args) const {
  return run("ip -n " + name_ + " " + args);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0 && (p.revents & POLLIN) != 0;
}

void LabTest::SetUp() {
  SUBNIC_REQUIRE_ROOT();
  a_.emplace("a");
  ASSERT_TRUE(a_->ok()) << a_->error();
  b_.emplace("b");
  ASSERT_TRUE(b_->ok()) << b_->error();
  auto r = a_->ip("link add sntv0 type veth peer name sntv1");
  ASSERT_EQ(r.status, 0) << r.output;
  r = a_->ip("link set sntv0 up");
  ASSERT_EQ(r.status, 0) << r.output;
  r = a_->ip("link set sntv1 up");
  ASSERT_EQ(r.status, 0) << r.output;
  auto guard = sys::NetnsGuard::enter(a_->fd());
  ASSERT_TRUE(guard) << guard.error().message;
  in_a_.emplace(std::move(*guard));
  auto n = sys::Netlink::open();
  ASSERT_TRUE(n) << n.error().message;
  nl_.emplace(std::move(*n));
  auto v0 = nl_->get_link("sntv0");
  ASSERT_TRUE(v0) << v0.error().message;
  auto v1 = nl_->get_link("sntv1");
  ASSERT_TRUE(v1) << v1.error().message;
  v0_ = *v0;
  v1_ = *v1;
}

void LabTest::TearDown() {
  nl_.reset();
  in_a_.reset();
  b_.reset();
  a_.reset();
}

namespace {

// Removes namespaces left by an earlier run of this binary that was killed
// before its destructors ran: only "sntio<pid>..." whose pid is gone.
class StaleLabCleanup : public ::testing::Environment {
 public:
  void SetUp() override {
    if (missing_privilege()) {
      return;
    }
    std::istringstream names{run("ls " + std::string{sys::kNetnsRunDir}).output};
    std::string n;
    while (names >> n) {
      if (n.rfind("sntio", 0) != 0) {
        continue;
      }
      std::size_t i = 5;
      while (i < n.size() && n[i] >= '0' && n[i] <= '9') {
        ++i;
      }
      if (i == 5) {
        continue;
      }
      const int pid = std::stoi(n.substr(5, i - 5));
      if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
        run("ip netns del " + n);
      }
    }
  }
};

[[maybe_unused]] const auto* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new StaleLabCleanup);

}  // namespace

}  // namespace subnic::test
