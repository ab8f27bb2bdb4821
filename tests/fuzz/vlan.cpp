// Fuzz target: the VLAN devices of one lower (core/vlan.hpp): configuration from the input,
// then VlanTable::classify and the tag push/pop of every frame.
//
// Input: [lower byte] [n devices] n x [3 bytes] then frames: [2-byte length] [frame] ...
// Invariants: no two devices share (protocol, VID) and every VID is at most 4094; classify
// names an existing device whose protocol and VID are the frame's outer tag, UP for kVlan and
// down for kDownDrop; kMalformed exactly when the frame does not parse; pop(push(frame)) is
// the frame, and pushing then classifying finds the pushed tag.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "core/vlan.hpp"
#include "fuzz_input.hpp"

using namespace subnic;
using namespace subnic::core;
using subnic::fuzz::pool_mac;

namespace {

void check_classify(const VlanTable& t, FrameView frame) {
  const auto r = t.classify(frame);
  const auto eth = frame.parse();
  FUZZ_CHECK((r.kind == VlanRx::kMalformed) == !eth.has_value());
  if (r.kind == VlanRx::kVlan || r.kind == VlanRx::kDownDrop) {
    FUZZ_CHECK(r.index < t.devices().size());
    const auto& d = t.devices()[r.index];
    FUZZ_CHECK(d.up == (r.kind == VlanRx::kVlan));
    FUZZ_CHECK(eth->vlan_id && *eth->vlan_id == d.vid);
    FUZZ_CHECK(static_cast<std::uint16_t>(d.proto) == eth->ethertype);
  }
  if (r.kind == VlanRx::kOtherHost) {
    FUZZ_CHECK(eth->vlan_id && *eth->vlan_id != 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in{data, size};
  const std::uint8_t lb = in.u8();
  const bool lower_up = (lb & 1) != 0;
  const std::uint32_t lower_mtu = (lb & 2) != 0 ? 9000 : 1500;
  VlanTable t;
  const unsigned n = in.u8() % 9;
  for (unsigned i = 0; i < n; ++i) {
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    const std::uint8_t c = in.u8();
    const auto proto = (a & 0x80) != 0 ? VlanProto::k8021AD : VlanProto::k8021Q;
    // VIDs 0..7 mostly (the seeds' tags), sometimes the edges 4094/4095.
    const std::uint16_t vid = (a & 0x40) != 0 ? static_cast<std::uint16_t>(4094 + (a & 1))
                                              : static_cast<std::uint16_t>(a & 0x07);
    std::optional<std::uint32_t> mtu;
    if ((c & 0x01) != 0) {
      mtu = (c & 0x02) != 0 ? 1400u : 10000u;
    }
    std::optional<Mac> mac;
    if ((c & 0x04) != 0) {
      mac = pool_mac(c >> 4);
    }
    const auto idx = t.add(i + 1, proto, vid, b & 0x3f, mtu, mac, lower_mtu, pool_mac(0));
    if (idx && (c & 0x08) != 0) {
      (void)t.open(*idx, lower_up);
    }
    if ((b & 0xc0) == 0xc0 && !t.devices().empty()) {
      t.remove(static_cast<std::uint32_t>(c % t.devices().size()));
    }
    if ((b & 0xc0) == 0x80) {
      for (const auto j : t.lower_admin((c & 0x10) != 0)) {
        FUZZ_CHECK(j < t.devices().size());
      }
    }
  }
  std::set<std::pair<VlanProto, std::uint16_t>> seen;
  for (const auto& d : t.devices()) {
    FUZZ_CHECK(d.vid <= kVlanMaxVid);
    FUZZ_CHECK(seen.emplace(d.proto, d.vid).second);
    FUZZ_CHECK(d.mtu <= lower_mtu);
  }

  std::vector<std::uint8_t> buf;
  while (!in.empty()) {
    const auto bytes = in.chunk();
    check_classify(t, FrameView{bytes});
    if (bytes.size() < kEthHeaderLen) {
      continue;  // (a tagged frame under 18 bytes does not parse)
    }
    // push, classify, pop: the frame again.
    buf.assign(kVlanTagLen, 0);
    buf.insert(buf.end(), bytes.begin(), bytes.end());
    const std::uint16_t tci = load_be16(bytes.data() + 12);
    const auto proto = (tci & 1) != 0 ? VlanProto::k8021AD : VlanProto::k8021Q;
    std::uint8_t* tagged = push_vlan_tag(buf.data() + kVlanTagLen, bytes.size(), proto, tci);
    FUZZ_CHECK(tagged == buf.data());
    const FrameView tv{tagged, buf.size()};
    check_classify(t, tv);
    const auto eth = tv.parse();
    FUZZ_CHECK(eth && eth->vlan_id == (tci & 0x0fff) &&
               eth->ethertype == static_cast<std::uint16_t>(proto));
    std::uint8_t* untagged = pop_vlan_tag(tagged, buf.size());
    FUZZ_CHECK(untagged == buf.data() + kVlanTagLen);
    FUZZ_CHECK(std::memcmp(untagged, bytes.data(), bytes.size()) == 0);
  }
  return 0;
}
