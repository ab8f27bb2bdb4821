// Shared by the CLI print tests.
#pragma once

#include <string>

namespace subnic::cli::test {

/// ip -d prints attributes subnic does not have after the type's words (addrgenmode,
/// numtxqueues, gso_max_size...); where the shapes coincide is up to there, so captured `ip`
/// lines are cut before " addrgenmode".
inline std::string cut_ip_only_tail(std::string text) {
  for (auto pos = text.find("addrgenmode "); pos != std::string::npos;
       pos = text.find("addrgenmode ", pos)) {
    text.erase(pos, text.find('\n', pos) - pos);
  }
  return text;
}

}  // namespace subnic::cli::test
