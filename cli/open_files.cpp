#include "open_files.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "diagnostics.hpp"

namespace urlprobe::cli {

namespace {

std::uint64_t count_open_files() {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return ec ? 3 : n;  // without /proc: at least stdin, stdout and stderr
}

// fs.nr_open: the most a soft limit may be, whatever the hard one says (1048576 by default).
std::uint64_t kernel_open_file_cap() {
  std::ifstream in("/proc/sys/fs/nr_open");
  std::uint64_t cap = 0;
  return in >> cap && cap > 0 ? cap : 1048576;
}

}  // namespace

void fit_open_file_limit(probe::SweepConfig& sweep, std::span<const sheet::Target> targets,
                         bool verbose) {
  const unsigned threads = probe::workers_for(sweep.threads, targets);
  const std::uint64_t open_now = count_open_files();
  const std::uint64_t needed = probe::open_files_needed(sweep.concurrency, threads, open_now);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  // All the hard limit allows, not only what --concurrency needs: c-ares, the exporter's own
  // connections and the peer-close wait all hold descriptors too, and a soft limit gives nothing
  // back by staying low. An unlimited hard limit still stops at the kernel's fs.nr_open.
  const std::uint64_t was = limit.rlim_cur;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY
                        ? std::max<rlim_t>(kernel_open_file_cap(), needed)
                        : limit.rlim_max;
  if (raised.rlim_cur > limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
    limit.rlim_cur = raised.rlim_cur;
  const std::string hard =
      limit.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_max);
  if (verbose)
    cli::say(fmt::format(
        "open files: soft limit {} ({}); --concurrency {} needs about {}",
        limit.rlim_cur > was
            ? fmt::format("raised from {} to {}", was, static_cast<std::uint64_t>(limit.rlim_cur))
            : fmt::format("{}", was),
        limit.rlim_cur == limit.rlim_max ? std::string("the hard limit")
                                         : fmt::format("hard limit {}", hard),
        sweep.concurrency, needed));
  if (limit.rlim_cur >= needed) return;
  const auto fitting = probe::concurrency_within(limit.rlim_cur, threads, open_now);
  cli::say(
      fmt::format("--concurrency {} lowered to {}: the open-file limit is {} (ulimit -n, "
                  "hard limit {}); each probe in flight holds a socket",
                  sweep.concurrency, fitting, static_cast<std::uint64_t>(limit.rlim_cur), hard));
  sweep.concurrency = fitting;
}

}  // namespace urlprobe::cli
