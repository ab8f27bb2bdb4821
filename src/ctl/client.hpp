// Client side of the control socket: connect to subnicd, check its greeting, make calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "ctl/json.hpp"
#include "ctl/line_buffer.hpp"

namespace subnic::ctl {

/// Where subnicd listens: $SUBNIC_SOCKET if set and non-empty, else
/// /run/subnic/subnicd.sock (PROTOCOL.md).
std::string default_socket_path();

/// How long connect() waits for the greeting and call() for its reply, so the
/// CLI never hangs on a stuck daemon.
inline constexpr std::chrono::milliseconds kDefaultTimeout{30'000};

/// One connection to subnicd. Move-only; closes the socket on destruction.
/// Calls are sequential (one outstanding request); not thread-safe.
class Client {
 public:
  /// Connects to the unix stream socket at `socket_path` and reads the
  /// greeting, waiting at most `timeout` in total.
  ///
  /// Errors (code = the errno that caused it):
  /// - the socket cannot be reached: "cannot connect to subnicd at PATH:
  ///   STRERROR (is subnicd running?)" (the hint only for ENOENT and
  ///   ECONNREFUSED);
  /// - the daemon refused this peer (SO_PEERCRED check): an error line in place of the
  ///   greeting, returned as Error{its "errno" (EACCES), its "message"};
  /// - no greeting in time: ETIMEDOUT; the daemon closed first: ECONNRESET;
  /// - the greeting is not {"subnicd": VERSION, "protocol": 1}: EPROTO naming
  ///   what is wrong (a different protocol number included).
  static Result<Client> connect(const std::string& socket_path,
                                std::chrono::milliseconds timeout = kDefaultTimeout);

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  /// Sends {"id", "method", "params"} and waits up to the timeout for the
  /// reply with the same id. Returns its `result`.
  ///
  /// Errors: an error reply becomes Error{its "errno", its "message"} (the
  /// message is the line the CLI prints); no reply in time: ETIMEDOUT; the
  /// daemon closed the connection: ECONNRESET; a reply that is not JSON, has
  /// another id, or neither result nor error: EPROTO; socket errors: their
  /// errno. After a transport error the client should be discarded.
  Result<Json> call(std::string_view method, const Json& params);

  /// The greeting object the daemon sent ({"subnicd": ..., "protocol": ...}).
  const Json& greeting() const { return greeting_; }

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Client(int fd, std::string path, std::chrono::milliseconds timeout);

  using Clock = std::chrono::steady_clock;
  /// Next complete line, waiting until `deadline`.
  Result<std::string> read_line(Clock::time_point deadline, std::string_view waiting_for);
  Status write_all(std::string_view bytes, Clock::time_point deadline);
  void close_fd();

  int fd_ = -1;
  std::string path_;
  std::chrono::milliseconds timeout_;
  LineBuffer buffer_;
  Json greeting_;
  std::int64_t next_id_ = 1;
};

}  // namespace subnic::ctl
