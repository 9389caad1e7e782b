// sheet::read_url_list: a text file of URLs, comments and blank lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sheet/reader.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sheet::TargetList list;
  sheet::read_url_list(text, "fuzz.txt", list);
  return 0;
}
