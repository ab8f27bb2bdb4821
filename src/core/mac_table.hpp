// A small open-addressing hash table from MAC to index: the port's vlan_hash, allocation-free
// lookups.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/mac.hpp"

namespace subnic::core {

/// Maps MACs to 32-bit values. Built once per configuration change, then read-only: lookups
/// are a multiply, a mask and a short linear probe. Capacity is a power of two at least twice
/// the entry count, so probes stay short. Duplicate keys keep the first value inserted.
class MacTable {
 public:
  void rebuild(const std::vector<std::pair<Mac, std::uint32_t>>& entries) {
    std::size_t cap = 8;
    while (cap < entries.size() * 2) {
      cap *= 2;
    }
    keys_.assign(cap, 0);
    values_.assign(cap, 0);
    mask_ = cap - 1;
    for (const auto& [mac, value] : entries) {
      const std::uint64_t key = mac.to_u64() + 1;  // 0 marks an empty slot
      std::size_t i = slot(key);
      while (keys_[i] != 0 && keys_[i] != key) {
        i = (i + 1) & mask_;
      }
      if (keys_[i] == 0) {
        keys_[i] = key;
        values_[i] = value;
      }
    }
  }

  std::optional<std::uint32_t> find(const Mac& mac) const {
    if (keys_.empty()) {
      return std::nullopt;
    }
    const std::uint64_t key = mac.to_u64() + 1;
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) {
        return values_[i];
      }
      if (keys_[i] == 0) {
        return std::nullopt;
      }
    }
  }

 private:
  std::size_t slot(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t mask_ = 0;
};

}  // namespace subnic::core
