// The client TLS configuration shared read-only by every probe, and the facts read off a session.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <optional>
#include <string>

typedef struct ssl_st SSL;

namespace urlprobe::net {

struct TlsConfig {
  std::string ca_file;  // extra trusted roots, PEM (e.g. the enterprise inspection CA)
  bool verify = true;
};

// Built once per sweep; SSL_CTX is safe to share across threads once configured.
class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsConfig& config);  // throws std::runtime_error naming the file
  boost::asio::ssl::context& native() { return context_; }
  bool verify() const { return verify_; }

 private:
  boost::asio::ssl::context context_;
  bool verify_;
};

// Per connection: SNI and host-name verification for `host` (skipped for IP-literal SNI).
// Returns an error message when OpenSSL refuses.
std::string prepare_client_session(SSL* ssl, const std::string& host, bool verify);

struct TlsFacts {
  std::string version;
  std::string cipher;
  std::string issuer;
  std::string subject;
  std::string not_after;  // RFC 3339, UTC
  bool verified = false;
};
// Whatever the session learnt, also after a failed handshake (the peer's leaf may be known).
std::optional<TlsFacts> read_tls_facts(SSL* ssl);

// Why a handshake failed: the verification cause if the chain was rejected, or the library's
// reason. `untrusted` tells which of the two it was.
struct TlsFailure {
  bool untrusted = false;
  std::string detail;
};
TlsFailure explain_handshake_failure(SSL* ssl, const std::string& host, const std::string& error_text);

}  // namespace urlprobe::net
