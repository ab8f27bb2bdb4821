// Help texts of the CLI (ip's usage() counterparts), without trailing newlines.
#pragma once

#include <string>

namespace subnic::cli {

/// `subnic help`, `subnic -help`, `subnic` alone.
std::string main_usage();
/// `subnic link help` and ip's other iplink_usage() triggers.
std::string link_usage();
/// `subnic fdb help`: the show part of bridge/fdb.c usage().
std::string fdb_usage();

}  // namespace subnic::cli
