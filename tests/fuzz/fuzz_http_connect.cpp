// The real CONNECT handshake (net::async_http_connect, engine/net/tunnel.cpp) against a proxy whose
// reply is the fuzzer's input, served through an in-memory ByteStream. Byte 0 picks the read
// chunk size (1..16 or unlimited: replies split into tiny segments) and the header limit (32 KiB
// as the engine configures it, or 256 bytes); the rest is the proxy's reply. The operation must
// complete exactly once whatever the reply.
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memory_stream.hpp"
#include "net/tunnel.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::string_view reply(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t chunk = (control & 0x10) ? reply.size() + 1 : (control & 0x0F) + 1u;

  boost::asio::io_context io;
  fuzz::MemoryStream stream(io, reply, chunk);
  net::TunnelRequest request;
  request.host = (control & 0x20) ? "2001:db8::1" : "example.com";
  request.port = 443;
  if (control & 0x40) request.user = "user", request.password = "secret";
  request.header_limit = (control & 0x80) ? 256 : 32 * 1024;
  int completions = 0;
  net::TunnelResult result;
  net::async_http_connect(stream, request, [&](net::TunnelResult r) {
    ++completions;
    result = std::move(r);
  });
  io.run();
  if (completions != 1) __builtin_trap();  // a hang or a double completion
  return 0;
}
