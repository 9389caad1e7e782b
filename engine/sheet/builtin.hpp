// The vendor sheets embedded at build time from third_party/mde.
#pragma once

#include <span>
#include <string_view>

namespace urlprobe::sheet {

struct BuiltinSheet {
  std::string_view name;  // file name under third_party/mde
  std::string_view text;
};

std::span<const BuiltinSheet> builtin_sheets();

}  // namespace urlprobe::sheet
