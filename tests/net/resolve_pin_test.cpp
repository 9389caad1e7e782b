#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "net/resolver.hpp"

using namespace urlprobe::net;
using ::testing::HasSubstr;

TEST(ResolvePin, HostPortAndAddresses) {
  std::string error;
  const auto pin = parse_resolve_pin("Example.COM:8443:127.0.0.2,[::1]", error);
  ASSERT_TRUE(pin) << error;
  EXPECT_EQ(pin->host, "example.com");
  EXPECT_EQ(pin->port, 8443);
  ASSERT_EQ(pin->addresses.size(), 2u);
  EXPECT_EQ(pin->addresses[0].to_string(), "127.0.0.2");
  EXPECT_TRUE(pin->addresses[1].is_v6());
}

TEST(ResolvePin, RejectsBadPortAndAddress) {
  std::string error;
  EXPECT_FALSE(parse_resolve_pin("a:0:127.0.0.1", error));
  EXPECT_THAT(error, HasSubstr("port"));
  EXPECT_FALSE(parse_resolve_pin("a:443:not-an-ip", error));
  EXPECT_THAT(error, HasSubstr("not-an-ip"));
  EXPECT_FALSE(parse_resolve_pin("a443", error));
}

namespace {

std::vector<ResolveResult> resolve_all(
    Resolver& resolver, boost::asio::io_context& io,
    const std::vector<std::pair<std::string, std::uint16_t>>& names) {
  std::vector<ResolveResult> results(names.size());
  for (std::size_t i = 0; i < names.size(); ++i)
    resolver.resolve(names[i].first, names[i].second,
                     [&results, i](const ResolveResult& r) { results[i] = r; });
  io.run();
  return results;
}

}  // namespace

// The DNS server named here is a closed loopback port: any query that escaped would fail.
TEST(Resolver, LiteralsAndPinsNeverTouchDns) {
  boost::asio::io_context io;
  ResolverConfig config;
  config.dns_servers = "127.0.0.1:9";
  std::string error;
  config.pins.push_back(*parse_resolve_pin("pinned.test:443:127.0.0.7", error));
  Resolver resolver(io, config);
  const auto results =
      resolve_all(resolver, io, {{"127.0.0.3", 80}, {"::1", 80}, {"pinned.test", 443}});
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0].addresses.at(0).to_string(), "127.0.0.3");
  EXPECT_FALSE(results[0].used_dns);
  EXPECT_TRUE(results[1].addresses.at(0).is_v6());
  ASSERT_TRUE(results[2].ok());
  EXPECT_EQ(results[2].addresses.at(0).to_string(), "127.0.0.7");
  EXPECT_EQ(resolver.queries_sent(), 0u);
}

TEST(Resolver, PinAppliesToItsPortOnly) {
  boost::asio::io_context io;
  ResolverConfig config;
  config.dns_servers = "127.0.0.1:9";  // closed: the unpinned port must go to DNS and fail
  config.budget = std::chrono::milliseconds(400);
  std::string error;
  config.pins.push_back(*parse_resolve_pin("pinned.test:443:127.0.0.7", error));
  Resolver resolver(io, config);
  const auto results = resolve_all(resolver, io, {{"pinned.test", 8443}});
  EXPECT_FALSE(results[0].ok());
  EXPECT_TRUE(results[0].used_dns);
  EXPECT_EQ(resolver.queries_sent(), 1u);
}

TEST(Resolver, ConcurrentLookupsOfOneNameShareOneQuery) {
  boost::asio::io_context io;
  ResolverConfig config;
  config.dns_servers = "127.0.0.1:9";
  config.budget = std::chrono::milliseconds(400);
  Resolver resolver(io, config);
  const auto results = resolve_all(
      resolver, io, {{"shared.invalid", 443}, {"shared.invalid", 443}, {"shared.invalid", 80}});
  EXPECT_EQ(resolver.queries_sent(), 1u);
  for (const auto& r : results) {
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, results[0].error);
  }
  // And a later lookup is answered from the cache.
  resolver.resolve("shared.invalid", 443, [](const ResolveResult&) {});
  io.restart();
  io.run();
  EXPECT_EQ(resolver.queries_sent(), 1u);
}

TEST(Resolver, BadServerIsRejectedAtConstruction) {
  boost::asio::io_context io;
  ResolverConfig config;
  config.dns_servers = "not-an-ip";
  EXPECT_THROW(Resolver(io, config), std::invalid_argument);
}

TEST(DnsServers, AddressesWithAndWithoutPorts) {
  std::string error;
  for (const std::string_view good :
       {"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1", "[::1]", "127.0.0.1:53,[::1]:5353"})
    EXPECT_TRUE(check_dns_servers(good, error)) << good << ": " << error;
}

// c-ares would take 99999 modulo 65536 and 0 as 53: a run that then ends in dns_error hides a
// typo that a usage error names.
TEST(DnsServers, PortOutOfRangeOrMissingAndBadAddressesAreErrors) {
  for (const std::string_view bad : {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "[::1]:0",
                                     "[::1]x", "dns.example:53", "", "127.0.0.1,", "[::1"}) {
    std::string error;
    EXPECT_FALSE(check_dns_servers(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string error;
  EXPECT_FALSE(check_dns_servers("127.0.0.1:53,127.0.0.2:99999", error));
  EXPECT_THAT(error, HasSubstr("127.0.0.2:99999"));
  EXPECT_THAT(error, HasSubstr("1 to 65535"));
}
