// The text format (issue 18): routes that do not exist on this host are named once at the top,
// not on every URL; `--format analyzer` keeps the analyzer's five-line transcript; no line is
// wider than a terminal, lists come one item a line and URLs are never broken.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "report/writer.hpp"
#include "sheet/sheet.hpp"
#include "test_row.hpp"
#include "written.hpp"

using namespace urlprobe;
using probe::Outcome;
using route::Method;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The routes of a host with no WPAD, no named proxy and no --proxy: two exist, three do not.
std::vector<route::Route> host_routes() {
  route::EnvironmentProxy environment;
  route::ProxySpec env;
  env.host = "env.corp.example";
  env.port = 3128;
  environment.http = env;
  environment.https = env;
  return {route::default_route(environment),
          route::missing_route(Method::wpad,
                               "WPAD: no PAC at http://wpad.corp.example/wpad.dat "
                               "(dns_error), http://wpad.example/wpad.dat (dns_error)"),
          route::direct_route(),
          route::missing_route(Method::named, "no named proxy configured (--named-proxy)"),
          route::missing_route(Method::cli, "no command-line proxy given (--proxy)")};
}

std::string render(report::Format format, const std::vector<route::Route>& routes,
                   const std::vector<probe::Result>& results) {
  return test::format_output(format, routes, results);
}

// One URL x the five methods, as a sweep with host_routes() records it.
std::vector<probe::Result> five(std::uint64_t target, const std::string& url,
                                const std::vector<route::Route>& routes, Outcome default_outcome,
                                Outcome direct_outcome) {
  std::vector<probe::Result> out;
  for (std::size_t m = 0; m < routes.size(); ++m) {
    probe::Result r;
    r.sweep_index = target * routes.size() + m;
    r.url = url;
    r.host = url.substr(8, url.find('/', 8) - 8);
    r.port = 443;
    r.route = routes[m].method;
    r.row = test::row_with([](sheet::RowFacts& row) {
      row.geography = "WW";
      row.required = "Required";
    });
    if (!routes[m].configured) {
      r.outcome = Outcome::not_configured;
      r.detail = routes[m].not_configured;
    } else {
      r.outcome = r.route == Method::direct ? direct_outcome : default_outcome;
      if (r.route == Method::default_proxy) r.proxy = "http://env.corp.example:3128";
      if (r.outcome == Outcome::ok) r.http_status = 200;
      if (r.outcome == Outcome::dns_error) r.detail = "NXDOMAIN: " + r.host + " does not exist";
      if (r.outcome == Outcome::proxy_auth_required) {
        r.proxy_status = 407;
        r.detail = "the proxy wants credentials (Proxy-Authenticate: Negotiate, NTLM)";
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<probe::Result> three_urls(const std::vector<route::Route>& routes) {
  std::vector<probe::Result> all;
  for (auto& r : five(0, "https://a.example/", routes, Outcome::ok, Outcome::dns_error))
    all.push_back(r);
  for (auto& r :
       five(1, "https://b.example/", routes, Outcome::proxy_auth_required, Outcome::dns_error))
    all.push_back(r);
  for (auto& r : five(2, "https://c.example/", routes, Outcome::ok, Outcome::ok)) all.push_back(r);
  return all;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(TextFormat, MissingRoutesAreNamedOnceAtTheTopWithTheirFlag) {
  const auto routes = host_routes();
  const auto text = render(report::Format::text, routes, three_urls(routes));
  EXPECT_THAT(text, Not(HasSubstr("Doesn't exist"))) << text;
  EXPECT_EQ(text.rfind("Not configured on this host", 0), 0u) << text;
  EXPECT_EQ(count(text, "Not configured on this host"), 1u) << text;
  const auto header = text.substr(0, text.find("Testing URL"));
  EXPECT_THAT(header, HasSubstr("2 - Proxy auto discovery (WPAD): --pac FILE|URL"));
  EXPECT_THAT(header, HasSubstr("http://wpad.corp.example/wpad.dat (dns_error)"));
  EXPECT_THAT(header, HasSubstr("4 - Named proxy: --named-proxy"));
  EXPECT_THAT(header, HasSubstr("5 - Command line proxy: --proxy"));
  EXPECT_THAT(header, Not(HasSubstr("1 - Default proxy")));
  EXPECT_THAT(header, Not(HasSubstr("3 - Proxy disabled")));
  // Per URL: the routes that exist, failures with their reasons.
  EXPECT_THAT(text,
              HasSubstr("Testing URL : https://a.example/\n"
                        "1 - Default proxy: Succeeded (200) via http://env.corp.example:3128\n"
                        "3 - Proxy disabled: Failed, dns_error: NXDOMAIN: a.example does not "
                        "exist\n"));
  EXPECT_THAT(text, HasSubstr("1 - Default proxy: Failed, proxy_auth_required (407): the proxy "
                              "wants credentials"));
  EXPECT_EQ(count(text, "Testing URL : "), 3u);
  EXPECT_THAT(text, HasSubstr("\nReadiness\n"));
  EXPECT_THAT(text, HasSubstr("Summary: 15 probes, 3 ok, 3 failed"));
}

TEST(TextFormat, ARouteMissingForOneUrlOnlyIsShownOnThatUrl) {
  // A configured route can still have nothing for one URL (a PAC script not run for it): that is
  // news about this URL, so it stays on its block with the reason.
  auto routes = host_routes();
  routes[1] = route::Route{};
  routes[1].method = Method::wpad;
  auto results = three_urls(routes);
  results[1].outcome = Outcome::not_configured;
  results[1].detail = "the PAC script was not evaluated for this URL";
  const auto text = render(report::Format::text, routes, results);
  EXPECT_THAT(text,
              HasSubstr("Testing URL : https://a.example/\n"
                        "1 - Default proxy: Succeeded (200) via http://env.corp.example:3128\n"
                        "2 - Proxy auto discovery (WPAD): Not configured for this URL: the "
                        "PAC script was not"));
  EXPECT_THAT(text.substr(0, text.find("Testing URL")), Not(HasSubstr("2 - Proxy auto")));
}

TEST(TextFormat, EveryRouteConfiguredHasNoHeader) {
  const std::vector<route::Route> routes{route::direct_route()};
  const auto text = render(report::Format::text, routes,
                           five(0, "https://a.example/", routes, Outcome::ok, Outcome::ok));
  EXPECT_EQ(
      text.rfind("Testing URL : https://a.example/\n3 - Proxy disabled: Succeeded (200)\n", 0), 0u)
      << text;
}

TEST(AnalyzerFormat, KeepsTheFiveLineTranscript) {
  report::Format format;
  ASSERT_TRUE(report::parse_format("analyzer", format));
  EXPECT_EQ(format, report::Format::analyzer);
  const auto routes = host_routes();
  const auto text = render(format, routes, three_urls(routes));
  EXPECT_EQ(text.rfind("Testing URL : https://a.example/\n"
                       "1 - Default proxy: Succeeded (200) via http://env.corp.example:3128\n"
                       "2 - Proxy auto discovery (WPAD): Doesn't exist\n"
                       "3 - Proxy disabled: Failed, dns_error: NXDOMAIN: a.example does not exist\n"
                       "4 - Named proxy: Doesn't exist\n"
                       "5 - Command line proxy: Doesn't exist\n"
                       "Testing URL : https://b.example/\n",
                       0),
            0u)
      << text;
  EXPECT_EQ(count(text, "Doesn't exist"), 9u);
  EXPECT_THAT(text, Not(HasSubstr("Not configured on this host")));
  EXPECT_THAT(text, HasSubstr("Summary: 15 probes, 3 ok, 3 failed"));
}

TEST(AnalyzerFormat, OnlyByName) {
  // No file extension means the analyzer's transcript: -o X.txt stays the readable text.
  report::Format format;
  for (const char* path : {"out.txt", "out.log", "out.analyzer", "out"})
    EXPECT_FALSE(report::format_for_path(path, format) && format == report::Format::analyzer)
        << path;
}

namespace {

// A built-in sheet swept on a host behind an inspecting, authenticating proxy, where most URLs
// are unreachable: the longest readiness lists the text format can have.
std::vector<probe::Result> synthetic_sweep(const sheet::TargetList& list,
                                           const std::vector<route::Route>& routes) {
  std::vector<probe::Result> all;
  std::uint64_t index = 0;
  for (const auto& target : list.targets) {
    for (std::size_t m = 0; m < routes.size(); ++m, ++index) {
      probe::Result r;
      r.sweep_index = index;
      r.url = target.url;
      r.host = target.host;
      r.port = target.port;
      r.route = routes[m].method;
      r.row = target.row;
      if (!routes[m].configured) {
        r.outcome = Outcome::not_configured;
        r.detail = routes[m].not_configured;
      } else if (!target.skip.empty()) {
        r.outcome = Outcome::skipped;
        r.detail = target.skip.str();
      } else if (r.route == Method::default_proxy) {
        r.proxy = "http://env.corp.example:3128";
        switch (index % 3) {
          case 0:
            r.outcome = Outcome::tls_intercepted;
            r.detail =
                "the chain ends at CN=Contoso Inspection Root CA 2024, O=Contoso Ltd, C=GB, which "
                "is not a public root";
            r.tls.emplace();
            r.tls->issuer = "CN=Contoso Inspection Issuing CA 07, O=Contoso Ltd, C=GB";
            break;
          case 1:
            r.outcome = Outcome::proxy_auth_required;
            r.proxy_status = 407;
            r.detail =
                "the proxy wants credentials (Proxy-Authenticate: Negotiate, NTLM, Basic "
                "realm=\"Contoso corporate proxy\")";
            break;
          default:
            r.outcome = Outcome::ok;
            r.http_status = 200;
        }
      } else {
        r.outcome = Outcome::connect_timeout;
        r.detail = "no answer from " + target.host + " port " + std::to_string(target.port) +
                   " within 3.3 s (every address tried: 20.190.151.7, 20.190.151.9, "
                   "2603:1037:1:c8::8)";
      }
      all.push_back(std::move(r));
    }
  }
  return all;
}

// A line wider than WIDTH is allowed only when a URL longer than the room left makes it so: it
// then ends with that URL and holds nothing but a short label before it.
void expect_narrow(const std::string& text, std::size_t width) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.size() <= width) continue;
    const auto space = line.rfind(' ');
    const auto last = space == std::string::npos ? line : line.substr(space + 1);
    const bool one_long_url = last.find("://") != std::string::npos &&
                              line.size() - last.size() <= 40 &&
                              line.find("://") == line.size() - last.size() + last.find("://");
    EXPECT_TRUE(one_long_url) << "line " << number << " is " << line.size() << " columns:\n"
                              << line;
  }
}

}  // namespace

TEST(TextFormat, NoLineWiderThanATerminalForTheBuiltinSheets) {
  const auto routes = host_routes();
  for (const char* name : {"commercial", "analyzer", "streamlined"}) {
    sheet::TargetList list;
    sheet::load_builtin(name, {}, list);
    sheet::deduplicate(list);
    ASSERT_GT(list.targets.size(), 10u) << name;
    const auto text = render(report::Format::text, routes, synthetic_sweep(list, routes));
    SCOPED_TRACE(name);
    expect_narrow(text, 100);
    // The long lists are there to be wrapped: one URL or host a line, none broken.
    EXPECT_THAT(text, HasSubstr("  Unreachable by every method:\n    http")) << text;
    EXPECT_THAT(text, HasSubstr("    exclude from HTTPS inspection:\n      ")) << text;
    for (const auto& target : list.targets)
      EXPECT_THAT(text, HasSubstr("Testing URL : " + target.url + "\n"));
    EXPECT_THAT(text, Not(HasSubstr("Doesn't exist")));
  }
}

TEST(TextFormat, IssuersByPathOneALine) {
  const std::vector<route::Route> routes{route::direct_route(),
                                         route::proxy_route(Method::cli, route::ProxySpec{})};
  auto results = five(0, "https://a.example/", routes, Outcome::tls_intercepted, Outcome::ok);
  results[0].tls.emplace();
  results[0].tls->issuer = "CN=Public Root";
  results[1].proxy = "http://bump:3128";
  results[1].tls.emplace();
  results[1].tls->issuer = "CN=Inspection CA";
  EXPECT_THAT(render(report::Format::text, routes, results),
              HasSubstr("  ! TLS issuer differs by path:\n"
                        "      direct: CN=Public Root\n"
                        "      via http://bump:3128: CN=Inspection CA\n"));
  EXPECT_THAT(render(report::Format::analyzer, routes, results),
              HasSubstr("  ! TLS issuer differs by path: direct: CN=Public Root; via "
                        "http://bump:3128: CN=Inspection CA\n"));
}

// Issue 21: a host put in for a wildcard row says which wildcard it stands for and where it came
// from; the analyzer transcript stays the analyzer's.
TEST(TextFormat, AConcreteHostNamesTheWildcardItStandsFor) {
  const auto routes = host_routes();
  auto dm = five(0, "https://checkin.dm.microsoft.com/", routes, Outcome::ok, Outcome::ok);
  auto ods = five(1, "https://3f2a8c1e-5b7d-4e90-a1c2-6d8e9f0a1b2c.ods.opinsights.azure.com/",
                  routes, Outcome::ok, Outcome::dns_error);
  const auto dm_row = test::row_with([](sheet::RowFacts& row) {
    row.wildcard = "*.dm.microsoft.com";
    row.host_from = "representative";
  });
  const auto ods_row = test::row_with([](sheet::RowFacts& row) {
    row.wildcard = "*.ods.opinsights.azure.com";
    row.host_from = "workspace-id";
    row.workspace = "3f2a8c1e-5b7d-4e90-a1c2-6d8e9f0a1b2c";
  });
  for (auto& r : dm) r.row = dm_row;
  for (auto& r : ods) r.row = ods_row;
  std::vector<probe::Result> results = dm;
  results.insert(results.end(), ods.begin(), ods.end());
  const auto text = render(report::Format::text, routes, results);
  EXPECT_THAT(text,
              HasSubstr("Testing URL : https://checkin.dm.microsoft.com/\n"
                        "  for *.dm.microsoft.com: a host the vendor's analyzer tests for it\n"));
  EXPECT_THAT(text, HasSubstr("  for *.ods.opinsights.azure.com: --workspace-id, workspace "
                              "3f2a8c1e-5b7d-4e90-a1c2-6d8e9f0a1b2c\n"));
  EXPECT_THAT(render(report::Format::analyzer, routes, results), Not(HasSubstr("  for *.")));
}
