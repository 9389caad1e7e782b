#include "progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace urlprobe::cli {

std::optional<long> eta_seconds(const EtaInput& in) {
  if (in.remaining == 0) return 0;
  const auto remaining = static_cast<double>(in.remaining);
  // Every probe in flight started by the latest result (a slot frees only when a result comes)
  // or by the start, and ends within the timeout of its start: the first `concurrency` of those
  // left end by then, each further `concurrency` within one more timeout.
  std::optional<double> deadline;
  if (in.concurrency > 0 && in.timeout_seconds > 0)
    deadline = std::ceil(remaining / static_cast<double>(in.concurrency)) * in.timeout_seconds -
               in.since_last_done;
  const double rate =
      in.recent_seconds > 0 ? static_cast<double>(in.recent_done) / in.recent_seconds : 0;
  // A rate is news only while results keep coming at about that rate: after three of its gaps
  // (a second at least) without one, the probes left are the slow ones it does not describe.
  const bool fresh = rate > 0 && in.since_last_done <= std::max(1.0, 3 / rate);
  std::optional<double> eta;
  if (fresh) {
    eta = remaining / rate;
    // The deadline is a bound only when all that is left is in flight (--per-host may hold some
    // back; then it is still the better guess than a rate of results that have stopped).
    if (deadline && in.remaining <= in.concurrency) eta = std::min(*eta, *deadline);
  } else {
    eta = deadline;
  }
  if (!eta) return std::nullopt;
  return std::max(1L, static_cast<long>(std::ceil(*eta)));
}

std::string eta_text(std::optional<long> seconds) {
  return seconds ? fmt::format("{}:{:02}", *seconds / 60, *seconds % 60) : std::string("?");
}

EtaTracker::EtaTracker(std::uint64_t planned, std::size_t concurrency, double timeout_seconds,
                       double window_seconds)
    : planned_(planned),
      concurrency_(concurrency),
      timeout_(timeout_seconds),
      window_(window_seconds) {
  samples_.emplace_back(0.0, 0);
}

std::optional<long> EtaTracker::eta(double now, std::uint64_t finished) {
  if (finished > last_finished_) {
    last_finished_ = finished;
    last_done_at_ = now;
  }
  samples_.emplace_back(now, finished);
  // The oldest sample kept is the last one at or before the window's start: the window is whole.
  while (samples_.size() > 2 && samples_[1].first <= now - window_) samples_.pop_front();
  const auto& [since, base] = samples_.front();
  EtaInput in;
  in.remaining = planned_ > finished ? planned_ - finished : 0;
  in.recent_done = finished - base;
  in.recent_seconds = now - since;
  in.since_last_done = now - last_done_at_;
  in.concurrency = concurrency_;
  in.timeout_seconds = timeout_;
  return eta_seconds(in);
}

}  // namespace urlprobe::cli
