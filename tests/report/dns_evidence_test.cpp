// The record's DNS evidence (dns.cnames, dns.addresses, dns.service_tags): written and read back
// unchanged, shown under a failure in the text report, and turned into readiness's names to allow
// and its warning about addresses outside Defender's service tags.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <memory>

#include "probe/route_column.hpp"
#include "report/read.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "test_row.hpp"
#include "written.hpp"

using namespace urlprobe;
using probe::Outcome;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::shared_ptr<const net::DnsEvidence> evidence(std::vector<std::string> cnames,
                                                 std::vector<std::string> addresses,
                                                 std::vector<std::vector<std::string>> tags = {}) {
  auto e = std::make_shared<net::DnsEvidence>();
  e->cnames = std::move(cnames);
  e->addresses = std::move(addresses);
  e->service_tags = std::move(tags);
  return e;
}

// A direct probe of HOST (one route: direct) with OUTCOME and DNS's answer.
probe::Result direct(const std::string& host, Outcome outcome,
                     std::shared_ptr<const net::DnsEvidence> dns, std::uint64_t index,
                     std::string required = "Required") {
  probe::Result r;
  r.sweep_index = index;
  r.url = "https://" + host + "/";
  r.host = host;
  r.port = 443;
  r.route = route::Method::direct;
  r.outcome = outcome;
  if (outcome != Outcome::ok) r.detail = "connection refused by 20.42.73.26:443";
  r.dns = std::move(dns);
  r.row = test::row_with([&](sheet::RowFacts& row) {
    row.geography = "WW";
    row.required = required;
  });
  return r;
}

std::string line_of(const probe::Result& r) {
  std::string line;
  report::append_jsonl(line, r);
  return line;
}

const auto kChain = evidence({"winatp-gw-eus.trafficmanager.net", "gw-eus.cloudapp.net"},
                             {"20.42.73.26", "2603:1030:210:1::1a"},
                             {{"AzureCloud", "MicrosoftDefenderForEndpoint"}, {}});

TEST(DnsEvidence, WrittenAndReadBackByteIdentical) {
  for (const auto& dns : {kChain, evidence({}, {"192.0.2.1"})}) {
    const auto line = line_of(direct("winatp-gw-eus.microsoft.com", Outcome::ok, dns, 0));
    probe::Result back;
    std::string error;
    ASSERT_TRUE(report::parse_record(line, back, error)) << error;
    ASSERT_TRUE(back.dns);
    EXPECT_EQ(back.dns->cnames, dns->cnames);
    EXPECT_EQ(back.dns->addresses, dns->addresses);
    EXPECT_EQ(back.dns->service_tags, dns->service_tags);
    EXPECT_EQ(line_of(back), line);
  }
  const auto line = line_of(direct("winatp-gw-eus.microsoft.com", Outcome::ok, kChain, 0));
  const auto json = boost::json::parse(line).at("dns");
  EXPECT_EQ(json.at("cnames").as_array().size(), 2u);
  EXPECT_EQ(json.at("service_tags").at("2603:1030:210:1::1a").as_array().size(), 0u);
  EXPECT_THAT(line_of(direct("h.example", Outcome::ok, nullptr, 0)), Not(HasSubstr("\"dns\"")));
  EXPECT_THAT(line_of(direct("h.example", Outcome::ok, evidence({}, {"192.0.2.1"}), 0)),
              Not(HasSubstr("service_tags")));
}

TEST(DnsEvidence, RecordsReadBackShareOneAnswerPerHost) {
  const auto same = line_of(direct("a.microsoft.com", Outcome::ok, kChain, 0));
  const auto other =
      line_of(direct("a.microsoft.com", Outcome::ok, evidence({}, {"192.0.2.1"}), 1));
  const auto read = report::read_results(same + "\n" + same + "\n" + other + "\n", "run.jsonl");
  ASSERT_EQ(read.results.size(), 3u);
  EXPECT_EQ(read.results[0].dns, read.results[1].dns) << "one answer, one copy";
  EXPECT_NE(read.results[1].dns, read.results[2].dns) << "a different answer is its own";
  EXPECT_THAT(read.results[2].dns->addresses, ElementsAre("192.0.2.1"));
}

TEST(DnsEvidence, BadDnsFieldsAreNamed) {
  probe::Result r;
  std::string error;
  EXPECT_FALSE(report::parse_record(
      R"({"v":1,"url":"https://a/","route":"direct","outcome":"ok","dns":{"cnames":"b"}})", r,
      error));
  EXPECT_THAT(error, HasSubstr("dns.cnames"));
  EXPECT_FALSE(report::parse_record(
      R"({"v":1,"url":"https://a/","route":"direct","outcome":"ok","dns":{"addresses":["1.2.3.4"],"service_tags":[]}})",
      r, error));
  EXPECT_THAT(error, HasSubstr("dns.service_tags"));
}

TEST(DnsEvidence, TheTextReportShowsTheChainUnderAFailureOnly) {
  const std::vector<route::Route> routes{route::direct_route()};
  const std::vector<probe::Result> results{
      direct("gw.microsoft.com", Outcome::connect_refused,
             evidence({"gw.trafficmanager.net", "gw.cloudapp.net"}, {"20.42.73.26", "2603::1a"}),
             0),
      direct("ok.microsoft.com", Outcome::ok, evidence({"ok.trafficmanager.net"}, {"192.0.2.9"}),
             1)};
  const auto text = test::format_output(report::Format::text, routes, results);
  EXPECT_THAT(text, HasSubstr("Failed, connect_refused: connection refused by 20.42.73.26:443\n"
                              "      DNS: gw.microsoft.com -> gw.trafficmanager.net -> "
                              "gw.cloudapp.net [20.42.73.26, 2603::1a]\n"));
  EXPECT_THAT(text, Not(HasSubstr("DNS: ok.microsoft.com")));
  // The analyzer's transcript stays the analyzer's.
  EXPECT_THAT(test::format_output(report::Format::analyzer, routes, results),
              Not(HasSubstr("DNS:")));
}

// The HTML report's cell panel has the same line for a failure, and none for a success.
TEST(DnsEvidence, TheHtmlCellShowsTheChainOfAFailureOnly) {
  const std::vector<route::Route> routes{route::direct_route()};
  const std::vector<probe::Result> results{
      direct("gw.microsoft.com", Outcome::connect_refused,
             evidence({"gw.trafficmanager.net"}, {"20.42.73.26"}), 0),
      direct("ok.microsoft.com", Outcome::ok, evidence({"ok.trafficmanager.net"}, {"192.0.2.9"}),
             1)};
  const auto page = test::format_output(report::Format::html, routes, results);
  // The page's data is JSON inside <script>: its '>' is written \u003e.
  EXPECT_THAT(page, HasSubstr("\"dn\":\"gw.microsoft.com -\\u003e gw.trafficmanager.net "
                              "[20.42.73.26]\""));
  EXPECT_THAT(page, Not(HasSubstr("\"dn\":\"ok.microsoft.com")));
  EXPECT_THAT(page, HasSubstr("row('DNS', c.dn)"));
}

// A chain that ended in NXDOMAIN (a filter blocking the CNAME target): the dns_error record
// keeps the chain with no addresses, reads back as written, and the text names it so.
TEST(DnsEvidence, AFailedChainHasNoAddressesAndTheTextSaysSo) {
  auto blocked = direct("gw.microsoft.com", Outcome::dns_error,
                        evidence({"gw.trafficmanager.net", "gw-eus.trafficmanager.net"}, {}), 0);
  blocked.detail =
      "NXDOMAIN: gw.microsoft.com does not exist (CNAME chain gw.microsoft.com -> "
      "gw.trafficmanager.net -> gw-eus.trafficmanager.net: gw-eus.trafficmanager.net does not "
      "exist)";
  const auto line = line_of(blocked);
  EXPECT_THAT(line, HasSubstr(R"("dns":{"cnames":["gw.trafficmanager.net",)"
                              R"("gw-eus.trafficmanager.net"],"addresses":[]})"));
  probe::Result back;
  std::string error;
  ASSERT_TRUE(report::parse_record(line, back, error)) << error;
  ASSERT_TRUE(back.dns);
  EXPECT_THAT(back.dns->cnames, ElementsAre("gw.trafficmanager.net", "gw-eus.trafficmanager.net"));
  EXPECT_TRUE(back.dns->addresses.empty());
  EXPECT_EQ(line_of(back), line);
  const std::vector<route::Route> routes{route::direct_route()};
  const std::vector<probe::Result> results{blocked};
  const auto text = test::format_output(report::Format::text, routes, results);
  EXPECT_THAT(text, HasSubstr("      DNS: gw.microsoft.com -> gw.trafficmanager.net -> "
                              "gw-eus.trafficmanager.net (no address)\n"));
}

TEST(DnsEvidence, ReadinessListsProbedHostsEachFollowedByItsCnameTargets) {
  const std::vector<probe::Result> results{
      direct("A.microsoft.com", Outcome::ok,
             evidence({"a.trafficmanager.net", "x.cloudapp.net"}, {"192.0.2.1"}), 0),
      direct("b.microsoft.com", Outcome::connect_refused,
             evidence({"b.trafficmanager.net", "x.cloudapp.net"}, {"192.0.2.1"}), 1),
      direct("a.microsoft.com", Outcome::ok, nullptr, 2),  // the same host again
      direct("192.0.2.7", Outcome::ok, nullptr, 3),        // an IP literal is no name to allow
      direct("c.microsoft.com", Outcome::not_configured, nullptr, 4),
      direct("d.microsoft.com", Outcome::ok, nullptr, 5, "Optional")};
  const auto r = report::assess(results, {});
  std::vector<std::string> names;
  for (const auto& n : r.allow_names)
    names.push_back(n.alias_of.empty() ? n.name : n.name + " <- " + n.alias_of);
  EXPECT_THAT(names, ElementsAre("a.microsoft.com", "a.trafficmanager.net <- a.microsoft.com",
                                 "x.cloudapp.net <- a.microsoft.com", "b.microsoft.com",
                                 "b.trafficmanager.net <- b.microsoft.com", "d.microsoft.com"));
  EXPECT_FALSE(r.service_tags);
  EXPECT_TRUE(r.outside_service_tags.empty());
  const auto text = report::readiness_text(r);
  EXPECT_THAT(text, HasSubstr("    a.microsoft.com\n"
                              "      a.trafficmanager.net (CNAME via a.microsoft.com)\n"
                              "      x.cloudapp.net (CNAME via a.microsoft.com)\n"
                              "    b.microsoft.com\n"));
  std::string json;
  report::append_readiness_json(json, r);
  const auto doc = boost::json::parse(json);
  EXPECT_EQ(doc.at("allow_names").at(1).at("cname_of").as_string(), "a.microsoft.com");
  EXPECT_FALSE(doc.as_object().contains("outside_service_tags"));
}

TEST(DnsEvidence, ReadinessWithoutCnamesDoesNotRepeatTheSheet) {
  const auto r =
      report::assess({direct("a.microsoft.com", Outcome::ok, evidence({}, {"192.0.2.1"}), 0)}, {});
  EXPECT_EQ(r.allow_names.size(), 1u);
  EXPECT_THAT(report::readiness_text(r), Not(HasSubstr("Names to allow")));
}

TEST(DnsEvidence, ReadinessWarnsOfRequiredAddressesOutsideDefendersTags) {
  const std::vector<probe::Result> results{
      // One address in Defender's tag, one in none: the second is what a static rule misses.
      direct("winatp-gw-eus.microsoft.com", Outcome::ok, kChain, 0),
      direct("events.data.microsoft.com", Outcome::ok,
             evidence({}, {"20.42.65.84"}, {{"AzureCloud", "OneDsCollector"}}), 1),
      // Not required: no warning, whatever its tags.
      direct("optional.microsoft.com", Outcome::ok, evidence({}, {"192.0.2.5"}, {{}}), 2,
             "Optional"),
      direct("cdn.example", Outcome::ok, evidence({}, {"192.0.2.6"}, {{"AzureFrontDoor.Frontend"}}),
             3)};
  const auto r = report::assess(results, {});
  EXPECT_TRUE(r.service_tags);
  ASSERT_EQ(r.outside_service_tags.size(), 2u);
  EXPECT_EQ(r.outside_service_tags[0].url, "https://winatp-gw-eus.microsoft.com/");
  EXPECT_EQ(r.outside_service_tags[0].address, "2603:1030:210:1::1a");
  EXPECT_TRUE(r.outside_service_tags[0].tags.empty());
  EXPECT_EQ(r.outside_service_tags[1].address, "192.0.2.6");
  EXPECT_THAT(r.outside_service_tags[1].tags, ElementsAre("AzureFrontDoor.Frontend"));
  EXPECT_THAT(report::readiness_text(r),
              HasSubstr("  Warning: required URLs in neither MicrosoftDefenderForEndpoint nor "
                        "OneDsCollector:\n"
                        "    https://winatp-gw-eus.microsoft.com/ 2603:1030:210:1::1a (in no "
                        "service tag)\n"
                        "    https://cdn.example/ 192.0.2.6 (in AzureFrontDoor.Frontend)\n"));
  std::string json;
  report::append_readiness_json(json, r);
  const auto doc = boost::json::parse(json);
  EXPECT_EQ(doc.at("outside_service_tags").as_array().size(), 2u);
}

}  // namespace
