// IngressSteer over libnftables (nftables' own command language, one transaction per apply).
#include "sys/steer.hpp"

#include <nftables/libnftables.h>

#include <cerrno>

namespace subnic::sys {

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
  if (v4.empty() && v6.empty() && !rules.all) {
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
  const bool empty = rules.addrs.empty() && !rules.all;
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
