// io::StreamPort against a real unix stream socket client doing what QEMU's `-netdev
// stream,addr.type=unix,server=off` does (net/stream.c): connect, then 4-byte big-endian length +
// Ethernet frame, both ways. No root needed; everything lives in a fresh temp directory.
#include "io/vm_stream.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "sys/unique_fd.hpp"

namespace subnic::io {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;
constexpr auto kTimeout = std::chrono::seconds(3);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "subnic-vmstream-XXXXXX").string();
    char* d = ::mkdtemp(tmpl.data());
    if (d != nullptr) {
      path_ = d;
    }
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  std::string file(const char* name) const { return path_ + "/" + name; }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

sockaddr_un addr_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// A blocking client socket connected to `path` (receive timeout 3 s, so reads are bounded).
sys::UniqueFd connect_to(const std::string& path) {
  sys::UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd) {
    return fd;
  }
  timeval tv{3, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const sockaddr_un a = addr_of(path);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
    fd.reset();
  }
  return fd;
}

// An Ethernet frame of `len` bytes whose payload encodes `tag`.
Bytes eth_frame(std::size_t len, std::uint32_t tag) {
  Bytes f(len);
  for (std::size_t i = 0; i < len; ++i) {
    f[i] = static_cast<std::uint8_t>(i * 13 + tag);
  }
  if (len >= 14) {
    f[12] = 0x88;  // local experimental EtherType
    f[13] = 0xb5;
  }
  if (len >= 18) {
    std::memcpy(f.data() + 14, &tag, 4);
  }
  return f;
}

// The stream encoding: 4-byte big-endian length + frame.
Bytes wire(const Bytes& f, std::uint32_t len_override = 0xffffffffu) {
  const std::uint32_t len =
      len_override != 0xffffffffu ? len_override : static_cast<std::uint32_t>(f.size());
  Bytes w = {static_cast<std::uint8_t>(len >> 24), static_cast<std::uint8_t>(len >> 16),
             static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
  w.insert(w.end(), f.begin(), f.end());
  return w;
}

Bytes with_vnet(const Bytes& f) {
  Bytes v(kVnetHdrLen, 0);
  v.insert(v.end(), f.begin(), f.end());
  return v;
}

bool write_all(int fd, const Bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly n bytes (bounded by the socket's receive timeout); short on EOF/timeout.
Bytes read_n(int fd, std::size_t n) {
  Bytes b(n);
  std::size_t off = 0;
  while (off < n) {
    const ssize_t r = ::recv(fd, b.data() + off, n - off, 0);
    if (r <= 0) {
      b.resize(off);
      break;
    }
    off += static_cast<std::size_t>(r);
  }
  return b;
}

// One frame as the client sees it; empty on EOF/timeout.
Bytes read_frame(int fd) {
  const Bytes len = read_n(fd, 4);
  if (len.size() != 4) {
    return {};
  }
  const std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) |
                          (std::uint32_t{len[2]} << 8) | len[3];
  return read_n(fd, n);
}

// True once the peer closed (EOF), within the receive timeout.
bool peer_closed(int fd) {
  std::uint8_t b[256];
  for (int i = 0; i < 1000; ++i) {
    const ssize_t r = ::recv(fd, b, sizeof b, 0);
    if (r == 0) {
      return true;
    }
    if (r < 0) {
      return errno == ECONNRESET;
    }
  }
  return false;
}

// What a datapath does: wait on the port's fd, service(), drain recv(); until `done` or timeout.
struct Pump {
  StreamPort& port;
  std::vector<Bytes> got;
  bool until(const std::function<bool()>& done) {
    const auto deadline = Clock::now() + kTimeout;
    Bytes buf(kMaxFrame);
    while (Clock::now() < deadline) {
      pollfd p{port.fd(), POLLIN, 0};
      ::poll(&p, 1, 10);
      port.service();
      for (int i = 0; i < 1000; ++i) {
        const std::size_t n = port.recv(buf);
        if (n == 0) {
          break;
        }
        got.emplace_back(buf.begin(), buf.begin() + static_cast<long>(n));
      }
      if (done()) {
        return true;
      }
    }
    return done();
  }
};

std::unique_ptr<StreamPort> make_port(const std::string& path,
                                      std::size_t bound = StreamPort::kDefaultOutputBound) {
  auto p = StreamPort::listen(path, bound);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? std::move(*p) : nullptr;
}

TEST(StreamPort, ListensOnThePathAndReplacesOnlyAStaleSocket) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("vm0.sock");
  {
    // A stale socket file: bound, never listened on, closed.
    sys::UniqueFd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    const sockaddr_un a = addr_of(path);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  }
  auto port = make_port(path);
  ASSERT_TRUE(port);
  EXPECT_EQ(port->path(), path);
  EXPECT_FALSE(port->connected());
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // Someone is listening now: a second port must not steal the path.
  auto again = StreamPort::listen(path);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EADDRINUSE);
  // A regular file is never removed.
  const std::string file = dir.file("not-a-socket");
  ASSERT_TRUE(std::system(("echo keep > " + file).c_str()) == 0);
  auto onfile = StreamPort::listen(file);
  ASSERT_FALSE(onfile);
  EXPECT_EQ(onfile.error().code, EEXIST);
  EXPECT_TRUE(std::filesystem::exists(file));
  auto longpath = StreamPort::listen(std::string(200, 'x'));
  ASSERT_FALSE(longpath);
  EXPECT_EQ(longpath.error().code, ENAMETOOLONG);
  EXPECT_EQ(StreamPort::listen("").error().code, EINVAL);
}

TEST(StreamPort, FramesBothWays) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  EXPECT_FALSE(port->send(with_vnet(eth_frame(60, 1))));  // nobody connected
  auto c = connect_to(port->path());
  ASSERT_TRUE(c);
  // The port's epoll fd turns readable for the pending connection.
  pollfd p{port->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  EXPECT_EQ(port->stats().connects, 1u);

  // Guest -> port: three frames in one write, including a maximum-size one.
  const Bytes f1 = eth_frame(60, 1), f2 = eth_frame(1514, 2);
  const Bytes f3 = eth_frame(StreamPort::kMaxStreamFrame, 3);
  Bytes w = wire(f1);
  for (const Bytes& f : {f2, f3}) {
    const Bytes x = wire(f);
    w.insert(w.end(), x.begin(), x.end());
  }
  std::thread writer([&] { write_all(c.get(), w); });
  ASSERT_TRUE(pump.until([&] { return pump.got.size() == 3; }));
  writer.join();
  EXPECT_EQ(pump.got[0], with_vnet(f1));  // all-zero vnet header + the frame, byte for byte
  EXPECT_EQ(pump.got[1], with_vnet(f2));
  EXPECT_EQ(pump.got[2], with_vnet(f3));

  // Port -> guest.
  const Bytes g1 = eth_frame(42, 7), g2 = eth_frame(9000, 8);
  ASSERT_TRUE(port->send(with_vnet(g1)));
  ASSERT_TRUE(port->send(with_vnet(g2)));
  port->flush();
  EXPECT_EQ(read_frame(c.get()), g1);
  EXPECT_EQ(read_frame(c.get()), g2);
  EXPECT_EQ(port->output_pending(), 0u);
  EXPECT_EQ(port->stats().malformed, 0u);
  EXPECT_EQ(port->offloads().csum, false);
  EXPECT_EQ(port->offloads().tso4, false);
}

TEST(StreamPort, SendRefusesWhatTheStreamCannotCarry) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  Bytes gso = with_vnet(eth_frame(3000, 1));
  gso[1] = kVnetGsoTcpv4;
  EXPECT_FALSE(port->send(gso));
  Bytes partial = with_vnet(eth_frame(100, 1));
  partial[0] = kVnetFNeedsCsum;
  EXPECT_FALSE(port->send(partial));
  EXPECT_FALSE(port->send(with_vnet(eth_frame(13, 1))));
  EXPECT_FALSE(port->send(with_vnet(eth_frame(StreamPort::kMaxStreamFrame + 1, 1))));
  EXPECT_TRUE(port->send(with_vnet(eth_frame(StreamPort::kMaxStreamFrame, 1))));
  port->flush();
  EXPECT_EQ(read_frame(c.get()), eth_frame(StreamPort::kMaxStreamFrame, 1));
}

TEST(StreamPort, FramesSplitAcrossWritesAreReassembled) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  const Bytes f = eth_frame(300, 9);
  Bytes w = wire(f);
  const Bytes w2 = wire(eth_frame(64, 10));
  w.insert(w.end(), w2.begin(), w2.end());
  // Byte by byte through the length prefix and the first bytes, then the rest in two pieces
  // that split the second frame's length prefix.
  std::size_t off = 0;
  for (; off < 7; ++off) {
    ASSERT_TRUE(write_all(c.get(), Bytes{w[off]}));
    pump.until([] { return true; });  // one round
    EXPECT_TRUE(pump.got.empty()) << off;
  }
  const std::size_t mid = 4 + 300 + 2;
  ASSERT_TRUE(write_all(c.get(), Bytes(w.begin() + static_cast<long>(off), w.begin() + mid)));
  ASSERT_TRUE(pump.until([&] { return pump.got.size() == 1; }));
  EXPECT_EQ(pump.got[0], with_vnet(f));
  ASSERT_TRUE(write_all(c.get(), Bytes(w.begin() + mid, w.end())));
  ASSERT_TRUE(pump.until([&] { return pump.got.size() == 2; }));
  EXPECT_EQ(pump.got[1], with_vnet(eth_frame(64, 10)));
  EXPECT_EQ(port->stats().malformed, 0u);
}

TEST(StreamPort, ANewConnectionReplacesTheOld) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c1 = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  // Half a frame from the first VM, and output queued for it, both lost with it.
  const Bytes half = wire(eth_frame(200, 1));
  ASSERT_TRUE(write_all(c1.get(), Bytes(half.begin(), half.begin() + 100)));
  pump.until([] { return true; });
  auto c2 = connect_to(port->path());
  ASSERT_TRUE(pump.until([&] { return port->stats().connects == 2; }));
  EXPECT_TRUE(port->connected());
  EXPECT_TRUE(peer_closed(c1.get()));
  // The new VM's stream starts clean: its first frame is not glued to the old half frame.
  const Bytes f = eth_frame(80, 2);
  ASSERT_TRUE(write_all(c2.get(), wire(f)));
  ASSERT_TRUE(pump.until([&] { return pump.got.size() == 1; }));
  EXPECT_EQ(pump.got[0], with_vnet(f));
  ASSERT_TRUE(port->send(with_vnet(eth_frame(60, 3))));
  port->flush();
  EXPECT_EQ(read_frame(c2.get()), eth_frame(60, 3));
  EXPECT_EQ(port->stats().malformed, 0u);
}

TEST(StreamPort, HangUpDisconnects) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  // A whole frame then the close: the frame still arrives, then the port sees the end.
  ASSERT_TRUE(write_all(c.get(), wire(eth_frame(60, 4))));
  c.reset();
  ASSERT_TRUE(pump.until([&] { return !port->connected(); }));
  ASSERT_EQ(pump.got.size(), 1u);
  EXPECT_EQ(pump.got[0], with_vnet(eth_frame(60, 4)));
  EXPECT_FALSE(port->send(with_vnet(eth_frame(60, 5))));
  // And a VM that comes back is served again.
  auto c2 = connect_to(port->path());
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  EXPECT_EQ(port->stats().connects, 2u);
}

TEST(StreamPort, BadLengthsDropTheConnectionAndAreCounted) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  Pump pump{*port, {}};
  std::uint64_t expect_malformed = 0;
  for (const std::uint32_t bad :
       {0u, static_cast<std::uint32_t>(StreamPort::kMaxStreamFrame + 1), 0xffffffffu - 1}) {
    SCOPED_TRACE(bad);
    auto c = connect_to(port->path());
    ASSERT_TRUE(pump.until([&] { return port->connected(); }));
    const Bytes good = eth_frame(60, 1);
    Bytes w = wire(good);
    const Bytes b = wire(Bytes(16, 0xee), bad);
    w.insert(w.end(), b.begin(), b.end());
    ASSERT_TRUE(write_all(c.get(), w));
    ASSERT_TRUE(pump.until([&] { return !port->connected(); }));
    EXPECT_EQ(port->stats().malformed, ++expect_malformed);
    EXPECT_TRUE(peer_closed(c.get()));
  }
  // The good frame before each bad length was delivered.
  EXPECT_EQ(pump.got.size(), 3u);
}

TEST(StreamPort, RuntFramesAreSkippedAndTheStreamGoesOn) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  Bytes w = wire(Bytes(5, 0xab));  // shorter than an Ethernet header
  const Bytes f = eth_frame(61, 6);
  const Bytes x = wire(f);
  w.insert(w.end(), x.begin(), x.end());
  ASSERT_TRUE(write_all(c.get(), w));
  ASSERT_TRUE(pump.until([&] { return pump.got.size() == 1; }));
  EXPECT_EQ(pump.got[0], with_vnet(f));
  EXPECT_EQ(port->stats().malformed, 1u);
  EXPECT_TRUE(port->connected());
}

TEST(StreamPort, OutputIsBoundedAndDrainsInOrderWhenTheGuestReads) {
  TempDir dir;
  // The smallest bound: one maximum frame with its prefix.
  auto port = make_port(dir.file("s"), 0);
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  // The guest reads nothing: fill the socket, then our bounded queue.
  std::uint32_t sent = 0;
  for (int i = 0; i < 20000 && port->send(with_vnet(eth_frame(1500, sent))); ++i) {
    ++sent;
    if (sent % 16 == 0) {
      port->flush();
    }
  }
  port->flush();
  ASSERT_GT(sent, 0u);
  ASSERT_LT(sent, 20000u) << "the output bound never hit";
  EXPECT_EQ(port->stats().overruns, 1u);
  EXPECT_GT(port->output_pending(), 0u);
  EXPECT_LE(port->output_pending(), StreamPort::kLenPrefix + StreamPort::kMaxStreamFrame);
  // EPOLLOUT is armed: the port's fd turns readable once the guest makes room.
  std::thread reader([&] {
    for (std::uint32_t i = 0; i < sent; ++i) {
      const Bytes f = read_frame(c.get());
      if (f != eth_frame(1500, i)) {
        ADD_FAILURE() << "frame " << i << " lost or corrupted";
        return;
      }
    }
  });
  EXPECT_TRUE(pump.until([&] { return port->output_pending() == 0; }));
  reader.join();
  // Room again.
  EXPECT_TRUE(port->send(with_vnet(eth_frame(60, 99))));
  port->flush();
  EXPECT_EQ(read_frame(c.get()), eth_frame(60, 99));
}

// listen_unix (another port asked for the same path) connects and hangs up to see whether
// someone listens: that must not knock the running guest off.
TEST(StreamPort, AProbeThatHangsUpAtOnceDoesNotReplaceTheGuest) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto guest = connect_to(port->path());
  ASSERT_TRUE(guest);
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  auto again = StreamPort::listen(port->path());  // probes, finds us live
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EADDRINUSE);
  pollfd p{port->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  port->service();
  EXPECT_TRUE(port->connected());
  EXPECT_EQ(port->stats().connects, 1u);
  const Bytes f = eth_frame(60, 9);
  ASSERT_TRUE(port->send(with_vnet(f)));
  port->flush();
  EXPECT_EQ(read_frame(guest.get()), f);  // still the guest's connection
}

// A datapath reads bursts of 64: frames buffered beyond the burst must wake it again although
// the guest sends nothing more (the port's fd stays readable until recv() returns 0).
TEST(StreamPort, FramesBufferedBeyondABurstKeepTheFdReadable) {
  TempDir dir;
  auto port = make_port(dir.file("s"));
  ASSERT_TRUE(port);
  auto c = connect_to(port->path());
  ASSERT_TRUE(c);
  Pump pump{*port, {}};
  ASSERT_TRUE(pump.until([&] { return port->connected(); }));
  constexpr int kFrames = 100;
  Bytes w;
  for (int i = 0; i < kFrames; ++i) {
    const Bytes x = wire(eth_frame(60, static_cast<std::uint32_t>(i)));
    w.insert(w.end(), x.begin(), x.end());
  }
  ASSERT_TRUE(write_all(c.get(), w));
  pollfd p{port->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  port->service();
  Bytes buf(kMaxFrame);
  int got = 0;
  for (; got < 64; ++got) {  // one burst
    ASSERT_GT(port->recv(buf), 0u) << got;
  }
  // The rest is buffered in the port, not in the socket: only the port can say so.
  int polls = 0;
  while (got < kFrames && polls < 10) {
    p = pollfd{port->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 1000), 1)
        << "fd not readable with " << kFrames - got << " frames buffered";
    ++polls;
    port->service();
    for (std::size_t n = port->recv(buf); n != 0; n = port->recv(buf)) {
      EXPECT_EQ(Bytes(buf.begin() + kVnetHdrLen, buf.begin() + static_cast<long>(n)),
                eth_frame(60, static_cast<std::uint32_t>(got)));
      ++got;
    }
  }
  EXPECT_EQ(got, kFrames);
  // Everything consumed: the fd is quiet again.
  p = pollfd{port->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 50), 0);
}

}  // namespace
}  // namespace subnic::io
