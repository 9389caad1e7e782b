#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sheet/reader.hpp"
#include "sheet/url.hpp"

using namespace urlprobe::sheet;
using ::testing::HasSubstr;

namespace {

Target parse_ok(std::string_view text) {
  auto parsed = parse_target_url(text);
  if (auto* error = std::get_if<UrlError>(&parsed)) ADD_FAILURE() << text << ": " << error->message;
  return std::get_if<Target>(&parsed) ? std::get<Target>(parsed) : Target{};
}

UrlError parse_bad(std::string_view text) {
  auto parsed = parse_target_url(text);
  EXPECT_TRUE(std::holds_alternative<UrlError>(parsed)) << text << " should be rejected";
  return std::holds_alternative<UrlError>(parsed) ? std::get<UrlError>(parsed) : UrlError{};
}

}  // namespace

TEST(TargetUrl, HttpsDefaultsAndPath) {
  const auto t = parse_ok("https://winatp-gw-cus.microsoft.com/commands/test");
  EXPECT_EQ(t.scheme, "https");
  EXPECT_EQ(t.host, "winatp-gw-cus.microsoft.com");
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.path, "/commands/test");
  EXPECT_EQ(t.url, "https://winatp-gw-cus.microsoft.com/commands/test");
}

TEST(TargetUrl, BareHostBecomesHttpsRoot) {
  const auto t = parse_ok("crl.microsoft.com");
  EXPECT_EQ(t.url, "https://crl.microsoft.com/");
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.path, "/");
}

TEST(TargetUrl, HttpPortAndQueryKept) {
  const auto t = parse_ok("HTTP://Plain.Example:8080/a/b?x=1");
  EXPECT_EQ(t.scheme, "http");
  EXPECT_EQ(t.host, "plain.example");
  EXPECT_EQ(t.port, 8080);
  EXPECT_EQ(t.path, "/a/b?x=1");
  EXPECT_EQ(t.url, "http://plain.example:8080/a/b?x=1");
}

TEST(TargetUrl, DefaultPortIsNotRepeated) {
  EXPECT_EQ(parse_ok("https://a.example:443/").url, "https://a.example/");
}

TEST(TargetUrl, Ipv6LiteralHostHasNoBrackets) {
  const auto t = parse_ok("https://[::1]:8443/x");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.url, "https://[::1]:8443/x");
}

TEST(TargetUrl, SpaceIsRejectedAtItsColumn) {
  const auto e = parse_bad("https://bad host/");
  EXPECT_EQ(e.column, 12);
  EXPECT_THAT(e.message, HasSubstr("space"));
}

TEST(TargetUrl, UnsupportedSchemeIsNamed) {
  const auto e = parse_bad("ftp://files.example/");
  EXPECT_THAT(e.message, HasSubstr("'ftp'"));
}

TEST(TargetUrl, PortOutOfRangeIsRejected) {
  const auto e = parse_bad("https://a.example:70000/");
  EXPECT_THAT(e.message, HasSubstr("70000"));
  EXPECT_EQ(e.column, 19);
}

// A number pasted into a URL column made https://12345/, which a resolver may take for 0.0.48.57.
TEST(TargetUrl, NumericHostIsRejected) {
  const auto parsed = parse_target_url("12345");
  ASSERT_TRUE(std::holds_alternative<UrlError>(parsed));
  EXPECT_THAT(std::get<UrlError>(parsed).message, HasSubstr("host '12345' is a number"));
  EXPECT_EQ(std::get<UrlError>(parsed).column, 1);
  parse_bad("https://10.1.2/");
  EXPECT_TRUE(std::holds_alternative<Target>(parse_target_url("https://10.1.2.3/")));
  EXPECT_TRUE(std::holds_alternative<Target>(parse_target_url("https://1.example/")));
}

TEST(TargetUrl, CredentialsAreRejected) {
  parse_bad("https://user:pw@a.example/");
}

TEST(UrlList, CommentsBlankLinesAndErrorsWithLineAndColumn) {
  TargetList list;
  read_url_list("# header\n\nhttps://a.example/  # trailing comment\n  bad url here\r\nb.example\n",
                "urls.txt", list);
  ASSERT_EQ(list.targets.size(), 2u);
  EXPECT_EQ(list.targets[0].url, "https://a.example/");
  EXPECT_EQ(list.targets[0].row.line, 3);
  EXPECT_EQ(list.targets[0].row.source(), "urls.txt");
  EXPECT_EQ(list.targets[1].url, "https://b.example/");
  EXPECT_EQ(list.targets[1].row.line, 5);
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].line, 4);
  EXPECT_EQ(list.errors[0].column, 6);  // the space after "bad", counted in the original line
  EXPECT_THAT(format_input_error(list.errors[0]), HasSubstr("urls.txt:4:6: error:"));
}

TEST(UrlList, ByteOrderMarkIsIgnored) {
  TargetList list;
  read_url_list("\xEF\xBB\xBFhttps://a.example/\n", "bom.txt", list);
  ASSERT_EQ(list.targets.size(), 1u);
  EXPECT_TRUE(list.errors.empty());
}

TEST(Csv, QuotesEmbeddedNewlinesAndCrlf) {
  const auto records = parse_csv("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nlast,,\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"x,1", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].line, 4);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"last", "", ""}));
}

TEST(BuiltinSheet, AnalyzerUrlsAreDistinctAndCarryTheirRow) {
  const auto list = builtin_analyzer_targets();
  EXPECT_TRUE(list.errors.empty());
  EXPECT_EQ(list.targets.size(), 64u);  // 79 rows, 64 distinct URLs (third_party/mde/README.md)
  std::set<std::string> urls;
  for (const auto& t : list.targets) {
    EXPECT_TRUE(urls.insert(t.url).second) << t.url;
    EXPECT_FALSE(t.row.geography().empty());
    EXPECT_GT(t.row.line, 1);
  }
  EXPECT_TRUE(urls.contains("https://winatp-gw-cus.microsoft.com/commands/test"));
  EXPECT_TRUE(
      urls.contains("http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/"
                    "disallowedcertstl.cab"));
}
