// DHCP transaction demultiplexing for uppers that share one MAC (ipvlan), beyond the kernel.
//
// Several ipvlan uppers share the lower's MAC, so a DHCP server's replies (RFC 2131) — sent to
// that MAC, unicast to the offered address or broadcast — cannot be told apart by the kernel.
// subnic remembers which upper sent each request (transaction id `xid`, RFC 2131 §2, and the
// client identifier option 61, RFC 2132 §9.14) and hands each reply to that upper only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/frame.hpp"

namespace subnic::core {

inline constexpr std::uint16_t kDhcpServerPort = 67;
inline constexpr std::uint16_t kDhcpClientPort = 68;
inline constexpr std::size_t kMaxClientIdLen = 32;  // bytes kept of option 61 (longer: cut)

/// The fields of one DHCP message that demultiplexing needs.
struct DhcpInfo {
  std::uint8_t op = 0;  // 1 BOOTREQUEST (client to server), 2 BOOTREPLY
  std::uint32_t xid = 0;
  std::uint8_t client_id_len = 0;  // 0 = no option 61
  std::array<std::uint8_t, kMaxClientIdLen> client_id{};
};

/// Parses an untagged Ethernet/IPv4/UDP frame carrying DHCP: a BOOTREQUEST from the client port
/// to the server port, or a BOOTREPLY from the server port to the client port, with the magic
/// cookie. nullopt for anything else, for fragments, and for truncated headers. Options are
/// scanned bounds-checked up to the end of the UDP payload (or option 255).
std::optional<DhcpInfo> parse_dhcp(FrameView frame);

/// Which upper (by the daemon's stable id) sent which request: a ring of the last kSlots
/// distinct (xid, client id) pairs. Not thread-safe: owned by the datapath thread.
class DhcpTable {
 public:
  static constexpr std::size_t kSlots = 64;

  /// Records that upper `upper_id` sent request `req` (an existing entry for the same xid and
  /// client id is updated in place).
  void learn(const DhcpInfo& req, std::uint64_t upper_id);
  /// The upper that sent the request `reply` answers: same xid, and the same client id when
  /// both carry one (servers echo it, RFC 6842). nullopt when none matches.
  std::optional<std::uint64_t> lookup(const DhcpInfo& reply) const;
  /// Forgets every request of `upper_id` (the upper was deleted).
  void forget(std::uint64_t upper_id);

 private:
  struct Slot {
    bool used = false;
    DhcpInfo req;
    std::uint64_t upper = 0;
  };
  std::array<Slot, kSlots> slots_{};
  std::size_t next_ = 0;
};

}  // namespace subnic::core
