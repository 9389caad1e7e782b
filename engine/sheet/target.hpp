// What the sheet stage hands to the rest of the engine: targets and the input errors met on the
// way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sheet/expectation.hpp"

namespace urlprobe::sheet {

// The facts of the sheet row a target came from; reports group and filter by them.
struct RowFacts {
  std::string source;  // file name, or "builtin:NAME", or "argv"
  int line = 0;        // 1-based line (row) in source, 0 when not from a file
  std::string sheet;   // the worksheet, for .xlsx
  std::string geography;
  std::string os;  // the OS columns that say yes, e.g. "windows,mac,linux"
  std::string category;
  std::string service;
  std::string required;  // "Required" / "Optional", as the sheet says
  std::vector<std::pair<std::string, std::string>> extra;  // columns we do not know, by header
  std::vector<int> other_lines;                            // further rows that named the same URL
  // A concrete host put in for the row's wildcard host: the wildcard ("*.dm.microsoft.com"),
  // how the host was chosen (host_source_name: "workspace-id", "testcloudconnection",
  // "wildcard-host", "representative") and the Log Analytics workspace it belongs to, if any.
  std::string wildcard;
  std::string host_from;
  std::string workspace;
  Expectation expect;
};

// The row of one target. What a row's targets have in common (every line of a URL list has the
// same) is held once and shared: a million targets cost one RowFacts, not a million copies.
class TargetRow {
  std::shared_ptr<const RowFacts> shared_;
  bool own_ = false;  // shared_ was made by add_other_line() for this target alone

 public:
  TargetRow() = default;
  // SHARED's own line is not used: `line` is the target's.
  TargetRow(std::shared_ptr<const RowFacts> shared, int line)
      : shared_(std::move(shared)), line(line) {}
  explicit TargetRow(RowFacts facts) : line(facts.line) {
    shared_ = std::make_shared<const RowFacts>(std::move(facts));
  }

  int line = 0;  // 1-based line (row) in source, 0 when not from a file

  const std::string& source() const { return facts().source; }
  const std::string& sheet() const { return facts().sheet; }
  const std::string& geography() const { return facts().geography; }
  const std::string& os() const { return facts().os; }
  const std::string& category() const { return facts().category; }
  const std::string& service() const { return facts().service; }
  const std::string& required() const { return facts().required; }
  // Readiness counts it: marked "Required", or from a sheet without the column.
  bool is_required() const;
  const std::vector<std::pair<std::string, std::string>>& extra() const { return facts().extra; }
  const std::vector<int>& other_lines() const { return facts().other_lines; }
  const std::string& wildcard() const { return facts().wildcard; }
  const std::string& host_from() const { return facts().host_from; }
  const std::string& workspace() const { return facts().workspace; }
  // The vendor's analyzer tests this host for the row's wildcard: one of several, not the host.
  bool representative() const { return facts().host_from == "representative"; }
  const Expectation& expect() const { return facts().expect; }
  // A further row named the same URL (deduplicate): copies the shared facts on first write.
  void add_other_line(int other);

  // The full facts with this target's line. A Result shares the row instead; what still copies
  // it is the bench's result pool and tests that build or compare whole rows.
  operator RowFacts() const {  // NOLINT(google-explicit-constructor): assigned like the facts
    RowFacts out = facts();
    out.line = line;
    return out;
  }

 private:
  const RowFacts& facts() const;
};

// Text that is almost always empty (why a target is skipped): one pointer, not a 32-byte string.
class RareText {
 public:
  RareText() = default;
  RareText(std::string text)  // NOLINT(google-explicit-constructor): assigned like a string
      : text_(text.empty() ? nullptr : std::make_unique<std::string>(std::move(text))) {}
  RareText(const char* text) : RareText(std::string(text)) {}  // NOLINT(google-explicit-*)
  RareText(const RareText& other) : RareText(other.str()) {}
  RareText(RareText&&) noexcept = default;
  RareText& operator=(const RareText& other) {
    if (this != &other) *this = RareText(other);
    return *this;
  }
  RareText& operator=(RareText&&) noexcept = default;

  bool empty() const { return !text_; }
  const std::string& str() const {
    static const std::string kEmpty;
    return text_ ? *text_ : kEmpty;
  }
  operator std::string_view() const { return str(); }  // NOLINT(google-explicit-*)

 private:
  std::unique_ptr<std::string> text_;
};

// A million-line URL list is a million of these, so they are kept small: 152 bytes, plus the
// URL and the host where they outgrow a string's 15 inline bytes (bench/README.md, "Memory").
struct Target {
  std::string url;  // normalised absolute URL, as probed and reported
  // "http" or "https", always one of kHttp and kHttps (static storage), never owned text.
  std::string_view scheme;
  std::string host;  // name or IP literal, without IPv6 brackets
  std::string path;  // origin-form request target, starts with '/'
  std::uint16_t port = 0;
  RareText skip;  // why it cannot be probed as written (a wildcard host); empty: probe it
  TargetRow row;
};
inline constexpr std::string_view kHttp = "http", kHttps = "https";

// A piece of input that could not be used: it is reported and skipped, the rest goes on.
struct InputError {
  std::string source;
  int line = 0;
  int column = 0;
  std::string message;
  std::string cell;      // a worksheet cell, "Sheet!E17": then it is located by that, not line:col
  bool warning = false;  // a sheet cell that was skipped (the row's other URLs still count)
};

// "FILE:LINE:COL: error: MESSAGE", or "FILE:Sheet!E17: warning: MESSAGE"
std::string format_input_error(const InputError& e);

struct TargetList {
  std::vector<Target> targets;
  std::vector<InputError> errors;
};

}  // namespace urlprobe::sheet
