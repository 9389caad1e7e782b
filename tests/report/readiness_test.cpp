#include "report/readiness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>

#include "report/writer.hpp"
#include "test_row.hpp"
#include "written.hpp"

using namespace urlprobe;
using probe::Outcome;
using route::Method;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr std::uint64_t kRoutes = 5;

// An entry of --proxies: a route of its own after the five methods.
struct ListedProxy {
  std::string name, proxy;
};

// A sweep of URLs x the five methods (x the listed proxies), one Result per pair, in sweep order.
class Sweep {
 public:
  Sweep() = default;
  explicit Sweep(std::vector<ListedProxy> proxies) : proxies_(std::move(proxies)) {}

  // Adds a URL with the outcome per method (default, wpad, direct, named, cli).
  Sweep& url(const std::string& host, std::array<Outcome, kRoutes> outcomes,
             std::string geography = "WW", std::string required = "Required") {
    return listed(host, outcomes, {}, std::move(geography), std::move(required));
  }
  // ... and per listed proxy, in the order the constructor got them.
  Sweep& listed(const std::string& host, std::array<Outcome, kRoutes> outcomes,
                std::vector<Outcome> through, std::string geography = "WW",
                std::string required = "Required") {
    EXPECT_EQ(through.size(), proxies_.size());
    const auto target = targets_++;
    const auto routes = kRoutes + proxies_.size();
    for (std::uint64_t m = 0; m < routes; ++m) {
      probe::Result r;
      r.sweep_index = target * routes + m;
      r.host = host;
      r.url = "https://" + host + "/";
      r.port = 443;
      if (m < kRoutes) {
        r.route = static_cast<Method>(m + 1);
        if (r.route == Method::named) r.proxy = "http://named:3128";
        if (r.route == Method::cli) r.proxy = "http://cli:8080";
        if (r.route == Method::default_proxy) r.proxy = "http://env:3128";
        r.outcome = outcomes[m];
        r.tls_inspected = r.outcome == Outcome::tls_intercepted;  // as the probe sets it
      } else {
        r.route = Method::proxy_list;
        r.proxy = proxies_[m - kRoutes].proxy;
        r.proxy_name = proxies_[m - kRoutes].name;
        r.outcome = m - kRoutes < through.size() ? through[m - kRoutes] : Outcome::ok;
      }
      r.row = test::row_with([&](sheet::RowFacts& row) {
        row.geography = geography;
        row.required = required;
      });
      results.push_back(r);
    }
    return *this;
  }
  std::vector<probe::Result> results;

 private:
  std::vector<ListedProxy> proxies_;
  std::uint64_t targets_ = 0;
};

constexpr auto ok = Outcome::ok;
constexpr auto nc = Outcome::not_configured;
constexpr auto dns = Outcome::dns_error;
constexpr auto auth = Outcome::proxy_auth_required;
constexpr auto bump = Outcome::tls_intercepted;
constexpr auto refused = Outcome::connect_refused;

const report::MethodReadiness& method(const report::Readiness& r, Method m) {
  for (const auto& x : r.methods)
    if (x.method == m) return x;
  static report::MethodReadiness none;
  ADD_FAILURE() << "no method " << static_cast<int>(m);
  return none;
}

std::vector<route::Route> routes_of(const std::vector<ListedProxy>& proxies) {
  std::vector<route::Route> routes;
  for (int m = 1; m <= 5; ++m)
    routes.push_back(route::missing_route(static_cast<Method>(m), "test"));
  for (const auto& p : proxies) {
    route::ProxySpec spec;
    spec.host = p.proxy.substr(p.proxy.rfind('/') + 1, p.proxy.rfind(':') - p.proxy.rfind('/') - 1);
    spec.port = static_cast<std::uint16_t>(std::stoi(p.proxy.substr(p.proxy.rfind(':') + 1)));
    spec.name = p.name;
    routes.push_back(route::proxy_route(Method::proxy_list, spec));
  }
  return routes;
}

std::string written(report::Format format, const std::vector<probe::Result>& results,
                    std::vector<std::string> geo = {},
                    const std::vector<ListedProxy>& proxies = {}) {
  return test::format_output(format, routes_of(proxies), results, std::move(geo));
}

std::string text_of(const std::vector<probe::Result>& results, std::vector<std::string> geo = {},
                    const std::vector<ListedProxy>& proxies = {}) {
  return written(report::Format::text, results, std::move(geo), proxies);
}

const std::vector<ListedProxy> kProxies{{"paris", "http://10.0.0.6:3128"},
                                        {"", "http://10.0.0.7:3128"}};

}  // namespace

TEST(Readiness, AnyMethodMakesAUrlReachable) {
  Sweep s;
  s.url("a.example", {dns, dns, ok, nc, nc})
      .url("b.example", {ok, dns, dns, nc, nc})
      .url("c.example", {dns, dns, dns, nc, nc});
  const auto r = report::assess(s.results, {});
  EXPECT_EQ(r.required, 3u);
  EXPECT_EQ(r.reachable, 2u);
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(r.unreachable.size(), 1u);
  EXPECT_EQ(r.unreachable[0].url, "https://c.example/");
  EXPECT_THAT(r.unreachable[0].outcomes, ElementsAre("dns_error"));
}

TEST(Readiness, LocalErrorsAreNamedAsThisMachinesNotTheNetworks) {
  constexpr auto local = Outcome::local_error;
  Sweep s;
  s.url("a.example", {local, local, ok, nc, nc}).url("b.example", {local, local, local, nc, nc});
  const auto r = report::assess(s.results, {});
  EXPECT_EQ(r.reachable, 1u);
  EXPECT_FALSE(r.ready) << "a URL nothing could be learnt about is not known to be reachable";
  ASSERT_EQ(r.unreachable.size(), 1u);
  EXPECT_THAT(r.unreachable[0].outcomes, ElementsAre("local_error"));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], HasSubstr("5 probes could not be made on this machine"));
  EXPECT_THAT(r.notes[0], HasSubstr("lower --concurrency"));
}

TEST(Readiness, MethodsThatReachEveryRequiredUrl) {
  Sweep s;
  s.url("a.example", {ok, dns, ok, ok, nc}).url("b.example", {dns, dns, ok, ok, nc});
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(method(r, Method::default_proxy).required_ok, 1u);
  EXPECT_FALSE(method(r, Method::default_proxy).all);
  EXPECT_TRUE(method(r, Method::direct).all);
  EXPECT_TRUE(method(r, Method::named).all);
  EXPECT_FALSE(method(r, Method::wpad).all);
  EXPECT_FALSE(method(r, Method::cli).configured);
  EXPECT_FALSE(method(r, Method::cli).all);
  const auto text = report::readiness_text(r);
  EXPECT_THAT(text,
              HasSubstr("  Methods that reach every required URL: Proxy disabled, Named proxy\n"));
  EXPECT_THAT(text, HasSubstr("  1 - Default proxy: 1/2 required URLs\n"));
  EXPECT_THAT(text, HasSubstr("  5 - Command line proxy: not configured\n"));
  EXPECT_THAT(text, HasSubstr("  Verdict: 2 of 2 required URLs reachable (WW); ready\n"));
}

TEST(Readiness, OptionalRowsDoNotCountAndMissingColumnMeansRequired) {
  Sweep s;
  s.url("opt.example", {dns, dns, dns, nc, nc}, "WW", "Optional")
      .url("nocol.example", {dns, dns, dns, nc, nc}, "WW", "");
  const auto r = report::assess(s.results, {});
  EXPECT_EQ(r.required, 1u);
  ASSERT_EQ(r.unreachable.size(), 1u);
  EXPECT_EQ(r.unreachable[0].url, "https://nocol.example/");
}

TEST(Readiness, WorldwideAlwaysOtherGeographiesOnlyWhenChosen) {
  Sweep s;
  s.url("ww.example", {ok, nc, nc, nc, nc}, "WW")
      .url("eu.example", {dns, nc, nc, nc, nc}, "EU")
      .url("us.example", {dns, nc, nc, nc, nc}, "US");
  const auto eu = report::assess(s.results, {{"eu"}});
  EXPECT_EQ(eu.required, 2u);
  EXPECT_EQ(eu.reachable, 1u);
  EXPECT_EQ(eu.geographies, "WW+eu");
  ASSERT_EQ(eu.unreachable.size(), 1u);
  EXPECT_EQ(eu.unreachable[0].url, "https://eu.example/");

  const auto ww = report::assess(s.results, {{"UK"}});
  EXPECT_EQ(ww.required, 1u);
  EXPECT_TRUE(ww.ready);

  const auto all = report::assess(s.results, {});
  EXPECT_EQ(all.required, 3u);
  EXPECT_EQ(all.geographies, "WW+EU+US");
  ASSERT_EQ(all.by_geography.size(), 3u);
  EXPECT_EQ(all.by_geography[0].geography, "WW");
  EXPECT_EQ(all.by_geography[0].reachable, 1u);
  EXPECT_EQ(all.by_geography[1].reachable, 0u);
  EXPECT_THAT(report::readiness_text(all),
              HasSubstr("  By geography:\n    WW 1/1\n    EU 0/1\n    US 0/1\n"));
}

TEST(Readiness, InterceptedBlobStorageIsReachableWithANote) {
  Sweep s;
  s.url("ussus1eastprod.blob.core.windows.net", {bump, nc, nc, nc, nc})
      .url("x.blob.core.usgovcloudapi.net", {bump, nc, nc, nc, nc})
      .url("winatp-gw-cus.microsoft.com", {bump, nc, nc, nc, nc});
  const auto r = report::assess(s.results, {});
  EXPECT_EQ(r.reachable, 2u);
  ASSERT_EQ(r.unreachable.size(), 1u);
  EXPECT_EQ(r.unreachable[0].url, "https://winatp-gw-cus.microsoft.com/");
  ASSERT_EQ(r.todo.size(), 1u);
  EXPECT_EQ(r.todo[0].proxy, "http://env:3128");
  EXPECT_THAT(r.todo[0].exclude_inspection, ElementsAre("winatp-gw-cus.microsoft.com"));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], HasSubstr("ussus1eastprod.blob.core.windows.net"));
  EXPECT_THAT(r.notes[0], HasSubstr("x.blob.core.usgovcloudapi.net"));
  EXPECT_THAT(r.notes[0], HasSubstr("must not be excluded from inspection"));
}

TEST(Readiness, AdviceIsGroupedByProxy) {
  Sweep s;
  s.url("b.example", {auth, nc, ok, auth, nc})
      .url("a.example", {auth, nc, ok, bump, nc})
      .url("c.example", {bump, nc, ok, ok, auth});
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.ready);
  ASSERT_EQ(r.todo.size(), 3u);
  EXPECT_EQ(r.todo[0].proxy, "http://cli:8080");
  EXPECT_THAT(r.todo[0].allow_anonymous, ElementsAre("c.example"));
  EXPECT_EQ(r.todo[1].proxy, "http://env:3128");
  EXPECT_THAT(r.todo[1].allow_anonymous, ElementsAre("a.example", "b.example"));
  EXPECT_THAT(r.todo[1].exclude_inspection, ElementsAre("c.example"));
  EXPECT_EQ(r.todo[2].proxy, "http://named:3128");
  EXPECT_THAT(r.todo[2].allow_anonymous, ElementsAre("b.example"));
  EXPECT_THAT(r.todo[2].exclude_inspection, ElementsAre("a.example"));
}

TEST(Readiness, NamedProxyFallback) {
  Sweep works;
  works.url("a.example", {nc, nc, ok, refused, nc}).url("b.example", {nc, nc, ok, ok, nc});
  const auto r = report::assess(works.results, {});
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0],
            "Named proxy (http://named:3128) fails for 1 required URL; the sensor falls back to "
            "Proxy disabled, "
            "which reaches it");

  Sweep partial;
  partial.url("a.example", {nc, nc, ok, refused, nc}).url("b.example", {nc, nc, dns, refused, nc});
  const auto p = report::assess(partial.results, {});
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_THAT(p.notes[0],
              HasSubstr("fails for 2 required URLs; the sensor falls back to Proxy disabled, which "
                        "reaches 1 of them; no method reaches the other 1"));

  Sweep none;
  none.url("a.example", {nc, nc, dns, refused, nc});
  const auto n = report::assess(none.results, {});
  ASSERT_EQ(n.notes.size(), 1u);
  EXPECT_THAT(n.notes[0], HasSubstr("no other method reaches it either"));

  Sweep unconfigured;
  unconfigured.url("a.example", {nc, nc, ok, nc, nc});
  EXPECT_TRUE(report::assess(unconfigured.results, {}).notes.empty());
}

TEST(Readiness, ProxyListRoutesAreIgnored) {
  Sweep s;
  s.url("a.example", {dns, nc, dns, nc, nc});
  probe::Result listed = s.results.front();
  listed.route = Method::proxy_list;
  listed.outcome = ok;
  s.results.push_back(listed);
  EXPECT_FALSE(report::assess(s.results, {}).ready);
}

TEST(Readiness, TextSectionInTheTextWriter) {
  Sweep s;
  s.url("a.example", {auth, nc, ok, nc, nc})
      .url("b.example", {auth, nc, dns, nc, nc})
      .url("c.example", {bump, nc, dns, nc, nc})
      .url("eu.example", {dns, nc, dns, nc, nc}, "EU")
      .url("us.example", {dns, nc, dns, nc, nc}, "US");
  const auto text = text_of(s.results, {"EU"});
  EXPECT_THAT(
      text,
      HasSubstr(
          "\nReadiness\n"
          "  Verdict: 1 of 4 required URLs reachable (WW+EU); 3 unreachable by every method\n"));
  EXPECT_THAT(text, HasSubstr("  Methods that reach every required URL: none\n"));
  EXPECT_THAT(text, HasSubstr("  3 - Proxy disabled: 1/4 required URLs\n"));
  // Lists one item a line: a long one must not run past the terminal's edge.
  EXPECT_THAT(text, HasSubstr("  To do on http://env:3128:\n"
                              "    allow anonymous traffic for:\n"
                              "      a.example\n"
                              "      b.example\n"
                              "    exclude from HTTPS inspection:\n"
                              "      c.example\n"));
  EXPECT_THAT(text, HasSubstr("  Unreachable by every method:\n"
                              "    https://b.example/ (proxy_auth_required, dns_error)\n"
                              "    https://c.example/ (tls_intercepted, dns_error)\n"
                              "    https://eu.example/ (dns_error)\n"));
  EXPECT_THAT(text, Not(HasSubstr("us.example/ (")));
  // After the results, before the summary.
  EXPECT_LT(text.find("Testing URL : https://us.example/"), text.find("\nReadiness\n"));
  EXPECT_LT(text.find("\nReadiness\n"), text.find("Summary:"));
}

TEST(Readiness, JsonObject) {
  Sweep s;
  s.url("a.example", {auth, nc, ok, nc, nc}).url("b.example", {bump, nc, dns, nc, nc});
  std::string out;
  report::append_readiness_json(out, report::assess(s.results, {}));
  const auto doc = boost::json::parse(out).as_object();
  EXPECT_EQ(doc.at("verdict").as_string(), "not_ready");
  EXPECT_EQ(doc.at("required").as_int64(), 2);
  EXPECT_EQ(doc.at("reachable").as_int64(), 1);
  EXPECT_EQ(doc.at("methods").at("direct").at("required_ok").as_int64(), 1);
  EXPECT_FALSE(doc.at("methods").at("direct").at("all").as_bool());
  const auto& todo = doc.at("todo").as_array();
  ASSERT_EQ(todo.size(), 1u);
  EXPECT_EQ(todo[0].at("proxy").as_string(), "http://env:3128");
  EXPECT_EQ(todo[0].at("allow_anonymous").as_array().at(0).as_string(), "a.example");
  EXPECT_EQ(todo[0].at("exclude_inspection").as_array().at(0).as_string(), "b.example");
  EXPECT_EQ(doc.at("unreachable").as_array().at(0).as_string(), "https://b.example/");
}

TEST(Readiness, JsonWriterDocumentHasReadiness) {
  Sweep s;
  s.url("a.example", {ok, nc, ok, nc, nc});
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  auto writer = report::make_writer(report::Format::json, out, {});
  report::Summary summary;
  for (const auto& r : s.results) writer->write(r);
  writer->finish(summary);
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  const auto doc = boost::json::parse(text).as_object();
  EXPECT_EQ(doc.at("readiness").at("verdict").as_string(), "ready");
  EXPECT_TRUE(doc.contains("summary"));
}

TEST(Readiness, TransparentProxyOnTheDirectPath) {
  Sweep s;
  s.url("plain.example", {nc, nc, ok, ok, nc});
  s.url("bumped.example", {nc, nc, bump, ok, nc});
  s.url("clean.example", {nc, nc, ok, ok, nc});
  s.results[0 * kRoutes + 2].url = "http://plain.example/";
  s.results[0 * kRoutes + 2].via = "Via: 1.1 fw (squid/5.7)";
  s.results[1 * kRoutes + 2].tls.emplace().issuer = "CN=Corp Inspection CA";
  // Via on a configured proxy's route is expected; on https:// the origin's own CDN may add it.
  s.results[0 * kRoutes + 3].via = "Via: 1.1 named";
  s.results[2 * kRoutes + 2].via = "X-Cache: HIT from cdn";
  const auto r = report::assess(s.results, {});
  ASSERT_EQ(r.transparent.size(), 2u);
  EXPECT_EQ(r.transparent[0].url, "http://plain.example/");
  EXPECT_EQ(r.transparent[0].evidence, "Via: 1.1 fw (squid/5.7)");
  EXPECT_EQ(r.transparent[1].url, "https://bumped.example/");
  EXPECT_EQ(r.transparent[1].evidence, "TLS issued by CN=Corp Inspection CA");
  EXPECT_THAT(report::readiness_text(r),
              HasSubstr("  Direct traffic passes through a transparent proxy:\n"
                        "    http://plain.example/ (Via: 1.1 fw (squid/5.7))\n"
                        "    https://bumped.example/ (TLS issued by CN=Corp Inspection CA)\n"));
  std::string json;
  report::append_readiness_json(json, r);
  const auto doc = boost::json::parse(json);
  EXPECT_EQ(doc.at("transparent_proxy").as_array().size(), 2u);
  EXPECT_EQ(doc.at("transparent_proxy").at(0).at("evidence").as_string(),
            "Via: 1.1 fw (squid/5.7)");
}

// Inspection is the result's typed fact; the words of a warning or a detail never decide it.
TEST(Readiness, InspectionIsTheFactNotTheText) {
  Sweep s;
  s.url("accepted.example", {nc, nc, ok, nc, nc});
  s.url("worded.example", {nc, nc, ok, nc, nc});
  auto& accepted = s.results[0 * kRoutes + 2];  // --allow-inspection, the warning reworded
  accepted.tls_inspected = true;
  accepted.tls.emplace().issuer = "CN=Corp Inspection CA";
  accepted.warnings = {"HTTPS inspection in the path"};
  auto& worded = s.results[1 * kRoutes + 2];  // the words, without the fact
  worded.detail = "TLS intercepted: says the server";
  worded.warnings = {
      "TLS intercepted: the chain is anchored in CN=X (issuer CN=X), not a public "
      "root: HTTPS inspection in the path"};
  const auto r = report::assess(s.results, {});
  ASSERT_EQ(r.transparent.size(), 1u);
  EXPECT_EQ(r.transparent[0].url, "https://accepted.example/");
  EXPECT_EQ(r.transparent[0].evidence, "TLS issued by CN=Corp Inspection CA");
}

TEST(Readiness, NoTransparentProxyWithoutEvidence) {
  Sweep s;
  s.url("a.example", {ok, ok, ok, auth, bump});
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.transparent.empty());
  EXPECT_THAT(report::readiness_text(r), Not(HasSubstr("transparent")));
}

// A proxy inspecting with a CA the client does not trust: tls_untrusted on that route, naming an
// issuer other than the one the same URL verified with elsewhere, is still "exclude from
// inspection"; an untrusted chain seen on every route is the origin's problem, not the proxy's.
TEST(Readiness, UntrustedInspectionIsAdvisedAsExclusion) {
  constexpr auto untrusted = Outcome::tls_untrusted;
  Sweep s;
  s.url("inspected.example", {nc, nc, ok, untrusted, nc});
  s.url("broken.example", {nc, nc, untrusted, untrusted, nc});
  s.results[0 * kRoutes + 2].tls.emplace().issuer = "CN=Public CA";
  s.results[0 * kRoutes + 2].tls->verified = true;
  s.results[0 * kRoutes + 3].tls.emplace().issuer = "CN=Corp Inspection CA";
  s.results[1 * kRoutes + 2].tls.emplace().issuer = "CN=Self";
  s.results[1 * kRoutes + 3].tls.emplace().issuer = "CN=Self";
  const auto r = report::assess(s.results, {});
  ASSERT_EQ(r.todo.size(), 1u);
  EXPECT_EQ(r.todo[0].proxy, "http://named:3128");
  EXPECT_THAT(r.todo[0].exclude_inspection, ElementsAre("inspected.example"));
  EXPECT_TRUE(r.todo[0].allow_anonymous.empty());
}

// Streamlined hosts are pinned: inspection or a proxy challenge breaks the sensor there, even
// for storage, so they are advised as exclusions with the vendor's words.
TEST(Readiness, PinnedHostsGetTheVendorsAdvice) {
  Sweep s;
  s.url("mdav.eu.endpoint.security.microsoft.com", {bump, nc, ok, auth, nc})
      .url("edr-weu.eu.endpoint.security.microsoft.com", {ok, nc, ok, ok, nc})
      .url("plain.example", {auth, nc, ok, nc, nc});
  for (auto& r : s.results)
    if (r.host.ends_with(".endpoint.security.microsoft.com"))
      r.row = test::row_with([](sheet::RowFacts& row) { row.expect.trust = {"microsoft-2011"}; },
                             r.row);
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.ready);
  std::vector<std::string> pinned;
  for (const auto& note : r.notes)
    if (note.find("pins the roots") != std::string::npos) pinned.push_back(note);
  ASSERT_EQ(pinned.size(), 1u);
  EXPECT_THAT(pinned[0], HasSubstr("pins the roots of mdav.eu.endpoint.security.microsoft.com"));
  EXPECT_THAT(pinned[0], HasSubstr("exclude them from inspection"));
  EXPECT_THAT(pinned[0], HasSubstr("do not require proxy authentication"));
  EXPECT_THAT(pinned[0], Not(HasSubstr("plain.example")));
  EXPECT_THAT(pinned[0], Not(HasSubstr("edr-weu")));
}

TEST(Readiness, PinMatchedNowhereAtAPublicRootIsAStalePinNotInspection) {
  Sweep s;
  s.url("mdav.us.endpoint.security.microsoft.com",
        {Outcome::tls_untrusted, nc, Outcome::tls_untrusted, nc, nc});
  for (auto& r : s.results) {
    r.row =
        test::row_with([](sheet::RowFacts& row) { row.expect.trust = {"microsoft-2011"}; }, r.row);
    if (r.outcome == Outcome::tls_untrusted) r.tls.emplace().error = "pin_mismatch";
  }
  const auto r = report::assess(s.results, {});
  EXPECT_FALSE(r.ready);
  EXPECT_TRUE(r.todo.empty()) << "no proxy is to blame";
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], HasSubstr("nobody is inspecting"));
  EXPECT_THAT(r.notes[0], HasSubstr("--pin"));
}

// Issue 18: a wildcard row nobody can probe as written is not unreachable. It is listed apart,
// with what would make it probeable, and it never keeps the verdict from "ready".
TEST(Readiness, SkippedRowsAreListedApartNotUnreachable) {
  Sweep s;
  constexpr auto skip = Outcome::skipped;
  s.url("winatp-gw-cus.microsoft.com", {ok, nc, ok, nc, nc})
      .url("*.ods.opinsights.azure.com", {skip, skip, skip, skip, skip})
      .url("*.dm.microsoft.com", {skip, skip, skip, skip, skip}, "WW", "Optional");
  for (auto& r : s.results)
    if (r.outcome == skip)
      r.detail = r.host.starts_with("*.ods")
                     ? "workspace host *.ods.opinsights.azure.com: pass --workspace-id to probe it"
                     : "wildcard host *.dm.microsoft.com: name a concrete host to probe it";
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.required, 1u);
  EXPECT_TRUE(r.unreachable.empty());
  ASSERT_EQ(r.skipped.size(), 1u) << "only required rows are listed";
  EXPECT_EQ(r.skipped[0].url, "https://*.ods.opinsights.azure.com/");
  EXPECT_THAT(r.skipped[0].reason, HasSubstr("--workspace-id"));
  EXPECT_TRUE(method(r, Method::direct).all) << "a skipped row does not count against a method";
  const auto text = report::readiness_text(r);
  EXPECT_THAT(text, HasSubstr("ready"));
  EXPECT_THAT(text, Not(HasSubstr("Unreachable")));
  EXPECT_THAT(text, HasSubstr("Not probed (not counted):\n    https://*.ods.opinsights.azure.com/: "
                              "workspace host"));
  std::string json;
  report::append_readiness_json(json, r);
  EXPECT_THAT(json, HasSubstr("\"skipped\":[{\"url\":\"https://*.ods.opinsights.azure.com/\""));
}

// Issue 18: each entry of --proxies is an egress route of its own. Readiness says, per proxy,
// which required URLs it does not reach; the verdict stays the five methods' (the device's).
TEST(Readiness, EachListedProxyGetsItsOwnCount) {
  constexpr auto denied = Outcome::proxy_denied;
  constexpr auto dead = Outcome::proxy_unreachable;
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, ok, nc, nc}, {ok, denied})
      .listed("b.example", {nc, nc, dns, nc, nc}, {ok, dead})
      .listed("us.example", {nc, nc, ok, nc, nc}, {dns, dead}, "US")
      .listed("opt.example", {nc, nc, ok, nc, nc}, {refused, ok}, "WW", "Optional");
  const auto r = report::assess(s.results, {{"EU"}});
  EXPECT_EQ(r.required, 2u);
  EXPECT_EQ(r.reachable, 1u) << "a listed proxy is not one of the device's methods";
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(r.unreachable.size(), 1u);
  EXPECT_THAT(r.unreachable[0].outcomes, ElementsAre("dns_error"));
  ASSERT_EQ(r.proxies.size(), 2u);
  EXPECT_EQ(r.proxies[0].name, "paris");
  EXPECT_EQ(r.proxies[0].proxy, "http://10.0.0.6:3128");
  EXPECT_EQ(r.proxies[0].required_ok, 2u);
  EXPECT_TRUE(r.proxies[0].all);
  EXPECT_TRUE(r.proxies[0].unreachable.empty());
  EXPECT_EQ(r.proxies[1].name, "");
  EXPECT_EQ(r.proxies[1].proxy, "http://10.0.0.7:3128");
  EXPECT_EQ(r.proxies[1].required_ok, 0u);
  EXPECT_FALSE(r.proxies[1].all);
  ASSERT_EQ(r.proxies[1].unreachable.size(), 2u);
  EXPECT_EQ(r.proxies[1].unreachable[0].url, "https://a.example/");
  EXPECT_THAT(r.proxies[1].unreachable[0].outcomes, ElementsAre("proxy_denied"));
  EXPECT_EQ(r.proxies[1].unreachable[1].url, "https://b.example/");
  EXPECT_THAT(r.proxies[1].unreachable[1].outcomes, ElementsAre("proxy_unreachable"));
}

// A listed proxy's 407 or inspection is advice on that proxy, as for the methods' proxies.
TEST(Readiness, ListedProxiesGetTheirOwnAdvice) {
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, ok, nc, nc}, {auth, bump})
      .listed("x.blob.core.windows.net", {nc, nc, ok, nc, nc}, {ok, bump});
  const auto r = report::assess(s.results, {});
  EXPECT_TRUE(r.ready);
  ASSERT_EQ(r.todo.size(), 2u);
  EXPECT_EQ(r.todo[0].proxy, "http://10.0.0.6:3128");
  EXPECT_THAT(r.todo[0].allow_anonymous, ElementsAre("a.example"));
  EXPECT_EQ(r.todo[1].proxy, "http://10.0.0.7:3128");
  EXPECT_THAT(r.todo[1].exclude_inspection, ElementsAre("a.example"));
  ASSERT_EQ(r.proxies.size(), 2u);
  EXPECT_EQ(r.proxies[1].required_ok, 1u) << "inspected blob storage counts as reached";
  ASSERT_EQ(r.proxies[1].unreachable.size(), 1u);
  EXPECT_THAT(r.proxies[1].unreachable[0].outcomes, ElementsAre("tls_intercepted"));
}

// A skipped row is not counted for a proxy either.
TEST(Readiness, ListedProxiesDoNotCountSkippedRows) {
  constexpr auto skip = Outcome::skipped;
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, ok, nc, nc}, {ok, ok})
      .listed("*.example", {skip, skip, skip, skip, skip}, {skip, skip});
  for (auto& r : s.results)
    if (r.outcome == skip) r.detail = "wildcard host *.example: name a concrete host to probe it";
  const auto r = report::assess(s.results, {});
  ASSERT_EQ(r.proxies.size(), 2u);
  EXPECT_TRUE(r.proxies[0].all);
  EXPECT_TRUE(r.proxies[1].unreachable.empty());
}

TEST(Readiness, ListedProxiesInTheTextSection) {
  constexpr auto dead = Outcome::proxy_unreachable;
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, ok, nc, nc}, {ok, dead})
      .listed("b.example", {nc, nc, ok, nc, nc}, {Outcome::proxy_denied, dead})
      .listed("c.example", {nc, nc, ok, nc, nc}, {ok, dead});
  const auto text = text_of(s.results, {}, kProxies);
  EXPECT_THAT(text,
              HasSubstr("  5 - Command line proxy: not configured\n"
                        "  Proxies that reach every required URL: none\n"
                        "  Proxy paris (http://10.0.0.6:3128): 2/3 required URLs; "
                        "unreachable through it:\n"
                        "    https://b.example/ (proxy_denied)\n"
                        "  Proxy http://10.0.0.7:3128: 0/3 required URLs (proxy_unreachable)\n"));
  EXPECT_THAT(text, HasSubstr(report::readiness_text(report::assess(s.results, {}))));
}

TEST(Readiness, ListedProxiesInTheJsonObject) {
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, ok, nc, nc}, {ok, Outcome::proxy_denied});
  const auto doc = boost::json::parse(written(report::Format::json, s.results, {}, kProxies));
  const auto& proxies = doc.at("readiness").at("proxies").as_array();
  ASSERT_EQ(proxies.size(), 2u);
  EXPECT_EQ(proxies[0].at("name").as_string(), "paris");
  EXPECT_EQ(proxies[0].at("proxy").as_string(), "http://10.0.0.6:3128");
  EXPECT_EQ(proxies[0].at("required_ok").as_int64(), 1);
  EXPECT_TRUE(proxies[0].at("all").as_bool());
  EXPECT_EQ(proxies[1].at("unreachable").at(0).at("url").as_string(), "https://a.example/");
  EXPECT_EQ(proxies[1].at("unreachable").at(0).at("outcomes").at(0).as_string(), "proxy_denied");
}

// Results of listed proxies alone (a filtered file): the section still says what each reaches,
// and does not claim that "every method" failed.
TEST(Readiness, OnlyListedProxies) {
  Sweep s(kProxies);
  s.listed("a.example", {nc, nc, nc, nc, nc}, {ok, Outcome::proxy_denied});
  std::erase_if(s.results, [](const auto& r) { return r.route != Method::proxy_list; });
  const auto r = report::assess(s.results, {});
  EXPECT_FALSE(r.ready);
  const auto text = report::readiness_text(r);
  EXPECT_THAT(text, HasSubstr("  Verdict: no method route in these results; each proxy below\n"));
  EXPECT_THAT(text, Not(HasSubstr("every method")));
  EXPECT_THAT(text, HasSubstr("  Proxy paris (http://10.0.0.6:3128): 1/1 required URLs\n"));
}
