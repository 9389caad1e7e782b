// net::ServiceTags::parse: --service-tags FILE (Microsoft's ServiceTags_Public_*.json). A table
// that parses must also answer lookups, at and around the prefixes the input named.
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/service_tags.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  net::ServiceTagsError error;
  const auto tags = net::ServiceTags::parse(text, error);
  if (!tags) {
    // Every error is located inside the text (or just past its end).
    if (error.line < 1 || error.column < 1 || error.message.empty()) __builtin_trap();
    return 0;
  }
  for (const char* address :
       {"0.0.0.0", "10.0.0.1", "20.42.73.5", "255.255.255.255", "::", "2603:1030:210:1::10",
        "::ffff:20.42.73.5", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    const auto names = tags->tags_of(boost::asio::ip::make_address(address));
    if (names.size() > tags->tag_count()) __builtin_trap();
  }
  return 0;
}
