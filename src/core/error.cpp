// errno values to their symbolic names, for control replies and messages.
#include "core/error.hpp"

namespace subnic {

std::string errno_name(int code) {
  switch (code) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EIO:
      return "EIO";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case ENOSPC:
      return "ENOSPC";
    case ERANGE:
      return "ERANGE";
    case ENOTSUP:
      return "EOPNOTSUPP";
    case EPROTONOSUPPORT:
      return "EPROTONOSUPPORT";
    case EADDRINUSE:
      return "EADDRINUSE";
    case EADDRNOTAVAIL:
      return "EADDRNOTAVAIL";
    case ENETDOWN:
      return "ENETDOWN";
    case ENOTCONN:
      return "ENOTCONN";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case EMSGSIZE:
      return "EMSGSIZE";
    case EPROTO:
      return "EPROTO";
    case ENOSYS:
      return "ENOSYS";
    default:
      return "E" + std::to_string(code);
  }
}

}  // namespace subnic
