// Turning one URL as a user writes it into a Target.
#pragma once

#include <string_view>
#include <variant>

#include "sheet/target.hpp"

namespace urlprobe::sheet {

struct UrlError {
  int column = 1;  // 1-based column in the text given
  std::string message;
};

// Accepts absolute http(s) URLs and bare "host[:port][/path]" (taken as https).
std::variant<Target, UrlError> parse_target_url(std::string_view text);

}  // namespace urlprobe::sheet
