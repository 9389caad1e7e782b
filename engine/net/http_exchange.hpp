// One HTTP/1.1 request and its response header over any ByteStream: what a probe asks of the
// origin, or of a forwarding proxy on the origin's behalf (RFC 9112).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "net/stream.hpp"
#include "net/tunnel.hpp"

namespace urlprobe::net {

// Read only while async_http_exchange runs: the views may point at the caller's temporaries.
struct HttpExchangeRequest {
  std::string_view host;  // without IPv6 brackets
  std::uint16_t port = 0;
  bool https = false;  // the origin's scheme: its default port is left out of Host
  std::string_view path = "/";
  bool head = false;  // HEAD instead of GET
  // No tunnel: the request goes to an HTTP proxy, which forwards it. The target is then in
  // absolute form, credentials (if any) ride in Proxy-Authorization, and the proxy's own refusals
  // are told apart from the origin's answers.
  bool forward = false;
  std::string_view proxy_user, proxy_password;
  std::string_view user_agent;
  std::size_t header_limit = 32 * 1024;
};

struct HttpExchangeResult {
  enum class Kind {
    response,       // the origin's final response header: `status`
    failed,         // no usable final response: `detail` says what went wrong
    proxy_refused,  // a forwarding proxy answered for itself: `proxy` holds its verdict
  };
  Kind kind = Kind::failed;
  int status = 0;
  std::string detail;
  // The Via or X-Cache header of a final response ("Via: 1.1 proxy (squid/5.7)"), bounded and
  // with control characters blanked: the evidence of an HTTP proxy in the path.
  std::string via;
  // Set when a forwarding proxy answered for itself (its status in proxy.proxy_status).
  TunnelResult proxy;
};

// Writes the request, then reads response headers until a final one (skipping at most
// kMaxInterimResponses interim ones). The body is never read. `sent` runs once the request is
// written, before the response is read (a caller times the two apart); `done` runs exactly once.
// Closing the stream's socket ends the exchange with a failure.
void async_http_exchange(ByteStream& stream, const HttpExchangeRequest& request,
                         std::function<void()> sent, std::function<void(HttpExchangeResult)> done);

}  // namespace urlprobe::net
