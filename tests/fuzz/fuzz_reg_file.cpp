// route::read_reg_file: --registry files (regedit exports: UTF-16LE or UTF-8, continued hex
// values, escaped strings, deletions), then the Defender bypass list a policy may hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "route/bypass.hpp"
#include "route/windows_config.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto read = route::read_reg_file(bytes);
  if (const auto& bypass = read.policy.defender_bypass) {
    const route::WinHttpBypass list(bypass->text, /*commas=*/true);
    (void)list.match("https", "a.corp.contoso.com", 443);
  }
  return 0;
}
