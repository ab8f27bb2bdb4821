// Who may use subnicd's control socket: root and the members of one group (default "subnic").
//
// The socket file is mode 0660, owner root, group the control group, so the kernel refuses
// everyone else at connect(2) already (EACCES). The daemon checks again on every accepted
// connection with SO_PEERCRED/SO_PEERGROUPS, because the file mode is not the only way in: a
// socket file whose mode an administrator widened, a socket inherited through a file
// descriptor, or a path in a mount namespace with other permissions all bypass it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace subnic::daemon {

/// A connected peer's credentials as the kernel recorded them at connect(2).
struct PeerCreds {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;              ///< primary group
  std::vector<gid_t> groups;  ///< supplementary groups (SO_PEERGROUPS)
  bool groups_known = false;  ///< false when the kernel has no SO_PEERGROUPS (< 4.13)
};

/// The group allowed on the control socket besides root.
struct ControlGroup {
  std::string name;          ///< as given with --group ("subnic" by default)
  std::optional<gid_t> gid;  ///< nullopt: no such group on this system, so root only
};

/// Looks `name` up in the group database (getgrnam_r, so NSS sources count).
/// A missing group is not an error: the result has no gid (root only).
/// Errors: EINVAL for an empty name; the errno of getgrnam_r when the lookup itself fails.
Result<ControlGroup> lookup_control_group(const std::string& name);

/// The kernel's record of the peer of connected unix socket `fd`: SO_PEERCRED, then
/// SO_PEERGROUPS (Linux >= 4.13; ENOPROTOOPT before that leaves groups_known false).
/// Errors: the getsockopt errno, as Error{errno, "SO_PEERCRED: ..."}.
Result<PeerCreds> peer_creds(int fd);

/// Whether `peer` may use the control socket: uid 0, or `group` exists and is the peer's
/// primary group or one of its supplementary groups. Pure (no system calls).
/// Errors: Error{EACCES, "Error: uid U is neither root nor in group NAME"} (with
/// " (the group does not exist: root only)" when `group` has no gid), the line the CLI prints.
Status allow_peer(const PeerCreds& peer, const ControlGroup& group);

}  // namespace subnic::daemon
