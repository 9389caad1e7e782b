#include "probe/probe.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "net/connect.hpp"
#include "net/stream.hpp"
#include "net/tunnel.hpp"

namespace urlprobe::probe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Timeouts Timeouts::derived_from(milliseconds total) {
  return Timeouts{total, total, total, total, total};
}

namespace {
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

namespace {

Result blank_result(const sheet::Target& target, const route::Route& route, std::uint64_t index,
                    const route::Hop& hop) {
  Result r;
  r.sweep_index = index;
  r.url = target.url;
  r.host = target.host;
  r.port = target.port;
  r.route = route.method;
  r.row = target.row;
  if (hop.proxy) {
    r.proxy = hop.proxy->redacted();
    r.proxy_name = hop.proxy->name;
  }
  if (hop.pac) {
    r.pac_answer = hop.pac->answer;
    r.pac_used = 0;
    r.ms.pac = hop.pac->ms;
    if (!hop.pac->warning.empty()) r.warnings.push_back(hop.pac->warning);
  }
  return r;
}

}  // namespace

Result decided_result(const sheet::Target& target, const route::Route& route, std::uint64_t index,
                      Outcome outcome, std::string detail) {
  Result r =
      blank_result(target, route, index,
                   route::choose(route, target.scheme, target.host, target.port, target.url));
  r.started = std::chrono::system_clock::now();
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

class ProbeOp : public std::enable_shared_from_this<ProbeOp> {
 public:
  ProbeOp(const ProbeContext& ctx, const sheet::Target& target, const route::Route& route,
          std::uint64_t index, ResultHandler done)
      : ctx_(ctx),
        scheme_(target.scheme),
        path_(target.path),
        skip_(target.skip),
        socket_(ctx.io),
        wire_(socket_),
        deadline_(ctx.io),
        buffer_(ctx.config.header_limit + 4096),
        done_(std::move(done)) {
    const auto hop = route::choose(route, target.scheme, target.host, target.port, target.url);
    result_ = blank_result(target, route, index, hop);
    configured_ = hop.configured;
    not_configured_ = hop.reason;
    if (hop.proxy) proxy_ = *hop.proxy;
    pac_ = hop.pac;
    // The clock starts at start_probe(): a probe aborted before start() ran still has a start.
    result_.started = std::chrono::system_clock::now();
    start_ = Clock::now();
    total_deadline_ = start_ + ctx_.config.timeouts.total;
  }

  void start() {
    if (finished_) return;  // aborted before the loop got to it
    if (!configured_) return finish(Outcome::not_configured, not_configured_);
    if (pac_ && !pac_->error.empty())
      return finish(Outcome::proxy_error, "PAC script failed: " + pac_->error);
    if (pac_ && pac_->chain.empty())
      return finish(Outcome::proxy_error, "PAC answer has no usable entry: " + pac_->answer);
    if (!skip_.empty()) return finish(Outcome::skipped, skip_);
    if (result_.host.find('*') != std::string::npos)
      return finish(Outcome::skipped, "wildcard host: a concrete name is needed to probe it");
    begin_hop();
  }

  // Resolves the next hop's name (the proxy's, or the target's when direct).
  void begin_hop() {
    enter(Phase::dns, ctx_.config.timeouts.dns);
    resolving_proxy_ = proxy_.has_value();
    // Through a proxy only the proxy's name is resolved here; the proxy resolves the target's,
    // as the real agent's traffic would (SOCKS5 without the h is the exception, below).
    const auto& host = proxy_ ? proxy_->host : result_.host;
    const auto port = proxy_ ? proxy_->port : result_.port;
    ctx_.resolver.resolve(host, port, [self = shared_from_this()](const net::ResolveResult& r) {
      self->on_resolved(r);
    });
  }

  void abort(std::string_view reason) {
    if (finished_) return;
    finish(Outcome::timeout, fmt::format("{} during {}", reason, phase_name(phase_)));
  }

 private:
  enum class Phase { dns, connect, proxy_tls, tunnel, tls, request, response };
  static std::string_view phase_name(Phase p) {
    switch (p) {
      case Phase::dns:
        return "dns";
      case Phase::connect:
        return "connect";
      case Phase::proxy_tls:
        return "proxy tls";
      case Phase::tunnel:
        return "tunnel";
      case Phase::tls:
        return "tls";
      case Phase::request:
        return "request";
      case Phase::response:
        return "response";
    }
    return "?";
  }

  // Every phase runs under one timer, re-armed to the earlier of its own budget and the total.
  // `grace` lets an operation that enforces the same deadline itself report first, with more
  // to say (which address did not answer).
  void enter(Phase phase, milliseconds budget, milliseconds grace = milliseconds(0)) {
    phase_ = phase;
    phase_start_ = Clock::now();
    const auto deadline = std::min(total_deadline_, phase_start_ + budget) + grace;
    deadline_.expires_at(deadline);
    deadline_.async_wait([self = shared_from_this(), phase](boost::system::error_code ec) {
      if (!ec && !self->finished_ && self->phase_ == phase) self->on_deadline();
    });
  }

  double phase_ms() const { return ms_between(phase_start_, Clock::now()); }
  bool via_proxy() const { return proxy_.has_value(); }
  bool socks() const {
    return proxy_ && (proxy_->scheme == route::ProxySpec::Scheme::socks5 ||
                      proxy_->scheme == route::ProxySpec::Scheme::socks5h);
  }
  // An HTTP(S) proxy carries plain-http targets itself (absolute-form), without a tunnel.
  const std::vector<std::string>& pins() const { return result_.row.expect.trust; }
  bool pinned() const { return !pins().empty() && ctx_.tls.verify(); }
  bool head() const { return result_.row.expect.method == "HEAD"; }
  bool forward_http() const { return proxy_ && !socks() && scheme_ != "https"; }

  void on_deadline() {
    const auto waited = static_cast<long>(phase_ms() + 0.5);
    switch (phase_) {
      case Phase::dns:
        if (resolving_proxy_)
          return finish(Outcome::proxy_unreachable,
                        fmt::format("DNS timeout: no answer for the proxy's name {} within {} ms",
                                    proxy_->host, waited));
        return finish(Outcome::dns_error, fmt::format("DNS timeout: no answer for {} within {} ms",
                                                      result_.host, waited));
      case Phase::connect:
        if (via_proxy())
          return finish(Outcome::proxy_unreachable,
                        fmt::format("proxy did not answer SYN within {} ms", waited));
        return finish(
            Outcome::connect_timeout,
            fmt::format("no answer to SYN within {} ms (dropped by a firewall?)", waited));
      case Phase::proxy_tls:
        return finish(
            Outcome::timeout,
            fmt::format("proxy tls: handshake with the proxy not finished within {} ms", waited));
      case Phase::tunnel:
        return finish(Outcome::timeout,
                      fmt::format("tunnel: the proxy did not answer within {} ms", waited));
      case Phase::tls:
        return finish(Outcome::timeout,
                      fmt::format("tls: handshake not finished within {} ms", waited));
      case Phase::request:
        return finish(Outcome::timeout, fmt::format("request: not sent within {} ms", waited));
      case Phase::response:
        return finish(Outcome::timeout,
                      fmt::format("response: no complete header within {} ms", waited));
    }
  }

  void on_resolved(const net::ResolveResult& r) {
    if (finished_) return;
    if (r.used_dns) result_.ms.dns = result_.ms.dns.value_or(0) + phase_ms();
    if (!r.ok()) {
      if (resolving_proxy_)
        return finish(Outcome::proxy_unreachable,
                      fmt::format("the proxy's name did not resolve: {}", r.error));
      return finish(Outcome::dns_error, r.error);
    }
    if (resolving_proxy_) {
      resolving_proxy_ = false;
      proxy_addresses_ = r.addresses;
      // socks5:// (not socks5h) means the client resolves the target and sends an address.
      if (proxy_->scheme == route::ProxySpec::Scheme::socks5) {
        phase_start_ = Clock::now();
        return ctx_.resolver.resolve(
            result_.host, result_.port,
            [self = shared_from_this()](const net::ResolveResult& t) { self->on_resolved(t); });
      }
      return connect(proxy_addresses_, proxy_->port);
    }
    if (via_proxy()) {
      target_address_ = r.addresses.front();
      return connect(proxy_addresses_, proxy_->port);
    }
    connect(r.addresses, result_.port);
  }

  void connect(const std::vector<boost::asio::ip::address>& addresses, std::uint16_t port) {
    enter(Phase::connect, ctx_.config.timeouts.connect, milliseconds(100));
    const auto deadline = std::min(total_deadline_, phase_start_ + ctx_.config.timeouts.connect);
    net::async_connect_any(
        socket_, addresses, port, deadline,
        [self = shared_from_this()](const net::ConnectResult& c) { self->on_connected(c); });
  }

  void on_connected(const net::ConnectResult& c) {
    if (finished_) return;
    result_.address = net::endpoint_text(c.endpoint);
    if (c.error) {
      if (c.local)
        return finish(Outcome::local_error, "this machine could not connect: " + c.detail);
      if (via_proxy()) return finish(Outcome::proxy_unreachable, "proxy " + c.detail);
      if (c.timed_out)
        return finish(Outcome::connect_timeout, c.detail + " (dropped by a firewall?)");
      return finish(Outcome::connect_refused, c.detail);
    }
    result_.ms.connect = phase_ms();
    top_ = &wire_;
    if (proxy_ && proxy_->scheme == route::ProxySpec::Scheme::https) return proxy_handshake();
    after_proxy_transport();
  }

  void proxy_handshake() {
    proxy_tls_.emplace(wire_, ctx_.tls.native());
    if (auto error = net::prepare_client_session(proxy_tls_->native_handle(), proxy_->host,
                                                 ctx_.tls.verify());
        !error.empty())
      return finish(Outcome::proxy_error, error);
    enter(Phase::proxy_tls, ctx_.config.timeouts.tls);
    proxy_tls_->async_handshake([self = shared_from_this()](boost::system::error_code ec) {
      if (self->finished_) return;
      if (ec) {
        const auto failure = net::explain_handshake_failure(
            self->proxy_tls_->native_handle(), self->proxy_->host, describe_io_error(ec));
        return self->finish(Outcome::proxy_error, "TLS to the proxy failed: " + failure.detail);
      }
      self->top_ = &*self->proxy_tls_;
      self->after_proxy_transport();
    });
  }

  void after_proxy_transport() {
    if (!proxy_ || forward_http()) return origin_transport();
    enter(Phase::tunnel, ctx_.config.timeouts.connect);
    net::TunnelRequest request;
    request.host = result_.host;
    request.port = result_.port;
    if (proxy_->scheme == route::ProxySpec::Scheme::socks5) request.address = target_address_;
    request.user = proxy_->user;
    request.password = proxy_->password;
    request.user_agent = ctx_.config.user_agent;
    request.header_limit = ctx_.config.header_limit;
    auto on_tunnel = [self = shared_from_this()](net::TunnelResult t) {
      self->on_tunnel(std::move(t));
    };
    if (socks())
      net::async_socks5_connect(*top_, request, std::move(on_tunnel));
    else
      net::async_http_connect(*top_, request, std::move(on_tunnel));
  }

  void on_tunnel(net::TunnelResult t) {
    if (finished_) return;
    result_.proxy_status = t.proxy_status;
    switch (t.kind) {
      case net::TunnelResult::Kind::established:
        break;
      case net::TunnelResult::Kind::auth_required:
        return finish(Outcome::proxy_auth_required, t.detail);
      case net::TunnelResult::Kind::denied:
        return finish(Outcome::proxy_denied, t.detail);
      case net::TunnelResult::Kind::proxy_error:
        return finish(Outcome::proxy_error, t.detail);
    }
    result_.ms.tunnel = phase_ms();
    origin_transport();
  }

  void origin_transport() {
    if (scheme_ != "https") return send_request();
    origin_tls_.emplace(*top_, ctx_.tls.native());
    X509_STORE* store = nullptr;
    if (pinned()) {
      try {
        store = ctx_.tls.pinned_store(pins());
      } catch (const std::exception& e) {
        return finish(Outcome::tls_error, e.what());
      }
    }
    if (auto error = net::prepare_client_session(origin_tls_->native_handle(), result_.host,
                                                 ctx_.tls.verify(), store);
        !error.empty())
      return finish(Outcome::tls_error, error);
    enter(Phase::tls, ctx_.config.timeouts.tls);
    origin_tls_->async_handshake(
        [self = shared_from_this()](boost::system::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(boost::system::error_code ec) {
    if (finished_) return;
    SSL* ssl = origin_tls_->native_handle();
    result_.tls = net::read_tls_facts(ssl);
    if (ec) {
      auto failure =
          net::explain_handshake_failure(ssl, result_.host, describe_io_error(ec), pins());
      if (failure.untrusted && result_.tls) result_.tls->error = failure.code;
      result_.tls_inspected = failure.intercepted;
      if (failure.intercepted) return finish(Outcome::tls_intercepted, failure.detail);
      return finish(failure.untrusted ? Outcome::tls_untrusted : Outcome::tls_error,
                    failure.untrusted ? failure.detail
                                      : (via_proxy() ? "TLS handshake through the tunnel failed: "
                                                     : "TLS handshake failed: ") +
                                            failure.detail);
    }
    result_.ms.tls = phase_ms();
    switch (auto verdict = net::judge_session(ssl, ctx_.tls, pins()); verdict.kind) {
      case net::TlsVerdict::Kind::trusted:
        if (result_.tls) result_.tls->pin = verdict.pin;
        break;
      case net::TlsVerdict::Kind::untrusted:
        // `verified` answers "may this certificate be trusted", not "did OpenSSL accept the chain".
        if (result_.tls) {
          result_.tls->error = verdict.code;
          result_.tls->verified = false;
        }
        return finish(Outcome::tls_untrusted, verdict.detail);
      case net::TlsVerdict::Kind::intercepted:
        result_.tls_inspected = true;
        // No request goes through an inspecting proxy unless the user accepts inspection, and
        // never to a pinned URL: the real sensor refuses that chain whatever the user accepts.
        if (!ctx_.config.allow_inspection || pinned())
          return finish(Outcome::tls_intercepted, verdict.detail);
        result_.warnings.push_back(verdict.detail);
        break;
    }
    top_ = &*origin_tls_;
    send_request();
  }

  void send_request() {
    request_.method(head() ? http::verb::head : http::verb::get);
    const bool default_port = result_.port == (scheme_ == "https" ? 443 : 80);
    const bool v6 = result_.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + result_.host + "]" : result_.host;
    const std::string authority = default_port ? host : fmt::format("{}:{}", host, result_.port);
    // RFC 9112 §3.2.2: a request to a forwarding proxy carries the absolute URI.
    request_.target(forward_http() ? fmt::format("http://{}{}", authority, path_) : path_);
    request_.version(11);
    request_.set(http::field::host, authority);
    request_.set(http::field::user_agent, ctx_.config.user_agent);
    request_.set(http::field::accept, "*/*");
    request_.set(http::field::connection, "close");
    if (forward_http() && !proxy_->user.empty())
      request_.set(http::field::proxy_authorization,
                   net::basic_authorization(proxy_->user, proxy_->password));

    enter(Phase::request, ctx_.config.timeouts.response);
    http::async_write(*top_, request_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->on_written(ec);
                      });
  }

  // Without a tunnel the peer is the forwarding proxy: what goes wrong on the wire is its failure.
  Outcome wire_failure() const {
    return forward_http() ? Outcome::proxy_error : Outcome::http_error;
  }

  void on_written(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) return finish(wire_failure(), "sending the request failed: " + describe_io_error(ec));
    enter(Phase::response, ctx_.config.timeouts.response);
    read_header();
  }

  void read_header() {
    parser_.emplace();
    if (head()) parser_->skip(true);  // a HEAD response announces a body it does not send
    parser_->header_limit(static_cast<std::uint32_t>(ctx_.config.header_limit));
    // The body is never read, so its announced size is no failure: Beast checks Content-Length
    // against its 8 MiB default as soon as the header is parsed.
    parser_->body_limit(boost::none);
    http::async_read_header(*top_, buffer_, *parser_,
                            [self = shared_from_this()](boost::system::error_code ec2,
                                                        std::size_t) { self->on_header(ec2); });
  }

  void on_header(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) {
      if (ec == http::error::header_limit)
        return finish(wire_failure(),
                      fmt::format("response header exceeds {} bytes", ctx_.config.header_limit));
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::ssl::error::stream_truncated || ec == http::error::partial_message)
        return finish(wire_failure(), "connection closed before a complete response header");
      if (ec.category() == http::make_error_code(http::error::bad_version).category())
        return finish(wire_failure(), "malformed response header: " + ec.message());
      return finish(wire_failure(), "reading the response failed: " + describe_io_error(ec));
    }
    const auto& response = parser_->get();
    const int status = static_cast<int>(response.result_int());
    if (status < 100 || status > 599)
      return finish(wire_failure(), fmt::format("invalid HTTP status {}", status));
    if (net::is_interim_status(static_cast<unsigned>(status))) {
      if (++interim_responses_ > net::kMaxInterimResponses)
        return finish(wire_failure(), fmt::format("more than {} interim (1xx) responses",
                                                  net::kMaxInterimResponses));
      return read_header();
    }
    result_.via = intermediary(response);
    if (forward_http() && proxy_answered(response, status)) {
      std::vector<std::string> authenticate;
      for (auto [it, end] = response.equal_range(http::field::proxy_authenticate); it != end; ++it)
        authenticate.emplace_back(it->value());
      const auto verdict = net::classify_proxy_status(status, authenticate);
      result_.proxy_status = status;
      if (verdict.kind != net::TunnelResult::Kind::established)
        return finish(verdict.kind == net::TunnelResult::Kind::auth_required
                          ? Outcome::proxy_auth_required
                      : verdict.kind == net::TunnelResult::Kind::denied ? Outcome::proxy_denied
                                                                        : Outcome::proxy_error,
                      verdict.detail + (status == 407 ? "" : proxy_reason(response)));
    }
    result_.ms.ttfb = phase_ms();
    result_.http_status = status;
    // The row's own expectation (the vendor's exact status) outranks --expect-status.
    const auto& own = result_.row.expect.status;
    const auto& expected = own.empty() ? ctx_.config.expect : own;
    if (!expected.accepts(status))
      return finish(Outcome::unexpected_status,
                    fmt::format("HTTP {}, expected {}{}", status, expected.text(),
                                own.empty() ? " (--expect-status)" : ""));
    finish(Outcome::ok, "");
  }

  // Without a tunnel, a forwarding proxy's own refusals arrive as ordinary responses. 407 is
  // always the proxy's; other errors only when the proxy marks them as its own (squid's
  // X-Squid-Error, RFC 9209 Proxy-Status) or signs them: a proxy product in Server and no Via
  // (tinyproxy's "500 Unable to connect"; what it forwards from an origin names the origin's
  // server, or carries Via). So an origin's 403 or 500 stays the origin's.
  static bool proxy_answered(const http::response<http::empty_body>& response, int status) {
    if (status == 407) return true;
    if (status < 400) return false;
    return response.find("X-Squid-Error") != response.end() ||
           response.find("Proxy-Status") != response.end() ||
           (response.find(http::field::via) == response.end() &&
            !proxy_product(response[http::field::server]).empty());
  }

  // The proxy software a Server header names, or "": its first product token, when it is one.
  static std::string_view proxy_product(std::string_view server) {
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

  // What the proxy said of its failure, for the detail: ` (tinyproxy/1.11.1: "Unable to
  // connect")`. Peer text, so bounded; writers escape it.
  static std::string proxy_reason(const http::response<http::empty_body>& response) {
    const std::string_view server = response[http::field::server];
    const std::string_view reason = response.reason();
    if (server.empty() && reason.empty()) return {};
    return fmt::format(" ({}{}\"{}\")", server.substr(0, 64), server.empty() ? "" : ": ",
                       reason.substr(0, 128));
  }

  // The evidence of an HTTP proxy in the path: Via (RFC 9110 7.6.3), or the X-Cache header that
  // squid with `via off` and most caches still send. Bounded: it is the peer's text.
  static std::string intermediary(const http::response<http::empty_body>& response) {
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

  static std::string describe_io_error(boost::system::error_code ec) {
    if (ec == asio::error::connection_reset) return "connection reset by peer";
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return "connection closed by peer";
    return ec.message();
  }

  // A PAC chain ("PROXY a:1; PROXY b:1; DIRECT") fails over as browsers do: an unreachable
  // proxy hands the probe to the next entry, within the same total deadline.
  bool next_pac_hop(Outcome outcome, const std::string& detail) {
    if (!pac_ || outcome != Outcome::proxy_unreachable ||
        result_.pac_used + 1 >= static_cast<int>(pac_->chain.size()))
      return false;
    pac_failures_ += fmt::format("{}{} unreachable ({})", pac_failures_.empty() ? "" : "; ",
                                 result_.proxy, detail);
    ++result_.pac_used;
    const auto& next = pac_->chain[static_cast<std::size_t>(result_.pac_used)];
    proxy_ = next;
    result_.proxy = next ? next->redacted() : std::string();
    result_.proxy_status = 0;
    result_.address.clear();
    boost::system::error_code ignored;
    socket_.close(ignored);
    proxy_tls_.reset();
    origin_tls_.reset();
    top_ = nullptr;
    auto self = shared_from_this();
    asio::post(ctx_.io, [self] {
      if (!self->finished_) self->begin_hop();
    });
    return true;
  }

  void finish(Outcome outcome, std::string detail) {
    if (finished_) return;
    if (next_pac_hop(outcome, detail)) return;
    if (!pac_failures_.empty())
      detail = "PAC fail-over after " + pac_failures_ + (detail.empty() ? "" : ": " + detail);
    finished_ = true;
    result_.outcome = outcome;
    result_.detail = std::move(detail);
    result_.ms.total = ms_between(start_, Clock::now());
    if (outcome == Outcome::ok && result_.tls && result_.tls->days_left &&
        *result_.tls->days_left < ctx_.config.warn_expiry_days)
      result_.warnings.push_back(fmt::format("certificate expires in {} days ({})",
                                             *result_.tls->days_left, result_.tls->not_after));
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);  // aborts whatever is pending; those handlers see finished_
    auto done = std::move(done_);
    done(std::move(result_));
  }

  ProbeContext ctx_;
  std::string scheme_;
  std::string path_;
  std::string skip_;
  bool configured_ = true;
  std::string not_configured_;
  std::optional<route::ProxySpec> proxy_;
  const route::PacDecision* pac_ = nullptr;  // lives in the Route, which outlives the probe
  std::string pac_failures_;
  bool resolving_proxy_ = false;
  std::vector<boost::asio::ip::address> proxy_addresses_;
  std::optional<boost::asio::ip::address> target_address_;
  tcp::socket socket_;
  net::SocketStream wire_;
  std::optional<net::TlsStream> proxy_tls_;
  std::optional<net::TlsStream> origin_tls_;
  net::ByteStream* top_ = nullptr;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::empty_body>> parser_;
  int interim_responses_ = 0;
  Result result_;
  ResultHandler done_;
  Clock::time_point start_, phase_start_, total_deadline_;
  Phase phase_ = Phase::dns;
  bool finished_ = false;
};

void ProbeHandle::abort(std::string_view reason) const {
  if (auto op = op_.lock()) op->abort(reason);
}

ProbeHandle start_probe(const ProbeContext& ctx, const sheet::Target& target,
                        const route::Route& route, std::uint64_t sweep_index, ResultHandler done) {
  auto op = std::make_shared<ProbeOp>(ctx, target, route, sweep_index, std::move(done));
  asio::post(ctx.io, [op] { op->start(); });
  return ProbeHandle(op);
}

}  // namespace urlprobe::probe
