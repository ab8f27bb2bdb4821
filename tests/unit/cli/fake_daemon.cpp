// FakeDaemon: poll() on the socket and a wake-up pipe.
#include "fake_daemon.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "ctl/line_buffer.hpp"

namespace subnic::testing {

FakeDaemon::FakeDaemon(std::string greeting, Handler handler)
    : greeting_{std::move(greeting)}, handler_{std::move(handler)} {
  char tmpl[] = "/tmp/sntcli_test_XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  dir_ = tmpl;
  path_ = dir_ + "/subnicd.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(listen_fd_, 4) < 0 || ::pipe(wake_) < 0) {
    throw std::runtime_error("cannot set up the fake daemon socket");
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
  const char c = 'x';
  [[maybe_unused]] const auto n = ::write(wake_[1], &c, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

std::vector<std::string> FakeDaemon::requests() const {
  std::lock_guard lock{mu_};
  return requests_;
}

void FakeDaemon::serve() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      continue;
    }
    if (p[1].revents != 0) {
      return;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    serve_connection(fd);
    ::close(fd);
  }
}

void FakeDaemon::serve_connection(int fd) {
  if (greeting_ == "close") {
    return;
  }
  if (!greeting_.empty()) {
    [[maybe_unused]] const auto n = ::send(fd, greeting_.data(), greeting_.size(), MSG_NOSIGNAL);
  }
  ctl::LineBuffer lines;
  char buf[4096];
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      continue;
    }
    if (p[1].revents != 0) {
      return;
    }
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) {
      return;
    }
    lines.feed(std::string_view{buf, static_cast<std::size_t>(got)});
    while (auto line = lines.take()) {
      if (!*line) {
        continue;
      }
      {
        std::lock_guard lock{mu_};
        requests_.push_back(**line);
      }
      if (const auto reply = handler_(**line)) {
        if (*reply == "close") {
          return;
        }
        [[maybe_unused]] const auto n = ::send(fd, reply->data(), reply->size(), MSG_NOSIGNAL);
      }
    }
  }
}

}  // namespace subnic::testing
