// The pins embedded at build time (third_party/CMakeLists.txt, urlprobe_embed_pins).
#pragma once

#include <span>
#include <string_view>

namespace urlprobe::net {

struct BuiltinPinPem {
  std::string_view name;
  std::string_view pem;
};

std::span<const BuiltinPinPem> builtin_pin_pems();

}  // namespace urlprobe::net
