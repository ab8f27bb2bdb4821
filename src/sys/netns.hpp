// Network namespaces: open them by name, enter one on the calling thread, find them again by inode.
//
// Kernel: setns(2) with CLONE_NEWNET switches only the calling *thread*
// (kernel/nsproxy.c, net/core/net_namespace.c netns_install); every socket
// keeps the namespace it was created in (sock_net()), so a netlink or packet
// socket opened inside a NetnsGuard keeps working there after the guard ends.
// Named namespaces are nsfs bind mounts under /run/netns, as `ip netns add`
// makes them (iproute2 ip/ipnetns.c).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::sys {

/// Directory of named namespaces (iproute2's NETNS_RUN_DIR).
inline constexpr std::string_view kNetnsRunDir = "/run/netns";

/// Opens a network namespace read-only (O_CLOEXEC), for setns() or IFLA_NET_NS_FD.
/// "" is the calling thread's current namespace (/proc/thread-self/ns/net);
/// any other name is /run/netns/NAME.
/// Errors: EINVAL for a name containing '/' or equal to "." or ".."; otherwise
/// the open(2) errno as Error{errno, "Cannot open network namespace \"NAME\": <strerror>"}
/// (iproute2's wording), e.g. ENOENT when no such namespace exists.
Result<UniqueFd> open_netns(std::string_view name);

/// The namespace's inode number (its identity: `ip netns identify`,
/// `ls -l /proc/PID/ns/net`); 0 if fstat fails.
std::uint64_t netns_inode(int fd);

/// While alive, the calling thread is inside another network namespace.
///
/// enter() remembers the thread's current namespace and setns()es into
/// `ns_fd`; the destructor (or leave()) switches back. The guard is per
/// thread: create and destroy it on the same thread. Other threads stay
/// where they are; a thread *created* while the guard is active starts in the
/// guard's namespace (it inherits its creator's, kernel/nsproxy.c
/// copy_namespaces) and stays there.
/// If switching back fails, the destructor aborts the process: a thread
/// silently left in the wrong namespace would create devices and sockets in
/// the wrong place. That needs the caller to have lost CAP_SYS_ADMIN
/// meanwhile; the kernel cannot otherwise refuse a namespace we held open.
/// Move-only (moving transfers the duty to switch back); not assignable.
class NetnsGuard {
 public:
  /// Errors: setns(2) errno (EPERM without CAP_SYS_ADMIN, EINVAL if `ns_fd`
  /// is not a network namespace) or the open errno of the current namespace.
  static Result<NetnsGuard> enter(int ns_fd);

  NetnsGuard(NetnsGuard&& o) noexcept = default;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();

  /// Switches back now; later calls and the destructor do nothing.
  Status leave();

 private:
  explicit NetnsGuard(UniqueFd saved) : saved_{std::move(saved)} {}
  UniqueFd saved_;  // the namespace to return to; empty once left
};

namespace detail {
template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

// Result<R> for a plain R; R itself when R is already a Result<T> (no nesting).
template <class R>
using InNetnsResult = std::conditional_t<IsResult<R>::value, R, Result<R>>;
}  // namespace detail

/// Runs f() with the calling thread inside the namespace `ns_fd`, then switches back.
/// Returns f's result wrapped in a Result (a Result returned by f is passed
/// through as is, not nested); an error if the namespace cannot be entered,
/// in which case f does not run.
template <class F>
auto in_netns(int ns_fd, F&& f) -> detail::InNetnsResult<std::invoke_result_t<F>> {
  using R = std::invoke_result_t<F>;
  auto guard = NetnsGuard::enter(ns_fd);
  if (!guard) {
    return tl::unexpected<Error>{guard.error()};
  }
  if constexpr (std::is_void_v<R>) {
    std::invoke(std::forward<F>(f));
    return {};
  } else {
    return std::invoke(std::forward<F>(f));
  }
}

/// The name under /run/netns of the namespace with this inode, if it has one
/// (the first in directory order if it has several). Only nsfs bind mounts
/// count: a stale plain file under /run/netns is never taken for a namespace.
std::optional<std::string> netns_name_of(std::uint64_t inode);

/// One network namespace found by list_all_netns().
struct NetnsEntry {
  UniqueFd fd;                      // open on the namespace (keeps it alive)
  std::uint64_t inode = 0;          // its identity
  std::optional<std::string> name;  // its /run/netns name, if it has one
};

/// Every distinct network namespace reachable from /run/netns/* and from the
/// threads of every process (/proc/PID/task/TID/ns/net), each opened once:
/// named ones first (sorted by name), then unnamed ones. Used to find a
/// persistent TAP again after a daemon restart, wherever it was moved.
/// Namespaces held only by an open descriptor or a bind mount elsewhere are
/// not found. Entries that vanish during the scan are skipped, not errors.
std::vector<NetnsEntry> list_all_netns();

}  // namespace subnic::sys
