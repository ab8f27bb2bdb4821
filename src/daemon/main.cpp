// subnicd: the subnic daemon. Options, logging, and the control loop.
#include <cstdlib>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "ctl/message.hpp"
#include "daemon/daemon.hpp"
#include "daemon/privileges.hpp"

int main(int argc, char** argv) {
  subnic::daemon::Options opts;
  if (const char* env = std::getenv("SUBNIC_SOCKET"); env != nullptr && *env != '\0') {
    opts.socket_path = env;
  }
  std::string level = "info";
  CLI::App app{"subnicd: the Linux virtual-NIC family as a userspace dataplane"};
  app.add_option("--socket", opts.socket_path, "control socket path ($SUBNIC_SOCKET)")
      ->capture_default_str();
  app.add_option("--state-dir", opts.state_dir, "where the device state is saved")
      ->capture_default_str();
  app.add_option("--group", opts.group,
                 "group allowed on the control socket besides root (missing: root only)")
      ->capture_default_str();
  app.add_option("--log-level", level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  bool print_caps = false;
  app.add_flag("--capabilities", print_caps,
               "print the capabilities subnicd keeps after start-up, and what for; then exit");
  app.set_version_flag("-V,--version", std::string{subnic::ctl::version()});
  CLI11_PARSE(app, argc, argv);
  if (print_caps) {
    for (const auto& k : subnic::daemon::kept_capabilities()) {
      std::cout << k.name << ": " << k.why << "\n";
    }
    return 0;
  }

  auto logger = spdlog::stderr_color_mt("subnicd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("subnicd: %L %v");

  subnic::daemon::Daemon d{opts};
  if (auto st = d.init(); !st) {
    spdlog::critical("{}", st.error().message);
    return 1;
  }
  return d.run();
}
