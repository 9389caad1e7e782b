#include "probe/probe.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <charconv>

#include "net/connect.hpp"

namespace urlprobe::probe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool StatusExpectation::accepts(int status) const {
  if (ranges.empty()) return true;
  for (const auto& [low, high] : ranges)
    if (status >= low && status <= high) return true;
  return false;
}

bool parse_status_expectation(std::string_view text, StatusExpectation& out, std::string& error) {
  out.ranges.clear();
  auto number = [&](std::string_view s, int& value) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size() && value >= 100 && value <= 599;
  };
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    const auto dash = item.find('-');
    int low = 0, high = 0;
    const bool ok = dash == std::string_view::npos
                        ? number(item, low) && number(item, high)
                        : number(item.substr(0, dash), low) && number(item.substr(dash + 1), high) && low <= high;
    if (!ok) {
      error = fmt::format("'{}' is not a status (100-599) or a range like 300-399", item);
      return false;
    }
    out.ranges.emplace_back(low, high);
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

Timeouts Timeouts::derived_from(milliseconds total) { return Timeouts{total, total, total, total, total}; }

namespace {
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

class ProbeOp : public std::enable_shared_from_this<ProbeOp> {
 public:
  ProbeOp(const ProbeContext& ctx, const sheet::Target& target, const route::Route& route, std::uint64_t index,
          ResultHandler done)
      : ctx_(ctx),
        scheme_(target.scheme),
        path_(target.path),
        socket_(ctx.io),
        deadline_(ctx.io),
        buffer_(ctx.config.header_limit + 4096),
        done_(std::move(done)) {
    result_.sweep_index = index;
    result_.url = target.url;
    result_.host = target.host;
    result_.port = target.port;
    result_.route = route.method;
    result_.row = target.row;
  }

  void start() {
    result_.started = std::chrono::system_clock::now();
    start_ = Clock::now();
    total_deadline_ = start_ + ctx_.config.timeouts.total;
    if (result_.host.find('*') != std::string::npos)
      return finish(Outcome::skipped, "wildcard host: a concrete name is needed to probe it");
    if (result_.route != route::Method::direct)
      return finish(Outcome::not_configured, "this route is not available yet");

    enter(Phase::dns, ctx_.config.timeouts.dns);
    ctx_.resolver.resolve(result_.host, result_.port,
                          [self = shared_from_this()](const net::ResolveResult& r) { self->on_resolved(r); });
  }

  void abort(std::string_view reason) {
    if (finished_) return;
    finish(Outcome::timeout, fmt::format("{} during {}", reason, phase_name(phase_)));
  }

 private:
  enum class Phase { dns, connect, tls, request, response };
  static std::string_view phase_name(Phase p) {
    switch (p) {
      case Phase::dns: return "dns";
      case Phase::connect: return "connect";
      case Phase::tls: return "tls";
      case Phase::request: return "request";
      case Phase::response: return "response";
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

  void on_deadline() {
    const auto waited = static_cast<long>(phase_ms() + 0.5);
    switch (phase_) {
      case Phase::dns:
        return finish(Outcome::dns_error, fmt::format("DNS timeout: no answer for {} within {} ms", result_.host, waited));
      case Phase::connect:
        return finish(Outcome::connect_timeout,
                      fmt::format("no answer to SYN within {} ms (dropped by a firewall?)", waited));
      case Phase::tls:
        return finish(Outcome::timeout, fmt::format("tls: handshake not finished within {} ms", waited));
      case Phase::request:
        return finish(Outcome::timeout, fmt::format("request: not sent within {} ms", waited));
      case Phase::response:
        return finish(Outcome::timeout, fmt::format("response: no complete header within {} ms", waited));
    }
  }

  void on_resolved(const net::ResolveResult& r) {
    if (finished_) return;
    if (r.used_dns) result_.ms.dns = phase_ms();
    if (!r.ok()) return finish(Outcome::dns_error, r.error);

    enter(Phase::connect, ctx_.config.timeouts.connect, milliseconds(100));
    const auto deadline = std::min(total_deadline_, phase_start_ + ctx_.config.timeouts.connect);
    net::async_connect_any(socket_, r.addresses, result_.port, deadline,
                           [self = shared_from_this()](const net::ConnectResult& c) { self->on_connected(c); });
  }

  void on_connected(const net::ConnectResult& c) {
    if (finished_) return;
    result_.address = net::endpoint_text(c.endpoint);
    if (c.error) {
      if (c.timed_out) return finish(Outcome::connect_timeout, c.detail + " (dropped by a firewall?)");
      return finish(Outcome::connect_refused, c.detail);
    }
    result_.ms.connect = phase_ms();

    if (scheme_ != "https") return send_request();
    tls_.emplace(socket_, ctx_.tls.native());
    if (auto error = net::prepare_client_session(tls_->native_handle(), result_.host, ctx_.tls.verify());
        !error.empty())
      return finish(Outcome::tls_error, error);
    enter(Phase::tls, ctx_.config.timeouts.tls);
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this()](boost::system::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(boost::system::error_code ec) {
    if (finished_) return;
    result_.tls = net::read_tls_facts(tls_->native_handle());
    if (ec) {
      auto failure = net::explain_handshake_failure(tls_->native_handle(), result_.host, describe_io_error(ec));
      return finish(failure.untrusted ? Outcome::tls_untrusted : Outcome::tls_error,
                    failure.untrusted ? failure.detail : "TLS handshake failed: " + failure.detail);
    }
    result_.ms.tls = phase_ms();
    send_request();
  }

  template <class Fn>
  void with_stream(Fn&& fn) {
    if (tls_)
      fn(*tls_);
    else
      fn(socket_);
  }

  void send_request() {
    request_.method(http::verb::get);
    request_.target(path_);
    request_.version(11);
    const bool default_port = result_.port == (scheme_ == "https" ? 443 : 80);
    const bool v6 = result_.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + result_.host + "]" : result_.host;
    request_.set(http::field::host, default_port ? host : fmt::format("{}:{}", host, result_.port));
    request_.set(http::field::user_agent, ctx_.config.user_agent);
    request_.set(http::field::accept, "*/*");
    request_.set(http::field::connection, "close");

    enter(Phase::request, ctx_.config.timeouts.response);
    with_stream([this](auto& stream) {
      http::async_write(stream, request_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        self->on_written(ec);
      });
    });
  }

  void on_written(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) return finish(Outcome::http_error, "sending the request failed: " + describe_io_error(ec));
    enter(Phase::response, ctx_.config.timeouts.response);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(ctx_.config.header_limit));
    with_stream([this](auto& stream) {
      http::async_read_header(stream, buffer_, *parser_,
                              [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                self->on_header(ec);
                              });
    });
  }

  void on_header(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) {
      if (ec == http::error::header_limit)
        return finish(Outcome::http_error, fmt::format("response header exceeds {} bytes", ctx_.config.header_limit));
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
          ec == http::error::partial_message)
        return finish(Outcome::http_error, "connection closed before a complete response header");
      if (ec.category() == http::make_error_code(http::error::bad_version).category())
        return finish(Outcome::http_error, "malformed response header: " + ec.message());
      return finish(Outcome::http_error, "reading the response failed: " + describe_io_error(ec));
    }
    result_.ms.ttfb = phase_ms();
    result_.http_status = static_cast<int>(parser_->get().result_int());
    if (result_.http_status < 100 || result_.http_status > 599) {
      const auto status = result_.http_status;
      result_.http_status = 0;
      return finish(Outcome::http_error, fmt::format("invalid HTTP status {}", status));
    }
    if (!ctx_.config.expect.accepts(result_.http_status))
      return finish(Outcome::unexpected_status, fmt::format("HTTP {} is not an expected status", result_.http_status));
    finish(Outcome::ok, "");
  }

  static std::string describe_io_error(boost::system::error_code ec) {
    if (ec == asio::error::connection_reset) return "connection reset by peer";
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return "connection closed by peer";
    return ec.message();
  }

  void finish(Outcome outcome, std::string detail) {
    if (finished_) return;
    finished_ = true;
    result_.outcome = outcome;
    result_.detail = std::move(detail);
    result_.ms.total = ms_between(start_, Clock::now());
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);  // aborts whatever is pending; those handlers see finished_
    auto done = std::move(done_);
    done(std::move(result_));
  }

  ProbeContext ctx_;
  std::string scheme_;
  std::string path_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::empty_body>> parser_;
  Result result_;
  ResultHandler done_;
  Clock::time_point start_, phase_start_, total_deadline_;
  Phase phase_ = Phase::dns;
  bool finished_ = false;
};

void ProbeHandle::abort(std::string_view reason) const {
  if (auto op = op_.lock()) op->abort(reason);
}

ProbeHandle start_probe(const ProbeContext& ctx, const sheet::Target& target, const route::Route& route,
                        std::uint64_t sweep_index, ResultHandler done) {
  auto op = std::make_shared<ProbeOp>(ctx, target, route, sweep_index, std::move(done));
  asio::post(ctx.io, [op] { op->start(); });
  return ProbeHandle(op);
}

}  // namespace urlprobe::probe
