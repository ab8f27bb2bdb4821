// StreamPort: QEMU `-netdev stream` over a unix socket, length-prefixed frames both ways.
#include "io/vm_stream.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace subnic::io {
namespace {

constexpr std::size_t kMinFrame = 14;               // bytes: an Ethernet header
constexpr std::size_t kWriteThreshold = 64 * 1024;  // bytes queued before send() writes itself
constexpr int kMaxAcceptsPerService = 16;           // bounded loop over the backlog
constexpr int kMaxReadsPerRecv = 4;                 // bounded loop in recv()
constexpr std::uint64_t kListenerTag = 0;           // epoll data of the listener

static_assert(kVnetHdrLen + StreamPort::kMaxStreamFrame <= kMaxFrame,
              "a frame from the stream fits the buffer recv() is documented to get");

Result<sockaddr_un> unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty()) {
    return fail(EINVAL, "stream port: empty socket path");
  }
  if (path.size() >= sizeof a.sun_path) {
    return fail(ENAMETOOLONG, "stream port: socket path too long: " + path);
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Removes a socket file nobody accepts on; EADDRINUSE if someone does, EEXIST if `path` is not
// a socket.
Status remove_stale(const std::string& path, const sockaddr_un& a) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) {
      return {};
    }
    return sys::sys_error("lstat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(EEXIST, "stream port: " + path + " exists and is not a socket");
  }
  sys::UniqueFd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!probe) {
    return sys::sys_error("socket AF_UNIX");
  }
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 ||
      errno == EAGAIN) {
    return fail(EADDRINUSE, "stream port: something listens on " + path + " already");
  }
  if (errno != ECONNREFUSED) {
    return sys::sys_error("connect " + path);
  }
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return sys::sys_error("unlink " + path);
  }
  return {};
}

std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

}  // namespace

Result<std::unique_ptr<StreamPort>> StreamPort::listen(std::string path, std::size_t output_bound) {
  auto addr = unix_addr(path);
  if (!addr) {
    return tl::unexpected(addr.error());
  }
  if (auto st = remove_stale(path, *addr); !st) {
    return tl::unexpected(st.error());
  }
  sys::UniqueFd ls{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!ls) {
    return sys::sys_error("socket AF_UNIX");
  }
  if (::bind(ls.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) < 0) {
    return sys::sys_error("bind " + path);
  }
  if (::listen(ls.get(), 4) < 0) {
    return sys::sys_error("listen " + path);
  }
  sys::UniqueFd ep{::epoll_create1(EPOLL_CLOEXEC)};
  if (!ep) {
    return sys::sys_error("epoll_create1");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ls.get(), &ev) < 0) {
    return sys::sys_error("epoll_ctl add listener");
  }
  const std::size_t bound =
      output_bound < kLenPrefix + kMaxStreamFrame ? kLenPrefix + kMaxStreamFrame : output_bound;
  return std::unique_ptr<StreamPort>{
      new StreamPort{std::move(path), std::move(ls), std::move(ep), bound}};
}

StreamPort::StreamPort(std::string path, sys::UniqueFd listener, sys::UniqueFd ep,
                       std::size_t bound)
    : path_{std::move(path)},
      listener_{std::move(listener)},
      ep_{std::move(ep)},
      in_(2 * (kLenPrefix + kMaxStreamFrame)),
      out_(bound) {}

VmPort::Stats StreamPort::stats() const {
  Stats s;
  s.connects = connects_.load(std::memory_order_relaxed);
  s.malformed = malformed_.load(std::memory_order_relaxed);
  s.overruns = overruns_.load(std::memory_order_relaxed);
  return s;
}

void StreamPort::drop() {
  if (conn_) {
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, conn_.get(), nullptr);
    conn_.reset();
  }
  in_begin_ = in_end_ = 0;
  out_begin_ = out_end_ = 0;
  epollout_ = false;
  connected_.store(false, std::memory_order_relaxed);
}

void StreamPort::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerService; ++i) {
    sys::UniqueFd c{::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
    if (!c) {
      return;  // EAGAIN: backlog empty; anything else (EMFILE, ...): retried next time
    }
    drop();  // the VM restarted: the old connection and whatever it had buffered go
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = connects_.load(std::memory_order_relaxed) + 1;  // never kListenerTag
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.get(), &ev) < 0) {
      continue;  // ENOMEM/ENOSPC: refuse this one by closing it
    }
    conn_ = std::move(c);
    connects_.fetch_add(1, std::memory_order_relaxed);
    connected_.store(true, std::memory_order_relaxed);
  }
}

void StreamPort::set_epollout(bool on) {
  if (on == epollout_ || !conn_) {
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.u64 = connects_.load(std::memory_order_relaxed);
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, conn_.get(), &ev) == 0) {
    epollout_ = on;
  }
}

void StreamPort::service() {
  std::array<epoll_event, 8> evs;
  const int n = ::epoll_wait(ep_.get(), evs.data(), static_cast<int>(evs.size()), 0);
  for (int i = 0; i < n; ++i) {
    const epoll_event& e = evs[static_cast<std::size_t>(i)];
    if (e.data.u64 == kListenerTag) {
      accept_all();
      continue;
    }
    if (!conn_ || e.data.u64 != connects_.load(std::memory_order_relaxed)) {
      continue;  // an event of a connection replaced in this round
    }
    if ((e.events & EPOLLOUT) != 0) {
      write_out();
    }
    if ((e.events & (EPOLLERR | EPOLLHUP)) != 0 && (e.events & EPOLLIN) == 0) {
      drop();  // nothing left to read: recv() would not see the end
    }
  }
}

void StreamPort::write_out() {
  while (conn_ && out_begin_ < out_end_) {
    const ssize_t n = ::send(conn_.get(), out_.data() + out_begin_, out_end_ - out_begin_,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_begin_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    }
    drop();  // EPIPE, ECONNRESET: the guest went away
    return;
  }
  if (out_begin_ == out_end_) {
    out_begin_ = out_end_ = 0;
  }
  set_epollout(out_begin_ < out_end_);
}

std::size_t StreamPort::recv(std::span<std::uint8_t> buf) {
  for (int round = 0; round <= kMaxReadsPerRecv; ++round) {
    // Whole frames already buffered first.
    while (in_end_ - in_begin_ >= kLenPrefix) {
      const std::uint32_t len = load_be32(in_.data() + in_begin_);
      if (len == 0 || len > kMaxStreamFrame) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        drop();  // the stream has lost its framing: nothing after this can be trusted
        return 0;
      }
      if (in_end_ - in_begin_ < kLenPrefix + len) {
        break;
      }
      const std::uint8_t* frame = in_.data() + in_begin_ + kLenPrefix;
      in_begin_ += kLenPrefix + len;
      if (len < kMinFrame || kVnetHdrLen + len > buf.size()) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      std::memset(buf.data(), 0, kVnetHdrLen);
      std::memcpy(buf.data() + kVnetHdrLen, frame, len);
      return kVnetHdrLen + len;
    }
    if (!conn_ || round == kMaxReadsPerRecv) {
      return 0;
    }
    // Room for a whole frame after what is buffered: move the partial frame to the front.
    if (in_begin_ == in_end_) {
      in_begin_ = in_end_ = 0;
    } else if (in_.size() - in_end_ < kLenPrefix + kMaxStreamFrame) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    const ssize_t n = ::read(conn_.get(), in_.data() + in_end_, in_.size() - in_end_);
    if (n > 0) {
      in_end_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    }
    drop();  // end of stream (a partial frame is lost with it) or ECONNRESET
    return 0;
  }
  return 0;
}

bool StreamPort::send(std::span<const std::uint8_t> vnet_and_frame) {
  if (!conn_ || vnet_and_frame.size() < kVnetHdrLen + kMinFrame ||
      vnet_and_frame.size() > kVnetHdrLen + kMaxStreamFrame) {
    return false;
  }
  VnetHdr h;
  std::memcpy(&h, vnet_and_frame.data(), kVnetHdrLen);
  if (h.gso_type != kVnetGsoNone || (h.flags & kVnetFNeedsCsum) != 0) {
    return false;
  }
  const std::size_t len = vnet_and_frame.size() - kVnetHdrLen;
  const std::size_t need = kLenPrefix + len;
  if (out_end_ - out_begin_ + need > out_.size()) {
    overruns_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (out_.size() - out_end_ < need) {
    std::memmove(out_.data(), out_.data() + out_begin_, out_end_ - out_begin_);
    out_end_ -= out_begin_;
    out_begin_ = 0;
  }
  std::uint8_t* p = out_.data() + out_end_;
  p[0] = static_cast<std::uint8_t>(len >> 24);
  p[1] = static_cast<std::uint8_t>(len >> 16);
  p[2] = static_cast<std::uint8_t>(len >> 8);
  p[3] = static_cast<std::uint8_t>(len);
  std::memcpy(p + kLenPrefix, vnet_and_frame.data() + kVnetHdrLen, len);
  out_end_ += need;
  if (out_end_ - out_begin_ >= kWriteThreshold) {
    write_out();
  }
  return true;
}

void StreamPort::flush() {
  write_out();
}

}  // namespace subnic::io
