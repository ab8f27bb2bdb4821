// The datapath thread: bursts in, core decisions, copies out; no allocation or lock per frame.
#include "daemon/datapath.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "daemon/detail.hpp"
#include "io/gso.hpp"
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

/// Shifts the vnet header's frame offsets by `delta` bytes (a tag was pushed or popped).
void shift_vnet(std::uint8_t* vnet, int delta) {
  io::VnetHdr h;
  std::memcpy(&h, vnet, sizeof h);
  if ((h.flags & io::kVnetFNeedsCsum) != 0) {
    h.csum_start = static_cast<std::uint16_t>(h.csum_start + delta);
  }
  if (h.hdr_len != 0) {
    h.hdr_len = static_cast<std::uint16_t>(h.hdr_len + delta);
  }
  std::memcpy(vnet, &h, sizeof h);
}

/// Pushes an 802.1Q/802.1ad tag into `buf` (vnet header + frame, `len` bytes) in place: the
/// header and both MACs move 4 bytes towards the front, into headroom the caller guarantees.
/// Returns the new start; `len` grows by 4 (vlan_dev_hard_start_xmit, IEEE 802.1Q §9.6).
std::uint8_t* tag_frame(std::uint8_t* buf, std::size_t& len, core::VlanProto proto,
                        std::uint16_t tci) {
  std::uint8_t* nb = buf - core::kVlanTagLen;
  std::memmove(nb, buf, io::kVnetHdrLen + 12);
  std::uint8_t* tag = nb + io::kVnetHdrLen + 12;
  const auto tpid = static_cast<std::uint16_t>(proto);
  tag[0] = static_cast<std::uint8_t>(tpid >> 8);
  tag[1] = static_cast<std::uint8_t>(tpid);
  tag[2] = static_cast<std::uint8_t>(tci >> 8);
  tag[3] = static_cast<std::uint8_t>(tci);
  shift_vnet(nb, static_cast<int>(core::kVlanTagLen));
  len += core::kVlanTagLen;
  return nb;
}

/// Removes the outer tag of `buf` (vnet header + tagged frame) in place; `len` shrinks by 4.
std::uint8_t* untag_frame(std::uint8_t* buf, std::size_t& len) {
  std::uint8_t* nb = buf + core::kVlanTagLen;
  std::memmove(nb, buf, io::kVnetHdrLen + 12);
  shift_vnet(nb, -static_cast<int>(core::kVlanTagLen));
  len -= core::kVlanTagLen;
  return nb;
}

/// A bridge's view of one received burst: `lower` is one of its ports' sockets.
std::int32_t port_index(const BridgeIo& b, const LowerIo* lower) {
  for (std::size_t i = 0; i < b.ports.size(); ++i) {
    if (b.ports[i].get() == lower) {
      return static_cast<std::int32_t>(i);
    }
  }
  return -1;
}

constexpr std::uint64_t kTickNs = 100'000'000;  // bridge timers: every 100 ms

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
  // Headroom in front of every TAP read: a port on a VLAN device pushes the tag in place.
  tx_bufs_.assign(kBurst, std::vector<std::uint8_t>(io::kMaxFrame + core::kVlanTagLen));
  wire_.reserve(kBurst);
  wire_sender_.reserve(kBurst);
  decision_.deliveries.reserve(1024);
  vm_dirty_.reserve(64);
  gso_scratch_.resize(io::kGsoScratch);
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
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 100);
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
      const Endpoint& e = it->second;
      const auto sub = static_cast<std::uint32_t>(e.upper);
      switch (e.kind) {
        case Endpoint::Kind::kLower:
          on_lower(s, s.ports[e.port]);
          break;
        case Endpoint::Kind::kUpper:
          on_upper(s, s.ports[e.port], sub);
          break;
        case Endpoint::Kind::kVm:
          on_vm(s.ports[e.port], sub);
          break;
        case Endpoint::Kind::kVlan:
          on_vlan_tap(s.ports[e.port], sub);
          break;
        case Endpoint::Kind::kVeth:
          on_veth(s.veths[e.port], sub);
          break;
        case Endpoint::Kind::kBridgePort:
          on_bridge_port(s.bridges[e.port], sub);
          break;
        case Endpoint::Kind::kBridgeDev:
          on_bridge_dev(s.bridges[e.port]);
          break;
      }
    }
    if (!s.bridges.empty()) {
      tick_bridges(s);
    }
    flush_vms();
  }
}

std::optional<std::size_t> Datapath::recv_lower(LowerIo& lower) {
  for (std::size_t i = 0; i < kBurst; ++i) {
    rx_slots_[i] = io::RxSlot{};
    // Leave room in front for a VLAN tag the kernel moved into metadata.
    rx_slots_[i].buf = rx_bufs_[i].data() + core::kVlanTagLen;
    rx_slots_[i].cap = io::kMaxFrame;
  }
  const auto got = lower.sock->recv_batch(rx_slots_);
  if (!got && got.error().code == ENETDOWN) {
    // packet_notifier reports a bound device going down once (sk_err); the socket keeps
    // working when it comes back up.
    return 0;
  }
  if (!got) {
    if (!lower.broken.exchange(true)) {
      spdlog::error("lower socket: {}", got.error().message);
      unwatch(lower.sock->fd());
    }
    return std::nullopt;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < *got; ++i) {
    auto& slot = rx_slots_[i];
    if (slot.len < io::kVnetHdrLen + core::kEthHeaderLen) {
      lower.counters.drop(core::DropReason::kMalformed, true);
      continue;
    }
    if (slot.has_vlan) {
      // AF_PACKET hides a tag the kernel stripped (PACKET_AUXDATA): put it back in the frame,
      // so uppers and VLAN devices see what the wire carried.
      const std::uint16_t tpid = slot.vlan_tpid != 0 ? slot.vlan_tpid : core::kEthPVlan;
      slot.buf = tag_frame(slot.buf, slot.len, static_cast<core::VlanProto>(tpid), slot.vlan_tci);
    }
    lower.counters.rx_packets.add();
    lower.counters.rx_bytes.add(slot.len - io::kVnetHdrLen);
    std::swap(rx_slots_[kept++], slot);
  }
  return kept;
}

void Datapath::on_lower(const Snapshot& snap, const PortSnapshot& ps) {
  auto& lower = *ps.lower;
  const auto got = recv_lower(lower);
  if (!got) {
    return;
  }
  core::BurstState burst;
  for (std::size_t i = 0; i < *got; ++i) {
    std::uint8_t* buf = rx_slots_[i].buf;
    const std::size_t len = rx_slots_[i].len;
    if (!ps.vlan_devs.empty()) {
      // __netif_receive_skb_core: VLAN devices claim their tags before the rx handler.
      const auto c = ps.vlans.classify({buf + io::kVnetHdrLen, len - io::kVnetHdrLen});
      if (c.kind == core::VlanRx::kVlan) {
        vlan_receive(snap, ps, c.index, buf, len, burst);
        continue;
      }
      if (c.kind == core::VlanRx::kDownDrop) {
        ps.vlan_devs[c.index].io->counters.drop(core::DropReason::kUpperDown, true);
        continue;
      }
      if (c.kind == core::VlanRx::kMalformed) {
        lower.counters.drop(core::DropReason::kMalformed, true);
        continue;
      }
    }
    port_receive(ps, buf, len, burst);
  }
}

void Datapath::port_receive(const PortSnapshot& ps, std::uint8_t* buf, std::size_t len,
                            core::BurstState& burst) {
  const core::FrameView frame{buf + io::kVnetHdrLen, len - io::kVnetHdrLen};
  decision_.clear();
  if (const auto* iv = ps.port.ipvlan()) {
    iv->receive(frame, is_gso(buf), &ps.lower->dhcp, decision_);
  } else {
    ps.port.macvlan()->receive(frame, is_gso(buf), burst, decision_);
  }
  if (decision_.drop != core::DropReason::kNone) {
    (ps.vlan ? ps.vlan->dev->counters : ps.lower->counters).drop(decision_.drop, true);
  }
  deliver(ps, decision_, buf, len);
  if (ps.vlan && decision_.to_lower_host) {
    // The VLAN device is this port's lower: its own stack gets what the rx handler passes on,
    // a broadcast the full queue dropped included (macvlan_handle_frame returns
    // RX_HANDLER_PASS after macvlan_broadcast_enqueue fails).
    auto& dev = *ps.vlan->dev;
    if (dev.tap.write({buf, len})) {
      dev.counters.rx_packets.add();
      dev.counters.rx_bytes.add(len - io::kVnetHdrLen);
    } else {
      dev.counters.drop(core::DropReason::kWriteFailed, true);
    }
  }
}

void Datapath::vlan_receive(const Snapshot& snap, const PortSnapshot& ps, std::uint32_t vi,
                            std::uint8_t* buf, std::size_t len, core::BurstState& burst) {
  const auto& v = ps.vlan_devs[vi];
  buf = untag_frame(buf, len);
  if (v.stacked >= 0) {
    // A macvlan/ipvlan port on the VLAN device: its rx handler decides, inside subnic.
    const auto& stacked = snap.ports[static_cast<std::size_t>(v.stacked)];
    v.io->counters.rx_packets.add();
    v.io->counters.rx_bytes.add(len - io::kVnetHdrLen);
    port_receive(stacked, buf, len, burst);
    return;
  }
  if (v.io->tap.write({buf, len})) {
    v.io->counters.rx_packets.add();
    v.io->counters.rx_bytes.add(len - io::kVnetHdrLen);
    if ((buf[io::kVnetHdrLen] & 1) != 0) {
      v.io->counters.rx_multicast.add();
    }
  } else {
    v.io->counters.drop(core::DropReason::kWriteFailed, true);
  }
}

std::optional<std::size_t> Datapath::read_tap(UpperIo& io, std::span<std::uint8_t> buf,
                                              const char* what) {
  const auto got = io.tap.read(buf);
  if (!got) {
    if (!io.broken.exchange(true)) {
      spdlog::warn("{} TAP read: {}", what, got.error().message);
      unwatch(io.tap.fd());
    }
    return std::nullopt;
  }
  if (*got == 0) {
    return std::nullopt;
  }
  if (*got < io::kVnetHdrLen + core::kEthHeaderLen) {
    io.counters.drop(core::DropReason::kMalformed, false);
    return 0;
  }
  return *got;
}

void Datapath::on_vlan_tap(const PortSnapshot& ps, std::uint32_t vi) {
  auto& v = *ps.vlan_devs[vi].io;
  const auto& dev = ps.vlans.devices()[vi];
  wire_.clear();
  for (std::size_t k = 0; k < kBurst; ++k) {
    auto& b = tx_bufs_[k];
    std::uint8_t* buf = b.data() + core::kVlanTagLen;
    const auto got = read_tap(v, {buf, b.size() - core::kVlanTagLen}, "vlan");
    if (!got) {
      break;
    }
    std::size_t len = *got;
    if (len == 0) {
      continue;
    }
    v.counters.tx_packets.add();
    v.counters.tx_bytes.add(len - io::kVnetHdrLen);
    buf = tag_frame(buf, len, dev.proto, dev.vid);
    wire_.emplace_back(buf, len);
  }
  for (std::size_t i = send_wire(*ps.lower); i < wire_.size(); ++i) {
    v.counters.drop(core::DropReason::kWriteFailed, false);
  }
}

void Datapath::on_veth(const VethSnap& v, std::uint32_t end) {
  auto& from = *v.end[end];
  const std::uint32_t peer = end ^ 1u;
  auto& to = *v.end[peer];
  auto& buf = tx_bufs_[0];
  for (std::size_t k = 0; k < kBurst; ++k) {
    const auto got = read_tap(from, buf, "veth");
    if (!got) {
      return;
    }
    const std::size_t len = *got;
    if (len == 0) {
      continue;
    }
    const std::size_t flen = len - io::kVnetHdrLen;
    // veth_xmit: the peer must be running; veth_forward_skb -> is_skb_forwardable: a non-GSO
    // frame longer than the peer's MTU + 18 (Ethernet header and one VLAN tag) is dropped.
    if (!v.up[peer]) {
      from.counters.drop(core::DropReason::kUpperDown, false);
      continue;
    }
    if (!is_gso(buf.data()) && flen > v.mtu[peer] + 18u) {
      from.counters.drop(core::DropReason::kTooBig, false);
      continue;
    }
    if (!to.tap.write({buf.data(), len})) {
      from.counters.drop(core::DropReason::kWriteFailed, false);
      continue;
    }
    from.counters.tx_packets.add();
    from.counters.tx_bytes.add(flen);
    to.counters.rx_packets.add();
    to.counters.rx_bytes.add(flen);
    if ((buf[io::kVnetHdrLen] & 1) != 0) {
      to.counters.rx_multicast.add();
    }
  }
}

void Datapath::bridge_out(BridgeIo& b, const core::BridgeDecision& d, std::uint8_t* buf,
                          std::size_t len) {
  for (const auto p : d.ports) {
    auto& out = *b.ports[p];
    if (!out.sock) {
      continue;
    }
    const std::span<const std::uint8_t> one{buf, len};
    const auto sent = out.sock->send_batch({&one, 1});
    if (sent && *sent == 1) {
      out.counters.tx_packets.add();
      out.counters.tx_bytes.add(len - io::kVnetHdrLen);
    } else {
      out.counters.drop(core::DropReason::kWriteFailed, false);
    }
  }
  if (d.to_host && b.dev) {
    auto& dev = *b.dev;
    if (dev.tap.write({buf, len})) {
      dev.counters.rx_packets.add();
      dev.counters.rx_bytes.add(len - io::kVnetHdrLen);
      if ((buf[io::kVnetHdrLen] & 1) != 0) {
        dev.counters.rx_multicast.add();
      }
    } else {
      dev.counters.drop(core::DropReason::kWriteFailed, true);
    }
  }
}

void Datapath::send_bpdus(BridgeIo& b) {
  for (auto& out : bpdus_) {
    if (out.port >= b.ports.size() || !b.ports[out.port]->sock) {
      continue;
    }
    std::vector<std::uint8_t> pkt(io::kVnetHdrLen, 0);
    pkt.insert(pkt.end(), out.frame.begin(), out.frame.end());
    const std::span<const std::uint8_t> one{pkt};
    (void)b.ports[out.port]->sock->send_batch({&one, 1});
  }
  bpdus_.clear();
}

void Datapath::on_bridge_port(const BridgeSnap& bs, std::uint32_t sock_index) {
  auto& lower = *bs.ports[sock_index];
  const auto got = recv_lower(lower);
  if (!got || *got == 0) {
    return;
  }
  auto& b = *bs.io;
  const std::uint64_t now = detail::mono_ns();
  std::lock_guard lock{b.mu};
  const auto in = port_index(b, &lower);
  if (in < 0) {
    return;  // no longer a port of this bridge
  }
  for (std::size_t i = 0; i < *got; ++i) {
    std::uint8_t* buf = rx_slots_[i].buf;
    const std::size_t len = rx_slots_[i].len;
    const core::FrameView frame{buf + io::kVnetHdrLen, len - io::kVnetHdrLen};
    bridge_decision_.clear();
    b.br.receive(static_cast<std::uint32_t>(in), frame, now, bridge_decision_);
    if (bridge_decision_.to_stp) {
      b.br.receive_bpdu(static_cast<std::uint32_t>(in), frame, now, bpdus_);
    }
    if (bridge_decision_.drop != core::DropReason::kNone) {
      lower.counters.drop(bridge_decision_.drop, true);
    }
    bridge_out(b, bridge_decision_, buf, len);
  }
  send_bpdus(b);
}

void Datapath::on_bridge_dev(const BridgeSnap& bs) {
  auto& b = *bs.io;
  auto& dev = *b.dev;
  auto& buf = tx_bufs_[0];
  const std::uint64_t now = detail::mono_ns();
  std::lock_guard lock{b.mu};  // once per burst, as for the ports
  for (std::size_t k = 0; k < kBurst; ++k) {
    const auto got = read_tap(dev, buf, "bridge");
    if (!got) {
      return;
    }
    const std::size_t len = *got;
    if (len == 0) {
      continue;
    }
    dev.counters.tx_packets.add();
    dev.counters.tx_bytes.add(len - io::kVnetHdrLen);
    bridge_decision_.clear();
    b.br.transmit({buf.data() + io::kVnetHdrLen, len - io::kVnetHdrLen}, now, bridge_decision_);
    bridge_decision_.to_host = false;
    bridge_out(b, bridge_decision_, buf.data(), len);
  }
}

void Datapath::tick_bridges(const Snapshot& snap) {
  const std::uint64_t now = detail::mono_ns();
  if (now - last_tick_ns_ < kTickNs) {
    return;
  }
  last_tick_ns_ = now;
  for (const auto& bs : snap.bridges) {
    std::lock_guard lock{bs.io->mu};
    bs.io->br.tick(now, bpdus_);
    send_bpdus(*bs.io);
  }
}

void Datapath::on_upper(const Snapshot&, const PortSnapshot& ps, std::uint32_t index) {
  auto& up = *ps.uppers[index];
  wire_.clear();
  wire_sender_.clear();
  for (std::size_t k = 0; k < kBurst; ++k) {
    // Read after kVlanTagLen bytes of headroom: a port on a VLAN device tags in place.
    std::uint8_t* const buf = tx_bufs_[k].data() + core::kVlanTagLen;
    const auto got = up.tap.read({buf, tx_bufs_[k].size() - core::kVlanTagLen});
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
    if (*got < io::kVnetHdrLen) {
      up.counters.drop(core::DropReason::kMalformed, false);
      continue;
    }
    upper_transmit(ps, index, buf, *got);
  }
  flush_wire(ps);
}

void Datapath::on_vm(const PortSnapshot& ps, std::uint32_t index) {
  auto& up = *ps.uppers[index];
  if (!up.vm) {
    return;
  }
  up.vm->service();
  wire_.clear();
  wire_sender_.clear();
  const core::Mac own = ps.port.mac(index);
  for (std::size_t k = 0; k < kBurst; ++k) {
    std::uint8_t* const buf = tx_bufs_[k].data() + core::kVlanTagLen;
    const std::size_t len = up.vm->recv({buf, tx_bufs_[k].size() - core::kVlanTagLen});
    if (len == 0) {
      break;
    }
    if (len < io::kVnetHdrLen + core::kEthHeaderLen) {
      up.counters.drop(core::DropReason::kMalformed, false);
      continue;
    }
    // A down upper sends nothing (dev_queue_xmit on a device that is not up); its guest's
    // ring is still drained.
    if (!ps.port.up(index)) {
      up.counters.drop(core::DropReason::kUpperDown, false);
      continue;
    }
    // The VM's frames carry its upper's MAC (the one QEMU's -device mac= gives the guest).
    if (std::memcmp(buf + io::kVnetHdrLen + 6, own.bytes.data(), 6) != 0) {
      up.counters.drop(core::DropReason::kSrcMac, false);
      continue;
    }
    upper_transmit(ps, index, buf, len);
  }
  flush_wire(ps);
  // What recv consumed from the guest's transmit ring is returned now, not at the next send.
  mark_dirty(up.vm.get());
}

void Datapath::upper_transmit(const PortSnapshot& ps, std::uint32_t index, std::uint8_t* buf,
                              std::size_t len) {
  auto& up = *ps.uppers[index];
  const core::FrameView frame{buf + io::kVnetHdrLen, len - io::kVnetHdrLen};
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
    iv->transmit(index, frame, is_gso(buf), decision_);
  } else {
    ps.port.macvlan()->transmit(index, frame, is_gso(buf), decision_);
  }
  if (decision_.drop != core::DropReason::kNone) {
    up.counters.drop(decision_.drop, false);
    return;
  }
  deliver(ps, decision_, buf, len);
  if (decision_.to_host_route) {
    bool routed = false;
    if (is_gso(buf)) {
      // A guest's TSO super-frame (ipvtap: vhost-user offers HOST_TSO; an ipvlan l3 TAP never
      // sends one): the raw IP output takes packets, so cut it first, checksums completed.
      routed = true;
      const auto n = io::segment({buf, len}, io::GuestOffloads{}, gso_scratch_,
                                 [&](std::span<const std::uint8_t> seg) {
                                   // seg lies in gso_scratch_, ours to write (checksums done)
                                   auto* p = const_cast<std::uint8_t*>(seg.data());
                                   routed = route(ps, p, seg.size()) && routed;
                                   return routed;
                                 });
      routed = routed && n.has_value();
    } else {
      routed = route(ps, buf, len);
    }
    if (!routed) {
      up.counters.drop(core::DropReason::kRouteFailed, false);
    }
  }
  if (decision_.to_host_neigh) {
    learn_neigh(ps, frame);
  }
  if (decision_.to_wire) {
    if (ps.vlan) {
      std::size_t tagged_len = len;
      std::uint8_t* tagged = tag_frame(buf, tagged_len, ps.vlan->proto, ps.vlan->tci);
      ps.vlan->dev->counters.tx_packets.add();
      ps.vlan->dev->counters.tx_bytes.add(tagged_len - io::kVnetHdrLen);
      wire_.emplace_back(tagged, tagged_len);
    } else {
      wire_.emplace_back(buf, len);
    }
    wire_sender_.push_back(index);
  }
}

bool Datapath::to_upper(UpperIo& up, std::uint8_t* buf, std::size_t len) {
  if (!up.vm || !up.vm->connected()) {
    // No guest attached: as tap_handle_frame does with no queue open (RX_HANDLER_PASS), the
    // upper's own netdev receives the frame (semantics.md §2.10, T-MT-02).
    return static_cast<bool>(up.tap.write({buf, len}));
  }
  io::VmPort& vm = *up.vm;
  mark_dirty(&vm);
  const std::span<const std::uint8_t> whole{buf, len};
  const io::GuestOffloads g = vm.offloads();
  if (io::fits(io::load_vnet_hdr(whole), g)) {
    return vm.send(whole);
  }
  // Segment or finish the checksum for a guest without the offload (tap_handle_frame ->
  // __skb_gso_segment with the queue's features).
  // A frame is delivered whole or counted as dropped: the first segment refused ends it.
  bool all = true;
  const auto n = io::segment(whole, g, gso_scratch_, [&](std::span<const std::uint8_t> seg) {
    all = vm.send(seg);
    return all;
  });
  return n.has_value() && all;
}

void Datapath::mark_dirty(io::VmPort* vm) {
  if (std::find(vm_dirty_.begin(), vm_dirty_.end(), vm) == vm_dirty_.end()) {
    vm_dirty_.push_back(vm);
  }
}

void Datapath::flush_vms() {
  for (io::VmPort* vm : vm_dirty_) {
    vm->flush();
  }
  vm_dirty_.clear();
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
    if (!to_upper(up, buf, len)) {
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

std::size_t Datapath::send_wire(LowerIo& lower) {
  std::size_t done = 0;
  while (lower.sock && done < wire_.size()) {
    const auto sent = lower.sock->send_batch({wire_.data() + done, wire_.size() - done});
    if (!sent || *sent == 0) {
      break;
    }
    for (std::size_t i = done; i < done + *sent; ++i) {
      lower.counters.tx_packets.add();
      lower.counters.tx_bytes.add(wire_[i].size() - io::kVnetHdrLen);
    }
    done += *sent;
  }
  return done;
}

void Datapath::flush_wire(const PortSnapshot& ps) {
  const std::size_t done = send_wire(ps.vlan ? *ps.vlan->phys : *ps.lower);
  for (std::size_t i = done; i < wire_.size(); ++i) {
    ps.uppers[wire_sender_[i]]->counters.drop(core::DropReason::kWriteFailed, false);
  }
}

}  // namespace subnic::daemon
