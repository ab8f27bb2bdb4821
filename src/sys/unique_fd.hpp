// UniqueFd, the move-only owner of one file descriptor, and errno-to-Error helpers for the sys
// layer.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace subnic::sys {

/// Owns one file descriptor and closes it exactly once: on destruction, on
/// reset(), or when another descriptor is move-assigned over it. -1 means
/// "empty". Not copyable: two owners would close twice.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_{fd} {}
  UniqueFd(UniqueFd&& o) noexcept : fd_{std::exchange(o.fd_, -1)} {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset(std::exchange(o.fd_, -1));
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// Gives up ownership without closing; the caller now owns the descriptor.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes ownership of `fd`.
  /// close() errors are ignored: Linux frees the descriptor even when close fails.
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// strerror(code), thread-safe (GNU strerror_r; glibc is the only libc we build on).
inline std::string errno_text(int code) {
  char buf[128];
  return std::string{::strerror_r(code, buf, sizeof buf)};
}

/// Error{code, "context: strerror(code)"}.
inline Error errno_error(int code, std::string_view context) {
  std::string msg{context};
  msg += ": ";
  msg += errno_text(code);
  return Error{code, std::move(msg)};
}

/// The current errno as an error value: Error{errno, "context: strerror(errno)"}.
/// Call it right after the failing system call, before anything can overwrite errno.
inline tl::unexpected<Error> sys_error(const char* context) {
  const int e = errno;
  return tl::unexpected<Error>{errno_error(e, context)};
}

/// Same as sys_error(const char*), for a context built at run time.
inline tl::unexpected<Error> sys_error(const std::string& context) {
  const int e = errno;
  return tl::unexpected<Error>{errno_error(e, context)};
}

}  // namespace subnic::sys
