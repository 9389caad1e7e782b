// The real SOCKS5 handshake (net::async_socks5_connect, engine/net/tunnel.cpp) against a proxy
// whose replies (method choice, auth status, CONNECT reply with BND.ADDR) are the fuzzer's input,
// served through an in-memory ByteStream. Byte 0 picks the read chunk size, credentials or not,
// and what the request carries (domain name, IPv4 or IPv6 address). The operation must complete
// exactly once whatever the replies.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memory_stream.hpp"
#include "net/tunnel.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::string_view replies(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t chunk = (control & 0x08) ? replies.size() + 1 : (control & 0x07) + 1u;

  boost::asio::io_context io;
  fuzz::MemoryStream stream(io, replies, chunk);
  net::TunnelRequest request;
  request.host = "example.com";
  request.port = 443;
  switch ((control >> 4) & 3) {
    case 1:
      request.address = boost::asio::ip::make_address("192.0.2.1");
      break;
    case 2:
      request.address = boost::asio::ip::make_address("2001:db8::1");
      break;
    default:
      break;
  }
  if (control & 0x40) request.user = "user", request.password = "secret";
  int completions = 0;
  net::async_socks5_connect(stream, request, [&](net::TunnelResult) { ++completions; });
  io.run();
  if (completions != 1) __builtin_trap();  // a hang or a double completion
  return 0;
}
