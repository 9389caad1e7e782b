// route::NoProxy: a no_proxy list (first line), then bypass() for each following line as a host,
// at ports 0, 80, 443 and 8080.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "route/proxy.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto eol = text.find('\n');
  const route::NoProxy no_proxy(text.substr(0, eol));
  (void)no_proxy.empty();
  if (eol == std::string_view::npos) {
    (void)no_proxy.bypass("example.com", 443);
    return 0;
  }
  text.remove_prefix(eol + 1);
  while (true) {
    const auto next = text.find('\n');
    const auto host = text.substr(0, next);
    for (std::uint16_t port : {0, 80, 443, 8080}) (void)no_proxy.bypass(host, port);
    if (next == std::string_view::npos) break;
    text.remove_prefix(next + 1);
  }
  return 0;
}
