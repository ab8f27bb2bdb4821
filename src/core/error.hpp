// Error values shared by every layer: an errno and a one-line message, as the kernel and `ip`
// report them.
#pragma once

#include <cerrno>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace subnic {

/// A failure the caller can act on. `code` is a positive errno value (EINVAL,
/// EADDRINUSE, ...), chosen to match what the kernel driver returns for the same
/// request; `message` is one human line naming what is wrong.
struct Error {
  int code = 0;
  std::string message;
};

/// Result<T>: a value or an Error. Moving to std::expected later is this line.
template <class T>
using Result = tl::expected<T, Error>;

/// Result of an operation that returns nothing but can fail.
using Status = Result<void>;

inline tl::unexpected<Error> fail(int code, std::string message) {
  return tl::unexpected<Error>{Error{code, std::move(message)}};
}

/// Symbolic name of an errno value ("EADDRINUSE"), "E<n>" if unknown.
std::string errno_name(int code);

}  // namespace subnic
