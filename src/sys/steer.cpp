// IngressSteer over libnftables (nftables' own command language, one transaction per apply).
#include "sys/steer.hpp"

#include <nftables/libnftables.h>

#include <algorithm>
#include <cerrno>

namespace subnic::sys {

SteerRules macvlan_steer_rules(const core::MacvlanPort& port) {
  SteerRules r;
  for (const auto& u : port.uppers()) {
    // macvlan_forward_source sets `consume` before macvlan_forward_source_one checks IFF_UP,
    // and a source list stays in the port's hash while its upper is down.
    if (u.mode == core::MacvlanMode::kSource && (u.flags & core::kMacvlanNoDst) != 0) {
      r.src_any.insert(r.src_any.end(), u.sources.begin(), u.sources.end());
    }
    // macvlan_hash_lookup(port, h_source) finds UP uppers only.
    if (u.up && (u.mode == core::MacvlanMode::kPrivate || u.mode == core::MacvlanMode::kPassthru ||
                 u.mode == core::MacvlanMode::kSource)) {
      r.src_group.push_back(u.mac);
    }
  }
  // A passthru port's upper takes every unicast frame, and a down one drops it: both consume.
  r.unicast = port.passthru() && !port.uppers().empty();
  for (auto* v : {&r.src_any, &r.src_group}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return r;
}

void IngressSteer::CtxDeleter::operator()(nft_ctx* c) const {
  nft_ctx_free(c);
}

IngressSteer::IngressSteer(std::unique_ptr<nft_ctx, CtxDeleter> ctx, std::string ifname,
                           int ifindex)
    : ctx_{std::move(ctx)}, ifname_{std::move(ifname)}, ifindex_{ifindex} {}
IngressSteer::IngressSteer(IngressSteer&&) noexcept = default;
IngressSteer& IngressSteer::operator=(IngressSteer&&) noexcept = default;

IngressSteer::~IngressSteer() {
  if (ctx_ && present_) {
    (void)run("delete table netdev " + table() + "\n");
  }
}

Result<IngressSteer> IngressSteer::open(std::string ifname, int ifindex) {
  std::unique_ptr<nft_ctx, CtxDeleter> ctx{nft_ctx_new(NFT_CTX_DEFAULT)};
  if (!ctx) {
    return tl::unexpected{Error{ENOMEM, "nftables: cannot create a context"}};
  }
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  return IngressSteer{std::move(ctx), std::move(ifname), ifindex};
}

std::string IngressSteer::table() const {
  return "subnic_" + std::to_string(ifindex_);
}

std::string IngressSteer::script(const SteerRules& rules) const {
  std::string v4, v6;
  for (const auto& a : rules.addrs) {
    auto& list = a.v4() ? v4 : v6;
    list += (list.empty() ? "" : ", ") + a.to_string();
  }
  const std::string only = rules.unicast_only ? "meta pkttype != { broadcast, multicast } " : "";
  // "table" first makes the delete valid when the table does not exist yet.
  std::string s = "table netdev " + table() + "\ndelete table netdev " + table() + "\n";
  if (rules.empty()) {
    return s;
  }
  s += "table netdev " + table() + " {\n  chain ingress {\n    type filter hook ingress device \"" +
       ifname_ + "\" priority -500; policy accept;\n";
  if (rules.all) {
    s += "    counter drop\n";
  }
  if (!v4.empty()) {
    s += "    " + only + "ip daddr { " + v4 + " } counter drop\n";
    if (rules.arp) {
      s += "    " + only + "arp daddr ip { " + v4 + " } counter drop\n";
    }
  }
  if (!v6.empty()) {
    s += "    " + only + "ip6 daddr { " + v6 + " } counter drop\n";
  }
  if (!rules.src_any.empty() || !rules.src_group.empty() || rules.unicast) {
    // The rx handler sees a tagged frame only when no VLAN device claims it; those are "other
    // host" to the lower's stack anyway (VID 0 aside), so leave every tagged frame alone.
    s += "    ether type { 8021q, 8021ad } accept\n";
  }
  auto macs = [](const std::vector<core::Mac>& v) {
    std::string list;
    for (const auto& m : v) {
      list += (list.empty() ? "" : ", ") + m.to_string();
    }
    return "{ " + list + " }";
  };
  static constexpr const char* kGroup = "ether daddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 ";
  static constexpr const char* kUnicast = "ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 ";
  if (!rules.src_any.empty()) {
    s += "    ether saddr " + macs(rules.src_any) + " counter drop\n";
  }
  if (!rules.src_group.empty()) {
    s += std::string{"    "} + kGroup + "ether saddr " + macs(rules.src_group) + " counter drop\n";
  }
  if (rules.unicast) {
    s += std::string{"    "} + kUnicast + "counter drop\n";
  }
  s += "  }\n}\n";
  return s;
}

Status IngressSteer::run(const std::string& cmd) {
  if (nft_run_cmd_from_buffer(ctx_.get(), cmd.c_str()) != 0) {
    std::string msg = nft_ctx_get_error_buffer(ctx_.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
      msg.pop_back();
    }
    return fail(EIO, "nftables: " + msg);
  }
  return {};
}

Status IngressSteer::apply(const SteerRules& rules) {
  const bool empty = rules.empty();
  if (!swept_) {
    // A table a killed subnicd left behind (a passthru port's "drop every unicast" would
    // outlive its upper): the first apply() always replaces or deletes it. Best effort when
    // there is nothing to drop, so a kernel without nftables costs nothing then.
    swept_ = true;
    if (empty) {
      (void)run(script(rules));
      return {};
    }
  }
  if ((present_ && rules == applied_) || (!present_ && empty)) {
    return {};
  }
  if (auto st = run(script(rules)); !st) {
    return st;
  }
  applied_ = rules;
  present_ = !empty;
  return {};
}

}  // namespace subnic::sys
