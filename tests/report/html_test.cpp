// --format html: one self-contained document whose data is a JSON blob the page's script renders.
// Headless Chromium loads a real report in report.html_chromium (tests/report/check_html).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <regex>

#include "report/detail/formats.hpp"
#include "report/detail/html_style.hpp"
#include "report/writer.hpp"
#include "test_row.hpp"
#include "tests/report/sweep_routes.hpp"

using namespace urlprobe;

namespace {

constexpr std::string_view kHostile =
    "</script><script>alert(1)</script> <!-- \"q\" & 'a' \xE2\x80\xA8 \xE2\x80\xA9 \xFF end";

std::vector<route::Route> sweep_routes() {
  return test::sweep_routes("s3cr3t-pass");
}

// 2 targets x 3 routes, the second target hostile in its URL, detail, issuer and row facts.
std::vector<probe::Result> results(const std::vector<route::Route>& routes) {
  std::vector<probe::Result> out;
  for (std::uint64_t i = 0; i < 6; ++i) {
    probe::Result r;
    r.sweep_index = i;
    const bool hostile = i >= 3;
    r.url = hostile ? "https://evil.example/" + std::string(kHostile) : "https://ok.example/";
    r.host = hostile ? "evil.example" : "ok.example";
    r.port = 443;
    const auto& route = routes[i % 3];
    r.route = route.method;
    if (route.for_https) {
      r.proxy = route.for_https->redacted();
      r.proxy_name = route.for_https->name;
    }
    r.outcome = hostile ? probe::Outcome::tls_intercepted : probe::Outcome::ok;
    r.detail = hostile ? std::string(kHostile) : "";
    r.http_status = hostile ? 0 : 200;
    r.address = "203.0.113.7:443";
    net::TlsFacts tls;
    tls.issuer = hostile ? std::string(kHostile) : "CN=Issuer";
    tls.not_after = "2027-05-01T00:00:00Z";
    tls.days_left = 159;
    r.tls = tls;
    r.ms.dns = 1.25;
    r.ms.tls = 2.123456789;
    r.ms.total = 4.75;
    r.row = test::row_with([&](sheet::RowFacts& row) {
      row.geography = hostile ? std::string(kHostile) : "WW";
      row.category = "CnC, URLs";
    });
    out.push_back(r);
  }
  return out;
}

std::string render(std::span<const route::Route> routes, const std::vector<probe::Result>& rs) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    auto writer = report::make_writer(report::Format::html, out, probe::route_columns(routes));
    report::Summary s;
    s.planned = rs.size();
    for (const auto& r : rs) {
      s.add(r);
      writer->write(r);
    }
    s.seconds = 1.5;
    s.notes.push_back(std::string(kHostile));
    writer->finish(s);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string_view::npos;
       pos = text.find(what, pos + what.size()))
    ++n;
  return n;
}

boost::json::object blob(const std::string& page) {
  constexpr std::string_view open = "<script type=\"application/json\" id=\"data\">";
  const auto start = page.find(open);
  EXPECT_NE(start, std::string::npos);
  const auto end = page.find("</script>", start);
  EXPECT_NE(end, std::string::npos);
  const auto json = page.substr(start + open.size(), end - start - open.size());
  return boost::json::parse(json).as_object();
}

TEST(HtmlReport, FormatByNameAndExtension) {
  report::Format f{};
  ASSERT_TRUE(report::parse_format("html", f));
  EXPECT_EQ(f, report::Format::html);
  f = report::Format::text;
  ASSERT_TRUE(report::format_for_path("/tmp/nightly.html", f));
  EXPECT_EQ(f, report::Format::html);
  f = report::Format::text;
  ASSERT_TRUE(report::format_for_path("report.htm", f));
  EXPECT_EQ(f, report::Format::html);
}

TEST(HtmlReport, OneSelfContainedDocument) {
  const auto routes = sweep_routes();
  const auto page = render(routes, results(routes));
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(page, "<!DOCTYPE"), 1u);
  EXPECT_EQ(count(page, "<html"), 1u);
  EXPECT_EQ(count(page, "<body"), 1u);
  EXPECT_EQ(page.substr(page.size() - 8), "</html>\n");
  // Inline style and script only: nothing fetched from anywhere.
  const std::regex external(R"((src|href)\s*=\s*["']?\s*(https?:)?//)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, external));
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
  // The password never appears; the redacted proxy does.
  EXPECT_EQ(page.find("s3cr3t"), std::string::npos);
  EXPECT_NE(page.find("http://user:***@10.0.0.7:3128"), std::string::npos);
}

TEST(HtmlReport, HostileStringsStayInsideTheBlob) {
  const auto routes = sweep_routes();
  const auto page = render(routes, results(routes));
  // Exactly the blob and the page script: the hostile text cannot open or close a script.
  EXPECT_EQ(count(page, "<script"), 2u);
  EXPECT_EQ(count(page, "</script>"), 2u);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page.find("<!--"), std::string::npos);
  EXPECT_EQ(page.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(page.find("\xE2\x80\xA9"), std::string::npos);
  EXPECT_EQ(page.find("innerHTML"), std::string::npos);  // text reaches the DOM as text only

  const auto data = blob(page);
  const auto& cells = data.at("cells").as_array();
  const auto& targets = data.at("targets").as_array();
  std::string hostile_cell;
  for (const auto& c : cells)
    if (c.as_object().at("t").as_int64() == 1) hostile_cell = c.as_object().at("d").as_string();
  // The text survives the escaping exactly (invalid UTF-8 as U+FFFD).
  std::string expected(kHostile);
  expected.replace(expected.find('\xFF'), 1, "\xEF\xBF\xBD");
  EXPECT_EQ(hostile_cell, expected);
  EXPECT_EQ(std::string(targets.at(1).as_object().at("url").as_string()),
            "https://evil.example/" + expected);
  EXPECT_EQ(std::string(targets.at(1).as_object().at("geo").as_string()), expected);
  EXPECT_EQ(std::string(data.at("summary").as_object().at("notes").as_array().at(0).as_string()),
            expected);
}

TEST(HtmlReport, BlobHoldsOneCellPerResult) {
  const auto routes = sweep_routes();
  auto rs = results(routes);
  std::reverse(rs.begin(), rs.end());  // completion order is not sweep order
  const auto data = blob(render(routes, rs));
  const auto& cells = data.at("cells").as_array();
  ASSERT_EQ(cells.size(), 6u);
  ASSERT_EQ(data.at("targets").as_array().size(), 2u);
  const auto& columns = data.at("routes").as_array();
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_EQ(columns.at(0).as_object().at("label").as_string(), "direct");
  EXPECT_EQ(columns.at(1).as_object().at("label").as_string(), "proxy paris");
  EXPECT_EQ(columns.at(2).as_object().at("label").as_string(),
            "proxy http://user:***@10.0.0.7:3128");
  EXPECT_EQ(data.at("outcomes").as_array().size(), probe::kOutcomeCount);
  const auto& first = cells.at(0).as_object();
  EXPECT_EQ(first.at("t").as_int64(), 0);
  EXPECT_EQ(first.at("r").as_int64(), 0);
  EXPECT_EQ(first.at("o").as_int64(), static_cast<int>(probe::Outcome::ok));
  EXPECT_EQ(first.at("h").as_int64(), 200);
  EXPECT_EQ(first.at("i").as_string(), "CN=Issuer");
  EXPECT_EQ(first.at("n").as_string(), "2027-05-01T00:00:00Z");
  const auto& ms = first.at("m").as_array();
  ASSERT_EQ(ms.size(), 6u);  // dns, connect, tunnel, tls, ttfb, total
  EXPECT_DOUBLE_EQ(ms.at(0).as_double(), 1.25);
  EXPECT_TRUE(ms.at(1).is_null());
  EXPECT_DOUBLE_EQ(ms.at(3).as_double(), 2.123);
  EXPECT_DOUBLE_EQ(ms.at(5).as_double(), 4.75);
  const auto& summary = data.at("summary").as_object();
  EXPECT_EQ(summary.at("probes").as_int64(), 6);
  EXPECT_EQ(summary.at("failures").as_int64(), 3);
}

TEST(HtmlReport, WithoutSweepRoutesGroupsByUrlAndRoute) {
  const auto routes = sweep_routes();
  const auto data = blob(render({}, results(routes)));  // as `urlprobe report` might give it
  EXPECT_EQ(data.at("cells").as_array().size(), 6u);
  EXPECT_EQ(data.at("targets").as_array().size(), 2u);
  EXPECT_EQ(data.at("routes").as_array().size(), 3u);
}

TEST(HtmlReport, EmptySweepIsStillAPage) {
  const auto data = blob(render(sweep_routes(), {}));
  EXPECT_EQ(data.at("cells").as_array().size(), 0u);
  EXPECT_EQ(data.at("targets").as_array().size(), 0u);
}

// The body of the page's first CSS rule for `selector`.
std::string css_rule(const std::string& page, const std::string& selector) {
  const auto start = page.find("\n" + selector + "{");
  EXPECT_NE(start, std::string::npos) << selector;
  if (start == std::string::npos) return {};
  const auto open = start + selector.size() + 2;
  return page.substr(open, page.find('}', open) - open);
}

// Issue 18: every cell shows its outcome's letter (the text matrix's codes) at a readable size,
// in the shared colour-blind-safe palette.
TEST(HtmlReport, CellsShowTheOutcomeCodeAtAReadableSize) {
  const auto routes = sweep_routes();
  const auto page = render(routes, results(routes));
  const auto data = blob(page);
  const auto& outcomes = data.at("outcomes").as_array();
  ASSERT_EQ(outcomes.size(), probe::kOutcomeCount);
  for (std::size_t i = 0; i < probe::kOutcomeCount; ++i) {
    const auto o = static_cast<probe::Outcome>(i);
    EXPECT_EQ(outcomes[i].at("code").as_string(), std::string(1, probe::outcome_code(o)));
    EXPECT_EQ(outcomes[i].at("color").as_string(), report::detail::outcome_colour(o).background);
  }
  EXPECT_NE(page.find(report::detail::outcome_css()), std::string::npos);
  const auto cell = css_rule(page, "td.c");
  EXPECT_NE(cell.find("min-width:1.6em"), std::string::npos) << cell;
  EXPECT_NE(cell.find("height:1.6em"), std::string::npos) << cell;
  std::smatch px;
  ASSERT_TRUE(std::regex_search(cell, px, std::regex(R"(font:[^;]*?(\d+)px)"))) << cell;
  EXPECT_GE(std::stoi(px[1].str()), 12) << cell;
  // The page's script writes the code into each cell, not only into its title.
  EXPECT_NE(page.find("td.textContent = O[c.o].code"), std::string::npos);
}

// Issue 18: the grid takes the page's width (at least the viewport's; the wrapper scrolls
// sideways only when the routes need more), and the URL column is as wide as a URL needs, up to
// a share of the viewport, instead of a fixed narrow one.
TEST(HtmlReport, GridFillsThePageWidth) {
  const auto routes = sweep_routes();
  const auto page = render(routes, results(routes));
  EXPECT_NE(css_rule(page, "#grid").find("min-width:100%"), std::string::npos);
  EXPECT_NE(css_rule(page, "#wrap").find("overflow:auto"), std::string::npos);
  EXPECT_EQ(page.find("width:14px"), std::string::npos);
  EXPECT_EQ(page.find("max-width:360px"), std::string::npos);
  // The URL column shrinks to its URLs (at least 16em), the route columns share the rest.
  EXPECT_NE(css_rule(page, "tbody th").find("width:1%;min-width:16em"), std::string::npos);
  const auto url = css_rule(page, "tbody th .u");
  EXPECT_NE(url.find("max-width:45vw"), std::string::npos) << url;
  EXPECT_NE(url.find("text-overflow:ellipsis"), std::string::npos) << url;
}

// Issue 18: the readiness panel's data has each listed proxy, and the page renders it.
TEST(HtmlReport, ReadinessPanelCoversListedProxies) {
  const auto routes = sweep_routes();
  const auto page = render(routes, results(routes));
  const auto data = blob(page);
  const auto& proxies = data.at("readiness").at("proxies").as_array();
  ASSERT_EQ(proxies.size(), 2u);
  EXPECT_EQ(proxies[0].at("name").as_string(), "paris");
  EXPECT_EQ(proxies[0].at("required_ok").as_int64(), 1);
  EXPECT_EQ(proxies[1].at("proxy").as_string(), "http://user:***@10.0.0.7:3128");
  EXPECT_NE(page.find("'Per proxy:'"), std::string::npos);
}

}  // namespace
