// The scheduler: walks targets x routes lazily over one event loop per thread, within limits.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "probe/probe.hpp"
#include "probe/result.hpp"
#include "probe/sweep_index.hpp"

namespace urlprobe::probe {

// The stable identity of a probe for sharding: FNV-1a 64 of url "\n" route name "\n" proxy,
// where proxy is the redacted proxy of a proxy-list entry and empty for the methods (whose
// proxy comes from the machine's environment and must not move probes between shards).
std::uint64_t shard_hash(std::string_view url, const route::Route& route);
bool in_shard(const Shard& shard, std::string_view url, const route::Route& route);

// Open files. A probe in flight holds one socket (to the origin or to the proxy: addresses are
// tried one after another, and the socket is closed before the result is delivered). A worker
// holds its event loop's epoll, eventfd and timerfd, c-ares's UDP and TCP sockets to up to three
// name servers, and for a moment a file that c-ares or OpenSSL reads (/etc/hosts, a hashed
// certificate of a CA directory). The spare covers what the process opens besides the sweep.
inline constexpr std::uint64_t kOpenFilesPerProbe = 1, kOpenFilesPerWorker = 12,
                               kOpenFilesSpare = 16;
// The event loops a sweep of `targets` starts: --threads (0: one per core), but no more than
// there are distinct hosts, since each host belongs to one loop.
unsigned workers_for(unsigned threads, std::span<const sheet::Target> targets);
// What a sweep needs with `open_now` files already open.
std::uint64_t open_files_needed(std::size_t concurrency, unsigned threads, std::uint64_t open_now);
// The most probes in flight (at least 1) that fit under an open-file limit.
std::size_t concurrency_within(std::uint64_t open_file_limit, unsigned threads,
                               std::uint64_t open_now);

struct SweepConfig {
  ProbeConfig probe;
  net::ResolverConfig resolver;
  net::TlsConfig tls;
  std::size_t concurrency = 256;  // probes in flight, all threads together
  std::size_t per_host = 0;       // probes in flight per target host; 0: no limit
  std::size_t per_proxy = 0;      // probes in flight per proxy route; 0: no limit
  unsigned threads = 0;           // event loops; 0: one per core
  Shard shard;                    // probe only this shard of targets x routes
};

// Receives every result exactly once, all on one thread that run() starts for it, never on an
// event loop: a sink may take its time (write, flush) without holding up any probe. Each loop
// hands over its results in batches as its probes end, so a result reaches the sink while the
// sweep goes on, and every result has reached it when run() returns (interrupted or not).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void on_result(const Result& result) = 0;
};

struct SweepStats {
  std::uint64_t planned = 0;   // targets x routes (of the shard, with --shard)
  std::uint64_t finished = 0;  // results delivered
  std::array<std::uint64_t, kOutcomeCount> by_outcome{};
  std::chrono::steady_clock::duration elapsed{};
  bool interrupted = false;
};

// Probe indices are laid out by SweepIndex(routes.size()), so a target's routes (and a sweep's
// proxies) interleave. Each target host belongs to one worker thread, so
// per-host limits and the DNS cache need no locks, and every name is resolved once per sweep; a
// sweep of a single host therefore runs on one core. --per-proxy is split evenly between workers.
//
// Dead proxies: each worker sends one probe (a scout) through a proxy before any other. If the
// scout finds the proxy unreachable, the rest of that worker's probes through it end at once as
// proxy_unreachable, each with its own result, instead of each waiting out a timeout.
class Sweep {
 public:
  // Throws std::runtime_error / std::invalid_argument for unusable config (CA file, DNS server).
  Sweep(const SweepConfig& config, std::span<const sheet::Target> targets,
        std::span<const route::Route> routes, ResultSink& sink);
  ~Sweep();
  Sweep(const Sweep&) = delete;
  Sweep& operator=(const Sweep&) = delete;

  // Blocks until every started probe has its result and the sink has been given it. An exception
  // from the sink interrupts the sweep and is rethrown here once the loops are over.
  SweepStats run();

  // From any thread: start nothing new, end in-flight probes now as `timeout` ("interrupted").
  void interrupt();

  std::uint64_t planned() const;
  std::uint64_t finished() const;  // results given to the sink so far, for a progress line

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace urlprobe::probe
