// Dropping subnicd's capabilities to the kept set, with libcap.
#include "daemon/privileges.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace subnic::daemon {

namespace {

constexpr std::array<KeptCapability, 4> kKept{{
    {CAP_NET_ADMIN, "cap_net_admin",
     "create and configure TAPs (TUNSETIFF, TUNSETPERSIST, TUNSETCARRIER, TUNGETDEVNETNS), "
     "rtnetlink changes to links and neighbours, the lowers' nftables ingress tables, "
     "SO_RCVBUFFORCE"},
    {CAP_NET_RAW, "cap_net_raw",
     "AF_PACKET sockets on lowers and bridge ports, IPPROTO_RAW sockets for ipvlan's routed "
     "output"},
    {CAP_SYS_PTRACE, "cap_sys_ptrace",
     "open /proc/PID/task/TID/ns/net of processes with more capabilities than subnicd (a root "
     "container, an `ip netns exec` shell), to find uppers in unnamed namespaces at restart"},
    {CAP_SYS_ADMIN, "cap_sys_admin",
     "setns(2) into the network namespaces of lowers and uppers (CLONE_NEWNET)"},
}};

struct CapFree {
  void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

bool has_flag(cap_t caps, cap_value_t c, cap_flag_t which) {
  cap_flag_value_t v = CAP_CLEAR;
  return cap_get_flag(caps, c, which, &v) == 0 && v == CAP_SET;
}

tl::unexpected<Error> errno_fail(const std::string& what) {
  const int e = errno;
  return fail(e, what + ": " + std::strerror(e));
}

}  // namespace

std::span<const KeptCapability> kept_capabilities() {
  return kKept;
}

std::uint64_t kept_capability_mask() {
  std::uint64_t m = 0;
  for (const auto& k : kKept) {
    m |= std::uint64_t{1} << k.cap;
  }
  return m;
}

std::string capability_names(std::uint64_t mask) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if ((mask & (std::uint64_t{1} << c)) == 0) {
      continue;
    }
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    if (!out.empty()) {
      out += ',';
    }
    out += name != nullptr ? name : std::to_string(c);
    cap_free(name);
  }
  return out;
}

Result<PrivilegeDrop> drop_privileges() {
  PrivilegeDrop r;
  // No execve can give back what is dropped here (setuid binaries, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return errno_fail("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  CapPtr now{cap_get_proc()};
  if (!now) {
    return errno_fail("cap_get_proc");
  }
  const std::uint64_t kept = kept_capability_mask();
  if (has_flag(now.get(), CAP_SETPCAP, CAP_EFFECTIVE)) {
    const int last = static_cast<int>(cap_max_bits());  // capabilities this kernel knows
    for (int c = 0; c < last; ++c) {
      if ((kept & (std::uint64_t{1} << c)) != 0 || cap_get_bound(c) != 1) {
        continue;
      }
      if (cap_drop_bound(c) != 0) {
        return errno_fail("prctl(PR_CAPBSET_DROP, " + std::to_string(c) + ")");
      }
    }
    r.bounding_dropped = true;
  }
  CapPtr next{cap_init()};  // every set empty
  if (!next) {
    return errno_fail("cap_init");
  }
  for (const auto& k : kKept) {
    const cap_value_t c = k.cap;
    if (has_flag(now.get(), c, CAP_PERMITTED)) {
      cap_set_flag(next.get(), CAP_PERMITTED, 1, &c, CAP_SET);
      cap_set_flag(next.get(), CAP_EFFECTIVE, 1, &c, CAP_SET);
      r.kept |= std::uint64_t{1} << c;
    } else {
      r.missing |= std::uint64_t{1} << c;
    }
  }
  if (cap_set_proc(next.get()) != 0) {
    return errno_fail("cap_set_proc");
  }
  // Emptying the inheritable set already clears the ambient one; say it anyway, and accept
  // kernels without ambient capabilities (< 4.3: EINVAL).
  if (cap_reset_ambient() != 0 && errno != EINVAL) {
    return errno_fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  return r;
}

}  // namespace subnic::daemon
