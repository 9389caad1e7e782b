// Reading saved results back: the inverse of append_jsonl (DESIGN "Result record", v1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probe/result.hpp"
#include "sheet/target.hpp"

namespace urlprobe::report {

struct ReadResults {
  std::vector<probe::Result> results;
  std::vector<int> lines;  // the 1-based line of each result in its source, parallel to results
  std::vector<sheet::InputError> errors;  // lines that could not be used: reported and skipped
};

// Each non-blank line is one v1 record. A line that is not JSON (a truncated last line), not a
// record, or of another version is an error "SOURCE:LINE:1: error: ..." and is skipped; the rest
// is read. Results get sweep_index 0: the caller assigns positions (see route_plan).
ReadResults read_results(std::string_view text, const std::string& source);

// One record, without the line bookkeeping; false with `error` set when it cannot be used.
bool parse_record(std::string_view line, probe::Result& out, std::string& error);

// The key that identifies one probe across runs: (url, route, proxy).
struct ResultKey {
  std::string url;
  route::Method route = route::Method::direct;
  std::string proxy;
  auto operator<=>(const ResultKey&) const = default;
};
inline ResultKey key_of(const probe::Result& r) {
  return {r.url, r.route, r.proxy};
}
// "URL (route ROUTE via PROXY)" for messages.
std::string describe_key(const ResultKey& key);

}  // namespace urlprobe::report
