// The datapath thread: bursts in, core decisions, copies out; no allocation or lock per frame.
#include "daemon/datapath.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "io/vnet.hpp"

namespace subnic::daemon {

namespace {

constexpr std::size_t kBurst = 64;  // frames per read burst (design.md: 32-64)
constexpr std::uint64_t kWakeKey = ~0ull;

bool is_gso(const std::uint8_t* vnet) {
  io::VnetHdr h;
  std::memcpy(&h, vnet, sizeof h);
  return (h.gso_type & ~io::kVnetGsoEcn) != io::kVnetGsoNone;
}

}  // namespace

Datapath::~Datapath() {
  stop();
}

Status Datapath::start() {
  epoll_ = sys::UniqueFd{::epoll_create1(EPOLL_CLOEXEC)};
  if (!epoll_) {
    return sys::sys_error("epoll_create1");
  }
  wake_ = sys::UniqueFd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  if (!wake_) {
    return sys::sys_error("eventfd");
  }
  if (auto st = watch(kWakeKey, wake_.get()); !st) {
    return st;
  }
  rx_bufs_.assign(kBurst, std::vector<std::uint8_t>(io::kMaxFrame + core::kVlanTagLen));
  rx_slots_.resize(kBurst);
  tx_bufs_.assign(kBurst, std::vector<std::uint8_t>(io::kMaxFrame));
  wire_.reserve(kBurst);
  wire_sender_.reserve(kBurst);
  decision_.deliveries.reserve(1024);
  snap_.store(std::make_shared<const Snapshot>());
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return {};
}

void Datapath::stop() {
  if (!running_.exchange(false)) {
    return;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Datapath::publish(std::shared_ptr<const Snapshot> snap) {
  snap_.store(std::move(snap));
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

Status Datapath::watch(std::uint64_t key, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST) {
    return sys::sys_error("epoll_ctl add");
  }
  return {};
}

void Datapath::unwatch(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void Datapath::run() {
  std::array<epoll_event, 64> events;
  while (running_.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 500);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      spdlog::error("datapath: epoll_wait: {}", std::strerror(errno));
      return;
    }
    // The snapshot is loaded once per wakeup; const data, mutable only through atomics and fds.
    const std::shared_ptr<const Snapshot> snap = snap_.load();
    const Snapshot& s = *snap;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = events[static_cast<std::size_t>(i)].data.u64;
      if (key == kWakeKey) {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_.get(), &v, sizeof v);
        continue;
      }
      const auto it = s.by_key.find(key);
      if (it == s.by_key.end()) {
        continue;  // removed since epoll reported it
      }
      const auto& ps = s.ports[it->second.port];
      if (it->second.upper < 0) {
        on_lower(s, ps);
      } else {
        on_upper(s, ps, static_cast<std::uint32_t>(it->second.upper));
      }
    }
  }
}

void Datapath::on_lower(const Snapshot&, const PortSnapshot& ps) {
  auto& lower = *ps.lower;
  for (std::size_t i = 0; i < kBurst; ++i) {
    rx_slots_[i] = io::RxSlot{};
    // Leave room in front for a VLAN tag the kernel moved into metadata.
    rx_slots_[i].buf = rx_bufs_[i].data() + core::kVlanTagLen;
    rx_slots_[i].cap = io::kMaxFrame;
  }
  const auto got = lower.sock.recv_batch(rx_slots_);
  if (!got) {
    if (!lower.broken.exchange(true)) {
      spdlog::error("lower socket: {}", got.error().message);
      unwatch(lower.sock.fd());
    }
    return;
  }
  core::BurstState burst;
  for (std::size_t i = 0; i < *got; ++i) {
    auto& slot = rx_slots_[i];
    std::uint8_t* buf = slot.buf;
    std::size_t len = slot.len;
    if (len < io::kVnetHdrLen + core::kEthHeaderLen) {
      lower.counters.drop(core::DropReason::kMalformed, true);
      continue;
    }
    if (slot.has_vlan) {
      // AF_PACKET hides a tag the kernel stripped (PACKET_AUXDATA): put it back in the frame,
      // so uppers see what the wire carried. The vnet header and both MACs move 4 bytes left.
      buf -= core::kVlanTagLen;
      std::memmove(buf, buf + core::kVlanTagLen, io::kVnetHdrLen + 12);
      std::uint8_t* tag = buf + io::kVnetHdrLen + 12;
      const std::uint16_t tpid = slot.vlan_tpid != 0 ? slot.vlan_tpid : core::kEthPVlan;
      tag[0] = static_cast<std::uint8_t>(tpid >> 8);
      tag[1] = static_cast<std::uint8_t>(tpid);
      tag[2] = static_cast<std::uint8_t>(slot.vlan_tci >> 8);
      tag[3] = static_cast<std::uint8_t>(slot.vlan_tci);
      len += core::kVlanTagLen;
    }
    const core::FrameView frame{buf + io::kVnetHdrLen, len - io::kVnetHdrLen};
    lower.counters.rx_packets.add();
    lower.counters.rx_bytes.add(frame.size());
    decision_.clear();
    if (const auto* iv = ps.port.ipvlan()) {
      iv->receive(frame, is_gso(buf), &lower.dhcp, decision_);
    } else {
      ps.port.macvlan()->receive(frame, is_gso(buf), burst, decision_);
    }
    if (decision_.drop != core::DropReason::kNone) {
      lower.counters.drop(decision_.drop, true);
    }
    deliver(ps, decision_, buf, len);
  }
}

void Datapath::on_upper(const Snapshot&, const PortSnapshot& ps, std::uint32_t index) {
  auto& up = *ps.uppers[index];
  core::BurstState burst;
  wire_.clear();
  wire_sender_.clear();
  for (std::size_t k = 0; k < kBurst; ++k) {
    auto& buf = tx_bufs_[k];
    const auto got = up.tap.read(buf);
    if (!got) {
      if (!up.broken.exchange(true)) {
        spdlog::warn("upper TAP read: {}", got.error().message);
        unwatch(up.tap.fd());
      }
      break;
    }
    if (*got == 0) {
      break;
    }
    const std::size_t len = *got;
    if (len < io::kVnetHdrLen) {
      up.counters.drop(core::DropReason::kMalformed, false);
      continue;
    }
    const core::FrameView frame{buf.data() + io::kVnetHdrLen, len - io::kVnetHdrLen};
    up.counters.tx_packets.add();
    up.counters.tx_bytes.add(frame.size());
    decision_.clear();
    if (const auto* iv = ps.port.ipvlan()) {
      if (iv->mode() == core::IpvlanMode::kL2) {
        // subnic's DHCP demultiplexing: remember who asked, to hand the reply back to it.
        if (const auto d = core::parse_dhcp(frame); d && d->op == 1) {
          ps.lower->dhcp.learn(*d, iv->uppers()[index].id);
        }
      }
      iv->transmit(index, frame, is_gso(buf.data()), decision_);
    } else {
      ps.port.macvlan()->transmit(index, frame, is_gso(buf.data()), burst, decision_);
    }
    if (decision_.drop != core::DropReason::kNone) {
      up.counters.drop(decision_.drop, false);
      continue;
    }
    deliver(ps, decision_, buf.data(), len);
    if (decision_.to_host_route && !route(ps, buf.data(), len)) {
      up.counters.drop(core::DropReason::kRouteFailed, false);
    }
    if (decision_.to_host_neigh) {
      learn_neigh(ps, frame);
    }
    if (decision_.to_wire) {
      wire_.emplace_back(buf.data(), len);
      wire_sender_.push_back(index);
    }
  }
  flush_wire(ps);
}

void Datapath::deliver(const PortSnapshot& ps, const core::Decision& d, std::uint8_t* buf,
                       std::size_t len) {
  const std::uint8_t* frame = buf + io::kVnetHdrLen;
  const bool group = (frame[0] & 1) != 0;
  for (const auto& del : d.deliveries) {
    auto& up = *ps.uppers[del.upper];
    if (del.drop != core::DropReason::kNone) {
      up.counters.drop(del.drop, true);
      continue;
    }
    if (del.rewrite_dst) {
      // Passthru: every unicast is "for this host" (only one delivery, so in place).
      const auto mac = ps.port.mac(del.upper);
      std::memcpy(buf + io::kVnetHdrLen, mac.bytes.data(), 6);
    }
    const auto st = up.tap.write({buf, len});
    if (!st) {
      up.counters.drop(core::DropReason::kWriteFailed, true);
      continue;
    }
    up.counters.rx_packets.add();
    up.counters.rx_bytes.add(len - io::kVnetHdrLen);
    if (group) {
      up.counters.rx_multicast.add();
    }
  }
}

bool Datapath::route(const PortSnapshot& ps, std::uint8_t* buf, std::size_t len) {
  auto& lower = *ps.lower;
  if (!lower.route || len < io::kVnetHdrLen + core::kEthHeaderLen) {
    return false;
  }
  io::VnetHdr h;
  std::memcpy(&h, buf, sizeof h);
  if ((h.gso_type & ~io::kVnetGsoEcn) != io::kVnetGsoNone) {
    return false;  // ipvlan l3 TAPs have no TSO offload, so their stack never sends these
  }
  std::span<std::uint8_t> frame{buf + io::kVnetHdrLen, len - io::kVnetHdrLen};
  if ((h.flags & io::kVnetFNeedsCsum) != 0) {
    io::complete_checksum(frame, h.csum_start, h.csum_offset);
  }
  const auto st = lower.route->send(frame.subspan(core::kEthHeaderLen));
  if (!st) {
    return false;
  }
  lower.counters.tx_packets.add();
  lower.counters.tx_bytes.add(frame.size());
  return true;
}

void Datapath::learn_neigh(const PortSnapshot& ps, core::FrameView frame) {
  auto& lower = *ps.lower;
  const auto b = frame.bytes();
  // Ethernet/IPv4 ARP after a 14-byte header: op at 6, sender MAC at 8, sender IP at 14.
  constexpr std::size_t kArp = core::kEthHeaderLen;
  if (!lower.neigh || !lower.route || b.size() < kArp + 28 || core::load_be16(&b[kArp]) != 1 ||
      core::load_be16(&b[kArp + 2]) != core::kEthPIpv4 || b[kArp + 4] != 6 || b[kArp + 5] != 4) {
    return;
  }
  const std::uint16_t op = core::load_be16(&b[kArp + 6]);
  constexpr std::uint16_t kNudReachable = 0x02;
  constexpr std::uint16_t kNudStale = 0x04;
  (void)lower.neigh->set_neigh(lower.route->ifindex(), core::IpAddr::from_v4(&b[kArp + 14]),
                               core::Mac::from_bytes(&b[kArp + 8]),
                               op == 2 ? kNudReachable : kNudStale, false);
}

void Datapath::flush_wire(const PortSnapshot& ps) {
  std::size_t done = 0;
  auto& lower = *ps.lower;
  while (done < wire_.size()) {
    const auto sent = lower.sock.send_batch({wire_.data() + done, wire_.size() - done});
    if (!sent || *sent == 0) {
      break;
    }
    for (std::size_t i = done; i < done + *sent; ++i) {
      lower.counters.tx_packets.add();
      lower.counters.tx_bytes.add(wire_[i].size() - io::kVnetHdrLen);
    }
    done += *sent;
  }
  for (std::size_t i = done; i < wire_.size(); ++i) {
    ps.uppers[wire_sender_[i]]->counters.drop(core::DropReason::kWriteFailed, false);
  }
}

}  // namespace subnic::daemon
