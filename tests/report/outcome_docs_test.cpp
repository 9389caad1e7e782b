// The documents that list the outcomes say what the outcome table says (issue 19): the schema's
// enum, the README's copy of the text legend and its html letters, the man page's failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "probe/outcome.hpp"
#include "report/detail/formats.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;

namespace {

std::string read(const std::filesystem::path& relative) {
  const auto path = std::filesystem::path(URLPROBE_TESTS_DIR).parent_path() / relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST(OutcomeDocs, TheSchemaEnumIsTheTableInOrder) {
  const auto schema = boost::json::parse(read("tests/schema/result-v1.schema.json"));
  const auto& values = schema.at("properties").at("outcome").at("enum").as_array();
  std::vector<std::string> names;
  for (const auto& v : values) names.emplace_back(v.as_string());
  std::vector<std::string> table;
  for (const auto& r : probe::kOutcomes) table.emplace_back(r.name);
  EXPECT_EQ(names, table);
}

TEST(OutcomeDocs, TheReadmeShowsTheTextLegend) {
  EXPECT_THAT(read("README.md"), HasSubstr(report::detail::text_legend()));
}

// "`N` dns_error": every letter the README gives an outcome is the table's.
TEST(OutcomeDocs, TheReadmeLettersAreTheTables) {
  const auto readme = read("README.md");
  const std::regex pair("`(.)`\\s+([a-z_]+)");
  std::size_t checked = 0;
  for (std::sregex_iterator it(readme.begin(), readme.end(), pair), end; it != end; ++it) {
    const auto outcome = probe::parse_outcome((*it)[2].str());
    if (!outcome) continue;
    ++checked;
    EXPECT_EQ((*it)[1].str(), std::string(1, probe::outcome_code(*outcome))) << it->str();
  }
  EXPECT_GT(checked, 0u);
}

// The DESCRIPTION's "Every failure gets a name:" list names each failure, and only those.
TEST(OutcomeDocs, TheManPageNamesEveryFailure) {
  const auto page = read("packaging/urlprobe.1");
  const auto start = page.find("Every failure gets a name:\n");
  ASSERT_NE(start, std::string::npos);
  const auto end = page.find(".PP", start);
  std::istringstream list(page.substr(start, end - start));
  std::set<std::string> named;
  for (std::string line; std::getline(list, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(\.BR ([a-z_]+) [,.])"))) named.insert(m[1]);
  }
  std::set<std::string> failures;
  for (const auto& r : probe::kOutcomes)
    if (probe::is_failure(r.outcome)) failures.emplace(r.name);
  EXPECT_EQ(named, failures);
}
