// route::read_winhttp: --winhttp files (netsh winhttp show proxy / dump, UTF-16 or UTF-8), then
// what route::build does with a result: the proxy server list and the bypass list it holds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "route/bypass.hpp"
#include "route/windows_config.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto read = route::read_winhttp(bytes);
  if (!read.settings) return 0;
  std::optional<route::SpecError> error;
  (void)route::parse_winhttp_servers(read.settings->proxy_server, error);
  const route::WinHttpBypass bypass(read.settings->bypass_list);
  (void)bypass.match("https", "winatp-gw-eus.microsoft.com", 443);
  (void)bypass.match("http", "intranet", 80);
  (void)bypass.match("https", "::1", 443);
  return 0;
}
