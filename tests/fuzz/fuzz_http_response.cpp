// The origin's response header as the probe reads it (engine/net/http_exchange.cpp, read_header
// and on_header): http::async_read_header into a response_parser<empty_body> with header_limit
// 32 KiB and a flat_buffer capped at the limit plus 4 KiB, over an in-memory ByteStream, again
// for each interim 1xx reply; then the status check and, as for a forwarding proxy, the
// X-Squid-Error / Proxy-Status / Proxy-Authenticate look-ups and net::classify_proxy_status.
// Byte 0 picks the read chunk size (1..16 or unlimited), so headers also arrive split into tiny
// segments; the rest is what the origin sends. Every read must complete exactly once.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memory_stream.hpp"
#include "net/stream.hpp"
#include "net/tunnel.hpp"

using namespace urlprobe;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t kHeaderLimit = 32 * 1024;  // ProbeConfig::header_limit's default

// Mirrors HttpExchange::on_header for a parsed header; the returned status is only kept alive so
// the work is not optimised away.
int judge(const http::response<http::empty_body>& response) {
  const int status = static_cast<int>(response.result_int());
  if (status < 100 || status > 599) return -1;
  const bool proxy_marked = response.find("X-Squid-Error") != response.end() ||
                            response.find("Proxy-Status") != response.end();
  if (status == 407 || (status >= 400 && proxy_marked)) {
    std::vector<std::string> authenticate;
    for (auto [it, end] = response.equal_range(http::field::proxy_authenticate); it != end; ++it)
      authenticate.emplace_back(it->value());
    return static_cast<int>(net::classify_proxy_status(status, authenticate).kind);
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::string_view origin(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t chunk = (control & 0x10) ? origin.size() + 1 : (control & 0x0F) + 1u;

  boost::asio::io_context io;
  fuzz::MemoryStream memory(io, origin, chunk);
  net::ByteStream& stream = memory;  // the type the probe reads through (its top_ layer)
  boost::beast::flat_buffer buffer(kHeaderLimit + 4096);
  std::optional<http::response_parser<http::empty_body>> parser;
  int completions = 0, reads = 0;
  volatile int verdict = 0;

  std::function<void()> read_header = [&] {
    ++reads;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    parser->body_limit(boost::none);  // as the probe: the body is never read
    http::async_read_header(stream, buffer, *parser,
                            [&](boost::system::error_code ec, std::size_t) {
                              ++completions;
                              if (ec) return;
                              const auto& response = parser->get();
                              if (!parser->is_header_done()) __builtin_trap();
                              const int status = static_cast<int>(response.result_int());
                              // An interim reply: the final one follows, on the same buffer.
                              if (status >= 100 && status < 200 && status != 101)
                                return read_header();
                              verdict = judge(response);
                            });
  };
  read_header();
  io.run();
  if (completions != reads) __builtin_trap();  // a hang or a double completion
  if (buffer.size() > kHeaderLimit + 4096) __builtin_trap();
  return 0;
}
