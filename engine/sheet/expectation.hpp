// What a target's row expects of its probe: statuses, the method, the roots the chain must reach.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urlprobe::sheet {

// Inclusive status ranges; empty means any status from the origin counts as reachable.
struct StatusExpectation {
  std::vector<std::pair<int, int>> ranges;
  bool accepts(int status) const;
  bool empty() const { return ranges.empty(); }
  std::string text() const;  // "404", "200,300-399": the form parse_status_expectation reads
};
// "200,204,300-399" (also "200 204" or "200;204", as sheets write lists); returns false and sets
// error on bad text.
bool parse_status_expectation(std::string_view text, StatusExpectation& out, std::string& error);

// How the vendor's analyzer judges a URL: exact statuses, the method, and the roots it pins.
// Carried by the row from a sheet's `Expected status`, `Method` and `Trust` columns or a
// built-in list; what a row leaves empty falls back to the sweep's settings.
struct Expectation {
  StatusExpectation status;        // empty: --expect-status
  std::string method;              // "GET" or "HEAD"; empty: GET
  std::vector<std::string> trust;  // pin names, any of whose roots must anchor the chain; empty:
                                   // the system store ("system" in a sheet)
  bool empty() const { return status.empty() && method.empty() && trust.empty(); }
};
// The Method and Trust cells; false and error on text that is neither.
bool parse_method(std::string_view text, std::string& out, std::string& error);
bool parse_trust(std::string_view text, std::vector<std::string>& out, std::string& error);

}  // namespace urlprobe::sheet
