// The progress line's ETA, apart from the terminal so that it can be tested. Issue 18: an ETA
// from the average rate since the start read 0:00 for 5 s while 110 probes were still in flight,
// waiting out their timeouts after the fast ones had all finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace urlprobe::cli {

struct EtaInput {
  std::uint64_t remaining = 0;    // probes without a result yet: in flight or not started
  std::uint64_t recent_done = 0;  // results within the last `recent_seconds`
  double recent_seconds = 0;      // how far back recent_done counts
  double since_last_done = 0;     // since the latest result (since the start before the first)
  std::size_t concurrency = 0;    // probes in flight at most (0: unknown)
  double timeout_seconds = 0;     // every probe has its result this long after it starts (0: none)
};

// Seconds until the last result, or nullopt when nothing tells (the progress line shows '?').
// While probes remain it is never 0: a probe in flight is not done.
std::optional<long> eta_seconds(const EtaInput& in);

// "m:ss", or "?".
std::string eta_text(std::optional<long> seconds);

// Feeds eta_seconds from what the progress line samples: the results so far at each redraw.
class EtaTracker {
 public:
  EtaTracker(std::uint64_t planned, std::size_t concurrency, double timeout_seconds,
             double window_seconds = 10);
  // `now`: seconds since the sweep started; `finished`: results so far.
  std::optional<long> eta(double now, std::uint64_t finished);

 private:
  std::uint64_t planned_;
  std::size_t concurrency_;
  double timeout_, window_;
  std::deque<std::pair<double, std::uint64_t>> samples_;  // (now, finished), oldest first
  double last_done_at_ = 0;
  std::uint64_t last_finished_ = 0;
};

}  // namespace urlprobe::cli
