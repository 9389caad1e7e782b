#include "probe/sweep.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace urlprobe::probe {

namespace asio = boost::asio;

namespace {

// A turn of a loop rarely ends more probes than it has slots, and growing a batch moves its
// results; the cap keeps a sweep of thousands in flight from holding that many empty records.
constexpr std::size_t kBatchReserve = 256;

// One thread's share of the sweep: the targets whose host hashes to it, walked lazily.
struct Worker {
  Worker(const SweepConfig& config, net::TlsClientContext& tls)
      : resolver(io, sized(config)), context{io, resolver, tls, config.probe, &proxy_reached} {}

  // Every worker's resolver is sized for the whole --concurrency: a worker's share is known
  // only later, and the buffers cost memory only while answers wait in them.
  static net::ResolverConfig sized(const SweepConfig& config) {
    auto resolver = config.resolver;
    resolver.probes_in_flight = config.concurrency;
    return resolver;
  }

  asio::io_context io{1};
  net::Resolver resolver;
  ProxyReached proxy_reached;  // set by the sweep, which owns the gates
  ProbeContext context;

  std::vector<std::uint32_t> targets;  // indices into the sweep's targets
  std::size_t slots = 1;               // this worker's part of --concurrency
  std::uint64_t planned = 0;

  // The lazy walk: next target position and route.
  std::size_t next_target = 0;
  std::size_t next_route = 0;

  std::size_t in_flight = 0;
  std::unordered_map<std::uint64_t, ProbeHandle> running;
  std::vector<std::uint32_t> host_in_flight;   // by host id
  std::vector<std::uint32_t> route_in_flight;  // by route index
  std::size_t per_proxy = 0;                   // this worker's part of --per-proxy

  enum class Gate : std::uint8_t { unknown, scouting, open, dead };
  std::vector<Gate> gates;  // by route index
  std::vector<std::string> dead_reason;
  std::deque<std::uint64_t> held;  // walked but not yet allowed to start
  bool interrupted = false;

  // Results of this turn of the loop, handed to the delivery thread together once the handlers
  // already queued have run.
  std::vector<Result> batch;

  SweepStats stats;
};

}  // namespace

std::uint64_t shard_hash(std::string_view url, const route::Route& route) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto add = [&h](std::string_view s) {
    for (const unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  add(url);
  add("\n");
  add(route::method_name(route.method));
  add("\n");
  if (route.method == route::Method::proxy_list && route.for_https)
    add(route.for_https->redacted());
  return h;
}

bool in_shard(const Shard& shard, std::string_view url, const route::Route& route) {
  return shard.n == 0 || shard_hash(url, route) % shard.n == shard.k - 1;
}

unsigned workers_for(unsigned threads, std::span<const sheet::Target> targets) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::unordered_set<std::string_view> hosts;
  for (const auto& target : targets) {
    hosts.insert(target.host);
    if (hosts.size() >= threads) return threads;
  }
  return static_cast<unsigned>(std::max<std::size_t>(1, hosts.size()));
}

std::uint64_t open_files_needed(std::size_t concurrency, unsigned threads, std::uint64_t open_now) {
  return open_now + kOpenFilesSpare + std::uint64_t{threads} * kOpenFilesPerWorker +
         std::uint64_t{concurrency} * kOpenFilesPerProbe;
}

std::size_t concurrency_within(std::uint64_t open_file_limit, unsigned threads,
                               std::uint64_t open_now) {
  const std::uint64_t fixed = open_files_needed(0, threads, open_now);
  if (open_file_limit <= fixed + kOpenFilesPerProbe) return 1;
  return static_cast<std::size_t>((open_file_limit - fixed) / kOpenFilesPerProbe);
}

struct Sweep::Impl {
  Impl(const SweepConfig& c, std::span<const sheet::Target> t, std::span<const route::Route> r,
       ResultSink& s)
      : config(c), targets(t), routes(r), layout(r.size()), sink(s), tls(c.tls) {}

  SweepConfig config;
  std::span<const sheet::Target> targets;
  std::span<const route::Route> routes;
  SweepIndex layout;
  ResultSink& sink;
  net::TlsClientContext tls;
  std::vector<std::uint32_t> host_of;  // target index -> host id
  std::size_t host_count = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::uint64_t> finished{0};  // results the sink has been given
  std::atomic<bool> interrupted{false};
  std::uint64_t planned = 0;  // of the shard

  // The sink is called from one delivery thread, so writers need no lock and their I/O never
  // holds up an event loop. Loops hand over whole batches: one lock per turn of a loop, not per
  // result. Delivered batches go back to the loops, so their capacity is reused.
  std::mutex delivery_mutex;
  std::condition_variable delivery_ready;
  std::vector<std::vector<Result>> full_batches, spare_batches;
  bool loops_over = false;  // every loop has stopped and handed over its last batch
  std::exception_ptr sink_error;

  bool wanted(std::uint64_t index) const {
    if (config.shard.n == 0) return true;
    const auto at = layout.position(index);
    return in_shard(config.shard, targets[at.target].url, routes[at.route]);
  }

  // Hosts are numbered in order of first appearance, by sorting target indices rather than
  // hashing names: a hash map of a million distinct hosts (a copy of each name, then its nodes)
  // was most of what a probe run held over `list` (bench/sheet_memory.sh).
  void number_hosts() {
    const auto count = static_cast<std::uint32_t>(targets.size());
    std::vector<std::uint32_t> order(count);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
      return targets[a].host < targets[b].host;
    });
    // Each run of one host in `order` starts at its first appearance (the sort is stable).
    std::vector<std::uint32_t> firsts;
    host_of.assign(count, 0);
    for (std::uint32_t i = 0; i < count; ++i) {
      if (i == 0 || targets[order[i]].host != targets[order[i - 1]].host)
        firsts.push_back(order[i]);
      host_of[order[i]] = static_cast<std::uint32_t>(firsts.size() - 1);
    }
    std::vector<std::uint32_t> runs(firsts.size());
    std::iota(runs.begin(), runs.end(), 0u);
    std::sort(runs.begin(), runs.end(),
              [&firsts](std::uint32_t a, std::uint32_t b) { return firsts[a] < firsts[b]; });
    std::vector<std::uint32_t> id_of_run(runs.size());
    for (std::uint32_t id = 0; id < runs.size(); ++id) id_of_run[runs[id]] = id;
    for (auto& host : host_of) host = id_of_run[host];
    host_count = firsts.size();
  }

  void plan() {
    number_hosts();

    const unsigned threads = workers_for(config.threads, targets);
    for (unsigned i = 0; i < threads; ++i) {
      auto worker = std::make_unique<Worker>(config, tls);
      worker->host_in_flight.assign(host_count, 0);
      worker->route_in_flight.assign(routes.size(), 0);
      worker->gates.assign(routes.size(), Worker::Gate::unknown);
      worker->dead_reason.resize(routes.size());
      worker->per_proxy =
          config.per_proxy ? std::max<std::size_t>(1, config.per_proxy / threads) : 0;
      worker->proxy_reached = [this, &w = *worker](std::uint64_t index) { open_gate(w, index); };
      workers.push_back(std::move(worker));
    }
    for (std::uint32_t t = 0; t < targets.size(); ++t)
      workers[host_of[t] % threads]->targets.push_back(t);  // as worker_of() finds them

    // Slots follow each worker's share of the probes, so no thread idles while another queues.
    for (auto& worker : workers) {
      worker->planned = static_cast<std::uint64_t>(worker->targets.size()) * routes.size();
      if (config.shard.n) {  // counted, not stored: the walk stays lazy
        worker->planned = 0;
        for (const auto target : worker->targets)
          for (std::size_t r = 0; r < routes.size(); ++r)
            worker->planned += in_shard(config.shard, targets[target].url, routes[r]);
      }
      planned += worker->planned;
      worker->stats.planned = worker->planned;
    }
    const std::uint64_t total = planned;
    for (auto& worker : workers) {
      worker->slots = total == 0
                          ? 1
                          : std::max<std::size_t>(
                                1, static_cast<std::size_t>(
                                       (config.concurrency * worker->planned + total - 1) / total));
      worker->batch.reserve(std::min<std::size_t>(worker->slots, kBatchReserve));
    }
  }

  // Whether the probe goes through one fixed proxy, which the dead-proxy gate then guards.
  bool gated(std::uint64_t index) const {
    const auto at = layout.position(index);
    const auto& target = targets[at.target];
    const auto& route = routes[at.route];
    const auto hop = route::choose(route, target.scheme, target.host, target.port, target.url);
    return hop.proxy && !hop.pac;  // a PAC chain fails over by itself: no gate
  }

  enum class Start { now, later, dead };
  Start may_start(Worker& w, std::uint64_t index, bool through_gate) const {
    const auto [target, route] = layout.position(index);
    if (config.per_host && w.host_in_flight[host_of[target]] >= config.per_host)
      return Start::later;
    if (!through_gate) return Start::now;
    switch (w.gates[route]) {
      case Worker::Gate::dead:
        return Start::dead;
      case Worker::Gate::scouting:
        return Start::later;
      case Worker::Gate::unknown:
        return Start::now;  // becomes the scout
      case Worker::Gate::open:
        break;
    }
    return w.per_proxy && w.route_in_flight[route] >= w.per_proxy ? Start::later : Start::now;
  }

  // Starts, fails fast, or holds the probe; false when it was held.
  bool dispatch(Worker& w, std::uint64_t index) {
    const bool through_gate = gated(index);
    switch (may_start(w, index, through_gate)) {
      case Start::later:
        return false;
      case Start::dead: {
        const auto [target, route] = layout.position(index);
        ++w.in_flight;
        ++w.host_in_flight[host_of[target]];
        ++w.route_in_flight[route];
        auto result =
            decided_result(targets[target], routes[route], index, Outcome::proxy_unreachable,
                           "not tried: this proxy was unreachable earlier in the sweep (" +
                               w.dead_reason[route] + ")");
        asio::post(w.io, [this, &w, index, r = std::move(result)]() mutable {
          complete(w, index, std::move(r));
        });
        return true;
      }
      case Start::now:
        launch(w, index, through_gate);
        return true;
    }
    return true;
  }

  void fill(Worker& w) {
    // Probes held back by limits would otherwise pile up without bound.
    const std::size_t held_cap = 4 * w.slots + 64;
    for (std::size_t n = w.held.size(); n > 0 && !w.interrupted && w.in_flight < w.slots; --n) {
      const auto index = w.held.front();
      w.held.pop_front();
      if (!dispatch(w, index)) w.held.push_back(index);
    }
    while (!w.interrupted && w.in_flight < w.slots && w.next_target < w.targets.size() &&
           w.held.size() < held_cap) {
      const std::uint32_t target = w.targets[w.next_target];
      const std::uint64_t index = layout.flat(target, w.next_route);
      if (++w.next_route == routes.size()) {
        w.next_route = 0;
        ++w.next_target;
      }
      if (!wanted(index)) continue;  // another shard's probe
      if (!dispatch(w, index)) w.held.push_back(index);
    }
    if (w.in_flight == 0 &&
        (w.interrupted || (w.next_target == w.targets.size() && w.held.empty())))
      w.io.stop();  // c-ares keeps idle sockets watched; nothing else is left to do here
  }

  void launch(Worker& w, std::uint64_t index, bool through_gate) {
    const auto [target, route_index] = layout.position(index);
    ++w.in_flight;
    ++w.host_in_flight[host_of[target]];
    ++w.route_in_flight[route_index];
    if (w.gates[route_index] == Worker::Gate::unknown && through_gate)
      w.gates[route_index] = Worker::Gate::scouting;
    // Two words, so std::function holds it without a heap block of its own: the worker follows
    // from the index.
    w.running.emplace(index, start_probe(w.context, targets[target], routes[route_index], index,
                                         [this, index](Result&& result) {
                                           complete(worker_of(index), index, std::move(result));
                                         }));
  }

  // The scout reached its proxy: the probes held behind it start now, not when the scout ends.
  // At WAN latency a whole probe through a proxy is four round trips or more, and every proxy of
  // a sweep would otherwise start with one probe alone for that long.
  void open_gate(Worker& w, std::uint64_t index) {
    const auto route = layout.position(index).route;
    if (w.gates[route] != Worker::Gate::scouting) return;
    w.gates[route] = Worker::Gate::open;
    asio::post(w.io, [this, &w] { fill(w); });  // not from inside the scout's own handler
  }

  Worker& worker_of(std::uint64_t index) const {
    return *workers[host_of[layout.position(index).target] % workers.size()];
  }

  void complete(Worker& w, std::uint64_t index, Result&& result) {
    const auto [target, route] = layout.position(index);
    --w.in_flight;
    --w.host_in_flight[host_of[target]];
    --w.route_in_flight[route];
    w.running.erase(index);
    if (w.gates[route] == Worker::Gate::scouting && !result.proxy.empty()) {
      const bool unreachable = result.outcome == Outcome::proxy_unreachable;
      w.gates[route] = unreachable ? Worker::Gate::dead : Worker::Gate::open;
      if (unreachable) w.dead_reason[route] = result.detail;
    }
    result.shard = config.shard;
    ++w.stats.finished;
    ++w.stats.by_outcome[static_cast<std::size_t>(result.outcome)];
    // Queued behind the handlers already waiting, so a busy loop's results go over together.
    if (w.batch.empty()) asio::post(w.io, [this, &w] { hand_over(w); });
    w.batch.push_back(std::move(result));
    fill(w);
  }

  void hand_over(Worker& w) {
    if (w.batch.empty()) return;
    {
      std::lock_guard lock(delivery_mutex);
      full_batches.push_back(std::move(w.batch));
      w.batch.clear();  // a moved-from vector is only valid; this makes it empty
      if (!spare_batches.empty()) {
        w.batch = std::move(spare_batches.back());
        spare_batches.pop_back();
      }
    }
    delivery_ready.notify_one();
    // Delivered results are freed here, by the loop that allocated them: freed on the delivery
    // thread, every allocation went back through malloc's slow path (its per-thread caches only
    // ever filled there and emptied here).
    w.batch.clear();
    if (w.batch.capacity() == 0) w.batch.reserve(std::min<std::size_t>(w.slots, kBatchReserve));
  }

  // The delivery thread: gives the sink every result handed over, until the loops are over.
  void deliver() {
    std::vector<std::vector<Result>> batches;
    std::unique_lock lock(delivery_mutex);
    for (;;) {
      delivery_ready.wait(lock, [this] { return !full_batches.empty() || loops_over; });
      if (full_batches.empty()) return;
      batches.swap(full_batches);
      lock.unlock();
      for (auto& batch : batches) {
        for (const auto& result : batch) {
          sink.on_result(result);
          finished.fetch_add(1, std::memory_order_relaxed);
        }
      }
      lock.lock();
      for (auto& batch : batches) spare_batches.push_back(std::move(batch));
      batches.clear();
    }
  }
};

Sweep::Sweep(const SweepConfig& config, std::span<const sheet::Target> targets,
             std::span<const route::Route> routes, ResultSink& sink)
    : impl_(std::make_unique<Impl>(config, targets, routes, sink)) {
  impl_->plan();
}

Sweep::~Sweep() = default;

std::uint64_t Sweep::planned() const {
  return impl_->planned;
}
std::uint64_t Sweep::finished() const {
  return impl_->finished.load(std::memory_order_relaxed);
}

SweepStats Sweep::run() {
  const auto start = std::chrono::steady_clock::now();
  std::thread delivery([this] {
    try {
      impl_->deliver();
    } catch (...) {
      // The loops never wait for this thread: they finish the probes in flight, and run()
      // reports the sink's error once they have.
      impl_->sink_error = std::current_exception();
      interrupt();
    }
  });
  std::vector<std::thread> threads;
  for (auto& worker : impl_->workers) {
    Worker* w = worker.get();
    asio::post(w->io, [this, w] { impl_->fill(*w); });
    if (impl_->workers.size() == 1) break;
    threads.emplace_back([w] { w->io.run(); });
  }
  if (impl_->workers.size() == 1) impl_->workers.front()->io.run();
  for (auto& t : threads) t.join();
  // fill() stops a loop as soon as its last probe has its result, which leaves the completions
  // of that probe's cancelled operations queued. Destroying them with the io_context instead of
  // running them frees nested type-erased handlers in an order Asio 1.81 gets wrong (a heap
  // use-after-free under ASan, found by an interrupted sweep of TLS probes); running them is
  // harmless, since a finished probe ignores them.
  for (auto& worker : impl_->workers) {
    worker->io.restart();
    while (worker->io.poll() > 0) {
    }
    impl_->hand_over(*worker);
  }
  {
    std::lock_guard lock(impl_->delivery_mutex);
    impl_->loops_over = true;
  }
  impl_->delivery_ready.notify_one();
  delivery.join();
  if (impl_->sink_error) std::rethrow_exception(impl_->sink_error);

  SweepStats total;
  total.planned = planned();
  for (const auto& worker : impl_->workers) {
    total.finished += worker->stats.finished;
    for (std::size_t i = 0; i < kOutcomeCount; ++i)
      total.by_outcome[i] += worker->stats.by_outcome[i];
  }
  total.interrupted = impl_->interrupted.load();
  total.elapsed = std::chrono::steady_clock::now() - start;
  return total;
}

void Sweep::interrupt() {
  impl_->interrupted.store(true);
  for (auto& worker : impl_->workers) {
    Worker* w = worker.get();
    asio::post(w->io, [this, w] {
      w->interrupted = true;
      for (auto& [index, handle] : std::unordered_map(w->running)) handle.abort("interrupted");
      w->held.clear();
      impl_->fill(*w);
    });
  }
}

}  // namespace urlprobe::probe
