// --web-config: Prometheus exporter-toolkit's web configuration file (TLS and basic auth).
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urlprobe::serve {

struct WebConfig {
  std::string source;               // the file, for messages
  std::string cert_file, key_file;  // tls_server_config; empty: plain HTTP
  std::string client_ca_file, client_auth_type;
  std::string min_version, max_version;                               // TLS12, TLS13
  std::vector<std::pair<std::string, std::string>> basic_auth_users;  // user, bcrypt hash
  bool tls() const { return !cert_file.empty(); }
  bool auth() const { return !basic_auth_users.empty(); }
};

class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every problem is "FILE:LINE:COL: what".
WebConfig parse_web_config(std::string_view yaml, std::string_view source);
WebConfig read_web_config(const std::string& path);
boost::asio::ssl::context make_server_tls(const WebConfig& config);

// Checks an Authorization header value against the users' bcrypt hashes. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users);
  bool enabled() const { return !users_.empty(); }
  bool allows(std::string_view authorization_header) const;

 private:
  std::vector<std::pair<std::string, std::string>> users_;
};

}  // namespace urlprobe::serve
