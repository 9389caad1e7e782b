// What --winhttp and --registry leave in the reports: a bypassed record names its entry (JSONL,
// read back, text), route defender is a route like the others, the json run says what the files
// set, and readiness says when DisableEnterpriseAuthProxy makes a 407 a blocker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "report/read.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "test_row.hpp"
#include "written.hpp"

using namespace urlprobe;
using probe::Outcome;
using route::Method;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

probe::Result result(Method method, Outcome outcome, std::uint64_t index = 0) {
  probe::Result r;
  r.sweep_index = index;
  r.url = "https://winatp-gw-eus.microsoft.com/test";
  r.host = "winatp-gw-eus.microsoft.com";
  r.port = 443;
  r.route = method;
  r.outcome = outcome;
  if (outcome == Outcome::ok) r.http_status = 200;
  r.row = test::row_with([](sheet::RowFacts& row) {
    row.geography = "WW";
    row.required = "Required";
  });
  return r;
}

std::string jsonl(const probe::Result& r) {
  std::string line;
  report::append_jsonl(line, r);
  return line;
}

}  // namespace

TEST(WindowsConfigReport, BypassedByIsWrittenAndReadBack) {
  auto r = result(Method::default_proxy, Outcome::ok);
  r.bypassed_by = "*.microsoft.com";
  const auto line = jsonl(r);
  EXPECT_THAT(line, HasSubstr("\"route\":\"default\",\"bypassed_by\":\"*.microsoft.com\""));
  const auto read = report::read_results(line + "\n", "a.jsonl");
  ASSERT_EQ(read.results.size(), 1u);
  EXPECT_EQ(read.results[0].bypassed_by, "*.microsoft.com");
  EXPECT_THAT(jsonl(result(Method::default_proxy, Outcome::ok)), Not(HasSubstr("bypassed_by")));
}

TEST(WindowsConfigReport, RouteDefenderIsWrittenAndReadBack) {
  auto r = result(Method::defender, Outcome::ok);
  r.proxy = "http://av-proxy.contoso.com:8080";
  const auto line = jsonl(r);
  EXPECT_THAT(line, HasSubstr("\"route\":\"defender\""));
  const auto read = report::read_results(line + "\n", "a.jsonl");
  ASSERT_EQ(read.results.size(), 1u);
  EXPECT_EQ(read.results[0].route, Method::defender);
}

TEST(WindowsConfigReport, TextSaysWhichEntryBypassedButTheAnalyzerTranscriptDoesNot) {
  auto r = result(Method::default_proxy, Outcome::ok);
  r.bypassed_by = "<local>";
  const std::vector<route::Route> routes{route::default_route({})};
  EXPECT_THAT(test::format_output(report::Format::text, routes, {r}),
              HasSubstr("1 - Default proxy: Succeeded (200) (bypassed by <local>)"));
  EXPECT_THAT(test::format_output(report::Format::analyzer, routes, {r}),
              Not(HasSubstr("bypassed")));
}

TEST(WindowsConfigReport, DisableEnterpriseAuthProxyMakesA407ABlocker) {
  auto refused = result(Method::named, Outcome::proxy_auth_required);
  refused.proxy = "http://proxy.contoso.com:3128";
  refused.proxy_status = 407;
  const std::vector<probe::Result> results{refused, result(Method::direct, Outcome::ok, 1)};
  report::ReadinessOptions options;
  options.enterprise_auth_proxy_disabled = "policy.reg:6";
  const auto with = report::assess(results, options);
  std::string notes;
  for (const auto& n : with.notes) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("DisableEnterpriseAuthProxy is 1 (policy.reg:6)"));
  EXPECT_THAT(notes, HasSubstr("blocker"));
  EXPECT_THAT(notes, HasSubstr("http://proxy.contoso.com:3128 answered 407"));
  const auto without = report::assess(results, report::ReadinessOptions{});
  for (const auto& n : without.notes) EXPECT_THAT(n, Not(HasSubstr("DisableEnterpriseAuthProxy")));
}

TEST(WindowsConfigReport, JsonRunNamesWhatTheFilesSet) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    const std::vector<route::Route> routes{route::direct_route()};
    auto writer = report::make_writer(report::Format::json, out, probe::route_columns(routes));
    report::Summary summary;
    summary.imported.push_back({"proxy.txt", 5, "Bypass List", "<local>;*.contoso.com",
                                "2 entries: a target matching one goes direct"});
    writer->finish(summary);
  }
  std::fclose(out);
  const std::string doc(buffer, size);
  std::free(buffer);
  EXPECT_THAT(doc, HasSubstr("\"imported\":[{\"file\":\"proxy.txt\",\"line\":5,\"setting\":"
                             "\"Bypass List\",\"value\":\"<local>;*.contoso.com\""));
}

TEST(WindowsConfigReport, RouteDefenderIsNotTheSensorsWayOut) {
  // Only the antivirus's proxy reaches the URL: the sensor cannot, so the verdict says not ready.
  std::vector<probe::Result> results{result(Method::direct, Outcome::connect_timeout),
                                     result(Method::defender, Outcome::ok, 1)};
  results[1].proxy = "http://av-proxy.contoso.com:8080";
  const auto readiness = report::assess(results, report::ReadinessOptions{});
  EXPECT_FALSE(readiness.ready);
  EXPECT_EQ(readiness.reachable, 0u);
  const auto text = report::readiness_text(readiness);
  EXPECT_THAT(text, HasSubstr("7 - Defender Antivirus proxy: 1/1 required URLs (the antivirus's "
                              "own: not in the verdict)"));
  EXPECT_THAT(text, HasSubstr("Methods that reach every required URL: none"));
  report::UrlReachTally tally;
  for (const auto& r : results) tally.add(r);
  ASSERT_EQ(tally.urls().size(), 1u);
  EXPECT_FALSE(tally.urls()[0].reached);
}

TEST(WindowsConfigReport, HtmlCellNamesTheBypassEntry) {
  auto r = result(Method::default_proxy, Outcome::ok);
  r.bypassed_by = "*.microsoft.com";
  const std::vector<route::Route> routes{route::default_route({})};
  const auto page = test::format_output(report::Format::html, routes, {r});
  EXPECT_THAT(page, HasSubstr("\"by\":\"*.microsoft.com\""));
  EXPECT_THAT(page, HasSubstr("row('bypassed by', c.by)"));
}
