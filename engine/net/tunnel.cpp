#include "net/tunnel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace urlprobe::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Kind = TunnelResult::Kind;

std::string basic_authorization(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

namespace {

// The auth-schemes of one Proxy-Authenticate value (RFC 9110 §11.6.1): a comma-separated list of
// challenges, each a scheme then a token68 or auth-params. A list element that starts with
// "name=" is a parameter of the challenge before it; commas inside quoted strings separate
// nothing.
void add_auth_schemes(std::string_view value, std::vector<std::string>& schemes) {
  auto element = [&schemes](std::string_view e) {
    const auto first = e.find_first_not_of(" \t");
    if (first == std::string_view::npos) return;
    e.remove_prefix(first);
    const auto token = e.substr(0, e.find_first_of(" \t=,"));
    const auto after = e.find_first_not_of(" \t", token.size());
    if (token.empty() || (after != std::string_view::npos && e[after] == '='))
      return;  // a parameter
    for (const auto& known : schemes)
      if (boost::beast::iequals(known, token)) return;  // schemes are case-insensitive
    schemes.emplace_back(token);
  };
  bool quoted = false, escaped = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (escaped) {
      escaped = false;
    } else if (quoted) {
      if (c == '\\') escaped = true;
      if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      element(value.substr(start, i - start));
      start = i + 1;
    }
  }
  element(value.substr(start));
}

}  // namespace

TunnelResult classify_proxy_status(int status, const std::vector<std::string>& authenticate) {
  if (status >= 200 && status < 300) return {Kind::established, status, {}};
  if (status == 407) {
    std::vector<std::string> offered;
    for (const auto& value : authenticate) add_auth_schemes(value, offered);
    return {Kind::auth_required, status,
            offered.empty() ? "proxy requires authentication (407, no scheme offered)"
                            : fmt::format("proxy requires authentication (407): offers {}",
                                          fmt::join(offered, ", "))};
  }
  if (status >= 400 && status < 500)
    return {Kind::denied, status, fmt::format("proxy denied the request ({})", status)};
  if (status >= 500)
    return {Kind::proxy_error, status,
            fmt::format("proxy could not reach the target ({})", status)};
  return {Kind::proxy_error, status, fmt::format("unexpected proxy reply status {}", status)};
}

namespace {

std::string io_text(boost::system::error_code ec) {
  // Through an HTTPS proxy, a close without close_notify reads as a truncated stream: still the
  // proxy closing before its reply was complete.
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated)
    return "the proxy closed the connection before a complete reply";
  if (ec == asio::error::connection_reset) return "the proxy reset the connection";
  if (ec == http::error::header_limit) return "the proxy's reply header is too large";
  if (ec.category() == http::make_error_code(http::error::bad_version).category())
    return "the proxy's reply is not HTTP: " + ec.message();
  return "proxy I/O error: " + ec.message();
}

struct HttpConnect : std::enable_shared_from_this<HttpConnect> {
  HttpConnect(ByteStream& s, const TunnelRequest& r, std::function<void(TunnelResult)> d)
      : stream(s), buffer(r.header_limit + 4096), done(std::move(d)) {
    const bool v6 = r.host.find(':') != std::string::npos;
    const std::string authority =
        fmt::format("{}{}{}:{}", v6 ? "[" : "", r.host, v6 ? "]" : "", r.port);
    request.method(http::verb::connect);
    request.target(authority);
    request.version(11);
    request.set(http::field::host, authority);
    request.set(http::field::user_agent, r.user_agent);
    if (!r.user.empty())
      request.set(http::field::proxy_authorization, basic_authorization(r.user, r.password));
    header_limit = static_cast<std::uint32_t>(r.header_limit);
  }

  void start() {
    http::async_write(stream, request,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->done({Kind::proxy_error, 0, io_text(ec)});
                        self->read_reply();
                      });
  }

  void read_reply() {
    parser.emplace();
    parser->header_limit(header_limit);
    parser->skip(true);  // a CONNECT reply has no body (RFC 9110 §9.3.6)
    http::async_read_header(stream, buffer, *parser,
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              self->on_reply(ec);
                            });
  }

  void on_reply(boost::system::error_code ec) {
    if (ec) return done({Kind::proxy_error, 0, io_text(ec)});
    const auto& reply = parser->get();
    if (is_interim_status(reply.result_int())) return read_reply();
    std::vector<std::string> authenticate;
    for (auto [it, end] = reply.equal_range(http::field::proxy_authenticate); it != end; ++it)
      authenticate.emplace_back(it->value());
    auto result = classify_proxy_status(static_cast<int>(reply.result_int()), authenticate);
    if (result.kind == Kind::established && buffer.size() > 0) {
      const auto data = buffer.data();
      stream.unread(std::string(static_cast<const char*>(data.data()), data.size()));
    }
    done(std::move(result));
  }

  ByteStream& stream;
  http::request<http::empty_body> request;
  beast::flat_buffer buffer;
  std::uint32_t header_limit = 0;
  std::optional<http::response_parser<http::empty_body>> parser;  // a fresh one per reply
  std::function<void(TunnelResult)> done;
};

// RFC 1928 reply codes, as the outcome table sees them.
TunnelResult socks_reply(std::uint8_t code) {
  switch (code) {
    case 0:
      return {Kind::established, 0, {}};
    case 2:
      return {Kind::denied, 0, "SOCKS5 proxy: connection not allowed by ruleset (2)"};
    case 1:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: general failure (1)"};
    case 3:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: network unreachable (3)"};
    case 4:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: host unreachable (4)"};
    case 5:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: connection refused by the target (5)"};
    case 6:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: TTL expired (6)"};
    case 7:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: command not supported (7)"};
    case 8:
      return {Kind::proxy_error, 0, "SOCKS5 proxy: address type not supported (8)"};
    default:
      return {Kind::proxy_error, 0, fmt::format("SOCKS5 proxy: unknown reply code {}", code)};
  }
}

struct Socks5Connect : std::enable_shared_from_this<Socks5Connect> {
  Socks5Connect(ByteStream& s, const TunnelRequest& r, std::function<void(TunnelResult)> d)
      : stream(s), request(r), done(std::move(d)) {}

  void start() {
    const bool credentials = !request.user.empty();
    out = credentials ? std::string("\x05\x02\x00\x02", 4) : std::string("\x05\x01\x00", 3);
    send_then_read(2, &Socks5Connect::on_method);
  }

  using Step = void (Socks5Connect::*)();
  void send_then_read(std::size_t reply_size, Step next) {
    asio::async_write(stream, asio::buffer(out),
                      [self = shared_from_this(), reply_size, next](auto ec, std::size_t) {
                        if (ec) return self->fail(ec);
                        self->read(reply_size, next);
                      });
  }

  void read(std::size_t size, Step next) {
    in.resize(size);
    asio::async_read(stream, asio::buffer(in),
                     [self = shared_from_this(), next](auto ec, std::size_t) {
                       if (ec) return self->fail(ec);
                       ((*self).*next)();
                     });
  }

  void fail(boost::system::error_code ec) {
    done({Kind::proxy_error, 0,
          ec == asio::error::eof ? "SOCKS5 proxy closed the connection before a complete reply"
                                 : io_text(ec)});
  }

  void on_method() {
    if (in[0] != 0x05)
      return done(
          {Kind::proxy_error, 0,
           fmt::format("not a SOCKS5 proxy (version byte {})", +static_cast<std::uint8_t>(in[0]))});
    const auto method = static_cast<std::uint8_t>(in[1]);
    if (method == 0x00) return send_connect();
    if (method == 0x02 && !request.user.empty()) {
      if (request.user.size() > 255 || request.password.size() > 255)
        return done({Kind::proxy_error, 0, "SOCKS5 user name or password longer than 255 bytes"});
      out.assign("\x01", 1);
      out += static_cast<char>(request.user.size());
      out += request.user;
      out += static_cast<char>(request.password.size());
      out += request.password;
      return send_then_read(2, &Socks5Connect::on_auth);
    }
    if (method == 0xFF || method == 0x02)
      return done({Kind::auth_required, 0,
                   request.user.empty()
                       ? "SOCKS5 proxy requires authentication (user/password)"
                       : "SOCKS5 proxy accepts none of the offered authentication methods"});
    done({Kind::proxy_error, 0, fmt::format("SOCKS5 proxy chose an unoffered method {}", method)});
  }

  void on_auth() {
    if (in[1] != 0x00)
      return done({Kind::auth_required, 0, "SOCKS5 proxy rejected the user name or password"});
    send_connect();
  }

  void send_connect() {
    out.assign("\x05\x01\x00", 3);
    if (request.address && request.address->is_v4()) {
      out += '\x01';
      const auto b = request.address->to_v4().to_bytes();
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
    } else if (request.address) {
      out += '\x04';
      const auto b = request.address->to_v6().to_bytes();
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
      if (request.host.size() > 255)
        return done({Kind::proxy_error, 0, "host name too long for SOCKS5"});
      out += '\x03';
      out += static_cast<char>(request.host.size());
      out += request.host;
    }
    out += static_cast<char>(request.port >> 8);
    out += static_cast<char>(request.port & 0xFF);
    send_then_read(2, &Socks5Connect::on_reply_code);  // VER REP
  }

  // A failure is final whatever follows: servers that close without sending BND.ADDR have still
  // said why.
  void on_reply_code() {
    if (in[0] != 0x05) return done({Kind::proxy_error, 0, "SOCKS5 reply has a wrong version byte"});
    reply_code = static_cast<std::uint8_t>(in[1]);
    if (reply_code != 0) return done(socks_reply(reply_code));
    read(3, &Socks5Connect::on_reply_head);  // RSV ATYP + first address byte
  }

  void on_reply_head() {  // in: RSV ATYP ADDR[0]
    std::size_t rest = 0;
    switch (in[1]) {
      case 0x01:
        rest = 4 - 1 + 2;
        break;
      case 0x04:
        rest = 16 - 1 + 2;
        break;
      case 0x03:
        rest = static_cast<std::uint8_t>(in[2]) + 2u;
        break;
      default:
        return done({Kind::proxy_error, 0,
                     fmt::format("SOCKS5 reply has an unknown address type {}",
                                 +static_cast<std::uint8_t>(in[1]))});
    }
    read(rest, &Socks5Connect::on_reply_tail);
  }

  void on_reply_tail() { done(socks_reply(reply_code)); }

  ByteStream& stream;
  TunnelRequest request;
  std::function<void(TunnelResult)> done;
  std::string out, in;
  std::uint8_t reply_code = 0;
};

}  // namespace

void async_http_connect(ByteStream& stream, const TunnelRequest& request,
                        std::function<void(TunnelResult)> done) {
  std::make_shared<HttpConnect>(stream, request, std::move(done))->start();
}

void async_socks5_connect(ByteStream& stream, const TunnelRequest& request,
                          std::function<void(TunnelResult)> done) {
  std::make_shared<Socks5Connect>(stream, request, std::move(done))->start();
}

}  // namespace urlprobe::net
