// The client TLS handshake as ProbeOp runs it (engine/net/stream.cpp, TlsStream; SNI and host
// verification from net::prepare_client_session) over an in-memory ByteStream whose peer sends
// the fuzzer's bytes as the server's: records split anywhere, truncated anywhere, malformed.
// Byte 0 picks the read chunk size (1..16 or unlimited). The handshake must complete exactly
// once, with an error the probe can explain, and then a read must too: what TlsStream's own
// BIO and retry loop do with every shape of input, behind OpenSSL's parser.
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memory_stream.hpp"
#include "net/stream.hpp"
#include "net/tls.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::string_view server(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t chunk = (control & 0x10) ? server.size() + 1 : (control & 0x0F) + 1u;

  // The probe's client context (system store, verification on), built once per process.
  static net::TlsClientContext context(net::TlsConfig{.public_roots = ""});
  boost::asio::io_context io;
  fuzz::MemoryStream wire(io, server, chunk);
  net::TlsStream tls(wire, context.native());
  if (!net::prepare_client_session(tls.native_handle(), "fuzz.probe.test", true).empty())
    __builtin_trap();
  int handshakes = 0, reads = 0;
  char plaintext[64];
  tls.async_handshake([&](boost::system::error_code ec) {
    ++handshakes;
    if (!ec) __builtin_trap();  // nothing the fuzzer sends can verify, nor knows our key share
    // What the probe does next on success; here it shows a failed stream stays failed quietly.
    net::ByteStream& stream = tls;
    stream.async_read_some(boost::asio::buffer(plaintext),
                           [&](boost::system::error_code, std::size_t) { ++reads; });
  });
  io.run();
  if (handshakes != 1 || reads != 1) __builtin_trap();
  return 0;
}
