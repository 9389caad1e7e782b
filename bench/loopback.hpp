// Benchmark fixtures: a throw-away ECDSA P-256 certificate for 127.0.0.1, an in-process
// HTTP/HTTPS server on 127.0.0.1 and an in-process tunnelling proxy (HTTP CONNECT or SOCKS5) on
// 127.0.0.1, each running on a thread (and io_context) of its own.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace urlprobe::bench {

// A self-signed ECDSA P-256 certificate for IP 127.0.0.1, made with the OpenSSL API at startup.
// The PEM is written to a temp file (for TlsConfig.ca_file) that is removed by the destructor.
class TestCert {
 public:
  TestCert();
  ~TestCert();
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;

  const std::string& pem_path() const { return pem_path_; }
  // TLS 1.3 only, session cache off, no tickets: every handshake is a full one.
  boost::asio::ssl::context& server_context() { return server_; }

 private:
  std::string pem_path_;
  boost::asio::ssl::context server_;
};

// Answers every request with "HTTP/1.1 200 OK", Content-Length 0, Connection: close, and
// closes. With a TLS context it speaks HTTPS, without one plain HTTP.
class LoopbackServer {
 public:
  explicit LoopbackServer(boost::asio::ssl::context* tls);  // nullptr: plain HTTP
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::uint16_t port() const;
  std::uint64_t served() const;  // responses written
  std::uint64_t errors() const;  // failed handshakes, reads or writes
  double cpu_seconds() const;    // CPU time of the server thread so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A tunnelling proxy on 127.0.0.1 that only ever connects to 127.0.0.1 (anything else is refused:
// 403, or SOCKS5 reply 2). After the tunnel is up it relays bytes both ways until either side
// closes, then closes both.
//  - http_connect: reads the request header (up to the blank line, 8 KiB at most), expects
//    `CONNECT 127.0.0.1:PORT HTTP/1.1`, connects, answers
//    `HTTP/1.1 200 Connection established` (502 if the target refuses, 405 for other methods,
//    400 for anything it cannot parse).
//  - socks5: RFC 1928 with method 0 (no authentication), command CONNECT, ATYP 1 (IPv4) only;
//    other commands get reply 7, other address types reply 8, a refused connect reply 5.
class TunnelProxy {
 public:
  enum class Protocol { http_connect, socks5 };
  explicit TunnelProxy(Protocol protocol);
  ~TunnelProxy();
  TunnelProxy(const TunnelProxy&) = delete;
  TunnelProxy& operator=(const TunnelProxy&) = delete;

  std::uint16_t port() const;
  std::uint64_t tunnels() const;  // tunnels established (200 / SOCKS5 reply 0 sent)
  std::uint64_t errors() const;   // refused or malformed requests, failed connects, I/O errors
  double cpu_seconds() const;     // CPU time of the proxy thread so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CPU time of the calling thread.
double thread_cpu_seconds();
// getrusage(RUSAGE_THREAD) of the calling thread: kernel CPU time and context switches so far.
struct ThreadUsage {
  double system_seconds = 0;
  std::uint64_t context_switches = 0;  // voluntary and involuntary
};
ThreadUsage thread_usage();

}  // namespace urlprobe::bench
