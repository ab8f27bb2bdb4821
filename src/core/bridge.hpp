// Learning bridge with IEEE 802.1D-1998 spanning tree, as the Linux bridge does it (kernel STP).
//
// Source of every rule: torvalds/linux net/bridge/ — br_input.c (br_handle_frame,
// br_handle_frame_finish, __br_handle_local_finish), br_forward.c (should_deliver, br_forward,
// br_flood), br_device.c (br_dev_xmit), br_fdb.c (br_fdb_update, fdb_create, br_fdb_cleanup,
// hold_time), br_if.c (br_add_if, del_nbp, br_port_carrier_check), br_netlink.c
// (br_set_port_state), br_stp.c, br_stp_if.c, br_stp_bpdu.c, br_stp_timer.c (the 802.1D state
// machine) — and /work/shared/docs/semantics.md §6. A Bridge is `struct net_bridge` with its
// ports: it decides, for one frame, which ports get a copy; it runs STP on BPDUs and on time
// passed in by the caller. No I/O, no clock, no threads: the daemon applies the decisions and
// sends the BPDUs.
//
// Not modelled: VLAN filtering (every frame is VID 0), multicast snooping (every multicast is
// flooded as with no querier), group_fwd_mask (0), static/user FDB entries, proxy ARP, backup
// ports, BPDU guard, root block, user-space STP, MST, and the bridge device's promiscuity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/drop_reason.hpp"
#include "core/error.hpp"
#include "core/frame.hpp"
#include "core/mac.hpp"

namespace subnic::core {

/// Port states with their BR_STATE_* values (include/uapi/linux/if_bridge.h).
enum class StpPortState : std::uint8_t {
  kDisabled = 0,
  kListening = 1,
  kLearning = 2,
  kForwarding = 3,
  kBlocking = 4,
};

/// "disabled", "listening", "learning", "forwarding", "blocking" (br_port_state_names).
std::string_view to_string(StpPortState s);

/// The Bridge Group Address, destination of every BPDU (br_group_address).
inline constexpr Mac kStpGroupMac{{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}};

/// Time limits of the kernel (br_private_stp.h), in ns.
inline constexpr std::uint64_t kStpMinHelloTimeNs = 1'000'000'000;
inline constexpr std::uint64_t kStpMaxHelloTimeNs = 10'000'000'000;
inline constexpr std::uint64_t kStpMinForwardDelayNs = 2'000'000'000;
inline constexpr std::uint64_t kStpMaxForwardDelayNs = 30'000'000'000;
inline constexpr std::uint64_t kStpMinMaxAgeNs = 6'000'000'000;
inline constexpr std::uint64_t kStpMaxMaxAgeNs = 40'000'000'000;
/// A designated port sends at most one config BPDU per hold time (BR_HOLD_TIME = 1 s; the
/// kernel rounds its expiry to a whole second, subnic does not).
inline constexpr std::uint64_t kStpHoldTimeNs = 1'000'000'000;
/// Port id = priority << kStpPortBits | port_no (BR_PORT_BITS): 10 bits of port number, so the
/// port priority is 0..63 (default 32, giving port ids 0x8001, 0x8002, ...).
inline constexpr unsigned kStpPortBits = 10;
inline constexpr std::uint16_t kStpMaxPortPriority = 0xffff >> kStpPortBits;  // 63
inline constexpr std::uint32_t kStpMaxPorts = (1U << kStpPortBits) - 1;       // port_no 1..1023
inline constexpr std::uint32_t kStpMinPathCost = 1;                           // BR_MIN_PATH_COST
inline constexpr std::uint32_t kStpMaxPathCost = 65535;                       // BR_MAX_PATH_COST

/// Bridge-wide settings (`ip link add type bridge ...`). Times in ns.
struct BridgeConfig {
  /// FDB entry lifetime since last seen (ageing_time). 0 means the kernel learns nothing and
  /// floods every unicast (br_fdb_update: "some users want to always flood").
  std::uint64_t ageing_time_ns = 300'000'000'000;
  bool stp = false;  // stp_state 1: kernel STP
  /// The bridge's own STP times (bridge_forward_delay, bridge_hello_time, bridge_max_age); a
  /// non-root bridge uses the root's, learned from its root port's BPDUs.
  std::uint64_t forward_delay_ns = 15'000'000'000;
  std::uint64_t hello_time_ns = 2'000'000'000;
  std::uint64_t max_age_ns = 20'000'000'000;
  std::uint16_t priority = 0x8000;    // bridge priority: the top 16 bits of the bridge id
  std::uint32_t fdb_max_learned = 0;  // 0 = unlimited; else at most this many learned entries
  friend bool operator==(const BridgeConfig&, const BridgeConfig&) = default;
};

/// Per-port settings (`ip link set P type bridge_slave ...`, `bridge link set dev P ...`).
struct BridgePortConfig {
  bool hairpin = false;         // BR_HAIRPIN_MODE: frames may leave by the port they came in
  bool learning = true;         // BR_LEARNING
  bool flood = true;            // BR_FLOOD: unknown unicast is flooded to this port
  bool mcast_flood = true;      // BR_MCAST_FLOOD
  bool bcast_flood = true;      // BR_BCAST_FLOOD
  bool isolated = false;        // BR_ISOLATED: no forwarding between two isolated ports
  std::uint16_t priority = 32;  // STP port priority, 0..63
  std::uint32_t cost = 100;     // STP path cost, 1..65535 (no speed-based default)
  friend bool operator==(const BridgePortConfig&, const BridgePortConfig&) = default;
};

/// One forwarding database entry (`bridge fdb show`).
struct FdbEntry {
  Mac mac;
  std::int32_t port = -1;        // port index; -1 = the bridge device itself
  bool local = false;            // one of the bridge's own addresses ("permanent")
  std::uint64_t updated_ns = 0;  // last time the source was seen (ageing counts from here)
  std::uint64_t used_ns = 0;     // last time a frame was forwarded to it
  friend bool operator==(const FdbEntry&, const FdbEntry&) = default;
};

/// What the bridge decided for one frame. Reused between frames: clear() keeps capacity.
struct BridgeDecision {
  std::vector<std::uint32_t> ports;  // port indices to send a copy out of, ascending
  /// A copy for the bridge device's own stack (its TAP). For link-local frames other than STP
  /// and PAUSE the kernel passes them to the *ingress port's* own stack instead
  /// (RX_HANDLER_PASS); subnic has none, so they come here, with `link_local` set.
  bool to_host = false;
  bool link_local = false;  // with to_host: a 01:80:c2:00:00:0X frame the kernel does not bridge
  bool to_stp = false;      // a frame for the bridge's STP: pass it to receive_bpdu()
  DropReason drop = DropReason::kNone;  // the whole frame was dropped, for this reason

  void clear() {
    ports.clear();
    to_host = false;
    link_local = false;
    to_stp = false;
    drop = DropReason::kNone;
  }
};

/// A BPDU to send: a whole 802.3 frame (dst 01:80:c2:00:00:00, src the port's MAC, length
/// field, LLC 42 42 03, then the BPDU), unpadded as the kernel builds it (52 bytes for a config
/// BPDU, 21 for a TCN).
struct BpduOut {
  std::uint32_t port = 0;  // port index
  std::vector<std::uint8_t> frame;
};

/// BPDU types (BPDU_TYPE_CONFIG, BPDU_TYPE_TCN).
enum class BpduType : std::uint8_t { kConfig = 0x00, kTcn = 0x80 };

/// The fields of a configuration BPDU (struct br_config_bpdu). Bridge ids are
/// priority << 48 | MAC; times in ns (1/256 s on the wire).
struct ConfigBpdu {
  bool topology_change = false;
  bool topology_change_ack = false;
  std::uint64_t root_id = 0;
  std::uint32_t root_path_cost = 0;
  std::uint64_t bridge_id = 0;
  std::uint16_t port_id = 0;
  std::uint64_t message_age_ns = 0;
  std::uint64_t max_age_ns = 0;
  std::uint64_t hello_time_ns = 0;
  std::uint64_t forward_delay_ns = 0;
  friend bool operator==(const ConfigBpdu&, const ConfigBpdu&) = default;
};

/// A parsed BPDU: `config` is meaningful for kConfig only.
struct Bpdu {
  BpduType type = BpduType::kConfig;
  ConfigBpdu config;
};

/// Bytes of the BPDU itself, after the 3-byte LLC header (br_send_config_bpdu,
/// br_send_tcn_bpdu).
inline constexpr std::size_t kConfigBpduLen = 35;
inline constexpr std::size_t kTcnBpduLen = 4;

/// The frame for a configuration BPDU sent by a port with MAC `src` (br_send_config_bpdu +
/// br_send_bpdu). Times are truncated to 1/256 s as br_set_ticks does.
std::vector<std::uint8_t> encode_config_bpdu(const Mac& src, const ConfigBpdu& b);
/// The frame for a Topology Change Notification BPDU (br_send_tcn_bpdu).
std::vector<std::uint8_t> encode_tcn_bpdu(const Mac& src);
/// Parses a BPDU frame as the kernel's LLC + br_stp_rcv accept it: destination the group
/// address, an 802.3 length field (<= 1500) covering LLC 42 42 03, protocol id 0 and version
/// 0, type config (35 bytes) or TCN. nullopt for anything else, including RST/MST BPDUs
/// (version != 0), which the kernel's STP ignores.
std::optional<Bpdu> parse_bpdu(FrameView f);

/// The bridge's STP state, as `ip -d link show` prints it.
struct StpBridgeStatus {
  std::uint64_t bridge_id = 0;  // priority << 48 | MAC
  std::uint64_t root_id = 0;    // designated_root
  std::uint16_t root_port = 0;  // kernel port_no of the root port; 0 = this bridge is root
  std::uint32_t root_path_cost = 0;
  bool topology_change = false;
  bool topology_change_detected = false;
  std::uint64_t max_age_ns = 0;  // in use (the root's when not root)
  std::uint64_t hello_time_ns = 0;
  std::uint64_t forward_delay_ns = 0;
};

/// One port's STP state (`ip -d link show` of a bridge_slave).
struct StpPortStatus {
  StpPortState state = StpPortState::kDisabled;
  std::uint16_t port_no = 0;  // kernel port number, from 1
  std::uint16_t port_id = 0;  // priority << 10 | port_no
  std::uint64_t designated_root = 0;
  std::uint64_t designated_bridge = 0;
  std::uint16_t designated_port = 0;
  std::uint32_t designated_cost = 0;
  bool topology_change_ack = false;
  bool config_pending = false;
};

/// A Linux bridge and its ports. Ports are addressed by index (0..ports()-1); removing a port
/// shifts the indices of later ports down by one. The kernel port number (port_no, used in
/// port ids and root_port) is stable and is the lowest free one from 1, as find_portno picks.
///
/// Like the kernel, a new Bridge is administratively down (every port disabled): call
/// set_up(true). A new port is assumed to have carrier: call set_port_carrier(i, false) if not.
///
/// Time: every call that can change STP state takes `now_ns` (any monotonic clock, the same
/// for all calls) and first runs the timers that expired by then. BPDUs that such calls cause
/// (e.g. a port going down makes this bridge root) are queued and handed out by the next
/// tick() or receive_bpdu().
class Bridge {
 public:
  explicit Bridge(Mac bridge_mac, BridgeConfig cfg = {});

  /// Adds a port (br_add_if): local FDB entry for its MAC; enabled (STP: blocking, then
  /// per port_state_selection; no STP: forwarding) if the bridge is up. Returns its index.
  /// Precondition: fewer than kStpMaxPorts ports.
  std::uint32_t add_port(Mac port_mac, BridgePortConfig pc = {}, std::uint64_t now_ns = 0);
  /// Removes port `i` (del_nbp): disabled as on carrier loss (the STP recomputes), then every
  /// FDB entry on it is deleted, its local entry included.
  void remove_port(std::uint32_t i, std::uint64_t now_ns);
  /// Changes a port's flags, priority and cost (br_setport, br_stp_set_port_priority,
  /// br_stp_set_path_cost). ERANGE: priority above 63, cost outside 1..65535 (nothing is
  /// changed then).
  /// `now_ns` nullopt = the latest time given to any call (as for the other setters below).
  Status set_port_config(std::uint32_t i, const BridgePortConfig& pc,
                         std::optional<std::uint64_t> now_ns = std::nullopt);
  /// The port's carrier (and admin state) changed (br_port_carrier_check; only while the bridge
  /// is up): down -> disabled, its learned entries flushed; up -> enabled (no STP: forwarding;
  /// STP: blocking then listening/learning/forwarding as elected).
  void set_port_carrier(std::uint32_t i, bool up, std::uint64_t now_ns);
  /// `bridge link set dev P state N` (br_set_port_state): EINVAL for N > 4; EBUSY while kernel
  /// STP runs; ENETDOWN for a port without carrier unless N is disabled. Then the kernel's
  /// port_state_selection runs, so with STP off "blocking" becomes forwarding at once while
  /// "listening"/"learning" stay as set.
  Status set_port_state(std::uint32_t i, StpPortState s,
                        std::optional<std::uint64_t> now_ns = std::nullopt);
  /// Applies bridge settings (br_changelink order: forward delay, hello, max age, ageing,
  /// stp_state, priority). ERANGE: hello_time outside 1..10 s, max_age outside 6..40 s, or
  /// forward_delay outside 2..30 s while STP is on (before this change); nothing is changed
  /// then. STP on: br_stp_start (forward delay clamped into 2..30 s; ports keep their states
  /// until the next election). STP off: br_stp_stop for kernel STP, which only stops sending
  /// BPDUs: blocked ports stay blocked until their stored information ages out (max_age),
  /// then forward at once.
  Status set_config(const BridgeConfig& cfg, std::uint64_t now_ns);
  /// The bridge device's MAC (br_stp_change_bridge_id): bridge id and local FDB entry follow.
  void set_bridge_mac(Mac mac, std::optional<std::uint64_t> now_ns = std::nullopt);
  /// A port's MAC changed (br_fdb_changeaddr): its local FDB entry follows.
  void set_port_mac(std::uint32_t i, Mac mac);
  /// The bridge device's admin state (br_dev_open -> br_stp_enable_bridge, br_dev_stop ->
  /// br_stp_disable_bridge): down disables every port and flushes what they learned.
  void set_up(bool up, std::uint64_t now_ns);

  /// A frame received on port `in` (br_handle_frame, br_handle_frame_finish, should_deliver).
  /// Learns its source; STP BPDUs (with STP on) are only marked `to_stp`.
  void receive(std::uint32_t in, FrameView f, std::uint64_t now_ns, BridgeDecision& out);
  /// A frame sent by the bridge device's own stack (br_dev_xmit): no learning; known unicast
  /// to its port; group and unknown frames flooded (bcast/mcast_flood do not apply to frames
  /// the bridge sends itself; flood does).
  void transmit(FrameView f, std::uint64_t now_ns, BridgeDecision& out);
  /// A BPDU received on port `in` (br_stp_rcv): ignored unless kernel STP is on, the bridge is
  /// up and the port not disabled. Appends what must be sent (replies, TCNs, queued BPDUs).
  void receive_bpdu(std::uint32_t in, FrameView f, std::uint64_t now_ns, std::vector<BpduOut>& out);
  /// Runs every timer due by `now_ns` (hello, message age, forward delay, hold, TCN, topology
  /// change) and FDB ageing (br_fdb_cleanup: learned entries not seen for hold time — the
  /// forward delay during a topology change, else ageing_time — are removed). Appends the
  /// BPDUs to send. Call at least every 100 ms.
  void tick(std::uint64_t now_ns, std::vector<BpduOut>& out);

  /// Every FDB entry (order unspecified).
  std::vector<FdbEntry> fdb() const;
  /// The entry for `mac`, if any.
  std::optional<FdbEntry> fdb_find(const Mac& mac) const;
  /// Learned (not local) entries: what fdb_max_learned bounds (fdb_n_learned).
  std::size_t fdb_learned() const { return n_learned_; }

  std::size_t ports() const { return ports_.size(); }
  StpPortState port_state(std::uint32_t i) const { return ports_.at(i).state; }
  const BridgePortConfig& port_config(std::uint32_t i) const { return ports_.at(i).cfg; }
  Mac port_mac(std::uint32_t i) const { return ports_.at(i).mac; }
  bool port_carrier(std::uint32_t i) const { return ports_.at(i).carrier; }
  /// Index of the port with kernel number `port_no`, if any.
  std::optional<std::uint32_t> port_index(std::uint16_t port_no) const;
  StpPortStatus port_stp(std::uint32_t i) const;
  StpBridgeStatus stp() const;
  const BridgeConfig& config() const { return cfg_; }
  Mac bridge_mac() const { return mac_; }
  bool up() const { return up_; }
  /// The bridge device's carrier: on while at least one port forwards (br_port_state_selection).
  bool carrier() const;

 private:
  struct Port {
    Mac mac;
    BridgePortConfig cfg;
    bool carrier = true;
    StpPortState state = StpPortState::kDisabled;
    std::uint16_t port_no = 0;
    std::uint16_t port_id = 0;
    std::uint64_t designated_root = 0;
    std::uint64_t designated_bridge = 0;
    std::uint32_t designated_cost = 0;
    std::uint16_t designated_port = 0;
    std::int64_t designated_age_ns = 0;  // when the recorded info had message age 0
    bool topology_change_ack = false;
    bool config_pending = false;
    std::optional<std::uint64_t> message_age_timer;  // expiry times, ns
    std::optional<std::uint64_t> forward_delay_timer;
    std::optional<std::uint64_t> hold_timer;
  };
  struct Fdb {
    std::int32_t port = -1;
    bool local = false;
    std::uint64_t updated_ns = 0;
    std::uint64_t used_ns = 0;
  };

  // Data path helpers.
  bool should_deliver(const Port& to, std::optional<std::uint32_t> in, bool src_isolated,
                      std::uint32_t to_index) const;
  void fdb_update(std::uint32_t in, const Mac& src, std::uint64_t now_ns);
  std::uint64_t hold_time_ns() const;
  void fdb_cleanup(std::uint64_t now_ns);
  void fdb_flush_port(std::uint32_t i);
  void rebuild_local_entries(std::uint64_t now_ns);

  // STP (br_stp.c, br_stp_if.c, br_stp_timer.c), `t` = the time of the event.
  Port* port_by_no(std::uint16_t port_no);
  const Port* port_by_no(std::uint16_t port_no) const;
  /// Moves the clock to max(now, latest seen) and runs the timers due by then.
  void advance(std::optional<std::uint64_t> now_ns);
  bool is_designated_for_some_port() const;
  bool kernel_stp() const { return cfg_.stp; }
  bool is_root_bridge() const { return bridge_id_ == designated_root_; }
  bool is_designated_port(const Port& p) const {
    return p.designated_bridge == bridge_id_ && p.designated_port == p.port_id;
  }
  bool should_become_root_port(const Port& p, std::uint16_t root_port) const;
  void root_selection();
  bool should_become_designated_port(const Port& p) const;
  void designated_port_selection();
  void configuration_update();
  void become_designated_port(Port& p);
  void become_root_bridge(std::uint64_t t);
  void port_state_selection(std::uint64_t t);
  void make_forwarding(Port& p, std::uint64_t t);
  void make_blocking(Port& p, std::uint64_t t);
  void set_topology_change(bool tc);
  void topology_change_detection(std::uint64_t t);
  void config_bpdu_generation(std::uint64_t t);
  void transmit_config(Port& p, std::uint64_t t);
  void transmit_tcn(std::uint64_t t);
  void received_config_bpdu(Port& p, const ConfigBpdu& b, std::uint64_t t);
  void received_tcn_bpdu(Port& p, std::uint64_t t);
  void init_port(Port& p);
  void stp_enable_port(Port& p, std::uint64_t t);
  void stp_disable_port(std::uint32_t i, std::uint64_t t);
  void stp_enable_bridge(std::uint64_t t);
  void stp_disable_bridge(std::uint64_t t);
  void change_bridge_id(std::uint64_t new_id, std::uint64_t t);
  /// Fires every timer due by `now` in expiry order, each at its own expiry time.
  void run_timers(std::uint64_t now_ns);
  void send(std::uint32_t port_index, std::vector<std::uint8_t> frame);
  std::uint32_t index_of(const Port& p) const {
    return static_cast<std::uint32_t>(&p - ports_.data());
  }

  Mac mac_;
  BridgeConfig cfg_;
  bool up_ = false;
  std::vector<Port> ports_;
  std::unordered_map<std::uint64_t, Fdb> fdb_;  // key: Mac::to_u64()
  std::size_t n_learned_ = 0;

  std::uint64_t bridge_id_ = 0;
  std::uint64_t designated_root_ = 0;
  std::uint32_t root_path_cost_ = 0;
  std::uint16_t root_port_ = 0;
  std::uint64_t max_age_ns_ = 0;  // in use: the root's, or ours when root
  std::uint64_t hello_time_ns_ = 0;
  std::uint64_t forward_delay_ns_ = 0;
  bool topology_change_ = false;
  bool topology_change_detected_ = false;
  std::optional<std::uint64_t> hello_timer_;
  std::optional<std::uint64_t> tcn_timer_;
  std::optional<std::uint64_t> topology_change_timer_;
  std::vector<BpduOut> pending_;  // BPDUs produced outside tick()/receive_bpdu()
  std::uint64_t now_ns_ = 0;      // the latest time given to any call
};

}  // namespace subnic::core
