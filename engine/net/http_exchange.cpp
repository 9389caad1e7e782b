#include "net/http_exchange.hpp"

#include <fmt/format.h>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <vector>

namespace urlprobe::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Response = http::response<http::empty_body>;

namespace {

// The proxy software a Server header names, or "": its first product token, when it is one.
std::string_view proxy_product(std::string_view server) {
  static constexpr std::string_view kProxies[] = {"tinyproxy",     "squid",
                                                  "privoxy",       "polipo",
                                                  "trafficserver", "ats",
                                                  "zscaler",       "proxysg",
                                                  "bluecoat",      "mcafee web gateway",
                                                  "ccproxy",       "wingate",
                                                  "varnish",       "apache-coyote-proxy"};
  const auto token = server.substr(0, server.find_first_of(" /("));
  for (const auto name : kProxies) {
    if (token.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(token[i])) == name[i];
    if (same) return server.substr(0, std::min<std::size_t>(server.size(), 64));
  }
  return {};
}

// Without a tunnel, a forwarding proxy's own refusals arrive as ordinary responses. 407 is
// always the proxy's; other errors only when the proxy marks them as its own (squid's
// X-Squid-Error, RFC 9209 Proxy-Status) or signs them: a proxy product in Server and no Via
// (tinyproxy's "500 Unable to connect"; what it forwards from an origin names the origin's
// server, or carries Via). So an origin's 403 or 500 stays the origin's.
bool proxy_answered(const Response& response, int status) {
  if (status == 407) return true;
  if (status < 400) return false;
  return response.find("X-Squid-Error") != response.end() ||
         response.find("Proxy-Status") != response.end() ||
         (response.find(http::field::via) == response.end() &&
          !proxy_product(response[http::field::server]).empty());
}

// What the proxy said of its failure, for the detail: ` (tinyproxy/1.11.1: "Unable to
// connect")`. Peer text, so bounded; writers escape it.
std::string proxy_reason(const Response& response) {
  const std::string_view server = response[http::field::server];
  const std::string_view reason = response.reason();
  if (server.empty() && reason.empty()) return {};
  return fmt::format(" ({}{}\"{}\")", server.substr(0, 64), server.empty() ? "" : ": ",
                     reason.substr(0, 128));
}

// The evidence of an HTTP proxy in the path: Via (RFC 9110 7.6.3), or the X-Cache header that
// squid with `via off` and most caches still send. Bounded: it is the peer's text.
std::string intermediary(const Response& response) {
  constexpr std::size_t kLimit = 200;
  for (std::string_view name : {"Via", "X-Cache"}) {
    const auto it = response.find(name);
    if (it == response.end()) continue;
    auto value = std::string(it->value().substr(0, kLimit));
    for (auto& c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return fmt::format("{}: {}", name, value);
  }
  return {};
}

struct HttpExchange : std::enable_shared_from_this<HttpExchange> {
  HttpExchange(ByteStream& s, const HttpExchangeRequest& r, std::function<void()> on_sent,
               std::function<void(HttpExchangeResult)> on_done)
      : stream(s),
        buffer(r.header_limit + 4096),
        header_limit(r.header_limit),
        head(r.head),
        forward(r.forward),
        sent(std::move(on_sent)),
        done(std::move(on_done)) {
    request.method(r.head ? http::verb::head : http::verb::get);
    const bool default_port = r.port == (r.https ? 443 : 80);
    const bool v6 = r.host.find(':') != std::string_view::npos;
    const std::string host = v6 ? fmt::format("[{}]", r.host) : std::string(r.host);
    const std::string authority = default_port ? host : fmt::format("{}:{}", host, r.port);
    // RFC 9112 §3.2.2: a request to a forwarding proxy carries the absolute URI.
    request.target(r.forward ? fmt::format("http://{}{}", authority, r.path) : std::string(r.path));
    request.version(11);
    request.set(http::field::host, authority);
    request.set(http::field::user_agent, r.user_agent);
    request.set(http::field::accept, "*/*");
    request.set(http::field::connection, "close");
    if (r.forward && !r.proxy_user.empty())
      request.set(http::field::proxy_authorization,
                  basic_authorization(std::string(r.proxy_user), std::string(r.proxy_password)));
  }

  void start() {
    http::async_write(stream, request,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec)
                          return self->fail("sending the request failed: " + describe_io_error(ec));
                        self->sent();
                        self->read_header();
                      });
  }

  void read_header() {
    parser.emplace();
    if (head) parser->skip(true);  // a HEAD response announces a body it does not send
    parser->header_limit(static_cast<std::uint32_t>(header_limit));
    // The body is never read, so its announced size is no failure: Beast checks Content-Length
    // against its 8 MiB default as soon as the header is parsed.
    parser->body_limit(boost::none);
    http::async_read_header(stream, buffer, *parser,
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(boost::system::error_code ec) {
    if (ec) {
      if (ec == http::error::header_limit)
        return fail(fmt::format("response header exceeds {} bytes", header_limit));
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::ssl::error::stream_truncated || ec == http::error::partial_message)
        return fail("connection closed before a complete response header");
      if (ec.category() == http::make_error_code(http::error::bad_version).category())
        return fail("malformed response header: " + ec.message());
      return fail("reading the response failed: " + describe_io_error(ec));
    }
    const auto& response = parser->get();
    const int status = static_cast<int>(response.result_int());
    if (status < 100 || status > 599) return fail(fmt::format("invalid HTTP status {}", status));
    if (is_interim_status(static_cast<unsigned>(status))) {
      if (++interim_responses > kMaxInterimResponses)
        return fail(fmt::format("more than {} interim (1xx) responses", kMaxInterimResponses));
      return read_header();
    }
    HttpExchangeResult result;
    result.via = intermediary(response);
    if (forward && proxy_answered(response, status)) {
      std::vector<std::string> authenticate;
      for (auto [it, end] = response.equal_range(http::field::proxy_authenticate); it != end; ++it)
        authenticate.emplace_back(it->value());
      result.proxy = classify_proxy_status(status, authenticate);
      if (result.proxy.kind != TunnelResult::Kind::established) {
        if (status != 407) result.proxy.detail += proxy_reason(response);
        result.kind = HttpExchangeResult::Kind::proxy_refused;
        return done(std::move(result));
      }
    }
    result.kind = HttpExchangeResult::Kind::response;
    result.status = status;
    done(std::move(result));
  }

  void fail(std::string detail) {
    HttpExchangeResult result;
    result.detail = std::move(detail);
    done(std::move(result));
  }

  ByteStream& stream;
  http::request<http::empty_body> request;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::empty_body>> parser;  // a fresh one per header
  std::size_t header_limit;
  bool head, forward;
  int interim_responses = 0;
  std::function<void()> sent;
  std::function<void(HttpExchangeResult)> done;
};

}  // namespace

void async_http_exchange(ByteStream& stream, const HttpExchangeRequest& request,
                         std::function<void()> sent, std::function<void(HttpExchangeResult)> done) {
  std::make_shared<HttpExchange>(stream, request, std::move(sent), std::move(done))->start();
}

}  // namespace urlprobe::net
