#include "open_files.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <filesystem>
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

}  // namespace

void fit_open_file_limit(probe::SweepConfig& sweep, std::span<const sheet::Target> targets) {
  const unsigned threads = probe::workers_for(sweep.threads, targets);
  const std::uint64_t open_now = count_open_files();
  const std::uint64_t needed = probe::open_files_needed(sweep.concurrency, threads, open_now);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur >= needed)
    return;
  rlimit raised = limit;
  raised.rlim_cur =
      limit.rlim_max == RLIM_INFINITY ? needed : std::min<rlim_t>(needed, limit.rlim_max);
  if (raised.rlim_cur > limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
    limit.rlim_cur = raised.rlim_cur;
  if (limit.rlim_cur >= needed) return;
  const auto fitting = probe::concurrency_within(limit.rlim_cur, threads, open_now);
  cli::say(fmt::format(
      "--concurrency {} lowered to {}: the open-file limit is {} (ulimit -n, "
      "hard limit {}); each probe in flight holds a socket",
      sweep.concurrency, fitting, static_cast<std::uint64_t>(limit.rlim_cur),
      limit.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_max)));
  sweep.concurrency = fitting;
}

}  // namespace urlprobe::cli
