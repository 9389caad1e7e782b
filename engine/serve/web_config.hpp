// --web-config: Prometheus exporter-toolkit's web configuration file (TLS and basic auth).
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urlprobe::serve {

struct WebConfig {
  std::string source;               // the file, for messages
  std::string cert_file, key_file;  // tls_server_config; empty: plain HTTP. Relative paths are
                                    // resolved against the config file's folder, as
                                    // exporter-toolkit does
  std::string client_ca_file;
  std::string client_auth_type;                                       // as written; "" is none
  std::string min_version, max_version;                               // TLS10 .. TLS13; "" default
  std::vector<std::pair<std::string, std::string>> basic_auth_users;  // user, bcrypt hash

  // tls_server_config's other keys, already in OpenSSL's names.
  std::vector<std::string> cipher_suites;      // for TLS 1.2 and below; empty: OpenSSL's
  std::vector<std::string> curve_preferences;  // groups (P-256, X25519 ...); empty: OpenSSL's
  bool prefer_server_cipher_suites = true;
  // http_server_config.headers: added to every response (the names exporter-toolkit allows).
  std::vector<std::pair<std::string, std::string>> headers;

  // "FILE:LINE:COL" of cert_file, key_file and client_ca_file, for make_server_tls's messages.
  std::string cert_file_at, key_file_at, client_ca_file_at;

  bool tls() const { return !cert_file.empty(); }
  bool auth() const { return !basic_auth_users.empty(); }
};

class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every problem is "FILE:LINE:COL: what" (unknown or duplicate key, bad indentation, a value
// that is not a bcrypt hash, cert_file without key_file ...); a file that cannot be read is
// "FILE: what". Messages never quote a basic_auth_users value: it may be a pasted password.
WebConfig parse_web_config(std::string_view yaml, std::string_view source);
WebConfig read_web_config(const std::string& path);
// A server context: the certificate chain and its key (checked to match), the client CA and
// verify mode, TLS versions, ciphers and groups. Throws WebConfigError naming the config line.
boost::asio::ssl::context make_server_tls(const WebConfig& config);

// Checks an Authorization header value ("Basic base64(user:password)") against the users'
// bcrypt hashes. Verified pairs are remembered (by SHA-256 of user NUL password, at most 256),
// so a scrape every 15 s costs no bcrypt; an unknown user costs one bcrypt all the same, so
// timing does not tell which users exist. Thread-safe; copies share what they remember.
class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users);
  bool enabled() const { return !users_.empty(); }
  bool allows(std::string_view authorization_header) const;

  struct Cache;

 private:
  std::vector<std::pair<std::string, std::string>> users_;
  std::string dummy_setting_;  // bcrypt salt at the users' highest cost, for unknown users
  std::shared_ptr<Cache> cache_;
};

}  // namespace urlprobe::serve
