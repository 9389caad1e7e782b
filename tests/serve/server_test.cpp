// serve::Server in process: its pages before and after the first sweep, /probe's target and
// route rules, its limits (concurrent probes, header size, request deadline, connections),
// reload() and stop(). The sweeps and /probe reach in-process origins and forwarding proxies on
// 127.0.0.1; the client is a plain socket with a poll() deadline on every read, so a server that
// never answers fails the test instead of hanging it.
#include "serve/server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "route/route.hpp"
#include "sheet/url.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::serve {
namespace {

using namespace std::chrono_literals;
using test::tcp;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace asio = boost::asio;

// Hang guards, not timing assertions: every awaited thing happens in milliseconds on loopback.
constexpr auto kWait = 20s;

// Polls `condition` until it holds or the hang guard is over.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = kWait) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

// --- a client on a plain socket ----------------------------------------------------------------

class Connection {
 public:
  explicit Connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(0x7f000001);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to the exporter");
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  enum class Read { data, eof, error, timeout };
  // One recv() within the hang guard; appends to `into`.
  Read read_some(std::string& into, std::chrono::milliseconds limit = kWait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return Read::timeout;
    char buffer[16384];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      return Read::data;
    }
    return n == 0 ? Read::eof : Read::error;
  }

 private:
  int fd_;
};

struct Reply {
  int status = 0;  // 0: no complete response
  std::string head, body;
  bool closed_without_bytes = false;
};

// Reads one response whose body has a Content-Length (the exporter always sends one).
Reply read_reply(Connection& c) {
  Reply reply;
  std::string bytes;
  for (;;) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      reply.head = bytes.substr(0, head_end);
      std::size_t length = 0;
      std::istringstream lines(reply.head);
      for (std::string line; std::getline(lines, line);) {
        if (line.size() > 15 && (line.compare(0, 15, "Content-Length:") == 0 ||
                                 line.compare(0, 15, "content-length:") == 0))
          length = std::stoul(line.substr(15));
      }
      if (bytes.size() >= head_end + 4 + length) {
        reply.body = bytes.substr(head_end + 4, length);
        if (reply.head.starts_with("HTTP/1.1 ") || reply.head.starts_with("HTTP/1.0 "))
          reply.status = std::stoi(reply.head.substr(9, 3));
        return reply;
      }
    }
    const auto got = c.read_some(bytes);
    if (got == Connection::Read::timeout) {
      ADD_FAILURE() << "no complete response within the hang guard; got: " << bytes;
      return reply;
    }
    if (got != Connection::Read::data) {
      reply.closed_without_bytes = bytes.empty();
      return reply;
    }
  }
}

Reply get(std::uint16_t port, const std::string& target, const std::string& extra_headers = {}) {
  Connection c(port);
  c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
         "\r\n");
  return read_reply(c);
}

std::string encode(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += ch;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// --- origins and proxies ------------------------------------------------------------------------

// An HTTP origin on 127.0.0.1 that answers 200 at once, except paths starting with /hold, which
// it answers only after release(). It records every request head it reads.
class Origin {
 public:
  explicit Origin(asio::io_context& io)
      : state_(std::make_shared<State>(io)),
        server_(io, [state = state_](tcp::socket& s) { return serve(s, state); }) {}

  std::string url(const std::string& path) const { return server_.url("http", path); }
  std::uint16_t port() const { return server_.port(); }
  int held() const { return state_->held.load(); }
  std::vector<std::string> heads() const {
    std::lock_guard lock(state_->mutex);
    return state_->heads;
  }
  // On the server thread.
  void release() {
    state_->released = true;
    state_->gate.cancel();
  }
  void stop() {
    release();
    server_.stop();
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : gate(io) {
      gate.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer gate;
    bool released = false;
    std::atomic<int> held{0};
    mutable std::mutex mutex;
    std::vector<std::string> heads;
  };

  static asio::awaitable<void> serve(tcp::socket& socket, std::shared_ptr<State> state) {
    const auto head = co_await test::read_request(socket);
    {
      std::lock_guard lock(state->mutex);
      state->heads.push_back(head.substr(0, head.find("\r\n")));
    }
    if (head.find(" /hold") != std::string::npos && !state->released) {
      ++state->held;
      co_await state->gate.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_await test::write_text(socket, test::http_response(200, "OK"));
    co_await test::drain(socket);
  }

  std::shared_ptr<State> state_;
  test::TestServer server_;
};

// A forwarding HTTP proxy that answers every request itself (200) and records its request line:
// an http target reaches it in absolute form, which is proof the probe took this route.
using ProxyOrigin = Origin;

sheet::Target target_for(const std::string& url) {
  auto parsed = sheet::parse_target_url(url);
  if (auto* target = std::get_if<sheet::Target>(&parsed)) return *target;
  throw std::runtime_error(url + ": " + std::get<sheet::UrlError>(parsed).message);
}

Plan make_plan(const std::vector<std::string>& urls, std::vector<route::Route> routes = {}) {
  Plan plan;
  for (const auto& url : urls) plan.input.targets.push_back(target_for(url));
  plan.routes = routes.empty() ? std::vector<route::Route>{route::direct_route()} : routes;
  plan.sweep.threads = 1;
  plan.sweep.concurrency = 8;
  plan.sweep.probe.timeouts = probe::Timeouts::derived_from(10s);
  return plan;
}

route::Route listed_proxy(const std::string& name, std::uint16_t port) {
  route::ProxySpec spec;
  spec.host = "127.0.0.1";
  spec.port = port;
  spec.name = name;
  return route::proxy_route(route::Method::proxy_list, spec);
}

// --- the server under test ------------------------------------------------------------------

class Exporter {
 public:
  Exporter(ServeOptions options, PlanLoader load) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(std::move(options), std::move(load),
                                       [this](std::string_view line) {
                                         std::lock_guard lock(mutex_);
                                         log_.emplace_back(line);
                                       });
    port_ = server_->port();
    runner_ = std::thread([this] {
      server_->run();
      returned_.set_value();
    });
  }
  ~Exporter() {
    if (runner_.joinable()) {
      server_->stop();
      if (!wait_returned()) {
        std::fprintf(stderr, "Server::run() did not return after stop(): hang\n");
        std::abort();
      }
    }
  }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  Server& server() { return *server_; }
  std::uint16_t port() const { return port_; }

  // stop(), and whether run() returned within the hang guard.
  bool stop_and_wait() {
    server_->stop();
    return wait_returned();
  }

  bool logged(std::string_view text) {
    std::lock_guard lock(mutex_);
    for (const auto& line : log_)
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
  std::string log() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& line : log_) out += line + "\n";
    return out;
  }

  // The sweeps_total the exporter reports.
  int sweeps() {
    const auto page = get(port_, "/metrics").body;
    const auto at = page.find("\nurlprobe_sweeps_total ");
    return at == std::string::npos ? -1 : std::stoi(page.substr(at + 23));
  }
  bool wait_sweeps(int n) {
    return eventually([&] { return sweeps() >= n; });
  }

 private:
  bool wait_returned() {
    if (!runner_.joinable()) return true;
    if (done_.wait_for(kWait) != std::future_status::ready) return false;
    runner_.join();
    return true;
  }

  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::promise<void> returned_;
  std::future<void> done_ = returned_.get_future();
  std::thread runner_;
  std::mutex mutex_;
  std::vector<std::string> log_;
};

ServeOptions quick() {
  ServeOptions o;
  o.every = 200ms;
  o.shutdown_grace = 5s;
  return o;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    servers_.call([&] {
      origin_ = std::make_unique<Origin>(servers_.io);
      other_ = std::make_unique<Origin>(servers_.io);
      proxy1_ = std::make_unique<ProxyOrigin>(servers_.io);
      proxy2_ = std::make_unique<ProxyOrigin>(servers_.io);
    });
  }
  void TearDown() override {
    servers_.call([&] {
      for (auto* o : {&origin_, &other_, &proxy1_, &proxy2_}) {
        (*o)->stop();
        o->reset();
      }
    });
  }
  void release() {
    servers_.call([&] { origin_->release(); });
  }
  std::string probe_of(const std::string& url, const std::string& more = {}) {
    return "/probe?target=" + encode(url) + more;
  }

  test::ServerThread servers_;
  std::unique_ptr<Origin> origin_, other_;
  std::unique_ptr<ProxyOrigin> proxy1_, proxy2_;
};

bool has_line_starting(const std::string& page, std::string_view prefix) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(prefix)) return true;
  return false;
}

// --- pages --------------------------------------------------------------------------------

// A sweep held past --every (200 ms here): the due sweeps are counted late, and none starts
// beside it (the origin sees one request for the held URL).
TEST_F(ServeTest, ASweepStillRunningWhenTheNextIsDueCountsItLateAndRunsAlone) {
  Exporter e(quick(), [&] { return make_plan({origin_->url("/hold/long")}); });
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  const auto late = [&] {
    const auto page = get(e.port(), "/metrics").body;
    const auto at = page.find("\nurlprobe_sweeps_late_total ");
    return at == std::string::npos ? -1 : std::atoi(page.c_str() + at + 28);
  };
  ASSERT_TRUE(eventually([&] { return late() >= 2; })) << get(e.port(), "/metrics").body;
  EXPECT_EQ(origin_->held(), 1) << "a second sweep started beside the running one";
  EXPECT_TRUE(has_line_starting(get(e.port(), "/metrics").body, "urlprobe_sweep_running 1"));
  EXPECT_FALSE(e.logged("sweep 1 done")) << e.log();
  release();
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
}

TEST_F(ServeTest, PagesBeforeAndAfterTheFirstSweep) {
  const auto ok = origin_->url("/ok"), held = origin_->url("/hold/sweep");
  // The sweep's /hold target keeps the first sweep running until the test releases it.
  Exporter e(quick(), [&] { return make_plan({ok, held}); });

  EXPECT_EQ(get(e.port(), "/-/healthy").status, 200);
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  const auto ready = get(e.port(), "/-/ready");
  EXPECT_EQ(ready.status, 503);
  const auto early = get(e.port(), "/metrics");
  EXPECT_EQ(early.status, 200);
  EXPECT_TRUE(has_line_starting(early.body, "process_start_time_seconds "));
  EXPECT_TRUE(has_line_starting(early.body, "urlprobe_build_info{"));
  EXPECT_TRUE(has_line_starting(early.body, "urlprobe_sweep_running 1")) << early.body;
  EXPECT_FALSE(has_line_starting(early.body, "urlprobe_probe_")) << early.body;
  EXPECT_EQ(get(e.port(), "/results.jsonl").status, 503);
  EXPECT_EQ(get(e.port(), "/readiness").status, 503);
  EXPECT_EQ(get(e.port(), "/report.html").status, 503);
  EXPECT_THAT(get(e.port(), "/").body, HasSubstr("the first sweep is running"));

  release();
  ASSERT_TRUE(eventually([&] { return get(e.port(), "/-/ready").status == 200; })) << e.log();
  const auto page = get(e.port(), "/metrics").body;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_sweeps_total ")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_sweep_end_timestamp_seconds")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_sweep_running ")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_build_info{")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_probe_success{url=\"" + ok + "\"")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_probe_success{url=\"" + held + "\"")) << page;
  EXPECT_TRUE(e.logged("sweep 1 done")) << e.log();

  const auto index = get(e.port(), "/");
  EXPECT_EQ(index.status, 200);
  for (const auto* link : {"metrics", "probe?target=", "results.jsonl", "report.html", "readiness",
                           "-/healthy", "-/ready"})
    EXPECT_THAT(index.body, HasSubstr(fmt::format("href=\"{}\"", link)));
  EXPECT_EQ(get(e.port(), "/nosuch").status, 404);

  const auto jsonl = get(e.port(), "/results.jsonl");
  EXPECT_EQ(jsonl.status, 200);
  std::istringstream lines(jsonl.body);
  int records = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (!ec) {
      EXPECT_TRUE(value.is_object()) << line;
      ++records;
    }
  }
  EXPECT_EQ(records, 2) << jsonl.body;  // two targets x one route

  const auto readiness = get(e.port(), "/readiness");
  EXPECT_EQ(readiness.status, 200);
  EXPECT_THAT(readiness.head, HasSubstr("application/json"));
  boost::system::error_code ec;
  EXPECT_TRUE(boost::json::parse(readiness.body, ec).is_object()) << readiness.body;
  EXPECT_FALSE(ec);
  const auto html = get(e.port(), "/report.html");
  EXPECT_EQ(html.status, 200);
  EXPECT_THAT(html.head, HasSubstr("text/html"));
  EXPECT_THAT(html.body, StartsWith("<!"));
  EXPECT_THAT(html.body, HasSubstr(ok));
}

// --- /probe ---------------------------------------------------------------------------------

TEST_F(ServeTest, ProbeTargetRules) {
  const auto ok = origin_->url("/ok");
  Exporter e(quick(), [&] { return make_plan({ok}); });

  const auto answer = get(e.port(), probe_of(ok));
  EXPECT_EQ(answer.status, 200);
  EXPECT_TRUE(has_line_starting(answer.body, "probe_success 1")) << answer.body;
  EXPECT_TRUE(has_line_starting(answer.body, "probe_http_status_code 200")) << answer.body;
  EXPECT_TRUE(has_line_starting(answer.body, "urlprobe_probe_outcome{outcome=\"ok\"} 1"))
      << answer.body;

  // Another path on the sheet's host and port is allowed; another port of the same host is not.
  EXPECT_EQ(get(e.port(), probe_of(origin_->url("/other"))).status, 200);
  const auto refused = get(e.port(), probe_of(other_->url("/ok")));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("not on the loaded sheet"));
  // A bare host: the sheet's first URL on it.
  const auto bare = get(e.port(), "/probe?target=127.0.0.1");
  EXPECT_EQ(bare.status, 200) << bare.body;
  EXPECT_TRUE(has_line_starting(bare.body, "probe_success 1")) << bare.body;

  EXPECT_EQ(get(e.port(), "/probe").status, 400);
  EXPECT_EQ(get(e.port(), "/probe?target=").status, 400);
  EXPECT_EQ(get(e.port(), probe_of(ok, "&route=direct")).status, 200);
  const auto nosuch = get(e.port(), probe_of(ok, "&route=nosuch"));
  EXPECT_EQ(nosuch.status, 400) << nosuch.body;
  // The plan has no proxy_list route.
  EXPECT_EQ(get(e.port(), probe_of(ok, "&route=proxy")).status, 400);
  EXPECT_EQ(get(e.port(), "/probe?target=" + encode("http://[bad")).status, 400);
}

TEST_F(ServeTest, AllowAnyTargetProbesOtherHosts) {
  auto options = quick();
  options.allow_any_target = true;
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  const auto answer = get(e.port(), probe_of(other_->url("/elsewhere")));
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_TRUE(has_line_starting(answer.body, "probe_success 1")) << answer.body;
  EXPECT_TRUE(e.logged("--allow-any-target")) << e.log();
}

// route=proxy is the --proxies list; proxy=NAME one of them. A forwarding proxy receives an http
// target in absolute form, so the request line the proxy saw tells which route a probe took.
TEST_F(ServeTest, ProbeRouteProxySelectsTheListedProxies) {
  const auto ok = origin_->url("/ok");
  Exporter e(quick(), [&] {
    return make_plan({ok}, {route::direct_route(), listed_proxy("p1", proxy1_->port()),
                            listed_proxy("p2", proxy2_->port())});
  });
  const auto saw = [](const Origin& o, const std::string& path_url) {
    for (const auto& head : o.heads())
      if (head == "GET " + path_url + " HTTP/1.1") return true;
    return false;
  };

  const auto via_list = origin_->url("/via-list");
  const auto listed = get(e.port(), probe_of(via_list, "&route=proxy"));
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_TRUE(has_line_starting(listed.body, "probe_success 1")) << listed.body;
  EXPECT_TRUE(saw(*proxy1_, via_list) || saw(*proxy2_, via_list));

  const auto via_p2 = origin_->url("/via-p2");
  const auto named = get(e.port(), probe_of(via_p2, "&proxy=p2"));
  EXPECT_EQ(named.status, 200) << named.body;
  EXPECT_TRUE(saw(*proxy2_, via_p2));
  EXPECT_FALSE(saw(*proxy1_, via_p2));
  EXPECT_FALSE(saw(*origin_, "/via-p2"));

  const auto via_direct = origin_->url("/via-direct");
  EXPECT_EQ(get(e.port(), probe_of(via_direct, "&route=direct")).status, 200);
  EXPECT_TRUE(saw(*origin_, "/via-direct"));
  EXPECT_FALSE(saw(*proxy1_, via_direct));
  EXPECT_FALSE(saw(*proxy2_, via_direct));

  const auto unknown = get(e.port(), probe_of(ok, "&proxy=p3"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("proxy=p1"));
  EXPECT_THAT(unknown.body, HasSubstr("proxy=p2"));
  EXPECT_EQ(get(e.port(), probe_of(ok, "&route=direct&proxy=p1")).status, 400);
}

// --- limits ---------------------------------------------------------------------------------

TEST_F(ServeTest, ProbesPastTheLimitAre503AtOnce) {
  auto options = quick();
  options.max_concurrent_probes = 1;
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  auto first = std::async(std::launch::async,
                          [&] { return get(e.port(), probe_of(origin_->url("/hold/probe"))); });
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  const auto second = get(e.port(), probe_of(origin_->url("/ok")));
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_THAT(second.body, HasSubstr("--max-concurrent-probes"));
  release();
  const auto answer = first.get();
  EXPECT_EQ(answer.status, 200);
  EXPECT_TRUE(has_line_starting(answer.body, "probe_success 1")) << answer.body;
  // The slot is free again.
  EXPECT_EQ(get(e.port(), probe_of(origin_->url("/ok"))).status, 200);
}

TEST_F(ServeTest, OversizedHeadersAre431) {
  auto options = quick();
  options.header_limit = 1024;
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  const auto big = get(e.port(), "/metrics", "X-Filler: " + std::string(4000, 'x') + "\r\n");
  EXPECT_EQ(big.status, 431);
  EXPECT_EQ(get(e.port(), "/metrics", "X-Filler: small\r\n").status, 200);
}

TEST_F(ServeTest, AStalledRequestIsClosedAfterTheRequestDeadline) {
  auto options = quick();
  options.request_deadline = 300ms;
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  Connection c(e.port());
  ASSERT_TRUE(c.send("GET /metr"));
  std::string bytes;
  Connection::Read got;
  do {
    got = c.read_some(bytes);
  } while (got == Connection::Read::data);
  EXPECT_TRUE(got == Connection::Read::eof || got == Connection::Read::error)
      << "the connection was not closed within the hang guard";
  EXPECT_EQ(bytes, "");
}

TEST_F(ServeTest, ConnectionsPastTheLimitAreClosedAtOnce) {
  auto options = quick();
  options.max_connections = 2;
  options.request_deadline = 60s;  // the idle ones stay: only the limit may close the third
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  // Two keep-alive connections, each certainly admitted: it has answered a request.
  const std::string request = "GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  Connection a(e.port()), b(e.port());
  for (auto* c : {&a, &b}) {
    ASSERT_TRUE(c->send(request));
    EXPECT_EQ(read_reply(*c).status, 200);
  }
  {
    Connection third(e.port());
    third.send(request);
    const auto reply = read_reply(third);
    EXPECT_EQ(reply.status, 0);
    EXPECT_TRUE(reply.closed_without_bytes);
  }
  // The kept ones still work; one gone makes room.
  ASSERT_TRUE(a.send(request));
  EXPECT_EQ(read_reply(a).status, 200);
  b.close();
  EXPECT_TRUE(eventually([&] { return get(e.port(), "/-/healthy").status == 200; }));
}

// --- reload ---------------------------------------------------------------------------------

TEST_F(ServeTest, AFailedReloadKeepsTheOldPlan) {
  const auto ok = origin_->url("/ok");
  std::atomic<int> loads{0};
  Exporter e(quick(), [&] {
    if (loads++ > 0) throw std::runtime_error("sheet.csv:3:7: no URL in this row");
    return make_plan({ok});
  });
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
  e.server().reload();
  ASSERT_TRUE(eventually([&] { return e.logged("reload failed"); })) << e.log();
  EXPECT_TRUE(e.logged("sheet.csv:3:7: no URL in this row")) << e.log();
  EXPECT_EQ(loads.load(), 2);
  const auto before = e.sweeps();
  ASSERT_TRUE(e.wait_sweeps(before + 1)) << e.log();
  const auto page = get(e.port(), "/metrics").body;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_probe_success{url=\"" + ok + "\"")) << page;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_config_last_reload_successful 0")) << page;
  EXPECT_EQ(get(e.port(), probe_of(ok)).status, 200);
}

TEST_F(ServeTest, AGoodReloadProbesTheNewSheet) {
  const auto old_url = origin_->url("/ok"), new_url = other_->url("/new");
  std::atomic<int> loads{0};
  Exporter e(quick(), [&] { return make_plan({loads++ == 0 ? old_url : new_url}); });
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
  EXPECT_EQ(get(e.port(), probe_of(new_url)).status, 403);
  e.server().reload();
  ASSERT_TRUE(eventually([&] { return e.logged("configuration reloaded"); })) << e.log();
  EXPECT_EQ(get(e.port(), probe_of(new_url)).status, 200);
  EXPECT_EQ(get(e.port(), probe_of(old_url)).status, 403);
  // The next sweep probes the new sheet only.
  EXPECT_TRUE(eventually([&] {
    const auto page = get(e.port(), "/metrics").body;
    return has_line_starting(page, "urlprobe_probe_success{url=\"" + new_url + "\"") &&
           !has_line_starting(page, "urlprobe_probe_success{url=\"" + old_url + "\"");
  })) << get(e.port(), "/metrics").body;
  const auto page = get(e.port(), "/metrics").body;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_config_last_reload_successful 1")) << page;
}

// A sheet none of whose rows could be read (a file cut short) is refused: on reload the old plan
// stays, at start the constructor throws; the skipped rows are logged with file and line.
Plan unusable_plan() {
  Plan plan = make_plan({});
  plan.input.errors.push_back({"sheet.csv", 2, 1, "quoted field is never closed", "", false});
  return plan;
}

TEST_F(ServeTest, AReloadWithNoUsableRowKeepsTheOldPlan) {
  const auto ok = origin_->url("/ok");
  std::atomic<int> loads{0};
  Exporter e(quick(), [&] { return loads++ == 0 ? make_plan({ok}) : unusable_plan(); });
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
  e.server().reload();
  ASSERT_TRUE(eventually([&] { return e.logged("reload failed"); })) << e.log();
  EXPECT_TRUE(e.logged("sheet.csv:2:1")) << e.log();
  const auto before = e.sweeps();
  ASSERT_TRUE(e.wait_sweeps(before + 1)) << e.log();
  const auto page = get(e.port(), "/metrics").body;
  EXPECT_TRUE(has_line_starting(page, "urlprobe_probe_success{url=\"" + ok + "\"")) << page;
}

TEST(ServeStart, ABadListenAddressIsRefusedNamingTheOption) {
  ServeOptions options;
  options.listen = "nonsense";
  try {
    Server server(
        options, [] { return make_plan({"http://127.0.0.1:1/"}); }, [](std::string_view) {});
    ADD_FAILURE() << "--listen nonsense was accepted";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("--listen 'nonsense'"));
  }
}

TEST(ServeStart, ASheetWithNoUsableRowIsRefusedNamingTheRow) {
  ServeOptions options;
  options.listen = "127.0.0.1:0";
  try {
    Server server(options, unusable_plan, [](std::string_view) {});
    ADD_FAILURE() << "a sheet with no usable row was accepted";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("sheet.csv:2:1"));
  }
}

TEST(ServeStart, RowsSkippedAtStartAreLogged) {
  ServeOptions options;
  options.listen = "127.0.0.1:0";
  std::vector<std::string> log;
  Plan plan = unusable_plan();
  plan.input.targets.push_back(target_for("http://127.0.0.1:1/"));
  Server server(
      options, [&] { return plan; }, [&](std::string_view line) { log.emplace_back(line); });
  EXPECT_THAT(log, ::testing::Contains(HasSubstr("sheet.csv:2:1")));
}

// --- stop -----------------------------------------------------------------------------------

TEST_F(ServeTest, StopWhileAProbeIsInFlightAnswersItAndReturns) {
  Exporter e(quick(), [&] { return make_plan({origin_->url("/ok")}); });
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
  auto in_flight = std::async(std::launch::async,
                              [&] { return get(e.port(), probe_of(origin_->url("/hold/stop"))); });
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  EXPECT_TRUE(e.stop_and_wait()) << "run() did not return after stop()";
  ASSERT_EQ(in_flight.wait_for(kWait), std::future_status::ready);
  const auto answer = in_flight.get();
  // The origin never answers, so the probe is cut at half the grace period. Its client hears
  // that there is no verdict (503), not a "timeout" blaming the target, before the close.
  EXPECT_EQ(answer.status, 503) << answer.head;
  EXPECT_THAT(answer.body, HasSubstr("no verdict"));
  EXPECT_FALSE(has_line_starting(answer.body, "probe_success")) << answer.body;
  EXPECT_THAT(answer.head, HasSubstr("Connection: close"));
  EXPECT_TRUE(e.logged("stopping")) << e.log();
}

TEST_F(ServeTest, AProbeThatEndsWithinTheGracePeriodGivesItsRealAnswer) {
  auto options = quick();
  options.shutdown_grace = 2 * kWait;  // the probe is cut at kWait: past the hang guard
  Exporter e(options, [&] { return make_plan({origin_->url("/ok")}); });
  ASSERT_TRUE(e.wait_sweeps(1)) << e.log();
  auto in_flight = std::async(std::launch::async,
                              [&] { return get(e.port(), probe_of(origin_->url("/hold/late"))); });
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  e.server().stop();
  ASSERT_TRUE(eventually([&] { return e.logged("stopping"); })) << e.log();
  release();
  ASSERT_EQ(in_flight.wait_for(kWait), std::future_status::ready);
  const auto answer = in_flight.get();
  EXPECT_EQ(answer.status, 200) << answer.head;
  EXPECT_TRUE(has_line_starting(answer.body, "probe_success 1")) << answer.body;
  EXPECT_TRUE(e.stop_and_wait()) << "run() did not return once the last probe answered";
}

TEST_F(ServeTest, StopBeforeTheFirstSweepEndsReturns) {
  Exporter e(quick(), [&] { return make_plan({origin_->url("/hold/first")}); });
  ASSERT_TRUE(eventually([&] { return origin_->held() >= 1; }));
  EXPECT_TRUE(e.stop_and_wait()) << "run() did not return after stop()";
  // An interrupted sweep is never served.
  EXPECT_FALSE(e.logged("sweep 1 done")) << e.log();
}

TEST(ServeListen, BadAddressesAreRefused) {
  EXPECT_THROW(parse_listen("nonsense"), std::invalid_argument);
  EXPECT_THROW(parse_listen("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(parse_listen("[::1"), std::invalid_argument);
  EXPECT_EQ(parse_listen(":9815").port, 9815);
  EXPECT_EQ(parse_listen("[::1]:80").host, "::1");
}

}  // namespace
}  // namespace urlprobe::serve
