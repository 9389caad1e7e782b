#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "report/writer.hpp"
#include "test_row.hpp"
#include "written.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

probe::Result sample() {
  probe::Result r;
  r.url = "https://winatp-gw-cus.microsoft.com/test";
  r.host = "winatp-gw-cus.microsoft.com";
  r.port = 443;
  r.route = route::Method::direct;
  r.outcome = probe::Outcome::ok;
  r.http_status = 200;
  r.address = "203.0.113.7:443";
  net::TlsFacts tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_256_GCM_SHA384";
  tls.issuer = "CN=issuer";
  tls.subject = "CN=subject";
  tls.not_after = "2027-05-01T00:00:00Z";
  tls.sans = {"a.example", "b.example"};
  tls.days_left = -3;
  tls.verified = true;
  r.tls = tls;
  r.ms.dns = 1.21;
  r.ms.connect = 0.35;
  r.ms.tls = 2.1;
  r.ms.ttfb = 1.05;
  r.ms.total = 5.5123456;
  r.row = test::row_with([](sheet::RowFacts& row) {
    row.source = "builtin:x.csv";
    row.line = 12;
    row.geography = "WW";
    row.category = "CnCURLs";
  });
  r.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795316400123));
  return r;
}

boost::json::object parse_line(const probe::Result& r) {
  std::string line;
  report::append_jsonl(line, r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  return boost::json::parse(line).as_object();
}

}  // namespace

TEST(Jsonl, RecordHasTheDesignFieldsAndTypes) {
  const auto o = parse_line(sample());
  EXPECT_EQ(o.at("v").as_int64(), 1);
  EXPECT_EQ(o.at("url").as_string(), "https://winatp-gw-cus.microsoft.com/test");
  EXPECT_EQ(o.at("port").as_int64(), 443);
  EXPECT_EQ(o.at("route").as_string(), "direct");
  EXPECT_EQ(o.at("outcome").as_string(), "ok");
  EXPECT_EQ(o.at("http_status").as_int64(), 200);
  EXPECT_EQ(o.at("tls").at("version").as_string(), "TLSv1.3");
  EXPECT_TRUE(o.at("tls").at("verified").as_bool());
  EXPECT_EQ(o.at("tls").at("sans").as_array().size(), 2u);
  EXPECT_EQ(o.at("tls").at("days_left").as_int64(), -3);
  EXPECT_DOUBLE_EQ(o.at("ms").at("total").as_double(), 5.512);  // microsecond precision
  EXPECT_EQ(o.at("row").at("geography").as_string(), "WW");
  EXPECT_EQ(o.at("row").at("line").as_int64(), 12);
  EXPECT_EQ(o.at("started").as_string(), "2026-11-22T03:00:00.123Z");
}

TEST(Jsonl, AbsentFactsAreOmittedNotNull) {
  probe::Result r = sample();
  r.outcome = probe::Outcome::dns_error;
  r.http_status = 0;
  r.tls.reset();
  r.address.clear();
  r.ms = probe::PhaseTimes{};
  r.ms.dns = 3;
  const auto o = parse_line(r);
  EXPECT_FALSE(o.contains("http_status"));
  EXPECT_FALSE(o.contains("proxy_status"));
  EXPECT_FALSE(o.contains("proxy"));
  EXPECT_FALSE(o.contains("tls"));
  EXPECT_FALSE(o.contains("address"));
  EXPECT_FALSE(o.at("ms").as_object().contains("connect"));
  EXPECT_TRUE(o.at("ms").as_object().contains("total"));
}

TEST(Jsonl, HostileStringsStayValidJson) {
  probe::Result r = sample();
  r.detail = "quote\" backslash\\ newline\n nul\x01 bad utf8 \xff\xfe end \xC3\xA9";
  const auto o = parse_line(r);
  const std::string detail(o.at("detail").as_string());
  EXPECT_THAT(detail, HasSubstr("quote\" backslash\\ newline\n nul\x01"));
  EXPECT_THAT(detail, HasSubstr("\xEF\xBF\xBD"));  // U+FFFD for each invalid byte
  EXPECT_THAT(detail, HasSubstr("end \xC3\xA9"));  // valid UTF-8 kept as is
  EXPECT_THAT(detail, Not(HasSubstr("\xff")));
}

TEST(Summary, FailuresExcludeOkNotConfiguredAndSkipped) {
  report::Summary s;
  for (auto outcome : {probe::Outcome::ok, probe::Outcome::not_configured, probe::Outcome::skipped,
                       probe::Outcome::dns_error, probe::Outcome::tls_untrusted}) {
    probe::Result r;
    r.outcome = outcome;
    s.add(r);
  }
  EXPECT_EQ(s.finished, 5u);
  EXPECT_EQ(s.failures(), 2u);
  EXPECT_THAT(report::summary_text(s), HasSubstr("dns_error"));
}

namespace {

// What the text format prints for RESULTS, written in this order, of a direct-route sweep.
std::string text_format(const std::vector<probe::Result>& results) {
  return test::format_output(report::Format::text, std::vector{route::direct_route()}, results);
}

}  // namespace

TEST(TextWriter, AnalyzerStyleInSweepOrder) {
  probe::Result second = sample();
  second.sweep_index = 1;
  second.url = "https://second.example/";
  second.outcome = probe::Outcome::dns_error;
  second.http_status = 0;
  second.detail = "NXDOMAIN: second.example does not exist";
  const std::string text = text_format({second, sample()});  // second completes first
  const auto first_pos = text.find(
      "Testing URL : https://winatp-gw-cus.microsoft.com/test\n3 - Proxy disabled: Succeeded "
      "(200)");
  const auto second_pos = text.find(
      "Testing URL : https://second.example/\n3 - Proxy disabled: Failed, dns_error: NXDOMAIN");
  ASSERT_NE(first_pos, std::string::npos) << text;
  ASSERT_NE(second_pos, std::string::npos) << text;
  EXPECT_LT(first_pos, second_pos);
  EXPECT_THAT(text, HasSubstr("Summary: 2 probes, 1 ok, 1 failed"));
}

// A hostile server's or sheet's text reaches a terminal with its control characters shown, not
// obeyed: ESC could retitle, clear or recolour the user's terminal, BEL ring it, CR overwrite.
TEST(TerminalText, ControlCharactersAreEscapedLineFeedsAndUtf8Kept) {
  EXPECT_EQ(report::terminal_text("a\x1b]0;pwned\x07"
                                  "b\rc\x7f"),
            "a\\x1b]0;pwned\\x07b\\x0dc\\x7f");
  EXPECT_EQ(report::terminal_text("line\n\tnext \xC3\xBC"), "line\n\tnext \xC3\xBC");
  EXPECT_EQ(report::terminal_text("csi \xC2\x9B"
                                  "2J"),
            "csi \\u009b2J");
  EXPECT_EQ(report::terminal_text("nbsp \xC2\xA0"), "nbsp \xC2\xA0");
}

TEST(TextWriter, DetailsFromThePeerCannotDriveTheTerminal) {
  probe::Result r = sample();
  r.url = "https://evil.example/\x1b[2J";
  r.outcome = probe::Outcome::tls_untrusted;
  r.detail = "certificate is for [\x1b]0;owned\x07]";
  const std::string text = text_format({r});
  EXPECT_EQ(text.find_first_of("\x1b\x07"), std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("https://evil.example/\\x1b[2J"));
  EXPECT_THAT(text, HasSubstr("[\\x1b]0;owned\\x07]"));
}

TEST(Formats, ByNameAndByExtension) {
  report::Format f;
  EXPECT_TRUE(report::format_for_path("out/results.jsonl", f));
  EXPECT_EQ(f, report::Format::jsonl);
  EXPECT_TRUE(report::format_for_path("report.txt", f));
  EXPECT_EQ(f, report::Format::text);
  EXPECT_FALSE(report::format_for_path("report.pdf", f));
  EXPECT_FALSE(report::parse_format("yaml", f));
}

TEST(Jsonl, StartedIsUtcWhateverTheLocalZone) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", "Asia/Tokyo", 1);
  tzset();
  probe::Result r = sample();
  r.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(123));
  const auto o = parse_line(r);
  if (old)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
  EXPECT_EQ(o.at("started").as_string(), "1970-01-01T00:00:00.123Z");
}
