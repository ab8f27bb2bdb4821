// Reads and parses /proc/thread-self/net/dev_mcast.
#include "sys/dev_mcast.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <string>

#include "sys/unique_fd.hpp"

namespace subnic::sys {
namespace {

constexpr const char* kPath = "/proc/thread-self/net/dev_mcast";
constexpr std::size_t kMaxFileBytes = 64 * 1024 * 1024;  // bounds the read loop

std::optional<core::Mac> parse_hex_mac(std::string_view s) {
  core::Mac m;
  if (s.size() != 2 * m.bytes.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < m.bytes.size(); ++i) {
    const int hi = core::hex_digit(s[2 * i]);
    const int lo = core::hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    m.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return m;
}

// Whitespace-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    const std::size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      ++i;
    }
    if (i > b) {
      out.push_back(line.substr(b, i - b));
    }
  }
  return out;
}

}  // namespace

namespace {

// Calls f(ifindex, mac) for every well-formed line of the file's text.
template <typename F>
void for_each_entry(std::string_view text, F&& f) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);

    const auto fl = fields(line);
    if (fl.size() != 5) {
      continue;
    }
    int idx = 0;
    const auto [p, ec] = std::from_chars(fl[0].data(), fl[0].data() + fl[0].size(), idx);
    if (ec != std::errc{} || p != fl[0].data() + fl[0].size()) {
      continue;
    }
    if (auto mac = parse_hex_mac(fl[4])) {
      f(idx, *mac);
    }
  }
}

Result<std::string> read_file() {
  UniqueFd fd{::open(kPath, O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return sys_error(kPath);
  }
  // procfs reports size 0: read until EOF.
  std::string text;
  char chunk[4096];
  while (text.size() < kMaxFileBytes) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error(kPath);
    }
    if (n == 0) {
      break;
    }
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

std::vector<core::Mac> parse_dev_mcast(std::string_view text, int ifindex) {
  std::vector<core::Mac> out;
  for_each_entry(text, [&](int idx, const core::Mac& mac) {
    if (idx == ifindex) {
      out.push_back(mac);
    }
  });
  return out;
}

DevMcastTable parse_dev_mcast_all(std::string_view text) {
  DevMcastTable out;
  for_each_entry(text, [&](int idx, const core::Mac& mac) { out[idx].push_back(mac); });
  return out;
}

Result<std::vector<core::Mac>> read_dev_mcast(int ifindex) {
  auto text = read_file();
  if (!text) {
    return tl::unexpected<Error>{text.error()};
  }
  return parse_dev_mcast(*text, ifindex);
}

Result<DevMcastTable> read_dev_mcast_all() {
  auto text = read_file();
  if (!text) {
    return tl::unexpected<Error>{text.error()};
  }
  return parse_dev_mcast_all(*text);
}

}  // namespace subnic::sys
