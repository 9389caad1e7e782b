// The client TLS configuration shared read-only by every probe, and the facts read off a session.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "net/pins.hpp"

typedef struct ssl_st SSL;
typedef struct x509_store_st X509_STORE;

namespace urlprobe::net {

struct TlsConfig {
  std::string ca_file;  // extra trusted roots, PEM (e.g. the enterprise inspection CA)
  // The roots that count as public: a PEM file or a directory of them. A chain that verifies
  // but is anchored elsewhere was issued by an inspecting proxy. Empty: no such check.
  std::string public_roots = "/usr/share/ca-certificates/mozilla";
  bool verify = true;  // false: --insecure (facts are still read)
  // What a session may be pinned to (by name, see pinned_store). A caller that adds --pin files
  // does `pins = builtin_pins(); set_pin(pins, ...)`.
  std::vector<Pin> pins = builtin_pins();
};

// Built once per sweep; SSL_CTX is safe to share across threads once configured.
class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsConfig& config);  // throws std::runtime_error naming the file
  ~TlsClientContext();
  TlsClientContext(TlsClientContext&&);
  TlsClientContext& operator=(TlsClientContext&&);
  boost::asio::ssl::context& native() { return context_; }
  bool verify() const { return verify_; }
  // True when `anchor`'s subject and key are those of a public root (a lookup, no verification).
  bool is_public_root(X509* anchor) const;
  bool checks_public_roots() const { return !public_roots_.empty(); }

  // The store a pinned session verifies with: the system store (and --ca-file) plus the roots
  // of the named pins, so that the handshake learns where the chain ends and judge_session can
  // demand that it ends at a pin. Built once per distinct set of names and kept for the
  // context's lifetime; safe to call from any thread. Throws std::runtime_error for a name that
  // is not one of TlsConfig::pins.
  X509_STORE* pinned_store(const std::vector<std::string>& names);
  // The first of `names` one of whose roots is `cert` (same subject and key), or "".
  std::string pin_of(X509* cert, const std::vector<std::string>& names) const;

 private:
  struct PinnedStores;
  boost::asio::ssl::context context_;
  bool verify_;
  std::unordered_set<std::string> public_roots_;  // SHA-256 of subject DER + SHA-256 of the key
  bool load_bundle_ = true;                       // the system bundle needs loading as a file
  std::string ca_file_;
  std::vector<Pin> pins_;
  std::unique_ptr<PinnedStores> pinned_;
};

// Per connection: SNI, host-name verification for `host`, and a request for a stapled OCSP
// response; `verify_store` (TlsClientContext::pinned_store) replaces the context's store for
// this session. Returns an error message when OpenSSL refuses.
std::string prepare_client_session(SSL* ssl, const std::string& host, bool verify,
                                   X509_STORE* verify_store = nullptr);

struct TlsFacts {
  std::string version, cipher, group, alpn;
  std::string subject, issuer, root;  // root: the anchor's subject, when the chain verified
  std::vector<std::string> sans;      // the leaf's DNS names
  std::string not_before, not_after;  // RFC 3339, UTC
  std::optional<long> days_left;
  std::string serial;   // hex
  std::string sig_alg;  // e.g. ecdsa-with-SHA256
  std::string key;      // e.g. "EC P-256", "RSA 2048"
  int chain_len = 0;    // certificates the server sent
  bool verified = false;
  std::string ocsp;   // stapled response for the leaf: good, revoked, unknown; empty: none
  std::string error;  // why it is untrusted: expired, not_yet_valid, hostname_mismatch, ...
  std::string pin;    // the pin the chain matched (TlsVerdict::pin), when the target is pinned
};
// Whatever the session learnt, also after a failed handshake (the leaf is kept for that).
std::optional<TlsFacts> read_tls_facts(SSL* ssl);

// Why a handshake failed: the verification cause if the chain was rejected, or the library's
// reason. `untrusted` tells which of the two it was; `code` is TlsFacts::error's value.
// `intercepted`: a pinned session whose chain ends at a root that is neither pinned nor
// trusted, which only an inspecting proxy serves (code "pin_mismatch").
struct TlsFailure {
  bool untrusted = false;
  std::string code;
  std::string detail;
  bool intercepted = false;
};
// `pins`: the names the session was pinned to (empty: not pinned).
TlsFailure explain_handshake_failure(SSL* ssl, const std::string& host,
                                     const std::string& error_text,
                                     const std::vector<std::string>& pins = {});

// After a handshake that verified: what is still wrong with the session, if anything.
// untrusted: a weak leaf or a stapled "revoked"; intercepted: anchored outside the public roots.
// A pinned session (`pins` not empty) must chain to a root of one of the pins: it is trusted,
// with `pin` set, when it does, whether or not that root is public; when it does not, code
// "pin_mismatch", untrusted if the chain ends at a public root (the vendor changed CAs or the
// pin is out of date), intercepted otherwise.
struct TlsVerdict {
  enum class Kind { trusted, untrusted, intercepted } kind = Kind::trusted;
  std::string code;
  std::string detail;
  std::string pin;  // the pin whose root the chain holds
};
TlsVerdict judge_session(SSL* ssl, const TlsClientContext& context,
                         const std::vector<std::string>& pins = {});

}  // namespace urlprobe::net
