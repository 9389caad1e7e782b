#include "sheet/windows.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sheet/url.hpp"

using namespace urlprobe::sheet;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

WindowsVersion version_ok(std::string_view text) {
  std::string error;
  const auto got = parse_windows_version(text, error);
  if (!got) ADD_FAILURE() << text << ": " << error;
  return got.value_or(WindowsVersion{});
}

std::string version_error(std::string_view text) {
  std::string error;
  if (const auto got = parse_windows_version(text, error))
    ADD_FAILURE() << '"' << text << "\" parsed as build " << got->build;
  return error;
}

// A target list as the sheet stage makes it: concrete URLs, and wildcard hosts as skipped
// targets.
TargetList targets(const std::vector<std::string>& urls) {
  TargetList list;
  for (const auto& url : urls) {
    Target target;
    if (url.find('*') != std::string::npos) {
      target.url = "https://" + url + "/";
      target.scheme = kHttps;
      target.host = url;
      target.path = "/";
      target.port = 443;
      target.skip = "wildcard host " + url + ": name a concrete host to probe it";
    } else {
      auto parsed = parse_target_url(url);
      if (!std::holds_alternative<Target>(parsed)) {
        ADD_FAILURE() << url;
        continue;
      }
      target = std::get<Target>(std::move(parsed));
    }
    RowFacts facts;
    facts.source = "test";
    facts.geography = url.find("endpoint.security") != std::string::npos ? "GW_EU" : "EU";
    target.row = TargetRow(facts);
    list.targets.push_back(std::move(target));
  }
  return list;
}

std::vector<std::string> hosts(const TargetList& list) {
  std::vector<std::string> out;
  for (const auto& target : list.targets) out.push_back(target.host);
  return out;
}

// Commercial and gov hosts of every kind the rule knows, and neighbours it must leave alone.
const std::vector<std::string> kMixed = {
    "settings-win.data.microsoft.com",
    "https://eu-v20.events.data.microsoft.com/ping",
    "v20.events.data.microsoft.com",
    "us4-v20.events.data.microsoft.com",
    "events.data.microsoft.com",
    "*.events.data.microsoft.com",
    "https://winatp-gw-weu.microsoft.com/commands/test",
    "winatp-gw-usgt.microsoft.com",
    "europe.x.cp.wd.microsoft.com",
    "x.cp.wd.microsoft.com",
    "https://europe.cp.wd.microsoft.com/wdcp.svc/bond/submitReport/test",
    "unitedstates4.cp.wd.microsoft.us",
    "*.wd.microsoft.com",
    "*.wdcp.microsoft.com",
    "unitedstates4.ss.wd.microsoft.us",
    "usseu1northprod.blob.core.windows.net",
    "wseu1westprod.blob.core.windows.net",
    "ussusg1virginiaff4.blob.core.usgovcloudapi.net",
    "automatedirstrprdweu3.blob.core.windows.net",
    "automatedirstrffusgv.blob.core.usgovcloudapi.net",
    "eu.vortex-win.data.microsoft.com",
    "vortex-win.data.microsoft.com",
    "*.blob.core.windows.net",
    "onboardingpackagescusprd.blob.core.windows.net",
    "wsfoo.blob.core.windows.net",
    "crl.microsoft.com",
    "*.smartscreen.microsoft.com",
    "https://mdav.eu.endpoint.security.microsoft.com/storage/usseu1northprod/",
    "https://edr-weu.eu.endpoint.security.microsoft.com/edr/commands/test",
};

}  // namespace

TEST(WindowsVersion, EveryReleaseName) {
  const std::vector<std::pair<std::string, int>> releases = {
      {"1507", 10240}, {"1511", 10586}, {"1607", 14393}, {"1703", 15063}, {"1709", 16299},
      {"1803", 17134}, {"1809", 17763}, {"1903", 18362}, {"1909", 18363}, {"2004", 19041},
      {"20H2", 19042}, {"21H1", 19043}, {"21H2", 19044}, {"22H2", 19045}, {"23H2", 22631},
      {"24H2", 26100}, {"25H2", 26200}, {"19H1", 18362}, {"19H2", 18363}};
  for (const auto& [name, build] : releases) {
    const auto got = version_ok(name);
    EXPECT_EQ(got.build, build) << name;
    EXPECT_EQ(got.text, name);
  }
}

TEST(WindowsVersion, ReleaseNamesInAnyCaseAndBlanks) {
  const auto got = version_ok(" 22h2\t");
  EXPECT_EQ(got.build, 19045);
  EXPECT_EQ(got.text, "22H2");
}

TEST(WindowsVersion, AmbiguousNamesAreWindows10) {
  EXPECT_EQ(version_ok("21H2").build, 19044);  // Windows 11 21H2 would be 22000
  EXPECT_EQ(version_ok("22H2").build, 19045);  // Windows 11 22H2 would be 22621
}

TEST(WindowsVersion, OsVersionForms) {
  EXPECT_EQ(version_ok("10.0.19045").build, 19045);
  EXPECT_EQ(version_ok("10.0.19045.3803").build, 19045);
  EXPECT_EQ(version_ok("10.0.17134.1").text, "10.0.17134.1");
  EXPECT_EQ(version_ok("10.0.22631").build, 22631);
  EXPECT_EQ(version_ok("10.0.10240").build, 10240);
}

TEST(WindowsVersion, BareBuildNumbers) {
  EXPECT_EQ(version_ok("19045").build, 19045);
  EXPECT_EQ(version_ok("10240").build, 10240);
  EXPECT_EQ(version_ok("26100").text, "26100");
}

TEST(WindowsVersion, BadInputSaysWhatIsAccepted) {
  for (const auto* bad :
       {"",           " ",           "1805",         "1803x",        "10.0",       "10.0.",
        "10.0.abc",   "10.0.19045.", "10.0.19045.x", "10.0.1803",    "10.1.19045", "6.3.9600",
        "7601",       "10239",       "1234567",      "-19045",       "+19045",     "0x4A6D",
        "Windows 10", "22H3",        "19045 19045",  "10.0.19045.-1"}) {
    EXPECT_THAT(version_error(bad),
                AllOf(HasSubstr("is not a Windows version"), HasSubstr("1507"), HasSubstr("22H2"),
                      HasSubstr("24H2"), HasSubstr("10.0.BUILD[.REV]"), HasSubstr("10240")))
        << '"' << bad << '"';
  }
}

TEST(WindowsVersion, LongBadInputIsQuotedShort) {
  const auto error = version_error(std::string(500, 'x'));
  EXPECT_THAT(error, HasSubstr(std::string(40, 'x') + "...'"));
  EXPECT_THAT(error, ::testing::Not(HasSubstr(std::string(41, 'x'))));
}

TEST(WindowsRule, Before1803DropsTheV20HostsKeepsSettingsWin) {
  auto list = targets(kMixed);
  const auto outcome = apply_windows_version(list, version_ok("1709"), false);
  EXPECT_EQ(outcome.dropped, 3u);
  EXPECT_THAT(outcome.reasons,
              ElementsAre(AllOf(HasSubstr("dropped 3 *-v20.events.data.microsoft.com targets"),
                                HasSubstr("1709 (build 16299)"))));
  EXPECT_EQ(list.targets.size(), kMixed.size() - 3);
  for (const auto& host : hosts(list)) EXPECT_THAT(host, ::testing::Not(HasSubstr("v20.")));
  EXPECT_THAT(hosts(list), ::testing::Contains("settings-win.data.microsoft.com"));
  EXPECT_THAT(hosts(list), ::testing::Contains("*.events.data.microsoft.com"));
}

TEST(WindowsRule, At1803KeepsBoth) {
  auto list = targets(kMixed);
  const auto outcome = apply_windows_version(list, version_ok("10.0.17134"), true);
  EXPECT_EQ(outcome.dropped, 0u);
  EXPECT_THAT(outcome.reasons, IsEmpty());
  EXPECT_EQ(list.targets.size(), kMixed.size());
}

TEST(WindowsRule, After1803DropsSettingsWinOnly) {
  auto list = targets(kMixed);
  const auto outcome = apply_windows_version(list, version_ok("22H2"), false);
  EXPECT_EQ(outcome.dropped, 1u);
  EXPECT_THAT(outcome.reasons,
              ElementsAre(AllOf(HasSubstr("dropped 1 settings-win.data.microsoft.com target:"),
                                HasSubstr("22H2 (build 19045)"))));
  EXPECT_THAT(hosts(list), ::testing::Not(::testing::Contains("settings-win.data.microsoft.com")));
  EXPECT_THAT(hosts(list), ::testing::Contains("eu-v20.events.data.microsoft.com"));
  EXPECT_THAT(hosts(list), ::testing::Contains("winatp-gw-weu.microsoft.com"));
}

TEST(WindowsRule, StreamlinedBefore1809KeepsTheLongList) {
  // Windows 1607-1803 onboarded with a streamlined package still use the standard hosts.
  auto list = targets(kMixed);
  EXPECT_EQ(apply_windows_version(list, version_ok("1803"), true).dropped, 0u);
  auto later = targets(kMixed);
  EXPECT_EQ(apply_windows_version(later, version_ok("17700"), true).dropped, 1u);  // settings-win
}

TEST(WindowsRule, From1809StreamlinedDropsWhatTheGatewayConsolidates) {
  auto list = targets(kMixed);
  const auto outcome = apply_windows_version(list, version_ok("1809"), true);
  // What stays, in the order given: the streamlined hosts and what streamlining leaves alone.
  EXPECT_THAT(
      hosts(list),
      ElementsAre("events.data.microsoft.com", "*.events.data.microsoft.com",
                  "unitedstates4.ss.wd.microsoft.us", "vortex-win.data.microsoft.com",
                  "*.blob.core.windows.net", "onboardingpackagescusprd.blob.core.windows.net",
                  "wsfoo.blob.core.windows.net", "crl.microsoft.com", "*.smartscreen.microsoft.com",
                  "mdav.eu.endpoint.security.microsoft.com",
                  "edr-weu.eu.endpoint.security.microsoft.com"));
  EXPECT_EQ(outcome.dropped, kMixed.size() - 11);
  EXPECT_THAT(outcome.reasons,
              ElementsAre(HasSubstr("dropped 1 settings-win.data.microsoft.com target"),
                          HasSubstr("dropped 2 command-and-control targets (winatp-gw-*)"),
                          HasSubstr("dropped 6 cloud-protection targets"),
                          HasSubstr("dropped 3 sample-storage targets"),
                          HasSubstr("dropped 2 AutoIR-storage targets"),
                          AllOf(HasSubstr("dropped 4 cyber-data targets"),
                                HasSubstr("*.endpoint.security.microsoft.com"))));
}

TEST(WindowsRule, From1809WithoutStreamlinedKeepsTheStandardHosts) {
  auto list = targets(kMixed);
  apply_windows_version(list, version_ok("24H2"), false);
  EXPECT_THAT(hosts(list), ::testing::Contains("winatp-gw-weu.microsoft.com"));
  EXPECT_THAT(hosts(list), ::testing::Contains("usseu1northprod.blob.core.windows.net"));
  EXPECT_THAT(hosts(list), ::testing::Contains("*.wd.microsoft.com"));
}

TEST(WindowsRule, SkippedTargetsAreDroppedByTheHostTheyName) {
  auto list = targets({"*.wd.microsoft.com", "*.blob.core.windows.net", "*.wns.windows.com"});
  apply_windows_version(list, version_ok("22H2"), true);
  EXPECT_THAT(hosts(list), ElementsAre("*.blob.core.windows.net", "*.wns.windows.com"));
  for (const auto& target : list.targets) EXPECT_FALSE(target.skip.empty());
}

TEST(WindowsRule, InputErrorsAreUntouched) {
  auto list = targets({"settings-win.data.microsoft.com"});
  list.errors.push_back(InputError{"sheet.csv", 3, 1, "bad row", {}, false});
  apply_windows_version(list, version_ok("22H2"), false);
  EXPECT_THAT(list.targets, IsEmpty());
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].message, "bad row");
}

TEST(WindowsRule, TextNamesBothBoundaries) {
  const auto text = windows_rule_text();
  EXPECT_THAT(text, AllOf(HasSubstr("1803"), HasSubstr("1809"), HasSubstr("settings-win"),
                          HasSubstr("-v20"), HasSubstr("*.endpoint.security.microsoft.com"),
                          HasSubstr("streamlined")));
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 3);
}
