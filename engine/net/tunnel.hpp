// Tunnels through proxies: HTTP CONNECT (RFC 9110 §9.3.6) and SOCKS5 (RFC 1928/1929).
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "net/stream.hpp"

namespace urlprobe::net {

struct TunnelRequest {
  std::string host;  // the target as the proxy should see it (CONNECT host:port, SOCKS5 domain)
  std::uint16_t port = 0;
  std::optional<boost::asio::ip::address> address;  // SOCKS5 without remote DNS: send this instead
  std::string user, password;                       // empty: no credentials
  std::string user_agent = "urlprobe";
  std::size_t header_limit = 32 * 1024;
};

struct TunnelResult {
  enum class Kind { established, auth_required, denied, proxy_error };
  Kind kind = Kind::proxy_error;
  int proxy_status = 0;  // the HTTP status of the proxy's reply (0 for SOCKS)
  std::string detail;
};

// On `established`, the stream carries bytes to and from the target; early bytes the proxy sent
// after its reply header have been pushed back into the stream. Each kind of tunnel is one
// OpenTunnel, so a caller picks one per proxy kind and calls it without knowing which it is.
using OpenTunnel = void(ByteStream& stream, const TunnelRequest& request,
                        std::function<void(TunnelResult)> done);
OpenTunnel async_http_connect;
OpenTunnel async_socks5_connect;

// RFC 9110 15.2: a 1xx response is interim (100 Continue, 103 Early Hints) and the final one
// follows on the same connection; 101 is final here, as nobody asks to switch protocols. Readers
// skip interim responses, at most kMaxInterimResponses of them: a peer that sends nothing else
// gets a named failure instead of holding the exchange to its deadline.
constexpr bool is_interim_status(unsigned status) {
  return status >= 100 && status < 200 && status != 101;
}
inline constexpr int kMaxInterimResponses = 32;

// How to read a proxy's own HTTP answer (to CONNECT, or to an absolute-form GET it refused).
// `authenticate` holds the Proxy-Authenticate values, which name the schemes on offer.
TunnelResult classify_proxy_status(int status, const std::vector<std::string>& authenticate);

std::string basic_authorization(const std::string& user,
                                const std::string& password);  // "Basic ..."

}  // namespace urlprobe::net
