// What every port type shares: multicast lists and the upper receive filter.
#include "core/port.hpp"

#include <algorithm>

namespace subnic::core {

std::vector<Mac> normalize_mc_list(std::vector<Mac> list) {
  std::erase_if(list, [](const Mac& m) { return !m.is_multicast(); });
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  return list;
}

bool UpperRxFilter::accepts_group(const Mac& dst) const {
  return dst.is_broadcast() || promisc || allmulti ||
         std::binary_search(mc_list.begin(), mc_list.end(), dst);
}

void UpperRxFilter::set_rx(bool promisc_on, bool allmulti_on, std::vector<Mac> list) {
  promisc = promisc_on;
  allmulti = allmulti_on;
  mc_list = normalize_mc_list(std::move(list));
}

}  // namespace subnic::core
