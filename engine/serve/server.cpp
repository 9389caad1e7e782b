// The exporter: one HTTP event loop that also runs /probe's probes, a sweep thread that runs one
// sweep at a time on the engine's own loops, and the last complete sweep as an immutable snapshot
// the loop serves from. Everything but the sweep itself and bcrypt lives on the loop's thread.
#include "serve/server.hpp"

#include <fmt/format.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/text.hpp"
#include "probe/probe.hpp"
#include "probe/route_column.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "serve/detail/exposition.hpp"
#include "sheet/url.hpp"

namespace urlprobe::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

ListenAddress parse_listen(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":")
      throw std::invalid_argument(fmt::format("'{}': expected [ADDRESS]:PORT", text));
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument(fmt::format("'{}': expected HOST:PORT or :PORT", text));
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw std::invalid_argument(fmt::format("'{}': the port must be a number 0-65535", text));
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

namespace {

using Request = http::request<http::empty_body>;
using Response = http::response<http::string_body>;
using Respond = std::function<void(Response)>;

// An open_memstream FILE* for a writer, and its text once closed.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&data_, &size_)) {
    if (!file_) throw std::runtime_error("out of memory for a report");
  }
  ~MemoryFile() {
    if (file_) std::fclose(file_);
    std::free(data_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::FILE* file() { return file_; }
  std::string take() {
    std::fclose(file_);
    file_ = nullptr;
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

// The last complete sweep, as served; never changed once made.
struct Snapshot {
  std::string metrics, jsonl, html, readiness;
  std::vector<report::UrlReach> reach;
  std::string summary;  // one line for the log
};

// A sweep's sink: every format the pages serve, in one pass over the results.
class SnapshotSink final : public probe::ResultSink {
 public:
  explicit SnapshotSink(std::span<const probe::RouteColumn> routes) : report(routes) {
    report.add(report::Format::prometheus, metrics.file());
    report.add(report::Format::jsonl, jsonl.file());
    report.add(report::Format::html, html.file());
    report.keep_results();
  }
  void on_result(const probe::Result& r) override {
    summary.add(r);
    reach.add(r);
    report.write(r);
  }
  MemoryFile metrics, jsonl, html;
  report::Report report;
  report::Summary summary;
  report::UrlReachTally reach;
};

// What a loaded plan needs on the loop: its /probe resolver and TLS client, the web config's
// server TLS and users. Built and destroyed on the loop's thread only.
struct PlanState {
  PlanState(std::shared_ptr<const Plan> p, asio::io_context& io)
      : plan(std::move(p)), client_tls(plan->sweep.tls), resolver(io, plan->sweep.resolver) {
    if (plan->web) {
      if (plan->web->tls())
        server_tls = std::make_shared<asio::ssl::context>(make_server_tls(*plan->web));
      auth = std::make_shared<BasicAuth>(plan->web->basic_auth_users);
    }
  }
  std::shared_ptr<const Plan> plan;
  net::TlsClientContext client_tls;
  net::Resolver resolver;
  std::shared_ptr<asio::ssl::context> server_tls;  // null: plain HTTP
  std::shared_ptr<BasicAuth> auth;                 // null or not enabled: no auth
};

Response text_response(http::status status, std::string_view content_type, std::string body) {
  Response res{status, 11};
  res.set(http::field::server, "urlprobe");
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

Response plain(http::status status, std::string body) {
  return text_response(status, "text/plain; charset=utf-8", std::move(body) + "\n");
}

constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// A sheet none of whose rows could be read is a mistake (a file cut short, the wrong file), not a
// sweep of nothing: at start it is refused, and on reload the previous sheet stays.
void refuse_unusable(const Plan& plan) {
  if (!plan.input.targets.empty() || plan.input.errors.empty()) return;
  std::vector<std::string> rows;
  for (const auto& e : plan.input.errors) {
    if (rows.size() == 3) break;
    rows.push_back(sheet::format_input_error(e));
  }
  throw std::runtime_error(fmt::format("no usable row in the sheet, {} skipped: {}{}",
                                       plan.input.errors.size(), fmt::join(rows, "; "),
                                       plan.input.errors.size() > rows.size() ? "; ..." : ""));
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Shutting down: a session waiting for its next request ends now.
  virtual void end_if_idle() = 0;
  // Torn down: whatever it waits for ends now.
  virtual void end() = 0;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(ServeOptions o, PlanLoader l, Log g)
      : options(std::move(o)), load(std::move(l)), log(std::move(g)) {}

  ServeOptions options;
  PlanLoader load;
  Log log;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer schedule{io};
  asio::steady_timer grace{io};
  asio::steady_timer probe_cutoff{io};  // when stopping: /probes still running are cut then
  asio::thread_pool helpers{1};         // bcrypt and plan loading, off the loop

  // On the loop's thread:
  std::shared_ptr<PlanState> state;
  std::shared_ptr<const Snapshot> snapshot;
  std::unordered_set<SessionBase*> sessions;
  std::unordered_map<std::uint64_t, probe::ProbeHandle> probes;  // /probe in flight
  std::unordered_set<std::uint64_t> cut_probes;  // aborted by stopping: no verdict to give
  std::uint64_t next_probe = 0;
  bool sweeping = false, stopping = false, reloading = false;
  std::uint64_t sweeps = 0, late = 0;
  bool last_reload_ok = true;
  double last_reload_success = 0;
  std::vector<detail::ExporterState::Unreachable> unreachable;
  std::chrono::steady_clock::time_point next_sweep;
  std::thread sweeper;

  // Shared with the sweep thread.
  std::mutex sweep_mutex;
  probe::Sweep* running = nullptr;
  std::atomic<bool> stop_requested{false};

  static double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void start_listening() {
    ListenAddress where;
    try {
      where = parse_listen(options.listen);
    } catch (const std::invalid_argument& e) {
      // The option's name: the message alone does not say which of the command line it is.
      throw std::invalid_argument(fmt::format("--listen {}", e.what()));
    }
    boost::system::error_code ec;
    asio::ip::address address = where.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                                   : asio::ip::make_address(where.host, ec);
    if (ec) {
      // A name: the first address it resolves to, as Prometheus's own --web.listen-address.
      tcp::resolver resolver(io);
      const auto found = resolver.resolve(where.host, std::to_string(where.port), ec);
      if (ec || found.empty())
        throw std::runtime_error(
            fmt::format("--listen {}: cannot resolve '{}'", options.listen, where.host));
      address = found.begin()->endpoint().address();
    }
    const tcp::endpoint endpoint(address, where.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    if (where.host.empty()) acceptor.set_option(asio::ip::v6_only(false), ec);
    acceptor.bind(endpoint, ec);
    if (ec) throw std::runtime_error(fmt::format("--listen {}: {}", options.listen, ec.message()));
    acceptor.listen(asio::socket_base::max_listen_connections);
  }

  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  // ---- sweeps ------------------------------------------------------------------------------

  void schedule_next() {
    const auto now = std::chrono::steady_clock::now();
    // A loop held up for more than an interval skips the missed starts: they would only
    // overlap.
    while (next_sweep <= now) next_sweep += options.every;
    schedule.expires_at(next_sweep);
    schedule.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      self->start_sweep();
      self->schedule_next();
    });
  }

  void start_sweep() {
    if (sweeping) {
      ++late;
      log(
          fmt::format("the sweep due now is skipped: the previous one is still running ({} "
                      "late so far; --every {}ms may be too short)",
                      late, options.every.count()));
      return;
    }
    sweeping = true;
    if (sweeper.joinable()) sweeper.join();  // it has posted its result and ended
    sweeper = std::thread([self = shared_from_this(), plan = state->plan] {
      std::shared_ptr<const Snapshot> made;
      try {
        made = self->sweep(*plan);
      } catch (const std::exception& e) {
        self->log(fmt::format("sweep failed: {}", e.what()));
      }
      asio::post(self->io, [self, made] { self->sweep_done(made); });
    });
  }

  // On the sweep thread. Null when interrupted: only complete sweeps are served.
  std::shared_ptr<const Snapshot> sweep(const Plan& plan) {
    SnapshotSink sink(probe::route_columns(plan.routes));
    probe::Sweep sweep(plan.sweep, plan.input.targets, plan.routes, sink);
    {
      std::lock_guard lock(sweep_mutex);
      running = &sweep;
      if (stop_requested.load()) sweep.interrupt();
    }
    const auto stats = sweep.run();
    {
      std::lock_guard lock(sweep_mutex);
      running = nullptr;
    }
    auto& summary = sink.summary;
    summary.planned = stats.planned;
    summary.seconds = std::chrono::duration<double>(stats.elapsed).count();
    summary.ended = std::chrono::system_clock::now();
    summary.input_errors = plan.input.errors.size();
    summary.interrupted = stats.interrupted;
    summary.notes = plan.notes;
    summary.arguments = plan.arguments;
    summary.geo = plan.geo;
    summary.enterprise_auth_proxy_disabled = plan.enterprise_auth_proxy_disabled;
    sink.report.finish(summary);
    if (stats.interrupted) return nullptr;
    auto out = std::make_shared<Snapshot>();
    out->metrics = sink.metrics.take();
    out->jsonl = sink.jsonl.take();
    out->html = sink.html.take();
    report::append_readiness_json(
        out->readiness, report::assess(sink.report.results(),
                                       report::ReadinessOptions{
                                           plan.geo, true, plan.enterprise_auth_proxy_disabled}));
    out->readiness += '\n';
    out->reach = sink.reach.urls();
    out->summary = fmt::format("{} probes in {:.1f}s, {} failed", summary.finished, summary.seconds,
                               summary.failures());
    return out;
  }

  void sweep_done(std::shared_ptr<const Snapshot> made) {
    sweeping = false;
    finish_if_done();
    if (!made) return;
    ++sweeps;
    std::unordered_map<std::string, std::uint64_t> before;
    for (const auto& u : unreachable) before[u.url.url] = u.sweeps;
    unreachable.clear();
    for (const auto& url : made->reach)
      unreachable.push_back({url, url.reached ? 0 : before[url.url] + 1});
    snapshot = std::move(made);
    log(fmt::format("sweep {} done: {}", sweeps, snapshot->summary));
  }

  // ---- configuration -----------------------------------------------------------------------

  void reload() {
    if (stopping || reloading) return;
    reloading = true;
    // Reading a sheet or discovering WPAD takes its time: not on the loop.
    asio::post(helpers, [self = shared_from_this()] {
      std::shared_ptr<const Plan> plan;
      std::string error;
      try {
        plan = std::make_shared<const Plan>(self->load());
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(self->io, [self, plan, error] { self->reloaded(plan, error); });
    });
  }

  void reloaded(const std::shared_ptr<const Plan>& plan, std::string error) {
    reloading = false;
    if (plan) {
      try {
        refuse_unusable(*plan);
        state = std::make_shared<PlanState>(plan, io);
        last_reload_ok = true;
        last_reload_success = now_seconds();
        log(fmt::format("configuration reloaded: {} targets, {} routes; the next sweep uses it",
                        plan->input.targets.size(), plan->routes.size()));
        for (const auto& e : plan->input.errors) log(sheet::format_input_error(e));
        return;
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    last_reload_ok = false;
    log(fmt::format("reload failed, the previous configuration stays: {}", error));
  }

  // ---- HTTP --------------------------------------------------------------------------------

  void accept() {
    acceptor.async_accept(
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
          if (self->stopping) return;
          if (!ec) self->admit(std::move(socket));
          self->accept();
        });
  }

  void admit(tcp::socket socket);

  std::string metrics_page() const {
    detail::ExporterState s;
    s.version = options.version;
    s.sweeps = sweeps;
    s.late = late;
    s.running = sweeping;
    s.interval_seconds = std::chrono::duration<double>(options.every).count();
    s.last_reload_ok = last_reload_ok;
    s.last_reload_success = last_reload_success;
    s.unreachable_sweeps = unreachable;
    auto page = detail::process_metrics() + detail::exporter_metrics(s);
    if (snapshot) page += snapshot->metrics;
    return page;
  }

  std::string index_page() const {
    return fmt::format(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>urlprobe "
        "exporter</title></head>\n<body><h1>urlprobe exporter</h1>\n<p>{}</p>\n<ul>\n"
        "<li><a href=\"metrics\">metrics</a>: the last complete sweep</li>\n"
        "<li><a href=\"probe?target=\">probe?target=URL&amp;route=R&amp;proxy=NAME</a>: one "
        "probe now (blackbox_exporter's names)</li>\n"
        "<li><a href=\"results.jsonl\">results.jsonl</a>, <a href=\"report.html\">report.html</a>, "
        "<a href=\"readiness\">readiness</a>: the last sweep</li>\n"
        "<li><a href=\"-/healthy\">-/healthy</a>, <a href=\"-/ready\">-/ready</a></li>\n"
        "</ul></body></html>\n",
        snapshot ? fmt::format("{} sweeps; last: {}", sweeps, snapshot->summary)
                 : std::string("the first sweep is running"));
  }

  // Answers `req`; `respond` is called once, on the loop, maybe later (/probe, bcrypt).
  void handle(const Request& req, Respond respond) {
    if (state->plan->web && !state->plan->web->headers.empty())
      respond = [headers = state->plan->web->headers, respond = std::move(respond)](Response res) {
        for (const auto& [name, value] : headers) res.set(name, value);
        respond(std::move(res));
      };
    if (state->auth && state->auth->enabled()) {
      const auto header = std::string(req[http::field::authorization]);
      asio::post(helpers, [self = shared_from_this(), auth = state->auth, header, req,
                           respond = std::move(respond)]() mutable {
        const bool allowed = auth->allows(header);
        asio::post(self->io,
                   [self, allowed, req = std::move(req), respond = std::move(respond)]() mutable {
                     if (!allowed) {
                       auto res = plain(http::status::unauthorized, "Unauthorized");
                       res.set(http::field::www_authenticate, "Basic realm=\"urlprobe\"");
                       respond(std::move(res));
                       return;
                     }
                     self->route(req, std::move(respond));
                   });
      });
      return;
    }
    route(req, std::move(respond));
  }

  void route(const Request& req, Respond respond) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = plain(http::status::method_not_allowed, "Only GET and HEAD");
      res.set(http::field::allow, "GET, HEAD");
      return respond(std::move(res));
    }
    const auto parsed = boost::urls::parse_origin_form(req.target());
    if (!parsed) return respond(plain(http::status::bad_request, "Bad request target"));
    const std::string path = parsed->path();
    const auto need_sweep = [&](std::string_view type, const std::string Snapshot::*page) {
      if (!snapshot)
        return respond(plain(http::status::service_unavailable,
                             "No complete sweep yet: the first is running"));
      respond(text_response(http::status::ok, type, (*snapshot).*page));
    };
    if (path == "/")
      return respond(text_response(http::status::ok, "text/html; charset=utf-8", index_page()));
    if (path == "/metrics")
      return respond(text_response(http::status::ok, kMetricsType, metrics_page()));
    if (path == "/probe") return probe(req, *parsed, std::move(respond));
    if (path == "/results.jsonl") return need_sweep("application/x-ndjson", &Snapshot::jsonl);
    if (path == "/report.html") return need_sweep("text/html; charset=utf-8", &Snapshot::html);
    if (path == "/readiness") return need_sweep("application/json", &Snapshot::readiness);
    if (path == "/-/healthy") return respond(plain(http::status::ok, "Healthy"));
    if (path == "/-/ready")
      return respond(snapshot ? plain(http::status::ok, "Ready")
                              : plain(http::status::service_unavailable,
                                      "Not ready: the first sweep is running"));
    respond(plain(http::status::not_found, "Not found; see /"));
  }

  // /probe's target: a URL of the sheet, another URL on one of its hosts and ports, or one of
  // its hosts (its first URL). Anything else only with --allow-any-target: the exporter is no open
  // relay.
  std::optional<sheet::Target> probe_target(std::string_view text, Response& refusal) const {
    const auto& targets = state->plan->input.targets;
    for (const auto& t : targets)
      if (t.url == text) return t;
    if (text.find("://") == std::string_view::npos) {
      const auto host = base::lower(text);
      for (const auto& t : targets)
        if (t.host == host && t.skip.empty()) return t;
    }
    const auto url = text.find("://") == std::string_view::npos ? fmt::format("https://{}/", text)
                                                                : std::string(text);
    auto parsed = sheet::parse_target_url(url);
    if (const auto* error = std::get_if<sheet::UrlError>(&parsed)) {
      refusal =
          plain(http::status::bad_request, fmt::format("target '{}': {}", text, error->message));
      return std::nullopt;
    }
    auto& target = std::get<sheet::Target>(parsed);
    // The same host and port: the sheet's hosts are no license to scan their other ports.
    const bool on_sheet = std::any_of(targets.begin(), targets.end(), [&](const auto& t) {
      return t.host == target.host && t.port == target.port;
    });
    if (on_sheet || options.allow_any_target) return target;
    refusal = plain(http::status::forbidden,
                    fmt::format("target '{}' is not on the loaded sheet (--allow-any-target "
                                "probes any URL)",
                                text));
    return std::nullopt;
  }

  const route::Route* probe_route(std::string_view method, std::string_view proxy,
                                  Response& refusal) const {
    const auto& routes = state->plan->routes;
    std::optional<route::Method> wanted;
    if (!method.empty()) {
      // "proxy" is every route of the --proxies list (the metrics' route label); proxy= names one.
      wanted = method == route::method_name(route::Method::proxy_list)
                   ? route::Method::proxy_list
                   : route::parse_method(method);
    }
    const bool unknown_method = !method.empty() && !wanted;
    std::vector<std::string> names;
    for (const auto& r : routes) {
      const bool listed = r.method == route::Method::proxy_list && r.for_https;
      if (listed)
        names.push_back(fmt::format(
            "proxy={}", r.for_https->name.empty() ? r.for_https->redacted() : r.for_https->name));
      else
        names.push_back(fmt::format("route={}", route::method_name(r.method)));
      if (unknown_method || (wanted && r.method != *wanted)) continue;
      if (!proxy.empty() &&
          !(listed && (r.for_https->name == proxy || r.for_https->redacted() == proxy)))
        continue;
      return &r;
    }
    // The refusal lists what there is, so that a scrape config can be fixed from its answer.
    refusal = plain(http::status::bad_request,
                    fmt::format("{}; this sweep has: {}",
                                unknown_method ? fmt::format("route '{}': no such route", method)
                                               : std::string("no such route in this sweep"),
                                fmt::join(names, " ")));
    return nullptr;
  }

  void probe(const Request& req, boost::urls::url_view url, Respond respond) {
    if (probes.size() >= options.max_concurrent_probes)
      return respond(
          plain(http::status::service_unavailable,
                fmt::format("{} probes are running (--max-concurrent-probes)", probes.size())));
    std::string target_text, method, proxy;
    for (const auto& param : url.params()) {
      if (param.key == "target") target_text = param.value;
      if (param.key == "route") method = param.value;
      if (param.key == "proxy") proxy = param.value;
    }
    if (target_text.empty())
      return respond(plain(http::status::bad_request, "Target parameter is missing"));
    Response refusal;
    auto target = probe_target(target_text, refusal);
    if (!target) return respond(std::move(refusal));
    const auto* route = probe_route(method, proxy, refusal);
    if (!route) return respond(std::move(refusal));
    if (!route->configured)
      return respond(plain(http::status::bad_request,
                           fmt::format("route {} is not configured here: {}",
                                       route::method_name(route->method), route->not_configured)));

    struct Job {
      std::shared_ptr<PlanState> state;
      probe::ProbeConfig config;
    };
    auto job = std::make_shared<Job>(Job{state, state->plan->sweep.probe});
    // As blackbox_exporter: answer within Prometheus's scrape timeout, with half a second spare.
    const auto header = req["X-Prometheus-Scrape-Timeout-Seconds"];
    double budget = 0;
    if (!header.empty() &&
        std::from_chars(header.data(), header.data() + header.size(), budget).ec == std::errc() &&
        budget > 1) {
      const auto ms = std::chrono::milliseconds(static_cast<long>((budget - 0.5) * 1000));
      if (ms < job->config.timeouts.total) job->config.timeouts = probe::Timeouts::derived_from(ms);
    }
    const auto id = next_probe++;
    const probe::ProbeContext context{io, job->state->resolver, job->state->client_tls,
                                      job->config};
    probes[id] = probe::start_probe(
        context, *target, *route, 0,
        [self = shared_from_this(), id, job, respond = std::move(respond)](probe::Result&& r) {
          self->probes.erase(id);
          // A probe the exporter cut short learnt nothing about the target: "timeout" would
          // blame the network for our own exit. 503 leaves the scrape failed (up 0), not wrong.
          if (self->cut_probes.erase(id) > 0 && r.outcome == probe::Outcome::timeout)
            respond(plain(http::status::service_unavailable,
                          "the exporter stopped before this probe ended; no verdict"));
          else
            respond(text_response(http::status::ok, kMetricsType, detail::blackbox_metrics(r)));
          // Let the probe's cancelled operations run before its plan may go.
          asio::post(self->io, [job] {});
        });
  }

  // ---- stopping ----------------------------------------------------------------------------

  void stop() {
    if (stopping) return;
    stopping = true;
    log("stopping: no new connections; answering those in flight");
    boost::system::error_code ignored;
    acceptor.close(ignored);
    schedule.cancel();
    {
      std::lock_guard lock(sweep_mutex);
      stop_requested.store(true);
      if (running) running->interrupt();
    }
    // A /probe that ends within half the grace period gives its real answer; the rest are cut
    // then, so that their 503s still reach the clients before the grace period is over.
    probe_cutoff.expires_after(options.shutdown_grace / 2);
    probe_cutoff.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->cut_running_probes();
    });
    for (auto* session : std::vector(sessions.begin(), sessions.end())) session->end_if_idle();
    grace.expires_after(options.shutdown_grace);
    grace.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) {
        self->log("stopping: grace period over, closing what is left");
        self->io.stop();
      }
    });
    finish_if_done();
  }

  // After the loop: every handler still queued or waiting holds this Impl, so each must run
  // (with operation_aborted) or the Impl and its sessions would never be freed.
  void teardown() {
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    schedule.cancel();
    grace.cancel();
    probe_cutoff.cancel();
    cut_running_probes();
    for (auto* session : std::vector(sessions.begin(), sessions.end())) session->end();
    io.restart();
    while (io.poll() > 0) {
    }
    state.reset();
    while (io.poll() > 0) {
    }
  }

  void cut_running_probes() {
    for (auto& [id, handle] : std::unordered_map(probes)) {
      cut_probes.insert(id);
      handle.abort("the exporter is stopping");
    }
  }

  // The loop ends by itself once nothing is left; the timers must not keep it going.
  void finish_if_done() {
    if (!stopping) return;
    if (probes.empty()) probe_cutoff.cancel();
    if (sessions.empty() && probes.empty() && !sweeping) grace.cancel();
  }
};

namespace {

// One connection: requests one after another (keep-alive), each read within the request
// deadline and the header limit; TLS when the web config says so.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<Server::Impl> server, Stream stream)
      : server_(std::move(server)), stream_(std::move(stream)) {
    server_->sessions.insert(this);
  }
  ~Session() override {
    server_->sessions.erase(this);
    server_->finish_if_done();
  }

  void start() {
    if constexpr (kTls) {
      tcp().expires_after(server_->options.request_deadline);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

  void end_if_idle() override {
    if (idle_) end();
  }
  void end() override {
    boost::system::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void read_request() {
    if (server_->stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.header_limit));
    parser_->body_limit(0);
    idle_ = true;
    tcp().expires_after(server_->options.request_deadline);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      return close();
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      return write(plain(http::status::request_header_fields_too_large,
                         "Request line and headers are too large"));
    }
    if (ec) {
      keep_alive_ = false;
      return write(plain(http::status::bad_request, fmt::format("Bad request: {}", ec.message())));
    }
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    version_ = req.version();
    server_->handle(
        req, [self = this->shared_from_this()](Response res) { self->write(std::move(res)); });
  }

  void write(Response res) {
    res.version(version_ == 10 ? 10 : 11);
    res.keep_alive(keep_alive_ && !server_->stopping);
    res.prepare_payload();
    if (head_) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    response_ = std::make_unique<Response>(std::move(res));
    tcp().expires_after(server_->options.request_deadline);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        const bool again = !ec && self->response_->keep_alive();
                        self->response_.reset();
                        if (again)
                          self->read_request();
                        else
                          self->close();
                      });
  }

  void close() {
    idle_ = false;
    if constexpr (kTls) {
      tcp().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        boost::system::error_code ignored;
        self->tcp().socket().close(ignored);
      });
    } else {
      boost::system::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      tcp().socket().close(ignored);
    }
  }

  std::shared_ptr<Server::Impl> server_;
  Stream stream_;
  beast::flat_buffer buffer_{8192};
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::unique_ptr<Response> response_;
  bool idle_ = false, keep_alive_ = false, head_ = false;
  unsigned version_ = 11;
};

}  // namespace

void Server::Impl::admit(tcp::socket socket) {
  // Past the limit a connection is closed at once: idle or slow clients cannot take every
  // descriptor, and a scrape that meets it is retried by Prometheus.
  if (sessions.size() >= options.max_connections) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (state->server_tls) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        shared_from_this(), beast::ssl_stream<beast::tcp_stream>(
                                beast::tcp_stream(std::move(socket)), *state->server_tls))
        ->start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(shared_from_this(),
                                                 beast::tcp_stream(std::move(socket)))
        ->start();
  }
}

Server::Server(ServeOptions options, PlanLoader load, Log log)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(load), std::move(log))) {
  if (impl_->options.every <= std::chrono::milliseconds(0))
    throw std::invalid_argument("--every must be greater than 0");
  auto plan = std::make_shared<const Plan>(impl_->load());
  refuse_unusable(*plan);
  // The rows skipped at start are logged as those skipped on reload are.
  for (const auto& e : plan->input.errors) impl_->log(sheet::format_input_error(e));
  impl_->state = std::make_shared<PlanState>(std::move(plan), impl_->io);
  impl_->last_reload_success = Impl::now_seconds();
  impl_->start_listening();
}

Server::~Server() {
  {
    std::lock_guard lock(impl_->sweep_mutex);
    impl_->stop_requested.store(true);
    if (impl_->running) impl_->running->interrupt();
  }
  if (impl_->sweeper.joinable()) impl_->sweeper.join();
  impl_->helpers.join();
  impl_->teardown();
}

std::uint16_t Server::port() const {
  return impl_->port();
}

void Server::run() {
  auto& impl = *impl_;
  impl.log(fmt::format(
      "listening on {} ({}), sweeping {} targets x {} routes every {}s",
      impl.acceptor.local_endpoint().address().to_string() + ":" + std::to_string(impl.port()),
      impl.state->server_tls ? "https" : "http", impl.state->plan->input.targets.size(),
      impl.state->plan->routes.size(), std::chrono::duration<double>(impl.options.every).count()));
  if (impl.options.allow_any_target)
    impl.log("--allow-any-target: /probe probes any URL anyone who reaches this port asks for");
  asio::post(impl.io, [&impl] {
    impl.accept();
    impl.next_sweep = std::chrono::steady_clock::now() + impl.options.every;
    impl.start_sweep();
    impl.schedule_next();
  });
  impl.io.run();
  // The sweep was interrupted by stop(); its thread hands over nothing more.
  if (impl.sweeper.joinable()) impl.sweeper.join();
}

void Server::reload() {
  asio::post(impl_->io, [impl = impl_] { impl->reload(); });
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_] { impl->stop(); });
}

}  // namespace urlprobe::serve
