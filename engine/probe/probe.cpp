#include "probe/probe.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <new>
#include <optional>
#include <vector>

#include "net/connect.hpp"
#include "net/http_exchange.hpp"
#include "net/stream.hpp"
#include "net/tunnel.hpp"

namespace urlprobe::probe {

namespace asio = boost::asio;
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
  if (hop.bypassed_by) r.bypassed_by = *hop.bypassed_by;
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

namespace {

// How a hop reaches the origin, chosen once from the proxy's scheme (and the target's): the one
// place that knows what each kind of proxy needs. A new kind of proxy adds its tunnel to
// net/tunnel and a case here; the probe's phases only read these facts.
struct Carriage {
  bool proxy_tls = false;             // TLS to the proxy before anything else (https://)
  net::OpenTunnel* tunnel = nullptr;  // through the proxy to the origin; null: no tunnel
  bool forward = false;               // no tunnel: the proxy forwards the request (absolute form)
  bool send_address = false;          // the tunnel names the target by an address resolved here
};

Carriage carriage_for(const route::ProxySpec* proxy, bool https) {
  if (!proxy) return {};
  using Scheme = route::ProxySpec::Scheme;
  switch (proxy->scheme) {
    case Scheme::http:
    case Scheme::https:
      // An HTTP(S) proxy carries plain-http targets itself (absolute-form), without a tunnel.
      return {.proxy_tls = proxy->scheme == Scheme::https,
              .tunnel = https ? net::async_http_connect : nullptr,
              .forward = !https};
    case Scheme::socks5:
      // socks5:// (not socks5h) means the client resolves the target and sends an address.
      return {.tunnel = net::async_socks5_connect, .send_address = true};
    case Scheme::socks5h:
      return {.tunnel = net::async_socks5_connect};
  }
  return {};
}

// A proxy's refusal (of a tunnel, or of a request it was to forward) as an outcome.
Outcome proxy_refusal(net::TunnelResult::Kind kind) {
  switch (kind) {
    case net::TunnelResult::Kind::auth_required:
      return Outcome::proxy_auth_required;
    case net::TunnelResult::Kind::denied:
      return Outcome::proxy_denied;
    default:
      return Outcome::proxy_error;
  }
}

struct Decided {
  Outcome outcome;
  std::string detail;
};

// What a probe ends in without touching the network, if anything.
std::optional<Decided> decided_offline(const sheet::Target& target, const route::Hop& hop) {
  if (!hop.configured) return Decided{Outcome::not_configured, hop.reason};
  if (hop.pac && !hop.pac->error.empty())
    return Decided{Outcome::proxy_error, "PAC script failed: " + hop.pac->error};
  if (hop.pac && hop.pac->chain.empty())
    return Decided{Outcome::proxy_error, "PAC answer has no usable entry: " + hop.pac->answer};
  if (!target.skip.empty()) return Decided{Outcome::skipped, target.skip.str()};
  if (target.host.find('*') != std::string::npos)
    return Decided{Outcome::skipped, "wildcard host: a concrete name is needed to probe it"};
  return std::nullopt;
}

}  // namespace

// One probe as a sequence of phases, each ending by starting the next or by finish():
//   start     what is decided without the network (not configured, PAC failed, skipped)
//   resolve   the proxy's name, or the target's (both for socks5://)
//   connect   TCP to the proxy, or to the origin
//   proxy_tls TLS to an https:// proxy
//   tunnel    HTTP CONNECT or SOCKS5 through the proxy (net/tunnel)
//   tls       TLS to an https origin, and the session judged
//   exchange  the request and the response header (net/http_exchange)
//   judge     the response against the expectation
//   close     after a complete response, the wait for the peer's FIN (await_peer_close)
// Every completion comes back through then(), so no step runs after the probe has finished;
// only the wait for the peer's close, which follows the verdict, checks awaiting_close_ instead.
class ProbeOp : public std::enable_shared_from_this<ProbeOp> {
 public:
  ProbeOp(const ProbeContext& ctx, const sheet::Target& target, const route::Route& route,
          std::uint64_t index, ResultHandler done)
      : ctx_(ctx),
        https_(target.scheme == "https"),
        path_(target.path),
        socket_(ctx.io),
        wire_(socket_),
        deadline_(ctx.io),
        source_(ctx.config.sources.next()),
        done_(std::move(done)) {
    const auto hop = route::choose(route, target.scheme, target.host, target.port, target.url);
    result_ = blank_result(target, route, index, hop);
    offline_ = decided_offline(target, hop);
    use_proxy(hop.proxy);
    pac_ = hop.pac;
    // The clock starts at start_probe(): a probe aborted before start() ran still has a start.
    result_.started = std::chrono::system_clock::now();
    start_ = Clock::now();
    total_deadline_ = start_ + ctx_.config.timeouts.total;
  }

  void launch();

  void abort(std::string_view reason) {
    if (awaiting_close_) return close_and_deliver();  // the result stands; only the wait ends
    if (finished_) return;                            // a handle may outlive its probe
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

  // The one way back into the probe: a completion of a finished probe, or of a PAC hop given up,
  // is dropped (finish() or the fail-over closed the socket, which ended those operations).
  template <class Step>
  auto then(Step step) {
    return [self = shared_from_this(), step, hop = hop_](auto&&... args) {
      if (self->finished_ || self->hop_ != hop) return;
      std::invoke(step, *self, std::forward<decltype(args)>(args)...);
    };
  }

  void use_proxy(const route::ProxySpec* proxy) {
    proxy_.reset();
    if (proxy) proxy_ = *proxy;
    carriage_ = carriage_for(proxy, https_);
  }

  // Every phase runs under one timer, re-armed to the earlier of its own budget and the total.
  // `grace` lets an operation that enforces the same deadline itself report first, with more
  // to say (which address did not answer).
  void enter(Phase phase, milliseconds budget, milliseconds grace = milliseconds(0)) {
    phase_ = phase;
    phase_start_ = Clock::now();
    const auto deadline = std::min(total_deadline_, phase_start_ + budget) + grace;
    deadline_.expires_at(deadline);
    deadline_.async_wait(then([phase](ProbeOp& self, boost::system::error_code ec) {
      if (!ec && self.phase_ == phase) self.on_deadline();
    }));
  }

  double phase_ms() const { return ms_between(phase_start_, Clock::now()); }
  bool via_proxy() const { return proxy_.has_value(); }
  const std::vector<std::string>& pins() const { return result_.row.expect().trust; }
  bool pinned() const { return !pins().empty() && ctx_.tls.verify(); }
  bool head() const { return result_.row.expect().method == "HEAD"; }

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

  // --- start ---------------------------------------------------------------------------------

  void start() {
    if (offline_) return finish(offline_->outcome, std::move(offline_->detail));
    resolve();
  }

  // --- resolve -------------------------------------------------------------------------------

  // Through a proxy only the proxy's name is resolved here; the proxy resolves the target's,
  // as the real agent's traffic would (a tunnel that sends an address is the exception).
  void resolve() {
    enter(Phase::dns, ctx_.config.timeouts.dns);
    resolving_proxy_ = proxy_.has_value();
    if (proxy_)
      return ctx_.resolver.resolve(proxy_->host, proxy_->port, then(&ProbeOp::on_proxy_resolved));
    ctx_.resolver.resolve(result_.host, result_.port, then(&ProbeOp::on_target_resolved));
  }

  void add_dns_time(const net::ResolveResult& r) {
    if (r.used_dns) result_.ms.dns = result_.ms.dns.value_or(0) + phase_ms();
  }

  void on_proxy_resolved(const net::ResolveResult& r) {
    add_dns_time(r);
    if (!r.ok())
      return finish(Outcome::proxy_unreachable,
                    fmt::format("the proxy's name did not resolve: {}", r.error));
    resolving_proxy_ = false;
    if (!carriage_.send_address) return connect(r.addresses, proxy_->port);
    proxy_addresses_ = r.addresses;
    phase_start_ = Clock::now();
    ctx_.resolver.resolve(result_.host, result_.port, then(&ProbeOp::on_target_resolved));
  }

  void on_target_resolved(const net::ResolveResult& r) {
    add_dns_time(r);
    result_.dns = r.evidence;  // a failed lookup may still carry the CNAME chain that failed
    if (!r.ok()) return finish(Outcome::dns_error, r.error);
    if (!proxy_) return connect(r.addresses, result_.port);
    target_address_ = r.addresses.front();
    connect(proxy_addresses_, proxy_->port);
  }

  // --- connect -------------------------------------------------------------------------------

  void connect(const std::vector<boost::asio::ip::address>& addresses, std::uint16_t port) {
    enter(Phase::connect, ctx_.config.timeouts.connect, milliseconds(100));
    const auto deadline = std::min(total_deadline_, phase_start_ + ctx_.config.timeouts.connect);
    net::async_connect_any(socket_, addresses, port, deadline, source_,
                           then(&ProbeOp::on_connected));
  }

  void on_connected(const net::ConnectResult& c) {
    result_.address = net::endpoint_text(c.endpoint);
    if (c.error) {
      // Not the target's failure: this machine ran out of ports to it. What helps is more
      // (source address, destination) pairs, fewer at once, or a wider port range.
      if (c.ports_exhausted)
        return finish(Outcome::local_error,
                      "this machine could not connect: " + c.detail +
                          " (connections of this machine in TIME_WAIT are the usual cause; spread "
                          "probes over --source-address, lower --concurrency or --per-proxy, or "
                          "widen net.ipv4.ip_local_port_range)");
      if (c.local)
        return finish(Outcome::local_error, "this machine could not connect: " + c.detail);
      if (via_proxy()) return finish(Outcome::proxy_unreachable, "proxy " + c.detail);
      if (c.timed_out)
        return finish(Outcome::connect_timeout, c.detail + " (dropped by a firewall?)");
      return finish(Outcome::connect_refused, c.detail);
    }
    result_.ms.connect = phase_ms();
    top_ = &wire_;
    if (via_proxy() && ctx_.proxy_reached) (*ctx_.proxy_reached)(result_.sweep_index);
    if (carriage_.proxy_tls) return proxy_tls();
    tunnel();
  }

  // TLS over the current top layer into `slot`, or null once the probe has finished: OpenSSL
  // could not make a session, which is this machine's failure, whatever the peer.
  net::TlsStream* open_tls(std::optional<net::TlsStream>& slot, std::string_view peer) {
    slot.emplace(*top_, ctx_.tls.native());
    if (slot->native_handle()) return &*slot;
    auto detail = fmt::format("this machine could not start TLS to {}: {}", peer, slot->error());
    slot.reset();
    finish(Outcome::local_error, std::move(detail));
    return nullptr;
  }

  // --- proxy_tls -----------------------------------------------------------------------------

  void proxy_tls() {
    auto* tls = open_tls(proxy_tls_, "the proxy");
    if (!tls) return;
    if (auto error =
            net::prepare_client_session(tls->native_handle(), proxy_->host, ctx_.tls.verify());
        !error.empty())
      return finish(Outcome::proxy_error, error);
    enter(Phase::proxy_tls, ctx_.config.timeouts.tls);
    tls->async_handshake(then(&ProbeOp::on_proxy_handshake));
  }

  void on_proxy_handshake(boost::system::error_code ec) {
    if (ec) {
      const auto failure = net::explain_handshake_failure(proxy_tls_->native_handle(), proxy_->host,
                                                          net::describe_io_error(ec));
      return finish(Outcome::proxy_error, "TLS to the proxy failed: " + failure.detail);
    }
    top_ = &*proxy_tls_;
    tunnel();
  }

  // --- tunnel --------------------------------------------------------------------------------

  void tunnel() {
    if (!carriage_.tunnel) return origin_tls();
    enter(Phase::tunnel, ctx_.config.timeouts.connect);
    net::TunnelRequest request;
    request.host = result_.host;
    request.port = result_.port;
    if (carriage_.send_address) request.address = target_address_;
    request.user = proxy_->user;
    request.password = proxy_->password;
    request.user_agent = ctx_.config.user_agent;
    request.header_limit = ctx_.config.header_limit;
    carriage_.tunnel(*top_, request, then(&ProbeOp::on_tunnel));
  }

  void on_tunnel(net::TunnelResult t) {
    result_.proxy_status = t.proxy_status;
    if (t.kind != net::TunnelResult::Kind::established)
      return finish(proxy_refusal(t.kind), std::move(t.detail));
    result_.ms.tunnel = phase_ms();
    origin_tls();
  }

  // --- tls -----------------------------------------------------------------------------------

  void origin_tls() {
    if (!https_) return exchange();
    auto* tls = open_tls(origin_tls_, "the origin");
    if (!tls) return;
    X509_STORE* store = nullptr;
    if (pinned()) {
      try {
        store = ctx_.tls.pinned_store(pins());
      } catch (const std::exception& e) {
        return finish(Outcome::tls_error, e.what());
      }
    }
    if (auto error = net::prepare_client_session(tls->native_handle(), result_.host,
                                                 ctx_.tls.verify(), store);
        !error.empty())
      return finish(Outcome::tls_error, error);
    enter(Phase::tls, ctx_.config.timeouts.tls);
    tls->async_handshake(then(&ProbeOp::on_origin_handshake));
  }

  void on_origin_handshake(boost::system::error_code ec) {
    SSL* ssl = origin_tls_->native_handle();
    result_.tls = net::read_tls_facts(ssl);
    if (ec) {
      auto failure =
          net::explain_handshake_failure(ssl, result_.host, net::describe_io_error(ec), pins());
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
    exchange();
  }

  // --- exchange ------------------------------------------------------------------------------

  void exchange() {
    net::HttpExchangeRequest request;
    request.host = result_.host;
    request.port = result_.port;
    request.https = https_;
    request.path = path_;
    request.head = head();
    request.forward = carriage_.forward;
    if (carriage_.forward) {
      request.proxy_user = proxy_->user;
      request.proxy_password = proxy_->password;
    }
    request.user_agent = ctx_.config.user_agent;
    request.header_limit = ctx_.config.header_limit;
    enter(Phase::request, ctx_.config.timeouts.response);
    net::async_http_exchange(*top_, request, then([](ProbeOp& self) {
      self.enter(Phase::response, self.ctx_.config.timeouts.response);
    }),
                             then(&ProbeOp::judge));
  }

  // --- judge ---------------------------------------------------------------------------------

  void judge(net::HttpExchangeResult answer) {
    using Kind = net::HttpExchangeResult::Kind;
    // Without a tunnel the peer is the forwarding proxy: what goes wrong on the wire is its
    // failure.
    if (answer.kind == Kind::failed)
      return finish(carriage_.forward ? Outcome::proxy_error : Outcome::http_error,
                    std::move(answer.detail));
    // The request said `Connection: close`: after any complete response the peer closes.
    response_complete_ = true;
    answer_time_ = Clock::now() - phase_start_;
    result_.via = std::move(answer.via);
    if (answer.proxy.proxy_status) result_.proxy_status = answer.proxy.proxy_status;
    if (answer.kind == Kind::proxy_refused)
      return finish(proxy_refusal(answer.proxy.kind), std::move(answer.proxy.detail));
    result_.ms.ttfb = phase_ms();
    const int status = answer.status;
    result_.http_status = status;
    // The row's own expectation (the vendor's exact status) outranks --expect-status.
    const auto& own = result_.row.expect().status;
    const auto& expected = own.empty() ? ctx_.config.expect : own;
    if (!expected.accepts(status))
      return finish(Outcome::unexpected_status,
                    fmt::format("HTTP {}, expected {}{}", status, expected.text(),
                                own.empty() ? " (--expect-status)" : ""));
    finish(Outcome::ok, "");
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
    use_proxy(next ? &*next : nullptr);
    result_.proxy = next ? next->redacted() : std::string();
    result_.proxy_status = 0;
    result_.address.clear();
    result_.dns.reset();
    boost::system::error_code ignored;
    socket_.close(ignored);
    proxy_tls_.reset();
    origin_tls_.reset();
    top_ = nullptr;
    ++hop_;  // what the given-up hop still reports is not this hop's
    asio::post(ctx_.io, then(&ProbeOp::resolve));
    return true;
  }

  void finish(Outcome outcome, std::string detail) {
    if (finished_) return;  // exactly one result
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
    if (response_complete_ && await_peer_close()) return;
    close_and_deliver();
  }

  // The side that closes first keeps the connection's TIME_WAIT (60 s on Linux), and with it
  // a port of this machine towards that ip:port: a few hundred probes a second through one proxy
  // used them all up. After a complete response to `Connection: close` the peer is about to
  // close, so the socket waits for its FIN (reading and dropping the rest of the body), and
  // TIME_WAIT is the server's or the proxy's. The verdict and its timings are already made; the
  // wait only defers the close and the result's delivery, so the probe's slot stays taken and
  // open sockets never exceed --concurrency.
  // A server sends its FIN right behind its response, so twice the time the answer took (the
  // round trips to the origin, through any tunnel, and the server's own time) is room enough;
  // a peer that keeps the connection anyway costs the probe's slot that long, at least
  // kPeerCloseFloor (a loopback answer takes microseconds), at most kPeerCloseCap and never past
  // the probe's deadline. A body above kPeerCloseBytes is not downloaded: the wait ends there.
  static constexpr milliseconds kPeerCloseFloor{50};
  static constexpr milliseconds kPeerCloseCap{1000};
  static constexpr std::size_t kPeerCloseBytes = 64 * 1024;

  bool await_peer_close() {
    const auto grace = std::min({total_deadline_ - Clock::now(), Clock::duration(kPeerCloseCap),
                                 std::max(Clock::duration(kPeerCloseFloor), 2 * answer_time_)});
    if (grace <= Clock::duration::zero() || !top_) return false;
    awaiting_close_ = true;
    deadline_.expires_after(grace);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && self->awaiting_close_) self->close_and_deliver();
    });
    read_until_peer_close();
    return true;
  }

  void read_until_peer_close() {
    // Read and dropped: one buffer serves every probe of this event loop's thread.
    thread_local std::array<char, 4096> discarded;
    top_->async_read_some(asio::buffer(discarded),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (!self->awaiting_close_) return;
                            self->discarded_ += n;
                            // Any error ends the wait: the FIN (eof, or a TLS stream's truncation),
                            // or a reset.
                            if (ec || self->discarded_ > kPeerCloseBytes)
                              return self->close_and_deliver();
                            self->read_until_peer_close();
                          });
  }

  void close_and_deliver() {
    awaiting_close_ = false;
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);  // aborts whatever is pending; then() drops what they report
    auto done = std::move(done_);
    done(std::move(result_));
  }

  ProbeContext ctx_;
  bool https_;
  std::string path_;
  std::optional<Decided> offline_;
  std::optional<route::ProxySpec> proxy_;  // this hop's; none: direct
  Carriage carriage_;
  const route::PacDecision* pac_ = nullptr;  // lives in the Route, which outlives the probe
  std::string pac_failures_;
  int hop_ = 0;  // the PAC chain entry being tried, as then() knows it
  bool resolving_proxy_ = false;
  std::vector<boost::asio::ip::address> proxy_addresses_;  // kept while the target resolves
  std::optional<boost::asio::ip::address> target_address_;
  tcp::socket socket_;
  net::SocketStream wire_;
  std::optional<net::TlsStream> proxy_tls_;
  std::optional<net::TlsStream> origin_tls_;
  net::ByteStream* top_ = nullptr;  // the layer the next phase speaks through
  asio::steady_timer deadline_;
  net::SourceBinding source_;  // every connection of this probe (each PAC hop's too)
  Result result_;
  ResultHandler done_;
  Clock::time_point start_, phase_start_, total_deadline_;
  Phase phase_ = Phase::dns;
  bool finished_ = false;
  bool response_complete_ = false;  // a final response header arrived: the peer will close
  bool awaiting_close_ = false;     // the result is made; the socket waits for the peer's FIN
  std::size_t discarded_ = 0;       // bytes read and dropped while waiting
  Clock::duration answer_time_{};   // from the request sent to the final response header
};

void ProbeOp::launch() {
  asio::post(ctx_.io, then(&ProbeOp::start));
}

void ProbeHandle::abort(std::string_view reason) const {
  if (auto op = op_.lock()) op->abort(reason);
}

namespace {

// A probe's memory (about 3 KB with its shared_ptr count) is above what malloc's per-thread cache
// holds, so each took malloc's slow path, and merged its free chunks whenever it did
// (callgrind, BM_SchedulerNoopProbe). Probes are made and freed one after another on their event
// loop's thread, so a few blocks kept per thread serve nearly all of them.
template <class T>
struct ProbeMemory {
  using value_type = T;
  ProbeMemory() = default;
  template <class U>
  ProbeMemory(const ProbeMemory<U>&) {}  // NOLINT(google-explicit-constructor): rebinding

  static constexpr std::size_t kKept = 64;  // per thread: 64 x ~3 KB
  struct Kept {
    std::vector<void*> blocks;
    ~Kept() {
      gone() = true;
      for (void* block : blocks) ::operator delete(block);
    }
  };
  // A probe freed on a thread that is exiting, after its blocks were, goes back to malloc.
  static bool& gone() {
    thread_local bool g = false;
    return g;
  }
  static std::vector<void*>* kept() {
    if (gone()) return nullptr;
    thread_local Kept k;
    return &k.blocks;
  }

  T* allocate(std::size_t n) {
    auto* k = kept();
    if (n != 1 || !k || k->empty()) return static_cast<T*>(::operator new(n * sizeof(T)));
    void* block = k->back();
    k->pop_back();
    return static_cast<T*>(block);
  }
  void deallocate(T* p, std::size_t n) {
    auto* k = kept();
    if (n != 1 || !k || k->size() >= kKept) return ::operator delete(p);
    if (k->capacity() == 0) k->reserve(kKept);
    k->push_back(p);
  }
  template <class U>
  bool operator==(const ProbeMemory<U>&) const {
    return true;
  }
};

}  // namespace

ProbeHandle start_probe(const ProbeContext& ctx, const sheet::Target& target,
                        const route::Route& route, std::uint64_t sweep_index, ResultHandler done) {
  auto op = std::allocate_shared<ProbeOp>(ProbeMemory<ProbeOp>(), ctx, target, route, sweep_index,
                                          std::move(done));
  op->launch();
  return ProbeHandle(op);
}

}  // namespace urlprobe::probe
