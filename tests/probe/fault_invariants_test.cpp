// Randomized fault injection through the real Sweep: origins on 127.0.0.1-4 that misbehave in
// many of the ways a server can (resets at accept or mid-response, silence, slow bytes, garbage,
// TLS garbage, huge headers, untrusted certificates, next to working ones), probed directly and
// through a CONNECT/forwarding proxy that fails on a random share of its connections. Whatever
// happens on the wire, DESIGN's invariants must hold: exactly one result per probe, no outcome
// that the fault cannot explain (a broken origin is never `ok`), results that survive the JSONL
// writer and reader unchanged, and summary counts that add up. The same faults, unhurried, each
// give their own outcome; interrupted part-way, each started probe has one result; and a sweep
// leaves no file descriptor open behind it.
//
// Every randomized test prints its seed on stdout, pass or fail, and URLPROBE_TEST_SEED=N replays
// it (URLPROBE_FAULT_SEED, the older name, still works); URLPROBE_FAULT_PROBES=N sets the number of
// probes (default 100000, or 10000 in builds with sanitizers or assertions, which are several times
// slower); URLPROBE_FAULT_VERBOSE=1 prints the outcomes seen for each fault.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "probe/sweep.hpp"
#include "report/read.hpp"
#include "report/writer.hpp"
#include "route/proxy.hpp"
#include "route/route.hpp"
#include "sheet/url.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::probe {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using test::tcp;
using Rng = std::mt19937_64;

// Short deadlines, so that the silent faults cost little; a probe that the load slows past its
// deadline is a `timeout` (or `connect_timeout`), which every fault admits: no invariant depends
// on timing. Builds with sanitizers or assertions are several times slower: fewer probes, fewer
// at once (a server that cannot keep up turns every answer into a timeout) and longer deadlines.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(NDEBUG)
constexpr std::size_t kDefaultProbes = 10000, kConcurrency = 100;
constexpr milliseconds kProbeTimeout{1000};
#else
constexpr std::size_t kDefaultProbes = 100000, kConcurrency = 300;
constexpr milliseconds kProbeTimeout{400};
#endif
constexpr int kOriginAddresses = 4;  // 127.0.0.1-4: targets spread over hosts, so over workers

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// The seed of one randomized test: URLPROBE_TEST_SEED (or URLPROBE_FAULT_SEED) to replay a run,
// else `fresh`. Printed whatever the verdict: a run that fails only in a CI log, or that passes
// by luck, can then be replayed. Unset when the variable is not a number (the failure says so).
std::optional<std::uint64_t> test_seed(std::uint64_t fresh) {
  for (const char* name : {"URLPROBE_TEST_SEED", "URLPROBE_FAULT_SEED"}) {
    const char* text = std::getenv(name);
    if (!text || !*text) continue;
    std::uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(text, text + std::strlen(text), seed);
    if (ec != std::errc{} || *end != '\0') {
      ADD_FAILURE() << name << "=" << text << ": not a seed (an unsigned 64-bit number)";
      return std::nullopt;
    }
    std::printf("[   SEED   ] URLPROBE_TEST_SEED=%" PRIu64 " (from %s)\n", seed, name);
    std::fflush(stdout);
    return seed;
  }
  std::printf("[   SEED   ] URLPROBE_TEST_SEED=%" PRIu64 "\n", fresh);
  std::fflush(stdout);
  return fresh;
}

// --- the faults --------------------------------------------------------------------------------

enum class Fault : std::uint8_t {
  reset_at_accept,     // RST before a byte is exchanged
  close_at_accept,     // FIN before a byte is exchanged
  never_answer,        // reads whatever comes, never writes
  garbage,             // random bytes at once, then FIN
  reset_mid_response,  // part of a valid header, then RST
  close_mid_header,    // part of a valid header, then FIN
  slow_bytes,          // a valid 200 in pieces of a few bytes, a millisecond apart
  http_200,
  http_500,
  huge_header,  // a header past the 32 KiB limit
  tls_reset_in_handshake,
  tls_silent_after_handshake,
  tls_200,
  tls_500,
  tls_untrusted,  // a certificate from a CA the client does not trust
};

struct FaultKind {
  Fault fault;
  const char* name;
  unsigned weight;                 // how often targets get it, relative to the others
  bool http, https;                // the target schemes it is used with
  std::set<Outcome> direct_http;   // what a direct probe may end in (besides timeout)
  std::set<Outcome> direct_https;  // the same for an https target
};

const std::vector<FaultKind>& fault_kinds() {
  using enum Outcome;
  static const std::vector<FaultKind> kinds{
      // A reset that overtakes the client's view of its own connect is a refused connection.
      {Fault::reset_at_accept,
       "reset_at_accept",
       4,
       true,
       true,
       {http_error, connect_refused},
       {tls_error, connect_refused}},
      {Fault::close_at_accept, "close_at_accept", 4, true, true, {http_error}, {tls_error}},
      {Fault::never_answer, "never_answer", 1, true, true, {}, {}},
      {Fault::garbage, "garbage", 4, true, true, {http_error}, {tls_error}},
      {Fault::reset_mid_response, "reset_mid_response", 4, true, false, {http_error}, {}},
      {Fault::close_mid_header, "close_mid_header", 4, true, false, {http_error}, {}},
      {Fault::slow_bytes, "slow_bytes", 4, true, false, {ok}, {}},
      {Fault::http_200, "http_200", 4, true, false, {ok}, {}},
      {Fault::http_500, "http_500", 4, true, false, {unexpected_status}, {}},
      {Fault::huge_header, "huge_header", 4, true, false, {http_error}, {}},
      {Fault::tls_reset_in_handshake, "tls_reset_in_handshake", 4, false, true, {}, {tls_error}},
      {Fault::tls_silent_after_handshake, "tls_silent_after_handshake", 1, false, true, {}, {}},
      {Fault::tls_200, "tls_200", 4, false, true, {}, {ok}},
      {Fault::tls_500, "tls_500", 4, false, true, {}, {unexpected_status}},
      {Fault::tls_untrusted, "tls_untrusted", 4, false, true, {}, {tls_untrusted}},
  };
  return kinds;
}

// What a probe through the proxy may end in besides its origin's outcomes: the proxy's own
// failures (it fails on purpose on a share of its connections) and a timeout.
const std::set<Outcome> kProxyOutcomes{Outcome::proxy_error, Outcome::proxy_auth_required,
                                       Outcome::proxy_denied, Outcome::proxy_unreachable};

const std::string kValid200 = test::http_response(200, "OK");

std::string random_bytes(Rng& rng, std::size_t n) {
  std::string bytes(n, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
  return bytes;
}

asio::awaitable<void> pause(tcp::socket& socket, milliseconds delay) {
  asio::steady_timer timer(socket.get_executor(), delay);
  co_await timer.async_wait(asio::use_awaitable);
}

// Every origin behaviour runs on the origins' server thread, which owns `rng`.
struct OriginFaults {
  Rng& rng;
  asio::ssl::context& trusted;
  asio::ssl::context& untrusted;

  asio::awaitable<void> serve(Fault fault, tcp::socket& socket) {
    switch (fault) {
      case Fault::reset_at_accept:
        test::reset(socket);
        co_return;
      case Fault::close_at_accept:
        socket.shutdown(tcp::socket::shutdown_both);
        socket.close();
        co_return;
      case Fault::never_answer:
        co_await test::drain(socket);
        co_return;
      case Fault::garbage:
        co_await test::write_text(socket, random_bytes(rng, 1 + rng() % 512));
        socket.shutdown(tcp::socket::shutdown_send);
        co_await test::drain(socket);
        co_return;
      case Fault::reset_mid_response:
        co_await test::read_request(socket);
        co_await test::write_text(socket, kValid200.substr(0, rng() % header_size()));
        test::reset(socket);
        co_return;
      case Fault::close_mid_header:
        co_await test::read_request(socket);
        co_await test::write_text(socket, kValid200.substr(0, 1 + rng() % (header_size() - 2)));
        socket.shutdown(tcp::socket::shutdown_send);
        co_await test::drain(socket);
        co_return;
      case Fault::slow_bytes:
        co_await test::read_request(socket);
        for (std::size_t sent = 0; sent < kValid200.size();) {
          const std::size_t piece = std::min<std::size_t>(1 + rng() % 8, kValid200.size() - sent);
          co_await pause(socket, milliseconds(rng() % 2));
          co_await asio::async_write(socket, asio::buffer(kValid200.data() + sent, piece),
                                     asio::use_awaitable);
          sent += piece;
        }
        co_await test::drain(socket);
        co_return;
      case Fault::http_200:
        co_await test::http_answer(socket, kValid200);
        co_return;
      case Fault::http_500:
        co_await test::http_answer(socket, test::http_response(500, "Internal Server Error"));
        co_return;
      case Fault::huge_header:
        co_await test::http_answer(
            socket, "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(40000, 'a') + "\r\n\r\n");
        co_return;
      case Fault::tls_reset_in_handshake: {
        std::array<char, 64> some;
        co_await socket.async_read_some(asio::buffer(some), asio::use_awaitable);
        test::reset(socket);
        co_return;
      }
      case Fault::tls_silent_after_handshake: {
        asio::ssl::stream<tcp::socket&> tls(socket, trusted);
        co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
        co_await test::drain(tls);
        co_return;
      }
      case Fault::tls_200:
        co_await test::tls_answer(socket, trusted, kValid200);
        co_return;
      case Fault::tls_500:
        co_await test::tls_answer(socket, trusted, test::http_response(500, "Oops"));
        co_return;
      case Fault::tls_untrusted:
        co_await test::tls_answer(socket, untrusted, kValid200);
        co_return;
    }
  }

  static std::size_t header_size() { return kValid200.find("\r\n\r\n") + 4; }
};

// "CONNECT 127.0.0.3:4567 HTTP/1.1" or "GET http://127.0.0.3:4567/f/1 HTTP/1.1" -> the endpoint.
tcp::endpoint requested_endpoint(const std::string& head) {
  const auto start = head.find(' ') + 1;
  auto authority = head.substr(start, head.find(' ', start) - start);
  if (const auto scheme = authority.find("://"); scheme != std::string::npos)
    authority = authority.substr(scheme + 3, authority.find('/', scheme + 3) - scheme - 3);
  const auto colon = authority.rfind(':');
  return {asio::ip::make_address(authority.substr(0, colon)),
          static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1)))};
}

// A CONNECT and forwarding proxy that works for about three connections in four and otherwise
// fails in one of the ways egress proxies do.
asio::awaitable<void> faulty_proxy(tcp::socket& client, Rng& rng) {
  const auto pick = rng() % 100;
  const std::string head = co_await test::read_request(client);
  if (pick < 3) {
    test::reset(client);
    co_return;
  }
  auto reply_and_hold = [&](std::string reply) -> asio::awaitable<void> {
    co_await test::write_text(client, std::move(reply));
    co_await test::drain(client);
  };
  if (pick < 6) {
    co_await test::drain(client);  // never answers
  } else if (pick < 9) {
    co_await test::write_text(client, random_bytes(rng, 1 + rng() % 256));
    client.shutdown(tcp::socket::shutdown_send);
    co_await test::drain(client);
  } else if (pick < 13) {
    co_await reply_and_hold(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
        "realm=\"faults\"\r\nContent-Length: 0\r\n\r\n");
  } else if (pick < 16) {
    co_await reply_and_hold(
        "HTTP/1.1 403 Forbidden\r\nProxy-Status: faults; error=destination_ip_prohibited\r\n"
        "Content-Length: 0\r\n\r\n");
  } else if (pick < 20) {
    co_await reply_and_hold(
        "HTTP/1.1 502 Bad Gateway\r\nProxy-Status: faults; error=destination_unavailable\r\n"
        "Content-Length: 0\r\n\r\n");
  } else if (pick < 23) {
    client.shutdown(tcp::socket::shutdown_send);  // closes before any reply
    co_await test::drain(client);
  } else {
    tcp::socket upstream(client.get_executor());
    co_await upstream.async_connect(requested_endpoint(head), asio::use_awaitable);
    upstream.set_option(tcp::no_delay(true));
    if (head.starts_with("CONNECT "))
      co_await test::write_text(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    else
      co_await asio::async_write(upstream, asio::buffer(head), asio::use_awaitable);
    co_await test::splice(client, client, upstream);
  }
}

// --- the harness -------------------------------------------------------------------------------

using test::ServerThread;

std::string all_origin_addresses() {
  std::string sans;
  for (int a = 1; a <= kOriginAddresses; ++a)
    sans += (a > 1 ? ",IP:127.0.0." : "IP:127.0.0.") + std::to_string(a);
  return sans;
}

// The servers, each fault on every origin address, and the proxy on 127.0.0.1.
class FaultyNetwork {
 public:
  explicit FaultyNetwork(std::uint64_t seed)
      : origin_rng_(seed ^ 0x5eed5eed5eedull),
        proxy_rng_(seed ^ 0x9e3779b97f4a7c15ull),
        trusted_cert_(test::CertSpec{.subject_alt_names = all_origin_addresses()}),
        untrusted_cert_(test::CertSpec{.subject_alt_names = all_origin_addresses()}),
        trusted_(trusted_cert_.server_context()),
        untrusted_(untrusted_cert_.server_context()),
        faults_{origin_rng_, *trusted_, *untrusted_} {
    origin_thread_.call([this] {
      for (const auto& kind : fault_kinds())
        for (int a = 1; a <= kOriginAddresses; ++a)
          origins_[{kind.fault, a}] = std::make_unique<test::TestServer>(
              origin_thread_.io,
              [this, fault = kind.fault](tcp::socket& s) { return faults_.serve(fault, s); },
              test::loopback(a));
    });
    proxy_thread_.call([this] {
      proxy_ = std::make_unique<test::TestServer>(
          proxy_thread_.io, [this](tcp::socket& s) { return faulty_proxy(s, proxy_rng_); });
    });
  }
  ~FaultyNetwork() { stop(); }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    origin_thread_.call([this] {
      for (auto& [key, server] : origins_) server->stop();
    });
    proxy_thread_.call([this] { proxy_->stop(); });
    origin_thread_.stop();
    proxy_thread_.stop();
    proxy_connections_ = proxy_->accepted();
    origins_.clear();
    proxy_.reset();
  }

  std::string url(Fault fault, int address, bool https, std::size_t id) const {
    return origins_.at({fault, address})->url(https ? "https" : "http", "/f/" + std::to_string(id));
  }
  std::string proxy_url() const { return proxy_->url("http", ""); }
  const std::string& trusted_ca() const { return trusted_cert_.ca_file(); }
  std::size_t proxy_connections() const { return proxy_ ? proxy_->accepted() : proxy_connections_; }

 private:
  Rng origin_rng_, proxy_rng_;  // each used by its server thread only
  test::SelfSignedCert trusted_cert_, untrusted_cert_;
  std::unique_ptr<asio::ssl::context> trusted_, untrusted_;
  OriginFaults faults_;
  std::map<std::pair<Fault, int>, std::unique_ptr<test::TestServer>> origins_;
  std::unique_ptr<test::TestServer> proxy_;
  bool stopped_ = false;
  std::size_t proxy_connections_ = 0;
  // Last, so destroyed first: the server coroutines still pending in their event loops refer to
  // the TLS contexts and the PRNGs above. The proxy has a thread of its own: it relays every
  // byte of its tunnels, and one thread for everything would be the test's bottleneck.
  ServerThread origin_thread_, proxy_thread_;
};

// What one sweep planned: targets with the fault behind each, and the two routes.
struct Plan {
  std::vector<sheet::Target> targets;
  std::vector<const FaultKind*> kind_of;  // by target
  std::vector<route::Route> routes;       // direct, then the faulty proxy (route cli)
};

Plan make_plan(const FaultyNetwork& network, std::uint64_t seed, std::size_t probes) {
  Plan plan;
  plan.routes.push_back(route::direct_route());
  auto proxy = route::parse_proxy_spec(network.proxy_url());
  plan.routes.push_back(route::proxy_route(route::Method::cli, std::get<route::ProxySpec>(proxy)));

  Rng rng(seed);
  const auto& kinds = fault_kinds();
  // The silent faults are rarer: each holds a slot for a whole deadline.
  std::vector<unsigned> weights;
  for (const auto& kind : kinds) weights.push_back(kind.weight);
  std::discrete_distribution<std::size_t> pick_kind(weights.begin(), weights.end());
  const std::size_t target_count = (probes + plan.routes.size() - 1) / plan.routes.size();
  for (std::size_t i = 0; i < target_count; ++i) {
    const auto& kind = kinds[pick_kind(rng)];
    const bool https = kind.http && kind.https ? rng() % 2 == 0 : kind.https;
    const int address = 1 + static_cast<int>(rng() % kOriginAddresses);
    auto parsed = sheet::parse_target_url(network.url(kind.fault, address, https, i));
    plan.targets.push_back(std::get<sheet::Target>(std::move(parsed)));
    plan.kind_of.push_back(&kind);
  }
  return plan;
}

SweepConfig fault_sweep_config(const FaultyNetwork& network, std::size_t concurrency) {
  SweepConfig config;
  config.threads = 2;
  config.concurrency = concurrency;
  config.probe.timeouts = Timeouts::derived_from(kProbeTimeout);
  std::string error;
  EXPECT_TRUE(parse_status_expectation("200-399", config.probe.expect, error)) << error;
  config.tls.ca_file = network.trusted_ca();
  config.tls.public_roots = network.trusted_ca();
  return config;
}

// Probes in flight, within the open-file limit: each one may hold four descriptors in this
// process (the probe's socket, the proxy's two, the origin's one). The soft limit is raised to
// the hard one first, as urlprobe itself does.
std::size_t affordable_concurrency(std::size_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 64;
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return wanted;
  const auto spare = static_cast<rlim_t>(256);
  return limit.rlim_cur <= spare + 4 * 8
             ? 8
             : std::min<std::size_t>(wanted, (limit.rlim_cur - spare) / 4);
}

// Counts each result and writes it through the JSONL writer, as urlprobe's own sink does.
class RecordingSink : public ResultSink {
 public:
  RecordingSink(std::uint64_t planned, std::FILE* jsonl, std::span<const route::Route> routes)
      : count(planned, 0),
        outcome(planned, Outcome::skipped),
        detail(planned),
        writer_(report::make_writer(report::Format::jsonl, jsonl, probe::route_columns(routes))) {}

  void on_result(const Result& r) override {
    summary.add(r);
    if (r.sweep_index < count.size()) {
      ++count[r.sweep_index];
      outcome[r.sweep_index] = r.outcome;
      detail[r.sweep_index] = r.detail;
    } else {
      ++out_of_range;
    }
    writer_->write(r);
    if (on_each) on_each(summary.finished);
  }
  void finish() { writer_->finish(summary); }

  std::vector<std::uint32_t> count;  // by sweep index
  std::vector<Outcome> outcome;      // by sweep index
  std::vector<std::string> detail;   // by sweep index, for failure messages
  std::uint64_t out_of_range = 0;
  report::Summary summary;
  std::function<void(std::uint64_t finished)> on_each;

 private:
  std::unique_ptr<report::ResultWriter> writer_;
};

class TempFile {
 public:
  TempFile() {
    std::string pattern = "/tmp/urlprobe-faults-XXXXXX.jsonl";
    const int fd = ::mkstemps(pattern.data(), 6);
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    path_ = pattern;
    file_ = ::fdopen(fd, "w");
  }
  ~TempFile() {
    if (file_) std::fclose(file_);
    std::remove(path_.c_str());
  }
  std::FILE* file() { return file_; }
  std::string close_and_read() {
    std::fclose(file_);
    file_ = nullptr;
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

std::string key_text(std::string_view url, route::Method method, std::string_view proxy) {
  return std::string(url) + "\n" + std::string(route::method_name(method)) + "\n" +
         std::string(proxy);
}

std::uint64_t count_open_files() {
  std::uint64_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

// --- the tests ---------------------------------------------------------------------------------

// affordable_concurrency() raises the soft open-file limit, as urlprobe does; the tests after
// these in the binary get the limit back, however a test ends.
class FaultInvariants : public ::testing::Test {
 private:
  test::FileLimitGuard file_limit_;
};

// The seed is what makes a failure here worth anything: it is on stdout even when the test
// passes, and the environment replays it under either name.
TEST_F(FaultInvariants, SeedIsPrintedAlwaysAndReplayedFromTheEnvironment) {
  struct SavedEnv {
    std::string name;
    std::optional<std::string> value;
    explicit SavedEnv(std::string n) : name(std::move(n)) {
      if (const char* v = std::getenv(name.c_str())) value = v;
      unsetenv(name.c_str());
    }
    ~SavedEnv() {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  } test_seed_env("URLPROBE_TEST_SEED"), fault_seed_env("URLPROBE_FAULT_SEED");
  const auto seed_printed = [](std::uint64_t fresh) {
    ::testing::internal::CaptureStdout();
    const auto seed = test_seed(fresh);
    return std::make_pair(seed, ::testing::internal::GetCapturedStdout());
  };

  auto [fresh, printed] = seed_printed(123456789);
  EXPECT_EQ(fresh, 123456789u);
  EXPECT_NE(printed.find("URLPROBE_TEST_SEED=123456789"), std::string::npos) << printed;

  setenv("URLPROBE_FAULT_SEED", "77", 1);
  std::tie(fresh, printed) = seed_printed(1);
  EXPECT_EQ(fresh, 77u) << "the older name still replays";
  EXPECT_NE(printed.find("URLPROBE_TEST_SEED=77"), std::string::npos) << printed;

  setenv("URLPROBE_TEST_SEED", "18446744073709551615", 1);
  std::tie(fresh, printed) = seed_printed(1);
  EXPECT_EQ(fresh, 18446744073709551615u) << "the new name wins, all 64 bits of it";
  EXPECT_NE(printed.find("URLPROBE_TEST_SEED=18446744073709551615"), std::string::npos);

  setenv("URLPROBE_TEST_SEED", "12abc", 1);
  std::optional<std::uint64_t> bad;
  EXPECT_NONFATAL_FAILURE(bad = test_seed(1), "URLPROBE_TEST_SEED=12abc: not a seed");
  EXPECT_FALSE(bad.has_value()) << "a typo must not run some other seed";
}

// A test that changes the open-file limit and then fails an ASSERT still gives it back.
void lower_the_file_limit_then_fail_fatally() {
  const test::FileLimitGuard guard;
  ASSERT_TRUE(guard.saved());
  rlimit lowered = guard.limit();
  lowered.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  FAIL() << "a fatal failure while the limit is lowered";
}

TEST_F(FaultInvariants, FileLimitIsRestoredEvenWhenAnAssertionFails) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  ASSERT_GT(before.rlim_cur, rlim_t{64}) << "this machine's limit is already below the test's";
  EXPECT_FATAL_FAILURE(lower_the_file_limit_then_fail_fatally(), "while the limit is lowered");
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
  EXPECT_EQ(after.rlim_max, before.rlim_max);
}

TEST_F(FaultInvariants, EveryProbeOneExplainedResultThatSurvivesJsonlAndAddsUp) {
  const auto chosen = test_seed(std::random_device{}());
  ASSERT_TRUE(chosen.has_value());
  const std::uint64_t seed = *chosen;
  const std::size_t probes = env_number("URLPROBE_FAULT_PROBES", kDefaultProbes);
  SCOPED_TRACE("URLPROBE_TEST_SEED=" + std::to_string(seed) +
               " URLPROBE_FAULT_PROBES=" + std::to_string(probes));
  ASSERT_GE(probes, 2u);

  FaultyNetwork network(seed);
  const Plan plan = make_plan(network, seed, probes);
  const auto config = fault_sweep_config(network, affordable_concurrency(kConcurrency));
  TempFile jsonl;
  const std::uint64_t planned = plan.targets.size() * plan.routes.size();
  RecordingSink sink(planned, jsonl.file(), plan.routes);
  Sweep sweep(config, plan.targets, plan.routes, sink);
  ASSERT_EQ(sweep.planned(), planned);
  const SweepStats stats = sweep.run();
  network.stop();
  sink.summary.planned = stats.planned;
  sink.finish();

  // Exactly one result per probe, as the sweep delivered them.
  EXPECT_FALSE(stats.interrupted);
  EXPECT_EQ(sink.out_of_range, 0u);
  EXPECT_EQ(stats.planned, planned);
  EXPECT_EQ(stats.finished, planned);
  EXPECT_EQ(sweep.finished(), planned);
  std::size_t missing = 0, doubled = 0;
  for (std::uint64_t i = 0; i < planned; ++i) {
    missing += sink.count[i] == 0;
    doubled += sink.count[i] > 1;
  }
  EXPECT_EQ(missing, 0u) << "probes without a result";
  EXPECT_EQ(doubled, 0u) << "probes with more than one result";

  // Every outcome is one that the fault behind it explains.
  std::map<std::string, std::map<Outcome, std::size_t>> seen;  // "fault scheme route" -> outcomes
  std::map<std::string, std::string> example_detail;
  std::size_t unexplained = 0;
  for (std::uint64_t i = 0; i < planned; ++i) {
    const auto target = static_cast<std::size_t>(i / plan.routes.size());
    const bool through_proxy = i % plan.routes.size() == 1;
    const auto& kind = *plan.kind_of[target];
    const bool https = plan.targets[target].scheme == "https";
    auto allowed = https ? kind.direct_https : kind.direct_http;
    // A probe that the load (this test's, or the machine's) holds up past its deadline.
    allowed.insert({Outcome::timeout, Outcome::connect_timeout});
    if (through_proxy) allowed.insert(kProxyOutcomes.begin(), kProxyOutcomes.end());
    const auto outcome = sink.outcome[i];
    const auto group = std::string(kind.name) + (https ? " https" : " http") +
                       (through_proxy ? " via proxy" : " direct");
    ++seen[group][outcome];
    example_detail.try_emplace(group, sink.detail[i]);
    example_detail.try_emplace(group + " " + std::string(outcome_name(outcome)), sink.detail[i]);
    if (!allowed.contains(outcome) && ++unexplained <= 10)
      ADD_FAILURE() << plan.targets[target].url << (through_proxy ? " via proxy" : " direct")
                    << " (fault " << kind.name << "): outcome " << outcome_name(outcome) << ": "
                    << sink.detail[i];
  }
  EXPECT_EQ(unexplained, 0u) << "results whose outcome the fault does not explain";

  EXPECT_GT(network.proxy_connections(), 0u);
  if (env_number("URLPROBE_FAULT_VERBOSE", 0))
    for (const auto& [group, outcomes] : seen) {
      std::printf("%-44s", group.c_str());
      for (const auto& [outcome, n] : outcomes)
        std::printf(" %s=%zu (%s)", std::string(outcome_name(outcome)).c_str(), n,
                    example_detail[group + " " + std::string(outcome_name(outcome))].c_str());
      std::printf("\n");
    }

  // The JSONL file reads back into the same results, each key once.
  const std::string text = jsonl.close_and_read();
  const auto read = report::read_results(text, jsonl.path());
  EXPECT_TRUE(read.errors.empty())
      << read.errors.size()
      << " unreadable lines, the first: " << (read.errors.empty() ? "" : read.errors[0].message);
  ASSERT_EQ(read.results.size(), planned);
  std::unordered_map<std::string, std::uint64_t> index_of;
  for (std::uint64_t i = 0; i < planned; ++i) {
    const auto& target = plan.targets[static_cast<std::size_t>(i / plan.routes.size())];
    const auto& route = plan.routes[static_cast<std::size_t>(i % plan.routes.size())];
    index_of.emplace(
        key_text(target.url, route.method, route.for_https ? route.for_https->redacted() : ""), i);
  }
  ASSERT_EQ(index_of.size(), planned) << "the plan's keys are not distinct";
  std::vector<std::uint8_t> read_count(planned, 0);
  std::array<std::uint64_t, kOutcomeCount> read_by_outcome{};
  std::size_t mismatches = 0;
  for (const auto& r : read.results) {
    const auto it = index_of.find(key_text(r.url, r.route, r.proxy));
    if (it == index_of.end()) {
      if (++mismatches <= 10) ADD_FAILURE() << "a record for no planned probe: " << r.url;
      continue;
    }
    ++read_count[it->second];
    ++read_by_outcome[static_cast<std::size_t>(r.outcome)];
    if (r.outcome != sink.outcome[it->second] && ++mismatches <= 10)
      ADD_FAILURE() << r.url << ": read back as " << outcome_name(r.outcome) << ", delivered as "
                    << outcome_name(sink.outcome[it->second]);
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(std::count(read_count.begin(), read_count.end(), 1), static_cast<long>(planned))
      << "keys missing or repeated in the JSONL file";

  // The summary adds up, the same from the sweep, the sink and the file.
  std::uint64_t total = 0;
  for (std::size_t o = 0; o < kOutcomeCount; ++o) {
    SCOPED_TRACE(std::string("outcome ") + std::string(outcome_name(static_cast<Outcome>(o))));
    total += sink.summary.by_outcome[o];
    EXPECT_EQ(sink.summary.by_outcome[o], stats.by_outcome[o]);
    EXPECT_EQ(read_by_outcome[o], stats.by_outcome[o]);
  }
  EXPECT_EQ(total, planned);
  EXPECT_EQ(sink.summary.finished, planned);
  // The text summary's outcome lines, as a person reads them, add up to the probe count.
  const std::string summary = report::summary_text(sink.summary);
  std::uint64_t listed = 0;
  const std::regex line(R"(^  ([a-z_]+) +([0-9]+)$)");
  std::istringstream lines(summary);
  for (std::string l; std::getline(lines, l);)
    if (std::smatch m; std::regex_match(l, m, line)) listed += std::stoull(m[2]);
  EXPECT_EQ(listed, planned) << summary;
}

// The faults are real: unhurried (a few probes at a time, a long deadline), every fault that
// answers at all gives exactly its own outcome. Without this, a server that only ever hung would
// pass the randomized test above on timeouts.
TEST_F(FaultInvariants, EachFaultUnhurriedEndsInItsOwnOutcome) {
  const auto seed = test_seed(1);  // the outcomes do not depend on it: a fixed default
  ASSERT_TRUE(seed.has_value());
  FaultyNetwork network(*seed);
  Plan plan;
  plan.routes.push_back(route::direct_route());
  std::size_t id = 0;
  for (const auto& kind : fault_kinds())
    for (const bool https : {false, true}) {
      if (!(https ? kind.https : kind.http) ||
          (https ? kind.direct_https : kind.direct_http).empty())
        continue;
      for (int address = 1; address <= kOriginAddresses; ++address) {
        auto parsed = sheet::parse_target_url(network.url(kind.fault, address, https, ++id));
        plan.targets.push_back(std::get<sheet::Target>(std::move(parsed)));
        plan.kind_of.push_back(&kind);
      }
    }
  auto config = fault_sweep_config(network, 4);
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(20));  // a hang guard
  TempFile jsonl;
  RecordingSink sink(plan.targets.size(), jsonl.file(), plan.routes);
  Sweep sweep(config, plan.targets, plan.routes, sink);
  const auto stats = sweep.run();
  network.stop();
  ASSERT_EQ(stats.finished, plan.targets.size());
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    const auto& kind = *plan.kind_of[i];
    const bool https = plan.targets[i].scheme == "https";
    EXPECT_TRUE((https ? kind.direct_https : kind.direct_http).contains(sink.outcome[i]))
        << plan.targets[i].url << " (fault " << kind.name << "): " << outcome_name(sink.outcome[i])
        << ": " << sink.detail[i];
  }
}

// The same faults, interrupted part-way as SIGINT does: the probes that started each have one
// result (in flight ones as `timeout` "interrupted"), nothing else starts, the counts add up.
TEST_F(FaultInvariants, InterruptPartWayLeavesOneResultPerStartedProbe) {
  const auto chosen = test_seed(std::random_device{}());
  ASSERT_TRUE(chosen.has_value());
  const std::uint64_t seed = *chosen;
  SCOPED_TRACE("URLPROBE_TEST_SEED=" + std::to_string(seed));
  FaultyNetwork network(seed);
  const Plan plan = make_plan(network, seed, 4000);
  const auto config = fault_sweep_config(network, affordable_concurrency(kConcurrency / 2));
  TempFile jsonl;
  const std::uint64_t planned = plan.targets.size() * plan.routes.size();
  RecordingSink sink(planned, jsonl.file(), plan.routes);
  Sweep sweep(config, plan.targets, plan.routes, sink);
  const std::uint64_t interrupt_at = 1 + Rng(seed)() % (planned / 2);
  sink.on_each = [&](std::uint64_t finished) {
    if (finished == interrupt_at) sweep.interrupt();  // from a worker thread, as a signal might
  };
  const SweepStats stats = sweep.run();
  network.stop();
  sink.finish();

  EXPECT_TRUE(stats.interrupted);
  EXPECT_GE(stats.finished, interrupt_at);
  EXPECT_LT(stats.finished, planned) << "the interrupt did not stop the sweep";
  EXPECT_EQ(sink.out_of_range, 0u);
  std::uint64_t delivered = 0;
  for (std::uint64_t i = 0; i < planned; ++i) {
    EXPECT_LE(sink.count[i], 1u) << "sweep index " << i;
    delivered += sink.count[i];
  }
  EXPECT_EQ(delivered, stats.finished);
  std::uint64_t total = 0;
  for (std::size_t o = 0; o < kOutcomeCount; ++o) {
    total += stats.by_outcome[o];
    EXPECT_EQ(sink.summary.by_outcome[o], stats.by_outcome[o]);
  }
  EXPECT_EQ(total, stats.finished);
  const auto read = report::read_results(jsonl.close_and_read(), jsonl.path());
  EXPECT_TRUE(read.errors.empty());
  EXPECT_EQ(read.results.size(), stats.finished) << "every finished result is in the file";
}

// A sweep leaves no descriptor behind, whatever its probes met: sockets of failed, reset, timed
// out and interrupted probes, c-ares channels and event loops are all closed.
TEST_F(FaultInvariants, NoFileDescriptorLeaksAfterASweep) {
  const auto chosen = test_seed(std::random_device{}());
  ASSERT_TRUE(chosen.has_value());
  const std::uint64_t seed = *chosen;
  SCOPED_TRACE("URLPROBE_TEST_SEED=" + std::to_string(seed));
  auto one_sweep = [seed](std::uint64_t round) {
    FaultyNetwork network(seed + round);
    const Plan plan = make_plan(network, seed + round, 2000);
    const auto config = fault_sweep_config(network, affordable_concurrency(kConcurrency / 2));
    TempFile jsonl;
    RecordingSink sink(plan.targets.size() * plan.routes.size(), jsonl.file(), plan.routes);
    Sweep sweep(config, plan.targets, plan.routes, sink);
    const auto stats = sweep.run();
    EXPECT_EQ(stats.finished, stats.planned);
  };
  one_sweep(0);  // whatever a first sweep opens once per process (OpenSSL, c-ares) stays open
  const auto before = count_open_files();
  one_sweep(1);
  EXPECT_EQ(count_open_files(), before) << "descriptors leaked by a sweep";
}

}  // namespace
}  // namespace urlprobe::probe
