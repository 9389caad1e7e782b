// sheet::parse_testcloudconnection: TestCloudConnection.exe's output as users save it (UTF-8 or
// UTF-16 with a BOM, CRLF), read tolerantly. Every host it gives must be a host name that its
// heading's wildcard matches, and a workspace ID must be a GUID: the reader never invents hosts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/text.hpp"
#include "sheet/sheet.hpp"
#include "sheet/wildcard.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto test = sheet::parse_testcloudconnection(text, "fuzz");
  if (!test.workspace_id.empty() && !sheet::is_guid(test.workspace_id)) std::abort();
  for (const auto& host : test.hosts) {
    if (!sheet::is_host_name(host.host)) std::abort();
    if (!host.pattern.empty() && !urlprobe::base::glob_match(host.pattern, host.host)) std::abort();
  }
  return 0;
}
