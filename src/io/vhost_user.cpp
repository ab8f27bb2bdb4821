// VhostUserPort: vhost-user control messages, guest memory mapping, split virtqueues.
#include "io/vhost_user.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace subnic::io {
namespace {

static_assert(std::endian::native == std::endian::little ||
              std::endian::native == std::endian::big);

// vhost-user.rst "Message types" (front-end requests).
enum Request : std::uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetLogBase = 6,
  kSetLogFd = 7,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kSetVringErr = 14,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kResetDevice = 34,
};

constexpr std::uint32_t kVersion = 0x1;
constexpr std::uint32_t kVersionMask = 0x3;
constexpr std::uint32_t kReplyFlag = 0x4;
constexpr std::uint32_t kNeedReplyFlag = 0x8;
constexpr std::uint64_t kVringIdxMask = 0xff;
constexpr std::uint64_t kVringNoFdMask = 0x100;
constexpr std::size_t kHdrSize = 12;
constexpr int kMaxMessagesPerService = 64;

// Feature bits (virtio 1.x §5.1.3, §6; vhost-user.rst).
constexpr unsigned kFCsum = 0, kFGuestCsum = 1, kFGuestTso4 = 7, kFGuestTso6 = 8, kFGuestEcn = 9,
                   kFHostTso4 = 11, kFHostTso6 = 12, kFHostEcn = 13, kFMrgRxbuf = 15,
                   kFProtocolFeatures = 30, kFVersion1 = 32;
constexpr unsigned kPfReplyAck = 3;

constexpr std::uint64_t bit(unsigned b) {
  return std::uint64_t{1} << b;
}

// Split virtqueue layout (virtio 1.x §2.7.5 "The Virtqueue Descriptor Table", §2.7.6, §2.7.8).
constexpr std::uint16_t kDescFNext = 1, kDescFWrite = 2, kDescFIndirect = 4;
constexpr std::uint16_t kAvailFNoInterrupt = 1;
constexpr std::size_t kDescSize = 16;

// Epoll keys.
constexpr std::uint64_t kKeyListen = 1, kKeyConn = 2, kKeyWake = 3, kKeyRetry = 4, kKeyKick0 = 10;

// How long the listener stays out of the epoll set after accept4 ran out of descriptors.
constexpr long kAcceptRetryNs = 250'000'000;

constexpr std::uint8_t kOffCsum = 1, kOffTso4 = 2, kOffTso6 = 4, kOffEcn = 8;

// Little-endian loads and stores on possibly unaligned guest or message memory.
std::uint16_t ld16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t ld32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}
std::uint64_t ld64(const std::uint8_t* p) {
  return std::uint64_t{ld32(p)} | (std::uint64_t{ld32(p + 4)} << 32);
}
void st16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
void st32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}
void st64(std::uint8_t* p, std::uint64_t v) {
  st32(p, static_cast<std::uint32_t>(v));
  st32(p + 4, static_cast<std::uint32_t>(v >> 32));
}

std::uint16_t bswap16(std::uint16_t v) {
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

// The ring indexes the guest reads and writes concurrently: 16-bit atomics (alignment checked
// when the ring is resolved), little endian.
std::uint16_t load_idx(std::uint8_t* p) {
  const std::uint16_t v = std::atomic_ref<std::uint16_t>{*reinterpret_cast<std::uint16_t*>(p)}.load(
      std::memory_order_acquire);
  return std::endian::native == std::endian::little ? v : bswap16(v);
}
void store_idx(std::uint8_t* p, std::uint16_t v) {
  const std::uint16_t le = std::endian::native == std::endian::little ? v : bswap16(v);
  std::atomic_ref<std::uint16_t>{*reinterpret_cast<std::uint16_t*>(p)}.store(
      le, std::memory_order_release);
}

// Where /proc/self/fd/FD points ("" if it cannot be read: no /proc).
std::string fd_link(int fd) {
  char buf[256];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf);
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf
             ? std::string(buf, static_cast<std::size_t>(n))
             : std::string{};
}

// An eventfd (fs/eventfd.c names its anonymous inode "[eventfd]"), made non-blocking so a read
// of a zero counter or a write of a full one never blocks the datapath. False for anything else.
bool take_eventfd(int fd) {
  if (fd_link(fd) != "anon_inode:[eventfd]") {
    return false;
  }
  const int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ((fl & O_NONBLOCK) != 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

// Whether a memory region fd is safe from a front end shrinking it under our mapping (a shrunk
// file makes our next access to the lost pages SIGBUS). A memfd (mm/memfd.c; its link reads
// "/memfd:NAME (deleted)") must carry F_SEAL_SHRINK, as QEMU's memory-backend-memfd sets by
// default (seal=on: F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL). Other files are accepted: most
// filesystems have no seals, and tmpfs/hugetlbfs files (QEMU memory-backend-file) start with
// F_SEAL_SEAL and can never be sealed.
bool region_fd_ok(int fd) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) != 0) {
    return true;
  }
  return fd_link(fd).rfind("/memfd:", 0) != 0;
}

}  // namespace

const std::uint64_t VhostUserPort::kFeatures =
    bit(kFCsum) | bit(kFGuestCsum) | bit(kFGuestTso4) | bit(kFGuestTso6) | bit(kFGuestEcn) |
    bit(kFHostTso4) | bit(kFHostTso6) | bit(kFHostEcn) | bit(kFMrgRxbuf) | bit(kFProtocolFeatures) |
    bit(kFVersion1);
const std::uint64_t VhostUserPort::kProtocolFeatures = bit(kPfReplyAck);

struct VhostUserPort::Region {
  std::uint64_t gpa = 0, size = 0, uva = 0;
  std::uint8_t* host = nullptr;  // guest byte at gpa
  void* map = nullptr;
  std::size_t map_len = 0;
};

struct VhostUserPort::Vring {
  std::uint32_t num = 0;
  bool addr_set = false;
  std::uint64_t desc_uva = 0, avail_uva = 0, used_uva = 0;
  std::uint8_t* desc = nullptr;
  std::uint8_t* avail = nullptr;
  std::uint8_t* used = nullptr;
  std::uint16_t last_avail = 0;  // next avail entry we take
  std::uint16_t used_idx = 0;    // next used entry we fill
  bool started = false, enabled = false, broken = false, need_call = false;
  sys::UniqueFd kick, call;
};

VhostUserPort::VhostUserPort(std::string path, sys::UniqueFd listener, sys::UniqueFd epoll,
                             sys::UniqueFd wake, sys::UniqueFd retry)
    : path_{std::move(path)},
      listener_{std::move(listener)},
      epoll_{std::move(epoll)},
      wake_{std::move(wake)},
      retry_{std::move(retry)},
      rings_{new Vring[2]} {}

VhostUserPort::~VhostUserPort() {
  unmap_all();
}

Result<std::unique_ptr<VhostUserPort>> VhostUserPort::listen(std::string path) {
  auto ls = listen_unix(path, 1, "vhost-user");
  if (!ls) {
    return tl::unexpected(ls.error());
  }
  sys::UniqueFd sock = std::move(*ls);
  sys::UniqueFd ep{::epoll_create1(EPOLL_CLOEXEC)};
  if (!ep) {
    return sys::sys_error("epoll_create1");
  }
  sys::UniqueFd wake{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!wake) {
    return sys::sys_error("eventfd");
  }
  sys::UniqueFd retry{::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)};
  if (!retry) {
    return sys::sys_error("timerfd_create");
  }
  for (auto [fd, key] : {std::pair{sock.get(), kKeyListen}, std::pair{wake.get(), kKeyWake},
                         std::pair{retry.get(), kKeyRetry}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
      return sys::sys_error("epoll_ctl add");
    }
  }
  return std::unique_ptr<VhostUserPort>{new VhostUserPort{
      std::move(path), std::move(sock), std::move(ep), std::move(wake), std::move(retry)}};
}

// ---- plumbing ------------------------------------------------------------------------------

void VhostUserPort::log(const std::string& line) const {
  if (log_) {
    log_("vhost-user " + path_ + ": " + line);
  }
}

void VhostUserPort::watch(int fd, std::uint64_t key) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    log("epoll_ctl add: " + sys::errno_text(errno));
  }
}

void VhostUserPort::unwatch(int fd) {
  if (fd >= 0) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  }
}

void VhostUserPort::arm_wake() {
  if (!wake_armed_) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
    wake_armed_ = true;
  }
}

void VhostUserPort::clear_wake() {
  if (wake_armed_) {
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(wake_.get(), &v, sizeof v);
    wake_armed_ = false;
  }
}

GuestOffloads VhostUserPort::offloads() const {
  const std::uint8_t o = offloads_.load(std::memory_order_relaxed);
  GuestOffloads g;
  g.csum = (o & kOffCsum) != 0;
  g.tso4 = (o & kOffTso4) != 0;
  g.tso6 = (o & kOffTso6) != 0;
  g.tso_ecn = (o & kOffEcn) != 0;
  return g;
}

void VhostUserPort::update_connected() {
  connected_.store(ring_live(rings_[0]) && ring_live(rings_[1]), std::memory_order_relaxed);
}

// ---- connection ----------------------------------------------------------------------------

void VhostUserPort::service() {
  std::array<epoll_event, 8> evs;
  const int n = ::epoll_wait(epoll_.get(), evs.data(), static_cast<int>(evs.size()), 0);
  for (int i = 0; i < n; ++i) {
    const std::uint64_t key = evs[static_cast<std::size_t>(i)].data.u64;
    if (key == kKeyListen) {
      accept_conn();
    } else if (key == kKeyConn) {
      read_messages();
    } else if (key == kKeyKick0 || key == kKeyKick0 + 1) {
      drain_kick(static_cast<std::uint32_t>(key - kKeyKick0));
    } else if (key == kKeyRetry) {
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(retry_.get(), &v, sizeof v);
      resume_accept();
    }
    // kKeyWake: recv() has frames; it clears the eventfd itself.
  }
}

void VhostUserPort::accept_conn() {
  // Bounded: the backlog is 1; whatever is left stays readable for the next service().
  for (int i = 0; i < 4; ++i) {
    sys::UniqueFd c{::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
    if (!c) {
      const int e = errno;
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        // The connection stays queued and the listener readable: watching it now would spin.
        pause_accept(e);
      } else if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
        log("accept: " + sys::errno_text(e));
      }
      return;
    }
    // A peer that hung up before sending anything is no front end: io::listen_unix probing
    // whether PATH is live (connect, close) must not cost the current guest its connection.
    char b;
    if (::recv(c.get(), &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
      continue;
    }
    if (conn_) {
      drop_conn("replaced by a new connection");
    }
    conn_ = std::move(c);
    watch(conn_.get(), kKeyConn);
    connects_.fetch_add(1, std::memory_order_relaxed);
    log("front end connected");
  }
}

void VhostUserPort::pause_accept(int err) {
  if (!accepting_) {
    return;
  }
  log("accept: " + sys::errno_text(err) + "; listener paused");
  unwatch(listener_.get());
  accepting_ = false;
  itimerspec t{};
  t.it_value.tv_nsec = kAcceptRetryNs;
  ::timerfd_settime(retry_.get(), 0, &t, nullptr);
}

void VhostUserPort::resume_accept() {
  if (accepting_) {
    return;
  }
  const itimerspec off{};
  ::timerfd_settime(retry_.get(), 0, &off, nullptr);
  watch(listener_.get(), kKeyListen);
  accepting_ = true;
}

void VhostUserPort::drop_conn(const char* why) {
  log(std::string{"connection closed: "} + why);
  unwatch(conn_.get());
  conn_.reset();
  hdr_got_ = 0;
  payload_.clear();
  payload_got_ = 0;
  msg_fds_.clear();
  acked_protocol_ = 0;
  reset_device();
  resume_accept();  // descriptors were just freed
}

// Everything a connection set up: features, memory, rings (vhost-user.rst: a new connection
// starts from scratch; RESET_OWNER does the same for the device state).
void VhostUserPort::reset_device() {
  for (std::uint32_t q = 0; q < 2; ++q) {
    Vring& vr = rings_[q];
    unwatch(vr.kick.get());
    vr = Vring{};
  }
  unmap_all();
  acked_features_ = 0;
  guest_hdr_len_ = 10;
  offloads_.store(0, std::memory_order_relaxed);
  clear_wake();
  update_connected();
}

void VhostUserPort::unmap_all() {
  for (auto& r : regions_) {
    if (r.map != nullptr) {
      ::munmap(r.map, r.map_len);
    }
  }
  regions_.clear();
}

void VhostUserPort::read_messages() {
  for (int m = 0; m < kMaxMessagesPerService && conn_; ++m) {
    // Read the header, then the payload, each with its exact remaining length, so descriptors
    // (sent with a message's first byte) always attach to the message they came with.
    const bool in_hdr = hdr_got_ < kHdrSize;
    std::uint8_t* dst = in_hdr ? hdr_buf_ + hdr_got_ : payload_.data() + payload_got_;
    const std::size_t want = in_hdr ? kHdrSize - hdr_got_ : payload_.size() - payload_got_;
    if (want > 0) {
      iovec iov{dst, want};
      alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxRegions)> ctrl{};
      msghdr mh{};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctrl.data();
      mh.msg_controllen = ctrl.size();
      const ssize_t got = ::recvmsg(conn_.get(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
      }
      if (got <= 0) {
        drop_conn(got == 0 ? "hang-up" : "read error");
        return;
      }
      for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          const std::size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (std::size_t k = 0; k < nfd; ++k) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
            msg_fds_.emplace_back(fd);
          }
        }
      }
      // No message carries more than kMaxRegions descriptors (SET_MEM_TABLE); more, over one
      // or several reads, would otherwise pile up in msg_fds_ until the message completes.
      if ((mh.msg_flags & MSG_CTRUNC) != 0 || msg_fds_.size() > kMaxRegions) {
        count_malformed();
        drop_conn((mh.msg_flags & MSG_CTRUNC) != 0 ? "control message truncated"
                                                   : "more descriptors than a message carries");
        return;
      }
      if (in_hdr) {
        hdr_got_ += static_cast<std::size_t>(got);
        if (hdr_got_ < kHdrSize) {
          continue;
        }
        msg_request_ = ld32(hdr_buf_);
        msg_flags_ = ld32(hdr_buf_ + 4);
        const std::uint32_t size = ld32(hdr_buf_ + 8);
        if ((msg_flags_ & kVersionMask) != kVersion || size > kMaxPayload) {
          count_malformed();
          drop_conn("bad message header (version or size)");
          return;
        }
        payload_.assign(size, 0);
        payload_got_ = 0;
        if (size > 0) {
          continue;
        }
      } else {
        payload_got_ += static_cast<std::size_t>(got);
        if (payload_got_ < payload_.size()) {
          continue;
        }
      }
    }
    const bool keep = handle_message();
    hdr_got_ = 0;
    payload_.clear();
    payload_got_ = 0;
    msg_fds_.clear();
    if (!keep) {
      drop_conn("protocol error");
      return;
    }
  }
}

bool VhostUserPort::reply(std::uint32_t request, const void* payload, std::uint32_t size) {
  std::array<std::uint8_t, kHdrSize + 64> out{};
  if (size > out.size() - kHdrSize) {
    return false;
  }
  st32(out.data(), request);
  st32(out.data() + 4, kVersion | kReplyFlag);
  st32(out.data() + 8, size);
  std::memcpy(out.data() + kHdrSize, payload, size);
  const std::size_t len = kHdrSize + size;
  const ssize_t n = ::send(conn_.get(), out.data(), len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(len)) {
    log("reply to request " + std::to_string(request) + " not sent");
    return false;
  }
  return true;
}

bool VhostUserPort::reply_u64(std::uint32_t request, std::uint64_t value) {
  std::uint8_t p[8];
  st64(p, value);
  return reply(request, p, sizeof p);
}

// ---- control messages (vhost-user.rst "Front-end message types") ---------------------------

bool VhostUserPort::handle_message() {
  const std::uint32_t req = msg_request_;
  const std::uint8_t* p = payload_.data();
  const std::size_t size = payload_.size();
  bool ok = true;          // for REPLY_ACK
  bool has_reply = false;  // the message type has its own reply
  auto need = [&](std::size_t n) {
    if (size < n) {
      log("request " + std::to_string(req) + ": payload of " + std::to_string(size) +
          " bytes, need " + std::to_string(n));
      count_malformed();
      ok = false;
      return false;
    }
    return true;
  };
  auto ring_index = [&](std::uint64_t idx) -> Vring* {
    if (idx >= 2) {
      log("request " + std::to_string(req) + ": no queue " + std::to_string(idx));
      count_malformed();
      ok = false;
      return nullptr;
    }
    return &rings_[idx];
  };

  switch (req) {
    case kGetFeatures:
      has_reply = true;
      if (!reply_u64(req, kFeatures)) {
        return false;
      }
      break;
    case kSetFeatures:
      if (need(8)) {
        const std::uint64_t f = ld64(p);
        if ((f & ~kFeatures) != 0) {
          log("SET_FEATURES with bits not offered");
          count_malformed();
          ok = false;
        }
        acked_features_ = f & kFeatures;
        guest_hdr_len_ = (acked_features_ & (bit(kFVersion1) | bit(kFMrgRxbuf))) != 0 ? 12 : 10;
        std::uint8_t o = 0;
        o |= (acked_features_ & bit(kFGuestCsum)) != 0 ? kOffCsum : 0;
        o |= (acked_features_ & bit(kFGuestTso4)) != 0 ? kOffTso4 : 0;
        o |= (acked_features_ & bit(kFGuestTso6)) != 0 ? kOffTso6 : 0;
        o |= (acked_features_ & bit(kFGuestEcn)) != 0 ? kOffEcn : 0;
        offloads_.store(o, std::memory_order_relaxed);
        // "Ring states": without PROTOCOL_FEATURES the rings are enabled from the start.
        if ((acked_features_ & bit(kFProtocolFeatures)) == 0) {
          rings_[0].enabled = rings_[1].enabled = true;
        }
      }
      break;
    case kGetProtocolFeatures:
      has_reply = true;
      if (!reply_u64(req, kProtocolFeatures)) {
        return false;
      }
      break;
    case kSetProtocolFeatures:
      if (need(8)) {
        acked_protocol_ = ld64(p) & kProtocolFeatures;
      }
      break;
    case kSetOwner:
      break;
    case kResetOwner:
    case kResetDevice:
      reset_device();
      break;
    case kSetMemTable:
      ok = set_mem_table();
      break;
    case kSetVringNum:
      if (need(8)) {
        if (Vring* vr = ring_index(ld32(p))) {
          const std::uint32_t num = ld32(p + 4);
          if (num == 0 || num > kMaxRingSize || !std::has_single_bit(num)) {
            log("SET_VRING_NUM " + std::to_string(num) + ": not a power of two <= 32768");
            count_malformed();
            ok = false;
          } else {
            vr->num = num;
            vr->desc = vr->avail = vr->used = nullptr;
            resolve_ring(*vr);
          }
        }
      }
      break;
    case kSetVringAddr:
      if (need(40)) {
        if (Vring* vr = ring_index(ld32(p))) {
          // flags (p + 4): VHOST_VRING_F_LOG; we offered no logging, nothing to do.
          vr->desc_uva = ld64(p + 8);
          vr->used_uva = ld64(p + 16);
          vr->avail_uva = ld64(p + 24);
          vr->addr_set = true;
          if (vr->num != 0 && !regions_.empty() && !resolve_ring(*vr)) {
            ok = false;
          }
        }
      }
      break;
    case kSetVringBase:
      if (need(8)) {
        if (Vring* vr = ring_index(ld32(p))) {
          vr->last_avail = static_cast<std::uint16_t>(ld32(p + 4));
        }
      }
      break;
    case kGetVringBase:
      has_reply = true;
      if (need(8)) {
        const std::uint32_t idx = ld32(p);
        std::uint8_t out[8];
        st32(out, idx);
        st32(out + 4, 0);
        if (Vring* vr = ring_index(idx)) {
          // "Ring states": GET_VRING_BASE stops the ring. Signal what is pending first.
          if (vr->need_call && vr->call) {
            const std::uint64_t one = 1;
            [[maybe_unused]] auto n = ::write(vr->call.get(), &one, sizeof one);
          }
          vr->need_call = false;
          vr->started = false;
          unwatch(vr->kick.get());
          vr->kick.reset();
          st32(out + 4, vr->last_avail);
          update_connected();
        }
        if (!reply(req, out, sizeof out)) {
          return false;
        }
      } else {
        // A reply is still owed or QEMU waits forever.
        std::uint8_t out[8] = {};
        if (!reply(req, out, sizeof out)) {
          return false;
        }
      }
      break;
    case kSetVringKick:
    case kSetVringCall:
    case kSetVringErr:
      if (need(8)) {
        const std::uint64_t v = ld64(p);
        const bool nofd = (v & kVringNoFdMask) != 0;
        sys::UniqueFd fd;
        if (!nofd) {
          if (msg_fds_.size() != 1) {
            log("request " + std::to_string(req) + " without its descriptor");
            count_malformed();
            ok = false;
            break;
          }
          fd = std::move(msg_fds_[0]);
          if (req != kSetVringErr && !take_eventfd(fd.get())) {
            log("request " + std::to_string(req) + ": descriptor is not an eventfd");
            count_malformed();
            ok = false;
            break;
          }
        }
        Vring* vr = ring_index(v & kVringIdxMask);
        if (vr == nullptr) {
          break;
        }
        const auto q = static_cast<std::uint32_t>(v & kVringIdxMask);
        if (req == kSetVringKick) {
          unwatch(vr->kick.get());
          vr->kick = std::move(fd);
          if (vr->kick) {
            watch(vr->kick.get(), kKeyKick0 + q);
          }
          start_ring(*vr, q);
        } else if (req == kSetVringCall) {
          vr->call = std::move(fd);
        }
        // SET_VRING_ERR: we never report ring errors; the descriptor is closed.
      }
      break;
    case kGetQueueNum:
      has_reply = true;
      if (!reply_u64(req, 1)) {
        return false;
      }
      break;
    case kSetVringEnable:
      // Accepted whenever it comes: QEMU 7.2 sends it from virtio-net's peer_attach while the
      // guest negotiates features, before SET_FEATURES (hw/net/vhost_net.c
      // vhost_set_vring_enable), and again after vhost_dev_start. "Ring states": the enable
      // state is kept while the ring is stopped.
      if (need(8)) {
        if (Vring* vr = ring_index(ld32(p))) {
          vr->enabled = ld32(p + 4) != 0;
          if (vr->enabled && vr == &rings_[1]) {
            arm_wake();  // frames the guest queued before: let recv() look
          }
        }
      }
      break;
    case kSetLogBase:
    case kSetLogFd:
      // Not offered (no LOG_ALL / LOG_SHMFD): nothing to log into.
      log("request " + std::to_string(req) + " ignored: logging not offered");
      ok = false;
      break;
    default:
      log("unknown request " + std::to_string(req) + " ignored");
      count_malformed();
      ok = false;
      break;
  }
  update_connected();
  // vhost-user.rst "REPLY_ACK": a u64 status (0 = success) for requests without a reply of
  // their own that carry need_reply.
  if (!has_reply && (acked_protocol_ & bit(kPfReplyAck)) != 0 &&
      (msg_flags_ & kNeedReplyFlag) != 0) {
    return reply_u64(req, ok ? 0 : 1);
  }
  return true;
}

bool VhostUserPort::set_mem_table() {
  const std::uint8_t* p = payload_.data();
  const std::size_t size = payload_.size();
  if (size < 8) {
    count_malformed();
    return false;
  }
  const std::uint32_t n = ld32(p);
  if (n == 0 || n > kMaxRegions || size < 8 + std::size_t{n} * 32 || msg_fds_.size() != n) {
    log("SET_MEM_TABLE: " + std::to_string(n) + " regions, " + std::to_string(msg_fds_.size()) +
        " descriptors, " + std::to_string(size) + " bytes");
    count_malformed();
    return false;
  }
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<Region> fresh;
  auto undo = [&] {
    for (auto& r : fresh) {
      ::munmap(r.map, r.map_len);
    }
    count_malformed();
    return false;
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint8_t* r = p + 8 + std::size_t{i} * 32;
    Region reg;
    reg.gpa = ld64(r);
    reg.size = ld64(r + 8);
    reg.uva = ld64(r + 16);
    const std::uint64_t off = ld64(r + 24);
    if (!region_fd_ok(msg_fds_[i].get())) {
      log("SET_MEM_TABLE: region " + std::to_string(i) + " is a memfd without F_SEAL_SHRINK");
      return undo();
    }
    // After the seal check: a sealed file cannot shrink below what fstat reports now.
    struct stat st {};
    if (reg.size == 0 || reg.gpa + reg.size < reg.gpa || reg.uva + reg.size < reg.uva ||
        off + reg.size < off || ::fstat(msg_fds_[i].get(), &st) < 0 ||
        static_cast<std::uint64_t>(st.st_size) < off + reg.size) {
      log("SET_MEM_TABLE: region " + std::to_string(i) + " is invalid or beyond its file");
      return undo();
    }
    const std::uint64_t len = (off + reg.size + static_cast<std::uint64_t>(page) - 1) &
                              ~static_cast<std::uint64_t>(page - 1);
    void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, msg_fds_[i].get(), 0);
    if (m == MAP_FAILED) {
      log("SET_MEM_TABLE: mmap: " + sys::errno_text(errno));
      return undo();
    }
    reg.map = m;
    reg.map_len = len;
    reg.host = static_cast<std::uint8_t*>(m) + off;
    fresh.push_back(reg);
  }
  unmap_all();
  regions_ = std::move(fresh);
  // Ring pointers point into the old mappings: translate again (vhost-user.rst: the table may
  // change while rings run).
  for (std::uint32_t q = 0; q < 2; ++q) {
    rings_[q].desc = rings_[q].avail = rings_[q].used = nullptr;
    if (rings_[q].num != 0 && rings_[q].addr_set) {
      resolve_ring(rings_[q]);
    }
  }
  return true;
}

std::uint8_t* VhostUserPort::gpa_to_host(std::uint64_t gpa, std::uint64_t len) const {
  for (const auto& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa < r.size && len <= r.size - (gpa - r.gpa)) {
      return r.host + (gpa - r.gpa);
    }
  }
  return nullptr;
}

std::uint8_t* VhostUserPort::uva_to_host(std::uint64_t uva, std::uint64_t len) const {
  for (const auto& r : regions_) {
    if (uva >= r.uva && uva - r.uva < r.size && len <= r.size - (uva - r.uva)) {
      return r.host + (uva - r.uva);
    }
  }
  return nullptr;
}

template <class Fn>
bool VhostUserPort::for_each_piece(std::uint64_t gpa, std::uint64_t len, Fn&& fn) const {
  // Bounded by the region count: each step consumes the rest of one region.
  for (std::size_t step = 0; len > 0 && step <= regions_.size(); ++step) {
    const Region* hit = nullptr;
    for (const auto& r : regions_) {
      if (gpa >= r.gpa && gpa - r.gpa < r.size) {
        hit = &r;
        break;
      }
    }
    if (hit == nullptr) {
      return false;
    }
    const auto here = static_cast<std::size_t>(std::min(len, hit->size - (gpa - hit->gpa)));
    fn(hit->host + (gpa - hit->gpa), here);
    gpa += here;
    len -= here;
  }
  return len == 0;
}

bool VhostUserPort::gpa_range_ok(std::uint64_t gpa, std::uint64_t len) const {
  return for_each_piece(gpa, len, [](std::uint8_t*, std::size_t) {});
}

bool VhostUserPort::copy_from_guest(std::uint64_t gpa, std::uint8_t* dst, std::size_t len) const {
  return for_each_piece(gpa, len, [&](std::uint8_t* host, std::size_t here) {
    std::memcpy(dst, host, here);
    dst += here;
  });
}

void VhostUserPort::copy_to_guest(std::uint64_t gpa, const std::uint8_t* src,
                                  std::size_t len) const {
  // Callers checked the range with gpa_range_ok.
  (void)for_each_piece(gpa, len, [&](std::uint8_t* host, std::size_t here) {
    std::memcpy(host, src, here);
    src += here;
  });
}

// ---- rings ---------------------------------------------------------------------------------

// Translates the ring addresses (QEMU virtual addresses, vhost-user.rst "Vring address
// description") into our mappings; sizes per virtio 1.x §2.7 (desc 16*num, avail 6+2*num,
// used 6+8*num) and alignments (16, 2, 4; §2.7 "Virtqueue alignment").
bool VhostUserPort::resolve_ring(Vring& vr) {
  vr.desc = vr.avail = vr.used = nullptr;
  if (vr.num == 0 || !vr.addr_set || regions_.empty()) {
    return false;
  }
  const std::uint64_t n = vr.num;
  std::uint8_t* d = uva_to_host(vr.desc_uva, kDescSize * n);
  std::uint8_t* a = uva_to_host(vr.avail_uva, 6 + 2 * n);
  std::uint8_t* u = uva_to_host(vr.used_uva, 6 + 8 * n);
  if (d == nullptr || a == nullptr || u == nullptr || reinterpret_cast<std::uintptr_t>(d) % 16 ||
      reinterpret_cast<std::uintptr_t>(a) % 2 || reinterpret_cast<std::uintptr_t>(u) % 4) {
    log("ring addresses outside guest memory or misaligned");
    count_malformed();
    return false;
  }
  vr.desc = d;
  vr.avail = a;
  vr.used = u;
  return true;
}

void VhostUserPort::start_ring(Vring& vr, std::uint32_t index) {
  // Rings start on SET_VRING_KICK (what QEMU, DPDK and rust-vmm do; vhost-user.rst "Ring
  // states"). The used index continues from what the guest memory says (the driver or QEMU may
  // have completed entries while we were away).
  vr.started = true;
  vr.broken = false;
  if (vr.used == nullptr) {
    resolve_ring(vr);
  }
  if (vr.used != nullptr) {
    vr.used_idx = load_idx(vr.used + 2);
    if (vr.used_idx != vr.last_avail) {
      log("queue " + std::to_string(index) + ": used index " + std::to_string(vr.used_idx) +
          " differs from the base " + std::to_string(vr.last_avail));
    }
  }
  if (index == 1) {
    arm_wake();  // frames queued while the ring was stopped
  }
}

void VhostUserPort::drain_kick(std::uint32_t q) {
  Vring& vr = rings_[q];
  if (!vr.kick) {
    return;
  }
  std::uint64_t v;
  const ssize_t n = ::read(vr.kick.get(), &v, sizeof v);
  if (n == sizeof v || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
    return;
  }
  // An eventfd never gets here; whatever did would be readable forever.
  log("queue " + std::to_string(q) + ": kick descriptor at EOF or failing: no longer watched");
  unwatch(vr.kick.get());
  vr.kick.reset();
}

bool VhostUserPort::ring_live(const Vring& vr) const {
  return vr.started && vr.enabled && !vr.broken && vr.desc != nullptr && vr.avail != nullptr &&
         vr.used != nullptr;
}

bool VhostUserPort::avail_pending(Vring& vr, std::uint16_t& pending) {
  const std::uint16_t idx = load_idx(vr.avail + 2);
  pending = static_cast<std::uint16_t>(idx - vr.last_avail);
  if (pending > vr.num) {
    // virtio 1.x §2.7.6: the driver can be at most num entries ahead. The ring is unusable
    // until it is started again.
    log("guest moved the avail index from " + std::to_string(vr.last_avail) + " to " +
        std::to_string(idx));
    count_malformed();
    vr.broken = true;
    update_connected();
    return false;
  }
  return true;
}

// Walks the chain at `head`, appending its segments to segs_ and their total length to `cap`;
// each descriptor read takes one from `budget`. kBad: index out of range, more than
// kMaxChainDescs (or ring size) descriptors (a loop or a hostile chain), indirect descriptor
// (not negotiated), wrong direction, a buffer outside guest memory, or no capacity at all.
// kBudget: `budget` ran out first (the chain may be good; nothing is decided).
VhostUserPort::ChainStatus VhostUserPort::walk_chain(const Vring& vr, std::uint16_t head,
                                                     bool writable, std::uint64_t& cap,
                                                     std::uint32_t& budget) {
  cap = 0;
  std::uint32_t idx = head;
  const std::uint32_t max_descs = std::min(vr.num, kMaxChainDescs);
  for (std::uint32_t count = 0;; ++count) {
    if (idx >= vr.num || count >= max_descs) {
      return ChainStatus::kBad;
    }
    if (budget == 0) {
      return ChainStatus::kBudget;
    }
    --budget;
    std::uint8_t d[kDescSize];
    std::memcpy(d, vr.desc + kDescSize * idx, kDescSize);  // one read: no TOCTOU
    const std::uint64_t addr = ld64(d);
    const std::uint32_t len = ld32(d + 8);
    const std::uint16_t flags = ld16(d + 12);
    if ((flags & kDescFIndirect) != 0 || ((flags & kDescFWrite) != 0) != writable ||
        !gpa_range_ok(addr, len)) {
      return ChainStatus::kBad;
    }
    if (len > 0) {
      segs_.push_back(Seg{addr, len});
      cap += len;
    }
    if ((flags & kDescFNext) == 0) {
      return cap > 0 ? ChainStatus::kOk : ChainStatus::kBad;
    }
    idx = ld16(d + 14);
  }
}

void VhostUserPort::push_used(Vring& vr, std::uint16_t id, std::uint32_t len) {
  std::uint8_t* e = vr.used + 4 + 8 * (vr.used_idx & (vr.num - 1));
  st32(e, id);
  st32(e + 4, len);
  ++vr.used_idx;
}

void VhostUserPort::publish_used(Vring& vr) {
  // virtio 1.x §2.7.8.2: the used elements are visible before the index (release store).
  store_idx(vr.used + 2, vr.used_idx);
  vr.need_call = true;
}

std::size_t VhostUserPort::recv(std::span<std::uint8_t> buf) {
  Vring& vr = rings_[1];
  if (!ring_live(vr)) {
    clear_wake();
    return 0;
  }
  std::uint16_t pending = 0;
  if (!avail_pending(vr, pending)) {
    clear_wake();
    return 0;
  }
  // Bounded: every iteration consumes one avail entry, and all of them together read at most
  // vr.num descriptors (a legitimate guest's pending chains never hold more).
  std::uint32_t budget = vr.num;
  for (; pending > 0; --pending) {
    // Acquire on avail->idx (avail_pending) orders this read after the guest's writes.
    const std::uint16_t head = ld16(vr.avail + 4 + 2 * (vr.last_avail & (vr.num - 1)));
    segs_.clear();
    std::uint64_t cap = 0;
    const ChainStatus st = walk_chain(vr, head, false, cap, budget);
    if (st == ChainStatus::kBudget) {
      // Out of budget: the chain stays available; the wake eventfd brings us back.
      arm_wake();
      return 0;
    }
    ++vr.last_avail;
    const std::size_t hl = guest_hdr_len_;
    std::size_t out = 0;
    bool ok = st == ChainStatus::kOk && cap >= hl + 14 &&
              cap - hl <= buf.size() - std::min(buf.size(), kVnetHdrLen);
    if (ok) {
      std::array<std::uint8_t, 12> gh{};
      std::size_t hdr_got = 0;
      for (const Seg& s : segs_) {
        std::uint64_t gpa = s.gpa;
        std::size_t len = s.len;
        if (hdr_got < hl) {
          const std::size_t take = std::min(len, hl - hdr_got);
          ok = ok && copy_from_guest(gpa, gh.data() + hdr_got, take);
          hdr_got += take;
          gpa += take;
          len -= take;
        }
        if (len > 0) {
          ok = ok && copy_from_guest(gpa, buf.data() + kVnetHdrLen + out, len);
          out += len;
        }
      }
      // virtio_net_hdr little endian -> host order (io/vnet.hpp).
      VnetHdr h;
      h.flags = gh[0];
      h.gso_type = gh[1];
      h.hdr_len = ld16(&gh[2]);
      h.gso_size = ld16(&gh[4]);
      h.csum_start = ld16(&gh[6]);
      h.csum_offset = ld16(&gh[8]);
      ok = ok && sanitize_tx_hdr(h);
      std::memcpy(buf.data(), &h, kVnetHdrLen);
    }
    // The buffer goes back to the guest either way; the device wrote nothing into it.
    push_used(vr, head, 0);
    publish_used(vr);
    if (!ok) {
      count_malformed();
      continue;
    }
    if (pending > 1) {
      arm_wake();
    } else {
      clear_wake();
    }
    return kVnetHdrLen + out;
  }
  clear_wake();
  return 0;
}

// virtio 1.x §5.1.6.2 "Packet Transmission": flags other than NEEDS_CSUM mean nothing from a
// driver (§5.1.6.2.1: DATA_VALID is receive-only, the driver MUST NOT set it) and are cleared;
// NEEDS_CSUM only with VIRTIO_NET_F_CSUM, a GSO type only with its HOST_TSO4/HOST_TSO6 feature,
// the ECN bit only on a GSO type and with HOST_ECN (the driver MUST NOT send others; UDP and
// UDP_L4 are never offered). Without NEEDS_CSUM, csum_start/csum_offset are zeroed; without
// GSO, hdr_len/gso_size. False: the frame is malformed.
bool VhostUserPort::sanitize_tx_hdr(VnetHdr& h) const {
  auto acked = [&](unsigned b) { return (acked_features_ & bit(b)) != 0; };
  const std::uint8_t type = static_cast<std::uint8_t>(h.gso_type & ~kVnetGsoEcn);
  const bool ecn = (h.gso_type & kVnetGsoEcn) != 0;
  h.flags &= kVnetFNeedsCsum;
  if (h.flags != 0 && !acked(kFCsum)) {
    return false;
  }
  if (h.flags == 0) {
    h.csum_start = h.csum_offset = 0;
  }
  if (type == kVnetGsoNone) {
    h.hdr_len = h.gso_size = 0;
    return !ecn;
  }
  if (ecn && !acked(kFHostEcn)) {
    return false;
  }
  return (type == kVnetGsoTcpv4 && acked(kFHostTso4)) ||
         (type == kVnetGsoTcpv6 && acked(kFHostTso6));
}

bool VhostUserPort::send(std::span<const std::uint8_t> vnet_and_frame) {
  Vring& vr = rings_[0];
  if (!ring_live(vr) || vnet_and_frame.size() < kVnetHdrLen) {
    return false;
  }
  const bool mrg = (acked_features_ & bit(kFMrgRxbuf)) != 0;
  const std::size_t hl = guest_hdr_len_;
  const std::span<const std::uint8_t> frame = vnet_and_frame.subspan(kVnetHdrLen);
  const std::uint64_t total = hl + frame.size();

  // Bounded: each round consumes at least one avail entry or returns, and all rounds together
  // read at most vr.num descriptors.
  std::uint32_t budget = vr.num;
  for (std::uint32_t round = 0; round <= vr.num; ++round) {
    std::uint16_t pending = 0;
    if (!avail_pending(vr, pending)) {
      return false;
    }
    segs_.clear();
    chains_.clear();
    std::uint64_t cap = 0;
    bool bad = false;
    for (std::uint16_t k = 0; k < pending && cap < total; ++k) {
      const std::uint16_t head =
          ld16(vr.avail + 4 + 2 * (static_cast<std::uint16_t>(vr.last_avail + k) & (vr.num - 1)));
      Chain c{head, static_cast<std::uint32_t>(segs_.size()), 0, 0};
      const ChainStatus st = walk_chain(vr, head, true, c.cap, budget);
      if (st == ChainStatus::kBudget) {
        // The guest's chains took the whole budget: drop this frame, consume nothing more.
        overruns_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      // virtio 1.x §5.1.6.3.1: with MRG_RXBUF every buffer holds at least the header (and
      // num_buffers counts buffers that carry data).
      if (st != ChainStatus::kOk || (mrg && c.cap < hl)) {
        chains_.push_back(c);
        bad = true;
        break;
      }
      c.seg_end = static_cast<std::uint32_t>(segs_.size());
      chains_.push_back(c);
      cap += c.cap;
      if (!mrg) {
        break;
      }
    }
    if (bad) {
      // Give back everything looked at, unused, and try again past the bad chain.
      for (const Chain& c : chains_) {
        push_used(vr, c.head, 0);
      }
      vr.last_avail = static_cast<std::uint16_t>(vr.last_avail + chains_.size());
      publish_used(vr);
      count_malformed();
      continue;
    }
    if (cap < total) {
      overruns_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Header: host order -> little endian, num_buffers (virtio 1.x §5.1.6.3.1: 1 without
    // MRG_RXBUF).
    VnetHdr h;
    std::memcpy(&h, vnet_and_frame.data(), kVnetHdrLen);
    std::array<std::uint8_t, 12> gh{};
    gh[0] = h.flags;
    gh[1] = h.gso_type;
    st16(&gh[2], h.hdr_len);
    st16(&gh[4], h.gso_size);
    st16(&gh[6], h.csum_start);
    st16(&gh[8], h.csum_offset);
    st16(&gh[10], static_cast<std::uint16_t>(chains_.size()));
    std::size_t hdr_put = 0, frame_put = 0;
    for (const Chain& c : chains_) {
      std::uint32_t written = 0;
      for (std::uint32_t si = c.seg_begin; si < c.seg_end; ++si) {
        std::uint64_t gpa = segs_[si].gpa;
        std::size_t room = segs_[si].len;
        if (hdr_put < hl) {
          const std::size_t take = std::min(room, hl - hdr_put);
          copy_to_guest(gpa, gh.data() + hdr_put, take);
          hdr_put += take;
          gpa += take;
          room -= take;
          written += static_cast<std::uint32_t>(take);
        }
        const std::size_t take = std::min(room, frame.size() - frame_put);
        if (take > 0) {
          copy_to_guest(gpa, frame.data() + frame_put, take);
          frame_put += take;
          written += static_cast<std::uint32_t>(take);
        }
        if (hdr_put == hl && frame_put == frame.size()) {
          break;
        }
      }
      push_used(vr, c.head, written);
    }
    vr.last_avail = static_cast<std::uint16_t>(vr.last_avail + chains_.size());
    publish_used(vr);
    return true;
  }
  return false;
}

void VhostUserPort::flush() {
  for (std::uint32_t q = 0; q < 2; ++q) {
    Vring& vr = rings_[q];
    if (!vr.need_call) {
      continue;
    }
    vr.need_call = false;
    if (!vr.call || vr.avail == nullptr) {
      continue;
    }
    // virtio 1.x §2.7.7.2: the used index store must be visible before we read the flags.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if ((load_idx(vr.avail) & kAvailFNoInterrupt) != 0) {
      continue;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(vr.call.get(), &one, sizeof one);
  }
}

}  // namespace subnic::io
