// Control socket access: the control group and the peer credential check.
#include "daemon/access.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace subnic::daemon {

Result<ControlGroup> lookup_control_group(const std::string& name) {
  if (name.empty()) {
    return fail(EINVAL, "Error: the control group name is empty");
  }
  ControlGroup g{name, std::nullopt};
  std::vector<char> buf(4096);
  for (;;) {
    group gr{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (std::size_t{1} << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0) {
      return fail(rc, "looking up group " + name + ": " + std::strerror(rc));
    }
    if (found != nullptr) {
      g.gid = found->gr_gid;
    }
    return g;
  }
}

Result<PeerCreds> peer_creds(int fd) {
  PeerCreds p;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    return fail(errno, std::string{"SO_PEERCRED: "} + std::strerror(errno));
  }
  p.pid = cred.pid;
  p.uid = cred.uid;
  p.gid = cred.gid;
  // SO_PEERGROUPS answers ERANGE with the size it needs when the buffer is too small.
  std::vector<gid_t> groups(64);
  for (int tries = 0; tries < 4; ++tries) {
    socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
      groups.resize(glen / sizeof(gid_t));
      p.groups = std::move(groups);
      p.groups_known = true;
      break;
    }
    if (errno == ERANGE) {
      groups.resize(glen / sizeof(gid_t) + 1);
      continue;
    }
    if (errno == ENOPROTOOPT) {
      break;  // kernel older than 4.13: the primary group alone decides
    }
    return fail(errno, std::string{"SO_PEERGROUPS: "} + std::strerror(errno));
  }
  return p;
}

Status allow_peer(const PeerCreds& peer, const ControlGroup& group) {
  if (peer.uid == 0) {
    return {};
  }
  if (group.gid) {
    const gid_t g = *group.gid;
    if (peer.gid == g ||
        std::find(peer.groups.begin(), peer.groups.end(), g) != peer.groups.end()) {
      return {};
    }
    return fail(EACCES, "Error: uid " + std::to_string(peer.uid) +
                            " is neither root nor in group " + group.name);
  }
  return fail(EACCES, "Error: uid " + std::to_string(peer.uid) + " is neither root nor in group " +
                          group.name + " (the group does not exist: root only)");
}

}  // namespace subnic::daemon
