// Proxy specs as users write them, and the environment's proxy settings (curl's semantics).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace urlprobe::route {

struct ProxySpec {
  enum class Scheme : std::uint8_t { http, https, socks5, socks5h };
  Scheme scheme = Scheme::http;
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 0;
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded; never printed: use redacted()
  std::string name;      // optional label from a proxy list ("paris=http://...")

  // The only form that may reach output or logs: http://user:***@host:3128
  std::string redacted() const;
  bool operator==(const ProxySpec&) const = default;
};

std::string_view scheme_name(ProxySpec::Scheme s);

struct SpecError {
  int column = 1;  // 1-based, in the text given
  std::string message;
};

// URL forms (http, https, socks5, socks5h; optional user:pass@; [v6]) and bare host:port (= http).
// A URL without a port gets curl's default (1080; 443 for https); a bare host needs one.
std::variant<ProxySpec, SpecError> parse_proxy_spec(std::string_view text);

// no_proxy / NO_PROXY: "*", domain suffixes (leading dot optional), host:port, IPs, CIDRs.
class NoProxy {
 public:
  NoProxy() = default;
  explicit NoProxy(std::string_view list);
  bool bypass(std::string_view host, std::uint16_t port) const;
  bool empty() const { return !all_ && entries_.empty(); }

 private:
  struct Entry {
    std::string domain;                 // lower case, no leading dot; empty for IP entries
    std::vector<std::uint8_t> network;  // address bytes for IP/CIDR entries
    int prefix = -1;
    std::uint16_t port = 0;  // 0: any
  };
  bool all_ = false;
  std::vector<Entry> entries_;
};

// The system proxy as curl reads it: https_proxy for https targets, http_proxy (lower case
// only, as curl does) for http, all_proxy as fallback; upper-case variants after lower case.
struct EnvironmentProxy {
  std::optional<ProxySpec> http, https;
  NoProxy no_proxy;
  struct Error {
    std::string variable;  // "https_proxy"
    SpecError spec;
  };
  std::vector<Error> errors;  // values that did not parse
};
EnvironmentProxy read_environment_proxy(const std::map<std::string, std::string>& environment);

}  // namespace urlprobe::route
