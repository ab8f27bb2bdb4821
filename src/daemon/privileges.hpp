// subnicd's privileges after start-up: the capabilities it keeps, and dropping the rest.
//
// Capabilities belong to threads, and a new thread copies its creator's. drop_privileges()
// changes the calling thread only, so subnicd calls it while it is still single-threaded
// (after the control socket is bound and chowned, before the datapath thread starts): every
// thread it starts later has the same reduced sets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace subnic::daemon {

/// One capability subnicd keeps, and what it needs it for at run time.
struct KeptCapability {
  int cap;                ///< CAP_* number (<linux/capability.h>)
  std::string_view name;  ///< "cap_net_admin", as capsh and /proc print it
  std::string_view why;
};

/// The capabilities subnicd keeps, in number order: CAP_NET_ADMIN, CAP_NET_RAW,
/// CAP_SYS_PTRACE, CAP_SYS_ADMIN (each `why` says what for; README "Privileges").
std::span<const KeptCapability> kept_capabilities();

/// Bit N set for each kept capability N: what /proc/PID/status shows as CapEff/CapPrm/CapBnd
/// for a daemon started as root.
std::uint64_t kept_capability_mask();

/// "cap_net_admin,cap_net_raw" for the capabilities set in `mask`.
std::string capability_names(std::uint64_t mask);

/// What drop_privileges() did.
struct PrivilegeDrop {
  std::uint64_t kept = 0;         ///< kept capabilities the process had (now effective, permitted)
  std::uint64_t missing = 0;      ///< kept capabilities it never had (features needing them fail)
  bool bounding_dropped = false;  ///< the bounding set was cut to kept (needs CAP_SETPCAP)
};

/// Sets PR_SET_NO_NEW_PRIVS; with CAP_SETPCAP, drops every capability but the kept ones from
/// the bounding set (PR_CAPBSET_DROP); then makes the permitted and effective sets the kept
/// capabilities the thread has, and clears the inheritable and ambient sets. Without root (e.g.
/// ambient capabilities from a service manager) it keeps what it has of the kept set and
/// leaves the bounding set to the service manager (CapabilityBoundingSet=).
/// Call it single-threaded (see above). Errors: Error{errno, "prctl(...)"/"cap_set_proc: ..."}
/// when the kernel refuses a step; the caller should not run with more than it asked for.
Result<PrivilegeDrop> drop_privileges();

}  // namespace subnic::daemon
