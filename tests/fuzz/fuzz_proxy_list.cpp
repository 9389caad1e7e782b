// route::read_proxy_list: a --proxies file (name= prefixes, comments, URL and host:port forms).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "route/route.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)route::read_proxy_list(text);
  return 0;
}
