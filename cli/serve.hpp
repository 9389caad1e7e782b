// `urlprobe serve`: the exporter (engine/serve) with this command line's plan, signals and log.
#pragma once

#include "options.hpp"

namespace urlprobe::cli {

// Exit 0 after SIGTERM or SIGINT; 2 when the first plan or --listen cannot be used.
int run_serve(const Options& options);

}  // namespace urlprobe::cli
