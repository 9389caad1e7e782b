// Stand-in for the CONNECT reply parsing inside HttpConnect (engine/net/tunnel.cpp): a Beast
// response_parser<empty_body> configured as the engine does (header_limit 32 KiB, skip(true) as a
// CONNECT reply has no body), fed the input, then net::classify_proxy_status on its status and
// Proxy-Authenticate values, also when interim 1xx replies come first. fuzz_http_connect runs the
// real asynchronous operation; this one is faster and reaches the parser without the socket.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/tunnel.hpp"

using namespace urlprobe;
namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int reply = 0; reply < 8 && !rest.empty(); ++reply) {
    http::response_parser<http::empty_body> parser;
    parser.header_limit(32 * 1024);
    parser.skip(true);
    boost::beast::error_code ec;
    while (!rest.empty() && !parser.is_header_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      if (ec == http::error::need_more) {
        ec = {};
        break;  // all input offered: the engine would read more, the fuzzer has no more
      }
      if (ec) return 0;
      if (used == 0) break;
      rest.remove_prefix(used);
    }
    if (!parser.is_header_done()) return 0;
    const auto& msg = parser.get();
    const int status = static_cast<int>(msg.result_int());
    if (status >= 100 && status < 200 && status != 101)
      continue;  // interim: the final reply follows
    std::vector<std::string> authenticate;
    for (auto [it, end] = msg.equal_range(http::field::proxy_authenticate); it != end; ++it)
      authenticate.emplace_back(it->value());
    (void)net::classify_proxy_status(status, authenticate);
    return 0;
  }
  return 0;
}
