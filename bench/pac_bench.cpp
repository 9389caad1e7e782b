// PAC evaluation: what route wpad costs before a sweep starts.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "route/pac.hpp"
#include "route/wpad.hpp"

namespace {

using namespace urlprobe;

// A typical enterprise script: bypass lists, a network test, a fail-over chain.
constexpr const char* kScript = R"(
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example") || localHostOrDomainIs(host, "intranet"))
    return "DIRECT";
  if (shExpMatch(host, "*.blob.core.windows.net") || shExpMatch(host, "*.microsoft.com"))
    return "PROXY inspect-bypass.example:8080; PROXY backup.example:8080; DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  return "PROXY proxy.example:3128; DIRECT";
})";

// The script's DNS helpers get literal answers: this measures the JavaScript, not DNS.
route::PacResolve fixed_resolver() {
  return [](const std::string&, std::chrono::milliseconds) {
    return std::optional(std::vector<std::string>{"192.0.2.10"});
  };
}

std::vector<route::PacTarget> targets(std::size_t count, std::size_t hosts) {
  std::vector<route::PacTarget> out;
  for (std::size_t i = 0; i < count; ++i) {
    const auto host = fmt::format("svc{}.microsoft.com", i % hosts);
    out.push_back({fmt::format("https://{}/path/{}", host, i), host});
  }
  return out;
}

// One call into a loaded script: the per-URL cost when the script reads the path.
void BM_PacFindProxy(benchmark::State& state) {
  static route::PacScript script(kScript, "bench.pac", fixed_resolver(), "192.0.2.1");
  std::size_t i = 0;
  for (auto _ : state) {
    const auto host = fmt::format("svc{}.microsoft.com", i++ % 100);
    benchmark::DoNotOptimize(script.find_proxy("https://" + host + "/x", host));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacFindProxy)->Unit(benchmark::kMicrosecond);

// Cold: compiling the script (the Duktape heap, the helpers, the script's top level).
void BM_PacLoadScript(benchmark::State& state) {
  for (auto _ : state) {
    route::PacScript script(kScript, "bench.pac", fixed_resolver(), "192.0.2.1");
    benchmark::DoNotOptimize(&script);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacLoadScript)->Unit(benchmark::kMicrosecond);

// A whole route-wpad decision table, 1000 URLs: over 1000 distinct hosts (every URL evaluated)
// and over 10 hosts (the per-host cache answers the rest).
void BM_PacDecideTable(benchmark::State& state) {
  route::PacSource source{"bench.pac", kScript, ""};
  const auto list = targets(1000, static_cast<std::size_t>(state.range(0)));
  // isInNet(host) makes the script resolve: a closed loopback port refuses at once, so the
  // table measures evaluation plus a failed lookup per host, and sends nothing off the machine.
  net::ResolverConfig dns;
  dns.dns_servers = "127.0.0.1:9";
  for (auto _ : state) benchmark::DoNotOptimize(route::decide_pac(source, list, dns, "192.0.2.1"));
  state.SetItemsProcessed(state.iterations() * static_cast<long>(list.size()));
}
BENCHMARK(BM_PacDecideTable)->ArgName("hosts")->Arg(1000)->Arg(10)->Unit(benchmark::kMillisecond);

}  // namespace
