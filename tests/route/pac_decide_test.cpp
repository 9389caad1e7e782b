// decide_pac and load_pac against in-process servers: a DNS server that never answers, an HTTP
// server that sends an interim response before the script.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "net/dns_server.hpp"
#include "probe/test_servers.hpp"
#include "route/pac.hpp"
#include "route/wpad.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;

namespace {

// The corporate PAC of the issue: the target's own address decides, a shared proxy name next.
constexpr const char* kInNetScript = R"(function FindProxyForURL(url, host) {
  if (isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0")) return "DIRECT";
  if (isResolvable("proxy.corp")) return "PROXY proxy.corp:3128";
  return "PROXY fallback.corp:8080";
})";

route::PacSource source_of(std::string text) {
  route::PacSource source;
  source.location = "test.pac";
  source.text = std::move(text);
  return source;
}

}  // namespace

// Ten hosts, a DNS server that swallows every query: each FindProxyForURL call gives its lookups
// no more than its own deadline, so the ten decisions end within ten call deadlines (not ten DNS
// budgets), each lookup counts as failed, and every decision says the deadline cut it short.
TEST(PacDecide, SilentDnsServerCostsEachCallAtMostItsDeadline) {
  constexpr int kHosts = 10;
  const route::PacLimits limits{std::chrono::milliseconds(200)};
  test::ServerThread servers;
  std::unique_ptr<test::dns::DnsServer> dns_server;
  std::set<std::string> asked;  // server thread only
  std::unique_ptr<test::DeadlineWitness> witness;
  servers.call([&] {
    dns_server = std::make_unique<test::dns::DnsServer>(
        servers.io, [&](const test::dns::Query& q, test::dns::Transport) {
          asked.insert(q.name);
          return std::optional<std::string>{};
        });
    // Before the fix each lookup took 3/4 of the DNS budget: 10 x 1.5 s, far past this witness.
    witness = std::make_unique<test::DeadlineWitness>(servers.io, kHosts * limits.per_call);
  });

  net::ResolverConfig dns;
  dns.dns_servers = dns_server->address();
  dns.budget = std::chrono::milliseconds(2000);
  std::vector<route::PacTarget> targets;
  std::set<std::string> hosts;
  for (int i = 0; i < kHosts; ++i) {
    const auto host = "host" + std::to_string(i) + ".corp";
    targets.push_back({"https://" + host + "/", host});
    hosts.insert(host);
  }
  const auto decisions =
      route::decide_pac(source_of(kInNetScript), targets, dns, "10.1.2.3", limits);

  bool on_time = false;
  servers.call([&] {
    on_time = witness->on_time();
    dns_server->stop();
  });
  servers.stop();
  EXPECT_TRUE(on_time) << "deciding " << kHosts << " hosts outlived " << kHosts
                       << " call deadlines";
  ASSERT_EQ(decisions->size(), targets.size());
  for (const auto& target : targets) {
    SCOPED_TRACE(target.url);
    const auto& d = decisions->at(target.url);
    EXPECT_EQ(d.error, "") << "a lookup cut short is a failed lookup, not a failed call";
    EXPECT_EQ(d.answer, "PROXY fallback.corp:8080");
    EXPECT_THAT(d.warning, HasSubstr("deadline"));
    EXPECT_THAT(d.warning, HasSubstr(target.host));
    EXPECT_GT(d.ms, 0.0);
  }
  // Only the target names reached the server: proxy.corp came after each call's lookups had
  // used up their share of the deadline, so it failed without a query.
  for (const auto& name : asked) EXPECT_TRUE(hosts.count(name)) << name << " was asked";
}

// The PAC engine caches lookups for its lifetime (a sweep): a name every call asks about, such as
// isResolvable("proxy.corp"), goes to the DNS server once.
TEST(PacDecide, ASharedNameIsResolvedOnceAcrossCalls) {
  test::ServerThread servers;
  std::unique_ptr<test::dns::DnsServer> dns_server;
  std::multiset<std::pair<std::string, std::uint16_t>> asked;  // server thread only
  servers.call([&] {
    dns_server = std::make_unique<test::dns::DnsServer>(
        servers.io, [&](const test::dns::Query& q, test::dns::Transport) {
          asked.insert({q.name, q.type});
          if (q.name != "proxy.corp" || q.type != test::dns::type::a)
            return std::optional(test::dns::error_reply(q, test::dns::Rcode::nxdomain));
          return std::optional(test::dns::answer(q, {test::dns::a_record(q.name, "192.0.2.8")}));
        });
  });
  net::ResolverConfig dns;
  dns.dns_servers = dns_server->address();
  const auto decisions = route::decide_pac(
      source_of(kInNetScript),
      {{"https://a.corp/", "a.corp"}, {"https://b.corp/", "b.corp"}, {"https://c.corp/", "c.corp"}},
      dns, "10.1.2.3");
  std::size_t proxy_a_queries = 0;
  servers.call([&] {
    proxy_a_queries = asked.count({"proxy.corp", test::dns::type::a});
    dns_server->stop();
  });
  servers.stop();  // before dns_server is destroyed here: its loop runs on that thread
  for (const auto& [url, d] : *decisions) EXPECT_EQ(d.answer, "PROXY proxy.corp:3128") << url;
  EXPECT_EQ(proxy_a_queries, 1u);
}

// A PAC server that says "100 Continue" first: the interim response is skipped, the script loads.
TEST(PacFetch, InterimResponsesAreSkipped) {
  const std::string script = "function FindProxyForURL(url, host) { return 'DIRECT'; }";
  test::ServerThread servers;
  std::unique_ptr<test::TestServer> http;
  servers.call([&] {
    http = std::make_unique<test::TestServer>(servers.io, [&](test::tcp::socket& socket) {
      return test::http_answer(socket,
                               "HTTP/1.1 100 Continue\r\n\r\n"
                               "HTTP/1.1 102 Processing\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nContent-Length: " +
                                   std::to_string(script.size()) + "\r\n\r\n" + script);
    });
  });
  const auto url = http->url("http", "/proxy.pac");
  route::PacSource source;
  std::string error;
  try {
    source = route::load_pac(url, {}, std::chrono::seconds(5));
  } catch (const std::exception& e) {
    error = e.what();
  }
  servers.call([&] { http->stop(); });
  EXPECT_EQ(error, "");
  EXPECT_EQ(source.text, script);
  EXPECT_EQ(source.location, url);
}
