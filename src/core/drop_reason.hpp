// Named drop reasons: every frame subnic drops is counted under one of these, visible with `-s`.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace subnic::core {

enum class DropReason : std::uint8_t {
  kNone = 0,
  kMalformed,    // shorter than its headers claim (runt, truncated VLAN tag)
  kNoCarrier,    // the upper's carrier is off because the lower is down (§2.9)
  kLowerDown,    // bridge-mode local forward while the lower is not up (dev_forward_skb)
  kTooBig,       // longer than the receiver's MTU + 18 and not GSO (is_skb_forwardable)
  kBcQueueFull,  // broadcast queue full or of length 0 (macvlan_broadcast_enqueue)
  kUpperDown,    // passthru upper is down (macvlan_handle_frame)
  kNoQueue,      // the upper's endpoint is not attached (daemon restarting, TAP closed)
  kWriteFailed,  // the endpoint refused the frame (full, gone)
  kPrivate,      // ipvlan private: unicast between uppers (ipvlan_xmit_mode_l2/_l3)
  kNotRoutable,  // ipvlan l3/l3s: not IPv4/IPv6, ARP, or broadcast/multicast (process_outbound)
  kPause,        // ipvlan: group frame of EtherType 0x8808; bridge: dst 01:80:c2:00:00:01
  kNoInject,     // ipvlan l2: non-IP, non-ARP frame for the lower's own stack: not injectable
  kRouteFailed,  // the lower namespace refused the routed packet (no route, sendto error)
  kBadSrc,       // bridge: source MAC is multicast or all-zero (br_handle_frame)
  kStpBlocked,   // bridge: port state drops data: disabled, blocking, listening; learning
                 // learns then drops (br_handle_frame, br_handle_frame_finish)
  kSamePort,     // bridge: unicast back out of its ingress port without hairpin (should_deliver)
  kIsolated,     // bridge: ingress and egress port both isolated (br_skb_isolated)
  kNoEgress,     // bridge: no port may take it and no local copy (br_flood, br_forward)
  kSrcMac,       // a VM endpoint (macvtap/ipvtap) sent a source MAC that is not its upper's
  kSpoofed,      // spoofchk on: source MAC (macvlan) or source IP (ipvlan) not the sender's own
  kCount,
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(DropReason::kCount)>
    kDropReasonNames = {"none",          "malformed",  "no_carrier", "lower_down",   "too_big",
                        "bc_queue_full", "upper_down", "no_queue",   "write_failed", "private",
                        "not_routable",  "pause",      "no_inject",  "route_failed", "bad_src",
                        "stp_blocked",   "same_port",  "isolated",   "no_egress",    "src_mac",
                        "spoofed"};

inline constexpr std::string_view to_string(DropReason r) {
  return kDropReasonNames[static_cast<std::size_t>(r)];
}

}  // namespace subnic::core
