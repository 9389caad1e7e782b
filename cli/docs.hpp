// The man page's OPTIONS section and the bash completion, rendered from the option table of
// options.hpp (urlprobe_docgen writes them; tests/cli/docs_test.cpp keeps the committed ones
// equal).
#pragma once

#include <string>
#include <string_view>

namespace urlprobe::cli {

// PAGE (packaging/urlprobe.1) with the lines between its generated-options markers replaced by
// the table's; the hand-written rest is kept. Throws std::runtime_error without the markers.
std::string man_page(std::string_view page);
std::string bash_completion();

}  // namespace urlprobe::cli
