// macvtap and ipvtap words: macvlan's and ipvlan's, plus the VM endpoint (subnic's own words).
#include "cli/parse_vmtap.hpp"

#include <filesystem>
#include <string_view>
#include <vector>

#include "cli/parse_ipvlan.hpp"
#include "cli/parse_macvlan.hpp"
#include "cli/words.hpp"

namespace subnic::cli {

namespace {

constexpr std::string_view kEndpointUsage =
    "\n"
    "ENDPOINT := { stream PATH | vhost-user PATH }   (subnic: the unix socket QEMU connects to)\n"
    "    stream:     -netdev stream,addr.type=unix,addr.path=PATH,server=off\n"
    "    vhost-user: -chardev socket,id=C,path=PATH,reconnect=1 -netdev vhost-user,chardev=C";

// ip prints the type's usage with lu->id; ours adds the endpoint words.
std::string with_id(std::string_view usage, std::string_view from, std::string_view to) {
  std::string s{usage};
  if (const auto at = s.find(from); at != std::string::npos) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string_view macvtap_usage() {
  static const std::string text =
      with_id(kMacvlanOps.usage(), "macvlan", "macvtap") + std::string{kEndpointUsage};
  return text;
}

std::string_view ipvtap_usage() {
  static const std::string text =
      with_id(kIpvlanOps.usage(), "ipvlan", "ipvtap") + std::string{kEndpointUsage};
  return text;
}

/// Takes the endpoint words out of `words`, then hands the rest to the driver's parser.
CliResult<Json> parse_vm(std::span<const std::string> words, const LinkTypeOps& driver,
                         std::string_view id) {
  std::vector<std::string> rest;
  Json vm;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w != "stream" && w != "vhost-user") {
      rest.push_back(w);
      continue;
    }
    if (i + 1 >= words.size()) {
      return incomplete_command();
    }
    const std::string& path = words[++i];
    if (path.empty()) {
      return stop("Error: argument of \"" + w + "\" must be a socket path, not \"\"", kExitFailure);
    }
    if (!vm.is_null()) {
      return stop("Error: either \"stream\" or \"vhost-user\" is allowed, not both", kExitFailure);
    }
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    vm = Json{{"type", w}, {"path", ec ? path : abs.lexically_normal().string()}};
  }
  if (!rest.empty() && matches(rest.front(), "help") && rest.size() == 1) {
    return stop(std::string{id == "macvtap" ? macvtap_usage() : ipvtap_usage()}, kExitFailure);
  }
  Json info = Json::object();
  if (!rest.empty()) {
    auto r = driver.parse(rest);
    if (!r) {
      CliError e = r.error();
      // ip names the type by lu->id ("macvtap: unknown option", its usage text).
      const std::string from{driver.kind};
      if (e.text == driver.usage()) {
        e.text = std::string{id == "macvtap" ? macvtap_usage() : ipvtap_usage()};
      } else if (e.text.starts_with(from + ":")) {
        e.text.replace(0, from.size(), id);
      }
      return tl::unexpected{std::move(e)};
    }
    info = std::move(*r);
  }
  if (!vm.is_null()) {
    info["vm"] = std::move(vm);
  }
  return info;
}

void print_vm(const Json& info, std::string& out) {
  const auto vm = info.find("vm");
  if (vm == info.end() || !vm->is_object()) {
    return;
  }
  out += vm->value("type", "") + " " + vm->value("path", "") + " ";
}

}  // namespace

CliResult<Json> parse_macvtap(std::span<const std::string> words) {
  return parse_vm(words, kMacvlanOps, "macvtap");
}

CliResult<Json> parse_ipvtap(std::span<const std::string> words) {
  return parse_vm(words, kIpvlanOps, "ipvtap");
}

void print_macvtap(const Json& info, std::string& out) {
  kMacvlanOps.print(info, out);
  print_vm(info, out);
}

void print_ipvtap(const Json& info, std::string& out) {
  kIpvlanOps.print(info, out);
  print_vm(info, out);
}

const LinkTypeOps kMacvtapOps = {"macvtap", &parse_macvtap, &print_macvtap, &macvtap_usage};
const LinkTypeOps kIpvtapOps = {"ipvtap", &parse_ipvtap, &print_ipvtap, &ipvtap_usage};

}  // namespace subnic::cli
