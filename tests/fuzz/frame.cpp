// Fuzz target: the frame parsers of core — FrameView::parse, l3_key (ipvlan's L3 lookup key),
// parse_dhcp, parse_bpdu — and the BPDU encoders they must agree with.
//
// Input: one Ethernet frame, as read from a lower.
// Invariants: parse succeeds exactly for 14+ bytes (18+ when tagged) and its offsets lie in the
// frame; l3_key and parse_dhcp find nothing in what does not parse; a DHCP message is a
// request or a reply with a client id of at most 32 bytes; a parsed config BPDU re-encodes to a
// frame that parses back to the same fields (times in whole 1/256 s).
#include <cstddef>
#include <cstdint>

#include "core/bridge.hpp"
#include "core/dhcp.hpp"
#include "core/ipvlan.hpp"
#include "fuzz_input.hpp"

using namespace subnic;
using namespace subnic::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const FrameView frame{data, size};
  const auto eth = frame.parse();
  if (size < kEthHeaderLen) {
    FUZZ_CHECK(!eth);
  }
  if (eth) {
    FUZZ_CHECK(eth->payload_offset <= size);
    FUZZ_CHECK(eth->vlan_id.has_value() ==
               (eth->ethertype == kEthPVlan || eth->ethertype == kEthPQinQ));
    FUZZ_CHECK(eth->payload_offset == kEthHeaderLen + (eth->vlan_id ? kVlanTagLen : 0));
    FUZZ_CHECK(!eth->vlan_id || *eth->vlan_id <= 0x0fff);
    FUZZ_CHECK(eth->vlan_id || eth->inner_ethertype == eth->ethertype);
    FUZZ_CHECK(eth->dst == Mac::from_bytes(data) && eth->src == Mac::from_bytes(data + 6));
    for (const bool use_dest : {false, true}) {
      if (const auto k = l3_key(frame, *eth, use_dest)) {
        FUZZ_CHECK(eth->ethertype == kEthPIpv6 || k->v4());
        (void)k->to_string();
      }
    }
  } else {
    FUZZ_CHECK(size < kEthHeaderLen + kVlanTagLen);
  }

  if (const auto d = parse_dhcp(frame)) {
    FUZZ_CHECK(eth && !eth->vlan_id && eth->ethertype == kEthPIpv4);
    FUZZ_CHECK(d->op == 1 || d->op == 2);
    FUZZ_CHECK(d->client_id_len <= kMaxClientIdLen);
    DhcpTable t;
    t.learn(*d, 7);
    if (d->op == 2) {
      FUZZ_CHECK(t.lookup(*d) == 7u);
    }
  }

  if (const auto b = parse_bpdu(frame)) {
    FUZZ_CHECK(eth && eth->dst == kStpGroupMac);
    if (b->type == BpduType::kConfig) {
      const auto again = parse_bpdu(FrameView{encode_config_bpdu(eth->src, b->config)});
      FUZZ_CHECK(again && again->type == BpduType::kConfig && again->config == b->config);
    } else {
      const auto again = parse_bpdu(FrameView{encode_tcn_bpdu(eth->src)});
      FUZZ_CHECK(again && again->type == BpduType::kTcn);
    }
  }
  return 0;
}
