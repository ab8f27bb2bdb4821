// The lexical rules of `ip`'s command line: keyword prefixes, numbers, link-layer addresses, names,
// and its stock error lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_error.hpp"

namespace subnic::cli {

/// True when `arg` is a non-empty prefix of `word`: iproute2 lib/utils.c
/// matches(arg, word) == 0. So "l" and "lin" select "link"; which keyword wins
/// a shared prefix depends on the order the caller tries them (ip's order).
bool matches(std::string_view arg, std::string_view word);

/// iproute2 lib/utils.c get_integer(..., base 0): strtol over the whole
/// string (leading white space and a sign allowed; 0x → hex, leading 0 →
/// octal), within int range.
std::optional<int> get_integer(std::string_view arg);
/// get_unsigned(..., 0) / get_u32(..., 0): strtoul over the whole string,
/// at most 0xffffffff ("-1" is refused, "-0" is 0).
std::optional<std::uint32_t> get_u32(std::string_view arg);
/// get_s32(..., 0): strtol over the whole string, within int32 range.
std::optional<std::int32_t> get_s32(std::string_view arg);
/// get_u16(..., 0): as get_u32, at most 0xffff.
std::optional<std::uint16_t> get_u16(std::string_view arg);
/// get_u8(..., 0): as get_u32, at most 0xff.
std::optional<std::uint8_t> get_u8(std::string_view arg);

/// iproute2 lib/ll_addr.c ll_addr_a2n(): a link-layer address as ':'-separated
/// bytes, each read like sscanf("%x") (leading white space, "0x", trailing
/// junk ignored; 0..255); with a '.', an IPv4 address (4 bytes). Error text
/// as ip prints it: `"SEGMENT" is invalid lladdr.` naming the part that
/// failed. The caller checks the length.
CliResult<std::vector<std::uint8_t>> ll_addr_a2n(std::string_view arg);

/// iproute2 lib/utils.c check_ifname(): non-empty, shorter than IFNAMSIZ, no
/// '/' and no white space (ip does not refuse "." or ':'; the kernel does).
bool ip_check_ifname(std::string_view name);
/// check_altifname(): as check_ifname() without the length limit.
bool ip_check_altifname(std::string_view name);

// ip's stock error lines (iproute2 lib/utils.c), with ip's exit status.

/// invarg(msg, arg): `Error: argument "ARG" is wrong: MSG`, exit 255.
tl::unexpected<CliError> invarg(std::string_view msg, std::string_view arg);
/// duparg(key, arg): `Error: duplicate "KEY": "ARG" is the second value.`, exit 255.
tl::unexpected<CliError> duparg(std::string_view key, std::string_view arg);
/// duparg2(key, arg): `Error: either "KEY" is duplicate, or "ARG" is a garbage.`, exit 255.
tl::unexpected<CliError> duparg2(std::string_view key, std::string_view arg);
/// incomplete_command(): `Command line is not complete. Try option "help"`, exit 255.
tl::unexpected<CliError> incomplete_command();
/// iplink.c on_off(): `Error: argument of "KEY" must be "on" or "off", not "ARG"`, exit 1.
tl::unexpected<CliError> on_off(std::string_view key, std::string_view arg);
/// lib/utils.c parse_on_off() (6.1): `Error: argument of "KEY" must be one of "off", "on", not
/// "ARG"`, exit 1. iplink_bridge_slave.c uses this one, iplink_vlan.c the on_off() above.
tl::unexpected<CliError> one_of_off_on(std::string_view key, std::string_view arg);
/// subnic's own: `Error: subnic: "WORD" is not supported yet`, exit 1, for
/// words `ip` knows that subnic does not implement (yet).
tl::unexpected<CliError> not_supported(std::string_view word);

}  // namespace subnic::cli
