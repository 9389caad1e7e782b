// Google Benchmark suites guarding urlprobe's hot paths (see bench/README.md).
// All network traffic stays on 127.0.0.1.
#include <benchmark/benchmark.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "loopback.hpp"
#include "net/tls.hpp"
#include "probe/result.hpp"
#include "probe/sweep.hpp"
#include "report/diff.hpp"
#include "report/writer.hpp"
#include "route/proxy.hpp"
#include "route/route.hpp"
#include "sheet/builtin.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/target.hpp"
#include "sheet/url.hpp"
#include "sheet/xlsx.hpp"
#include "sheetgen.hpp"
#include "untimed.hpp"

namespace {

using namespace urlprobe;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Shared fixtures, made on first use and kept for the whole run.

// How a probe benchmark reaches the loopback server.
enum class Via { direct, http_connect, socks5 };

struct Env {
  bench::TestCert cert;
  std::unique_ptr<bench::LoopbackServer> https, http;
  std::unique_ptr<bench::TunnelProxy> connect_proxy, socks_proxy;
  std::unique_ptr<net::TlsClientContext> client;

  static Env& get() {
    static Env env;
    return env;
  }
  bench::LoopbackServer& server(bool tls) {
    auto& s = tls ? https : http;
    if (!s) s = std::make_unique<bench::LoopbackServer>(tls ? &cert.server_context() : nullptr);
    return *s;
  }
  // Built once: loading a trust store costs ~25 handshakes, and the floor is one handshake.
  net::TlsClientContext& client_context() {
    if (!client)
      client = std::make_unique<net::TlsClientContext>(
          net::TlsConfig{.ca_file = cert.pem_path(), .public_roots = cert.pem_path()});
    return *client;
  }
  bench::TunnelProxy* proxy(Via via) {
    if (via == Via::direct) return nullptr;
    auto& p = via == Via::http_connect ? connect_proxy : socks_proxy;
    if (!p)
      p = std::make_unique<bench::TunnelProxy>(via == Via::http_connect
                                                   ? bench::TunnelProxy::Protocol::http_connect
                                                   : bench::TunnelProxy::Protocol::socks5);
    return p.get();
  }
};

// ---------------------------------------------------------------------------------------------
// BM_DirectTlsProbe / BM_PlainHttpProbe: the whole engine (Sweep, probe state machine, Asio,
// OpenSSL) against the in-process server, one event loop, `concurrency` probes in flight.

class CountingSink final : public probe::ResultSink {
 public:
  CountingSink(bool tls, Via via) : tls_(tls), via_(via) {}
  void on_result(const probe::Result& r) override {
    ++count;
    std::string problem;
    if (r.outcome != probe::Outcome::ok)
      problem = probe::outcome_name(r.outcome);
    else if (tls_ && (!r.tls || !r.tls->verified || r.tls->version != "TLSv1.3"))
      problem = "not a verified TLS 1.3 session";
    else if (via_ != Via::direct && (r.proxy.empty() || !r.ms.tunnel))
      problem = "not through the proxy";
    else if (via_ == Via::http_connect && r.proxy_status != 200)
      problem = fmt::format("proxy_status {}, not 200", r.proxy_status);
    if (problem.empty())
      ++ok;
    else if (first_failure.empty())
      first_failure = fmt::format("{}: {} {}", r.url, problem, r.detail);
  }
  std::uint64_t count = 0, ok = 0;
  std::string first_failure;

 private:
  bool tls_;
  Via via_;
};

void sweep_benchmark(benchmark::State& state, bool tls, Via via = Via::direct) {
  auto& env = Env::get();
  auto& server = env.server(tls);
  bench::TunnelProxy* proxy = env.proxy(via);
  const auto concurrency = static_cast<std::size_t>(state.range(0));
  const auto probes = static_cast<std::size_t>(state.range(1));

  std::vector<sheet::Target> targets;
  targets.reserve(probes);
  const auto bench_row = sheet::row_of_source("bench");
  for (std::size_t i = 0; i < probes; ++i) {
    sheet::Target t;
    t.scheme = tls ? "https" : "http";
    t.host = "127.0.0.1";
    t.port = server.port();
    t.path = fmt::format("/?i={}", i);
    t.url = fmt::format("{}://127.0.0.1:{}{}", t.scheme, t.port, t.path);
    t.row = sheet::TargetRow(bench_row, 0);
    targets.push_back(std::move(t));
  }
  std::vector<route::Route> routes{route::direct_route()};
  if (proxy) {
    const auto spec = route::parse_proxy_spec(fmt::format(
        "{}://127.0.0.1:{}", via == Via::http_connect ? "http" : "socks5", proxy->port()));
    if (const auto* error = std::get_if<route::SpecError>(&spec)) {
      state.SkipWithError(("proxy spec: " + error->message).c_str());
      return;
    }
    routes = {route::proxy_route(route::Method::cli, std::get<route::ProxySpec>(spec))};
  }

  probe::SweepConfig config;
  config.threads = 1;
  config.concurrency = concurrency;
  config.tls.ca_file = env.cert.pem_path();
  config.tls.public_roots = env.cert.pem_path();  // the test certificate stands for a public root
  // Under valgrind every thread shares one core at a fraction of its speed.
  config.probe.timeouts =
      probe::Timeouts::derived_from(std::chrono::seconds(RUNNING_ON_VALGRIND ? 300 : 10));

  double client_cpu = 0, client_sys = 0, server_cpu = 0, proxy_cpu = 0, wall = 0, setup = 0;
  std::uint64_t done = 0, switches = 0;
  for (auto _ : state) {
    bench::pause(state);
    CountingSink sink(tls, via);
    const auto setup_start = Clock::now();
    std::unique_ptr<probe::Sweep> sweep;
    try {
      sweep = std::make_unique<probe::Sweep>(config, targets, routes, sink);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    setup += std::chrono::duration<double>(Clock::now() - setup_start).count();
    bench::resume(state);

    const double client0 = bench::thread_cpu_seconds(), server0 = server.cpu_seconds();
    const double proxy0 = proxy ? proxy->cpu_seconds() : 0;
    const auto tunnels0 = proxy ? proxy->tunnels() : 0;
    const auto usage0 = bench::thread_usage();
    const auto start = Clock::now();
    const auto stats = sweep->run();  // threads=1: the event loop runs on this thread
    wall += std::chrono::duration<double>(Clock::now() - start).count();
    client_cpu += bench::thread_cpu_seconds() - client0;
    server_cpu += server.cpu_seconds() - server0;
    if (proxy) proxy_cpu += proxy->cpu_seconds() - proxy0;
    const auto tunnels = proxy ? proxy->tunnels() - tunnels0 : probes;
    const auto usage1 = bench::thread_usage();
    client_sys += usage1.system_seconds - usage0.system_seconds;
    switches += usage1.context_switches - usage0.context_switches;

    bench::pause(state);
    sweep.reset();
    bench::resume(state);
    done += sink.count;
    if (!sink.first_failure.empty() || sink.ok != probes || stats.finished != probes) {
      state.SkipWithError(
          fmt::format("{} of {} probes ok; first failure: {}", sink.ok, probes, sink.first_failure)
              .c_str());
      break;
    }
    if (tunnels != probes) {
      state.SkipWithError(
          fmt::format("the proxy made {} tunnels for {} probes", tunnels, probes).c_str());
      break;
    }
  }
  if (done == 0) return;
  const auto n = static_cast<double>(done);
  state.SetItemsProcessed(static_cast<std::int64_t>(done));
  state.counters["client_cpu_us/probe"] = 1e6 * client_cpu / n;
  state.counters["server_cpu_us/probe"] = 1e6 * server_cpu / n;
  state.counters["client_sys_us/probe"] = 1e6 * client_sys / n;
  state.counters["client_ctx_switches/probe"] = static_cast<double>(switches) / n;
  if (proxy) state.counters["proxy_cpu_us/probe"] = 1e6 * proxy_cpu / n;
  state.counters["cores_busy"] = (client_cpu + server_cpu + proxy_cpu) / wall;
  state.counters["sweep_setup_ms"] = 1e3 * setup / static_cast<double>(state.iterations());
}

// Sweeps at 1, 16 and 64 in flight over a fixed set of probes, timed by the wall clock (the
// probe benchmarks' own threads and the server's run beside the benchmark's).
void probe_sweeps(benchmark::internal::Benchmark* b, std::int64_t probes) {
  b->ArgNames({"concurrency", "probes"});
  for (const std::int64_t concurrency : {1, 16, 64}) b->Args({concurrency, probes});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}
void tls_probe_sweeps(benchmark::internal::Benchmark* b) {
  probe_sweeps(b, 256);
}
void plain_probe_sweeps(benchmark::internal::Benchmark* b) {
  probe_sweeps(b, 1024);
}

void BM_DirectTlsProbe(benchmark::State& state) {
  sweep_benchmark(state, true);
}
void BM_PlainHttpProbe(benchmark::State& state) {
  sweep_benchmark(state, false);
}

BENCHMARK(BM_DirectTlsProbe)->Apply(tls_probe_sweeps);
BENCHMARK(BM_PlainHttpProbe)->Apply(plain_probe_sweeps);

// The same TLS probes through an in-process tunnelling proxy (see TunnelProxy in loopback.hpp):
// route `cli` with http://127.0.0.1:PORT (HTTP CONNECT) or socks5://127.0.0.1:PORT (the client
// sends the IPv4 address). Every probe opens its own tunnel: two TCP connections, one handshake.
void BM_ConnectTunnelTlsProbe(benchmark::State& state) {
  sweep_benchmark(state, true, Via::http_connect);
}
void BM_Socks5TlsProbe(benchmark::State& state) {
  sweep_benchmark(state, true, Via::socks5);
}
BENCHMARK(BM_ConnectTunnelTlsProbe)->Apply(tls_probe_sweeps);
BENCHMARK(BM_Socks5TlsProbe)->Apply(tls_probe_sweeps);

// ---------------------------------------------------------------------------------------------
// BM_InMemoryTlsHandshake: the crypto floor. Client and server SSL objects joined by a BIO pair
// (no sockets, no event loop), the engine's own client SSL_CTX
// and host check, the server's SSL_CTX. Both sides run on this thread, one after the other.

// One client/server pair joined by a BIO pair, not yet handshaken.
struct MemoryTlsPair {
  MemoryTlsPair(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& host = "127.0.0.1")
      : client(SSL_new(client_ctx)), server(SSL_new(server_ctx)) {
    BIO *client_bio = nullptr, *server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_bio(server, server_bio, server_bio);
    error = net::prepare_client_session(client, host, true);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
  }
  ~MemoryTlsPair() {
    SSL_free(client);
    SSL_free(server);
  }
  MemoryTlsPair(const MemoryTlsPair&) = delete;
  MemoryTlsPair& operator=(const MemoryTlsPair&) = delete;

  // Drives both sides to the end of the handshake, adding each side's time; empty on success.
  std::string handshake(double& client_seconds, double& server_seconds) {
    bool client_done = false, server_done = false;
    for (int round = 0; error.empty() && !(client_done && server_done); ++round) {
      if (!client_done) client_done = step(client, client_seconds);
      if (!server_done && error.empty()) server_done = step(server, server_seconds);
      if (round > 10) error = "handshake does not finish";
    }
    if (error.empty() && SSL_get_verify_result(client) != X509_V_OK)
      error = "certificate not verified";
    if (error.empty() && SSL_version(client) != TLS1_3_VERSION) error = "not TLS 1.3";
    return error;
  }

  bool step(SSL* ssl, double& seconds) {
    const auto start = Clock::now();
    const int r = SSL_do_handshake(ssl);
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    if (r == 1) return true;
    const int code = SSL_get_error(ssl, r);
    if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE)
      error = fmt::format("handshake failed (SSL_get_error {})", code);
    return false;
  }

  SSL* client;
  SSL* server;
  std::string error;
};

// The floors' loop: one full handshake per iteration, each side's CPU time as a counter.
void handshakes(benchmark::State& state, SSL_CTX* client_ctx, SSL_CTX* server_ctx,
                const std::string& host) {
  double client_seconds = 0, server_seconds = 0;
  for (auto _ : state) {
    MemoryTlsPair pair(client_ctx, server_ctx, host);
    if (const auto error = pair.handshake(client_seconds, server_seconds); !error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  const auto n = static_cast<double>(state.iterations());
  if (n == 0) return;
  state.SetItemsProcessed(state.iterations());
  state.counters["client_cpu_us/hs"] = 1e6 * client_seconds / n;
  state.counters["server_cpu_us/hs"] = 1e6 * server_seconds / n;
}

void BM_InMemoryTlsHandshake(benchmark::State& state) {
  auto& env = Env::get();
  handshakes(state, env.client_context().native().native_handle(),
             env.cert.server_context().native_handle(), "127.0.0.1");
}
BENCHMARK(BM_InMemoryTlsHandshake)->UseRealTime()->Unit(benchmark::kMicrosecond);

// BM_InMemoryTlsHandshakeChain: the same floor for a server that sends leaf + intermediate and a
// host name check, as real servers and bench/peers.sh's nginx do: two more signatures to verify
// and one more certificate to decode per handshake. The PEM files come from the caller
// (peers.sh's PKI), so it is registered only when URLPROBE_BENCH_CHAIN_DIR (chain.pem, leaf.key,
// root.pem) and URLPROBE_BENCH_HOST are set.
void BM_InMemoryTlsHandshakeChain(benchmark::State& state, const std::string& dir,
                                  const std::string& host) {
  const std::string root = dir + "/root.pem";
  net::TlsClientContext client_context(net::TlsConfig{.ca_file = root, .public_roots = root});
  boost::asio::ssl::context server(boost::asio::ssl::context::tls_server);
  SSL_CTX* server_ctx = server.native_handle();
  SSL_CTX_set_min_proto_version(server_ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(server_ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(server_ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(server_ctx, 0);
  if (SSL_CTX_use_certificate_chain_file(server_ctx, (dir + "/chain.pem").c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(server_ctx, (dir + "/leaf.key").c_str(), SSL_FILETYPE_PEM) != 1) {
    state.SkipWithError(("cannot load chain.pem and leaf.key from " + dir).c_str());
    return;
  }
  handshakes(state, client_context.native().native_handle(), server_ctx, host);
}

// What the engine adds per TLS probe after the handshake: reading the session's facts.
void BM_ReadTlsFacts(benchmark::State& state) {
  // One handshake for the whole run: it costs as much as ~100 reads.
  static const auto pair = [] {
    auto& env = Env::get();
    auto p = std::make_unique<MemoryTlsPair>(env.client_context().native().native_handle(),
                                             env.cert.server_context().native_handle());
    double ignored = 0;
    auto error = p->handshake(ignored, ignored);
    return std::make_pair(std::move(p), std::move(error));
  }();
  if (!pair.second.empty()) {
    state.SkipWithError(pair.second.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(net::read_tls_facts(pair.first->client));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadTlsFacts)->Unit(benchmark::kMicrosecond);

// Once per sweep: the client SSL_CTX with the system trust store plus --ca-file.
void BM_TlsClientContextSetup(benchmark::State& state) {
  auto& env = Env::get();
  for (auto _ : state)
    net::TlsClientContext context(
        net::TlsConfig{.ca_file = env.cert.pem_path(), .public_roots = env.cert.pem_path()});
}
BENCHMARK(BM_TlsClientContextSetup)->Unit(benchmark::kMillisecond)->Iterations(20);

// ---------------------------------------------------------------------------------------------
// Synthetic results for the report benchmarks: a pool of distinct records (real target URLs and
// rows from the built-in sheet, outcomes in realistic proportions, TLS facts, timings), cycled
// through to make 1M results per iteration. The pool stays hot in cache, like results that
// arrive one by one from the probes.

constexpr std::size_t kPoolSize = 4096;  // a power of two
constexpr std::int64_t kResultsPerIteration = 1'000'000;

const std::vector<probe::Result>& result_pool() {
  static const std::vector<probe::Result> pool = [] {
    const auto sheet = sheet::builtin_analyzer_targets();
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> ms(0.05, 40.0);
    const probe::Outcome outcomes[] = {
        probe::Outcome::ok,
        probe::Outcome::ok,
        probe::Outcome::ok,
        probe::Outcome::ok,
        probe::Outcome::ok,
        probe::Outcome::ok,
        probe::Outcome::not_configured,
        probe::Outcome::tls_intercepted,
        probe::Outcome::proxy_auth_required,
        probe::Outcome::proxy_denied,
        probe::Outcome::dns_error,
        probe::Outcome::connect_timeout,
        probe::Outcome::connect_refused,
        probe::Outcome::tls_untrusted,
        probe::Outcome::timeout,
        probe::Outcome::unexpected_status,
    };
    const route::Method methods[] = {route::Method::default_proxy, route::Method::wpad,
                                     route::Method::direct, route::Method::named,
                                     route::Method::cli};
    const auto started = std::chrono::system_clock::from_time_t(1795000000);
    std::vector<probe::Result> out;
    out.reserve(kPoolSize);
    for (std::size_t i = 0; i < kPoolSize; ++i) {
      const auto& t = sheet.targets[i % sheet.targets.size()];
      probe::Result r;
      r.sweep_index = i;
      r.url = t.url;
      r.host = t.host;
      r.port = t.port;
      sheet::RowFacts row = t.row;
      row.geography = i % 3 ? "US" : "WW";
      row.os = "Windows";
      row.category = "CnCURLs";
      r.row = sheet::TargetRow(std::move(row));
      r.route = methods[i % std::size(methods)];
      if (r.route != route::Method::direct) r.proxy = "http://user:***@10.0.0.6:8080";
      r.outcome = outcomes[rng() % std::size(outcomes)];
      r.started = started + std::chrono::microseconds(rng() % 60'000'000);
      if (r.outcome == probe::Outcome::not_configured) {
        r.detail = "this route is not available yet";
        out.push_back(std::move(r));
        continue;
      }
      r.ms.dns = ms(rng);
      r.ms.connect = ms(rng);
      if (!r.proxy.empty()) r.ms.tunnel = ms(rng);
      r.address = fmt::format("203.0.113.{}:{}", i % 250 + 1, r.proxy.empty() ? t.port : 8080);
      switch (r.outcome) {
        case probe::Outcome::dns_error:
          r.detail = "NXDOMAIN: name does not exist";
          break;
        case probe::Outcome::connect_timeout:
          r.detail = "no answer to SYN within 10000 ms (dropped by a firewall?)";
          break;
        case probe::Outcome::connect_refused:
          r.detail = "connection refused";
          break;
        case probe::Outcome::proxy_auth_required:
          r.proxy_status = 407;
          r.detail = "proxy requires authentication (Basic realm=\"corp\")";
          break;
        case probe::Outcome::proxy_denied:
          r.proxy_status = 403;
          r.detail = "proxy denied the tunnel: 403 Forbidden";
          break;
        case probe::Outcome::timeout:
          r.detail = "tls: handshake not finished within 10000 ms";
          break;
        default:
          break;
      }
      if (r.outcome == probe::Outcome::ok || r.outcome == probe::Outcome::tls_intercepted ||
          r.outcome == probe::Outcome::tls_untrusted ||
          r.outcome == probe::Outcome::unexpected_status) {
        if (!r.proxy.empty()) r.proxy_status = 200;
        net::TlsFacts tls;
        tls.version = "TLSv1.3";
        tls.cipher = "TLS_AES_256_GCM_SHA384";
        tls.subject = "CN=" + r.host;
        tls.not_after = "2027-05-01T00:00:00Z";
        tls.verified = r.outcome != probe::Outcome::tls_untrusted;
        if (r.outcome == probe::Outcome::tls_intercepted) {
          tls.issuer = "CN=Contoso Inspection CA,O=Contoso \"Security\",C=DE";
          r.detail = "chain anchored in CN=Contoso Inspection CA, not a public root";
        } else {
          tls.issuer = "CN=Microsoft Azure RSA TLS Issuing CA 03,O=Microsoft Corporation,C=US";
        }
        if (r.outcome == probe::Outcome::tls_untrusted)
          r.detail = "certificate expired on 2025-01-01T00:00:00Z";
        r.tls = std::move(tls);
        r.ms.tls = ms(rng);
        if (r.outcome != probe::Outcome::tls_untrusted) {
          r.ms.ttfb = ms(rng);
          r.http_status = r.outcome == probe::Outcome::unexpected_status ? 404 : 200;
          if (r.http_status == 404) r.detail = "HTTP 404 is not an expected status";
        }
      }
      r.ms.total = r.ms.dns.value_or(0) + r.ms.connect.value_or(0) + r.ms.tunnel.value_or(0) +
                   r.ms.tls.value_or(0) + r.ms.ttfb.value_or(0);
      out.push_back(std::move(r));
    }
    return out;
  }();
  return pool;
}

// ---------------------------------------------------------------------------------------------
// BM_ResultAggregationSummary: the per-result aggregation every sweep does.

void BM_ResultAggregationSummary(benchmark::State& state) {
  const auto& pool = result_pool();
  for (auto _ : state) {
    report::Summary summary;
    summary.planned = kResultsPerIteration;
    // Walked by pointer, not by index: add() is a few instructions, and indexing by
    // sizeof(Result) cost as many (imul, or three shifts when the size changed to 31 x 32).
    const probe::Result* r = pool.data();
    const probe::Result* const end = r + pool.size();
    for (std::int64_t i = 0; i < kResultsPerIteration; ++i) {
      summary.add(*r);
      if (++r == end) r = pool.data();
    }
    benchmark::DoNotOptimize(summary.failures());
    benchmark::DoNotOptimize(summary);
  }
  state.SetItemsProcessed(state.iterations() * kResultsPerIteration);
}
BENCHMARK(BM_ResultAggregationSummary)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// BM_JsonlWriter: the v1 record serialiser alone, the jsonl ResultWriter (which flushes after
// every line), and the same bytes through the same FILE* without per-line flushes, to show what
// the flush costs on /dev/null, a regular file and a pipe (`urlprobe --format jsonl | jq`).

enum class JsonlPath { string, writer, buffered };
enum class Output { none, devnull, tmpfile, pipe };

// A FILE* for the writer; for a pipe, a thread drains the other end (as a consumer would).
class OutputFile {
 public:
  explicit OutputFile(Output kind) : kind_(kind) {
    if (kind == Output::devnull) file_ = std::fopen("/dev/null", "w");
    if (kind == Output::tmpfile) file_ = std::tmpfile();  // unlinked, on the root file system
    if (kind == Output::pipe) {
      int fds[2];
      if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
      file_ = fdopen(fds[1], "w");
      reader_ = std::thread([fd = fds[0]] {
        std::vector<char> buffer(1 << 16);
        while (read(fd, buffer.data(), buffer.size()) > 0) {
        }
        close(fd);
      });
    }
    if (kind != Output::none && !file_) throw std::runtime_error("cannot open the output file");
  }
  ~OutputFile() {
    if (file_) std::fclose(file_);
    if (reader_.joinable()) reader_.join();
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::FILE* get() const { return file_; }
  void restart() {  // keeps a regular file from growing without end
    if (kind_ == Output::tmpfile) std::rewind(file_);
  }

 private:
  Output kind_;
  std::FILE* file_ = nullptr;
  std::thread reader_;
};

void BM_JsonlWriter(benchmark::State& state, JsonlPath path, Output output) {
  const auto& pool = result_pool();
  const std::int64_t count = state.range(0);
  std::vector<std::int64_t> sizes;  // of each pool record's line, newline included
  std::string line;
  for (const auto& r : pool) {
    line.clear();
    report::append_jsonl(line, r);
    sizes.push_back(static_cast<std::int64_t>(line.size()) + 1);
  }
  std::int64_t bytes_per_iteration = 0;
  for (std::int64_t i = 0; i < count; ++i)
    bytes_per_iteration += sizes[static_cast<std::size_t>(i) & (kPoolSize - 1)];

  OutputFile file(path == JsonlPath::string ? Output::none : output);
  std::FILE* out = file.get();
  const std::vector<route::Route> routes{route::direct_route()};
  auto writer =
      out ? report::make_writer(report::Format::jsonl, out, probe::route_columns(routes)) : nullptr;
  for (auto _ : state) {
    bench::pause(state);
    file.restart();
    bench::resume(state);
    for (std::int64_t i = 0; i < count; ++i) {
      const auto& r = pool[static_cast<std::size_t>(i) & (kPoolSize - 1)];
      switch (path) {
        case JsonlPath::string:
          line.clear();
          report::append_jsonl(line, r);
          benchmark::DoNotOptimize(line.data());
          break;
        case JsonlPath::writer:
          writer->write(r);
          break;
        case JsonlPath::buffered:
          line.clear();
          report::append_jsonl(line, r);
          line += '\n';
          std::fwrite(line.data(), 1, line.size(), out);
          break;
      }
    }
    if (out) std::fflush(out);
  }
  state.SetItemsProcessed(state.iterations() * count);
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}
BENCHMARK_CAPTURE(BM_JsonlWriter, string, JsonlPath::string, Output::none)
    ->Arg(kResultsPerIteration)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, writer_devnull, JsonlPath::writer, Output::devnull)
    ->Arg(kResultsPerIteration)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, buffered_devnull, JsonlPath::buffered, Output::devnull)
    ->Arg(kResultsPerIteration)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, writer_tmpfile, JsonlPath::writer, Output::tmpfile)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, buffered_tmpfile, JsonlPath::buffered, Output::tmpfile)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, writer_pipe, JsonlPath::writer, Output::pipe)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_JsonlWriter, buffered_pipe, JsonlPath::buffered, Output::pipe)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// BM_ResultDiff: `urlprobe diff` over two runs of N results each with distinct keys (the pool's
// records, each URL made unique by a query). The NEW run differs from OLD the way a nightly run
// does: 1 in 64 keys change outcome, 1 in 256 are only in OLD, 1 in 256 only in NEW, and every
// timing moves a little. Building the two runs is outside the timing.

struct DiffRuns {
  std::vector<probe::Result> old_run, new_run;
};

const DiffRuns& diff_runs(std::size_t n) {
  static std::map<std::size_t, DiffRuns> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (!inserted) return it->second;
  const auto& pool = result_pool();
  auto& runs = it->second;
  runs.old_run.reserve(n);
  runs.new_run.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    probe::Result r = pool[i & (kPoolSize - 1)];
    r.url += fmt::format("{}i={}", r.url.find('?') == std::string::npos ? '?' : '&', i);
    r.sweep_index = i;
    probe::Result changed = r;
    changed.ms.total = r.ms.total * 1.1;
    if (i % 64 == 7)
      changed.outcome =
          r.outcome == probe::Outcome::ok ? probe::Outcome::connect_timeout : probe::Outcome::ok;
    if (i % 256 == 13) changed.url += "&only=new";
    if (i % 256 != 29) runs.new_run.push_back(std::move(changed));
    runs.old_run.push_back(std::move(r));
  }
  return runs;
}

void BM_ResultDiff(benchmark::State& state) {
  const auto& runs = diff_runs(static_cast<std::size_t>(state.range(0)));
  std::size_t entries = 0;
  for (auto _ : state) {
    const auto diff = report::diff_results(runs.old_run, runs.new_run);
    entries = diff.broke.size() + diff.recovered.size() + diff.changed.size() + diff.added.size() +
              diff.removed.size();
    benchmark::DoNotOptimize(diff);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(runs.new_run.size()));
  state.counters["entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_ResultDiff)
    ->ArgName("results")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// BM_ParseTargetUrl: every URL cell of the built-in vendor sheets (bare hosts, wildcards, paths),
// plus the forms users type on the command line.

std::vector<std::string> realistic_urls() {
  std::vector<std::string> urls;
  for (const auto& builtin : sheet::builtin_sheets()) {
    const auto records = sheet::parse_csv(builtin.text);
    if (records.empty()) continue;
    const auto& header = records.front().fields;
    const auto column = std::find(header.begin(), header.end(), "url") - header.begin();
    for (std::size_t i = 1; i < records.size(); ++i)
      if (static_cast<std::size_t>(column) < records[i].fields.size())
        urls.push_back(records[i].fields[static_cast<std::size_t>(column)]);
  }
  for (const char* extra : {
           "https://winatp-gw-cus.microsoft.com/test",
           "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl",
           "https://127.0.0.1:8443/?i=42",
           "https://[2001:db8::7]:443/commands/test",
           "HTTPS://Login.MicrosoftOnline.com:443/common/oauth2/v2.0/token?x=1&y=%20z",
           "go.microsoft.com/fwlink/?linkid=2235107",
       })
    urls.emplace_back(extra);
  return urls;
}

void BM_ParseTargetUrl(benchmark::State& state) {
  const auto urls = realistic_urls();
  std::size_t errors = 0;
  for (auto _ : state) {
    for (const auto& url : urls) {
      auto parsed = sheet::parse_target_url(url);
      errors += parsed.index();
      benchmark::DoNotOptimize(parsed);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(urls.size()));
  state.counters["urls"] = static_cast<double>(urls.size());
  state.counters["rejected"] = static_cast<double>(errors) /
                               static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}
BENCHMARK(BM_ParseTargetUrl)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// Sheets: the built-in table, a 100k-row vendor-shaped CSV and the same rows as .xlsx.

constexpr std::size_t kCsvRows = 100'000;
constexpr std::size_t kXlsxRows = 20'000;

// The benchmark's temp files, made on first use and removed at exit.
struct SheetFiles {
  bench::TempDir dir;
  std::string csv_path = dir.file("vendor-100k.csv");
  std::size_t csv_bytes = 0;
  std::string xlsx_path = dir.file("vendor.xlsx");
  std::string xlsx_bytes;  // the file, for read_xlsx
  std::string xlsx_error;  // why there is no .xlsx
  double xlsx_seconds = 0;

  static SheetFiles& get() {
    static SheetFiles files;
    return files;
  }
  const std::string& csv() {
    if (csv_bytes == 0) {
      const auto text = bench::vendor_csv(kCsvRows);
      bench::write_file(csv_path, text);
      csv_bytes = text.size();
    }
    return csv_path;
  }
  // Once per process: openpyxl needs several seconds for 100k rows.
  const std::string& xlsx() {
    if (xlsx_bytes.empty() && xlsx_error.empty()) {
      std::string source = csv();
      if (kXlsxRows != kCsvRows) {
        source = dir.file("vendor-xlsx-rows.csv");
        bench::write_file(source, bench::vendor_csv(kXlsxRows));
      }
      xlsx_error = bench::csv_to_xlsx_with_openpyxl(source, xlsx_path, dir.path(), xlsx_seconds);
      if (xlsx_error.empty()) xlsx_bytes = sheet::read_file(xlsx_path);
    }
    return xlsx_error;
  }
};

// Empty when `list` holds one target per data row and no errors; else what is wrong.
std::string check_targets(const sheet::TargetList& list, std::size_t rows) {
  if (!list.errors.empty())
    return fmt::format("{} input errors, first: {}", list.errors.size(),
                       sheet::format_input_error(list.errors.front()));
  // A *.dm.microsoft.com row is probed at the analyzer's three hosts: one row, three targets.
  std::size_t representative = 0;
  std::set<int> representative_rows;
  for (const auto& target : list.targets)
    if (target.row.representative()) {
      ++representative;
      representative_rows.insert(target.row.line);
    }
  if (list.targets.size() - representative + representative_rows.size() != rows)
    return fmt::format("{} targets from {} rows", list.targets.size(), rows);
  return {};
}

// The default input of `urlprobe`: the built-in commercial table, deduplicated.
void BM_SheetParseBuiltin(benchmark::State& state) {
  std::size_t rows = 0, targets = 0;
  try {
    sheet::TargetList warm;  // builds the analyzer path table (a static) outside the timing
    sheet::load_builtin("commercial", {}, warm);
    rows = warm.targets.size();
    sheet::deduplicate(warm);
    targets = warm.targets.size();
    if (!warm.errors.empty())
      throw std::runtime_error(sheet::format_input_error(warm.errors.front()));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    sheet::TargetList list;
    sheet::load_builtin("commercial", {}, list);
    sheet::deduplicate(list);
    benchmark::DoNotOptimize(list.targets.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows));
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["targets"] = static_cast<double>(targets);
}
BENCHMARK(BM_SheetParseBuiltin)->Unit(benchmark::kMicrosecond);

void BM_SheetParseCsv100k(benchmark::State& state) {
  auto& files = SheetFiles::get();
  try {
    files.csv();
    sheet::TargetList list;
    sheet::load_sheet_file(files.csv_path, {}, list);
    if (const auto problem = check_targets(list, kCsvRows); !problem.empty())
      throw std::runtime_error(problem);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    sheet::TargetList list;
    sheet::load_sheet_file(files.csv_path, {}, list);
    benchmark::DoNotOptimize(list.targets.data());
    bench::pause(state);
    list = {};  // freeing 100k targets is not parsing
    bench::resume(state);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kCsvRows));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(files.csv_bytes));
}
BENCHMARK(BM_SheetParseCsv100k)->Unit(benchmark::kMillisecond);

enum class XlsxStage { read_xlsx, load_sheet_file };

// read_xlsx: the workbook in memory to cells (zip, XML, shared strings). load_sheet_file: the
// whole path from the file name to targets (file read, read_xlsx, header, URL cells).
void BM_SheetParseXlsx(benchmark::State& state, XlsxStage stage) {
  auto& files = SheetFiles::get();
  try {
    if (const auto& error = files.xlsx(); !error.empty()) throw std::runtime_error(error);
    const auto sheets = sheet::read_xlsx(files.xlsx_bytes);
    if (sheets.size() != 1 || sheets[0].rows.size() != kXlsxRows + 2)
      throw std::runtime_error(fmt::format("read_xlsx: {} sheets, {} rows in the first",
                                           sheets.size(),
                                           sheets.empty() ? 0 : sheets[0].rows.size()));
    sheet::TargetList list;
    sheet::load_sheet_file(files.xlsx_path, {}, list);
    if (const auto problem = check_targets(list, kXlsxRows); !problem.empty())
      throw std::runtime_error(problem);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    if (stage == XlsxStage::read_xlsx) {
      auto sheets = sheet::read_xlsx(files.xlsx_bytes);
      benchmark::DoNotOptimize(sheets.data());
      bench::pause(state);
      sheets = {};
      bench::resume(state);
    } else {
      sheet::TargetList list;
      sheet::load_sheet_file(files.xlsx_path, {}, list);
      benchmark::DoNotOptimize(list.targets.data());
      bench::pause(state);
      list = {};
      bench::resume(state);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kXlsxRows));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(files.xlsx_bytes.size()));
  state.counters["openpyxl_s"] = files.xlsx_seconds;
}
BENCHMARK_CAPTURE(BM_SheetParseXlsx, read_xlsx, XlsxStage::read_xlsx)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SheetParseXlsx, load_sheet_file, XlsxStage::load_sheet_file)
    ->Unit(benchmark::kMillisecond);

// Under callgrind (bench/check.py's instruction guard), Google Benchmark's extra "memory" run of
// each benchmark, made after its timed run, becomes an instruction count: the costs of every
// thread are zeroed before and dumped after, so one-time set-up (fixtures, certificates, the
// first handshake's lazy OpenSSL init) falls outside it. Counted instructions, unlike time, do
// not move with whatever else shares the machine.
// The run's iteration count is not passed to Stop, but the report's allocs_per_iter is
// num_allocs / iterations: check.py divides kIterationsMark by it to get the count back.
class CallgrindMarks final : public benchmark::MemoryManager {
 public:
  static constexpr std::int64_t kIterationsMark = std::int64_t{1} << 40;
  void Start() override { CALLGRIND_ZERO_STATS; }
  void Stop(Result& result) override {
    CALLGRIND_DUMP_STATS_AT("urlprobe_bench");
    result.num_allocs = kIterationsMark;
  }
  void Stop(Result* result) override { Stop(*result); }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  static CallgrindMarks callgrind_marks;
  if (RUNNING_ON_VALGRIND) benchmark::RegisterMemoryManager(&callgrind_marks);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("openssl", OpenSSL_version(OPENSSL_VERSION));
  benchmark::AddCustomContext("traffic", "127.0.0.1 only");
  const char* chain_dir = std::getenv("URLPROBE_BENCH_CHAIN_DIR");
  const char* chain_host = std::getenv("URLPROBE_BENCH_HOST");
  if (chain_dir && chain_host)
    benchmark::RegisterBenchmark("BM_InMemoryTlsHandshakeChain", BM_InMemoryTlsHandshakeChain,
                                 std::string(chain_dir), std::string(chain_host))
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
