// subnic: the `ip link`-compatible command line of subnicd.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/run.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    return subnic::cli::run(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "subnic: internal error: " << e.what() << "\n";
    return 1;
  }
}
