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
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/ipvlan.hpp"
#include "core/macvlan.hpp"
#include "daemon/access.hpp"
#include "daemon/datapath.hpp"
#include "daemon/port.hpp"
#include "sys/dev_mcast.hpp"
#include "sys/netlink.hpp"
#include "sys/netns.hpp"
#include "sys/steer.hpp"
#include "sys/unique_fd.hpp"

namespace subnic::daemon {

using Json = nlohmann::json;

struct Options {
  std::string socket_path = "/run/subnic/subnicd.sock";
  std::string state_dir = "/var/lib/subnic";
  /// Besides root, members of this group may use the control socket (--group); a group that
  /// does not exist leaves it to root.
  std::string group = "subnic";
};

class Daemon {
 public:
  explicit Daemon(Options opts) : opts_{std::move(opts)} {}
  ~Daemon();

  /// Opens the home namespace, binds the control socket (mode 0660, group Options::group),
  /// drops every capability but the kept ones (privileges.hpp) while still single-threaded,
  /// starts the datapath and restores the saved state. Clients are served from run() on.
  /// Errors: the socket cannot be bound (path in use by a live daemon: EADDRINUSE), the group
  /// lookup fails, the capabilities cannot be dropped, the state directory cannot be created,
  /// or the datapath cannot start.
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
    /// The lower's ingress table dropping what the kernel's rx handler consumes (macvlan's
    /// [CONSUME] frames, ipvlan's deliveries); none for a port stacked on a subnic VLAN.
    std::optional<sys::IngressSteer> steer;
    bool steer_failed = false;
    std::vector<std::uint64_t> upper_ids;  // index-aligned with port.uppers()
    /// The 802.1Q devices on this lower, and their Dev ids (index-aligned with vlans.devices()).
    core::VlanTable vlans;
    std::vector<std::uint64_t> vlan_ids;
    /// Set when this lower is a subnic VLAN device (the Dev id): the port is stacked inside
    /// subnic and has no packet socket of its own.
    std::uint64_t via_vlan = 0;
  };
  /// A subnic device with a TAP of its own that is not a macvlan/ipvlan upper: an 802.1Q
  /// device, one end of a veth pair, or a bridge device.
  struct Dev {
    enum class Kind : std::uint8_t { kVlan, kVeth, kBridge };
    std::uint64_t id = 0;
    Kind kind = Kind::kVlan;
    std::string name;
    std::uint64_t ns = 0;
    int ifindex = 0;
    std::shared_ptr<UpperIo> io;
    bool up = false;           // admin state as subnic last applied it
    std::uint32_t mtu = 1500;  // bytes
    core::Mac mac;
    std::uint64_t lower = 0;           // vlan: the physical Lower's key
    std::uint64_t peer = 0;            // veth: the other end's Dev id
    std::shared_ptr<BridgeIo> bridge;  // bridge: FDB, STP, port sockets
    bool mac_set = false;              // bridge: the user set its MAC (no min-port-MAC rule)
  };
  /// A netdev enslaved to a subnic bridge (`link set DEV master BR`), read and written through
  /// a packet socket.
  struct BridgePort {
    std::uint64_t key = 0;
    std::uint64_t bridge = 0;  // the bridge's Dev id
    std::uint64_t ns = 0;
    int ifindex = 0;
    std::string ifname;
    core::Mac mac;
    bool carrier = false;
    std::shared_ptr<LowerIo> io;
    /// Drops every frame at the port's ingress hook, after subnicd's socket copied it: the
    /// port's own stack sees nothing, as br_handle_frame consumes what it bridges.
    std::optional<sys::IngressSteer> steer;
  };
  struct Upper {
    std::uint64_t id = 0;
    std::uint64_t lower = 0;  // Lower::key
    std::string name;         // current name (follows renames)
    std::uint64_t ns = 0;     // inode of the namespace it is in now
    int ifindex = 0;          // in that namespace
    std::shared_ptr<UpperIo> io;
    /// macvtap/ipvtap: the VM endpoint's back end ("stream" or "vhost-user") and socket path;
    /// empty for a macvlan/ipvlan upper. io->vm is the open port, missing only if it could not
    /// be opened again after a restart (the upper's netdev then gets what it receives, as with no
    /// guest connected).
    std::string vm_type;
    std::string vm_path;
  };

  /// maxmacs of one lower (`link set LOWER maxmacs N`), kept whether or not the lower carries
  /// uppers yet; keyed by (namespace inode, ifindex) in limits_.
  struct LowerLimit {
    std::string ifname;  // as last seen, for the state file
    std::uint32_t maxmacs = 0;
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
  /// True if the device `ifindex` of namespace `ns` is a subnic upper or device (a TAP of ours).
  bool owns(std::uint64_t ns, int ifindex) const;
  Json describe(const Upper& u, bool details, bool stats);
  /// The upper's link kind as `ip` spells it: macvlan, ipvlan, macvtap or ipvtap.
  std::string kind_word(const Upper& u) const;
  /// A request's VM endpoint ({"type": T, "path": P}) as (T, P with P lexically normalised),
  /// the form Upper::vm_type/vm_path keep.
  static std::pair<std::string, std::string> vm_endpoint(const Json& vm);
  /// macvtap/ipvtap: opens the VM endpoint `vm` ({"type": "stream"|"vhost-user", "path": P})
  /// for upper `name`. Errors: EINVAL for a bad type or a relative path; EADDRINUSE when an
  /// upper already serves P (checked before the back end probes the path, which a live port
  /// of ours would take for its guest reconnecting); the back end's listen errors (EEXIST for
  /// a file that is not a socket, EADDRINUSE for a live socket of another program).
  Result<std::unique_ptr<io::VmPort>> open_vm(const Json& vm, const std::string& name) const;
  /// Makes upper `u` a macvtap/ipvtap with endpoint `type` at `path`; `vm` (the open port, or
  /// null when it could not be opened on restore) is watched under key id | kVmKeyBit.
  void attach_vm(Upper& u, std::string type, std::string path, std::unique_ptr<io::VmPort> vm);
  Status set_up(Upper& u, bool up);
  // `link set` words every subnic device takes alike (TAP `ifindex` in `ns`).
  /// `newname`: a valid ifname, then the rename; `name` follows it.
  Status rename_word(Netns& ns, int ifindex, const Json& p, std::string& name);
  /// `promisc`, `allmulticast`: the device's own flags, as the user sets them.
  void rx_flag_words(Netns& ns, int ifindex, const Json& p);
  /// `to_netns`: moves the device into that named namespace.
  Status netns_word(Netns& ns, int ifindex, const Json& p);

  // Following devices.
  /// Where TAP `io` is now: its name and namespace (TUNGETIFF, TUNGETDEVNETNS), the namespace
  /// null if it cannot be opened at the moment. An error when the device is gone (deleted, its
  /// namespace deleted, or the datapath found the TAP broken): its record should go too.
  Result<std::pair<std::string, Netns*>> tap_place(UpperIo& io);
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
  /// Makes the lower's ingress table drop what the kernel's rx handler consumes. macvlan:
  /// sys::macvlan_steer_rules. ipvlan: frames for the UP uppers' addresses (l2: unicast only;
  /// l3: all; l3s: none, the lower's stack delivers them in the kernel).
  void apply_steer(Lower& l);

  // 802.1Q devices, veth pairs, bridges (daemon_l2.cpp).
  /// Creates a TAP `name` in `ns` with `mac`, `mtu` and `txqlen`; the TAP and its link info.
  Result<std::pair<io::Tap, sys::LinkInfo>> make_tap(Netns& ns, const std::string& name,
                                                     const core::Mac& mac, std::uint32_t mtu,
                                                     unsigned txqlen);
  Result<Json> add_vlan(Netns& ns, const Json& p);
  Result<Json> add_veth(Netns& ns, const Json& p);
  Result<Json> add_bridge(Netns& ns, const Json& p);
  Result<Dev*> find_dev(const Json& p);
  Result<Json> dev_set(Dev& d, const Json& p);
  /// `link set DEV master BR | nomaster` and `type bridge_slave ...` for any netdev DEV.
  Status set_bridge_port(const Json& p);
  Status enslave(Dev& br, Netns& ns, const sys::LinkInfo& li);
  void release_port(std::uint64_t key);
  void delete_dev(std::uint64_t id);
  Json describe_dev(const Dev& d, bool details, bool stats);
  Json describe_port(const BridgePort& bp, bool details, bool stats);
  /// {"info_slave_kind": "bridge", "info_slave_data": {...}} for a port of a subnic bridge
  /// (as `ip -j -d` prints a bridge_slave), else an empty object.
  Json slave_info(std::uint64_t ns, int ifindex) const;
  Result<Json> fdb_show(const Json& p);
  void sync_dev(std::uint64_t id);
  void sync_port(std::uint64_t key);
  /// A physical lower changed: its VLAN devices follow (admin state, MTU, carrier).
  void sync_vlans(Lower& l, const core::LowerState& before);
  /// veth carrier: both ends have it only while both are up (veth_open, veth_close).
  void apply_veth_carrier(Dev& d);
  /// The bridge's MAC follows its smallest port MAC unless the user set one
  /// (br_stp_recalculate_bridge_id).
  void recalc_bridge_mac(Dev& br);
  void publish_l2(Snapshot& snap, const std::map<std::uint64_t, std::uint32_t>& port_index);
  /// The VLAN devices, veth pairs and bridges (with their ports) for the state file.
  Json save_l2() const;
  /// Re-attaches the saved devices' TAPs (before the uppers, which may sit on a VLAN); a device
  /// whose TAP or lower is gone is dropped (a veth end without its peer is deleted).
  void restore_l2_devices(const Json& devices);
  /// Re-enslaves the saved bridge ports with their settings (after the uppers).
  void restore_l2_ports(const Json& devices);
  /// Finds the saved TAP `name` (last seen in netns `inode`/`label`) and reopens it.
  std::optional<std::pair<Netns*, io::Tap>> reattach_tap(const std::string& name,
                                                         std::uint64_t inode,
                                                         const std::string& label);
  /// Creates the port object of `kind` ("macvlan"/"ipvlan") for `l` (lower `li` in `ns`); for
  /// ipvlan also its route socket and neighbour netlink.
  Status make_port(Netns& ns, const sys::LinkInfo& li, Lower& l, std::string_view kind);

  // Limits (issue 7).
  /// `link set LOWER maxmacs N` (the params of a link.set): N distinct MACs at most among the
  /// macvlan/macvtap uppers of LOWER, 0 = no limit. Errors: EINVAL N not an unsigned 32-bit
  /// number; EOPNOTSUPP LOWER is one of subnic's macvlan/ipvlan uppers (the limit belongs to
  /// the lower that carries them); ENODEV no such device; EBUSY the lower already carries more
  /// MACs than N.
  Status set_maxmacs(const Json& p);
  /// Gives lower `l`'s macvlan port its saved limit, if any (kept even if exceeded).
  void apply_maxmacs(Lower& l);
  /// A core error of `l`'s port with "the lower" replaced by the lower's name (maxmacs'
  /// ENOSPC/EBUSY messages).
  static Error name_lower(Error e, const Lower& l);

  // Publishing and state.
  void publish();
  void save_state();
  /// Records that a TAP `name` is about to be created in `ns`, and saves the state.
  void journal_tap(Netns& ns, const std::string& name);
  /// At restore, after every saved device is reattached: deletes the journalled TAPs that
  /// exist, are TAPs (kind "tun") and belong to nothing subnicd owns.
  void sweep_journal(const Json& creating);
  void restore_state();
  bool attach_saved(const Json& u);

  // Control socket.
  Status listen();
  /// Accepts pending connections; a peer allow_peer() refuses gets one error line
  /// (EACCES, id null) instead of the greeting, and is closed and logged.
  void accept_client();
  void on_client(int fd);

  Options opts_;
  std::uint64_t home_ns_ = 0;
  std::map<std::uint64_t, std::unique_ptr<Netns>> netns_;
  std::map<std::uint64_t, Lower> lowers_;
  std::map<std::uint64_t, Upper> uppers_;
  std::map<std::uint64_t, Dev> devs_;
  std::map<std::uint64_t, BridgePort> ports_;
  std::map<std::pair<std::uint64_t, int>, LowerLimit> limits_;  // (netns inode, ifindex)
  std::uint64_t next_id_ = 1;
  Datapath datapath_;

  sys::UniqueFd epoll_;
  sys::UniqueFd listen_fd_;
  ControlGroup group_;
  sys::UniqueFd signal_fd_;
  sys::UniqueFd timer_fd_;
  struct Client;
  struct ClientDeleter {
    void operator()(Client* c) const;
  };
  std::map<int, std::unique_ptr<Client, ClientDeleter>> clients_;
  bool dirty_ = false;
  /// TAPs a request is creating, (namespace inode, name): saved *before* Tap::create
  /// (journal_tap), so a TAP whose creation a kill -9 interrupted — persistent, but in no
  /// upper or device of the state file — is deleted at the next start (sweep_journal). Cleared
  /// when the request ends.
  std::vector<std::pair<std::uint64_t, std::string>> creating_;
  /// During sync_all: each namespace's multicast lists, read once for all its uppers
  /// (namespace inode -> table); null otherwise, and sync_upper reads its own device's.
  std::unordered_map<std::uint64_t, sys::DevMcastTable>* mc_tables_ = nullptr;
};

}  // namespace subnic::daemon
