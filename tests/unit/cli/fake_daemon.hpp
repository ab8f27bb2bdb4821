// A scripted stand-in for subnicd on a unix socket in a temporary directory, served by a thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace subnic::testing {

/// Listens on DIR/subnicd.sock (DIR a fresh mkdtemp directory). For each
/// connection: sends `greeting` (unless empty; "close" closes at once), then
/// answers each request line with `handler(line)`: the bytes to send back
/// (nullopt: send nothing, so the client times out). Stops and removes its
/// files on destruction. Not root-only; no network.
class FakeDaemon {
 public:
  using Handler = std::function<std::optional<std::string>(const std::string& line)>;

  FakeDaemon(std::string greeting, Handler handler);
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  const std::string& path() const { return path_; }
  /// Request lines received so far.
  std::vector<std::string> requests() const;

 private:
  void serve();
  void serve_connection(int fd);

  std::string dir_;
  std::string path_;
  std::string greeting_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace subnic::testing
