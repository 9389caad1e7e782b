// `urlprobe diff`: what changed between two result sets, keyed by (url, route, proxy).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probe/result.hpp"
#include "report/read.hpp"

namespace urlprobe::report {

struct DiffOptions {
  double slower_factor = 2.0;  // NEW median > factor x OLD median ...
  double slower_min_ms = 50;   // ... and NEW - OLD > this many milliseconds
};

// One key present in both runs whose outcome class moved, or present in only one of them.
struct DiffEntry {
  ResultKey key;
  std::optional<probe::Outcome> old_outcome, new_outcome;  // empty: absent on that side
  std::string old_detail, new_detail;
};

// A route (a method, or one proxy of a list) whose median ms.total of ok probes grew.
struct SlowerRoute {
  route::Method route = route::Method::direct;
  std::string proxy;
  double old_median_ms = 0, new_median_ms = 0;
  std::size_t old_count = 0, new_count = 0;  // ok probes the medians are taken over
};

struct Diff {
  std::vector<DiffEntry> broke;      // not failing -> failing (ok -> failure)
  std::vector<DiffEntry> recovered;  // failing -> not failing
  std::vector<DiffEntry> changed;    // one failure -> another failure outcome
  std::vector<SlowerRoute> slower;
  std::vector<DiffEntry> added;    // "new": only in NEW
  std::vector<DiffEntry> removed;  // only in OLD

  // The nightly alert: anything broke or got slower.
  bool regressed() const { return !broke.empty() || !slower.empty(); }
};

// Keys are compared by (url, route, proxy); a key repeated within one side counts by its last
// record. Entries come in NEW's order (removed ones in OLD's), slower routes in NEW's route order.
Diff diff_results(std::span<const probe::Result> old_results,
                  std::span<const probe::Result> new_results, const DiffOptions& options = {});

// The median of ms.total of a route's ok probes; empty when there are none.
std::optional<double> median(std::vector<double> values);

std::string diff_text(const Diff& diff, const DiffOptions& options);
std::string diff_json(const Diff& diff);

}  // namespace urlprobe::report
