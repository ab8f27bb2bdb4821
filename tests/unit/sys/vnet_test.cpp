// The virtio-net header layout restated in io/vnet.hpp matches the kernel's struct virtio_net_hdr.
#include "io/vnet.hpp"

#include <gtest/gtest.h>

#include <cstddef>

namespace subnic::io {
namespace {

// Offsets of struct virtio_net_hdr (include/uapi/linux/virtio_net.h).
static_assert(offsetof(VnetHdr, flags) == 0);
static_assert(offsetof(VnetHdr, gso_type) == 1);
static_assert(offsetof(VnetHdr, hdr_len) == 2);
static_assert(offsetof(VnetHdr, gso_size) == 4);
static_assert(offsetof(VnetHdr, csum_start) == 6);
static_assert(offsetof(VnetHdr, csum_offset) == 8);

TEST(Vnet, PlainHeaderIsAllZero) {
  for (auto b : plain_vnet_hdr()) {
    EXPECT_EQ(b, 0);
  }
  EXPECT_EQ(plain_vnet_hdr().size(), kVnetHdrLen);
}

TEST(Vnet, MaxFrameHoldsA64KiBSuperFrameWithHeaders) {
  EXPECT_GE(kMaxFrame, kVnetHdrLen + 65536);
}

}  // namespace
}  // namespace subnic::io
