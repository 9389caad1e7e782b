// The scheduler against in-process origins on several loopback addresses: every probe index gets
// exactly one result, per-host limits hold as the origins see them, and interrupt() ends a sweep
// whose origins hang.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "probe/sweep.hpp"
#include "route/proxy.hpp"
#include "route/route.hpp"
#include "sheet/url.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::probe {
namespace {

using test::tcp;
using ::testing::HasSubstr;
namespace asio = boost::asio;

class CollectingSink : public ResultSink {
 public:
  void on_result(const Result& result) override {
    std::lock_guard lock(mutex_);
    results_.push_back(result);
  }
  std::vector<Result> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }

 private:
  std::mutex mutex_;
  std::vector<Result> results_;
};

using test::ServerThread;

// An origin that counts the probes it has open at once. A connection counts from its accept
// until the origin starts its answer: the probe is certainly still in flight all that time, so
// what the origin sees never exceeds what the sweep runs. To give a broken limit the chance to
// show, answers are held back until `hold_until` requests wait together, or until no new
// connection came for a moment (a batch is complete).
class CountingOrigin {
 public:
  CountingOrigin(asio::io_context& io, asio::ip::address address, std::size_t hold_until)
      : hold_until_(hold_until),
        idle_(io),
        server_(
            io, [this](tcp::socket& socket) { return serve(socket); }, address) {}

  std::string url(const std::string& path) const { return server_.url("http", path); }
  std::size_t accepted() const { return accepted_.load(); }
  std::size_t max_open() const { return max_open_.load(); }
  void stop() {
    idle_.cancel();
    server_.stop();
  }

 private:
  asio::awaitable<void> serve(tcp::socket& socket) {
    ++accepted_;
    max_open_ = std::max(max_open_.load(), ++open_);
    bool answered = false;
    try {
      co_await test::read_request(socket);
      held_.push_back({&socket, &answered});
      if (open_ >= hold_until_) {
        release();
      } else {
        idle_.expires_after(std::chrono::milliseconds(20));
        idle_.async_wait([this](boost::system::error_code ec) {
          if (!ec) release();
        });
      }
      co_await test::drain(socket);  // answered by release(), over when the probe closes
    } catch (const std::exception&) {
    }
    if (!answered) {
      --open_;
      std::erase_if(held_, [&](const Held& h) { return h.socket == &socket; });
    }
  }

  void release() {
    for (auto& held : held_) {
      *held.answered = true;
      --open_;
      boost::system::error_code ec;
      asio::write(*held.socket, asio::buffer(kResponse), ec);  // tiny: fits the socket buffer
    }
    held_.clear();
  }

  static constexpr std::string_view kResponse =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

  struct Held {
    tcp::socket* socket;
    bool* answered;
  };
  std::size_t hold_until_;
  asio::steady_timer idle_;
  std::vector<Held> held_;
  std::size_t open_ = 0;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> max_open_{0};
  test::TestServer server_;
};

sheet::Target target_for(const std::string& url) {
  auto parsed = sheet::parse_target_url(url);
  if (auto* target = std::get_if<sheet::Target>(&parsed)) return *target;
  throw std::runtime_error(url + ": " + std::get<sheet::UrlError>(parsed).message);
}

TEST(Sweep, EveryIndexGetsOneResultAndPerHostLimitHolds) {
  constexpr std::size_t kHosts = 5, kPerHost = 10, kLimit = 2;
  ServerThread servers;
  std::vector<std::unique_ptr<CountingOrigin>> origins;
  servers.call([&] {
    for (std::size_t h = 0; h < kHosts; ++h)
      origins.push_back(std::make_unique<CountingOrigin>(
          servers.io, test::loopback(static_cast<int>(h + 1)), kLimit + 1));
  });

  // Each host's targets in one run, as a sheet groups them: without the per-host limit a worker
  // would fill all its slots with the first host.
  std::vector<sheet::Target> targets;
  for (std::size_t i = 0; i < kHosts * kPerHost; ++i)
    targets.push_back(target_for(origins[i / kPerHost]->url("/item/" + std::to_string(i))));
  const std::vector<route::Route> routes{route::Route{}};

  SweepConfig config;
  config.threads = 2;
  config.concurrency = 8;
  config.per_host = kLimit;
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(10));
  CollectingSink sink;
  Sweep sweep(config, targets, routes, sink);
  EXPECT_EQ(sweep.planned(), targets.size());
  const SweepStats stats = sweep.run();
  servers.call([&] {
    for (auto& origin : origins) origin->stop();
  });
  servers.stop();

  const auto results = sink.results();
  ASSERT_EQ(results.size(), targets.size());
  std::vector<int> seen(targets.size(), 0);
  for (const auto& r : results) {
    ASSERT_LT(r.sweep_index, targets.size());
    ++seen[r.sweep_index];
    EXPECT_EQ(r.url, targets[r.sweep_index].url) << "index " << r.sweep_index;
    EXPECT_EQ(outcome_name(r.outcome), "ok") << r.url << ": " << r.detail;
    EXPECT_EQ(r.http_status, 200) << r.url;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "sweep index " << i;

  EXPECT_EQ(stats.planned, targets.size());
  EXPECT_EQ(stats.finished, targets.size());
  EXPECT_EQ(sweep.finished(), targets.size());
  EXPECT_EQ(stats.by_outcome[static_cast<std::size_t>(Outcome::ok)], targets.size());
  EXPECT_FALSE(stats.interrupted);

  for (std::size_t h = 0; h < kHosts; ++h) {
    SCOPED_TRACE("origin 127.0.0." + std::to_string(h + 1));
    EXPECT_EQ(origins[h]->accepted(), kPerHost) << "one connection per probe";
    EXPECT_GE(origins[h]->max_open(), 1u);
    EXPECT_LE(origins[h]->max_open(), kLimit) << "per_host was exceeded";
  }
}

// An origin that reads the request and never answers; it calls `on_request` for each.
class HangingOrigin {
 public:
  HangingOrigin(asio::io_context& io, asio::ip::address address, std::function<void()> on_request)
      : server_(
            io,
            [fn = std::move(on_request)](tcp::socket& socket) -> asio::awaitable<void> {
              co_await test::read_request(socket);
              fn();
              co_await test::drain(socket);
            },
            address) {}
  std::string url(const std::string& path) const { return server_.url("http", path); }
  std::size_t accepted() const { return server_.accepted(); }
  void stop() { server_.stop(); }

 private:
  test::TestServer server_;
};

TEST(Sweep, InterruptEndsHangingProbesAsTimeoutAndRunReturns) {
  constexpr std::size_t kConcurrency = 4, kTargets = 20;
  ServerThread servers;
  Sweep* sweep_ptr = nullptr;
  std::size_t requests = 0;  // server thread only
  std::atomic<bool> interrupt_sent{false};
  auto on_request = [&] {
    // Every slot is now taken by a hanging probe: interrupt from this (non-sweep) thread.
    if (++requests == kConcurrency) {
      interrupt_sent = true;
      sweep_ptr->interrupt();
    }
  };
  std::vector<std::unique_ptr<HangingOrigin>> origins;
  servers.call([&] {
    for (int h = 1; h <= 2; ++h)
      origins.push_back(std::make_unique<HangingOrigin>(servers.io, test::loopback(h), on_request));
  });

  std::vector<sheet::Target> targets;
  for (std::size_t i = 0; i < kTargets; ++i)
    targets.push_back(target_for(origins[i % 2]->url("/hang/" + std::to_string(i))));
  const std::vector<route::Route> routes{route::Route{}};

  SweepConfig config;
  config.threads = 2;
  config.concurrency = kConcurrency;
  // Only the interrupt may end these probes within the test's time.
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(30));
  CollectingSink sink;
  Sweep sweep(config, targets, routes, sink);
  sweep_ptr = &sweep;
  const SweepStats stats = sweep.run();
  servers.call([&] {
    for (auto& origin : origins) origin->stop();
  });
  servers.stop();

  EXPECT_TRUE(interrupt_sent.load());
  EXPECT_TRUE(stats.interrupted);
  const auto results = sink.results();
  EXPECT_EQ(results.size(), kConcurrency) << "the probes in flight, and no new ones";
  EXPECT_EQ(results.size(), origins[0]->accepted() + origins[1]->accepted());
  EXPECT_EQ(stats.finished, results.size());
  EXPECT_LT(stats.finished, stats.planned);
  std::set<std::uint64_t> indices;
  for (const auto& r : results) {
    EXPECT_TRUE(indices.insert(r.sweep_index).second) << "index " << r.sweep_index << " twice";
    EXPECT_EQ(outcome_name(r.outcome), "timeout") << r.url << ": " << r.detail;
    EXPECT_THAT(r.detail, HasSubstr("interrupted"));
  }
  EXPECT_EQ(stats.by_outcome[static_cast<std::size_t>(Outcome::timeout)], results.size());
}

// The open-file reserve counts the event loops a sweep will start, not --threads: on a many-core
// machine a sweep of one host would otherwise reserve a dozen descriptors per idle core.
TEST(Sweep, WorkersAreCappedByDistinctHosts) {
  std::vector<sheet::Target> targets(5);
  const char* hosts[] = {"a.test", "b.test", "a.test", "c.test", "b.test"};
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].host = hosts[i];
  EXPECT_EQ(workers_for(8, targets), 3u);
  EXPECT_EQ(workers_for(2, targets), 2u);
  EXPECT_EQ(workers_for(1, targets), 1u);
  EXPECT_EQ(workers_for(0, targets),
            std::min(3u, std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(workers_for(4, {}), 1u);
  EXPECT_LT(open_files_needed(256, workers_for(64, std::span(targets).first(1)), 10),
            open_files_needed(256, 64, 10));
}

// Route wpad: the time the PAC script took to decide a URL reaches its record as ms.pac, beside
// the probe's own total, and a decision's warning (DNS cut short) reaches its warnings.
TEST(Sweep, PacDecisionTimeAndWarningReachTheRecord) {
  ServerThread servers;
  std::unique_ptr<test::TestServer> origin;
  servers.call([&] {
    origin = std::make_unique<test::TestServer>(servers.io, [](tcp::socket& socket) {
      return test::http_answer(socket, test::http_response(200, "OK"));
    });
  });
  const auto target = target_for(origin->url("http", "/pac"));
  route::PacDecision decision;
  decision.answer = "DIRECT";
  decision.chain = {std::nullopt};
  decision.warning = "PAC: the 1000 ms deadline of a PAC call cut DNS lookups short";
  decision.ms = 1000.5;
  route::Route wpad;
  wpad.method = route::Method::wpad;
  wpad.pac = std::make_shared<route::PacDecisions>(route::PacDecisions{{target.url, decision}});

  SweepConfig config;
  config.threads = 1;
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(10));
  CollectingSink sink;
  const std::vector<sheet::Target> targets{target};
  const std::vector<route::Route> routes{wpad};
  Sweep sweep(config, targets, routes, sink);
  sweep.run();
  servers.call([&] { origin->stop(); });
  servers.stop();

  const auto results = sink.results();
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results.front();
  EXPECT_EQ(outcome_name(r.outcome), "ok") << r.detail;
  EXPECT_EQ(r.pac_answer, "DIRECT");
  EXPECT_EQ(r.ms.pac, 1000.5);
  EXPECT_THAT(r.warnings, ::testing::Contains(decision.warning));
}

// Targets that end as `skipped` before any I/O, spread over `hosts` hosts so that every loop of
// a many-threaded sweep gets some.
std::vector<sheet::Target> skipped_targets(std::size_t count, std::size_t hosts) {
  std::vector<sheet::Target> targets(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto& t = targets[i];
    t.scheme = "https";
    t.port = 443;
    t.host = "h" + std::to_string(i % hosts) + ".sweep.test";
    t.url = "https://" + t.host + "/?i=" + std::to_string(i);
    t.skip = "test: ends before any I/O";
  }
  return targets;
}

// Writers are not thread-safe and do their I/O in on_result: they must be called from one
// thread, never from the event loops, whose results come in batches. Nothing here locks: were
// calls concurrent, TSan would say so.
class ThreadRecordingSink : public ResultSink {
 public:
  explicit ThreadRecordingSink(std::size_t planned) : deliveries(planned, 0) {}
  void on_result(const Result& r) override {
    threads.insert(std::this_thread::get_id());
    if (r.sweep_index < deliveries.size()) ++deliveries[r.sweep_index];
    ++count;
  }
  std::set<std::thread::id> threads;
  std::vector<int> deliveries;  // by sweep index
  std::size_t count = 0;
};

TEST(Sweep, ResultsReachTheSinkFromOneThreadExactlyOnceFromManyLoops) {
  constexpr std::size_t kTargets = 4000, kHosts = 64;
  const auto targets = skipped_targets(kTargets, kHosts);
  const std::vector<route::Route> routes{route::Route{}, route::Route{}, route::Route{}};
  SweepConfig config;
  config.threads = 4;
  config.concurrency = 64;
  config.resolver.dns_servers = "127.0.0.1:9";  // never asked: nothing is resolved
  ThreadRecordingSink sink(kTargets * routes.size());
  Sweep sweep(config, targets, routes, sink);
  const auto stats = sweep.run();

  EXPECT_EQ(sink.threads.size(), 1u) << "on_result was called from several threads";
  EXPECT_EQ(sink.count, kTargets * routes.size());
  for (std::size_t i = 0; i < sink.deliveries.size(); ++i)
    ASSERT_EQ(sink.deliveries[i], 1) << "sweep index " << i;
  EXPECT_EQ(stats.finished, kTargets * routes.size());
  EXPECT_EQ(sweep.finished(), kTargets * routes.size());
  EXPECT_EQ(stats.by_outcome[static_cast<std::size_t>(Outcome::skipped)], stats.finished);
}

// Progress (finished()) counts what the sink has been given, so a progress line never runs
// ahead of the output it describes.
TEST(Sweep, FinishedCountsResultsTheSinkHasBeenGiven) {
  const auto targets = skipped_targets(500, 8);
  const std::vector<route::Route> routes{route::Route{}};
  SweepConfig config;
  config.threads = 2;
  config.resolver.dns_servers = "127.0.0.1:9";
  struct Sink : ResultSink {
    Sweep* sweep = nullptr;
    std::uint64_t given = 0, mismatches = 0;
    void on_result(const Result&) override { mismatches += sweep->finished() != given++; }
  } sink;
  Sweep sweep(config, targets, routes, sink);
  sink.sweep = &sweep;
  sweep.run();
  EXPECT_EQ(sink.given, targets.size());
  EXPECT_EQ(sink.mismatches, 0u);
}

// Results reach the sink while the sweep still runs (a jsonl line appears as its probe ends), not
// when it is over: here the sink interrupts the sweep when the skipped results arrive, which must
// end a probe that would otherwise hang for the whole 30 s timeout.
// A forwarding proxy that answers no request until `together` connections are open at once. The
// sweep's first probe through a proxy is its scout; if the others waited for the scout to end
// instead of for it to reach the proxy, the scout would wait here until its deadline.
class ProxyAnsweringOnlyTogether {
 public:
  ProxyAnsweringOnlyTogether(asio::io_context& io, std::size_t together)
      : together_(together), server_(io, [this](tcp::socket& socket) { return serve(socket); }) {}
  std::uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }

 private:
  asio::awaitable<void> serve(tcp::socket& socket) {
    try {
      co_await test::read_request(socket);
      held_.push_back(&socket);
      if (held_.size() >= together_) {
        for (auto* held : held_) {
          boost::system::error_code ec;
          asio::write(*held, asio::buffer(kResponse), ec);  // tiny: fits the socket buffer
        }
        held_.clear();
      }
      co_await test::drain(socket);
    } catch (const std::exception&) {
    }
    std::erase(held_, &socket);
  }

  static constexpr std::string_view kResponse =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  std::size_t together_;
  std::vector<tcp::socket*> held_;
  test::TestServer server_;
};

TEST(Sweep, ProbesHeldBehindAProxysScoutStartOnceItReachesTheProxy) {
  ServerThread servers;
  std::unique_ptr<ProxyAnsweringOnlyTogether> proxy;
  servers.call([&] { proxy = std::make_unique<ProxyAnsweringOnlyTogether>(servers.io, 2); });
  const auto spec = std::get<route::ProxySpec>(
      route::parse_proxy_spec("http://127.0.0.1:" + std::to_string(proxy->port())));
  const std::vector<route::Route> routes{route::proxy_route(route::Method::cli, spec)};
  // Plain http through a forwarding proxy: the proxy answers, nothing else is connected to.
  const std::vector<sheet::Target> targets{target_for("http://192.0.2.1/a"),
                                           target_for("http://192.0.2.1/b")};
  SweepConfig config;
  config.threads = 1;
  config.concurrency = 4;
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(5));
  CollectingSink sink;
  Sweep sweep(config, targets, routes, sink);
  sweep.run();
  servers.call([&] { proxy->stop(); });
  servers.stop();

  const auto results = sink.results();
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results)
    EXPECT_EQ(outcome_name(r.outcome), "ok")
        << r.url << ": " << r.detail << " (the second probe waited for the scout to end)";
}

TEST(Sweep, ResultsReachTheSinkWhileOtherProbesAreStillInFlight) {
  ServerThread servers;
  std::unique_ptr<HangingOrigin> origin;
  servers.call(
      [&] { origin = std::make_unique<HangingOrigin>(servers.io, test::loopback(1), [] {}); });
  auto targets = skipped_targets(20, 1);
  targets.insert(targets.begin(), target_for(origin->url("/hang")));
  const std::vector<route::Route> routes{route::Route{}};
  SweepConfig config;
  config.threads = 1;
  config.concurrency = 4;
  config.probe.timeouts = Timeouts::derived_from(std::chrono::seconds(30));

  struct Sink : ResultSink {
    Sweep* sweep = nullptr;
    std::vector<Result> results;
    void on_result(const Result& r) override {
      results.push_back(r);
      if (r.outcome == Outcome::skipped) sweep->interrupt();
    }
  } sink;
  Sweep sweep(config, targets, routes, sink);
  sink.sweep = &sweep;
  const auto stats = sweep.run();
  servers.call([&] { origin->stop(); });
  servers.stop();

  EXPECT_TRUE(stats.interrupted);
  const auto hung = std::find_if(sink.results.begin(), sink.results.end(),
                                 [](const Result& r) { return r.sweep_index == 0; });
  ASSERT_NE(hung, sink.results.end()) << "an interrupted sweep still delivers what it probed";
  EXPECT_EQ(outcome_name(hung->outcome), "timeout");
  EXPECT_THAT(hung->detail, HasSubstr("interrupted"));
  EXPECT_EQ(stats.finished, sink.results.size());
}

}  // namespace
}  // namespace urlprobe::probe
