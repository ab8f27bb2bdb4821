// CLI driver: options, parse, one call to subnicd, print.
#include "cli/run.hpp"

#include <cerrno>

#include "cli/ip_json.hpp"
#include "cli/options.hpp"
#include "cli/parse.hpp"
#include "cli/print.hpp"
#include "ctl/message.hpp"

namespace subnic::cli {

namespace {

int report(const CliError& e, std::ostream& out, std::ostream& err) {
  (e.to_stdout ? out : err) << e.text << "\n";
  return e.exit_status;
}

}  // namespace

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
        std::chrono::milliseconds timeout) {
  GlobalOptions opts;
  const auto object_at = parse_global_options(args, opts);
  if (!object_at) {
    return report(object_at.error(), out, err);
  }
  if (opts.version) {
    out << "subnic utility, subnic-" << ctl::version() << "\n";
    return 0;
  }
  const auto cmd = parse_command(args.subspan(*object_at), opts);
  if (!cmd) {
    return report(cmd.error(), out, err);
  }

  const std::string path = opts.socket_path.empty() ? ctl::default_socket_path() : opts.socket_path;
  auto client = ctl::Client::connect(path, timeout);
  if (!client) {
    err << client.error().message << "\n";
    return kExitFailure;
  }
  const auto result = client->call(cmd->method, cmd->params);
  if (!result) {
    err << result.error().message << "\n";
    if (result.error().code == ENODEV) {
      // bridge's fdb_show() returns -1 for a missing device: exit 255.
      return cmd->method == "fdb.show" ? kExitUsage : kExitFailure;
    }
    return kExitDaemon;
  }
  if (cmd->method == "fdb.show") {
    const auto entries = result->find("fdb");
    if (entries == result->end() || !entries->is_array()) {
      err << "malformed reply from subnicd: no \"fdb\" array\n";
      return kExitDaemon;
    }
    const FdbPrintOptions fdb_opts{opts.stats > 0, cmd->filter.fdb_port_given};
    if (opts.json) {
      out << format_ip_json(fdb_json(*entries, fdb_opts), opts.pretty);
      return 0;
    }
    for (const auto& e : *entries) {
      out << format_fdb_entry(e, fdb_opts);
    }
    return 0;
  }
  if (cmd->method != "link.show") {
    return 0;
  }
  const auto links = result->find("links");
  if (links == result->end() || !links->is_array()) {
    err << "malformed reply from subnicd: no \"links\" array\n";
    return kExitDaemon;
  }
  const ctl::Json kept = filter_links(*links, cmd->filter);
  if (opts.json) {
    out << format_ip_json(kept, opts.pretty);
    return 0;
  }
  const PrintOptions print_opts{opts.details, opts.stats, opts.human, opts.iec};
  for (const auto& link : kept) {
    out << format_link(link, print_opts);
  }
  return 0;
}

}  // namespace subnic::cli
