// What the sheet stage hands to the rest of the engine: targets and the input errors met on the
// way.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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
};

struct Target {
  std::string url;     // normalised absolute URL, as probed and reported
  std::string scheme;  // "http" or "https"
  std::string host;    // name or IP literal, without IPv6 brackets
  std::uint16_t port = 0;
  std::string path;  // origin-form request target, starts with '/'
  std::string skip;  // why it cannot be probed as written (a wildcard host); empty: probe it
  RowFacts row;
};

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
