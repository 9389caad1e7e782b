// sheet::parse_csv: RFC 4180 records (quotes, doubled quotes, embedded newlines, CRLF), comma or
// tab.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sheet/reader.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first byte picks the separator the sheet loader would use (csv or tsv).
  const char separator = !text.empty() && (text[0] & 1) ? '\t' : ',';
  (void)sheet::parse_csv(text.empty() ? text : text.substr(1), separator);
  return 0;
}
