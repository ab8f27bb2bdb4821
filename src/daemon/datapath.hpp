// The datapath thread: reads bursts from lowers and TAP uppers, asks the core, writes the copies.
//
// Contract: the control thread builds an immutable Snapshot (ports, their lower socket, their
// uppers' TAPs, all index-aligned with the port's uppers()) and publishes it; the
// datapath thread loads it once per wakeup, never per frame, and takes no lock. File
// descriptors are owned by shared objects that every snapshot referencing them keeps alive,
// so an fd is closed only after the datapath has let go of the last snapshot that used it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/bridge.hpp"
#include "core/dhcp.hpp"
#include "core/vlan.hpp"
#include "daemon/counters.hpp"
#include "daemon/port.hpp"
#include "io/af_packet.hpp"
#include "io/raw_ip.hpp"
#include "io/tap.hpp"
#include "io/vm_port.hpp"
#include "sys/netlink.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::daemon {

/// One upper's endpoint and counters. `broken` is set by the datapath when the TAP fails for
/// good (device deleted): the control thread then removes the upper.
///
/// A macvtap/ipvtap upper also has `vm`: while a guest is connected, frames the upper receives
/// go to the VM instead of the TAP (with no guest, to the TAP), and both the VM and the TAP's
/// own stack transmit through the upper, as a kernel macvtap's netdev and its /dev/tapN queue
/// do (drivers/net/tap.c tap_handle_frame steals every received frame for an open queue and
/// passes it to the netdev when none is open). Set by the control thread before the upper's first
/// snapshot and never replaced while one refers to it.
struct UpperIo {
  explicit UpperIo(io::Tap t) : tap{std::move(t)} {}
  io::Tap tap;
  std::unique_ptr<io::VmPort> vm;
  DeviceCounters counters;
  std::atomic<bool> broken{false};
};

/// The epoll key of an upper's VM endpoint: its id with this bit set (the TAP has the id).
inline constexpr std::uint64_t kVmKeyBit = 1ull << 62;

/// One lower's packet socket and counters (frames received on / sent to the lower). A port
/// stacked on a subnic VLAN device has no socket of its own: its frames leave through the
/// VLAN's physical lower (PortSnapshot::vlan).
struct LowerIo {
  LowerIo() = default;
  explicit LowerIo(io::PacketSocket s) : sock{std::move(s)} {}
  std::optional<io::PacketSocket> sock;
  DeviceCounters counters;
  std::atomic<bool> broken{false};
  /// ipvlan lowers: the lower namespace's IP output, forced out of the lower (l3/l3s routing,
  /// l2 frames for the lower's own stack). Opened by the control thread before the first
  /// snapshot that uses it.
  std::optional<io::RawIpSocket> route;
  /// ipvlan l2: which upper sent which DHCP request. Touched by the datapath thread only.
  core::DhcpTable dhcp;
  /// ipvlan l2: rtnetlink in the lower's namespace, for ARP the lower's stack should learn
  /// from (Decision::to_host_neigh). Used by the datapath thread only.
  std::optional<sys::Netlink> neigh;
};

/// One 802.1Q device of a physical lower, as the datapath sees it.
struct VlanSnap {
  std::shared_ptr<UpperIo> io;  // its TAP (the VLAN device's own stack) and its counters
  std::int32_t stacked = -1;    // Snapshot::ports index of the macvlan/ipvlan port on it, or -1
};

/// A port whose lower is a subnic VLAN device: frames for the wire get the VLAN's tag and leave
/// through the physical lower's socket; frames for the lower's own stack go to the VLAN's TAP.
struct VlanLink {
  std::shared_ptr<UpperIo> dev;   // the VLAN device's TAP and counters
  std::shared_ptr<LowerIo> phys;  // the physical lower under it
  core::VlanProto proto = core::VlanProto::k8021Q;
  std::uint16_t tci = 0;
};

struct PortSnapshot {
  Port port;
  std::shared_ptr<LowerIo> lower;
  std::vector<std::shared_ptr<UpperIo>> uppers;  // index-aligned with port.uppers()
  /// The VLAN devices on this (physical) lower, index-aligned with vlans.devices().
  core::VlanTable vlans;
  std::vector<VlanSnap> vlan_devs;
  /// Set when this port's lower is a subnic VLAN device.
  std::optional<VlanLink> vlan;
};

/// A subnic veth pair: what one end transmits, the other receives (drivers/net/veth.c).
struct VethSnap {
  std::array<std::shared_ptr<UpperIo>, 2> end;
  std::array<bool, 2> up{};            // admin up (netif_running)
  std::array<std::uint32_t, 2> mtu{};  // bytes
};

/// A subnic learning bridge. The core bridge (FDB, STP) is mutated by the datapath thread per
/// burst and read or configured by the control thread, both under `mu` (one lock per burst or
/// timer tick, never per frame). `ports` is index-aligned with br's ports.
struct BridgeIo {
  explicit BridgeIo(core::Bridge b) : br{std::move(b)} {}
  std::mutex mu;
  core::Bridge br;
  std::vector<std::shared_ptr<LowerIo>> ports;  // each port's packet socket
  std::shared_ptr<UpperIo> dev;                 // the bridge device's TAP
};

/// What an epoll key stands for in a snapshot.
struct Endpoint {
  enum class Kind : std::uint8_t { kLower, kUpper, kVm, kVlan, kVeth, kBridgePort, kBridgeDev };
  Kind kind = Kind::kLower;
  std::uint32_t port = 0;   // ports / veths / bridges index
  std::int32_t upper = -1;  // upper index, VLAN index, veth end, or bridge port socket index
};

struct BridgeSnap {
  std::shared_ptr<BridgeIo> io;
  std::vector<std::shared_ptr<LowerIo>> ports;  // sockets watched, by Endpoint::upper
};

struct Snapshot {
  std::vector<PortSnapshot> ports;
  std::vector<VethSnap> veths;
  std::vector<BridgeSnap> bridges;
  std::unordered_map<std::uint64_t, Endpoint> by_key;
};

class Datapath {
 public:
  Datapath() = default;
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;
  ~Datapath();

  /// Creates the epoll set and starts the thread. Errors: epoll_create1/eventfd failures.
  Status start();
  /// Stops and joins the thread (idempotent).
  void stop();

  /// Makes `snap` the configuration the next wakeup uses.
  void publish(std::shared_ptr<const Snapshot> snap);

  /// Adds `fd` (level-triggered, readable) under `key`; remove with unwatch before the owner
  /// drops it from the snapshot. Keys are the daemon's stable device ids.
  Status watch(std::uint64_t key, int fd);
  void unwatch(int fd);

 private:
  void run();
  void on_lower(const Snapshot& snap, const PortSnapshot& ps);
  void on_upper(const Snapshot& snap, const PortSnapshot& ps, std::uint32_t index);
  /// A macvtap/ipvtap upper's VM endpoint is readable: connection and control events, then a
  /// burst of the guest's frames, each transmitted by the upper (source MAC checked first).
  void on_vm(const PortSnapshot& ps, std::uint32_t index);
  /// One frame the upper transmits (`buf` = vnet header + frame, with kVlanTagLen bytes of
  /// headroom before it): the driver's decision, local copies, and the wire queue (wire_).
  void upper_transmit(const PortSnapshot& ps, std::uint32_t index, std::uint8_t* buf,
                      std::size_t len);
  /// Writes one frame the upper receives to its endpoint: the TAP, or the VM (segmented and
  /// with checksums completed to fit the guest's offloads). False when it was refused.
  bool to_upper(UpperIo& up, std::uint8_t* buf, std::size_t len);
  /// Notes that `vm` must be notified at the end of this wakeup (flush_vms).
  void mark_dirty(io::VmPort* vm);
  /// Notifies the guests that got frames or gave buffers back in this wakeup (VmPort::flush).
  /// Runs last in the wakeup: vm_dirty_ points into the wakeup's snapshot.
  void flush_vms();
  /// A port's receive on its lower: the driver's decision, then the copies. For a port on a
  /// VLAN device this is the VLAN device's receive (tag already popped).
  void port_receive(const PortSnapshot& ps, std::uint8_t* buf, std::size_t len,
                    core::BurstState& burst);
  /// What a physical lower's VLAN device `vi` receives (vlan_do_receive, tag popped).
  void vlan_receive(const Snapshot& snap, const PortSnapshot& ps, std::uint32_t vi,
                    std::uint8_t* buf, std::size_t len, core::BurstState& burst);
  /// Frames the VLAN device's own stack sent: tagged and sent on the physical lower.
  void on_vlan_tap(const PortSnapshot& ps, std::uint32_t vi);
  void on_veth(const VethSnap& v, std::uint32_t end);
  void on_bridge_port(const BridgeSnap& b, std::uint32_t sock_index);
  void on_bridge_dev(const BridgeSnap& b);
  /// Sends the bridge's decision for one frame; `buf` = vnet header + frame. Call with mu held.
  void bridge_out(BridgeIo& b, const core::BridgeDecision& d, std::uint8_t* buf, std::size_t len);
  void send_bpdus(BridgeIo& b);
  void tick_bridges(const Snapshot& snap);
  /// Reads one frame the TAP's own stack sent into `buf` (vnet header + frame). nullopt when
  /// none is pending or the TAP failed (then marked broken and unwatched, once, logged as
  /// `what`); 0 for a frame too short for an Ethernet header, counted as a malformed transmit.
  std::optional<std::size_t> read_tap(UpperIo& io, std::span<std::uint8_t> buf, const char* what);
  /// Receives one burst from `sock` into rx_slots_, with VLAN tags the kernel moved into
  /// metadata put back in the frames. Returns the count, or nullopt when the socket failed
  /// (marked broken and unwatched).
  std::optional<std::size_t> recv_lower(LowerIo& lower);
  /// Writes every copy `d` delivers (buf = vnet header + frame, len bytes) and counts them.
  void deliver(const PortSnapshot& ps, const core::Decision& d, std::uint8_t* buf, std::size_t len);
  /// Hands the IP packet in `buf` (vnet header + frame) to the lower namespace's IP output;
  /// completes a partial checksum first. False when it could not be sent.
  bool route(const PortSnapshot& ps, std::uint8_t* buf, std::size_t len);
  /// Applies an ARP frame for the lower's stack as arp_process would: the sender's existing
  /// neighbour entry on the lower becomes REACHABLE (reply) or STALE (request) with its MAC.
  void learn_neigh(const PortSnapshot& ps, core::FrameView frame);
  /// Sends wire_ (vnet header + frame each) on `lower`'s socket in batches and counts what
  /// went out; returns how many frames, from the front, were sent (the rest failed).
  std::size_t send_wire(LowerIo& lower);
  /// send_wire on the port's physical lower; what failed is dropped by its sender upper.
  void flush_wire(const PortSnapshot& ps);

  sys::UniqueFd epoll_;
  sys::UniqueFd wake_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::atomic<std::shared_ptr<const Snapshot>> snap_;

  // Buffers owned by the thread: one burst from a lower, one burst read from a TAP.
  std::vector<std::vector<std::uint8_t>> rx_bufs_;
  std::vector<io::RxSlot> rx_slots_;
  std::vector<std::vector<std::uint8_t>> tx_bufs_;
  std::vector<std::span<const std::uint8_t>> wire_;
  std::vector<std::uint32_t> wire_sender_;
  std::vector<io::VmPort*> vm_dirty_;      // VM endpoints sent to in this wakeup
  std::vector<std::uint8_t> gso_scratch_;  // one segment at a time (io::segment)
  core::Decision decision_;
  core::BridgeDecision bridge_decision_;
  std::vector<core::BpduOut> bpdus_;
  std::uint64_t last_tick_ns_ = 0;
};

}  // namespace subnic::daemon
