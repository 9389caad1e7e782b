// What urlprobe says on stderr, and how it tells that its output was really written.
#pragma once

#include <cstdio>
#include <string_view>

#include "sheet/target.hpp"

namespace urlprobe::cli {

// "urlprobe: MESSAGE" on stderr. Messages quote sheets, servers and PAC scripts, so their control
// characters are escaped (report::terminal_text): hostile input cannot drive the terminal.
void say(std::string_view message);
// A sheet's FILE:LINE:COL diagnostic, escaped the same way.
void say(const sheet::InputError& error);

// False, after saying "urlprobe: NAME: write failed: REASON", when what was written to `file`
// did not all arrive (a full disk). A closed pipe (`urlprobe list | head`) is the reader's
// choice, not a failure.
bool written(std::FILE* file, std::string_view name);

}  // namespace urlprobe::cli
