// Unix-socket client of subnicd with a bounded wait on every step.
#include "ctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "ctl/message.hpp"

namespace subnic::ctl {

namespace {

constexpr std::string_view kDefaultSocketPath = "/run/subnic/subnicd.sock";

std::string describe(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) {
    return std::to_string(d.count() / 1000) + " s";
  }
  return std::to_string(d.count()) + " ms";
}

tl::unexpected<Error> connect_error(const std::string& path, int err) {
  std::string msg = "cannot connect to subnicd at " + path + ": " + std::strerror(err);
  if (err == ENOENT || err == ECONNREFUSED) {
    msg += " (is subnicd running?)";
  }
  return fail(err, std::move(msg));
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return 0;
  }
  // Round up so a sub-millisecond remainder still waits.
  return static_cast<int>(std::min<long long>(left.count() + 1, 1'000'000'000));
}

// errno value whose errno_name() is `code`, 0 if none.
int errno_from_name(const std::string& code) {
  for (int e = 1; e < 4096; ++e) {
    if (errno_name(e) == code) {
      return e;
    }
  }
  return 0;
}

}  // namespace

std::string default_socket_path() {
  const char* env = std::getenv("SUBNIC_SOCKET");
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return std::string{kDefaultSocketPath};
}

Client::Client(int fd, std::string path, std::chrono::milliseconds timeout)
    : fd_{fd}, path_{std::move(path)}, timeout_{timeout} {}

Client::Client(Client&& other) noexcept
    : fd_{std::exchange(other.fd_, -1)},
      path_{std::move(other.path_)},
      timeout_{other.timeout_},
      buffer_{std::move(other.buffer_)},
      greeting_(std::move(other.greeting_)),  // not {}: that would wrap it in an array
      next_id_{other.next_id_} {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    greeting_ = std::move(other.greeting_);
    next_id_ = other.next_id_;
  }
  return *this;
}

Client::~Client() {
  close_fd();
}

void Client::close_fd() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Result<Client> Client::connect(const std::string& socket_path, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return connect_error(socket_path, socket_path.empty() ? ENOENT : ENAMETOOLONG);
  }
  socket_path.copy(addr.sun_path, socket_path.size());

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return connect_error(socket_path, errno);
  }
  Client client{fd, socket_path, timeout};
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      break;
    }
    const int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err == EAGAIN) {
      // The daemon's accept backlog is full; it may still catch up.
      if (Clock::now() >= deadline) {
        return fail(ETIMEDOUT, "cannot connect to subnicd at " + socket_path +
                                   ": it did not accept within " + describe(timeout));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
      continue;
    }
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n == 0) {
        return fail(ETIMEDOUT, "cannot connect to subnicd at " + socket_path +
                                   ": it did not accept within " + describe(timeout));
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
        return connect_error(socket_path, errno);
      }
      if (so_error != 0) {
        return connect_error(socket_path, so_error);
      }
      break;
    }
    return connect_error(socket_path, err);
  }

  auto line = client.read_line(deadline, "its greeting");
  if (!line) {
    return tl::unexpected{line.error()};
  }
  Json g = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  const std::string what = "unexpected greeting from subnicd at " + socket_path + ": ";
  if (g.is_discarded() || !g.is_object()) {
    return fail(EPROTO, what + "not a JSON object");
  }
  // A refused peer gets one error line instead of the greeting (PROTOCOL.md), then EOF.
  if (const auto e = g.find("error"); e != g.end() && e->is_object()) {
    int code = EPROTO;
    if (const auto n = e->find("errno"); n != e->end() && n->is_number_integer()) {
      code = n->get<int>();
    }
    std::string message = "subnicd at " + socket_path + " refused the connection";
    if (const auto m = e->find("message"); m != e->end() && m->is_string()) {
      message = m->get<std::string>();
    }
    return fail(code, std::move(message));
  }
  const auto daemon = g.find("subnicd");
  if (daemon == g.end() || !daemon->is_string()) {
    return fail(EPROTO, what + "no \"subnicd\" version string");
  }
  const auto protocol = g.find("protocol");
  if (protocol == g.end() || !protocol->is_number_integer()) {
    return fail(EPROTO, what + "no \"protocol\" number");
  }
  if (protocol->get<long long>() != kProtocolVersion) {
    return fail(EPROTO, "subnicd at " + socket_path + " speaks protocol " +
                            std::to_string(protocol->get<long long>()) +
                            "; this client speaks protocol " + std::to_string(kProtocolVersion));
  }
  client.greeting_ = std::move(g);
  return client;
}

Result<std::string> Client::read_line(Clock::time_point deadline, std::string_view waiting_for) {
  std::array<char, 65536> buf{};
  for (;;) {
    if (auto line = buffer_.take()) {
      if (!*line) {
        return fail(EPROTO, "subnicd at " + path_ + " sent a " + line->error().message);
      }
      return std::move(**line);
    }
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) {
      return fail(ETIMEDOUT, "subnicd at " + path_ + " did not send " + std::string{waiting_for} +
                                 " within " + describe(timeout_));
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(errno, std::string{"poll: "} + std::strerror(errno));
    }
    const ssize_t got = ::recv(fd_, buf.data(), buf.size(), 0);
    if (got == 0) {
      return fail(ECONNRESET, "subnicd at " + path_ + " closed the connection");
    }
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return fail(errno, "reading from subnicd at " + path_ + ": " + std::strerror(errno));
    }
    buffer_.feed(std::string_view{buf.data(), static_cast<std::size_t>(got)});
  }
}

Status Client::write_all(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN) {
      const int err = errno;
      return fail(err == EPIPE ? ECONNRESET : err,
                  "writing to subnicd at " + path_ + ": " + std::strerror(err));
    }
    pollfd p{fd_, POLLOUT, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) {
      return fail(ETIMEDOUT,
                  "subnicd at " + path_ + " did not take the request within " + describe(timeout_));
    }
  }
  return {};
}

Result<Json> Client::call(std::string_view method, const Json& params) {
  if (fd_ < 0) {
    return fail(ENOTCONN, "not connected to subnicd");
  }
  const Json id = next_id_++;
  const auto deadline = Clock::now() + timeout_;
  if (auto w = write_all(request_line(id, method, params), deadline); !w) {
    return tl::unexpected{w.error()};
  }
  const std::string waiting_for = "an answer to \"" + std::string{method} + "\"";
  auto line = read_line(deadline, waiting_for);
  if (!line) {
    return tl::unexpected{line.error()};
  }
  const std::string bad = "malformed reply from subnicd: ";
  Json reply = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return fail(EPROTO, bad + "not a JSON object");
  }
  const auto rid = reply.find("id");
  const auto error = reply.find("error");
  // An error with id null answers a line the daemon could not parse: ours.
  const bool ours = rid != reply.end() && (*rid == id || (rid->is_null() && error != reply.end()));
  if (!ours) {
    return fail(EPROTO, bad + "expected id " + dump_compact(id));
  }
  if (error != reply.end()) {
    if (!error->is_object()) {
      return fail(EPROTO, bad + "\"error\" is not an object");
    }
    int code = 0;
    if (const auto e = error->find("errno"); e != error->end() && e->is_number_integer()) {
      code = e->get<int>();
    } else if (const auto c = error->find("code"); c != error->end() && c->is_string()) {
      code = errno_from_name(c->get<std::string>());
    }
    std::string message;
    if (const auto m = error->find("message"); m != error->end() && m->is_string()) {
      message = m->get<std::string>();
    }
    if (code <= 0) {
      code = EPROTO;
    }
    if (message.empty()) {
      message = std::strerror(code);
    }
    return fail(code, std::move(message));
  }
  const auto result = reply.find("result");
  if (result == reply.end()) {
    return fail(EPROTO, bad + "neither \"result\" nor \"error\"");
  }
  return std::move(*result);
}

}  // namespace subnic::ctl
