// Line framing of the control protocol: bytes in, complete '\n'-terminated lines out, bounded.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace subnic::ctl {

/// Largest line the protocol allows, without its '\n' (PROTOCOL.md: 1 MiB).
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

/// Splits a byte stream into lines. Owned by one connection; not thread-safe.
///
/// Contract:
/// - feed() appends bytes; take() hands out complete lines in arrival order,
///   without the '\n' (a '\r' before it is kept: the protocol is '\n' only).
/// - A line longer than `max_line_bytes` is an error, not data: its bytes are
///   dropped as they arrive (the pending partial line included) and, once its
///   end is seen, take() yields one Error{EPROTO} in its place, so a server
///   can answer it in order (subnicd replies EPROTO with id null) and go on
///   with the next line. Bytes of the overlong line are never stored, so memory
///   stays at most `max_line_bytes` for the partial line plus the complete
///   lines fed and not yet taken.
/// - An overlong line that has not ended yet is reported at once by
///   overflowing(), so a reader waiting for that line can give up early.
class LineBuffer {
 public:
  explicit LineBuffer(std::size_t max_line_bytes = kMaxLineBytes);

  /// Appends `bytes` (any size, any split).
  void feed(std::string_view bytes);

  /// The next complete line, or Error{EPROTO} for an overlong one; nullopt
  /// when no complete line is buffered.
  std::optional<Result<std::string>> take();

  /// True while the bytes of an overlong, unfinished line are being dropped.
  bool overflowing() const { return discarding_; }

  /// Bytes of the unfinished line held now (0 while overflowing()).
  std::size_t partial_size() const { return partial_.size(); }

  /// Forgets everything buffered, including a pending overflow.
  void clear();

 private:
  std::size_t max_line_bytes_;
  std::string partial_;
  bool discarding_ = false;
  std::deque<Result<std::string>> ready_;
};

}  // namespace subnic::ctl
