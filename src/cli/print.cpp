// ip-shaped text for LINK objects.
#include "cli/print.hpp"

#include <array>
#include <cinttypes>
#include <cstdio>

#include "cli/link_type.hpp"

namespace subnic::cli {

using ctl::Json;

namespace {

std::string str(const Json& obj, const char* key, std::string fallback = {}) {
  if (const auto it = obj.find(key); it != obj.end()) {
    if (it->is_string()) {
      return it->get<std::string>();
    }
    if (!it->is_null() && !it->is_object() && !it->is_array()) {
      return it->dump();
    }
  }
  return fallback;
}

bool has(const Json& obj, const char* key) {
  return obj.find(key) != obj.end();
}

std::uint64_t counter(const Json& obj, const char* key) {
  if (const auto it = obj.find(key); it != obj.end() && it->is_number_unsigned()) {
    return it->get<std::uint64_t>();
  }
  if (const auto it = obj.find(key); it != obj.end() && it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    return v < 0 ? 0 : static_cast<std::uint64_t>(v);
  }
  return 0;
}

bool has_flag(const Json& link, std::string_view flag) {
  if (const auto f = link.find("flags"); f != link.end() && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string() && v.get_ref<const std::string&>() == flag) {
        return true;
      }
    }
  }
  return false;
}

std::string flags_text(const Json& link) {
  std::string out;
  if (const auto f = link.find("flags"); f != link.end() && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string()) {
        out += (out.empty() ? "" : ",") + v.get<std::string>();
      }
    }
  }
  return out;
}

void print_first_line(const Json& link, std::string& out) {
  out += str(link, "ifindex", "0") + ": " + str(link, "ifname");
  if (has(link, "link")) {
    out += "@" + str(link, "link");
  } else if (has(link, "link_index")) {
    out += "@if" + str(link, "link_index");
  }
  out += ": <" + flags_text(link) + "> ";
  if (has(link, "mtu")) {
    out += "mtu " + str(link, "mtu") + " ";
  }
  out += "qdisc " + str(link, "qdisc", has_flag(link, "UP") ? "noqueue" : "noop") + " ";
  if (has(link, "master")) {
    out += "master " + str(link, "master") + " ";
  }
  if (has(link, "operstate")) {
    out += "state " + str(link, "operstate") + " ";
  }
  out += "mode " + str(link, "linkmode", "DEFAULT") + " ";
  out += "group " + str(link, "group", "default") + " ";
  if (has(link, "txqlen")) {
    out += "qlen " + str(link, "txqlen");
  }
  out += "\n";
}

void print_link_netns(const Json& link, std::string& out) {
  const std::string lower_ns = str(link, "link_netns");
  if (!has(link, "link_netns") || lower_ns == str(link, "netns")) {
    return;
  }
  if (!lower_ns.empty()) {
    out += " link-netns " + lower_ns;
  } else if (has(link, "link_netnsid")) {
    out += " link-netnsid " + str(link, "link_netnsid");
  }
}

void print_details(const Json& link, std::string& out) {
  if (has(link, "promiscuity")) {
    out += " promiscuity " + str(link, "promiscuity") + " ";
  }
  if (has(link, "allmulti")) {
    out += " allmulti " + str(link, "allmulti") + " ";
  }
  if (has(link, "min_mtu")) {
    out += "minmtu " + str(link, "min_mtu") + " ";
  }
  if (has(link, "max_mtu")) {
    out += "maxmtu " + str(link, "max_mtu") + " ";
  }
  const auto info = link.find("linkinfo");
  if (info == link.end() || !info->is_object()) {
    return;
  }
  // ipaddress.c print_linkinfo(): the kind's line, then the slave kind's.
  if (const std::string kind = str(*info, "info_kind"); !kind.empty()) {
    out += "\n    " + kind + " ";
    const auto data = info->find("info_data");
    if (const LinkTypeOps* t = find_link_type(kind); t != nullptr && data != info->end()) {
      t->print(*data, out);
    }
  }
  if (const std::string slave = str(*info, "info_slave_kind"); !slave.empty()) {
    out += "\n    " + slave + "_slave ";
    const auto data = info->find("info_slave_data");
    if (const LinkTypeOps* t = find_slave_type(slave); t != nullptr && data != info->end()) {
      t->print(*data, out);
    }
  }
}

// ipaddress.c size_columns(): widen a column to the digits of a value. The
// digit count is ip's own (powi < val), which counts 10^k as k digits.
void size_column(unsigned& col, std::uint64_t val) {
  unsigned len = 1;
  for (std::uint64_t powi = 10; powi < val && len < 20; ++len, powi *= 10) {
  }
  if (len > col) {
    col = len;
  }
}

std::string pad_left(std::string_view s, unsigned width) {
  std::string out;
  if (s.size() < width) {
    out.assign(width - s.size(), ' ');
  }
  out += s;
  return out;
}

// ipaddress.c print_stats64() for show_stats == 1.
void print_stats(const Json& link, const PrintOptions& opts, std::string& out) {
  const auto s64 = link.find("stats64");
  const Json empty = Json::object();
  const Json& stats = (s64 != link.end() && s64->is_object()) ? *s64 : empty;
  const auto part = [&](const char* dir) -> const Json& {
    const auto it = stats.find(dir);
    return (it != stats.end() && it->is_object()) ? *it : empty;
  };
  const Json& rx = part("rx");
  const Json& tx = part("tx");
  const std::array<std::uint64_t, 7> rxv = {counter(rx, "bytes"),         counter(rx, "packets"),
                                            counter(rx, "errors"),        counter(rx, "dropped"),
                                            counter(rx, "missed_errors"), counter(rx, "multicast"),
                                            counter(rx, "compressed")};
  const std::array<std::uint64_t, 7> txv = {
      counter(tx, "bytes"),     counter(tx, "packets"),        counter(tx, "errors"),
      counter(tx, "dropped"),   counter(tx, "carrier_errors"), counter(tx, "collisions"),
      counter(tx, "compressed")};
  // Minimum widths: the header words ("*X errors:", "packets", ...).
  std::array<unsigned, 7> cols = {10, 7, 6, 7, 7, 7, 10};
  if (!opts.human) {
    for (std::size_t i = 0; i < cols.size(); ++i) {
      size_column(cols[i], rxv[i]);
      size_column(cols[i], txv[i]);
    }
  }
  const auto table = [&](const char* dir, const std::array<std::uint64_t, 7>& v, const char* col4,
                         const char* col5) {
    out += std::string{"    "} + dir + ": " + pad_left("bytes", cols[0] - 4) + " " +
           pad_left("packets", cols[1]) + " " + pad_left("errors", cols[2]) + " " +
           pad_left("dropped", cols[3]) + " " + pad_left(col4, cols[4]) + " " +
           pad_left(col5, cols[5]) + " " + pad_left(v[6] != 0 ? "compressed" : "", cols[6]) +
           "\n    ";
    for (std::size_t i = 0; i < 6; ++i) {
      out += format_counter(v[i], cols[i], opts.human, opts.iec);
    }
    if (v[6] != 0) {
      out += format_counter(v[6], cols[6], opts.human, opts.iec);
    }
  };
  out += "\n";
  table("RX", rxv, "missed", "mcast");
  out += "\n";
  table("TX", txv, "carrier", "collsns");
}

void print_drops(const Json& link, std::string& out) {
  const auto drops = link.find("drops");
  if (drops == link.end() || !drops->is_object()) {
    return;
  }
  std::string line;
  for (const auto& [reason, count] : drops->items()) {
    if (count.is_number() && count != 0) {
      line += " " + reason + " " + count.dump();
    }
  }
  if (!line.empty()) {
    out += "    drops:" + line + "\n";
  }
}

std::string text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : ctl::dump_compact(v);
}

// " A B C" from the array obj[key]; "" when it is absent or empty.
std::string spaced_list(const Json& obj, const char* key) {
  std::string out;
  if (const auto it = obj.find(key); it != obj.end() && it->is_array()) {
    for (const auto& v : *it) {
      out += " " + text(v);
    }
  }
  return out;
}

void print_subnic_details(const Json& link, std::string& out) {
  if (const std::string ns = str(link, "netns"); !ns.empty()) {
    out += "    netns " + ns + "\n";
  }
  const auto sub = link.find("subnic");
  if (sub == link.end() || !sub->is_object()) {
    return;
  }
  if (const auto dev = sub->find("deviations"); dev != sub->end() && dev->is_array()) {
    for (const auto& d : *dev) {
      out += "    deviation: " + text(d) + "\n";
    }
  }
  // ipvlan: the addresses the upper owns, and those another upper owned first.
  if (const std::string addrs = spaced_list(*sub, "addresses"); !addrs.empty()) {
    out += "    subnic addresses" + addrs + "\n";
  }
  if (const std::string conflicts = spaced_list(*sub, "address_conflicts"); !conflicts.empty()) {
    out += "    subnic address conflicts" + conflicts;
    if (const auto seen = sub->find("address_conflicts_seen");
        seen != sub->end() && seen->is_number()) {
      out += " (seen " + seen->dump() + " times)";
    }
    out += "\n";
  }
  // Every macvlan/ipvlan upper: its source check; macvlan: its lower's MAC limit (issue 7).
  if (const auto sc = sub->find("spoofchk"); sc != sub->end() && sc->is_boolean()) {
    out += std::string{"    subnic spoofchk "} + (sc->get<bool>() ? "on" : "off") + "\n";
  }
  if (const auto n = sub->find("lower_maxmacs"); n != sub->end() && n->is_number()) {
    out += "    subnic lower " + str(link, "link") + " macs " +
           sub->value("lower_macs", Json(0)).dump() + " maxmacs " + n->dump() + "\n";
  }
  // macvtap/ipvtap: the VM endpoint's state.
  if (const auto vm = sub->find("vm"); vm != sub->end() && vm->is_object()) {
    out += std::string{"    subnic vm "} +
           (vm->value("connected", false) ? "connected" : "not connected");
    for (const char* k : {"connects", "malformed", "overruns"}) {
      if (const auto n = vm->find(k); n != vm->end() && n->is_number()) {
        out += std::string{" "} + k + " " + n->dump();
      }
    }
    if (const auto e = vm->find("error"); e != vm->end() && e->is_string()) {
      out += ": " + e->get<std::string>();
    }
    out += "\n";
  }
}

}  // namespace

std::string format_counter(std::uint64_t count, unsigned width, bool human, bool iec) {
  const unsigned base = iec ? 1024 : 1000;
  if (!human || count < base) {
    return pad_left(std::to_string(count), width) + " ";
  }
  const char* prefix = "kMGTPE";
  std::uint64_t powi = 1;
  for (;;) {
    powi *= base;
    if (count / base < powi || prefix[1] == '\0') {
      break;
    }
    ++prefix;
  }
  int precision = 2;
  std::uint64_t powj = 1;
  for (; precision > 0; --precision) {
    powj *= 10;
    if (count / powi < powj) {
      break;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%c%s", precision,
                static_cast<double>(count) / static_cast<double>(powi), *prefix, iec ? "i" : "");
  return pad_left(buf, width) + " ";
}

std::string format_link(const Json& link, const PrintOptions& opts) {
  std::string out;
  print_first_line(link, out);
  out += "    link/" + str(link, "link_type", "ether") + " " + str(link, "address");
  if (has(link, "broadcast")) {
    out += " brd " + str(link, "broadcast");
  }
  print_link_netns(link, out);
  if (opts.details) {
    print_details(link, out);
  }
  if (opts.stats > 0) {
    print_stats(link, opts, out);
  }
  out += "\n";
  // subnic's own lines come after ip's record, so ip-shaped parsers still match it.
  if (opts.details) {
    print_subnic_details(link, out);
  }
  if (opts.stats > 0) {
    print_drops(link, out);
  }
  return out;
}

Json filter_links(const Json& links, const ShowFilter& filter) {
  Json kept = Json::array();
  if (!links.is_array()) {
    return kept;
  }
  for (const auto& link : links) {
    if (filter.up_only && !has_flag(link, "UP")) {
      continue;
    }
    if (filter.kind) {
      // ip: `type X_slave` selects by the slave kind (ipaddress.c match_link_kind()).
      const bool slave = filter.kind->ends_with("_slave");
      const std::string want =
          slave ? filter.kind->substr(0, filter.kind->size() - 6) : *filter.kind;
      const auto info = link.find("linkinfo");
      if (info == link.end() || !info->is_object() ||
          str(*info, slave ? "info_slave_kind" : "info_kind") != want) {
        continue;
      }
    }
    Json copy = link;
    if (filter.strip_details && copy.is_object()) {
      for (const char* key :
           {"promiscuity", "allmulti", "min_mtu", "max_mtu", "linkinfo", "subnic"}) {
        copy.erase(key);
      }
    }
    kept.push_back(std::move(copy));
  }
  return kept;
}

std::string format_fdb_entry(const Json& entry, const FdbPrintOptions& opts) {
  // bridge/fdb.c print_fdb(), the parts subnic's entries have.
  std::string out = str(entry, "mac") + " ";
  if (!opts.port_given && has(entry, "ifname")) {
    out += "dev " + str(entry, "ifname") + " ";
  }
  if (has(entry, "vlan")) {
    out += "vlan " + str(entry, "vlan") + " ";
  }
  if (opts.stats && has(entry, "used") && has(entry, "updated")) {
    out += "used " + str(entry, "used") + "/" + str(entry, "updated") + " ";
  }
  if (const auto f = entry.find("flags"); f != entry.end() && f->is_array()) {
    for (const auto& flag : *f) {
      if (flag.is_string()) {
        out += flag.get<std::string>() + " ";
      }
    }
  }
  if (has(entry, "master")) {
    out += "master " + str(entry, "master") + " ";
  }
  return out + str(entry, "state") + "\n";
}

OrderedJson fdb_json(const Json& entries, const FdbPrintOptions& opts) {
  // bridge -j's key order: mac, ifname (without a port filter), vlan, used,
  // updated (with -s), flags, master, state (only when not empty).
  OrderedJson out = OrderedJson::array();
  if (!entries.is_array()) {
    return out;
  }
  for (const auto& e : entries) {
    OrderedJson o = OrderedJson::object();
    const auto copy = [&](const char* key) {
      if (const auto it = e.find(key); it != e.end()) {
        o[key] = OrderedJson::parse(ctl::dump_compact(*it));
      }
    };
    copy("mac");
    if (!opts.port_given) {
      copy("ifname");
    }
    copy("vlan");
    if (opts.stats) {
      copy("used");
      copy("updated");
    }
    o["flags"] = OrderedJson::array();
    copy("flags");
    copy("master");
    copy("state");
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace subnic::cli
