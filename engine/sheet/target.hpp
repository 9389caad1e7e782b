// What the sheet stage hands to the rest of the engine: targets and the input errors met on the way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace urlprobe::sheet {

// The facts of the sheet row a target came from; reports group and filter by them.
struct RowFacts {
  std::string source;  // file name, or "builtin:NAME", or "argv"
  int line = 0;        // 1-based line in source, 0 when not from a file
  std::string geography;
  std::string os;
  std::string category;
};

struct Target {
  std::string url;     // normalised absolute URL, as probed and reported
  std::string scheme;  // "http" or "https"
  std::string host;    // name or IP literal, without IPv6 brackets
  std::uint16_t port = 0;
  std::string path;  // origin-form request target, starts with '/'
  RowFacts row;
};

// A piece of input that could not be used: it is reported and skipped, the rest goes on.
struct InputError {
  std::string source;
  int line = 0;
  int column = 0;
  std::string message;
};

std::string format_input_error(const InputError& e);  // "FILE:LINE:COL: error: MESSAGE"

struct TargetList {
  std::vector<Target> targets;
  std::vector<InputError> errors;
};

}  // namespace urlprobe::sheet
