// OpenSSL's own memory per client session, the floor under urlprobe's memory per probe in flight
// (`make wan` prints both). A session made with the engine's context and per-connection setup,
// then one that has sent its ClientHello and waits for the server's answer, which is where a
// probe across a WAN spends most of its life. No sockets: the ClientHello goes to a memory BIO.
//
//   urlprobe_tls_session_memory [SESSIONS]   (default 5000)
// prints: new_kb=K waiting_kb=K (RSS per session, KiB)
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "net/tls.hpp"

namespace {

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4;  // pages of 4 KiB
}

// Sessions as the engine makes them; `waiting`: after the ClientHello left.
double kib_per_session(urlprobe::net::TlsClientContext& context, int count, bool waiting) {
  std::vector<SSL*> sessions;
  sessions.reserve(static_cast<std::size_t>(count));
  const long before = rss_kib();
  for (int i = 0; i < count; ++i) {
    SSL* ssl = SSL_new(context.native().native_handle());
    if (!ssl) std::exit(1);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
    SSL_set_connect_state(ssl);
    if (!urlprobe::net::prepare_client_session(ssl, "svc1.probe.test", true).empty()) std::exit(1);
    if (waiting) {
      SSL_do_handshake(ssl);  // wants to read: the ClientHello is in the write BIO
      std::array<char, 4096> hello;
      while (BIO_read(SSL_get_wbio(ssl), hello.data(), hello.size()) > 0) {
      }
    }
    sessions.push_back(ssl);
  }
  // Kept until exit: memory freed here would be reused by the next measurement and hide from it.
  static std::vector<std::vector<SSL*>> kept;
  kept.push_back(std::move(sessions));
  return static_cast<double>(rss_kib() - before) / count;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 5000;
  if (count <= 0) {
    std::fprintf(stderr, "usage: %s [SESSIONS > 0]\n", argv[0]);
    return 2;
  }
  urlprobe::net::TlsConfig config;
  config.public_roots.clear();
  urlprobe::net::TlsClientContext context(config);
  const double fresh = kib_per_session(context, count, false);
  const double waiting = kib_per_session(context, count, true);
  std::printf("new_kb=%.1f waiting_kb=%.1f\n", fresh, waiting);
}
