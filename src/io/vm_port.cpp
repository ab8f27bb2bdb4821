// The VM back ends by name.
#include "io/vm_port.hpp"

#include <cerrno>

#include "io/vhost_user.hpp"
#include "io/vm_stream.hpp"

namespace subnic::io {

Result<std::unique_ptr<VmPort>> listen_vm(std::string_view type, std::string path) {
  if (type == "stream") {
    auto p = StreamPort::listen(std::move(path));
    if (!p) {
      return tl::unexpected(p.error());
    }
    return std::unique_ptr<VmPort>{std::move(*p)};
  }
  if (type == "vhost-user") {
    auto p = VhostUserPort::listen(std::move(path));
    if (!p) {
      return tl::unexpected(p.error());
    }
    return std::unique_ptr<VmPort>{std::move(*p)};
  }
  return tl::unexpected(Error{EINVAL, "Error: unknown VM endpoint type \"" + std::string{type} +
                                          "\" (stream or vhost-user)"});
}

}  // namespace subnic::io
