// Output formats. Writers receive results as they complete and the summary at the end.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probe/result.hpp"
#include "probe/route_column.hpp"
#include "sheet/target.hpp"

namespace urlprobe::report {

struct Summary {
  std::uint64_t planned = 0;
  std::uint64_t finished = 0;
  std::array<std::uint64_t, probe::kOutcomeCount> by_outcome{};
  std::size_t input_errors = 0;  // lines of input that were skipped
  double seconds = 0;
  std::chrono::system_clock::time_point ended{};  // when the sweep ended; epoch: unknown
  bool interrupted = false;
  std::vector<std::string> notes;      // e.g. which PAC script decided route wpad
  std::vector<std::string> arguments;  // the command line, passwords already redacted
  std::vector<std::string> geo;  // --geo: the geographies readiness counts (WW always; empty: all)
  // What --winhttp and --registry set and what each became (the json run's "imported").
  struct Imported {
    std::string file;
    int line = 0;
    std::string setting, value, use;
  };
  std::vector<Imported> imported;
  // --registry's DisableEnterpriseAuthProxy=1, as "FILE:LINE" (readiness); empty: not set.
  std::string enterprise_auth_proxy_disabled;

  void add(const probe::Result& r) {
    ++finished;
    ++by_outcome[static_cast<std::size_t>(r.outcome)];
  }
  std::uint64_t failures() const;
};

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void write(const probe::Result& result) = 0;
  virtual void finish(const Summary& summary) = 0;
};

enum class Format { text, jsonl, json, csv, junit, prometheus, html, analyzer };
// "text", "jsonl", "json", "csv", "junit", "prometheus", "html", "analyzer" (the text format as
// the MDE Client Analyzer prints it: every method on every URL, "Doesn't exist" included).
bool parse_format(std::string_view name, Format& out);
// By extension: .jsonl/.ndjson -> jsonl, .txt/.log -> text, .json -> json, .csv -> csv,
// .xml -> junit, .prom -> prometheus, .html/.htm -> html. False when unknown. Never analyzer.
bool format_for_path(std::string_view path, Format& out);

namespace detail {
struct Kept;
}

// One sweep written in one or more formats. A result is kept once, for all the formats that read
// the whole sweep at finish (text, analyzer, json, html), and only when one of them is there;
// their readiness is assessed once per finish. The others stream (jsonl, junit, csv, prometheus).
// `routes` are the sweep's, in order (probe::route_columns): text groups a target's method routes
// together in sweep order and puts proxy-list routes in a matrix at the end; html and junit make
// them their columns and suites.
class Report final : public ResultWriter {
 public:
  explicit Report(std::span<const probe::RouteColumn> routes);
  ~Report() override;
  // Also write `format` to `out`, which the report does not own. Before the first write.
  void add(Format format, std::FILE* out);
  // Keep every result even when no format needs them, for results() after finish.
  void keep_results();
  void write(const probe::Result& result) override;
  void finish(const Summary& summary) override;
  // The results written, in order; empty unless a format or keep_results kept them.
  const std::vector<probe::Result>& results() const;

 private:
  std::vector<probe::RouteColumn> routes_;
  std::unique_ptr<detail::Kept> kept_;
  bool keep_ = false;
  bool assess_ = false;  // some format shows readiness
  std::vector<std::unique_ptr<ResultWriter>> writers_;
};

// A Report of one format. The writer does not own `out`.
std::unique_ptr<ResultWriter> make_writer(Format format, std::FILE* out,
                                          std::span<const probe::RouteColumn> routes);

// One v1 record (DESIGN "Result record"), without the trailing newline.
void append_jsonl(std::string& out, const probe::Result& r);

// The summary block of the text format: counts by outcome, duration, skipped input.
std::string summary_text(const Summary& summary);

// The escaping of the csv and json formats, for other output of the same kinds (`urlprobe
// list`): one RFC 4180 field (quoted when needed; formula-like text defused against CSV
// injection), and one JSON string literal with its quotes (invalid UTF-8 replaced).
std::string csv_field(std::string_view value);
std::string json_string(std::string_view value);
// Text for a terminal (the text format, diagnostics on stderr): control characters from sheets,
// servers and PAC scripts are shown as \x1b (C1 controls as \u009b), so that hostile input
// cannot retitle, clear or recolour the user's terminal. Line feeds and tabs stay.
std::string terminal_text(std::string_view text);

}  // namespace urlprobe::report
