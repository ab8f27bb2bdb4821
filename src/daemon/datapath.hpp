// The datapath thread: reads bursts from lowers and TAP uppers, asks the core, writes the copies.
//
// Contract: the control thread builds an immutable Snapshot (ports, their lower socket, their
// uppers' TAPs, all index-aligned with the port's uppers()) and publishes it; the
// datapath thread loads it once per wakeup, never per frame, and takes no lock. File
// descriptors are owned by shared objects that every snapshot referencing them keeps alive,
// so an fd is closed only after the datapath has let go of the last snapshot that used it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/dhcp.hpp"
#include "daemon/counters.hpp"
#include "daemon/port.hpp"
#include "io/af_packet.hpp"
#include "io/raw_ip.hpp"
#include "io/tap.hpp"
#include "sys/netlink.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::daemon {

/// One upper's endpoint and counters. `broken` is set by the datapath when the TAP fails for
/// good (device deleted): the control thread then removes the upper.
struct UpperIo {
  explicit UpperIo(io::Tap t) : tap{std::move(t)} {}
  io::Tap tap;
  DeviceCounters counters;
  std::atomic<bool> broken{false};
};

/// One lower's packet socket and counters (frames received on / sent to the lower).
struct LowerIo {
  explicit LowerIo(io::PacketSocket s) : sock{std::move(s)} {}
  io::PacketSocket sock;
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

struct PortSnapshot {
  Port port;
  std::shared_ptr<LowerIo> lower;
  std::vector<std::shared_ptr<UpperIo>> uppers;  // index-aligned with port.uppers()
};

/// What an epoll key stands for in a snapshot: a lower (upper == -1) or one upper of a port.
struct Endpoint {
  std::uint32_t port = 0;
  std::int32_t upper = -1;
};

struct Snapshot {
  std::vector<PortSnapshot> ports;
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
  /// Writes every copy `d` delivers (buf = vnet header + frame, len bytes) and counts them.
  void deliver(const PortSnapshot& ps, const core::Decision& d, std::uint8_t* buf, std::size_t len);
  /// Hands the IP packet in `buf` (vnet header + frame) to the lower namespace's IP output;
  /// completes a partial checksum first. False when it could not be sent.
  bool route(const PortSnapshot& ps, std::uint8_t* buf, std::size_t len);
  /// Applies an ARP frame for the lower's stack as arp_process would: the sender's existing
  /// neighbour entry on the lower becomes REACHABLE (reply) or STALE (request) with its MAC.
  void learn_neigh(const PortSnapshot& ps, core::FrameView frame);
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
  core::Decision decision_;
};

}  // namespace subnic::daemon
