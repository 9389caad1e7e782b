// What each outcome looked like in every report before the outcome table (issue 19), written
// down by hand from the code of that time: its name, letter, family, colours, whether it fails a
// sweep, whether the text line shows the proxy's status, and the text matrix's legend. The table
// must reproduce every one of these byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "probe/route_column.hpp"
#include "report/detail/formats.hpp"
#include "report/detail/html_style.hpp"
#include "report/writer.hpp"
#include "sweep_routes.hpp"
#include "written.hpp"

using namespace urlprobe;
using probe::Outcome;
using Family = probe::OutcomeFamily;
using ::testing::HasSubstr;

namespace {

struct Snapshot {
  std::string_view name;
  char code;
  Family family;
  std::string_view background, foreground;
  bool failure;
  bool shows_proxy_status;  // the text line's "(407)" is the proxy's status when no HTTP one
};

constexpr std::array<Snapshot, 17> kSnapshot{{
    {"ok", '.', Family::ok, "#009e73", "#000000", false, false},
    {"unexpected_status", '?', Family::http, "#f0e442", "#000000", true, false},
    {"dns_error", 'N', Family::dns, "#cc79a7", "#000000", true, false},
    {"connect_refused", 'R', Family::connect, "#d55e00", "#000000", true, false},
    {"connect_timeout", 'T', Family::connect, "#d55e00", "#000000", true, false},
    {"proxy_unreachable", 'U', Family::proxy, "#e69f00", "#000000", true, true},
    {"proxy_auth_required", 'A', Family::proxy, "#e69f00", "#000000", true, true},
    {"proxy_denied", 'D', Family::proxy, "#e69f00", "#000000", true, true},
    {"proxy_error", 'E', Family::proxy, "#e69f00", "#000000", true, true},
    {"tls_intercepted", 'I', Family::tls, "#0072b2", "#ffffff", true, false},
    {"tls_untrusted", 'C', Family::tls, "#0072b2", "#ffffff", true, false},
    {"tls_error", 'S', Family::tls, "#0072b2", "#ffffff", true, false},
    {"http_error", 'H', Family::http, "#f0e442", "#000000", true, false},
    {"timeout", 't', Family::timeout, "#56b4e9", "#000000", true, false},
    {"local_error", 'L', Family::local, "#000000", "#ffffff", true, false},
    {"not_configured", '-', Family::neutral, "#d9d9d9", "#000000", false, false},
    {"skipped", 's', Family::neutral, "#d9d9d9", "#000000", false, false},
}};

std::string render(const std::vector<route::Route>& routes,
                   const std::vector<probe::Result>& results) {
  return test::format_output(report::Format::text, routes, results);
}

}  // namespace

TEST(OutcomeSnapshot, ThereAreAsManyOutcomesAsBefore) {
  EXPECT_EQ(probe::kOutcomeCount, kSnapshot.size());
}

TEST(OutcomeSnapshot, NamesLettersFamiliesColoursAndFailureAreUnchanged) {
  for (std::size_t i = 0; i < kSnapshot.size(); ++i) {
    const auto o = static_cast<Outcome>(i);
    const auto& s = kSnapshot[i];
    EXPECT_EQ(probe::outcome_name(o), s.name) << i;
    EXPECT_EQ(probe::parse_outcome(s.name), o) << s.name;
    EXPECT_EQ(probe::outcome_code(o), s.code) << s.name;
    EXPECT_EQ(probe::outcome_family(o), s.family) << s.name;
    EXPECT_EQ(report::detail::outcome_colour(o).background, s.background) << s.name;
    EXPECT_EQ(report::detail::outcome_colour(o).foreground, s.foreground) << s.name;
    EXPECT_EQ(probe::is_failure(o), s.failure) << s.name;
  }
  EXPECT_EQ(probe::parse_outcome("no_such_outcome"), std::nullopt);
  EXPECT_EQ(probe::parse_outcome(""), std::nullopt);
}

TEST(OutcomeSnapshot, CssIsUnchanged) {
  std::string css;
  for (std::size_t i = 0; i < kSnapshot.size(); ++i)
    css += ".o" + std::to_string(i) + "{background:" + std::string(kSnapshot[i].background) +
           ";color:" + std::string(kSnapshot[i].foreground) + "}\n";
  EXPECT_EQ(report::detail::outcome_css(), css);
}

// A failed line shows the HTTP status, else the proxy's status for the outcomes that blame the
// proxy, else none.
TEST(OutcomeSnapshot, TheProxyStatusIsShownForProxyOutcomesOnly) {
  const std::vector<route::Route> routes{route::direct_route()};
  for (std::size_t i = 0; i < kSnapshot.size(); ++i) {
    const auto o = static_cast<Outcome>(i);
    if (!probe::is_failure(o)) continue;
    probe::Result r;
    r.url = "https://a.example/";
    r.host = "a.example";
    r.port = 443;
    r.route = route::Method::direct;
    r.outcome = o;
    r.proxy_status = 407;
    r.detail = "why";
    const auto text = render(routes, {r});
    const auto expected = std::string("3 - Proxy disabled: Failed, ") +
                          std::string(kSnapshot[i].name) +
                          (kSnapshot[i].shows_proxy_status ? " (407): why\n" : ": why\n");
    EXPECT_THAT(text, HasSubstr(expected)) << text;
  }
}

TEST(OutcomeSnapshot, TheTextMatrixLegendIsUnchanged) {
  const auto routes = test::sweep_routes("secret");
  std::vector<probe::Result> results;
  for (std::size_t m = 0; m < routes.size(); ++m) {
    probe::Result r;
    r.sweep_index = m;
    r.url = "https://a.example/";
    r.host = "a.example";
    r.port = 443;
    r.route = routes[m].method;
    r.outcome = m == 2 ? Outcome::proxy_denied : Outcome::ok;
    results.push_back(r);
  }
  const auto text = render(routes, results);
  EXPECT_THAT(
      text,
      HasSubstr(
          "  .D  https://a.example/\n"
          "  legend: . ok  ? unexpected_status  N dns_error  R connect_refused  T connect_timeout\n"
          "          U proxy_unreachable  A proxy_auth_required  D proxy_denied  E proxy_error\n"
          "          I tls_intercepted  C tls_untrusted  S tls_error  H http_error  t timeout\n"
          "          L local_error\n"
          "Per proxy:\n"))
      << text;
}
