// StreamPort: QEMU `-netdev stream` over a unix socket, length-prefixed frames both ways.
#include "io/vm_stream.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/frame.hpp"

namespace subnic::io {
namespace {

constexpr std::size_t kMinFrame = 14;               // bytes: an Ethernet header
constexpr std::size_t kWriteThreshold = 64 * 1024;  // bytes queued before send() writes itself
constexpr int kMaxAcceptsPerService = 16;           // bounded loop over the backlog
constexpr int kMaxReadsPerRecv = 4;                 // bounded loop in recv()
constexpr std::uint64_t kListenerTag = 0;           // epoll data of the listener
constexpr std::uint64_t kPendingTag = ~0ull;        // epoll data of the buffered-input eventfd

static_assert(kVnetHdrLen + StreamPort::kMaxStreamFrame <= kMaxFrame,
              "a frame from the stream fits the buffer recv() is documented to get");

using core::load_be32;

}  // namespace

Result<std::unique_ptr<StreamPort>> StreamPort::listen(std::string path, std::size_t output_bound) {
  auto ls = listen_unix(path, 4, "stream port");
  if (!ls) {
    return tl::unexpected(ls.error());
  }
  sys::UniqueFd ep{::epoll_create1(EPOLL_CLOEXEC)};
  if (!ep) {
    return sys::sys_error("epoll_create1");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ls->get(), &ev) < 0) {
    return sys::sys_error("epoll_ctl add listener");
  }
  sys::UniqueFd pending{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!pending) {
    return sys::sys_error("eventfd");
  }
  ev.data.u64 = kPendingTag;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, pending.get(), &ev) < 0) {
    return sys::sys_error("epoll_ctl add eventfd");
  }
  const std::size_t bound =
      output_bound < kLenPrefix + kMaxStreamFrame ? kLenPrefix + kMaxStreamFrame : output_bound;
  return std::unique_ptr<StreamPort>{
      new StreamPort{std::move(path), std::move(*ls), std::move(ep), std::move(pending), bound}};
}

StreamPort::StreamPort(std::string path, sys::UniqueFd listener, sys::UniqueFd ep,
                       sys::UniqueFd pending, std::size_t bound)
    : path_{std::move(path)},
      listener_{std::move(listener)},
      ep_{std::move(ep)},
      pending_{std::move(pending)},
      in_(2 * (kLenPrefix + kMaxStreamFrame)),
      out_(bound) {}

void StreamPort::drop() {
  if (conn_) {
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, conn_.get(), nullptr);
    conn_.reset();
  }
  in_begin_ = in_end_ = 0;
  out_begin_ = out_end_ = 0;
  epollout_ = false;
  set_pending(false);
  pause_listener(false);
  connected_.store(false, std::memory_order_relaxed);
}

void StreamPort::set_pending(bool on) {
  if (on == pending_armed_) {
    return;
  }
  std::uint64_t v = 1;
  const ssize_t n =
      on ? ::write(pending_.get(), &v, sizeof v) : ::read(pending_.get(), &v, sizeof v);
  (void)n;
  pending_armed_ = on;
}

void StreamPort::pause_listener(bool on) {
  if (on == listener_paused_) {
    return;
  }
  if (on) {
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
  } else {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, listener_.get(), &ev);
  }
  listener_paused_ = on;
}

void StreamPort::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerService; ++i) {
    sys::UniqueFd c{::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
    if (!c) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The pending connection stays queued and the listener readable: stop watching it
        // until the current connection ends or flush() runs, or the datapath would spin.
        pause_listener(true);
      }
      return;  // EAGAIN: backlog empty
    }
    // A peer that hung up before sending anything (a liveness probe such as listen_unix's
    // connect) must not replace the guest's connection.
    std::uint8_t peek = 0;
    if (::recv(c.get(), &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
      continue;
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
    if (e.data.u64 == kPendingTag) {
      continue;  // buffered input: recv() serves it (and clears the eventfd when done)
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
      set_pending(in_end_ - in_begin_ >= kLenPrefix);
      return kVnetHdrLen + len;
    }
    if (!conn_ || round == kMaxReadsPerRecv) {
      set_pending(false);
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
      set_pending(false);
      return 0;
    }
    drop();  // end of stream (a partial frame is lost with it) or ECONNRESET
    return 0;
  }
  set_pending(false);
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
  pause_listener(false);
  write_out();
}

}  // namespace subnic::io
