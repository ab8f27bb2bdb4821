// Learning bridge and kernel STP (net/bridge): forwarding decisions, FDB, 802.1D state machine.
#include "core/bridge.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>

namespace subnic::core {

namespace {

constexpr std::uint16_t kMaxLengthField = 1500;  // above: an EtherType, not an 802.3 length
constexpr std::array<std::uint8_t, 3> kStpLlc = {0x42, 0x42, 0x03};  // DSAP, SSAP, UI
constexpr std::size_t kLlcLen = kStpLlc.size();
constexpr std::size_t kBpduOffset = kEthHeaderLen + kLlcLen;  // 17
constexpr std::uint64_t kNsPerSec = 1'000'000'000;
constexpr std::uint64_t kNsPerTick = kNsPerSec / 256;  // 3'906'250: one STP tick, exact
/// MESSAGE_AGE_INCR: a relayed BPDU is at least one STP tick older than the one it relays.
constexpr std::uint64_t kMessageAgeIncrNs = kNsPerTick;
/// A timer re-armed with 0 still waits one jiffy in the kernel (HZ=1000 here).
constexpr std::uint64_t kJiffyNs = 1'000'000;
constexpr std::uint64_t kMacMask = (std::uint64_t{1} << 48) - 1;

/// 01:80:c2:00:00:00..0f (is_link_local_ether_addr).
bool is_link_local(const Mac& m) {
  return m.bytes[0] == 0x01 && m.bytes[1] == 0x80 && m.bytes[2] == 0xc2 && m.bytes[3] == 0 &&
         m.bytes[4] == 0 && (m.bytes[5] & 0xf0) == 0;
}

std::uint64_t make_bridge_id(std::uint16_t priority, const Mac& mac) {
  return (std::uint64_t{priority} << 48) | mac.to_u64();
}

std::uint16_t make_port_id(std::uint16_t priority, std::uint16_t port_no) {
  return static_cast<std::uint16_t>((priority << kStpPortBits) |
                                    (port_no & ((1U << kStpPortBits) - 1)));
}

void put_be16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  put_be16(b, static_cast<std::uint16_t>(v >> 16));
  put_be16(b, static_cast<std::uint16_t>(v));
}
void put_be64(std::vector<std::uint8_t>& b, std::uint64_t v) {
  put_be32(b, static_cast<std::uint32_t>(v >> 32));
  put_be32(b, static_cast<std::uint32_t>(v));
}
std::uint64_t load_be64(const std::uint8_t* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
/// br_set_ticks: truncated to whole 1/256 s, 16 bits on the wire.
std::uint16_t to_ticks(std::uint64_t ns) {
  return static_cast<std::uint16_t>(ns * 256 / kNsPerSec);
}
/// br_get_ticks: exact in ns.
std::uint64_t from_ticks(const std::uint8_t* p) {
  return std::uint64_t{load_be16(p)} * kNsPerTick;
}

std::vector<std::uint8_t> bpdu_frame(const Mac& src, std::size_t bpdu_len) {
  std::vector<std::uint8_t> f;
  f.reserve(kBpduOffset + bpdu_len);
  f.insert(f.end(), kStpGroupMac.bytes.begin(), kStpGroupMac.bytes.end());
  f.insert(f.end(), src.bytes.begin(), src.bytes.end());
  put_be16(f, static_cast<std::uint16_t>(kLlcLen + bpdu_len));  // 802.3 length: LLC + BPDU
  f.insert(f.end(), kStpLlc.begin(), kStpLlc.end());
  put_be16(f, 0);  // protocol identifier: spanning tree
  f.push_back(0);  // protocol version: 802.1D STP
  return f;
}

std::uint64_t clamp_ns(std::uint64_t v, std::uint64_t lo, std::uint64_t hi) {
  return std::min(std::max(v, lo), hi);
}

}  // namespace

std::string_view to_string(StpPortState s) {
  switch (s) {
    case StpPortState::kDisabled:
      return "disabled";
    case StpPortState::kListening:
      return "listening";
    case StpPortState::kLearning:
      return "learning";
    case StpPortState::kForwarding:
      return "forwarding";
    case StpPortState::kBlocking:
      return "blocking";
  }
  return "unknown";
}

// ---- BPDU encoding (br_stp_bpdu.c) ----

std::vector<std::uint8_t> encode_config_bpdu(const Mac& src, const ConfigBpdu& b) {
  auto f = bpdu_frame(src, kConfigBpduLen);
  f.push_back(static_cast<std::uint8_t>(BpduType::kConfig));
  f.push_back(static_cast<std::uint8_t>((b.topology_change ? 0x01 : 0) |
                                        (b.topology_change_ack ? 0x80 : 0)));
  put_be64(f, b.root_id);
  put_be32(f, b.root_path_cost);
  put_be64(f, b.bridge_id);
  put_be16(f, b.port_id);
  put_be16(f, to_ticks(b.message_age_ns));
  put_be16(f, to_ticks(b.max_age_ns));
  put_be16(f, to_ticks(b.hello_time_ns));
  put_be16(f, to_ticks(b.forward_delay_ns));
  return f;
}

std::vector<std::uint8_t> encode_tcn_bpdu(const Mac& src) {
  auto f = bpdu_frame(src, kTcnBpduLen);
  f.push_back(static_cast<std::uint8_t>(BpduType::kTcn));
  return f;
}

std::optional<Bpdu> parse_bpdu(FrameView f) {
  const auto b = f.bytes();
  if (b.size() < kBpduOffset + kTcnBpduLen) {
    return std::nullopt;
  }
  if (Mac::from_bytes(b.data()) != kStpGroupMac) {
    return std::nullopt;
  }
  // LLC (llc_fixup_skb): the length field covers LLC + BPDU and must fit in the frame.
  const std::uint16_t len = load_be16(b.data() + 12);
  if (len > kMaxLengthField || len < kLlcLen + kTcnBpduLen || kEthHeaderLen + len > b.size()) {
    return std::nullopt;
  }
  const std::uint8_t* llc = b.data() + kEthHeaderLen;
  if (llc[0] != kStpLlc[0] || llc[1] != kStpLlc[1] || llc[2] != kStpLlc[2]) {
    return std::nullopt;
  }
  const std::uint8_t* p = b.data() + kBpduOffset;
  const std::size_t n = len - kLlcLen;
  // br_stp_rcv: protocol identifier 0 and version 0.
  if (p[0] != 0 || p[1] != 0 || p[2] != 0) {
    return std::nullopt;
  }
  Bpdu out;
  if (p[3] == static_cast<std::uint8_t>(BpduType::kTcn)) {
    out.type = BpduType::kTcn;
    return out;
  }
  if (p[3] != static_cast<std::uint8_t>(BpduType::kConfig) || n < kConfigBpduLen) {
    return std::nullopt;
  }
  out.type = BpduType::kConfig;
  auto& c = out.config;
  c.topology_change = (p[4] & 0x01) != 0;
  c.topology_change_ack = (p[4] & 0x80) != 0;
  c.root_id = load_be64(p + 5);
  c.root_path_cost = load_be32(p + 13);
  c.bridge_id = load_be64(p + 17);
  c.port_id = load_be16(p + 25);
  c.message_age_ns = from_ticks(p + 27);
  c.max_age_ns = from_ticks(p + 29);
  c.hello_time_ns = from_ticks(p + 31);
  c.forward_delay_ns = from_ticks(p + 33);
  return out;
}

// ---- Configuration ----

Bridge::Bridge(Mac bridge_mac, BridgeConfig cfg) : mac_{bridge_mac}, cfg_{cfg} {
  // The kernel never holds times outside its ranges; clamp rather than fail a constructor.
  cfg_.hello_time_ns = clamp_ns(cfg_.hello_time_ns, kStpMinHelloTimeNs, kStpMaxHelloTimeNs);
  cfg_.max_age_ns = clamp_ns(cfg_.max_age_ns, kStpMinMaxAgeNs, kStpMaxMaxAgeNs);
  if (cfg_.stp) {
    cfg_.forward_delay_ns =
        clamp_ns(cfg_.forward_delay_ns, kStpMinForwardDelayNs, kStpMaxForwardDelayNs);
  }
  bridge_id_ = make_bridge_id(cfg_.priority, mac_);
  designated_root_ = bridge_id_;
  max_age_ns_ = cfg_.max_age_ns;
  hello_time_ns_ = cfg_.hello_time_ns;
  forward_delay_ns_ = cfg_.forward_delay_ns;
  rebuild_local_entries(0);
}

void Bridge::advance(std::optional<std::uint64_t> now_ns) {
  if (now_ns) {
    now_ns_ = std::max(now_ns_, *now_ns);
  }
  run_timers(now_ns_);
}

std::uint32_t Bridge::add_port(Mac port_mac, BridgePortConfig pc, std::uint64_t now_ns) {
  advance(now_ns);
  assert(ports_.size() < kStpMaxPorts);
  // find_portno: the lowest free number from 1.
  std::uint16_t no = 1;
  while (port_by_no(no) != nullptr) {
    ++no;
  }
  Port p;
  p.mac = port_mac;
  p.cfg = pc;
  p.port_no = no;
  ports_.push_back(p);
  Port& np = ports_.back();
  // new_nbp: br_init_port, then disabled until enabled below.
  init_port(np);
  np.state = StpPortState::kDisabled;
  rebuild_local_entries(now_ns_);
  const auto i = static_cast<std::uint32_t>(ports_.size() - 1);
  if (up_ && ports_[i].carrier) {
    stp_enable_port(ports_[i], now_ns_);
  }
  return i;
}

void Bridge::remove_port(std::uint32_t i, std::uint64_t now_ns) {
  advance(now_ns);
  if (i >= ports_.size()) {
    return;
  }
  // del_nbp: br_stp_disable_port, then br_fdb_delete_by_port(do_all).
  stp_disable_port(i, now_ns_);
  const auto idx = static_cast<std::int32_t>(i);
  for (auto it = fdb_.begin(); it != fdb_.end();) {
    if (it->second.port == idx) {
      if (!it->second.local) {
        --n_learned_;
      }
      it = fdb_.erase(it);
      continue;
    }
    if (it->second.port > idx) {
      --it->second.port;
    }
    ++it;
  }
  ports_.erase(ports_.begin() + i);
  // BPDUs queued and not yet handed out: the removed port's are never sent (its device is
  // gone), later ports' indices shift down with their ports.
  std::erase_if(pending_, [i](const BpduOut& b) { return b.port == i; });
  for (auto& b : pending_) {
    if (b.port > i) {
      --b.port;
    }
  }
  rebuild_local_entries(now_ns_);  // another port may share the removed port's MAC
}

Status Bridge::set_port_config(std::uint32_t i, const BridgePortConfig& pc,
                               std::optional<std::uint64_t> now_ns) {
  if (pc.priority > kStpMaxPortPriority) {
    return fail(ERANGE, "RTNETLINK answers: Numerical result out of range");
  }
  if (pc.cost < kStpMinPathCost || pc.cost > kStpMaxPathCost) {
    return fail(ERANGE, "RTNETLINK answers: Numerical result out of range");
  }
  advance(now_ns);
  const std::uint64_t t = now_ns_;
  Port& p = ports_.at(i);
  const BridgePortConfig old = p.cfg;
  p.cfg = pc;
  p.cfg.priority = old.priority;
  p.cfg.cost = old.cost;
  if (pc.priority != old.priority) {
    // br_stp_set_port_priority.
    const std::uint16_t new_id = make_port_id(pc.priority, p.port_no);
    if (is_designated_port(p)) {
      p.designated_port = new_id;
    }
    p.port_id = new_id;
    p.cfg.priority = pc.priority;
    if (p.designated_bridge == bridge_id_ && p.port_id < p.designated_port) {
      become_designated_port(p);
      port_state_selection(t);
    }
  }
  if (pc.cost != old.cost) {
    // br_stp_set_path_cost.
    p.cfg.cost = pc.cost;
    configuration_update();
    port_state_selection(t);
  }
  return {};
}

void Bridge::set_port_carrier(std::uint32_t i, bool up, std::uint64_t now_ns) {
  advance(now_ns);
  Port& p = ports_.at(i);
  p.carrier = up;
  if (!up_) {
    return;  // br_port_carrier_check: nothing while the bridge is down
  }
  if (up) {
    if (p.state == StpPortState::kDisabled) {
      stp_enable_port(p, now_ns_);
    }
  } else if (p.state != StpPortState::kDisabled) {
    stp_disable_port(i, now_ns_);
  }
}

Status Bridge::set_port_state(std::uint32_t i, StpPortState s,
                              std::optional<std::uint64_t> now_ns) {
  if (static_cast<std::uint8_t>(s) > static_cast<std::uint8_t>(StpPortState::kBlocking)) {
    return fail(EINVAL, "RTNETLINK answers: Invalid argument");
  }
  if (kernel_stp()) {
    return fail(EBUSY, "RTNETLINK answers: Device or resource busy");
  }
  Port& p = ports_.at(i);
  if (!p.carrier && s != StpPortState::kDisabled) {
    return fail(ENETDOWN, "RTNETLINK answers: Network is down");
  }
  advance(now_ns);
  p.state = s;
  port_state_selection(now_ns_);
  return {};
}

Status Bridge::set_config(const BridgeConfig& c, std::uint64_t now_ns) {
  // br_changelink's checks (br_set_forward_delay, br_set_hello_time, br_set_max_age).
  if (c.forward_delay_ns != cfg_.forward_delay_ns && cfg_.stp &&
      (c.forward_delay_ns < kStpMinForwardDelayNs || c.forward_delay_ns > kStpMaxForwardDelayNs)) {
    return fail(ERANGE, "RTNETLINK answers: Numerical result out of range");
  }
  if (c.hello_time_ns < kStpMinHelloTimeNs || c.hello_time_ns > kStpMaxHelloTimeNs ||
      c.max_age_ns < kStpMinMaxAgeNs || c.max_age_ns > kStpMaxMaxAgeNs) {
    return fail(ERANGE, "RTNETLINK answers: Numerical result out of range");
  }
  advance(now_ns);
  const std::uint64_t t = now_ns_;
  const bool root = is_root_bridge();
  // __br_set_forward_delay, br_set_hello_time, br_set_max_age: the values in use follow only
  // on the root; elsewhere they are the root's.
  cfg_.forward_delay_ns = c.forward_delay_ns;
  cfg_.hello_time_ns = c.hello_time_ns;
  cfg_.max_age_ns = c.max_age_ns;
  if (root) {
    forward_delay_ns_ = cfg_.forward_delay_ns;
    hello_time_ns_ = cfg_.hello_time_ns;
    max_age_ns_ = cfg_.max_age_ns;
  }
  cfg_.ageing_time_ns = c.ageing_time_ns;
  cfg_.fdb_max_learned = c.fdb_max_learned;
  if (c.stp && !cfg_.stp) {
    // br_stp_start (kernel STP).
    if (cfg_.forward_delay_ns < kStpMinForwardDelayNs ||
        cfg_.forward_delay_ns > kStpMaxForwardDelayNs) {
      cfg_.forward_delay_ns =
          clamp_ns(cfg_.forward_delay_ns, kStpMinForwardDelayNs, kStpMaxForwardDelayNs);
      if (is_root_bridge()) {
        forward_delay_ns_ = cfg_.forward_delay_ns;
      }
    }
    cfg_.stp = true;
    if (up_) {
      hello_timer_ = t + hello_time_ns_;
    }
    port_state_selection(t);
  } else if (!c.stp && cfg_.stp) {
    // br_stp_stop for kernel STP only stops BPDUs; the timers run on (see the header).
    cfg_.stp = false;
  }
  if (c.priority != cfg_.priority) {
    // br_stp_set_bridge_priority.
    const bool was_root = is_root_bridge();
    cfg_.priority = c.priority;
    const std::uint64_t prio = std::uint64_t{c.priority} << 48;
    for (auto& p : ports_) {
      if (p.state != StpPortState::kDisabled && is_designated_port(p)) {
        p.designated_bridge = prio | (p.designated_bridge & kMacMask);
      }
    }
    bridge_id_ = prio | (bridge_id_ & kMacMask);
    configuration_update();
    port_state_selection(t);
    if (is_root_bridge() && !was_root) {
      become_root_bridge(t);
    }
  }
  return {};
}

void Bridge::set_bridge_mac(Mac mac, std::optional<std::uint64_t> now_ns) {
  advance(now_ns);
  if (mac == mac_) {
    return;
  }
  // br_stp_change_bridge_id.
  const std::uint64_t t = now_ns_;
  const bool was_root = is_root_bridge();
  const std::uint64_t old_addr = mac_.to_u64();
  mac_ = mac;
  rebuild_local_entries(t);
  bridge_id_ = (bridge_id_ & ~kMacMask) | mac.to_u64();
  for (auto& p : ports_) {
    if ((p.designated_bridge & kMacMask) == old_addr) {
      p.designated_bridge = (p.designated_bridge & ~kMacMask) | mac.to_u64();
    }
    if ((p.designated_root & kMacMask) == old_addr) {
      p.designated_root = (p.designated_root & ~kMacMask) | mac.to_u64();
    }
  }
  configuration_update();
  port_state_selection(t);
  if (is_root_bridge() && !was_root) {
    become_root_bridge(t);
  }
}

void Bridge::set_port_mac(std::uint32_t i, Mac mac) {
  ports_.at(i).mac = mac;
  rebuild_local_entries(now_ns_);  // br_fdb_changeaddr
}

void Bridge::set_up(bool up, std::uint64_t now_ns) {
  advance(now_ns);
  if (up == up_) {
    return;
  }
  if (up) {
    up_ = true;
    stp_enable_bridge(now_ns_);
  } else {
    stp_disable_bridge(now_ns_);  // IFF_UP is cleared after ndo_stop returns
    up_ = false;
  }
}

// ---- Data path (br_input.c, br_forward.c, br_device.c) ----

bool Bridge::should_deliver(const Port& to, std::optional<std::uint32_t> in, bool src_isolated,
                            std::uint32_t to_index) const {
  return (to.cfg.hairpin || !in || *in != to_index) && to.state == StpPortState::kForwarding &&
         !(src_isolated && to.cfg.isolated);
}

namespace {
enum class PktType : std::uint8_t { kUnicast, kMulticast, kBroadcast };
}

void Bridge::receive(std::uint32_t in, FrameView f, std::uint64_t now_ns, BridgeDecision& out) {
  out.clear();
  const auto eth = f.parse();
  if (!eth || in >= ports_.size()) {
    out.drop = DropReason::kMalformed;
    return;
  }
  now_ns_ = std::max(now_ns_, now_ns);
  Port& p = ports_[in];
  if (!eth->src.is_valid_unicast()) {
    out.drop = DropReason::kBadSrc;
    return;
  }
  const Mac& dst = eth->dst;
  const bool may_learn = p.cfg.learning && (p.state == StpPortState::kLearning ||
                                            p.state == StpPortState::kForwarding);
  if (is_link_local(dst)) {
    switch (dst.bytes[5]) {
      case 0x00:  // Bridge Group Address: forwarded while STP is off, to keep loops visible
        if (!kernel_stp()) {
          break;
        }
        if (may_learn) {
          fdb_update(in, eth->src, now_ns);  // __br_handle_local_finish
        }
        out.to_stp = true;
        return;
      case 0x01:  // MAC Control (PAUSE)
        out.drop = DropReason::kPause;
        return;
      default:  // group_fwd_mask 0: not bridged, to the port's own stack
        if (may_learn) {
          fdb_update(in, eth->src, now_ns);
        }
        out.to_host = true;
        out.link_local = true;
        return;
    }
  }
  if (p.state != StpPortState::kForwarding && p.state != StpPortState::kLearning) {
    out.drop = DropReason::kStpBlocked;
    return;
  }
  // br_handle_frame_finish.
  if (p.cfg.learning) {
    fdb_update(in, eth->src, now_ns);
  }
  PktType type = PktType::kUnicast;
  bool local_rcv = false;
  if (dst.is_broadcast()) {
    type = PktType::kBroadcast;
    local_rcv = true;
  } else if (dst.is_multicast()) {
    type = PktType::kMulticast;  // no querier: flooded, and the bridge device gets a copy
    local_rcv = true;
  }
  if (p.state == StpPortState::kLearning) {
    out.drop = DropReason::kStpBlocked;
    return;
  }
  const bool src_isolated = p.cfg.isolated;
  if (type == PktType::kUnicast) {
    const auto it = fdb_.find(dst.to_u64());
    if (it != fdb_.end()) {
      if (it->second.local) {
        out.to_host = true;  // br_pass_frame_up
        return;
      }
      it->second.used_ns = now_ns;
      const auto q = static_cast<std::uint32_t>(it->second.port);
      const Port& to = ports_[q];
      if (should_deliver(to, in, src_isolated, q)) {
        out.ports.push_back(q);
      } else if (q == in && !to.cfg.hairpin) {
        out.drop = DropReason::kSamePort;
      } else if (to.state != StpPortState::kForwarding) {
        out.drop = DropReason::kStpBlocked;
      } else {
        out.drop = DropReason::kIsolated;
      }
      return;
    }
  }
  // br_flood.
  for (std::uint32_t q = 0; q < ports_.size(); ++q) {
    const Port& to = ports_[q];
    const bool flag = type == PktType::kUnicast     ? to.cfg.flood
                      : type == PktType::kMulticast ? to.cfg.mcast_flood
                                                    : to.cfg.bcast_flood;
    if (flag && should_deliver(to, in, src_isolated, q)) {
      out.ports.push_back(q);
    }
  }
  out.to_host = local_rcv;
  if (out.ports.empty() && !local_rcv) {
    out.drop = DropReason::kNoEgress;
  }
}

void Bridge::transmit(FrameView f, std::uint64_t now_ns, BridgeDecision& out) {
  out.clear();
  const auto eth = f.parse();
  if (!eth) {
    out.drop = DropReason::kMalformed;
    return;
  }
  now_ns_ = std::max(now_ns_, now_ns);
  const Mac& dst = eth->dst;
  if (!dst.is_group()) {
    const auto it = fdb_.find(dst.to_u64());
    if (it != fdb_.end()) {
      // br_forward: the bridge's own address has no port (dropped); a port's local address
      // goes out of that port.
      const std::int32_t q = it->second.port;
      if (q >= 0 && should_deliver(ports_[static_cast<std::uint32_t>(q)], std::nullopt, false,
                                   static_cast<std::uint32_t>(q))) {
        out.ports.push_back(static_cast<std::uint32_t>(q));
      } else {
        out.drop = q >= 0 ? DropReason::kStpBlocked : DropReason::kNoEgress;
      }
      return;
    }
  }
  // br_flood from the bridge itself: bcast_flood and mcast_flood do not apply ("except for
  // traffic we originate"), flood does.
  for (std::uint32_t q = 0; q < ports_.size(); ++q) {
    const Port& to = ports_[q];
    if (!dst.is_group() && !to.cfg.flood) {
      continue;
    }
    if (should_deliver(to, std::nullopt, false, q)) {
      out.ports.push_back(q);
    }
  }
  if (out.ports.empty()) {
    out.drop = DropReason::kNoEgress;
  }
}

// ---- FDB (br_fdb.c) ----

std::uint64_t Bridge::hold_time_ns() const {
  return topology_change_ ? forward_delay_ns_ : cfg_.ageing_time_ns;
}

void Bridge::fdb_update(std::uint32_t in, const Mac& src, std::uint64_t now_ns) {
  if (hold_time_ns() == 0) {
    return;  // "some users want to always flood"
  }
  const auto it = fdb_.find(src.to_u64());
  if (it != fdb_.end()) {
    if (it->second.local) {
      return;  // our own address as source: the kernel warns and keeps the local entry
    }
    it->second.updated_ns = now_ns;
    it->second.port = static_cast<std::int32_t>(in);  // a station that moved
    return;
  }
  // fdb_create: a learned entry beyond fdb_max_learned is not created.
  if (cfg_.fdb_max_learned != 0 && n_learned_ >= cfg_.fdb_max_learned) {
    return;
  }
  fdb_.emplace(src.to_u64(), Fdb{static_cast<std::int32_t>(in), false, now_ns, now_ns});
  ++n_learned_;
}

void Bridge::fdb_cleanup(std::uint64_t now_ns) {
  const std::uint64_t hold = hold_time_ns();
  for (auto it = fdb_.begin(); it != fdb_.end();) {
    if (!it->second.local && it->second.updated_ns + hold <= now_ns) {
      --n_learned_;
      it = fdb_.erase(it);
    } else {
      ++it;
    }
  }
}

void Bridge::fdb_flush_port(std::uint32_t i) {
  const auto idx = static_cast<std::int32_t>(i);
  for (auto it = fdb_.begin(); it != fdb_.end();) {
    if (!it->second.local && it->second.port == idx) {
      --n_learned_;
      it = fdb_.erase(it);
    } else {
      ++it;
    }
  }
}

void Bridge::rebuild_local_entries(std::uint64_t now_ns) {
  for (auto it = fdb_.begin(); it != fdb_.end();) {
    it = it->second.local ? fdb_.erase(it) : std::next(it);
  }
  auto add_local = [&](const Mac& m, std::int32_t port) {
    const auto it = fdb_.find(m.to_u64());
    if (it != fdb_.end()) {
      if (it->second.local) {
        return;  // several owners of one address: the first keeps it
      }
      --n_learned_;  // fdb_add_local replaces a learned entry for our own address
      fdb_.erase(it);
    }
    fdb_.emplace(m.to_u64(), Fdb{port, true, now_ns, now_ns});
  };
  for (std::uint32_t i = 0; i < ports_.size(); ++i) {
    add_local(ports_[i].mac, static_cast<std::int32_t>(i));
  }
  add_local(mac_, -1);
}

std::vector<FdbEntry> Bridge::fdb() const {
  std::vector<FdbEntry> v;
  v.reserve(fdb_.size());
  for (const auto& [key, e] : fdb_) {
    FdbEntry fe;
    for (int b = 0; b < 6; ++b) {
      fe.mac.bytes[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(key >> (8 * (5 - b)));
    }
    fe.port = e.port;
    fe.local = e.local;
    fe.updated_ns = e.updated_ns;
    fe.used_ns = e.used_ns;
    v.push_back(fe);
  }
  return v;
}

std::optional<FdbEntry> Bridge::fdb_find(const Mac& mac) const {
  const auto it = fdb_.find(mac.to_u64());
  if (it == fdb_.end()) {
    return std::nullopt;
  }
  return FdbEntry{mac, it->second.port, it->second.local, it->second.updated_ns,
                  it->second.used_ns};
}

// ---- STP (br_stp.c) ----

Bridge::Port* Bridge::port_by_no(std::uint16_t port_no) {
  for (auto& p : ports_) {
    if (p.port_no == port_no) {
      return &p;
    }
  }
  return nullptr;
}

const Bridge::Port* Bridge::port_by_no(std::uint16_t port_no) const {
  for (const auto& p : ports_) {
    if (p.port_no == port_no) {
      return &p;
    }
  }
  return nullptr;
}

std::optional<std::uint32_t> Bridge::port_index(std::uint16_t port_no) const {
  const Port* p = port_by_no(port_no);
  if (p == nullptr) {
    return std::nullopt;
  }
  return index_of(*p);
}

bool Bridge::should_become_root_port(const Port& p, std::uint16_t root_port) const {
  if (p.state == StpPortState::kDisabled || is_designated_port(p)) {
    return false;
  }
  if (bridge_id_ <= p.designated_root) {
    return false;
  }
  if (root_port == 0) {
    return true;
  }
  const Port* rp = port_by_no(root_port);
  if (p.designated_root != rp->designated_root) {
    return p.designated_root < rp->designated_root;
  }
  const std::uint64_t cost = std::uint64_t{p.designated_cost} + p.cfg.cost;
  const std::uint64_t rp_cost = std::uint64_t{rp->designated_cost} + rp->cfg.cost;
  if (cost != rp_cost) {
    return cost < rp_cost;
  }
  if (p.designated_bridge != rp->designated_bridge) {
    return p.designated_bridge < rp->designated_bridge;
  }
  if (p.designated_port != rp->designated_port) {
    return p.designated_port < rp->designated_port;
  }
  return p.port_id < rp->port_id;
}

void Bridge::root_selection() {
  std::uint16_t root_port = 0;
  for (const auto& p : ports_) {
    if (should_become_root_port(p, root_port)) {
      root_port = p.port_no;
    }
  }
  root_port_ = root_port;
  if (root_port == 0) {
    designated_root_ = bridge_id_;
    root_path_cost_ = 0;
  } else {
    const Port* rp = port_by_no(root_port);
    designated_root_ = rp->designated_root;
    root_path_cost_ = rp->designated_cost + rp->cfg.cost;
  }
}

bool Bridge::should_become_designated_port(const Port& p) const {
  if (is_designated_port(p)) {
    return true;
  }
  if (p.designated_root != designated_root_) {
    return true;
  }
  if (root_path_cost_ != p.designated_cost) {
    return root_path_cost_ < p.designated_cost;
  }
  if (bridge_id_ != p.designated_bridge) {
    return bridge_id_ < p.designated_bridge;
  }
  return p.port_id < p.designated_port;
}

void Bridge::designated_port_selection() {
  for (auto& p : ports_) {
    if (p.state != StpPortState::kDisabled && should_become_designated_port(p)) {
      become_designated_port(p);
    }
  }
}

void Bridge::configuration_update() {
  root_selection();
  designated_port_selection();
}

void Bridge::become_designated_port(Port& p) {
  p.designated_root = designated_root_;
  p.designated_cost = root_path_cost_;
  p.designated_bridge = bridge_id_;
  p.designated_port = p.port_id;
}

void Bridge::become_root_bridge(std::uint64_t t) {
  max_age_ns_ = cfg_.max_age_ns;
  hello_time_ns_ = cfg_.hello_time_ns;
  forward_delay_ns_ = cfg_.forward_delay_ns;
  topology_change_detection(t);
  tcn_timer_.reset();
  if (up_) {
    config_bpdu_generation(t);
    hello_timer_ = t + hello_time_ns_;
  }
}

void Bridge::make_forwarding(Port& p, std::uint64_t t) {
  if (p.state != StpPortState::kBlocking) {
    return;
  }
  if (!kernel_stp() || forward_delay_ns_ == 0) {
    p.state = StpPortState::kForwarding;
    topology_change_detection(t);
    p.forward_delay_timer.reset();
  } else {
    p.state = StpPortState::kListening;
  }
  if (forward_delay_ns_ != 0) {
    p.forward_delay_timer = t + forward_delay_ns_;
  }
}

void Bridge::make_blocking(Port& p, std::uint64_t t) {
  if (p.state == StpPortState::kDisabled || p.state == StpPortState::kBlocking) {
    return;
  }
  if (p.state == StpPortState::kForwarding || p.state == StpPortState::kLearning) {
    topology_change_detection(t);
  }
  p.state = StpPortState::kBlocking;
  p.forward_delay_timer.reset();
}

void Bridge::port_state_selection(std::uint64_t t) {
  for (auto& p : ports_) {
    if (p.state == StpPortState::kDisabled) {
      continue;
    }
    if (p.port_no == root_port_) {
      p.config_pending = false;
      p.topology_change_ack = false;
      make_forwarding(p, t);
    } else if (is_designated_port(p)) {
      p.message_age_timer.reset();
      make_forwarding(p, t);
    } else {
      p.config_pending = false;
      p.topology_change_ack = false;
      make_blocking(p, t);
    }
  }
}

void Bridge::set_topology_change(bool tc) {
  // __br_set_topology_change: hold_time() then ages entries by the forward delay.
  topology_change_ = tc;
}

void Bridge::topology_change_detection(std::uint64_t t) {
  if (!kernel_stp() || !up_) {
    return;
  }
  if (is_root_bridge()) {
    set_topology_change(true);
    topology_change_timer_ = t + cfg_.forward_delay_ns + cfg_.max_age_ns;
  } else if (!topology_change_detected_) {
    transmit_tcn(t);
    tcn_timer_ = t + cfg_.hello_time_ns;
  }
  topology_change_detected_ = true;
}

void Bridge::config_bpdu_generation(std::uint64_t t) {
  for (auto& p : ports_) {
    if (p.state != StpPortState::kDisabled && is_designated_port(p)) {
      transmit_config(p, t);
    }
  }
}

void Bridge::send(std::uint32_t port_index, std::vector<std::uint8_t> frame) {
  pending_.push_back(BpduOut{port_index, std::move(frame)});
}

void Bridge::transmit_config(Port& p, std::uint64_t t) {
  if (p.hold_timer) {
    p.config_pending = true;
    return;
  }
  ConfigBpdu b;
  b.topology_change = topology_change_;
  b.topology_change_ack = p.topology_change_ack;
  b.root_id = designated_root_;
  b.root_path_cost = root_path_cost_;
  b.bridge_id = bridge_id_;
  b.port_id = p.port_id;
  if (!is_root_bridge()) {
    const Port* rp = port_by_no(root_port_);
    const std::int64_t age = static_cast<std::int64_t>(t) - rp->designated_age_ns;
    b.message_age_ns =
        static_cast<std::uint64_t>(std::max<std::int64_t>(age, 0)) + kMessageAgeIncrNs;
  }
  b.max_age_ns = max_age_ns_;
  b.hello_time_ns = hello_time_ns_;
  b.forward_delay_ns = forward_delay_ns_;
  if (b.message_age_ns < max_age_ns_) {
    if (kernel_stp()) {
      send(index_of(p), encode_config_bpdu(p.mac, b));
    }
    p.topology_change_ack = false;
    p.config_pending = false;
    if (kernel_stp()) {
      p.hold_timer = t + kStpHoldTimeNs;
    }
  }
}

void Bridge::transmit_tcn(std::uint64_t /*t*/) {
  Port* rp = port_by_no(root_port_);
  if (rp != nullptr && kernel_stp()) {
    send(index_of(*rp), encode_tcn_bpdu(rp->mac));
  }
}

void Bridge::received_config_bpdu(Port& p, const ConfigBpdu& b, std::uint64_t t) {
  const bool was_root = is_root_bridge();
  // br_supersedes_port_info.
  bool supersedes = false;
  if (b.root_id != p.designated_root) {
    supersedes = b.root_id < p.designated_root;
  } else if (b.root_path_cost != p.designated_cost) {
    supersedes = b.root_path_cost < p.designated_cost;
  } else if (b.bridge_id != p.designated_bridge) {
    supersedes = b.bridge_id < p.designated_bridge;
  } else if (b.bridge_id != bridge_id_) {
    supersedes = true;
  } else {
    supersedes = b.port_id <= p.designated_port;
  }
  if (supersedes) {
    // br_record_config_information.
    p.designated_root = b.root_id;
    p.designated_cost = b.root_path_cost;
    p.designated_bridge = b.bridge_id;
    p.designated_port = b.port_id;
    p.designated_age_ns =
        static_cast<std::int64_t>(t) - static_cast<std::int64_t>(b.message_age_ns);
    p.message_age_timer = t + (b.max_age_ns - b.message_age_ns);
    configuration_update();
    port_state_selection(t);
    if (!is_root_bridge() && was_root) {
      hello_timer_.reset();
      if (topology_change_detected_) {
        topology_change_timer_.reset();
        transmit_tcn(t);
        tcn_timer_ = t + cfg_.hello_time_ns;
      }
    }
    if (p.port_no == root_port_) {
      // br_record_config_timeout_values.
      max_age_ns_ = b.max_age_ns;
      hello_time_ns_ = b.hello_time_ns;
      forward_delay_ns_ = b.forward_delay_ns;
      set_topology_change(b.topology_change);
      config_bpdu_generation(t);
      if (b.topology_change_ack) {
        // br_topology_change_acknowledged.
        topology_change_detected_ = false;
        tcn_timer_.reset();
      }
    }
  } else if (is_designated_port(p)) {
    transmit_config(p, t);  // br_reply
  }
}

void Bridge::received_tcn_bpdu(Port& p, std::uint64_t t) {
  if (is_designated_port(p)) {
    topology_change_detection(t);
    p.topology_change_ack = true;  // br_topology_change_acknowledge
    transmit_config(p, t);
  }
}

bool Bridge::is_designated_for_some_port() const {
  return std::any_of(ports_.begin(), ports_.end(), [&](const Port& p) {
    return p.state != StpPortState::kDisabled && p.designated_bridge == bridge_id_;
  });
}

// ---- STP interface (br_stp_if.c) ----

void Bridge::init_port(Port& p) {
  p.port_id = make_port_id(p.cfg.priority, p.port_no);
  become_designated_port(p);
  p.state = StpPortState::kBlocking;
  p.topology_change_ack = false;
  p.config_pending = false;
}

void Bridge::stp_enable_port(Port& p, std::uint64_t t) {
  init_port(p);
  port_state_selection(t);
}

void Bridge::stp_disable_port(std::uint32_t i, std::uint64_t t) {
  Port& p = ports_[i];
  const bool was_root = is_root_bridge();
  become_designated_port(p);
  p.state = StpPortState::kDisabled;
  p.topology_change_ack = false;
  p.config_pending = false;
  p.message_age_timer.reset();
  p.forward_delay_timer.reset();
  p.hold_timer.reset();
  fdb_flush_port(i);  // br_fdb_cleanup_by_dst: what was learned on it
  configuration_update();
  port_state_selection(t);
  if (is_root_bridge() && !was_root) {
    become_root_bridge(t);
  }
}

void Bridge::stp_enable_bridge(std::uint64_t t) {
  if (kernel_stp()) {
    hello_timer_ = t + hello_time_ns_;
  }
  config_bpdu_generation(t);
  for (auto& p : ports_) {
    if (p.carrier) {
      stp_enable_port(p, t);
    }
  }
}

void Bridge::stp_disable_bridge(std::uint64_t t) {
  for (std::uint32_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i].state != StpPortState::kDisabled) {
      stp_disable_port(i, t);
    }
  }
  set_topology_change(false);
  topology_change_detected_ = false;
  hello_timer_.reset();
  topology_change_timer_.reset();
  tcn_timer_.reset();
}

// ---- Timers (br_stp_timer.c) ----

void Bridge::run_timers(std::uint64_t now_ns) {
  enum class Kind : std::uint8_t {
    kNone,
    kHello,
    kTcn,
    kTopologyChange,
    kMessageAge,
    kForwardDelay,
    kHold
  };
  for (;;) {
    Kind kind = Kind::kNone;
    std::uint64_t when = 0;
    std::uint32_t which = 0;
    auto consider = [&](const std::optional<std::uint64_t>& timer, Kind k, std::uint32_t i) {
      if (timer && *timer <= now_ns && (kind == Kind::kNone || *timer < when)) {
        kind = k;
        when = *timer;
        which = i;
      }
    };
    consider(hello_timer_, Kind::kHello, 0);
    consider(tcn_timer_, Kind::kTcn, 0);
    consider(topology_change_timer_, Kind::kTopologyChange, 0);
    for (std::uint32_t i = 0; i < ports_.size(); ++i) {
      consider(ports_[i].message_age_timer, Kind::kMessageAge, i);
      consider(ports_[i].forward_delay_timer, Kind::kForwardDelay, i);
      consider(ports_[i].hold_timer, Kind::kHold, i);
    }
    const std::uint64_t t = when;
    switch (kind) {
      case Kind::kNone:
        return;
      case Kind::kHello:
        hello_timer_.reset();
        if (up_) {
          config_bpdu_generation(t);
          if (kernel_stp()) {
            hello_timer_ = t + std::max(hello_time_ns_, kJiffyNs);
          }
        }
        break;
      case Kind::kTcn:
        tcn_timer_.reset();
        if (!is_root_bridge() && up_) {
          transmit_tcn(t);
          tcn_timer_ = t + cfg_.hello_time_ns;
        }
        break;
      case Kind::kTopologyChange:
        topology_change_timer_.reset();
        topology_change_detected_ = false;
        set_topology_change(false);
        break;
      case Kind::kMessageAge: {
        Port& p = ports_[which];
        p.message_age_timer.reset();
        if (p.state == StpPortState::kDisabled) {
          break;
        }
        // The neighbour on this port is lost: claim the segment and re-elect.
        const bool was_root = is_root_bridge();
        become_designated_port(p);
        configuration_update();
        port_state_selection(t);
        if (is_root_bridge() && !was_root) {
          become_root_bridge(t);
        }
        break;
      }
      case Kind::kForwardDelay: {
        Port& p = ports_[which];
        p.forward_delay_timer.reset();
        if (p.state == StpPortState::kListening) {
          p.state = StpPortState::kLearning;
          p.forward_delay_timer = t + forward_delay_ns_;
        } else if (p.state == StpPortState::kLearning) {
          p.state = StpPortState::kForwarding;
          if (is_designated_for_some_port()) {
            topology_change_detection(t);
          }
        }
        break;
      }
      case Kind::kHold: {
        Port& p = ports_[which];
        p.hold_timer.reset();
        if (p.config_pending) {
          transmit_config(p, t);
        }
        break;
      }
    }
  }
}

void Bridge::tick(std::uint64_t now_ns, std::vector<BpduOut>& out) {
  advance(now_ns);
  if (up_) {
    fdb_cleanup(now_ns_);
  }
  for (auto& b : pending_) {
    out.push_back(std::move(b));
  }
  pending_.clear();
}

void Bridge::receive_bpdu(std::uint32_t in, FrameView f, std::uint64_t now_ns,
                          std::vector<BpduOut>& out) {
  advance(now_ns);
  const std::uint64_t t = now_ns_;
  const auto bpdu = parse_bpdu(f);
  if (bpdu && in < ports_.size() && kernel_stp() && up_ &&
      ports_[in].state != StpPortState::kDisabled) {
    Port& p = ports_[in];
    if (bpdu->type == BpduType::kTcn) {
      received_tcn_bpdu(p, t);
    } else if (bpdu->config.message_age_ns <= bpdu->config.max_age_ns) {
      received_config_bpdu(p, bpdu->config, t);
    }
  }
  for (auto& b : pending_) {
    out.push_back(std::move(b));
  }
  pending_.clear();
}

// ---- Status ----

StpPortStatus Bridge::port_stp(std::uint32_t i) const {
  const Port& p = ports_.at(i);
  StpPortStatus s;
  s.state = p.state;
  s.port_no = p.port_no;
  s.port_id = p.port_id;
  s.designated_root = p.designated_root;
  s.designated_bridge = p.designated_bridge;
  s.designated_port = p.designated_port;
  s.designated_cost = p.designated_cost;
  s.topology_change_ack = p.topology_change_ack;
  s.config_pending = p.config_pending;
  return s;
}

StpBridgeStatus Bridge::stp() const {
  StpBridgeStatus s;
  s.bridge_id = bridge_id_;
  s.root_id = designated_root_;
  s.root_port = root_port_;
  s.root_path_cost = root_path_cost_;
  s.topology_change = topology_change_;
  s.topology_change_detected = topology_change_detected_;
  s.max_age_ns = max_age_ns_;
  s.hello_time_ns = hello_time_ns_;
  s.forward_delay_ns = forward_delay_ns_;
  return s;
}

bool Bridge::carrier() const {
  return std::any_of(ports_.begin(), ports_.end(),
                     [](const Port& p) { return p.state == StpPortState::kForwarding; });
}

}  // namespace subnic::core
