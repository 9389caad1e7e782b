// route::parse_pac_answer: the string a PAC script returns ("PROXY a:1; SOCKS5 b:2; DIRECT").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "route/pac.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  (void)route::parse_pac_answer(text, error);
  return 0;
}
