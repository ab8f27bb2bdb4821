// Name checks shared by subnicd and the CLI, so both refuse the same names for the same reason.
#pragma once

#include <cstddef>
#include <string_view>

namespace subnic::ctl {

/// IFNAMSIZ: a device name plus its terminating NUL (include/uapi/linux/if.h).
inline constexpr std::size_t kIfNameSize = 16;

/// Whether `name` is a valid network device name, as the kernel's
/// dev_valid_name() decides (torvalds/linux:net/core/dev.c): 1..15 bytes, not
/// "." or "..", and no '/', ':' or white space (the kernel's isspace(), which
/// also counts byte 0xA0, lib/ctype.c); a NUL byte is refused as well. An
/// invalid name makes the kernel answer EINVAL.
bool valid_ifname(std::string_view name);

}  // namespace subnic::ctl
