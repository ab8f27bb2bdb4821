// Integration: VhostUserPort against an in-process fake QEMU front end over a real unix socket.
// The fake does what QEMU 7.2's hw/virtio/vhost-user.c + hw/net/vhost_net.c do: the same
// messages in the same order (vhost_user_backend_init, vhost_dev_init, vhost_dev_start,
// vhost_virtqueue_start, vhost_net_start's SET_VRING_ENABLE; GET_VRING_BASE on stop), guest RAM
// in a memfd passed with SCM_RIGHTS as two regions (guest physical != QEMU virtual != file
// offset), split rings laid out in that RAM, kick and call eventfds. The guest side is this test
// writing descriptors and avail entries the way the Linux virtio_net driver does. No root.
#include "io/vhost_user.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace subnic::test {
namespace {

using io::VhostUserPort;

// vhost-user.rst requests.
enum : std::uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kSetMemTable = 5,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kSetVringEnable = 18,
};
constexpr std::uint32_t kNeedReply = 0x8;

constexpr std::uint64_t bit(unsigned b) {
  return std::uint64_t{1} << b;
}
constexpr std::uint64_t kFCsum = bit(0), kFGuestCsum = bit(1), kFGuestTso4 = bit(7),
                        kFGuestTso6 = bit(8), kFGuestEcn = bit(9), kFHostTso4 = bit(11),
                        kFHostTso6 = bit(12), kFHostEcn = bit(13), kFMrgRxbuf = bit(15),
                        kFProtocol = bit(30), kFVersion1 = bit(32);
constexpr std::uint64_t kPfReplyAck = bit(3);
// What a Linux 6.1 guest with QEMU 7.2 acks: everything offered.
constexpr std::uint64_t kFullFeatures = kFCsum | kFGuestCsum | kFGuestTso4 | kFGuestTso6 |
                                        kFGuestEcn | kFHostTso4 | kFHostTso6 | kFHostEcn |
                                        kFMrgRxbuf | kFProtocol | kFVersion1;

constexpr std::uint16_t kDescNext = 1, kDescWrite = 2;
constexpr std::uint32_t kQ = 256;      // default ring size
constexpr std::uint32_t kMaxQ = 2048;  // largest ring the layout below has room for

// Guest RAM: one 4 MiB memfd sealed as QEMU's memory-backend-memfd seals it (seal=on), two
// regions. Region 0: guest physical 0, file offset 0. Region 1: guest physical 1 GiB, file
// offset 2 MiB. QEMU virtual = our mapping address.
constexpr std::size_t kRamSize = 4u << 20;
constexpr std::size_t kRegSize = 2u << 20;
constexpr std::uint64_t kGpa1 = 0x40000000;

// Descriptors open in this process (/proc/self/fd entries, the directory's own fd excluded).
int open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) {
    return -1;
  }
  int n = 0;
  while (::readdir(d) != nullptr) {
    ++n;
  }
  ::closedir(d);
  return n - 3;  // ".", "..", the DIR's fd
}

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

std::uint64_t drain_eventfd(int fd) {
  std::uint64_t v = 0;
  if (::read(fd, &v, sizeof v) != sizeof v) {
    return 0;
  }
  return v;
}

std::vector<std::uint8_t> u64_payload(std::uint64_t v) {
  std::vector<std::uint8_t> p(8);
  std::memcpy(p.data(), &v, 8);
  return p;
}
std::vector<std::uint8_t> state_payload(std::uint32_t index, std::uint32_t num) {
  std::vector<std::uint8_t> p(8);
  std::memcpy(p.data(), &index, 4);
  std::memcpy(p.data() + 4, &num, 4);
  return p;
}

struct Reply {
  std::uint32_t request = 0, flags = 0;
  std::vector<std::uint8_t> payload;
  std::uint64_t u64() const {
    std::uint64_t v = 0;
    std::memcpy(&v, payload.data(), std::min<std::size_t>(8, payload.size()));
    return v;
  }
};

// The test's guest: RAM, ring layout, and the Linux driver's side of the split rings.
class Guest {
 public:
  Guest() {
    fd_ = ::memfd_create("subnic-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::ftruncate(fd_, kRamSize), 0);
    EXPECT_EQ(::fcntl(fd_, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL), 0);
    void* m = ::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    EXPECT_NE(m, MAP_FAILED);
    base_ = static_cast<std::uint8_t*>(m);
    reset();
  }
  ~Guest() {
    ::munmap(base_, kRamSize);
    ::close(fd_);
  }
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  // Fresh rings (what the driver does on probe): zeroed, allocators back at the start.
  void reset() {
    std::memset(base_, 0, kRamSize);
    bump_[0] = 0x1000;
    bump_[1] = kGpa1 + 0x40000;
    next_desc_[0] = next_desc_[1] = 0;
    avail_shadow_[0] = avail_shadow_[1] = 0;
  }

  int fd() const { return fd_; }
  std::uint8_t* base() const { return base_; }
  std::uint8_t* host(std::uint64_t gpa) const {
    if (gpa < kRegSize) {
      return base_ + gpa;
    }
    return base_ + kRegSize + (gpa - kGpa1);
  }
  // Ring size of queue q (what the driver reads from the device; Front::start sends it).
  std::uint32_t num(std::uint32_t q) const { return num_[q]; }
  void set_num(std::uint32_t q, std::uint32_t n) {
    ASSERT_LE(n, kMaxQ);
    num_[q] = n;
  }
  // Rings of queue q live in region 1 at file offset 2 MiB + q * 128 KiB (room for kMaxQ).
  std::uint8_t* desc(std::uint32_t q) const { return base_ + kRegSize + q * 0x20000; }
  std::uint8_t* avail(std::uint32_t q) const { return desc(q) + 0x8000; }
  std::uint8_t* used(std::uint32_t q) const { return desc(q) + 0xa000; }
  std::uint64_t uva(const std::uint8_t* p) const { return reinterpret_cast<std::uint64_t>(p); }

  // A buffer of `len` bytes in region `r` (0 or 1), 16-byte aligned.
  std::uint64_t alloc(std::size_t len, int r) {
    const std::uint64_t g = bump_[r];
    bump_[r] += (len + 15) & ~std::size_t{15};
    return g;
  }

  struct Desc {
    std::uint64_t gpa;
    std::uint32_t len;
    std::uint16_t flags;  // kDescWrite or 0; NEXT is added here
  };
  // Writes a chain of descriptors and makes it available (driver: virtqueue_add_split +
  // virtqueue_kick_prepare: entry, then release barrier, then avail->idx).
  std::uint16_t post(std::uint32_t q, const std::vector<Desc>& chain) {
    const std::uint16_t head = static_cast<std::uint16_t>(next_desc_[q] % num_[q]);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const std::uint16_t idx = static_cast<std::uint16_t>(next_desc_[q]++ % num_[q]);
      const bool more = i + 1 < chain.size();
      write_desc(q, idx, chain[i].gpa, chain[i].len,
                 static_cast<std::uint16_t>(chain[i].flags | (more ? kDescNext : 0)),
                 static_cast<std::uint16_t>(next_desc_[q] % num_[q]));
    }
    push_avail(q, head);
    return head;
  }
  void write_desc(std::uint32_t q, std::uint16_t idx, std::uint64_t gpa, std::uint32_t len,
                  std::uint16_t flags, std::uint16_t next) {
    std::uint8_t* d = desc(q) + 16 * idx;
    std::memcpy(d, &gpa, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
  }
  void push_avail(std::uint32_t q, std::uint16_t head) {
    std::memcpy(avail(q) + 4 + 2 * (avail_shadow_[q] % num_[q]), &head, 2);
    ++avail_shadow_[q];
    std::atomic_ref<std::uint16_t>{*reinterpret_cast<std::uint16_t*>(avail(q) + 2)}.store(
        avail_shadow_[q], std::memory_order_release);
  }
  void set_avail_idx(std::uint32_t q, std::uint16_t v) {
    avail_shadow_[q] = v;
    std::atomic_ref<std::uint16_t>{*reinterpret_cast<std::uint16_t*>(avail(q) + 2)}.store(
        v, std::memory_order_release);
  }
  void set_no_interrupt(std::uint32_t q, bool on) {
    const std::uint16_t f = on ? 1 : 0;
    std::memcpy(avail(q), &f, 2);
  }
  std::uint16_t used_idx(std::uint32_t q) const {
    return std::atomic_ref<std::uint16_t>{*reinterpret_cast<std::uint16_t*>(used(q) + 2)}.load(
        std::memory_order_acquire);
  }
  std::pair<std::uint32_t, std::uint32_t> used_elem(std::uint32_t q, std::uint16_t i) const {
    std::uint32_t id, len;
    std::memcpy(&id, used(q) + 4 + 8 * (i % num_[q]), 4);
    std::memcpy(&len, used(q) + 4 + 8 * (i % num_[q]) + 4, 4);
    return {id, len};
  }

 private:
  int fd_ = -1;
  std::uint8_t* base_ = nullptr;
  std::uint64_t bump_[2] = {};
  std::uint32_t next_desc_[2] = {};
  std::uint16_t avail_shadow_[2] = {};
  std::uint32_t num_[2] = {kQ, kQ};
};

// The QEMU side of the socket.
class Front {
 public:
  Front(const std::string& path, VhostUserPort& port) : port_{port} {
    sock_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    EXPECT_EQ(::connect(sock_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun), 0);
    for (auto& fd : kick_) {
      fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    for (auto& fd : call_) {
      fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    port_.service();  // accept
  }
  ~Front() {
    close_socket();
    for (int fd : kick_) {
      ::close(fd);
    }
    for (int fd : call_) {
      ::close(fd);
    }
  }
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  void close_socket() {
    if (sock_ >= 0) {
      ::close(sock_);
      sock_ = -1;
    }
  }
  int sock() const { return sock_; }
  int kick(std::uint32_t q) const { return kick_[q]; }
  int call(std::uint32_t q) const { return call_[q]; }

  // One message, as vhost_user_write: header + payload in one sendmsg, fds as SCM_RIGHTS.
  void send(std::uint32_t req, const std::vector<std::uint8_t>& payload,
            const std::vector<int>& fds = {}, std::uint32_t flags = 0x1) {
    std::vector<std::uint8_t> buf(12 + payload.size());
    const auto size = static_cast<std::uint32_t>(payload.size());
    std::memcpy(buf.data(), &req, 4);
    std::memcpy(buf.data() + 4, &flags, 4);
    std::memcpy(buf.data() + 8, &size, 4);
    if (!payload.empty()) {
      std::memcpy(buf.data() + 12, payload.data(), payload.size());
    }
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * 8)> ctrl{};
    if (!fds.empty()) {
      mh.msg_control = ctrl.data();
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ASSERT_EQ(::sendmsg(sock_, &mh, MSG_NOSIGNAL), static_cast<ssize_t>(buf.size()));
  }

  // Raw bytes with any number of descriptors in one sendmsg; returns what sendmsg returned.
  ssize_t send_raw(const void* data, std::size_t len, const std::vector<int>& fds) {
    iovec iov{const_cast<void*>(data), len};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    std::vector<char> ctrl(CMSG_SPACE(sizeof(int) * fds.size()));  // new[]: aligned for cmsghdr
    if (!fds.empty()) {
      mh.msg_control = ctrl.data();
      mh.msg_controllen = ctrl.size();
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    return ::sendmsg(sock_, &mh, MSG_NOSIGNAL);
  }
  // Whether the port closed this connection: EOF within `ms`.
  bool closed_by_port(int ms = 200) const {
    if (!readable(sock_, ms)) {
      return false;
    }
    char c;
    return ::recv(sock_, &c, 1, MSG_DONTWAIT) == 0;
  }

  // Lets the port run, then reads a reply if one is there (bounded wait).
  std::optional<Reply> reply(int wait_ms = 500) {
    for (int i = 0; i < wait_ms / 5 + 1; ++i) {
      port_.service();
      if (readable(sock_, 5)) {
        Reply r;
        std::array<std::uint8_t, 12> h{};
        if (::recv(sock_, h.data(), h.size(), MSG_WAITALL) != 12) {
          return std::nullopt;
        }
        std::uint32_t size;
        std::memcpy(&r.request, h.data(), 4);
        std::memcpy(&r.flags, h.data() + 4, 4);
        std::memcpy(&size, h.data() + 8, 4);
        r.payload.resize(size);
        if (size > 0 && ::recv(sock_, r.payload.data(), size, MSG_WAITALL) != size) {
          return std::nullopt;
        }
        return r;
      }
    }
    return std::nullopt;
  }
  // Sends and expects no reply at all.
  void post(std::uint32_t req, const std::vector<std::uint8_t>& payload,
            const std::vector<int>& fds = {}) {
    send(req, payload, fds);
    port_.service();
    EXPECT_FALSE(readable(sock_, 0)) << "unexpected reply to request " << req;
  }
  // Sends with need_reply and returns the REPLY_ACK status.
  std::optional<std::uint64_t> acked(std::uint32_t req, const std::vector<std::uint8_t>& payload,
                                     const std::vector<int>& fds = {}) {
    send(req, payload, fds, 0x1 | kNeedReply);
    auto r = reply();
    if (!r) {
      return std::nullopt;
    }
    EXPECT_EQ(r->request, req);
    EXPECT_EQ(r->flags, 0x5u);  // version 1 | reply (vhost_user_read_header insists)
    EXPECT_EQ(r->payload.size(), 8u);
    return r->u64();
  }
  std::uint64_t get_u64(std::uint32_t req) {
    send(req, {});
    auto r = reply();
    EXPECT_TRUE(r);
    if (!r) {
      return 0;
    }
    EXPECT_EQ(r->request, req);
    EXPECT_EQ(r->flags, 0x5u);
    EXPECT_EQ(r->payload.size(), 8u);
    return r->u64();
  }

  std::vector<std::uint8_t> mem_table(const Guest& g) const {
    std::vector<std::uint8_t> p(8 + 2 * 32);
    const std::uint32_t n = 2;
    std::memcpy(p.data(), &n, 4);
    const std::uint64_t r[2][4] = {
        {0, kRegSize, g.uva(g.base()), 0},
        {kGpa1, kRegSize, g.uva(g.base() + kRegSize), kRegSize},
    };
    std::memcpy(p.data() + 8, r, sizeof r);
    return p;
  }
  std::vector<std::uint8_t> addr_payload(const Guest& g, std::uint32_t q) const {
    std::vector<std::uint8_t> p(40);
    const std::uint32_t idx = q, flags = 0;
    const std::uint64_t a[4] = {g.uva(g.desc(q)), g.uva(g.used(q)), g.uva(g.avail(q)), 0};
    std::memcpy(p.data(), &idx, 4);
    std::memcpy(p.data() + 4, &flags, 4);
    std::memcpy(p.data() + 8, a, sizeof a);
    return p;
  }

  // vhost_user_backend_init + vhost_dev_init (connection time).
  void init(std::uint64_t offered_mask_check = VhostUserPort::kFeatures) {
    const std::uint64_t f = get_u64(kGetFeatures);
    EXPECT_EQ(f, offered_mask_check);
    if ((f & kFProtocol) != 0) {
      EXPECT_EQ(get_u64(kGetProtocolFeatures), kPfReplyAck);
      post(kSetProtocolFeatures, u64_payload(kPfReplyAck));
    }
    post(kSetOwner, {});
    EXPECT_EQ(get_u64(kGetFeatures), offered_mask_check);
    // vhost_virtqueue_init: the masked notifier as call fd of each ring.
    for (std::uint32_t q = 0; q < 2; ++q) {
      post(kSetVringCall, u64_payload(q), {call_[q]});
    }
  }
  // vhost_dev_start + vhost_virtqueue_start for both rings, then vhost_net_start's
  // SET_VRING_ENABLE (when PROTOCOL_FEATURES was acked).
  void start(const Guest& g, std::uint64_t features, std::uint16_t base0 = 0,
             std::uint16_t base1 = 0) {
    post(kSetFeatures, u64_payload(features));
    if ((features & kFProtocol) != 0) {
      EXPECT_EQ(acked(kSetMemTable, mem_table(g), {g.fd(), g.fd()}), 0u);
    } else {
      post(kSetMemTable, mem_table(g), {g.fd(), g.fd()});
    }
    const std::uint16_t base[2] = {base0, base1};
    for (std::uint32_t q = 0; q < 2; ++q) {
      post(kSetVringNum, state_payload(q, g.num(q)));
      post(kSetVringBase, state_payload(q, base[q]));
      post(kSetVringAddr, addr_payload(g, q));
      post(kSetVringKick, u64_payload(q), {kick_[q]});
      post(kSetVringCall, u64_payload(q), {call_[q]});
    }
    if ((features & kFProtocol) != 0) {
      for (std::uint32_t q = 0; q < 2; ++q) {
        EXPECT_EQ(port_.connected(), false);
        EXPECT_EQ(acked(kSetVringEnable, state_payload(q, 1)), 0u);
      }
    }
  }

 private:
  VhostUserPort& port_;
  int sock_ = -1;
  std::array<int, 2> kick_{-1, -1};
  std::array<int, 2> call_{-1, -1};
};

class VhostUserIT : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/subnic-vu-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/vhost.sock";
    auto p = VhostUserPort::listen(path_);
    ASSERT_TRUE(p) << p.error().message;
    port_ = std::move(*p);
  }
  void TearDown() override {
    front_.reset();
    port_.reset();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  Front& connect_and_start(std::uint64_t features = kFullFeatures) {
    front_ = std::make_unique<Front>(path_, *port_);
    front_->init();
    front_->start(guest_, features);
    return *front_;
  }

  // The guest sends `frame` behind a 12-byte header, the header in its own descriptor (as
  // Linux does without any_layout tricks), the frame cut in pieces of `piece` bytes.
  std::uint16_t guest_tx(const std::vector<std::uint8_t>& hdr,
                         const std::vector<std::uint8_t>& frame, std::size_t piece = 4096,
                         bool kick = true) {
    std::vector<Guest::Desc> chain;
    const std::uint64_t h = guest_.alloc(hdr.size(), 0);
    std::memcpy(guest_.host(h), hdr.data(), hdr.size());
    chain.push_back({h, static_cast<std::uint32_t>(hdr.size()), 0});
    int region = 1;
    for (std::size_t off = 0; off < frame.size(); off += piece) {
      const std::size_t n = std::min(piece, frame.size() - off);
      const std::uint64_t b = guest_.alloc(n, region);
      region ^= 1;
      std::memcpy(guest_.host(b), frame.data() + off, n);
      chain.push_back({b, static_cast<std::uint32_t>(n), 0});
    }
    const std::uint16_t head = guest_.post(1, chain);
    if (kick) {
      const std::uint64_t one = 1;
      EXPECT_EQ(::write(front_->kick(1), &one, 8), 8);
    }
    return head;
  }
  // Mergeable receive buffers as Linux posts them: one device-writable descriptor each.
  std::vector<std::uint64_t> guest_rx_buffers(std::size_t n, std::uint32_t size) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t b = guest_.alloc(size, static_cast<int>(i % 2));
      out.push_back(b);
      guest_.post(0, {{b, size, kDescWrite}});
    }
    return out;
  }

  std::string dir_, path_;
  std::unique_ptr<VhostUserPort> port_;
  Guest guest_;
  std::unique_ptr<Front> front_;
};

std::vector<std::uint8_t> test_frame(std::size_t len, std::uint8_t seed) {
  std::vector<std::uint8_t> f(len);
  for (std::size_t i = 0; i < len; ++i) {
    f[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  }
  return f;
}

// A 12-byte virtio_net_hdr_v1 as the guest writes it (little endian).
std::vector<std::uint8_t> guest_hdr(std::uint8_t flags, std::uint8_t gso_type,
                                    std::uint16_t hdr_len, std::uint16_t gso_size,
                                    std::uint16_t csum_start, std::uint16_t csum_offset,
                                    std::size_t len = 12) {
  std::vector<std::uint8_t> h(len);
  h[0] = flags;
  h[1] = gso_type;
  const std::uint16_t v[4] = {hdr_len, gso_size, csum_start, csum_offset};
  for (int i = 0; i < 4; ++i) {
    h[2 + 2 * i] = static_cast<std::uint8_t>(v[i]);
    h[3 + 2 * i] = static_cast<std::uint8_t>(v[i] >> 8);
  }
  return h;
}

std::vector<std::uint8_t> host_vnet(const io::VnetHdr& h, const std::vector<std::uint8_t>& frame) {
  std::vector<std::uint8_t> out(io::kVnetHdrLen + frame.size());
  std::memcpy(out.data(), &h, io::kVnetHdrLen);
  std::memcpy(out.data() + io::kVnetHdrLen, frame.data(), frame.size());
  return out;
}

TEST_F(VhostUserIT, ListenReplacesAStaleSocketAndRefusesOtherFiles) {
  // The fixture's port serves a guest on path_: a second port must not take the path over, and
  // the check (io::listen_unix connects to see whether anyone accepts) must not cost the
  // guest its connection.
  connect_and_start();
  auto live = VhostUserPort::listen(path_);
  ASSERT_FALSE(live);
  EXPECT_EQ(live.error().code, EADDRINUSE);
  for (int i = 0; i < 3; ++i) {
    port_->service();
  }
  EXPECT_TRUE(port_->connected()) << "the probe's connection replaced the guest's";
  EXPECT_EQ(port_->stats().connects, 1u);
  EXPECT_EQ(front_->get_u64(kGetFeatures), VhostUserPort::kFeatures);
  // A socket file nobody accepts on (a daemon that died) is replaced.
  const std::string stale = dir_ + "/stale.sock";
  {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, stale.data(), stale.size());
    const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::bind(s, reinterpret_cast<const sockaddr*>(&sun), sizeof sun), 0);
    ::close(s);
  }
  auto again = VhostUserPort::listen(stale);
  ASSERT_TRUE(again) << again.error().message;
  again->reset();
  ::unlink(stale.c_str());
  const std::string file = dir_ + "/plain";
  std::FILE* fp = std::fopen(file.c_str(), "w");
  ASSERT_NE(fp, nullptr);
  std::fclose(fp);
  auto bad = VhostUserPort::listen(file);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EEXIST);
  ::unlink(file.c_str());
  auto longp = VhostUserPort::listen(std::string(200, 'x'));
  ASSERT_FALSE(longp);
  EXPECT_EQ(longp.error().code, ENAMETOOLONG);
  auto empty = VhostUserPort::listen("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, EINVAL);
}

TEST_F(VhostUserIT, NegotiatesLikeQemuAndGoesLiveOnEnable) {
  EXPECT_FALSE(port_->connected());
  front_ = std::make_unique<Front>(path_, *port_);
  EXPECT_EQ(port_->stats().connects, 1u);
  front_->init();
  EXPECT_FALSE(port_->connected());
  // Offered: exactly the contract's list.
  EXPECT_EQ(VhostUserPort::kFeatures, kFullFeatures);
  // The guest acks a subset: offloads() follows the GUEST_* bits it took.
  front_->start(guest_, kFCsum | kFGuestCsum | kFGuestTso4 | kFMrgRxbuf | kFProtocol | kFVersion1);
  EXPECT_TRUE(port_->connected());
  const auto o = port_->offloads();
  EXPECT_TRUE(o.csum);
  EXPECT_TRUE(o.tso4);
  EXPECT_FALSE(o.tso6);
  EXPECT_FALSE(o.tso_ecn);
  EXPECT_FALSE(o.ufo);
  EXPECT_EQ(port_->stats().malformed, 0u);
  // SET_VRING_ENABLE 0 takes a ring down again.
  EXPECT_EQ(front_->acked(kSetVringEnable, state_payload(1, 0)), 0u);
  EXPECT_FALSE(port_->connected());
  EXPECT_EQ(front_->acked(kSetVringEnable, state_payload(1, 1)), 0u);
  EXPECT_TRUE(port_->connected());
}

TEST_F(VhostUserIT, GuestTransmitsASmallFrame) {
  auto& f = connect_and_start();
  const auto frame = test_frame(60, 3);
  const std::uint16_t head = guest_tx(guest_hdr(1, 0, 0, 0, 34, 16), frame, 32);
  ASSERT_TRUE(readable(port_->fd(), 200)) << "a kick must wake the port's epoll fd";
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  ASSERT_EQ(port_->recv(buf), io::kVnetHdrLen + 60);
  io::VnetHdr h;
  std::memcpy(&h, buf.data(), sizeof h);
  EXPECT_EQ(h.flags, io::kVnetFNeedsCsum);
  EXPECT_EQ(h.gso_type, io::kVnetGsoNone);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin() + 10, buf.begin() + 70), frame);
  // Returned to the used ring: id = head, nothing written.
  EXPECT_EQ(guest_.used_idx(1), 1);
  EXPECT_EQ(guest_.used_elem(1, 0), (std::pair<std::uint32_t, std::uint32_t>{head, 0}));
  EXPECT_EQ(port_->recv(buf), 0u);
  EXPECT_FALSE(readable(f.call(1), 0)) << "no call before flush";
  port_->flush();
  ASSERT_TRUE(readable(f.call(1), 0));
  EXPECT_EQ(drain_eventfd(f.call(1)), 1u);
  port_->flush();
  EXPECT_FALSE(readable(f.call(1), 0)) << "nothing new: no second call";
  port_->service();
  EXPECT_FALSE(readable(port_->fd(), 0)) << "drained: the epoll fd must go quiet";
}

TEST_F(VhostUserIT, PendingFramesKeepTheFdReadableUntilRecvReturnsZero) {
  connect_and_start();
  for (int i = 0; i < 3; ++i) {
    guest_tx(guest_hdr(0, 0, 0, 0, 0, 0), test_frame(100, static_cast<std::uint8_t>(i)), 4096,
             i == 2);
  }
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  ASSERT_EQ(port_->recv(buf), 110u);
  // The datapath stops after one frame (budget): the fd must still report work.
  EXPECT_TRUE(readable(port_->fd(), 0));
  port_->service();
  ASSERT_EQ(port_->recv(buf), 110u);
  ASSERT_EQ(port_->recv(buf), 110u);
  EXPECT_EQ(port_->recv(buf), 0u);
  port_->service();
  EXPECT_FALSE(readable(port_->fd(), 0));
}

TEST_F(VhostUserIT, GuestTransmitsA64KGsoFrameAcrossRegions) {
  connect_and_start();
  const auto frame = test_frame(65000, 9);
  guest_tx(guest_hdr(1, io::kVnetGsoTcpv4 | io::kVnetGsoEcn, 66, 1448, 34, 16), frame, 4000);
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  ASSERT_EQ(port_->recv(buf), io::kVnetHdrLen + frame.size());
  io::VnetHdr h;
  std::memcpy(&h, buf.data(), sizeof h);
  EXPECT_EQ(h.flags, io::kVnetFNeedsCsum);
  EXPECT_EQ(h.gso_type, io::kVnetGsoTcpv4 | io::kVnetGsoEcn);
  EXPECT_EQ(h.hdr_len, 66);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buf.begin() + 10));
  EXPECT_EQ(port_->stats().malformed, 0u);
}

TEST_F(VhostUserIT, GuestReceivesSmallFrameWithNumBuffersOne) {
  auto& f = connect_and_start();
  const auto bufs = guest_rx_buffers(8, 1536);
  const auto frame = test_frame(98, 5);
  io::VnetHdr h{};
  h.flags = io::kVnetFDataValid;
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  ASSERT_EQ(guest_.used_idx(0), 1);
  EXPECT_EQ(guest_.used_elem(0, 0), (std::pair<std::uint32_t, std::uint32_t>{0, 12 + 98}));
  const std::uint8_t* p = guest_.host(bufs[0]);
  EXPECT_EQ(p[0], io::kVnetFDataValid);
  EXPECT_EQ(p[1], 0);
  EXPECT_EQ(p[10] | (p[11] << 8), 1) << "num_buffers";
  EXPECT_EQ(std::vector<std::uint8_t>(p + 12, p + 12 + 98), frame);
  port_->flush();
  EXPECT_EQ(drain_eventfd(f.call(0)), 1u);
  // The guest polls (NAPI): VRING_AVAIL_F_NO_INTERRUPT suppresses the call.
  guest_.set_no_interrupt(0, true);
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  port_->flush();
  EXPECT_FALSE(readable(f.call(0), 0));
  EXPECT_EQ(guest_.used_idx(0), 2);
}

TEST_F(VhostUserIT, A64KGsoFrameSpansMergeableBuffers) {
  connect_and_start();
  const auto bufs = guest_rx_buffers(64, 1536);
  const auto frame = test_frame(65000, 11);
  io::VnetHdr h{};
  h.flags = io::kVnetFNeedsCsum;
  h.gso_type = io::kVnetGsoTcpv6;
  h.hdr_len = 86;
  h.gso_size = 1428;
  h.csum_start = 54;
  h.csum_offset = 16;
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  const std::size_t total = 12 + frame.size();
  const std::size_t nbuf = (total + 1535) / 1536;  // 43
  ASSERT_EQ(guest_.used_idx(0), nbuf);
  std::vector<std::uint8_t> got;
  for (std::size_t i = 0; i < nbuf; ++i) {
    const auto [id, len] = guest_.used_elem(0, static_cast<std::uint16_t>(i));
    EXPECT_EQ(id, i);
    EXPECT_EQ(len, i + 1 < nbuf ? 1536u : total - 1536 * (nbuf - 1));
    const std::uint8_t* p = guest_.host(bufs[id]);
    got.insert(got.end(), p, p + len);
  }
  ASSERT_EQ(got.size(), total);
  // Header, little endian, num_buffers = buffers used (virtio 1.x §5.1.6.4).
  EXPECT_EQ(got[0], io::kVnetFNeedsCsum);
  EXPECT_EQ(got[1], io::kVnetGsoTcpv6);
  EXPECT_EQ(got[2] | (got[3] << 8), 86);
  EXPECT_EQ(got[4] | (got[5] << 8), 1428);
  EXPECT_EQ(got[6] | (got[7] << 8), 54);
  EXPECT_EQ(got[8] | (got[9] << 8), 16);
  EXPECT_EQ(got[10] | (got[11] << 8), static_cast<int>(nbuf));
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), got.begin() + 12));
}

TEST_F(VhostUserIT, TooFewBuffersIsAnOverrunAndConsumesNothing) {
  connect_and_start();
  io::VnetHdr h{};
  EXPECT_FALSE(port_->send(host_vnet(h, test_frame(60, 1)))) << "no buffers at all";
  EXPECT_EQ(port_->stats().overruns, 1u);
  guest_rx_buffers(4, 1536);
  EXPECT_FALSE(port_->send(host_vnet(h, test_frame(20000, 1)))) << "4 buffers < 20000 bytes";
  EXPECT_EQ(port_->stats().overruns, 2u);
  EXPECT_EQ(guest_.used_idx(0), 0);
  ASSERT_TRUE(port_->send(host_vnet(h, test_frame(60, 1))));
  EXPECT_EQ(guest_.used_elem(0, 0).first, 0u) << "the first buffer is still there";
  EXPECT_FALSE(port_->send({}));
}

TEST_F(VhostUserIT, LegacyGuestWithoutProtocolFeaturesUsesTenByteHeaders) {
  front_ = std::make_unique<Front>(path_, *port_);
  front_->init();
  // Neither VERSION_1 nor MRG_RXBUF: 10-byte header; no PROTOCOL_FEATURES: the rings are
  // enabled without SET_VRING_ENABLE.
  front_->start(guest_, kFCsum | kFGuestCsum);
  EXPECT_TRUE(port_->connected());
  EXPECT_TRUE(port_->offloads().csum);
  EXPECT_FALSE(port_->offloads().tso4);
  // Receive: one chain, header descriptor + data descriptor (Linux "big packets" style).
  const std::uint64_t hb = guest_.alloc(10, 0), db = guest_.alloc(1500, 1);
  guest_.post(0, {{hb, 10, kDescWrite}, {db, 1500, kDescWrite}});
  io::VnetHdr h{};
  EXPECT_FALSE(port_->send(host_vnet(h, test_frame(2000, 2)))) << "larger than the chain";
  EXPECT_EQ(guest_.used_idx(0), 0);
  h.flags = io::kVnetFNeedsCsum;
  h.csum_start = 0x1234;
  const auto frame = test_frame(1000, 2);
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  ASSERT_EQ(guest_.used_idx(0), 1);
  EXPECT_EQ(guest_.used_elem(0, 0).second, 1010u);
  EXPECT_EQ(guest_.host(hb)[0], io::kVnetFNeedsCsum);
  EXPECT_EQ(guest_.host(hb)[6], 0x34);
  EXPECT_EQ(guest_.host(hb)[7], 0x12);
  EXPECT_EQ(std::vector<std::uint8_t>(guest_.host(db), guest_.host(db) + 1000), frame);
  // Transmit: 10-byte header.
  const auto tf = test_frame(64, 4);
  guest_tx(guest_hdr(0, 0, 0, 0, 0, 0, 10), tf);
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  ASSERT_EQ(port_->recv(buf), 74u);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin() + 10, buf.begin() + 74), tf);
}

TEST_F(VhostUserIT, EnableBeforeSetFeaturesIsKeptAsQemuSendsIt) {
  // QEMU 7.2: virtio-net's peer_attach sends SET_VRING_ENABLE 1 while the guest negotiates
  // features, before vhost_dev_start's SET_FEATURES; the enable state must survive until the
  // rings start.
  front_ = std::make_unique<Front>(path_, *port_);
  front_->init();
  for (std::uint32_t q = 0; q < 2; ++q) {
    front_->post(kSetVringEnable, state_payload(q, 1));
  }
  Front& f = *front_;
  f.post(kSetFeatures, u64_payload(kFullFeatures));
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {guest_.fd(), guest_.fd()}), 0u);
  for (std::uint32_t q = 0; q < 2; ++q) {
    f.post(kSetVringNum, state_payload(q, kQ));
    f.post(kSetVringBase, state_payload(q, 0));
    f.post(kSetVringAddr, f.addr_payload(guest_, q));
    f.post(kSetVringKick, u64_payload(q), {f.kick(q)});
    f.post(kSetVringCall, u64_payload(q), {f.call(q)});
  }
  EXPECT_TRUE(port_->connected());
  EXPECT_EQ(port_->stats().malformed, 0u);
}

TEST_F(VhostUserIT, GetVringBaseStopsTheRingAndARestartResumes) {
  auto& f = connect_and_start();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  for (int i = 0; i < 3; ++i) {
    guest_tx(guest_hdr(0, 0, 0, 0, 0, 0), test_frame(80, static_cast<std::uint8_t>(i)));
    port_->service();
    ASSERT_EQ(port_->recv(buf), 90u);
  }
  // vhost_virtqueue_stop: GET_VRING_BASE replies {index, next avail index}.
  f.send(kGetVringBase, state_payload(1, 0));
  auto r = f.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->request, kGetVringBase);
  ASSERT_EQ(r->payload.size(), 8u);
  std::uint32_t idx, num;
  std::memcpy(&idx, r->payload.data(), 4);
  std::memcpy(&num, r->payload.data() + 4, 4);
  EXPECT_EQ(idx, 1u);
  EXPECT_EQ(num, 3u);
  EXPECT_FALSE(port_->connected());
  // Stopped: a frame the guest queues now stays in the ring.
  guest_tx(guest_hdr(0, 0, 0, 0, 0, 0), test_frame(80, 7), 4096, false);
  port_->service();
  EXPECT_EQ(port_->recv(buf), 0u);
  EXPECT_EQ(guest_.used_idx(1), 3);
  // vhost_virtqueue_start again from the base QEMU got back.
  f.post(kSetVringNum, state_payload(1, kQ));
  f.post(kSetVringBase, state_payload(1, num));
  f.post(kSetVringAddr, f.addr_payload(guest_, 1));
  f.post(kSetVringKick, u64_payload(1), {f.kick(1)});
  EXPECT_TRUE(port_->connected());
  EXPECT_TRUE(readable(port_->fd(), 0)) << "frames queued while stopped must wake recv";
  port_->service();
  ASSERT_EQ(port_->recv(buf), 90u);
  EXPECT_EQ(buf[10], test_frame(80, 7)[0]);
  EXPECT_EQ(guest_.used_idx(1), 4);
}

TEST_F(VhostUserIT, ReconnectStartsOver) {
  connect_and_start();
  ASSERT_TRUE(port_->connected());
  // QEMU goes away (VM stopped): the port notices the hang-up and drops all guest state.
  front_->close_socket();
  for (int i = 0; i < 10 && port_->connected(); ++i) {
    port_->service();
  }
  EXPECT_FALSE(port_->connected());
  EXPECT_FALSE(port_->offloads().csum);
  io::VnetHdr h{};
  EXPECT_FALSE(port_->send(host_vnet(h, test_frame(60, 1))));
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  EXPECT_EQ(port_->recv(buf), 0u);
  // It comes back (reconnect=1): QEMU restored last_avail from the used index.
  guest_.reset();
  front_.reset();
  connect_and_start();
  EXPECT_TRUE(port_->connected());
  EXPECT_EQ(port_->stats().connects, 2u);
  guest_rx_buffers(2, 2048);
  EXPECT_TRUE(port_->send(host_vnet(h, test_frame(60, 1))));
  guest_tx(guest_hdr(0, 0, 0, 0, 0, 0), test_frame(70, 1));
  port_->service();
  EXPECT_EQ(port_->recv(buf), 80u);
  // A second connection while one is open replaces it: the old socket is closed.
  Front second{path_, *port_};
  EXPECT_EQ(port_->stats().connects, 3u);
  EXPECT_FALSE(port_->connected());
  ASSERT_TRUE(readable(front_->sock(), 200));
  char c;
  EXPECT_EQ(::recv(front_->sock(), &c, 1, MSG_DONTWAIT), 0) << "old connection must see EOF";
  second.init();
  second.start(guest_, kFullFeatures, guest_.used_idx(0), guest_.used_idx(1));
  EXPECT_TRUE(port_->connected());
}

TEST_F(VhostUserIT, MalformedTransmitChainsAreSkippedCountedAndReturned) {
  connect_and_start();
  const auto hdr = guest_hdr(0, 0, 0, 0, 0, 0);
  const std::uint64_t h = guest_.alloc(12, 0);
  std::memcpy(guest_.host(h), hdr.data(), 12);
  const std::uint64_t d = guest_.alloc(100, 0);
  // (a) buffer outside guest memory, (b) a device-writable descriptor in a transmit chain,
  // (c) a chain that loops on itself, (d) a head index beyond the ring, (e) too short for an
  // Ethernet header.
  guest_.post(1, {{h, 12, 0}, {0x7fff0000, 100, 0}});
  guest_.post(1, {{h, 12, 0}, {d, 100, kDescWrite}});
  const std::uint16_t loop = guest_.post(1, {{h, 12, 0}});
  guest_.write_desc(1, loop, h, 12, kDescNext, loop);
  guest_.push_avail(1, 300);
  guest_.post(1, {{h, 12, 0}, {d, 10, 0}});
  const auto good = test_frame(100, 8);
  guest_tx(hdr, good);
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  // The loop is read kMaxChainDescs (256) times before it is given up, which uses up one
  // call's budget (ring size, 256): recv() returns 0 and is called again, fd() readable.
  std::size_t n = 0;
  for (int i = 0; i < 5 && n == 0; ++i) {
    n = port_->recv(buf);
    if (n == 0) {
      EXPECT_TRUE(readable(port_->fd(), 0));
    }
  }
  ASSERT_EQ(n, 110u);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin() + 10, buf.begin() + 110), good);
  EXPECT_EQ(port_->stats().malformed, 5u);
  EXPECT_EQ(guest_.used_idx(1), 6) << "every chain goes back to the guest";
  // A frame bigger than the caller's buffer is skipped too.
  guest_tx(hdr, test_frame(3000, 1));
  port_->service();
  std::vector<std::uint8_t> small(1000);
  EXPECT_EQ(port_->recv(small), 0u);
  EXPECT_EQ(port_->stats().malformed, 6u);
  // The guest moving avail->idx more than a ring ahead breaks the ring (no crash, no loop).
  guest_.set_avail_idx(1, static_cast<std::uint16_t>(guest_.used_idx(1) + kQ + 5));
  EXPECT_EQ(port_->recv(buf), 0u);
  EXPECT_EQ(port_->stats().malformed, 7u);
  EXPECT_FALSE(port_->connected());
}

TEST_F(VhostUserIT, MalformedReceiveChainsAreSkippedAndTheNextBufferUsed) {
  connect_and_start();
  const std::uint64_t ro = guest_.alloc(2048, 0);
  guest_.post(0, {{ro, 2048, 0}});  // read-only buffer in the receive ring
  const std::uint64_t out = guest_.alloc(2048, 1);
  guest_.post(0, {{out, 0x7fffffff, kDescWrite}});  // runs past guest memory
  const auto bufs = guest_rx_buffers(1, 2048);
  io::VnetHdr h{};
  const auto frame = test_frame(500, 3);
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  EXPECT_EQ(port_->stats().malformed, 2u);
  ASSERT_EQ(guest_.used_idx(0), 3);
  EXPECT_EQ(guest_.used_elem(0, 0).second, 0u);
  EXPECT_EQ(guest_.used_elem(0, 1).second, 0u);
  EXPECT_EQ(guest_.used_elem(0, 2).second, 512u);
  EXPECT_EQ(std::vector<std::uint8_t>(guest_.host(bufs[0]) + 12, guest_.host(bufs[0]) + 512),
            frame);
}

TEST_F(VhostUserIT, MalformedMessagesGetErrorRepliesAndAreCounted) {
  auto& f = connect_and_start();
  const auto m0 = port_->stats().malformed;
  EXPECT_EQ(f.acked(kSetVringNum, state_payload(0, 1000)), 1u) << "not a power of two";
  EXPECT_EQ(f.acked(kSetVringNum, state_payload(0, 65536)), 1u) << "above 32768";
  EXPECT_EQ(f.acked(kSetVringNum, state_payload(5, 256)), 1u) << "no such queue";
  EXPECT_EQ(f.acked(kSetVringBase, {1, 2, 3}), 1u) << "payload too short";
  EXPECT_EQ(f.acked(kSetFeatures, u64_payload(kFullFeatures | bit(28))), 1u) << "not offered";
  EXPECT_EQ(f.acked(99, {}), 1u) << "unknown request";
  // Memory tables: fewer descriptors than regions; a region beyond its file.
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {guest_.fd()}), 1u);
  auto beyond = f.mem_table(guest_);
  const std::uint64_t huge = 64u << 20;
  std::memcpy(beyond.data() + 8 + 32 + 8, &huge, 8);
  EXPECT_EQ(f.acked(kSetMemTable, beyond, {guest_.fd(), guest_.fd()}), 1u);
  // Ring addresses outside guest memory.
  auto addr = f.addr_payload(guest_, 0);
  const std::uint64_t nowhere = 0x10;
  std::memcpy(addr.data() + 8, &nowhere, 8);
  EXPECT_EQ(f.acked(kSetVringAddr, addr), 1u);
  EXPECT_EQ(port_->stats().malformed, m0 + 9);
  // The connection survived and the old memory table still holds: frames still flow once the
  // ring is set up right again.
  EXPECT_EQ(f.get_u64(kGetFeatures), VhostUserPort::kFeatures);
  f.post(kSetVringAddr, f.addr_payload(guest_, 0));
  EXPECT_TRUE(port_->connected());
  guest_rx_buffers(1, 2048);
  io::VnetHdr h{};
  EXPECT_TRUE(port_->send(host_vnet(h, test_frame(60, 1))));
  // A header with a wrong version cannot be resynchronised: the connection is dropped.
  f.send(kGetFeatures, {}, {}, 0x2);
  port_->service();
  ASSERT_TRUE(readable(f.sock(), 200));
  char c;
  EXPECT_EQ(::recv(f.sock(), &c, 1, MSG_DONTWAIT), 0);
  EXPECT_FALSE(port_->connected());
  EXPECT_EQ(port_->stats().malformed, m0 + 10);
}

// ---- hostile guests and front ends ---------------------------------------------------------

TEST_F(VhostUserIT, ChainsOfMoreThan256DescriptorsAreMalformed) {
  // A ring of 1024: chain length is no longer bounded by the ring size alone.
  guest_.set_num(1, 1024);
  connect_and_start();
  const auto hdr = guest_hdr(0, 0, 0, 0, 0, 0);
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  // Header + 255 one-byte descriptors = 256: the most a chain may have.
  const auto at_limit = test_frame(255, 1);
  guest_tx(hdr, at_limit, 1);
  port_->service();
  ASSERT_EQ(port_->recv(buf), io::kVnetHdrLen + at_limit.size());
  EXPECT_TRUE(std::equal(at_limit.begin(), at_limit.end(), buf.begin() + 10));
  EXPECT_EQ(port_->stats().malformed, 0u);
  // 257 descriptors: skipped, counted, given back.
  guest_tx(hdr, test_frame(256, 2), 1);
  port_->service();
  EXPECT_EQ(port_->recv(buf), 0u);
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(guest_.used_idx(1), 2);
}

TEST_F(VhostUserIT, OneRecvReadsAtMostRingSizeDescriptors) {
  connect_and_start();  // ring of 256
  // One chain of 254 zero-length descriptors (0..253), made available 255 times, then a good
  // frame (descriptors 254, 255): without a budget one recv() reads 255 * 254 descriptors (a
  // 32768 ring: about 2^30).
  for (std::uint16_t i = 0; i < 254; ++i) {
    guest_.write_desc(1, i, 0x1000, 0, i + 1 < 254 ? kDescNext : 0,
                      static_cast<std::uint16_t>(i + 1));
  }
  for (int i = 0; i < 255; ++i) {
    guest_.push_avail(1, 0);
  }
  const auto hdr = guest_hdr(0, 0, 0, 0, 0, 0);
  const auto frame = test_frame(60, 5);
  const std::uint64_t h = guest_.alloc(12, 0), d = guest_.alloc(60, 1);
  std::memcpy(guest_.host(h), hdr.data(), 12);
  std::memcpy(guest_.host(d), frame.data(), 60);
  guest_.write_desc(1, 254, h, 12, kDescNext, 255);
  guest_.write_desc(1, 255, d, 60, 0, 0);
  guest_.push_avail(1, 254);
  port_->service();
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  EXPECT_EQ(port_->recv(buf), 0u) << "the budget (256 descriptors) ends the call";
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(guest_.used_idx(1), 1);
  EXPECT_TRUE(readable(port_->fd(), 0)) << "stopped on the budget: the fd must stay readable";
  // Every call gets past at least one bad chain, so the frame comes out.
  std::size_t n = 0;
  int calls = 1;
  for (; calls < 400 && n == 0; ++calls) {
    port_->service();
    n = port_->recv(buf);
  }
  ASSERT_EQ(n, 70u);
  EXPECT_GE(calls, 200) << "about one bad chain per call";
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin() + 10, buf.begin() + 70), frame);
  EXPECT_EQ(port_->stats().malformed, 255u);
  EXPECT_EQ(guest_.used_idx(1), 256);
  EXPECT_EQ(port_->recv(buf), 0u);
  port_->service();
  EXPECT_FALSE(readable(port_->fd(), 0));
}

TEST_F(VhostUserIT, OneSendReadsAtMostRingSizeDescriptors) {
  connect_and_start();  // ring of 256, MRG_RXBUF
  // A receive chain of 254 zero-length writable descriptors made available 255 times, then one
  // good 2048-byte buffer (descriptor 254).
  for (std::uint16_t i = 0; i < 254; ++i) {
    guest_.write_desc(0, i, 0x1000, 0,
                      static_cast<std::uint16_t>(kDescWrite | (i + 1 < 254 ? kDescNext : 0)),
                      static_cast<std::uint16_t>(i + 1));
  }
  for (int i = 0; i < 255; ++i) {
    guest_.push_avail(0, 0);
  }
  const std::uint64_t b = guest_.alloc(2048, 1);
  guest_.write_desc(0, 254, b, 2048, kDescWrite, 0);
  guest_.push_avail(0, 254);
  io::VnetHdr h{};
  const auto frame = test_frame(100, 6);
  EXPECT_FALSE(port_->send(host_vnet(h, frame))) << "the budget ends the call";
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(port_->stats().overruns, 1u);
  EXPECT_EQ(guest_.used_idx(0), 1);
  bool sent = false;
  int calls = 1;
  for (; calls < 400 && !sent; ++calls) {
    sent = port_->send(host_vnet(h, frame));
  }
  ASSERT_TRUE(sent);
  EXPECT_GE(calls, 200);
  EXPECT_EQ(port_->stats().malformed, 255u);
  ASSERT_EQ(guest_.used_idx(0), 256);
  EXPECT_EQ(guest_.used_elem(0, 255), (std::pair<std::uint32_t, std::uint32_t>{254, 112}));
  const std::uint8_t* p = guest_.host(b);
  EXPECT_EQ(p[10] | (p[11] << 8), 1) << "num_buffers";
  EXPECT_EQ(std::vector<std::uint8_t>(p + 12, p + 112), frame);
}

TEST_F(VhostUserIT, MergeableBuffersWithoutRoomForTheHeaderAreMalformed) {
  connect_and_start();  // MRG_RXBUF: 12-byte header
  const std::uint64_t z = guest_.alloc(16, 0);
  guest_.post(0, {{z, 0, kDescWrite}});  // no room at all
  guest_.post(0, {{z, 8, kDescWrite}});  // less than the header
  const auto bufs = guest_rx_buffers(1, 2048);
  const auto frame = test_frame(200, 7);
  io::VnetHdr h{};
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  EXPECT_EQ(port_->stats().malformed, 2u);
  ASSERT_EQ(guest_.used_idx(0), 3);
  EXPECT_EQ(guest_.used_elem(0, 0), (std::pair<std::uint32_t, std::uint32_t>{0, 0}));
  EXPECT_EQ(guest_.used_elem(0, 1), (std::pair<std::uint32_t, std::uint32_t>{1, 0}));
  EXPECT_EQ(guest_.used_elem(0, 2), (std::pair<std::uint32_t, std::uint32_t>{2, 212}));
  const std::uint8_t* p = guest_.host(bufs[0]);
  EXPECT_EQ(p[10] | (p[11] << 8), 1) << "num_buffers counts only the buffer used";
  EXPECT_EQ(std::vector<std::uint8_t>(p + 12, p + 212), frame);
}

TEST_F(VhostUserIT, ReceiveChainsWithoutCapacityAreMalformedNotOverruns) {
  // No MRG_RXBUF: one chain takes the whole frame. A chain of zero-length descriptors holds
  // nothing at all: given back and counted, not left at the head of the ring as "too small".
  connect_and_start(kFProtocol | kFVersion1);
  const std::uint64_t z = guest_.alloc(16, 0);
  guest_.post(0, {{z, 0, kDescWrite}, {z, 0, kDescWrite}, {z, 0, kDescWrite}});
  const auto bufs = guest_rx_buffers(1, 2048);
  io::VnetHdr h{};
  const auto frame = test_frame(300, 2);
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(port_->stats().overruns, 0u);
  ASSERT_EQ(guest_.used_idx(0), 2);
  EXPECT_EQ(guest_.used_elem(0, 0), (std::pair<std::uint32_t, std::uint32_t>{0, 0}));
  EXPECT_EQ(guest_.used_elem(0, 1), (std::pair<std::uint32_t, std::uint32_t>{3, 312}));
  EXPECT_EQ(std::vector<std::uint8_t>(guest_.host(bufs[0]) + 12, guest_.host(bufs[0]) + 312),
            frame);
}

TEST_F(VhostUserIT, TransmitHeadersAreSanitizedAndUnnegotiatedGsoIsMalformed) {
  // The guest acks CSUM and HOST_TSO4, not HOST_TSO6 or HOST_ECN.
  connect_and_start(kFCsum | kFGuestCsum | kFHostTso4 | kFMrgRxbuf | kFProtocol | kFVersion1);
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  const auto frame = test_frame(200, 1);
  auto next = [&]() -> std::optional<io::VnetHdr> {
    port_->service();
    if (port_->recv(buf) != io::kVnetHdrLen + frame.size()) {
      return std::nullopt;
    }
    io::VnetHdr h;
    std::memcpy(&h, buf.data(), sizeof h);
    return h;
  };
  // DATA_VALID (receive-only, virtio 1.x §5.1.6.2.1) and unknown flags are dropped.
  guest_tx(guest_hdr(io::kVnetFNeedsCsum | io::kVnetFDataValid | 0x40, 0, 0, 0, 34, 16), frame);
  auto h = next();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flags, io::kVnetFNeedsCsum);
  EXPECT_EQ(h->csum_start, 34);
  EXPECT_EQ(h->csum_offset, 16);
  // Checksum fields without NEEDS_CSUM, GSO fields without GSO: zeroed.
  guest_tx(guest_hdr(io::kVnetFDataValid, 0, 54, 1448, 34, 16), frame);
  h = next();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flags, 0);
  EXPECT_EQ(h->csum_start, 0);
  EXPECT_EQ(h->csum_offset, 0);
  EXPECT_EQ(h->hdr_len, 0);
  EXPECT_EQ(h->gso_size, 0);
  // TCPV4 was negotiated: passed on as is.
  guest_tx(guest_hdr(io::kVnetFNeedsCsum, io::kVnetGsoTcpv4, 54, 1448, 34, 16), frame);
  h = next();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->gso_type, io::kVnetGsoTcpv4);
  EXPECT_EQ(h->hdr_len, 54);
  EXPECT_EQ(h->gso_size, 1448);
  EXPECT_EQ(port_->stats().malformed, 0u);
  // TCPV6 (no HOST_TSO6), ECN (no HOST_ECN), UDP and UDP_L4 (never offered), ECN without GSO.
  for (const std::uint8_t gso :
       {io::kVnetGsoTcpv6, static_cast<std::uint8_t>(io::kVnetGsoTcpv4 | io::kVnetGsoEcn),
        io::kVnetGsoUdp, io::kVnetGsoUdpL4, io::kVnetGsoEcn}) {
    guest_tx(guest_hdr(io::kVnetFNeedsCsum, gso, 54, 1448, 34, 16), frame);
  }
  EXPECT_FALSE(next());
  EXPECT_EQ(port_->stats().malformed, 5u);
  EXPECT_EQ(guest_.used_idx(1), 8) << "every chain goes back to the guest";
}

TEST_F(VhostUserIT, NeedsCsumWithoutTheCsumFeatureIsMalformed) {
  connect_and_start(kFMrgRxbuf | kFProtocol | kFVersion1);
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  guest_tx(guest_hdr(io::kVnetFNeedsCsum, 0, 0, 0, 34, 16), test_frame(100, 1));
  guest_tx(guest_hdr(0, 0, 0, 0, 0, 0), test_frame(100, 2));
  port_->service();
  ASSERT_EQ(port_->recv(buf), 110u);
  EXPECT_EQ(buf[10], test_frame(100, 2)[0]);
  EXPECT_EQ(port_->stats().malformed, 1u);
}

TEST_F(VhostUserIT, DescriptorsPilingUpAcrossPartialReadsDropTheConnection) {
  Front f{path_, *port_};
  const int efd = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  const int base = open_fds();
  // A GET_FEATURES header one byte at a time, three descriptors with each byte: the third
  // byte brings the ninth, more than any message carries (8, SET_MEM_TABLE).
  const std::uint8_t hdr[12] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(f.send_raw(hdr + i, 1, {efd, efd, efd}), 1);
    port_->service();
  }
  EXPECT_TRUE(f.closed_by_port()) << "the port must hang up instead of collecting descriptors";
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(open_fds(), base - 1) << "the connection and the 9 descriptors it got are closed";
  ::close(efd);
}

TEST_F(VhostUserIT, TruncatedDescriptorsDropTheConnection) {
  Front f{path_, *port_};
  const int efd = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  const int base = open_fds();
  // GET_FEATURES with ten descriptors in one message: the port's buffer takes eight
  // (MSG_CTRUNC), so it cannot know what the message meant.
  const std::uint8_t hdr[12] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_EQ(f.send_raw(hdr, sizeof hdr, std::vector<int>(10, efd)), 12);
  port_->service();
  EXPECT_TRUE(f.closed_by_port()) << "no reply: the connection is dropped";
  EXPECT_EQ(port_->stats().malformed, 1u);
  EXPECT_EQ(open_fds(), base - 1) << "the connection and the 8 descriptors it got are closed";
  ::close(efd);
}

TEST_F(VhostUserIT, MemoryMustBeASealedMemfdOrAFileThatCannotBeSealed) {
  auto& f = connect_and_start();
  const auto m0 = port_->stats().malformed;
  // A memfd without MFD_ALLOW_SEALING (QEMU seal=off): the front end could shrink it under our
  // mapping (SIGBUS).
  const int plain = ::memfd_create("plain", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(plain, kRamSize), 0);
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {plain, plain}), 1u);
  // Sealable, sealed against growing only.
  const int grow = ::memfd_create("grow", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(::ftruncate(grow, kRamSize), 0);
  ASSERT_EQ(::fcntl(grow, F_ADD_SEALS, F_SEAL_GROW), 0);
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {grow, grow}), 1u);
  EXPECT_EQ(port_->stats().malformed, m0 + 2);
  EXPECT_TRUE(port_->connected()) << "the old table still holds";
  // A file (QEMU memory-backend-file) can never be sealed: accepted (the documented limit).
  const std::string path = dir_ + "/ram";
  const int file = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0);
  ASSERT_EQ(::ftruncate(file, kRamSize), 0);
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {file, file}), 0u);
  // The guest's sealed memfd again: frames flow.
  EXPECT_EQ(f.acked(kSetMemTable, f.mem_table(guest_), {guest_.fd(), guest_.fd()}), 0u);
  EXPECT_EQ(port_->stats().malformed, m0 + 2);
  const auto bufs = guest_rx_buffers(1, 2048);
  io::VnetHdr h{};
  const auto frame = test_frame(60, 4);
  ASSERT_TRUE(port_->send(host_vnet(h, frame)));
  EXPECT_EQ(std::vector<std::uint8_t>(guest_.host(bufs[0]) + 12, guest_.host(bufs[0]) + 72), frame);
  ::close(plain);
  ::close(grow);
  ::close(file);
  ::unlink(path.c_str());
}

TEST_F(VhostUserIT, KickAndCallMustBeEventfdsAndAreMadeNonBlocking) {
  auto& f = connect_and_start();
  const auto m0 = port_->stats().malformed;
  // A pipe as call fd: a full pipe would block the datapath's write.
  int pfd[2];
  ASSERT_EQ(::pipe2(pfd, O_CLOEXEC), 0);
  EXPECT_EQ(f.acked(kSetVringCall, u64_payload(0), {pfd[1]}), 1u);
  // A socket as kick fd: at EOF it would be readable forever.
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  EXPECT_EQ(f.acked(kSetVringKick, u64_payload(1), {sp[0]}), 1u);
  EXPECT_EQ(port_->stats().malformed, m0 + 2);
  // Rejected: the rings keep what they had.
  EXPECT_TRUE(port_->connected());
  guest_rx_buffers(1, 2048);
  io::VnetHdr h{};
  ASSERT_TRUE(port_->send(host_vnet(h, test_frame(60, 1))));
  port_->flush();
  EXPECT_TRUE(readable(f.call(0), 0)) << "the old call eventfd is still signalled";
  EXPECT_FALSE(readable(pfd[0], 0));
  // A blocking eventfd is taken and made non-blocking (its read must never block us).
  const int blocking = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(blocking, 0);
  EXPECT_EQ(f.acked(kSetVringKick, u64_payload(1), {blocking}), 0u);
  EXPECT_NE(::fcntl(blocking, F_GETFL) & O_NONBLOCK, 0);
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  port_->service();
  EXPECT_EQ(port_->recv(buf), 0u);
  EXPECT_FALSE(readable(port_->fd(), 0));
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(blocking, &one, 8), 8);
  EXPECT_TRUE(readable(port_->fd(), 200)) << "kicks through it wake the port";
  port_->service();
  EXPECT_FALSE(readable(port_->fd(), 0)) << "the kick was drained";
  for (int fd : {pfd[0], pfd[1], sp[0], sp[1], blocking}) {
    ::close(fd);
  }
}

TEST_F(VhostUserIT, AcceptOutOfDescriptorsPausesTheListenerInsteadOfSpinning) {
  // A front end connects (queued in the backlog) while this process has no descriptor left.
  const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(c, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path_.data(), path_.size());
  ASSERT_EQ(::connect(c, reinterpret_cast<const sockaddr*>(&sun), sizeof sun), 0);
  int highest = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      highest = std::max(highest, std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(highest) + 1;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fill;
  for (int i = 0; i < 4096; ++i) {
    const int fd = ::dup(c);
    if (fd < 0) {
      break;
    }
    fill.push_back(fd);
  }
  const bool full = ::dup(c) < 0 && errno == EMFILE;
  EXPECT_TRUE(readable(port_->fd(), 0));
  port_->service();  // accept4: EMFILE
  const bool quiet = !readable(port_->fd(), 0);
  for (int fd : fill) {
    ::close(fd);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(full);
  EXPECT_TRUE(quiet) << "a listener left in the set stays readable: the datapath would spin";
  EXPECT_EQ(port_->stats().connects, 0u);
  // The retry timer puts the listener back; the queued connection is accepted then.
  for (int i = 0; i < 10 && port_->stats().connects == 0; ++i) {
    readable(port_->fd(), 500);
    port_->service();
  }
  EXPECT_EQ(port_->stats().connects, 1u);
  ::close(c);
}

}  // namespace
}  // namespace subnic::test
