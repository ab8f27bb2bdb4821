// Network namespaces: open by name, enter per thread, and scan /run/netns and /proc for them.
#include "sys/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace subnic::sys {
namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";

// Entries of a directory except "." and ".."; empty if it cannot be opened.
std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return names;
  }
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view n{e->d_name};
    if (n != "." && n != "..") {
      names.emplace_back(n);
    }
  }
  ::closedir(dir);
  return names;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The device of the nsfs filesystem: every namespace file lives on it.
std::optional<dev_t> nsfs_dev() {
  struct stat st {};
  if (::stat(kThreadNetns, &st) != 0) {
    return std::nullopt;
  }
  return st.st_dev;
}

}  // namespace

Result<UniqueFd> open_netns(std::string_view name) {
  std::string path;
  if (name.empty()) {
    path = kThreadNetns;
  } else {
    if (name.find('/') != std::string_view::npos || name == "." || name == "..") {
      return fail(EINVAL, "Invalid netns name \"" + std::string{name} + "\"");
    }
    path = std::string{kNetnsRunDir} + "/" + std::string{name};
  }
  UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return sys_error("Cannot open network namespace \"" + std::string{name} + "\"");
  }
  return fd;
}

std::uint64_t netns_inode(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return 0;
  }
  return st.st_ino;
}

Result<NetnsGuard> NetnsGuard::enter(int ns_fd) {
  auto saved = open_netns("");
  if (!saved) {
    return tl::unexpected<Error>{saved.error()};
  }
  if (::setns(ns_fd, CLONE_NEWNET) != 0) {
    return sys_error("setns");
  }
  return NetnsGuard{std::move(*saved)};
}

Status NetnsGuard::leave() {
  if (!saved_) {
    return {};
  }
  if (::setns(saved_.get(), CLONE_NEWNET) != 0) {
    return sys_error("setns (back)");
  }
  saved_.reset();
  return {};
}

NetnsGuard::~NetnsGuard() {
  if (auto r = leave(); !r) {
    std::fprintf(stderr, "subnic: cannot return to the original network namespace: %s\n",
                 r.error().message.c_str());
    std::abort();
  }
}

std::optional<std::string> netns_name_of(std::uint64_t inode) {
  const auto dev = nsfs_dev();
  if (!dev || inode == 0) {
    return std::nullopt;
  }
  auto names = list_dir(std::string{kNetnsRunDir});
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    struct stat st {};
    const std::string path = std::string{kNetnsRunDir} + "/" + n;
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == *dev && st.st_ino == inode) {
      return n;
    }
  }
  return std::nullopt;
}

std::vector<NetnsEntry> list_all_netns() {
  std::vector<NetnsEntry> out;
  const auto dev = nsfs_dev();
  if (!dev) {
    return out;
  }
  std::set<std::uint64_t> seen;

  // Opens `path` if it is a namespace not seen yet. stat() first so that a
  // namespace reached through thousands of threads is opened only once.
  auto take = [&](const std::string& path, std::optional<std::string> name) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || st.st_dev != *dev || seen.count(st.st_ino) != 0) {
      return;
    }
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
      return;  // the process exited meanwhile, or the mount went away
    }
    const std::uint64_t ino = netns_inode(fd.get());  // the one we actually hold
    if (ino == 0 || !seen.insert(ino).second) {
      return;
    }
    out.push_back(NetnsEntry{std::move(fd), ino, std::move(name)});
  };

  auto names = list_dir(std::string{kNetnsRunDir});
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    take(std::string{kNetnsRunDir} + "/" + n, n);
  }
  for (const auto& pid : list_dir("/proc")) {
    if (!all_digits(pid)) {
      continue;
    }
    const std::string task_dir = "/proc/" + pid + "/task";
    for (const auto& tid : list_dir(task_dir)) {
      if (all_digits(tid)) {
        take(task_dir + "/" + tid + "/ns/net", std::nullopt);
      }
    }
  }
  return out;
}

}  // namespace subnic::sys
