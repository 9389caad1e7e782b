// The expectation columns (Expected status, Method, Trust) and the lists that carry them: each
// URL judged as the vendor's analyzer judges it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sheet/sheet.hpp"

using namespace urlprobe::sheet;
using ::testing::HasSubstr;

namespace {

TargetList load_csv(std::string_view text, const SheetOptions& options = {}) {
  const auto path =
      std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-expectation.csv");
  std::ofstream(path, std::ios::binary) << text;
  TargetList list;
  load_sheet_file(path.string(), options, list);
  std::filesystem::remove(path);
  return list;
}

const Target* find(const TargetList& list, std::string_view url) {
  for (const auto& t : list.targets)
    if (t.url == url) return &t;
  return nullptr;
}

}  // namespace

TEST(StatusExpectation, ListsRangesAndTheirText) {
  StatusExpectation e;
  std::string error;
  ASSERT_TRUE(parse_status_expectation("200, 204;300-399", e, error)) << error;
  EXPECT_EQ(e.text(), "200,204,300-399");
  EXPECT_TRUE(e.accepts(204));
  EXPECT_TRUE(e.accepts(399));
  EXPECT_FALSE(e.accepts(201));
  EXPECT_FALSE(parse_status_expectation("2OO", e, error));
  EXPECT_THAT(error, HasSubstr("'2OO'"));
  EXPECT_TRUE(e.empty()) << "a bad list must not leave half of itself behind";
  EXPECT_FALSE(parse_status_expectation("399-300", e, error));
  EXPECT_FALSE(parse_status_expectation("600", e, error));
  EXPECT_FALSE(parse_status_expectation(" , ", e, error));
}

TEST(Expectation, MethodAndTrustCells) {
  std::string method, error;
  EXPECT_TRUE(parse_method("head", method, error));
  EXPECT_EQ(method, "HEAD");
  EXPECT_FALSE(parse_method("POST", method, error));
  EXPECT_THAT(error, HasSubstr("GET or HEAD"));

  std::vector<std::string> trust;
  ASSERT_TRUE(parse_trust("microsoft-2011 DigiCert-Global-Root-G2", trust, error)) << error;
  EXPECT_EQ(trust, (std::vector<std::string>{"microsoft-2011", "digicert-global-root-g2"}));
  ASSERT_TRUE(parse_trust("system", trust, error));
  EXPECT_TRUE(trust.empty()) << "system is the ordinary store: no pin";
  EXPECT_FALSE(parse_trust("system microsoft-2011", trust, error));
  EXPECT_THAT(error, HasSubstr("both"));
  EXPECT_FALSE(parse_trust("micro$oft", trust, error));
}

TEST(Expectation, SheetColumnsTravelWithTheTarget) {
  const auto list = load_csv(
      "URL,Expected status,Method,Trust\n"
      "https://a.example/mdav/test,404,GET,microsoft-2011\n"
      "https://b.example/packages,200,head,microsoft-2011 digicert-global-root-g2\n"
      "https://c.example/,\"200,300-399\",,system\n"
      "https://d.example/,,,\n");
  ASSERT_TRUE(list.errors.empty());
  const auto* a = find(list, "https://a.example/mdav/test");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->row.expect().status.text(), "404");
  EXPECT_EQ(a->row.expect().method, "GET");
  EXPECT_EQ(a->row.expect().trust, (std::vector<std::string>{"microsoft-2011"}));
  const auto* b = find(list, "https://b.example/packages");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->row.expect().method, "HEAD");
  EXPECT_EQ(b->row.expect().trust.size(), 2u);
  const auto* c = find(list, "https://c.example/");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->row.expect().status.text(), "200,300-399");
  EXPECT_TRUE(c->row.expect().trust.empty());
  const auto* d = find(list, "https://d.example/");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->row.expect().empty()) << "an empty cell falls back to the sweep's settings";
}

// A typo in an expectation must not loosen the judgement: the row is named and skipped, and
// the rows around it are kept.
TEST(Expectation, BadCellIsItsRowsErrorAtTheCell) {
  const auto list = load_csv(
      "URL,Expected status,Method\n"
      "https://a.example/,4O4,GET\n"
      "https://b.example/,200,PUT\n"
      "https://c.example/,200,GET\n");
  ASSERT_EQ(list.errors.size(), 2u);
  EXPECT_EQ(list.errors[0].line, 2);
  EXPECT_EQ(list.errors[0].column, 2);
  EXPECT_THAT(list.errors[0].message, HasSubstr("'4O4'"));
  EXPECT_EQ(list.errors[1].line, 3);
  EXPECT_EQ(list.errors[1].column, 3);
  ASSERT_EQ(list.targets.size(), 1u);
  EXPECT_EQ(list.targets[0].url, "https://c.example/");
}

TEST(Builtins, StreamlinedHoldsTheGatewayRowsWithTheirExpectations) {
  TargetList list;
  load_builtin("streamlined", {}, list);
  deduplicate(list);
  EXPECT_TRUE(list.errors.empty());
  std::size_t gateway_rows = 0, skipped = 0;
  for (const auto& t : list.targets) {
    if (t.row.geography().starts_with("GW_")) ++gateway_rows;
    if (!t.skip.empty()) ++skipped;
  }
  EXPECT_EQ(gateway_rows, 44u);  // the four gateways' rows of mde_analyzer_xplat.csv
  EXPECT_EQ(skipped, 1u);        // *.endpoint.security.microsoft.us: no public hosts
  const auto* test = find(list, "https://mdav.eu.endpoint.security.microsoft.com/mdav/test");
  ASSERT_NE(test, nullptr);
  EXPECT_EQ(test->row.expect().status.text(), "404");
  EXPECT_EQ(test->row.expect().trust, (std::vector<std::string>{"microsoft-2011"}));
  EXPECT_EQ(test->row.source(), "builtin:mde_analyzer_xplat.csv");
  const auto* packages =
      find(list, "https://mdav.eu.endpoint.security.microsoft.com/packages/?ostype=mac");
  ASSERT_NE(packages, nullptr);
  EXPECT_EQ(packages->row.expect().method, "HEAD");
  EXPECT_EQ(packages->row.expect().trust.size(), 2u);

  TargetList eu;
  SheetOptions options;
  options.geo = {"EU"};
  load_builtin("streamlined", options, eu);
  for (const auto& t : eu.targets) EXPECT_EQ(t.row.geography(), "GW_EU") << t.url;
  EXPECT_EQ(eu.targets.size(), 13u);
}

TEST(Builtins, AnalyzerGainsTheStandardRowsWithExactStatuses) {
  TargetList list;
  load_builtin("analyzer", {}, list);
  deduplicate(list);
  EXPECT_TRUE(list.errors.empty());
  const auto* report =
      find(list, "https://australia.cp.wd.microsoft.com/wdcp.svc/bond/submitReport/test");
  ASSERT_NE(report, nullptr) << "AU comes from the newer file";
  EXPECT_EQ(report->row.expect().status.text(), "404");
  // A URL both files name keeps the newer file's exact expectation.
  const auto* cnc = find(list, "https://winatp-gw-cus.microsoft.com/commands/test");
  ASSERT_NE(cnc, nullptr);
  EXPECT_EQ(cnc->row.expect().status.text(), "200");
  EXPECT_EQ(cnc->row.expect().trust, (std::vector<std::string>{"microsoft-2011"}));
  // The Windows analyzer's own rows pass on 200, 400 or 404, with no guessed pin.
  const auto* settings = find(list, "https://settings-win.data.microsoft.com/qos");
  ASSERT_NE(settings, nullptr);
  EXPECT_EQ(settings->row.expect().status.text(), "200,400,404");
  EXPECT_TRUE(settings->row.expect().trust.empty());
}

// The commercial sheet names hosts the 2022 analyzer list lacks: they are probed at the paths
// of the newer file, or at the path their regional siblings share.
TEST(Builtins, CommercialHostsUseTheNewerAnalyzerPaths) {
  TargetList list;
  load_builtin("commercial", {}, list);
  EXPECT_NE(find(list, "https://winatp-gw-neu3.microsoft.com/commands/test"), nullptr);
  EXPECT_NE(find(list, "https://winatp-gw-aus.microsoft.com/commands/test"), nullptr);
  EXPECT_NE(find(list, "https://au.vortex-win.data.microsoft.com/ping"), nullptr);
  // Not regional siblings: no path is guessed for them.
  EXPECT_NE(find(list, "https://cdn.x.cp.wd.microsoft.com/"), nullptr);
  EXPECT_NE(find(list, "https://vortex-win.data.microsoft.com/"), nullptr);
}
