// The open-file limit: the soft one raised to the hard one, and the concurrency lowered if even
// that is too small.
#pragma once

#include <span>

#include "probe/sweep.hpp"

namespace urlprobe::cli {

// --concurrency N needs N sockets at once, and probes that meet EMFILE would be reported as
// network failures that never happened. So the soft open-file limit is raised to the hard one
// first (what was used is said with `verbose`), and only when even that is too small is the
// concurrency lowered, said once on stderr.
void fit_open_file_limit(probe::SweepConfig& sweep, std::span<const sheet::Target> targets,
                         bool verbose = false);

}  // namespace urlprobe::cli
