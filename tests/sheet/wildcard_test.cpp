// Wildcard rows made probeable: several workspace IDs, TestCloudConnection.exe's output,
// --wildcard-host and the analyzer's representative hosts (issue 21).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/text.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/wildcard.hpp"

using namespace urlprobe::sheet;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr std::string_view kIdA = "3f2a8c1e-5b7d-4e90-a1c2-6d8e9f0a1b2c";
constexpr std::string_view kIdB = "9c41d7e2-0a3b-4f6c-8d5e-1b2a3c4d5e6f";

std::string fixture(std::string_view name) {
  return std::string(URLPROBE_TESTS_DIR) + "/sheet/testcloudconnection/" + std::string(name);
}

// The MMA rows as the vendor's table has them, and the network scanner's blob row with a path.
constexpr std::string_view kMmaCsv =
    "Service,Geography,Category,Port,Endpoint/URL,Required or Optional,Windows 7,Mac\n"
    "MDE,WW,MMA,443,*.ods.opinsights.azure.com,Optional,Yes,\n"
    "MDE,WW,MMA,443,*.oms.opinsights.azure.com,Optional,Yes,\n"
    "MDE,WW,MMA,443,*.blob.core.windows.net,Optional,Yes,\n"
    "MDE,WW,Scanner,443,*.blob.core.windows.net/networkscannerstable/*,Optional,Yes,\n"
    "MDE,WW,Management,443,*.dm.microsoft.com,Optional,Yes,\n"
    "MDE,WW,MAPS,443,*.wdcp.microsoft.com,Required,Yes,Yes\n";

TargetList load_mma(const SheetOptions& options) {
  const auto path =
      std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-wildcard-mma.csv");
  std::ofstream(path, std::ios::binary) << kMmaCsv;
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

std::vector<std::string> hosts_for(const CloudConnectionTest& test, std::string_view pattern) {
  std::vector<std::string> out;
  for (const auto& h : test.hosts)
    if (h.pattern == pattern) out.push_back(h.host);
  return out;
}

}  // namespace

TEST(WildcardMatch, StarStandsForAnyRunOfHostCharacters) {
  EXPECT_TRUE(urlprobe::base::glob_match("*.dm.microsoft.com", "checkin.dm.microsoft.com"));
  EXPECT_TRUE(urlprobe::base::glob_match("*.dm.microsoft.com", "a.b.dm.microsoft.com"));
  EXPECT_TRUE(urlprobe::base::glob_match("*.dm.microsoft.com", "CHECKIN.DM.Microsoft.com"));
  EXPECT_TRUE(urlprobe::base::glob_match("*ecs.office.com", "ecs.office.com"));
  EXPECT_TRUE(urlprobe::base::glob_match("*ecs.office.com", "config.ecs.office.com"));
  EXPECT_FALSE(urlprobe::base::glob_match("*.dm.microsoft.com", "dm.microsoft.com"));
  EXPECT_FALSE(
      urlprobe::base::glob_match("*.dm.microsoft.com", "checkin.dm.microsoft.com.evil.example"));
  EXPECT_FALSE(urlprobe::base::glob_match("*.dm.microsoft.com", "checkin.dm.microsoft.co"));
  EXPECT_FALSE(urlprobe::base::glob_match("*.dm.microsoft.com", "x.blob.core.windows.net"));
}

TEST(WildcardMatch, HostNames) {
  EXPECT_TRUE(is_host_name("scadvisorcontent.blob.core.windows.net"));
  EXPECT_TRUE(is_host_name("we-jobruntimedata-prod-su1.azure-automation.net"));
  EXPECT_FALSE(is_host_name("localhost"));  // one label: a word of the tool's text, not a host
  EXPECT_FALSE(is_host_name("10.0.0.1"));
  EXPECT_FALSE(is_host_name("*.blob.core.windows.net"));
  EXPECT_FALSE(is_host_name("-bad.example.com"));
  EXPECT_FALSE(is_host_name("a..example.com"));
  EXPECT_FALSE(is_host_name(""));
}

TEST(WildcardHostOption, PatternEqualsAMatchingHost) {
  std::string error;
  const auto given =
      parse_wildcard_host(" *.WD.microsoft.com = Unitedstates.cp.wd.microsoft.com", error);
  ASSERT_TRUE(given) << error;
  EXPECT_EQ(given->pattern, "*.wd.microsoft.com");
  EXPECT_EQ(given->host, "unitedstates.cp.wd.microsoft.com");
  EXPECT_EQ(given->from, HostSource::wildcard_host);
  EXPECT_TRUE(parse_wildcard_host("*ecs.office.com=ecs.office.com", error)) << error;
}

TEST(WildcardHostOption, EachMistakeIsNamed) {
  std::string error;
  EXPECT_FALSE(parse_wildcard_host("*.wd.microsoft.com", error));
  EXPECT_THAT(error, HasSubstr("expected PATTERN=HOST"));
  EXPECT_FALSE(parse_wildcard_host("=x.wd.microsoft.com", error));
  EXPECT_THAT(error, HasSubstr("expected PATTERN=HOST"));
  EXPECT_FALSE(parse_wildcard_host("go.microsoft.com=go.microsoft.com", error));
  EXPECT_THAT(error, HasSubstr("'go.microsoft.com' is not a wildcard host"));
  EXPECT_FALSE(parse_wildcard_host("*.wd.microsoft.com=https://x.wd.microsoft.com/", error));
  EXPECT_THAT(error, HasSubstr("is not a host name"));
  EXPECT_FALSE(parse_wildcard_host("*.wd.microsoft.com=x.wd.microsoft.com:443", error));
  EXPECT_THAT(error, HasSubstr("is not a host name"));
  EXPECT_FALSE(parse_wildcard_host("*.wd.microsoft.com=evil.example.com", error));
  EXPECT_EQ(error, "'evil.example.com' does not match '*.wd.microsoft.com'");
  EXPECT_FALSE(parse_wildcard_host("*.wd.microsoft.com=wd.microsoft.com", error));
  EXPECT_THAT(error, HasSubstr("does not match"));
}

TEST(Workspaces, OneSetOfWorkspaceRowsPerIdEachNamingItsWorkspace) {
  SheetOptions options;
  options.workspace_ids = {std::string(kIdA), "9C41D7E2-0A3B-4F6C-8D5E-1B2A3C4D5E6F"};
  const auto list = load_mma(options);
  std::vector<std::pair<std::string, std::string>> workspace_rows;
  for (const auto& t : list.targets)
    if (t.row.host_from() == "workspace-id") {
      EXPECT_TRUE(t.skip.empty()) << t.url;
      workspace_rows.emplace_back(t.url, t.row.workspace());
    }
  const auto a = std::string(kIdA), b = std::string(kIdB);
  EXPECT_THAT(workspace_rows,
              ElementsAre(std::pair("https://" + a + ".ods.opinsights.azure.com/", a),
                          std::pair("https://" + b + ".ods.opinsights.azure.com/", b),
                          std::pair("https://" + a + ".oms.opinsights.azure.com/", a),
                          std::pair("https://" + b + ".oms.opinsights.azure.com/", b)));
  const auto* ods = find(list, "https://" + b + ".ods.opinsights.azure.com/");
  ASSERT_NE(ods, nullptr);
  EXPECT_EQ(ods->row.wildcard(), "*.ods.opinsights.azure.com");
  EXPECT_EQ(ods->row.line, 2);
  EXPECT_EQ(ods->row.category(), "MMA");
}

TEST(Workspaces, WithoutAnIdTheRowIsSkippedNamingTheOption) {
  const auto list = load_mma({});
  const auto* ods = find(list, "https://*.ods.opinsights.azure.com");
  ASSERT_NE(ods, nullptr);
  EXPECT_THAT(ods->skip.str(), HasSubstr("--workspace-id"));
  const auto* blob = find(list, "https://*.blob.core.windows.net");
  ASSERT_NE(blob, nullptr);
  EXPECT_THAT(blob->skip.str(), HasSubstr("--testcloudconnection"));
  EXPECT_THAT(blob->skip.str(), HasSubstr("--wildcard-host *.blob.core.windows.net=HOST"));
  const auto* wdcp = find(list, "https://*.wdcp.microsoft.com");
  ASSERT_NE(wdcp, nullptr);
  EXPECT_THAT(wdcp->skip.str(), HasSubstr("--wildcard-host *.wdcp.microsoft.com=HOST"));
}

TEST(TestCloudConnection, ReadsTheHostsUnderEachFirewallRuleOfACrlfFile) {
  const auto test = read_testcloudconnection(fixture("contoso-prod.txt"));
  EXPECT_EQ(test.workspace_id, kIdA);  // "Workspace ID: 3F2A...", upper case in the file
  EXPECT_EQ(test.workspace_line, 5);
  EXPECT_EQ(test.headings, 5u);
  // Bare, "Host: " labelled, with a port and a result, as a URL with a failure; the
  // non-storage host in the section and the summary's host under the next heading are not.
  EXPECT_THAT(
      hosts_for(test, "*.blob.core.windows.net"),
      ElementsAre("scadvisorcontent.blob.core.windows.net",
                  "omsagentstore7f3e.blob.core.windows.net", "ussteprodscus.blob.core.windows.net",
                  "weusolutionsblob.blob.core.windows.net"));
  EXPECT_THAT(hosts_for(test, "*.azure-automation.net"),
              ElementsAre("we-jobruntimedata-prod-su1.azure-automation.net"));
  // A heading that names a host gives that host, for any wildcard row it matches.
  const auto a = std::string(kIdA);
  EXPECT_THAT(hosts_for(test, ""),
              ElementsAre(a + ".oms.opinsights.azure.com", a + ".ods.opinsights.azure.com",
                          a + ".agentsvc.azure-automation.net"));
  for (const auto& h : test.hosts) EXPECT_EQ(h.from, HostSource::testcloudconnection);
}

TEST(TestCloudConnection, Utf16FromPowerShellWithTheWorkspaceOnlyInItsHosts) {
  const auto test = read_testcloudconnection(fixture("contoso-dev-powershell.txt"));
  EXPECT_EQ(test.workspace_id, kIdB);
  EXPECT_EQ(test.workspace_line, 3);
  EXPECT_THAT(hosts_for(test, "*.blob.core.windows.net"),
              ElementsAre("scadvisorcontent.blob.core.windows.net",
                          "eusmmastorage04.blob.core.windows.net"));
}

TEST(TestCloudConnection, AFileWithoutAWorkspaceStillGivesItsHosts) {
  const auto test = read_testcloudconnection(fixture("no-workspace.txt"));
  EXPECT_EQ(test.workspace_id, "");
  EXPECT_THAT(hosts_for(test, "*.blob.core.windows.net"),
              ElementsAre("lab01mmastore.blob.core.windows.net"));
}

TEST(TestCloudConnection, UnknownLinesAndHeadingsWithoutAPatternAreIgnored) {
  const auto test = parse_testcloudconnection(
      "garbage \x01\x02 line\n"
      "Firewall Rules:\n"
      "  stray.blob.core.windows.net\n"  // no pattern above it: whose would it be?
      "Firewall Rule: *.blob.core.windows.net\r\n"
      "  *.blob.core.windows.net\r\n"  // the pattern again, not a host
      "  1.2.3.4:443 Connected\r\n"
      "  good.blob.core.windows.net.\r\n"
      "  good.blob.core.windows.net\r\n"  // once
      "Firewall Rule:    \n"
      "  late.blob.core.windows.net\n",  // the heading above ended the section
      "inline");
  EXPECT_EQ(test.headings, 3u);
  ASSERT_EQ(test.hosts.size(), 1u);
  EXPECT_EQ(test.hosts[0].host, "good.blob.core.windows.net");
  EXPECT_EQ(test.hosts[0].pattern, "*.blob.core.windows.net");
}

TEST(TestCloudConnection, AnUnreadableOrWrongFileIsAnErrorNamingIt) {
  try {
    read_testcloudconnection(fixture("not-testcloudconnection.txt"));
    FAIL() << "no error";
  } catch (const SheetError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not-testcloudconnection.txt: no 'Firewall Rule:' line"));
  }
  try {
    read_testcloudconnection(fixture("missing.txt"));
    FAIL() << "no error";
  } catch (const SheetError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--testcloudconnection"));
    EXPECT_THAT(e.what(), HasSubstr("missing.txt"));
  }
}

TEST(TestCloudConnection, ItsHostsMakeTheStorageRowsProbed) {
  auto test = read_testcloudconnection(fixture("contoso-prod.txt"));
  SheetOptions options;
  for (auto& h : test.hosts) {
    h.workspace = test.workspace_id;
    options.wildcard_hosts.push_back(h);
  }
  const auto list = load_mma(options);
  for (const auto& t : list.targets)
    EXPECT_TRUE(t.skip.empty() || t.host == "*.wdcp.microsoft.com")
        << t.url << ": " << t.skip.str();
  const auto* blob = find(list, "https://scadvisorcontent.blob.core.windows.net/");
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(blob->row.host_from(), "testcloudconnection");
  EXPECT_EQ(blob->row.wildcard(), "*.blob.core.windows.net");
  EXPECT_EQ(blob->row.workspace(), kIdA);
  // The scanner's row keeps its path.
  EXPECT_NE(find(list, "https://scadvisorcontent.blob.core.windows.net/networkscannerstable/"),
            nullptr);
  // The workspace hosts come from the headings, without --workspace-id.
  const auto* ods = find(list, "https://" + std::string(kIdA) + ".ods.opinsights.azure.com/");
  ASSERT_NE(ods, nullptr);
  EXPECT_EQ(ods->row.host_from(), "testcloudconnection");
}

TEST(Representative, TheAnalyzersHostsStandForDmAndAreMarked) {
  const auto list = load_mma({});
  std::vector<std::string> dm;
  for (const auto& t : list.targets)
    if (t.row.wildcard() == "*.dm.microsoft.com") {
      EXPECT_TRUE(t.row.representative());
      EXPECT_EQ(t.row.host_from(), "representative");
      EXPECT_TRUE(t.skip.empty());
      dm.push_back(t.url);
    }
  EXPECT_THAT(
      dm, ElementsAre("https://discovery.dm.microsoft.com/", "https://enrollment.dm.microsoft.com/",
                      "https://checkin.dm.microsoft.com/"));
  EXPECT_EQ(find(list, "https://*.dm.microsoft.com"), nullptr);
}

TEST(Representative, AGivenHostReplacesThemAndOtherRowsAreUntouched) {
  std::string error;
  SheetOptions options;
  options.wildcard_hosts.push_back(
      *parse_wildcard_host("*.dm.microsoft.com=checkin.dm.microsoft.com", error));
  options.wildcard_hosts.push_back(
      *parse_wildcard_host("*.wdcp.microsoft.com=unitedstates.cp.wdcp.microsoft.com", error));
  const auto list = load_mma(options);
  const auto* checkin = find(list, "https://checkin.dm.microsoft.com/");
  ASSERT_NE(checkin, nullptr);
  EXPECT_FALSE(checkin->row.representative());
  EXPECT_EQ(checkin->row.host_from(), "wildcard-host");
  EXPECT_EQ(find(list, "https://discovery.dm.microsoft.com/"), nullptr);
  const auto* wdcp = find(list, "https://unitedstates.cp.wdcp.microsoft.com/");
  ASSERT_NE(wdcp, nullptr);
  EXPECT_EQ(wdcp->row.required(), "Required");
  EXPECT_EQ(wdcp->row.workspace(), "");
  // The blob row is not the pattern of either: still skipped.
  EXPECT_NE(find(list, "https://*.blob.core.windows.net"), nullptr);
}

TEST(BuiltinMma, AgentsvcRowForTheDownLevelOsFiltersPerWorkspace) {
  for (const std::string os : {"server-mma", "windows-legacy"}) {
    SheetOptions options;
    options.os = {os};
    options.workspace_ids = {std::string(kIdA), std::string(kIdB)};
    TargetList list;
    load_builtin("commercial", options, list);
    std::vector<std::string> agentsvc;
    for (const auto& t : list.targets)
      if (t.row.wildcard() == "*.agentsvc.azure-automation.net") {
        agentsvc.push_back(t.url);
        EXPECT_EQ(t.row.source(), "builtin:mde_mma_commercial.csv");
        EXPECT_EQ(t.row.category(), "Microsoft Monitoring Agent (MMA)");
      }
    EXPECT_THAT(agentsvc,
                ElementsAre("https://" + std::string(kIdA) + ".agentsvc.azure-automation.net/",
                            "https://" + std::string(kIdB) + ".agentsvc.azure-automation.net/"))
        << os;
  }
  SheetOptions mac;
  mac.os = {"mac"};
  TargetList list;
  load_builtin("commercial", mac, list);
  for (const auto& t : list.targets)
    EXPECT_THAT(t.host, Not(HasSubstr("azure-automation"))) << t.url;

  TargetList gov;
  SheetOptions gov_options;
  gov_options.workspace_ids = {std::string(kIdA)};
  load_builtin("gov", gov_options, gov);
  EXPECT_NE(find(gov, "https://" + std::string(kIdA) + ".agentsvc.azure-automation.us/"), nullptr);
}

// Issue 21's goal: what is still skipped says which option would make it probed.
TEST(BuiltinMma, EverySkippedRowNamesTheOptionThatWouldProbeIt) {
  for (const std::string builtin : {"commercial", "gov"}) {
    TargetList list;
    load_builtin(builtin, {}, list);
    std::size_t skipped = 0;
    for (const auto& t : list.targets) {
      if (t.skip.empty()) continue;
      ++skipped;
      const auto& why = t.skip.str();
      EXPECT_TRUE(why.find("--workspace-id") != std::string::npos ||
                  why.find("--testcloudconnection") != std::string::npos ||
                  why.find("--wildcard-host " + t.host + "=HOST") != std::string::npos)
          << builtin << " " << t.url << ": " << why;
    }
    EXPECT_GT(skipped, 0u) << builtin;
  }
}
