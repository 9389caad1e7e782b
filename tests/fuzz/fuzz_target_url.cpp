// sheet::parse_target_url: one URL as a user writes it (sheet cell, --url, URL list line).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sheet/url.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sheet::parse_target_url(text);
  return 0;
}
