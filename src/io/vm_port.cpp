// The VM back ends by name.
#include "io/vm_port.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/vhost_user.hpp"
#include "io/vm_stream.hpp"

namespace subnic::io {

Result<sys::UniqueFd> listen_unix(const std::string& path, int backlog, std::string_view what) {
  const std::string who{what};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty()) {
    return fail(EINVAL, who + ": empty socket path");
  }
  if (path.size() >= sizeof a.sun_path) {
    return fail(ENAMETOOLONG, who + ": socket path too long: " + path);
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  const auto* sa = reinterpret_cast<const sockaddr*>(&a);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(EEXIST, who + ": " + path + " exists and is not a socket");
    }
    // A live listener (another back end, subnicd's own control socket) is never taken over.
    sys::UniqueFd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (!probe) {
      return sys::sys_error("socket AF_UNIX");
    }
    if (::connect(probe.get(), sa, sizeof a) == 0 || errno == EAGAIN) {
      return fail(EADDRINUSE, who + ": something listens on " + path + " already");
    }
    if (errno != ECONNREFUSED) {
      return sys::sys_error("connect " + path);
    }
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
      return sys::sys_error("unlink " + path);
    }
  } else if (errno != ENOENT) {
    return sys::sys_error("lstat " + path);
  }
  sys::UniqueFd ls{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!ls) {
    return sys::sys_error("socket AF_UNIX");
  }
  if (::bind(ls.get(), sa, sizeof a) < 0) {
    return sys::sys_error("bind " + path);
  }
  if (::listen(ls.get(), backlog) < 0) {
    return sys::sys_error("listen " + path);
  }
  return ls;
}

Result<std::unique_ptr<VmPort>> listen_vm(std::string_view type, std::string path) {
  if (type == "stream") {
    auto p = StreamPort::listen(std::move(path));
    if (!p) {
      return tl::unexpected(p.error());
    }
    return std::unique_ptr<VmPort>{std::move(*p)};
  }
  if (type == "vhost-user") {
    auto p = VhostUserPort::listen(std::move(path));
    if (!p) {
      return tl::unexpected(p.error());
    }
    return std::unique_ptr<VmPort>{std::move(*p)};
  }
  return tl::unexpected(Error{EINVAL, "Error: unknown VM endpoint type \"" + std::string{type} +
                                          "\" (stream or vhost-user)"});
}

}  // namespace subnic::io
