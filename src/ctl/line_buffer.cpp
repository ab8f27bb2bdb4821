// Bounded '\n' line splitter for the control socket.
#include "ctl/line_buffer.hpp"

#include <utility>

namespace subnic::ctl {

LineBuffer::LineBuffer(std::size_t max_line_bytes) : max_line_bytes_{max_line_bytes} {}

void LineBuffer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl);
    if (!discarding_ && partial_.size() + chunk.size() > max_line_bytes_) {
      partial_.clear();
      partial_.shrink_to_fit();
      discarding_ = true;
    }
    if (!discarding_) {
      partial_.append(chunk);
    }
    if (nl == std::string_view::npos) {
      return;
    }
    if (discarding_) {
      ready_.emplace_back(
          fail(EPROTO, "line longer than " + std::to_string(max_line_bytes_) + " bytes"));
      discarding_ = false;
    } else {
      ready_.emplace_back(std::exchange(partial_, std::string{}));
    }
    bytes.remove_prefix(nl + 1);
  }
}

std::optional<Result<std::string>> LineBuffer::take() {
  if (ready_.empty()) {
    return std::nullopt;
  }
  auto line = std::move(ready_.front());
  ready_.pop_front();
  return line;
}

void LineBuffer::clear() {
  partial_.clear();
  discarding_ = false;
  ready_.clear();
}

}  // namespace subnic::ctl
