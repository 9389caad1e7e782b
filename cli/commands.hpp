// The commands that read saved results instead of probing: report, diff, merge.
#pragma once

#include "options.hpp"

namespace urlprobe::cli {

// `urlprobe report|diff|merge ...`: the exit status (0, 1, 2 as DESIGN "Command line" says).
int run_results_command(const Options& options);

}  // namespace urlprobe::cli
