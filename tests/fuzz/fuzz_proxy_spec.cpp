// route::parse_proxy_spec: --proxy values and proxy environment variables; redacted() of what
// parses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "route/proxy.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = route::parse_proxy_spec(text);
  if (auto* spec = std::get_if<route::ProxySpec>(&result)) (void)spec->redacted();
  return 0;
}
