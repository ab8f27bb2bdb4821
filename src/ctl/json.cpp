// Exception-free JSON dumping for protocol lines.
#include "ctl/json.hpp"

namespace subnic::ctl {

std::string dump_compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace subnic::ctl
