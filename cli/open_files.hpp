// The open-file limit a sweep needs: raised toward the hard limit, or the concurrency lowered.
#pragma once

#include <span>

#include "probe/sweep.hpp"

namespace urlprobe::cli {

// --concurrency N needs N sockets at once, and probes that meet EMFILE would be reported as
// network failures that never happened. So the soft open-file limit is raised toward the hard one
// first, and only when even that is too small is the concurrency lowered, said once on stderr.
void fit_open_file_limit(probe::SweepConfig& sweep, std::span<const sheet::Target> targets);

}  // namespace urlprobe::cli
