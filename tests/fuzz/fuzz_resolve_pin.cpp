// net::parse_resolve_pin: --resolve HOST:PORT:ADDR[,ADDR...].
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/resolver.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  (void)net::parse_resolve_pin(text, error);
  return 0;
}
