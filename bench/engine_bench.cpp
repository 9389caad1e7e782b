// The engine's own per-probe overheads, without TLS: the c-ares resolver against an in-process
// UDP DNS responder on 127.0.0.1 (cache miss and cache hit), and the scheduler (probe::Sweep)
// driving probes that end before any I/O. See bench/README.md.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "net/resolver.hpp"
#include "probe/sweep.hpp"
#include "route/route.hpp"
#include "sheet/target.hpp"
#include "untimed.hpp"

namespace {

using namespace urlprobe;

// Answers every A query with 127.0.0.1 (TTL 60) and every other type (AAAA) with NOERROR and no
// answer, as a resolver for an IPv4-only zone does. Queries are parsed only as far as needed to
// echo the question; anything malformed is dropped. Bound to 127.0.0.1 only.
class LoopbackDns {
 public:
  LoopbackDns() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("dns responder: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("dns responder: bind to 127.0.0.1 failed");
    port_ = ntohs(addr.sin_port);
    // A batch of 256 lookups is 512 datagrams at once; the default buffer (~208 KiB of skbs)
    // drops some, and a dropped query costs a c-ares retry timeout (over a second) instead of
    // the resolver's work. FORCE passes rmem_max when root; otherwise the capped request stands.
    const int buffer = 8 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackDns() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  LoopbackDns(const LoopbackDns&) = delete;
  LoopbackDns& operator=(const LoopbackDns&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }

 private:
  void serve() {
    std::array<unsigned char, 1500> in{}, out{};
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      // Wakes up now and then so the destructor's stop_ is seen without a self-pipe.
      if (poll(&p, 1, 50) <= 0) continue;
      sockaddr_in peer{};
      socklen_t peer_len = sizeof peer;
      const auto n =
          recvfrom(fd_, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
      if (n < 12) continue;
      std::size_t q = 12;  // the question's name, label by label
      while (q < static_cast<std::size_t>(n) && in[q] != 0) q += in[q] + 1u;
      if (q + 5 > static_cast<std::size_t>(n)) continue;
      const std::size_t question_end = q + 5;  // zero label, QTYPE, QCLASS
      const bool type_a = in[q + 1] == 0 && in[q + 2] == 1;
      std::memcpy(out.data(), in.data(), question_end);
      out[2] = static_cast<unsigned char>(0x80 | (in[2] & 0x01));  // QR, keep RD
      out[3] = 0x80;                                               // RA, NOERROR
      out[6] = 0, out[7] = type_a ? 1 : 0;                         // ANCOUNT
      out[8] = out[9] = out[10] = out[11] = 0;                     // NSCOUNT, ARCOUNT
      std::size_t len = question_end;
      if (type_a) {
        const unsigned char answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
        std::memcpy(out.data() + len, answer, sizeof answer);
        len += sizeof answer;
      }
      sendto(fd_, out.data(), len, 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
      answered_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> answered_{0};
  std::thread thread_;
};

LoopbackDns& dns() {
  static LoopbackDns responder;
  return responder;
}

constexpr int kLookupsPerBatch = 256;  // resolved concurrently, as a sweep's first probes are

// Resolves `names` concurrently on one event loop and runs it until every handler ran.
// Returns the number of lookups that failed.
int resolve_all(boost::asio::io_context& io, net::Resolver& resolver,
                const std::vector<std::string>& names) {
  int pending = static_cast<int>(names.size()), failed = 0;
  for (const auto& name : names)
    resolver.resolve(name, 443, [&](const net::ResolveResult& r) {
      --pending;
      if (!r.ok() || r.addresses.empty()) ++failed;
    });
  io.restart();
  while (pending > 0) io.run_one();
  return failed;
}

// BM_ResolverMiss: every lookup is a name the resolver has never seen, so each costs an A and
// an AAAA query over UDP to the responder (and c-ares' hosts-file check before that).
void BM_ResolverMiss(benchmark::State& state) {
  auto& server = dns();
  boost::asio::io_context io;
  net::ResolverConfig config;
  config.dns_servers = fmt::format("127.0.0.1:{}", server.port());
  net::Resolver resolver(io, config);
  std::uint64_t serial = 0;
  std::vector<std::string> names(kLookupsPerBatch);
  const double server0 = server.answered();
  const double client0 = bench::thread_cpu_seconds();
  for (auto _ : state) {
    bench::pause(state);
    for (auto& name : names) name = fmt::format("h{}.miss.bench.test", serial++);
    bench::resume(state);
    if (const int failed = resolve_all(io, resolver, names)) {
      state.SkipWithError(fmt::format("{} lookups failed", failed).c_str());
      return;
    }
  }
  const auto lookups = static_cast<double>(state.iterations() * kLookupsPerBatch);
  state.SetItemsProcessed(state.iterations() * kLookupsPerBatch);
  state.counters["queries/lookup"] = (server.answered() - server0) / lookups;
  state.counters["client_cpu_us/lookup"] = 1e6 * (bench::thread_cpu_seconds() - client0) / lookups;
}
BENCHMARK(BM_ResolverMiss)->UseRealTime()->Unit(benchmark::kMicrosecond);

// BM_ResolverHit: the same names again, answered from the per-sweep cache: what every probe
// after the first one of a host pays.
void BM_ResolverHit(benchmark::State& state) {
  auto& server = dns();
  boost::asio::io_context io;
  net::ResolverConfig config;
  config.dns_servers = fmt::format("127.0.0.1:{}", server.port());
  net::Resolver resolver(io, config);
  std::vector<std::string> names;
  for (int i = 0; i < kLookupsPerBatch; ++i) names.push_back(fmt::format("h{}.hit.bench.test", i));
  if (resolve_all(io, resolver, names) != 0 || resolver.queries_sent() == 0) {
    state.SkipWithError("warm-up lookups failed");
    return;
  }
  const auto sent = resolver.queries_sent();
  for (auto _ : state) {
    if (const int failed = resolve_all(io, resolver, names)) {
      state.SkipWithError(fmt::format("{} lookups failed", failed).c_str());
      return;
    }
  }
  if (resolver.queries_sent() != sent) state.SkipWithError("a cached name went to DNS again");
  state.SetItemsProcessed(state.iterations() * kLookupsPerBatch);
}
BENCHMARK(BM_ResolverHit)->UseRealTime()->Unit(benchmark::kMicrosecond);

// BM_SchedulerNoopProbe: probe::Sweep over targets that end before any I/O (a target with
// `skip` set, as a wildcard row is: the probe is created, scheduled, started on the event loop,
// and finishes as `skipped`). What remains is the scheduler's per-probe work: walking targets x
// routes, the in-flight bookkeeping, the probe object, the post to the loop, the result and the
// sink call.
class NoopSink final : public probe::ResultSink {
 public:
  void on_result(const probe::Result& r) override {
    ++count;
    if (r.outcome == probe::Outcome::skipped) ++skipped;
  }
  std::uint64_t count = 0, skipped = 0;
};

void BM_SchedulerNoopProbe(benchmark::State& state) {
  const auto probes = static_cast<std::size_t>(state.range(0));
  // path by push_back: assigning the one-character literal trips g++ 12's
  // -Wrestrict false positive (GCC PR 105329).
  sheet::Target prototype;
  prototype.scheme = "https";
  prototype.port = 443;
  prototype.path.push_back('/');
  prototype.skip = "bench: a probe that ends before any I/O";
  std::vector<sheet::Target> targets(probes, prototype);
  for (std::size_t i = 0; i < probes; ++i) {
    auto& t = targets[i];
    t.host = fmt::format("h{}.noop.bench.test", i % 1000);
    t.url = fmt::format("https://{}/?i={}", t.host, i);
  }
  const std::vector<route::Route> routes{route::direct_route()};
  probe::SweepConfig config;
  config.threads = 1;
  config.concurrency = 256;
  config.resolver.dns_servers = "127.0.0.1:9";  // never asked: nothing is resolved
  std::uint64_t done = 0;
  for (auto _ : state) {
    bench::pause(state);
    NoopSink sink;
    auto sweep = std::make_unique<probe::Sweep>(config, targets, routes, sink);
    bench::resume(state);
    sweep->run();
    bench::pause(state);
    sweep.reset();
    bench::resume(state);
    if (sink.skipped != probes) {
      state.SkipWithError(fmt::format("{} of {} probes skipped", sink.skipped, probes).c_str());
      return;
    }
    done += sink.count;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(done));
}
BENCHMARK(BM_SchedulerNoopProbe)
    ->ArgName("probes")
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
