// The Internet checksum (RFC 1071) written out plainly for tests, as an oracle independent of
// the code under test (core::inet_sum / inet_fold).
#pragma once

#include <cstddef>
#include <cstdint>

namespace subnic::test {

/// 32-bit running ones-complement sum of big-endian 16-bit words (odd tail padded with zero).
inline std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    acc += (std::uint32_t{p[i]} << 8) | p[i + 1];
  }
  if (n % 2 != 0) {
    acc += std::uint32_t{p[n - 1]} << 8;
  }
  return acc;
}

/// End-around carry down to 16 bits (not complemented).
inline std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<std::uint16_t>(acc);
}

}  // namespace subnic::test
