// The engine's resolver (c-ares on the event loop) against an in-process DNS server that
// misbehaves: each test asserts the named result and that the lookup ended while a deadline
// timer (the DNS budget plus a margin) had not yet fired. The ordering of two events on one
// loop is asserted, never a duration, so a slow machine can only make the margin matter less.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "probe/probe.hpp"
#include "probe/result.hpp"
#include "sheet/url.hpp"
#include "tests/net/dns_server.hpp"

namespace urlprobe::net {
namespace {

namespace asio = boost::asio;
namespace dns = test::dns;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// c-ares gets budget/4 for its first try and twice that for the second, so a silent server is
// named at 3/4 of the budget; the margin is what a loaded sanitizer build may add on top.
constexpr milliseconds kBudget{400};
constexpr milliseconds kMargin{200};

struct Lookup {
  std::optional<ResolveResult> result;
  bool before_deadline = false;  // the result came while the deadline timer was still pending
};

// Every name the tests do not serve is NXDOMAIN, so search domains from the machine's
// resolv.conf (tried before or after the name itself, depending on ndots) change nothing.
std::optional<std::string> nxdomain(const dns::Query& query) {
  return dns::error_reply(query, dns::Rcode::nxdomain);
}

class HostileDns : public ::testing::Test {
 protected:
  dns::DnsServer& serve(dns::Responder responder) {
    server = std::make_unique<dns::DnsServer>(io, std::move(responder));
    return *server;
  }

  ResolverConfig resolver_config() const {
    ResolverConfig config;
    config.dns_servers = server->address();
    config.budget = kBudget;
    config.service_tags = service_tags;
    return config;
  }

  // One lookup with a resolver of its own (so nothing comes from a cache), run until the loop
  // runs out of work: the server stops once the result is in, and the resolver must leave
  // nothing pending behind it.
  Lookup lookup(const std::string& host) {
    Resolver resolver(io, resolver_config());
    Lookup out;
    bool deadline_fired = false;
    asio::steady_timer deadline(io, kBudget + kMargin);
    deadline.async_wait([&](boost::system::error_code ec) {
      if (!ec) deadline_fired = true;
    });
    resolver.resolve(host, 443, [&](const ResolveResult& result) {
      EXPECT_FALSE(out.result.has_value()) << "the handler ran twice";
      out.result = result;
      out.before_deadline = !deadline_fired;
      deadline.cancel();
      server->stop();
    });
    EXPECT_FALSE(out.result.has_value()) << "the handler ran inside resolve()";
    io.restart();
    // A guard against hangs, not a measurement: a correct lookup ends long before.
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(io.stopped()) << "the loop still had work 20 s after the lookup started";
    EXPECT_TRUE(out.result.has_value()) << "the lookup never ended";
    if (out.result) {
      EXPECT_TRUE(out.result->used_dns);
    }
    return out;
  }

  asio::io_context io{1};
  std::unique_ptr<dns::DnsServer> server;
  std::shared_ptr<const ServiceTags> service_tags;  // --service-tags, for the evidence tests
};

std::vector<std::string> as_text(const std::vector<asio::ip::address>& addresses) {
  std::vector<std::string> text;
  for (const auto& address : addresses) text.push_back(address.to_string());
  return text;
}

TEST_F(HostileDns, TruncatedUdpAnswerIsRetriedOverTcp) {
  auto& dns_server = serve([](const dns::Query& query, dns::Transport transport) {
    if (query.name != "big.test") return nxdomain(query);
    if (query.type != dns::type::a) return std::optional(dns::answer(query, {}));
    if (transport == dns::Transport::udp) return std::optional(dns::truncated(query));
    return std::optional(dns::answer(query, {dns::a_record("big.test", "127.0.0.42")}));
  });
  const auto lookup_result = lookup("big.test");
  ASSERT_TRUE(lookup_result.result);
  const auto& result = *lookup_result.result;
  EXPECT_TRUE(result.ok()) << result.error;
  EXPECT_THAT(as_text(result.addresses), ::testing::ElementsAre("127.0.0.42"));
  EXPECT_GE(dns_server.tcp_queries(), 1u) << "the TC bit must send the query again over TCP";
  EXPECT_TRUE(lookup_result.before_deadline);
}

// c-ares drops a reply whose ID matches no query of its own (an off-path spoofing attempt
// looks exactly like this), so the lookup ends as if the server were silent.
TEST_F(HostileDns, WrongTransactionIdIsIgnoredAndTimesOut) {
  auto& dns_server = serve([](const dns::Query& query, dns::Transport) {
    return std::optional(dns::make_reply(query, {dns::a_record(query.name, "127.0.0.42")},
                                         dns::Rcode::noerror, false,
                                         static_cast<std::uint16_t>(query.id ^ 0x5a5a)));
  });
  const auto lookup_result = lookup("spoofed.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_THAT(lookup_result.result->error, StartsWith("DNS timeout: no answer for spoofed.test"));
  EXPECT_TRUE(lookup_result.result->addresses.empty()) << "the spoofed address was accepted";
  EXPECT_GE(dns_server.replies_sent(), 2u) << "the server did answer (with the wrong ID)";
  EXPECT_TRUE(lookup_result.before_deadline);
}

// Shorter than a DNS header: not even an ID to match, so it is dropped like noise.
TEST_F(HostileDns, ReplyShorterThanAHeaderIsIgnoredAndTimesOut) {
  auto& dns_server = serve([](const dns::Query& query, dns::Transport) {
    return std::optional(query.packet.substr(0, 5));
  });
  const auto lookup_result = lookup("short.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_THAT(lookup_result.result->error, StartsWith("DNS timeout: no answer for short.test"));
  EXPECT_GE(dns_server.replies_sent(), 2u);
  EXPECT_TRUE(lookup_result.before_deadline);
}

// The right ID and question, then an answer record cut off inside its address: c-ares accepts
// the reply as the answer and its parser must reject it, not read past the end.
TEST_F(HostileDns, AnswerCutOffMidRecordIsMisformatted) {
  serve([](const dns::Query& query, dns::Transport) {
    auto reply = dns::answer(query, {dns::a_record(query.name, "127.0.0.42")});
    reply.resize(reply.size() - 2);
    return std::optional(reply);
  });
  const auto lookup_result = lookup("cut.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_THAT(lookup_result.result->error, HasSubstr("cut.test"));
  EXPECT_THAT(lookup_result.result->error, HasSubstr("Misformatted DNS reply"));
  EXPECT_TRUE(lookup_result.before_deadline);
}

// An answer whose owner name is a compression pointer to itself: a parser without a bound on
// indirections would loop forever.
TEST_F(HostileDns, CompressionPointerLoopIsMisformatted) {
  serve([](const dns::Query& query, dns::Transport) {
    auto reply = dns::answer(query, {});
    reply[7] = 1;  // ANCOUNT
    const auto self = reply.size();
    dns::append_u16(reply, 0xc000u | static_cast<unsigned>(self));
    dns::append_u16(reply, query.type);
    dns::append_u16(reply, 1);
    dns::append_u32(reply, 60);
    dns::append_u16(reply, 4);
    reply += std::string("\x7f\x00\x00\x2a", 4);
    return std::optional(reply);
  });
  const auto lookup_result = lookup("pointer-loop.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_THAT(lookup_result.result->error, HasSubstr("Misformatted DNS reply"));
  EXPECT_TRUE(lookup_result.before_deadline);
}

// loop-a -> loop-b -> loop-a: c-ares follows CNAMEs only within one answer, in one pass, so a
// loop ends as a name without addresses.
TEST_F(HostileDns, CnameLoopEndsAsNoData) {
  serve([](const dns::Query& query, dns::Transport) {
    if (query.name != "loop-a.test" && query.name != "loop-b.test") return nxdomain(query);
    const std::string other = query.name == "loop-a.test" ? "loop-b.test" : "loop-a.test";
    return std::optional(dns::answer(
        query, {dns::cname_record(query.name, other), dns::cname_record(other, query.name),
                dns::cname_record(query.name, other)}));
  });
  const auto lookup_result = lookup("loop-a.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_THAT(lookup_result.result->error,
              StartsWith("NODATA: loop-a.test exists but has no address records"));
  // The follow-up query that reads the chain of a failed lookup shows the loop and stops.
  EXPECT_THAT(lookup_result.result->error,
              HasSubstr("(CNAME chain loop-a.test -> loop-b.test -> loop-a.test: loops back to "
                        "loop-a.test)"));
  ASSERT_TRUE(lookup_result.result->evidence);
  EXPECT_THAT(lookup_result.result->evidence->cnames,
              ::testing::ElementsAre("loop-b.test", "loop-a.test"));
  EXPECT_TRUE(lookup_result.before_deadline);
}

// 1000 A and 20 AAAA records arrive (over TCP after truncated UDP answers). The resolver keeps
// kMaxAddressesPerFamily of each: the connect stage splits its deadline evenly between the
// addresses it is given, and a thousand would leave each a sliver too short for a SYN round
// trip. The AAAA records are IPv4-mapped loopback addresses, and nothing is connected to.
TEST_F(HostileDns, ThousandARecordsResolveToABoundedListOfEachFamily) {
  std::set<std::string> served;
  std::vector<dns::Record> a_records, aaaa_records;
  for (int i = 0; i < 1000; ++i) {
    const auto address = "127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    served.insert(address);
    a_records.push_back(dns::a_record("many.test", address));
  }
  for (int i = 1; i <= 20; ++i) {
    const auto address = "::ffff:127.2.0." + std::to_string(i);
    served.insert(asio::ip::make_address_v6(address).to_string());
    aaaa_records.push_back(dns::aaaa_record("many.test", address));
  }
  auto& dns_server = serve([&](const dns::Query& query, dns::Transport transport) {
    if (query.name != "many.test") return nxdomain(query);
    if (transport == dns::Transport::udp) return std::optional(dns::truncated(query));
    return std::optional(dns::answer(query, query.type == dns::type::a ? a_records : aaaa_records));
  });
  const auto lookup_result = lookup("many.test");
  ASSERT_TRUE(lookup_result.result);
  const auto& result = *lookup_result.result;
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_GE(dns_server.tcp_queries(), 2u);
  std::size_t v4 = 0, v6 = 0;
  for (const auto& address : result.addresses) {
    ++(address.is_v4() ? v4 : v6);
    EXPECT_TRUE(served.count(address.to_string())) << address << " was never served";
  }
  EXPECT_EQ(v4, kMaxAddressesPerFamily);
  EXPECT_EQ(v6, kMaxAddressesPerFamily);
  // The record keeps more of the answer than the connect stage tries, but not all of it.
  ASSERT_TRUE(result.evidence);
  EXPECT_EQ(result.evidence->addresses.size(), kMaxEvidenceAddresses);
  EXPECT_TRUE(lookup_result.before_deadline);
}

TEST_F(HostileDns, NxdomainIsNamed) {
  auto& dns_server = serve([](const dns::Query& query, dns::Transport) { return nxdomain(query); });
  const auto lookup_result = lookup("nosuch.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_EQ(lookup_result.result->error, "NXDOMAIN: nosuch.test does not exist");
  EXPECT_GE(dns_server.udp_queries(), 1u);
  EXPECT_TRUE(lookup_result.before_deadline);
}

TEST_F(HostileDns, ServfailIsNamed) {
  serve([](const dns::Query& query, dns::Transport) {
    return std::optional(dns::error_reply(query, dns::Rcode::servfail));
  });
  const auto lookup_result = lookup("broken.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_EQ(lookup_result.result->error,
            "SERVFAIL: the DNS server could not answer for broken.test");
  EXPECT_TRUE(lookup_result.before_deadline);
}

TEST_F(HostileDns, ServerThatNeverAnswersTimesOutAfterTwoTries) {
  auto& dns_server =
      serve([](const dns::Query&, dns::Transport) -> std::optional<std::string> { return {}; });
  const auto lookup_result = lookup("quiet.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_EQ(lookup_result.result->error, "DNS timeout: no answer for quiet.test after 2 tries");
  // A and AAAA, each tried twice.
  EXPECT_EQ(dns_server.udp_queries(), 4u);
  EXPECT_TRUE(lookup_result.before_deadline);
}

// --- end to end: one probe whose name goes to the hostile server -----------------------------

class ProbeThroughHostileDns : public HostileDns {
 protected:
  // The DNS phase gets the whole probe budget here, as --timeout alone would give it; the
  // resolver's budget is the same, as the CLI sets it.
  std::vector<probe::Result> probe_url(const std::string& url) {
    probe::ProbeConfig config;
    config.timeouts = probe::Timeouts::derived_from(kBudget * 2);
    ResolverConfig dns = resolver_config();
    dns.budget = config.timeouts.dns;
    Resolver resolver(io, dns);
    static TlsClientContext tls{TlsConfig{}};
    auto parsed = sheet::parse_target_url(url);
    const auto* target = std::get_if<sheet::Target>(&parsed);
    if (!target) {
      ADD_FAILURE() << url;
      return {};
    }
    std::vector<probe::Result> results;
    const probe::ProbeContext context{io, resolver, tls, config};
    probe::start_probe(context, *target, route::Route{}, 0, [&](probe::Result&& result) {
      results.push_back(std::move(result));
      server->stop();
    });
    io.restart();
    io.run_for(std::chrono::seconds(20));  // a guard against hangs, not a measurement
    EXPECT_TRUE(io.stopped()) << "the loop still had work 20 s after the probe started";
    EXPECT_EQ(results.size(), 1u) << "a probe must end in exactly one result";
    return results;
  }
};

TEST_F(ProbeThroughHostileDns, NxdomainIsDnsError) {
  serve([](const dns::Query& query, dns::Transport) { return nxdomain(query); });
  const auto results = probe_url("https://nosuch.test/");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, probe::Outcome::dns_error) << results[0].detail;
  EXPECT_EQ(results[0].detail, "NXDOMAIN: nosuch.test does not exist");
  EXPECT_TRUE(results[0].ms.dns.has_value());
  EXPECT_FALSE(results[0].ms.connect.has_value());
}

// c-ares names the silence ("after 2 tries") before the probe's own DNS deadline would have
// ("within N ms"): the detail says which of the two timers ended the probe.
TEST_F(ProbeThroughHostileDns, ServerThatNeverAnswersIsDnsErrorNamedByTheResolver) {
  serve([](const dns::Query&, dns::Transport) -> std::optional<std::string> { return {}; });
  const auto results = probe_url("https://quiet.test/");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, probe::Outcome::dns_error) << results[0].detail;
  EXPECT_EQ(results[0].detail, "DNS timeout: no answer for quiet.test after 2 tries");
  EXPECT_FALSE(results[0].ms.connect.has_value());
}

// A sweep's opening burst: every target name at once. At most kMaxLookupsInFlight names go out;
// the rest wait and go out as answers come back, and every name is answered.
TEST_F(HostileDns, BurstOfNamesIsSentAtMostThirtyTwoAtATime) {
  serve([](const dns::Query& query, dns::Transport) {
    if (query.type != dns::type::a) return std::optional(dns::answer(query, {}));
    return std::optional(dns::answer(query, {dns::a_record(query.name, "127.0.0.9")}));
  });
  Resolver resolver(io, resolver_config());
  constexpr std::size_t kNames = 100;
  std::size_t answered = 0, failed = 0;
  for (std::size_t i = 0; i < kNames; ++i)
    resolver.resolve("burst" + std::to_string(i) + ".test", 443, [&](const ResolveResult& result) {
      ++answered;
      if (!result.ok()) ++failed;
      if (answered == kNames) server->stop();
    });
  EXPECT_EQ(resolver.queries_sent(), kMaxLookupsInFlight);
  EXPECT_EQ(resolver.queries_waiting(), kNames - kMaxLookupsInFlight);
  io.restart();
  io.run_for(std::chrono::seconds(20));  // a hang guard, not a measurement
  EXPECT_EQ(answered, kNames);
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(resolver.queries_sent(), kNames);
  EXPECT_EQ(resolver.queries_waiting(), 0u);
}

}  // namespace
}  // namespace urlprobe::net

namespace urlprobe::net {
namespace {

// alias.test -> mid.test -> end.test, end.test with two IPv4 and one IPv6 address. Each answer
// repeats the chain, as a recursive server does, so c-ares sees every link twice.
std::optional<std::string> cname_chain(const dns::Query& query) {
  if (query.name != "alias.test") return nxdomain(query);
  std::vector<dns::Record> records{dns::cname_record("alias.test", "mid.test"),
                                   dns::cname_record("mid.test", "end.test")};
  if (query.type == dns::type::a) {
    records.push_back(dns::a_record("end.test", "127.0.0.61"));
    records.push_back(dns::a_record("end.test", "127.0.0.62"));
  } else if (query.type == dns::type::aaaa) {
    records.push_back(dns::aaaa_record("end.test", "::1"));
  }
  return dns::answer(query, records);
}

TEST_F(HostileDns, EvidenceHoldsTheCnameChainAndEveryAddressInOrder) {
  serve([](const dns::Query& query, dns::Transport) { return cname_chain(query); });
  const auto lookup_result = lookup("alias.test");
  ASSERT_TRUE(lookup_result.result);
  const auto& result = *lookup_result.result;
  ASSERT_TRUE(result.ok()) << result.error;
  ASSERT_TRUE(result.evidence);
  EXPECT_THAT(result.evidence->cnames, ::testing::ElementsAre("mid.test", "end.test"));
  EXPECT_THAT(result.evidence->addresses,
              ::testing::UnorderedElementsAre("127.0.0.61", "127.0.0.62", "::1"));
  // The order c-ares gave is the order the connect stage tries, and the record keeps it.
  EXPECT_EQ(result.evidence->addresses, as_text(result.addresses));
  EXPECT_FALSE(result.evidence->tagged()) << "no --service-tags, no tags";
}

TEST_F(HostileDns, EvidenceOfANameWithoutCnamesHasAnEmptyChain) {
  serve([](const dns::Query& query, dns::Transport) {
    if (query.name != "plain.test") return nxdomain(query);
    if (query.type != dns::type::a) return std::optional(dns::answer(query, {}));
    return std::optional(dns::answer(query, {dns::a_record("plain.test", "127.0.0.7")}));
  });
  const auto lookup_result = lookup("plain.test");
  ASSERT_TRUE(lookup_result.result && lookup_result.result->evidence);
  EXPECT_TRUE(lookup_result.result->evidence->cnames.empty());
  EXPECT_THAT(lookup_result.result->evidence->addresses, ::testing::ElementsAre("127.0.0.7"));
}

TEST_F(HostileDns, EvidenceNamesTheServiceTagsOfEachAddress) {
  ServiceTagsError error;
  auto table = ServiceTags::parse(R"({"values":[
    {"name":"AzureCloud","properties":{"addressPrefixes":["127.0.0.0/26","::1/128"]}},
    {"name":"MicrosoftDefenderForEndpoint","properties":{"addressPrefixes":["127.0.0.62/32"]}}]})",
                                  error);
  ASSERT_TRUE(table) << error.line << ":" << error.column << ": " << error.message;
  service_tags = std::make_shared<const ServiceTags>(std::move(*table));
  serve([](const dns::Query& query, dns::Transport) { return cname_chain(query); });
  const auto lookup_result = lookup("alias.test");
  ASSERT_TRUE(lookup_result.result && lookup_result.result->evidence);
  const auto& evidence = *lookup_result.result->evidence;
  ASSERT_TRUE(evidence.tagged());
  for (std::size_t i = 0; i < evidence.addresses.size(); ++i) {
    if (evidence.addresses[i] == "127.0.0.61")
      EXPECT_THAT(evidence.service_tags[i], ::testing::ElementsAre("AzureCloud"));
    else if (evidence.addresses[i] == "127.0.0.62")
      EXPECT_THAT(evidence.service_tags[i],
                  ::testing::ElementsAre("AzureCloud", "MicrosoftDefenderForEndpoint"));
    else
      EXPECT_THAT(evidence.service_tags[i], ::testing::ElementsAre("AzureCloud"));
  }
}

// An IP literal and a failed lookup leave no evidence: the record says nothing DNS did not say.
TEST_F(HostileDns, NoEvidenceWithoutAnAnswer) {
  serve([](const dns::Query& query, dns::Transport) { return nxdomain(query); });
  const auto lookup_result = lookup("gone.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_FALSE(lookup_result.result->ok());
  EXPECT_FALSE(lookup_result.result->evidence);
}

// A corporate DNS filter that blocks a CNAME target: alias.test -> mid.test -> blocked.test,
// and NXDOMAIN for the whole answer. c-ares's getaddrinfo drops that answer; the record must
// still name the chain and the link that failed.
std::optional<std::string> chain_to_blocked_target(const dns::Query& query) {
  if (query.name != "alias.test") return nxdomain(query);
  return std::optional(dns::make_reply(
      query,
      {dns::cname_record("alias.test", "mid.test"), dns::cname_record("mid.test", "blocked.test")},
      dns::Rcode::nxdomain, false, query.id));
}

TEST_F(HostileDns, CnameChainEndingInNxdomainNamesTheChainAndTheMissingName) {
  serve([](const dns::Query& query, dns::Transport) { return chain_to_blocked_target(query); });
  const auto lookup_result = lookup("alias.test");
  ASSERT_TRUE(lookup_result.result);
  const auto& result = *lookup_result.result;
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.addresses.empty());
  EXPECT_EQ(result.error,
            "NXDOMAIN: alias.test does not exist (CNAME chain alias.test -> mid.test -> "
            "blocked.test: blocked.test does not exist)");
  ASSERT_TRUE(result.evidence);
  EXPECT_THAT(result.evidence->cnames, ::testing::ElementsAre("mid.test", "blocked.test"));
  EXPECT_TRUE(result.evidence->addresses.empty());
  EXPECT_FALSE(result.evidence->tagged());
  EXPECT_TRUE(lookup_result.before_deadline);
}

TEST_F(HostileDns, CnameChainEndingInNodataNamesTheNameWithoutAddresses) {
  serve([](const dns::Query& query, dns::Transport) {
    if (query.name != "www.test") return nxdomain(query);
    return std::optional(dns::answer(query, {dns::cname_record("www.test", "edge.test")}));
  });
  const auto lookup_result = lookup("www.test");
  ASSERT_TRUE(lookup_result.result);
  const auto& result = *lookup_result.result;
  EXPECT_EQ(result.error,
            "NODATA: www.test exists but has no address records (CNAME chain www.test -> "
            "edge.test: edge.test has no address records)");
  ASSERT_TRUE(result.evidence);
  EXPECT_THAT(result.evidence->cnames, ::testing::ElementsAre("edge.test"));
  EXPECT_TRUE(result.evidence->addresses.empty());
}

// The lookup's cache entry is answered once, after the follow-up query: every probe of the
// name gets the chain, and a later probe gets it from the cache without another query.
TEST_F(HostileDns, EveryWaiterGetsTheFailedChainOnce) {
  auto& dns_server =
      serve([](const dns::Query& query, dns::Transport) { return chain_to_blocked_target(query); });
  Resolver resolver(io, resolver_config());
  std::vector<ResolveResult> results;
  for (int i = 0; i < 3; ++i)
    resolver.resolve("alias.test", 443, [&](const ResolveResult& result) {
      results.push_back(result);
      if (results.size() == 3) server->stop();
    });
  io.restart();
  io.run_for(std::chrono::seconds(20));  // a hang guard, not a measurement
  EXPECT_TRUE(io.stopped());
  ASSERT_EQ(results.size(), 3u);
  for (const auto& result : results) {
    ASSERT_TRUE(result.evidence);
    EXPECT_THAT(result.evidence->cnames, ::testing::ElementsAre("mid.test", "blocked.test"));
  }
  EXPECT_EQ(resolver.queries_sent(), 1u);
  const auto queries_before = dns_server.udp_queries();
  std::optional<ResolveResult> cached;
  resolver.resolve("alias.test", 443, [&](const ResolveResult& result) { cached = result; });
  io.restart();
  io.run();
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->error, results[0].error);
  EXPECT_EQ(dns_server.udp_queries(), queries_before);
}

// The lookup needed its retry (one try's timeout spent), and then the follow-up for the chain
// is lost, every retry too: the patience timer answers the NXDOMAIN the lookup knows, once and
// without a chain, inside the DNS budget. (Without the timer the follow-up's own two tries end
// exactly at the budget, where the probe's deadline races it; that bound is arithmetic in the
// resolver, not measured here.)
TEST_F(HostileDns, ALostFollowUpStillAnswersTheFailureInTime) {
  int a_queries = 0;
  serve([&](const dns::Query& query, dns::Transport) -> std::optional<std::string> {
    if (query.name == "alias.test" && query.type == dns::type::a) {
      ++a_queries;
      if (a_queries == 1 || a_queries >= 3) return std::nullopt;  // first try, then follow-ups
    }
    return chain_to_blocked_target(query);
  });
  const auto lookup_result = lookup("alias.test");
  ASSERT_TRUE(lookup_result.result);
  EXPECT_GE(a_queries, 3) << "the follow-up query never went out";
  EXPECT_EQ(lookup_result.result->error, "NXDOMAIN: alias.test does not exist");
  EXPECT_FALSE(lookup_result.result->evidence);
  EXPECT_TRUE(lookup_result.before_deadline);
}

// The resolver goes away while the follow-up query is out: its callback runs inside
// ares_destroy and must neither answer the waiter nor touch the resolver's state.
TEST_F(HostileDns, ResolverDestroyedWhileTheFollowUpIsOutAnswersNobody) {
  std::optional<Resolver> resolver;
  int a_queries = 0;
  serve([&](const dns::Query& query, dns::Transport) -> std::optional<std::string> {
    if (query.name == "alias.test" && query.type == dns::type::a && ++a_queries == 2) {
      // The second A query for the name is the follow-up: end the resolver instead.
      asio::post(io, [&] {
        resolver.reset();
        server->stop();
      });
      return std::nullopt;
    }
    return chain_to_blocked_target(query);
  });
  resolver.emplace(io, resolver_config());
  bool answered = false;
  resolver->resolve("alias.test", 443, [&](const ResolveResult&) { answered = true; });
  io.restart();
  io.run_for(std::chrono::seconds(20));  // a hang guard, not a measurement
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(a_queries, 2) << "the follow-up query never went out";
  EXPECT_FALSE(resolver.has_value());
  EXPECT_FALSE(answered);
}

TEST_F(ProbeThroughHostileDns, CnameChainEndingInNxdomainIsDnsErrorWithTheChain) {
  serve([](const dns::Query& query, dns::Transport) { return chain_to_blocked_target(query); });
  const auto results = probe_url("https://alias.test/");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, probe::Outcome::dns_error) << results[0].detail;
  EXPECT_THAT(results[0].detail, StartsWith("NXDOMAIN: alias.test does not exist (CNAME chain"));
  ASSERT_TRUE(results[0].dns);
  EXPECT_THAT(results[0].dns->cnames, ::testing::ElementsAre("mid.test", "blocked.test"));
  EXPECT_TRUE(results[0].dns->addresses.empty());
}

}  // namespace
}  // namespace urlprobe::net
