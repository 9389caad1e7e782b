// `urlprobe diff`: what changed between two result sets, keyed by (url, route, proxy).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probe/result.hpp"
#include "probe/route_column.hpp"
#include "report/read.hpp"

namespace urlprobe::report {

struct DiffOptions {
  double slower_factor = 2.0;  // a probe ok in both runs: NEW ms.total > factor x OLD ...
  double slower_min_ms = 50;   // ... and NEW - OLD > this many milliseconds
};

// One key present in both runs whose outcome class moved, or present in only one of them.
struct DiffEntry {
  ResultKey key;
  std::optional<probe::Outcome> old_outcome, new_outcome;  // empty: absent on that side
  std::string old_detail, new_detail;
};

// One probe, ok in both runs, whose ms.total grew past both thresholds of DiffOptions.
struct SlowerProbe {
  ResultKey key;
  double old_ms = 0, new_ms = 0;
};

// Information, not a verdict: a route's (a method's, or one proxy of a list's) median ms.total
// over the probes that are ok in both runs, so that URLs which broke, recovered, came or went
// cannot move it.
struct RouteTimes {
  route::Method route = route::Method::direct;
  std::string proxy;
  double old_median_ms = 0, new_median_ms = 0;
  std::size_t count = 0;  // probes ok in both runs
};

struct Diff {
  std::vector<DiffEntry> broke;      // not failing -> failing (ok -> failure)
  std::vector<DiffEntry> recovered;  // failing -> not failing
  std::vector<DiffEntry> changed;    // one failure -> another failure outcome
  std::vector<SlowerProbe> slower;
  std::vector<DiffEntry> added;    // "new": only in NEW
  std::vector<DiffEntry> removed;  // only in OLD
  std::vector<RouteTimes> routes;  // every route with a probe ok in both runs

  // The nightly alert: anything broke or got slower.
  bool regressed() const { return !broke.empty() || !slower.empty(); }
};

// Keys are compared by (url, route, proxy); a key repeated within one side counts by its last
// record. Entries and slower probes come in NEW's order (removed ones in OLD's), routes in the
// order NEW first has them.
Diff diff_results(std::span<const probe::Result> old_results,
                  std::span<const probe::Result> new_results, const DiffOptions& options = {});

// The median of `values`; empty when there are none.
std::optional<double> median(std::vector<double> values);

// How diff_text and diff_html write their parts: milliseconds rounded to 2 decimals as people
// write them (3.24, 60.3, 900); NEW / OLD as "62.9x". A route is probe::label_via's.
std::string diff_ms(double ms);
std::string diff_factor(double old_ms, double new_ms);

std::string diff_text(const Diff& diff, const DiffOptions& options);
// Milliseconds are written rounded to 2 decimals, as people write them: 3.24, 60.3, 900.
std::string diff_json(const Diff& diff);
// One self-contained page (inline CSS, no script, nothing fetched) with every section of
// diff_text, each value escaped. The names of the two files, if given, head the page.
std::string diff_html(const Diff& diff, const DiffOptions& options, std::string_view old_name = {},
                      std::string_view new_name = {});

}  // namespace urlprobe::report
