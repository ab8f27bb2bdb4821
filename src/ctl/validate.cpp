// Kernel device-name rules (dev_valid_name).
#include "ctl/validate.hpp"

namespace subnic::ctl {

namespace {
// The kernel's isspace() (lib/ctype.c): \t \n \v \f \r, space and 0xA0.
bool kernel_isspace(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xA0;
}
}  // namespace

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() >= kIfNameSize) {
    return false;
  }
  if (name == "." || name == "..") {
    return false;
  }
  for (const char c : name) {
    // A NUL cannot be part of a C string name; the kernel never sees one.
    if (c == '/' || c == ':' || c == '\0' || kernel_isspace(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace subnic::ctl
