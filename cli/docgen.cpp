// urlprobe_docgen man PAGE | bash-completion: the man page (PAGE, its OPTIONS section rewritten
// from the option table) or the bash completion, on stdout. `make docs` rewrites packaging/.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

#include "docs.hpp"

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::strcmp(argv[1], "man") == 0) {
      std::ifstream in(argv[2], std::ios::binary);
      if (!in) throw std::runtime_error(fmt::format("{}: cannot open", argv[2]));
      std::ostringstream page;
      page << in.rdbuf();
      std::fputs(urlprobe::cli::man_page(page.str()).c_str(), stdout);
    } else if (argc == 2 && std::strcmp(argv[1], "bash-completion") == 0) {
      std::fputs(urlprobe::cli::bash_completion().c_str(), stdout);
    } else {
      std::fputs("usage: urlprobe_docgen man PAGE | bash-completion\n", stderr);
      return 2;
    }
    return std::fflush(stdout) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "urlprobe_docgen: {}\n", e.what());
    return 1;
  }
}
