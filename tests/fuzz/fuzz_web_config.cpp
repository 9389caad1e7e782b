// serve::parse_web_config: an exporter-toolkit web configuration (the strict YAML subset). Any
// input either parses or throws WebConfigError; nothing else may escape, crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serve/web_config.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const serve::WebConfig config = serve::parse_web_config(text, "/etc/urlprobe/web.yml");
    // What the parser promises: TLS needs both files, and every user has a bcrypt hash.
    if (config.tls() && config.key_file.empty()) __builtin_trap();
    for (const auto& [user, hash] : config.basic_auth_users)
      if (hash.size() != 60 || user.find(':') != std::string_view::npos) __builtin_trap();
  } catch (const serve::WebConfigError&) {
  }
  return 0;
}
