// sheet::read_xlsx: a whole .xlsx file (zip + XML) from memory. Only XlsxError may escape.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sheet/xlsx.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)sheet::read_xlsx(text);
  } catch (const sheet::XlsxError&) {
  }
  return 0;
}
