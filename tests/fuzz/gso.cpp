// Fuzz target: software GSO and checksum completion for frames going to a VM (io/gso.hpp). The
// input is the guest's offload byte followed by what a lower hands the datapath: a virtio-net
// header (host order) and the Ethernet frame.
//
// Input: [offloads byte] [10-byte vnet header] [Ethernet frame]
// Invariants: an error passes nothing on; a frame that fits the guest comes out once, unchanged
// and without a copy; every frame passed on fits the guest, carries no GSO, holds at least the
// header and an Ethernet header and lies inside the scratch buffer (or is the input); the count
// returned is the number of frames taken. Segments cut (2 or more) from an IPv4 super-frame have a
// correct IPv4 header checksum, and, when the guest takes no partial checksums and the input
// asked for none, a correct TCP/UDP checksum (complete IPv4 datagrams).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/frame.hpp"
#include "fuzz_input.hpp"
#include "io/gso.hpp"

using namespace subnic;
using namespace subnic::io;

namespace {

std::array<std::uint8_t, kGsoScratch> g_scratch;

// The IPv4 header of an Ethernet frame (after up to two tags), or nullptr.
const std::uint8_t* ipv4_of(const std::uint8_t* eth, std::size_t len, std::size_t& ip_len) {
  std::size_t off = 12;
  for (int tags = 0; tags < 3 && off + 2 <= len; ++tags) {
    const std::uint16_t t = core::load_be16(eth + off);
    if (t == core::kEthPVlan || t == core::kEthPQinQ) {
      off += 4;
      continue;
    }
    if (t != core::kEthPIpv4 || off + 2 + 20 > len) {
      return nullptr;
    }
    const std::uint8_t* ip = eth + off + 2;
    const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
    const std::size_t tot = core::load_be16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || off + 2 + tot > len) {
      return nullptr;
    }
    ip_len = tot;
    return ip;
  }
  return nullptr;
}

void check_ipv4(const std::uint8_t* ip, std::size_t ip_len, bool l4_too) {
  const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
  FUZZ_CHECK(core::inet_fold(core::inet_sum(ip, ihl)) == 0xffff);
  const bool fragment = (core::load_be16(ip + 6) & 0x3fff) != 0;
  const std::uint8_t proto = ip[9];
  if (!l4_too || fragment || (proto != 6 && proto != 17)) {
    return;
  }
  const std::size_t l4_len = ip_len - ihl;
  if (proto == 17 && (l4_len < 8 || core::load_be16(ip + ihl + 6) == 0)) {
    return;  // no UDP checksum
  }
  if (proto == 6 && l4_len < 20) {
    return;
  }
  std::uint64_t acc = core::inet_sum(ip + 12, 8);
  acc += proto;
  acc += l4_len;
  acc = core::inet_sum(ip + ihl, l4_len, acc);
  FUZZ_CHECK(core::inet_fold(acc) == 0xffff);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size - 1 > kMaxFrame) {
    return 0;
  }
  const std::uint8_t ob = data[0];
  GuestOffloads g;
  g.csum = (ob & 0x01) != 0;
  g.tso4 = (ob & 0x02) != 0;
  g.tso6 = (ob & 0x04) != 0;
  g.tso_ecn = (ob & 0x08) != 0;
  g.ufo = (ob & 0x10) != 0;
  const std::span<const std::uint8_t> input{data + 1, size - 1};
  const VnetHdr h = load_vnet_hdr(input);
  const bool fits_as_is = fits(h, g);
  const bool is_gso = (h.gso_type & ~kVnetGsoEcn) != kVnetGsoNone;

  std::vector<std::vector<std::uint8_t>> segments;  // copies of what GSO cut
  std::size_t calls = 0;
  std::size_t taken = 0;
  const auto n = segment(input, g, g_scratch, [&](std::span<const std::uint8_t> f) {
    ++calls;
    FUZZ_CHECK(f.size() >= kVnetHdrLen + core::kEthHeaderLen);
    const VnetHdr oh = load_vnet_hdr(f);
    FUZZ_CHECK(fits(oh, g));
    if (f.data() == input.data()) {
      FUZZ_CHECK(fits_as_is && f.size() == input.size());
      ++taken;
      return true;
    }
    FUZZ_CHECK(f.data() >= g_scratch.data() &&
               f.data() + f.size() <= g_scratch.data() + g_scratch.size());
    FUZZ_CHECK((oh.gso_type & ~kVnetGsoEcn) == kVnetGsoNone);
    FUZZ_CHECK(oh.gso_size == 0 && oh.hdr_len == 0);
    if (is_gso) {
      segments.emplace_back(f.begin(), f.end());
    }
    const bool take = (ob & 0x80) == 0 || calls < 2;  // sometimes the sink stops early
    taken += take ? 1 : 0;
    return take;
  });
  if (!n) {
    FUZZ_CHECK(calls == 0);
    FUZZ_CHECK(n.error().code == EINVAL);  // (a malformed frame is refused even if it fits)
  } else {
    FUZZ_CHECK(*n == taken);
    FUZZ_CHECK(calls >= 1);
    if (fits_as_is) {
      FUZZ_CHECK(calls == 1);
    }
  }
  // A GSO frame that fits one segment is passed on as it came (checksums included), so only
  // frames that were really cut are checked.
  if (segments.size() >= 2) {
    for (const auto& f : segments) {
      std::size_t ip_len = 0;
      if (const auto* ip = ipv4_of(f.data() + kVnetHdrLen, f.size() - kVnetHdrLen, ip_len)) {
        check_ipv4(ip, ip_len, !g.csum && (h.flags & kVnetFNeedsCsum) == 0);
      }
    }
  }
  return 0;
}
