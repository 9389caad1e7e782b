// The file formats (csv, junit, prometheus, json) on a handful of varied results, hostile strings
// included. The built binary's files are also checked by xmllint/promtool in
// report.formats_external (tests/report/check_formats).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "report/writer.hpp"
#include "test_row.hpp"
#include "tests/report/sweep_routes.hpp"
#include "tests/report/written.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr std::string_view kHostile =
    "say \"hi\", then\nnew line </testcase> ]]> \xC3\xBCn\xC3\xAF \x01 \xFF\\end";

std::chrono::system_clock::time_point at(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::vector<probe::Result> results() {
  std::vector<probe::Result> out;
  {
    probe::Result r;
    r.sweep_index = 0;
    r.url = "https://ok.example/test";
    r.host = "ok.example";
    r.port = 443;
    r.outcome = probe::Outcome::ok;
    r.http_status = 200;
    r.address = "203.0.113.7:443";
    net::TlsFacts tls;
    tls.version = "TLSv1.3";
    tls.issuer = "CN=Issuer, O=\"Quoted\" Org";
    tls.subject = "CN=ok.example";
    tls.not_after = "2027-05-01T00:00:00Z";
    tls.days_left = 159;
    tls.verified = true;
    r.tls = tls;
    r.ms.dns = 1.25;
    r.ms.connect = 0.5;
    r.ms.tls = 2;
    r.ms.ttfb = 1;
    r.ms.total = 4.75;
    r.row = test::row_with([](sheet::RowFacts& row) {
      row.geography = "WW";
      row.category = "CnC, URLs";
    });
    r.started = at(1795316400123);
    out.push_back(r);
  }
  {
    probe::Result r;
    r.sweep_index = 3;
    r.url = "https://nosuch.invalid/";
    r.host = "nosuch.invalid";
    r.port = 443;
    r.outcome = probe::Outcome::dns_error;
    r.detail = "NXDOMAIN";
    r.ms.dns = 3;
    r.ms.total = 3;
    r.started = at(1795316400200);
    out.push_back(r);
  }
  {
    probe::Result r;  // a proxy-list entry with a name
    r.sweep_index = 1;
    r.url = "https://ok.example/test";
    r.host = "ok.example";
    r.port = 443;
    r.route = route::Method::proxy_list;
    r.proxy = "http://user:***@10.0.0.6:3128";
    r.proxy_name = "paris";
    r.outcome = probe::Outcome::proxy_auth_required;
    r.detail = "407 Proxy Authentication Required";
    r.proxy_status = 407;
    r.ms.connect = 0.4;
    r.ms.tunnel = 1.2;
    r.ms.total = 1.6;
    r.started = at(1795316400300);
    out.push_back(r);
  }
  {
    probe::Result r;  // a wildcard row
    r.sweep_index = 6;
    r.url = "https://*.wild.example/";
    r.host = "*.wild.example";
    r.port = 443;
    r.outcome = probe::Outcome::skipped;
    r.detail = "wildcard host";
    r.started = at(1795316400400);
    out.push_back(r);
  }
  {
    probe::Result r;  // hostile strings everywhere text goes
    r.sweep_index = 9;
    r.url = "https://hostile.example/a\"b\\c";
    r.host = "hostile.example";
    r.port = 8443;
    r.outcome = probe::Outcome::tls_untrusted;
    r.detail = std::string(kHostile);
    net::TlsFacts tls;
    tls.issuer = std::string(kHostile);
    tls.not_after = "not a date";
    r.tls = tls;
    r.ms.total = 12.5;
    r.row = test::row_with([](sheet::RowFacts& row) { row.category = std::string(kHostile); });
    r.started = at(1795316400500);
    out.push_back(r);
  }
  return out;
}

std::vector<route::Route> sweep_routes() {
  return test::sweep_routes("secret");
}

report::Summary summary_of(const std::vector<probe::Result>& rs) {
  report::Summary s;
  s.planned = rs.size();
  for (const auto& r : rs) s.add(r);
  s.seconds = 1.5;
  s.input_errors = 2;
  s.ended = at(1795316401500);
  return s;
}

std::string render(report::Format format) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  const auto routes = sweep_routes();
  const auto rs = results();
  {
    auto writer = report::make_writer(format, out, probe::route_columns(routes));
    for (const auto& r : rs) writer->write(r);
    writer->finish(summary_of(rs));
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

// RFC 4180 reader: records of fields; quoted fields may hold commas, quotes ("") and line breaks.
std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    auto& field = rows.back().back();
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "quote inside an unquoted field at " << i;
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\r') {
      EXPECT_EQ(text.substr(i, 2), "\r\n") << "bare CR at " << i;
      ++i;
      rows.emplace_back(1);
    } else {
      EXPECT_NE(c, '\n') << "bare LF outside quotes at " << i;
      field += c;
    }
  }
  EXPECT_FALSE(quoted);
  EXPECT_EQ(rows.back(), std::vector<std::string>(1)) << "the last record ends in CRLF";
  rows.pop_back();
  return rows;
}

// The hostile text as a reader gets it back: invalid UTF-8 becomes U+FFFD.
std::string hostile_as_utf8() {
  std::string s(kHostile);
  return s.replace(s.find('\xFF'), 1, "\xEF\xBF\xBD");
}

bool have(const char* tool) {
  return std::system(("command -v " + std::string(tool) + " >/dev/null 2>&1").c_str()) == 0;
}

std::string write_temp(std::string_view name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    (std::to_string(::getpid()) + "-" + std::string(name));
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

}  // namespace

TEST(FileFormats, ByNameAndByExtension) {
  report::Format f;
  const std::map<std::string, report::Format> names{{"json", report::Format::json},
                                                    {"csv", report::Format::csv},
                                                    {"junit", report::Format::junit},
                                                    {"prometheus", report::Format::prometheus}};
  for (const auto& [name, format] : names) {
    ASSERT_TRUE(report::parse_format(name, f)) << name;
    EXPECT_EQ(f, format);
  }
  const std::map<std::string, report::Format> paths{
      {"a/run.json", report::Format::json},
      {"run.csv", report::Format::csv},
      {"junit.xml", report::Format::junit},
      {"/var/lib/node_exporter/urlprobe.prom", report::Format::prometheus}};
  for (const auto& [path, format] : paths) {
    ASSERT_TRUE(report::format_for_path(path, f)) << path;
    EXPECT_EQ(f, format);
  }
  EXPECT_FALSE(report::parse_format("xml", f));
}

TEST(CsvWriter, HeaderAndOneRfc4180RowPerResult) {
  const auto text = render(report::Format::csv);
  const auto rows = parse_csv(text);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(
      text.substr(0, text.find("\r\n")),
      "url,host,port,route,proxy,proxy_name,outcome,detail,http_status,proxy_status,address,ms_dns,"
      "ms_connect,ms_tunnel,ms_tls,ms_ttfb,ms_total,tls_version,tls_issuer,tls_subject,tls_not_"
      "after,"
      "tls_days_left,geography,category,started");
  for (const auto& row : rows) EXPECT_EQ(row.size(), 25u);
  std::map<std::string, std::string> ok;
  for (std::size_t i = 0; i < rows[0].size(); ++i) ok[rows[0][i]] = rows[1][i];
  EXPECT_EQ(ok["url"], "https://ok.example/test");
  EXPECT_EQ(ok["port"], "443");
  EXPECT_EQ(ok["route"], "direct");
  EXPECT_EQ(ok["outcome"], "ok");
  EXPECT_EQ(ok["http_status"], "200");
  EXPECT_EQ(ok["proxy_status"], "");
  EXPECT_EQ(ok["ms_dns"], "1.250");
  EXPECT_EQ(ok["ms_tunnel"], "");
  EXPECT_EQ(ok["ms_total"], "4.750");
  EXPECT_EQ(ok["tls_issuer"], "CN=Issuer, O=\"Quoted\" Org");
  EXPECT_EQ(ok["tls_days_left"], "159");
  EXPECT_EQ(ok["category"], "CnC, URLs");
  EXPECT_EQ(ok["started"], "2026-11-22T03:00:00.123Z");
  EXPECT_EQ(rows[3][3], "proxy");
  EXPECT_EQ(rows[3][4], "http://user:***@10.0.0.6:3128");
  EXPECT_EQ(rows[3][5], "paris");
  EXPECT_EQ(rows[3][9], "407");
  EXPECT_EQ(rows[5][0], "https://hostile.example/a\"b\\c");
  EXPECT_EQ(rows[5][7], hostile_as_utf8());
  EXPECT_EQ(rows[5][18], hostile_as_utf8());
  EXPECT_THAT(text, Not(HasSubstr("secret")));
}

// CSV injection: a cell a spreadsheet would evaluate is written as text; numbers keep their sign.
TEST(CsvWriter, FormulaLikeTextIsDefused) {
  probe::Result r = results().front();
  r.detail = "=HYPERLINK(\"http://evil.example\",\"click\")";
  r.row = test::row_with(
      [](sheet::RowFacts& row) {
        row.category = "@SUM(1)";
        row.geography = "-1+2";
      },
      r.row);
  r.tls.emplace().days_left = -3;
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    auto writer =
        report::make_writer(report::Format::csv, out, probe::route_columns(sweep_routes()));
    writer->write(r);
    writer->finish(summary_of({r}));
  }
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  const auto rows = parse_csv(text);
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, std::string> row;
  for (std::size_t i = 0; i < rows[0].size(); ++i) row[rows[0][i]] = rows[1][i];
  EXPECT_EQ(row["detail"], "'=HYPERLINK(\"http://evil.example\",\"click\")");
  EXPECT_EQ(row["category"], "'@SUM(1)");
  EXPECT_EQ(row["geography"], "'-1+2");
  EXPECT_EQ(row["tls_days_left"], "-3");
}

TEST(CsvWriter, HeaderEvenWithoutResults) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  report::make_writer(report::Format::csv, out, {})->finish(report::Summary{});
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  EXPECT_EQ(parse_csv(text).size(), 1u);
}

TEST(JunitWriter, SuitePerRouteAndProxyCasePerTarget) {
  const auto xml = render(report::Format::junit);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 0), 0u);
  EXPECT_THAT(
      xml,
      HasSubstr(
          "<testsuites name=\"urlprobe\" tests=\"5\" failures=\"3\" errors=\"0\" skipped=\"1\""));
  EXPECT_EQ(count(xml, "<testsuite "), 2u);
  EXPECT_EQ(count(xml, "<testcase "), 5u);
  EXPECT_EQ(count(xml, "</testcase>"), 5u);
  EXPECT_EQ(count(xml, "<failure "), 3u);
  EXPECT_EQ(count(xml, "<skipped "), 1u);
  // Sweep order: direct (route 0) before the list entry (route 1).
  const auto direct = xml.find(
      "<testsuite name=\"direct\" id=\"0\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"1\"");
  const auto paris = xml.find(
      "<testsuite name=\"proxy paris\" id=\"1\" tests=\"1\" failures=\"1\" errors=\"0\" "
      "skipped=\"0\"");
  ASSERT_NE(direct, std::string::npos) << xml;
  ASSERT_NE(paris, std::string::npos) << xml;
  EXPECT_LT(direct, paris);
  EXPECT_THAT(
      xml,
      HasSubstr(
          "<testcase name=\"https://ok.example/test\" classname=\"proxy paris\" time=\"0.002\">\n"
          "      <failure message=\"proxy_auth_required: 407 Proxy Authentication Required\" "
          "type=\"proxy_auth_required\"/>"));
  EXPECT_THAT(
      xml,
      HasSubstr("<testcase name=\"https://ok.example/test\" classname=\"direct\" time=\"0.005\">"));
  EXPECT_THAT(xml, HasSubstr("<skipped message=\"skipped: wildcard host\"/>"));
  // Escaping: markup in text cannot end an element or a CDATA section, controls are replaced.
  EXPECT_THAT(xml, HasSubstr("name=\"https://hostile.example/a&quot;b\\c\""));
  EXPECT_THAT(
      xml,
      HasSubstr("message=\"tls_untrusted: say &quot;hi&quot;, then&#10;new line &lt;/testcase&gt; "
                "]]&gt; \xC3\xBCn\xC3\xAF \xEF\xBF\xBD \xEF\xBF\xBD\\end\""));
  EXPECT_THAT(xml, HasSubstr("tls_issuer: say \"hi\", then\nnew line &lt;/testcase&gt; ]]&gt;"));
  EXPECT_THAT(xml, Not(HasSubstr("\x01")));
  EXPECT_THAT(xml, Not(HasSubstr("]]>")));
  EXPECT_EQ(count(xml, "</testcase>"), 5u);

  if (!have("xmllint")) GTEST_SKIP() << "xmllint not installed (scripts/install-deps test)";
  // Not __FILE__: ccache (CCACHE_BASEDIR) makes it relative to the build folder.
  const auto xsd = std::filesystem::path(URLPROBE_TESTS_DIR) / "report" / "junit.xsd";
  const auto file = write_temp("junit.xml", xml);
  EXPECT_EQ(std::system(("xmllint --noout --schema '" + xsd.string() + "' '" + file + "'").c_str()),
            0);
  std::filesystem::remove(file);
}

TEST(PrometheusWriter, GroupedFamiliesEscapedLabels) {
  const auto text = render(report::Format::prometheus);
  // HELP and TYPE once per family, each family's samples together right after them.
  std::vector<std::string> families;
  std::string current;
  std::istringstream lines(text);
  std::set<std::string> ended;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_FALSE(ended.contains(current)) << current << " appears twice";
      if (!families.empty()) ended.insert(families.back());
      families.push_back(current);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.rfind("# TYPE " + current + " ", 0), 0u) << line;
      continue;
    }
    const auto name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name, current) << line;
  }
  EXPECT_EQ(families,
            (std::vector<std::string>{
                "urlprobe_probe_success", "urlprobe_probe_outcome",
                "urlprobe_probe_duration_seconds", "urlprobe_probe_http_status_code",
                "urlprobe_probe_tls_expiry_timestamp_seconds", "urlprobe_probe_tls_inspected",
                "urlprobe_probe_not_probed", "urlprobe_url_reachable", "urlprobe_outcomes",
                "urlprobe_sweep_duration_seconds", "urlprobe_sweep_end_timestamp_seconds"}));
  EXPECT_THAT(text, HasSubstr("# TYPE urlprobe_outcomes gauge\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_success{url=\"https://ok.example/"
                              "test\",route=\"direct\",proxy=\"\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("urlprobe_probe_success{url=\"https://ok.example/test\",route=\"proxy\","
                        "proxy=\"http://user:***@10.0.0.6:3128\"} 0\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "urlprobe_probe_success{url=\"https://hostile.example/a\\\"b\\\\c\",route=\"direct\","
          "proxy=\"\"} 0\n"));
  EXPECT_THAT(
      text,
      HasSubstr("urlprobe_probe_duration_seconds{url=\"https://ok.example/test\",route=\"direct\","
                "proxy=\"\",phase=\"dns\"} 0.001250\n"));
  EXPECT_THAT(
      text,
      HasSubstr("urlprobe_probe_duration_seconds{url=\"https://ok.example/test\",route=\"proxy\","
                "proxy=\"http://user:***@10.0.0.6:3128\",phase=\"tunnel\"} 0.001200\n"));
  EXPECT_THAT(
      text,
      HasSubstr("urlprobe_probe_http_status_code{url=\"https://ok.example/test\",route=\"direct\","
                "proxy=\"\"} 200\n"));
  EXPECT_THAT(
      text, HasSubstr("urlprobe_probe_tls_expiry_timestamp_seconds{url=\"https://ok.example/test\","
                      "route=\"direct\",proxy=\"\"} 1809129600\n"));
  EXPECT_EQ(count(text, "urlprobe_probe_tls_expiry_timestamp_seconds{"),
            1u);  // "not a date" has none
  EXPECT_EQ(count(text, "urlprobe_probe_http_status_code{"), 1u);
  EXPECT_THAT(text, HasSubstr("urlprobe_outcomes{outcome=\"dns_error\",route=\"direct\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("urlprobe_outcomes{outcome=\"proxy_auth_required\",route=\"proxy\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_outcomes{outcome=\"ok\",route=\"proxy\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_sweep_duration_seconds 1.500000\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE urlprobe_sweep_end_timestamp_seconds gauge\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_sweep_end_timestamp_seconds 1795316401.5\n"));
  // The wildcard row was never probed: it is no failure, and says so in its own series.
  EXPECT_THAT(text, Not(HasSubstr("urlprobe_probe_success{url=\"https://*.wild.example/\"")));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_not_probed{url=\"https://*.wild.example/\","
                              "route=\"direct\",proxy=\"\",outcome=\"skipped\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("secret")));

  if (!have("promtool")) GTEST_SKIP() << "promtool not installed (scripts/install-deps test)";
  const auto file = write_temp("metrics.prom", text);
  EXPECT_EQ(std::system(("promtool check metrics < '" + file + "'").c_str()), 0);
  std::filesystem::remove(file);
}

TEST(PrometheusWriter, LabelValuesEscapeNewlines) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    auto writer = report::make_writer(report::Format::prometheus, out, {});
    probe::Result r;
    r.url = "https://x.example/a\nb";
    r.outcome = probe::Outcome::ok;
    writer->write(r);
    writer->finish(report::Summary{});
  }
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  EXPECT_THAT(text, HasSubstr("url=\"https://x.example/a\\nb\""));
}

// Issue 18: a route the host does not have (not_configured) and a skipped row were exported as
// urlprobe_probe_success 0, so an alert on success == 0 fired for 348 of 510 series. They are
// not probes that failed: they leave every per-probe series and have one of their own.
TEST(PrometheusWriter, UnprobedRowsAreNoFailures) {
  std::vector<probe::Result> rs(4);
  rs[0].url = "https://ok.example/";
  rs[0].outcome = probe::Outcome::ok;
  rs[0].ms.total = 2;
  rs[1].url = "https://ok.example/";
  rs[1].route = route::Method::wpad;
  rs[1].outcome = probe::Outcome::not_configured;
  rs[1].detail = "no WPAD";
  rs[1].ms.total = 0;
  rs[2].url = "https://*.wild.example/";
  rs[2].outcome = probe::Outcome::skipped;
  rs[2].detail = "wildcard host";
  rs[3].url = "https://nosuch.invalid/";
  rs[3].outcome = probe::Outcome::dns_error;
  rs[3].ms.dns = 3;
  rs[3].ms.total = 3;
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    auto writer = report::make_writer(report::Format::prometheus, out, {});
    for (const auto& r : rs) writer->write(r);
    writer->finish(summary_of(rs));
  }
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);

  EXPECT_EQ(count(text, "urlprobe_probe_success{"), 2u) << text;
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_success{url=\"https://ok.example/\",route=\"direct\","
                              "proxy=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_success{url=\"https://nosuch.invalid/\","
                              "route=\"direct\",proxy=\"\"} 0\n"));
  for (const auto* family : {"urlprobe_probe_success{", "urlprobe_probe_duration_seconds{",
                             "urlprobe_probe_http_status_code{"}) {
    EXPECT_THAT(text,
                Not(HasSubstr(std::string(family) + "url=\"https://ok.example/\",route=\"wpad\"")))
        << family;
    EXPECT_THAT(text, Not(HasSubstr(std::string(family) + "url=\"https://*.wild.example/\"")))
        << family;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE urlprobe_probe_not_probed gauge\n"));
  EXPECT_THAT(text,
              HasSubstr("urlprobe_probe_not_probed{url=\"https://ok.example/\",route=\"wpad\","
                        "proxy=\"\",outcome=\"not_configured\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_not_probed{url=\"https://*.wild.example/\","
                              "route=\"direct\",proxy=\"\",outcome=\"skipped\"} 1\n"));
  EXPECT_EQ(count(text, "urlprobe_probe_not_probed{"), 2u) << text;
  // The counts stay whole: a snapshot of this sweep, so a gauge, and no _total in its name.
  EXPECT_THAT(text, Not(HasSubstr("_total")));
  EXPECT_THAT(text, Not(HasSubstr("counter")));
  EXPECT_THAT(text, HasSubstr("urlprobe_outcomes{outcome=\"not_configured\",route=\"wpad\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_outcomes{outcome=\"skipped\",route=\"direct\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_sweep_end_timestamp_seconds 1795316401.5\n"));

  if (!have("promtool")) GTEST_SKIP() << "promtool not installed (scripts/install-deps test)";
  const auto file = write_temp("unprobed.prom", text);
  EXPECT_EQ(std::system(("promtool check metrics < '" + file + "'").c_str()), 0);
  std::filesystem::remove(file);
}

TEST(JsonWriter, OneDocumentWithRunResultsAndSummary) {
  const auto text = render(report::Format::json);
  boost::system::error_code ec;
  const auto doc = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << ec.message() << "\n" << text;
  const auto& o = doc.as_object();
  EXPECT_EQ(o.at("v").as_int64(), 1);
  const auto& run = o.at("run").as_object();
  for (const auto* field : {"version", "started", "finished", "seconds", "interrupted"})
    EXPECT_TRUE(run.contains(field)) << field;
  EXPECT_EQ(run.at("seconds").as_double(), 1.5);
  EXPECT_FALSE(run.at("interrupted").as_bool());

  // Each result exactly as the jsonl record.
  const auto rs = results();
  const auto& array = o.at("results").as_array();
  ASSERT_EQ(array.size(), rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    std::string line;
    report::append_jsonl(line, rs[i]);
    EXPECT_EQ(array[i], boost::json::parse(line)) << i;
  }
  EXPECT_EQ(array[4].at("detail").as_string(), hostile_as_utf8());

  const auto& summary = o.at("summary").as_object();
  EXPECT_EQ(summary.at("probes").as_int64(), 5);
  EXPECT_EQ(summary.at("failures").as_int64(), 3);
  EXPECT_EQ(summary.at("input_errors").as_int64(), 2);
  const auto& by_outcome = summary.at("by_outcome").as_object();
  EXPECT_EQ(by_outcome.size(), probe::kOutcomeCount);
  EXPECT_EQ(by_outcome.at("ok").as_int64(), 1);
  EXPECT_EQ(by_outcome.at("timeout").as_int64(), 0);
  EXPECT_EQ(
      boost::json::serialize(summary.at("by_route")),
      R"({"direct":{"ok":1,"dns_error":1,"tls_untrusted":1,"skipped":1},"proxy":{"proxy_auth_required":1}})");
  EXPECT_EQ(boost::json::serialize(summary.at("by_proxy")),
            R"({"http://user:***@10.0.0.6:3128":{"proxy_auth_required":1}})");
}

TEST(JsonWriter, EmptySweepIsStillADocument) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  report::Summary s;
  s.interrupted = true;
  report::make_writer(report::Format::json, out, {})->finish(s);
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  const auto doc = boost::json::parse(text).as_object();
  EXPECT_TRUE(doc.at("results").as_array().empty());
  EXPECT_TRUE(doc.at("run").at("interrupted").as_bool());
  EXPECT_EQ(doc.at("summary").at("probes").as_int64(), 0);
}

// Issue 20: the series the exporter's alerts read. An outcome per probe says why it failed; a
// URL is reachable when some method route (never a --proxies entry) reached it; inspection is
// flagged with whether the row pins a root and whether the vendor says to exclude the host.
TEST(PrometheusWriter, OutcomeReachAndInspectionSeriesForAlerts) {
  std::vector<probe::Result> rs(5);
  rs[0].url = "https://pinned.example/";
  rs[0].host = "pinned.example";
  rs[0].outcome = probe::Outcome::tls_intercepted;
  rs[0].tls_inspected = true;
  rs[0].row = test::row_with([](sheet::RowFacts& f) {
    f.required = "Required";
    f.geography = "WW";
    f.expect.trust = {"microsoft-2011"};
  });
  rs[1] = rs[0];
  rs[1].route = route::Method::cli;
  rs[1].proxy = "http://proxy.example:3128";
  rs[1].outcome = probe::Outcome::ok;
  rs[1].tls_inspected = false;
  rs[1].tls = net::TlsFacts{};
  rs[2].url = "https://x.blob.core.windows.net/";
  rs[2].host = "x.blob.core.windows.net";
  rs[2].outcome = probe::Outcome::tls_intercepted;
  rs[2].tls_inspected = true;
  rs[2].row = test::row_with([](sheet::RowFacts& f) { f.required = "Optional"; });
  // Reached only through a listed proxy: not reachable for the device's methods.
  rs[3].url = "https://listed.example/";
  rs[3].host = "listed.example";
  rs[3].route = route::Method::proxy_list;
  rs[3].proxy = "http://egress.example:3128";
  rs[3].outcome = probe::Outcome::ok;
  rs[4] = rs[3];
  rs[4].route = route::Method::direct;
  rs[4].proxy.clear();
  rs[4].outcome = probe::Outcome::proxy_auth_required;
  const auto text = test::format_output(report::Format::prometheus, {}, rs, {});

  EXPECT_THAT(text, HasSubstr("urlprobe_probe_outcome{url=\"https://pinned.example/\",route="
                              "\"direct\",proxy=\"\",outcome=\"tls_intercepted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_outcome{url=\"https://listed.example/\",route="
                              "\"direct\",proxy=\"\",outcome=\"proxy_auth_required\"} 1\n"));
  EXPECT_EQ(count(text, "urlprobe_probe_outcome{"), 5u) << text;
  EXPECT_THAT(text,
              HasSubstr("urlprobe_probe_tls_inspected{url=\"https://pinned.example/\","
                        "route=\"direct\",proxy=\"\",pinned=\"true\",excluded=\"true\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_probe_tls_inspected{url=\"https://pinned.example/\","
                              "route=\"cli\",proxy=\"http://proxy.example:3128\",pinned=\"true\","
                              "excluded=\"true\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("urlprobe_probe_tls_inspected{url=\"https://x.blob.core.windows.net/\","
                        "route=\"direct\",proxy=\"\",pinned=\"false\",excluded=\"false\"} 1\n"));
  // No TLS facts and not inspected: nothing to say.
  EXPECT_THAT(text, Not(HasSubstr("urlprobe_probe_tls_inspected{url=\"https://listed.example/\"")));
  EXPECT_THAT(text, HasSubstr("urlprobe_url_reachable{url=\"https://pinned.example/\",required="
                              "\"true\",geography=\"WW\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_url_reachable{url=\"https://x.blob.core.windows.net/\","
                              "required=\"false\",geography=\"\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("urlprobe_url_reachable{url=\"https://listed.example/\",required="
                              "\"true\",geography=\"\"} 0\n"));
  EXPECT_EQ(count(text, "urlprobe_url_reachable{"), 3u) << text;
}
