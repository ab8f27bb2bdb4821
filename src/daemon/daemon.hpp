// subnicd's control plane: the device graph, control requests, following devices, saving state.
//
// One control thread owns every record below and runs an epoll loop over the control socket,
// its clients, one netlink link monitor per namespace that holds a lower or an upper, a
// periodic resync timer and a signalfd. Every change is applied to the core port first (which
// enforces the kernel's rules), then to the devices (TAPs, lower memberships), then published
// to the datapath as a new snapshot and saved to the state file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/ipvlan.hpp"
#include "core/macvlan.hpp"
#include "daemon/datapath.hpp"
#include "daemon/port.hpp"
#include "sys/netlink.hpp"
#include "sys/netns.hpp"
#include "sys/steer.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::daemon {

using Json = nlohmann::json;

struct Options {
  std::string socket_path = "/run/subnic/subnicd.sock";
  std::string state_dir = "/var/lib/subnic";
};

class Daemon {
 public:
  explicit Daemon(Options opts) : opts_{std::move(opts)} {}
  ~Daemon();

  /// Opens the home namespace, starts the datapath, restores the saved state and listens.
  /// Errors: the socket cannot be bound (path in use by a live daemon: EADDRINUSE), the state
  /// directory cannot be created, or the datapath cannot start.
  Status init();
  /// Runs until SIGTERM or SIGINT; returns the exit code (0 on a clean stop).
  int run();

  /// Handles one control request; never throws. The result or the error (errno and the line
  /// the CLI prints) of the reply. Public for tests.
  Result<Json> handle(const std::string& method, const Json& params);

 private:
  // A namespace subnic works in: a netlink socket and a link monitor created inside it.
  struct Netns {
    sys::UniqueFd fd;
    std::uint64_t inode = 0;
    std::string name;  // "" = the daemon's own, else its /run/netns name or "nsfs:[inode]"
    sys::Netlink nl;
    sys::LinkMonitor monitor;
  };
  struct Lower {
    std::uint64_t key = 0;
    std::uint64_t ns = 0;  // inode of its namespace
    int ifindex = 0;
    std::string ifname;
    Port port;
    std::shared_ptr<LowerIo> io;
    core::LowerFilter applied;
    /// ipvlan: the lower's ingress table dropping what the kernel's rx handler consumes.
    std::optional<sys::IngressSteer> steer;
    bool steer_failed = false;
    std::vector<std::uint64_t> upper_ids;  // index-aligned with port.uppers()
  };
  struct Upper {
    std::uint64_t id = 0;
    std::uint64_t lower = 0;  // Lower::key
    std::string name;         // current name (follows renames)
    std::uint64_t ns = 0;     // inode of the namespace it is in now
    int ifindex = 0;          // in that namespace
    std::shared_ptr<UpperIo> io;
  };

  // Namespaces.
  Result<Netns*> netns_by_name(const std::string& name);
  Result<Netns*> netns_by_fd(sys::UniqueFd fd);
  void release_unused_netns();
  std::string netns_label(std::uint64_t inode) const;

  // Graph.
  /// The lower record for `li`, created (packet socket, for ipvlan the route socket) with a
  /// port of `kind` ("macvlan" or "ipvlan") if it has none. EBUSY if it already carries a port
  /// of the other kind (one rx handler per device); EINVAL not Ethernet or loopback.
  Result<Lower*> lower_for(Netns& ns, const sys::LinkInfo& li, std::string_view kind);
  void destroy_lower(std::uint64_t key);
  /// Destroys the lower `key` if it has no uppers left; true if it did.
  bool release_if_unused(std::uint64_t key);
  std::uint32_t index_of(const Upper& u) const;
  Result<Upper*> find_upper(const Json& params);
  void delete_upper(std::uint64_t id, bool destroy_tap);
  core::LowerState lower_state(const sys::LinkInfo& li) const;

  // Requests.
  Result<Json> link_add(const Json& p);
  Result<Json> link_set(const Json& p);
  Result<Json> link_del(const Json& p);
  Result<Json> link_show(const Json& p);
  Json describe(const Upper& u, bool details, bool stats);
  Status set_up(Upper& u, bool up);

  // Following devices.
  void on_monitor(Netns& ns);
  void sync_upper(std::uint64_t id);
  void sync_lower(std::uint64_t key, bool removed);
  void sync_all();
  void apply_lower(Lower& l);
  /// ipvlan: what the port's mode means for each upper's TAP — IFF_NOARP in l3/l3s
  /// (ipvlan_set_port_mode) and the TAP offloads (no TSO in l3/l3s: routed packets leave
  /// through a raw socket, which cannot take GSO super-frames).
  void apply_ipvlan_mode(Lower& l);
  void apply_ipvlan_mode_to(Upper& u, const core::IpvlanPort& iv);
  /// ipvlan: the upper's addresses as its namespace has them now (address ownership).
  void sync_addresses(Upper& u, Lower& l, std::uint32_t idx);
  /// ipvlan: makes the lower's ingress table drop frames for the UP uppers' addresses (l2:
  /// unicast only; l3: all; l3s: none, the lower's stack delivers them in the kernel).
  void apply_steer(Lower& l);

  // Publishing and state.
  void publish();
  void save_state();
  void restore_state();
  bool attach_saved(const Json& u);

  // Control socket.
  Status listen();
  void accept_client();
  void on_client(int fd);

  Options opts_;
  std::uint64_t home_ns_ = 0;
  std::map<std::uint64_t, std::unique_ptr<Netns>> netns_;
  std::map<std::uint64_t, Lower> lowers_;
  std::map<std::uint64_t, Upper> uppers_;
  std::uint64_t next_id_ = 1;
  Datapath datapath_;

  sys::UniqueFd epoll_;
  sys::UniqueFd listen_fd_;
  sys::UniqueFd signal_fd_;
  sys::UniqueFd timer_fd_;
  struct Client;
  struct ClientDeleter {
    void operator()(Client* c) const;
  };
  std::map<int, std::unique_ptr<Client, ClientDeleter>> clients_;
  bool dirty_ = false;
};

}  // namespace subnic::daemon
