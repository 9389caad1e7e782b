#include "sheet/onboarding.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "sheet/sheet.hpp"

using namespace urlprobe::sheet;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

std::string fixture(const std::string& name) {
  return std::string(URLPROBE_TESTS_DIR) + "/fixtures/onboarding/" + name;
}

// The SheetError message of parsing TEXT, or a failure when it parses.
std::string parse_error(std::string_view text, const std::string& source = "pkg") {
  try {
    const auto got = parse_onboarding(text, source);
    ADD_FAILURE() << "parsed as gateway " << got.gateway << " by " << got.found_by;
  } catch (const SheetError& e) {
    return e.what();
  }
  return {};
}

std::string read_error(const std::string& path) {
  try {
    const auto got = read_onboarding(path);
    ADD_FAILURE() << path << " read as gateway " << got.gateway;
  } catch (const SheetError& e) {
    return e.what();
  }
  return {};
}

// "KEY":"VALUE" as JSON holds it after DEPTH rounds of escaping quotes and backslashes.
std::string escaped_pair(std::string_view key, std::string_view value, int depth) {
  std::string quote = "\"";
  for (int i = 0; i < depth; ++i) {
    std::string next;
    for (const char c : quote) {
      if (c == '\\' || c == '"') next.push_back('\\');
      next.push_back(c);
    }
    quote = next;
  }
  return quote + std::string(key) + quote + ":" + quote + std::string(value) + quote;
}

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                   std::uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kDigits[(n >> shift) & 63]);
  }
  if (i + 1 == bytes.size()) {
    const auto n = std::uint8_t(bytes[i]) << 16;
    out += {kDigits[(n >> 18) & 63], kDigits[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const auto n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8);
    out += {kDigits[(n >> 18) & 63], kDigits[(n >> 12) & 63], kDigits[(n >> 6) & 63], '='};
  }
  return out;
}

const std::string kStreamlinedUsBody =
    R"({"body":"{\"geoLocationUrl\":\"https://edr-eus3.us.endpoint.security.microsoft.com/edr/\",)"
    R"(\"datacenter\":\"EastUs3\",\"vortexGeoLocation\":\"US\",\"partnerGeoLocation\":\"GW_US\"}"})";

}  // namespace

// The package files, in the shapes the Defender portal hands out.

TEST(OnboardingFile, WindowsScriptWithCrlf) {
  const auto got = read_onboarding(fixture("WindowsDefenderATPOnboardingScript.cmd"));
  EXPECT_EQ(got.gateway, "EU");
  EXPECT_EQ(got.datacenter, "WestEurope3");
  EXPECT_EQ(got.found_by, "vortexGeoLocation");
}

TEST(OnboardingFile, LinuxInstallerScript) {
  const auto got = read_onboarding(fixture("MicrosoftDefenderATPOnboardingLinuxServer.py"));
  EXPECT_EQ(got.gateway, "US");
  EXPECT_EQ(got.datacenter, "CentralUs3");
  EXPECT_EQ(got.found_by, "vortexGeoLocation");
}

TEST(OnboardingFile, MdatpOnboardJsonEscapedTwice) {
  const auto got = read_onboarding(fixture("mdatp_onboard.json"));
  EXPECT_EQ(got.gateway, "UK");
  EXPECT_EQ(got.datacenter, "UkSouth");
}

TEST(OnboardingFile, StreamlinedPackageGivesItsGwToken) {
  const auto got = read_onboarding(fixture("WindowsDefenderATPOnboarding_streamlined.xml"));
  EXPECT_EQ(got.gateway, "GW_EU");
  EXPECT_EQ(got.datacenter, "WestEurope3");
  EXPECT_EQ(got.found_by, "GW_EU token");
}

TEST(OnboardingFile, Base64BlobIsDecoded) {
  const auto got = read_onboarding(fixture("onboarding_blob.b64"));
  EXPECT_EQ(got.gateway, "AU");
  EXPECT_EQ(got.datacenter, "AustraliaEast");
  EXPECT_EQ(got.found_by, "vortexGeoLocation (base64)");
}

TEST(OnboardingFile, OffboardingScriptHasNoGateway) {
  const auto path = fixture("WindowsDefenderATPOffboardingScript.cmd");
  EXPECT_THAT(read_error(path), AllOf(HasSubstr(path + ": no gateway found"), HasSubstr("GW_xx"),
                                      HasSubstr("vortexGeoLocation"), HasSubstr("--gateway")));
}

TEST(OnboardingFile, MissingFileIsNamed) {
  const auto path = fixture("no-such-package.cmd");
  EXPECT_THAT(read_error(path), AllOf(HasSubstr(path), HasSubstr("cannot open")));
}

TEST(OnboardingFile, DirectoryIsRefused) {
  const auto path = fixture("");
  EXPECT_THAT(read_error(path), AllOf(HasSubstr(path), HasSubstr("is a directory")));
}

TEST(OnboardingFile, OverTheSizeLimitIsRefused) {
  const auto path = std::filesystem::path(testing::TempDir()) / "urlprobe-big-onboarding.cmd";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string line = "\"vortexGeoLocation\":\"EU\"\n";
    for (std::size_t written = 0; written <= kMaxOnboardingBytes; written += line.size())
      out << line;
  }
  EXPECT_THAT(read_error(path.string()), AllOf(HasSubstr(path.string()), HasSubstr("larger than")));
  std::filesystem::remove(path);
}

// The search itself, on strings.

TEST(ParseOnboarding, AnyEscapeDepth) {
  for (int depth : {0, 1, 2, 3, 4}) {
    // Appended: GCC 12 -O3 wrongly warns (-Wrestrict) about "{" + std::string here.
    std::string text = "{";
    text += escaped_pair("vortexGeoLocation", "EU", depth);
    text += ",";
    text += escaped_pair("datacenter", "NorthEurope", depth);
    text += "}";
    const auto got = parse_onboarding(text, "pkg");
    EXPECT_EQ(got.gateway, "EU") << text;
    EXPECT_EQ(got.datacenter, "NorthEurope") << text;
  }
  // Depth 3 is the Linux installer's: quotes behind 7 backslashes.
  EXPECT_THAT(escaped_pair("k", "v", 3), HasSubstr(R"(\\\\\\\"k)"));
}

TEST(ParseOnboarding, WhiteSpaceAroundTheColon) {
  const auto got = parse_onboarding("{\r\n  \"vortexGeoLocation\" :\r\n\t\"UK\"\r\n}", "pkg");
  EXPECT_EQ(got.gateway, "UK");
}

TEST(ParseOnboarding, ValuesAreUpperCasedKeysAnyCase) {
  const auto got =
      parse_onboarding(R"({"VortexGeoLocation":"eu","DataCenter":"WestEurope3"})", "p");
  EXPECT_EQ(got.gateway, "EU");
  EXPECT_EQ(got.datacenter, "WestEurope3");  // a datacenter keeps its case
}

TEST(ParseOnboarding, DatacenterIsThatKeyOnly) {
  const auto got = parse_onboarding(
      R"({"datacenterUrl":"x","mydatacenter":"y","vortexGeoLocation":"US","datacenter":"EastUs3"})",
      "pkg");
  EXPECT_EQ(got.datacenter, "EastUs3");
}

TEST(ParseOnboarding, NoDatacenterLeavesItEmpty) {
  const auto got = parse_onboarding(R"({"vortexGeoLocation":"AU"})", "pkg");
  EXPECT_EQ(got.gateway, "AU");
  EXPECT_THAT(got.datacenter, IsEmpty());
}

TEST(ParseOnboarding, FirstGwTokenWins) {
  const auto got = parse_onboarding(
      R"({"vortexGeoLocation":"EU","a":"GW_UK","partnerGeoLocation":"GW_EU"})", "p");
  EXPECT_EQ(got.gateway, "GW_UK");
  EXPECT_EQ(got.found_by, "GW_UK token");
}

TEST(ParseOnboarding, GwTokenMustStandAlone) {
  for (const std::string not_token : {"GW_EUROPE", "XGW_EU", "MY_GW_EU", "GW_E", "GW_eu", "GW_EU1",
                                      "GW_EU_2", "GW-EU", "gw_eu"}) {
    const auto got = parse_onboarding("\"" + not_token + "\", \"vortexGeoLocation\":\"US\"", "p");
    EXPECT_EQ(got.gateway, "US") << not_token;
  }
  for (const std::string token : {"GW_US", "GW_AUS", "GW_ABCD"}) {
    EXPECT_EQ(parse_onboarding("partner=" + token + ";", "p").gateway, token);
    EXPECT_EQ(parse_onboarding(token, "p").gateway, token);  // at both ends of the text
  }
}

TEST(ParseOnboarding, ValueMustBeAPlainName) {
  for (const std::string bad : {R"({"vortexGeoLocation":"E U"})", R"({"vortexGeoLocation":""})",
                                R"({"vortexGeoLocation": null})", R"({"vortexGeoLocation":"EU.x"})",
                                R"({"vortexGeoLocation":"<EU>"})"})
    EXPECT_THAT(parse_error(bad), HasSubstr("not with a plain name")) << bad;
  // The first usable one counts.
  EXPECT_EQ(
      parse_onboarding(R"({"vortexGeoLocation":"E U","vortexGeoLocation":"UK"})", "p").gateway,
      "UK");
}

TEST(ParseOnboarding, KeyInProseIsNotAValue) {
  EXPECT_THAT(
      parse_error("# vortexGeoLocation is where the data goes: EU", "notes.txt"),
      AllOf(HasSubstr("notes.txt: no gateway found"), ::testing::Not(HasSubstr("plain name"))));
}

TEST(ParseOnboarding, BinaryNoiseAroundIsFine) {
  std::string text("\x00\xff\xfe\x01GW_\x00", 9);
  text += "\x80\x81 garbage \x00\x00";
  text += R"("vortexGeoLocation":"UK")";
  text += std::string("\x00\xc3\x28", 3);
  const auto got = parse_onboarding(text, "pkg.bin");
  EXPECT_EQ(got.gateway, "UK");
}

TEST(ParseOnboarding, Utf16LittleEndianRegExport) {
  const std::string ascii =
      "Windows Registry Editor Version 5.00\r\n\r\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection]\r\n"
      R"("OnboardingInfo"="{\"body\":\"{\\\"datacenter\\\":\\\"UkWest\\\",)"
      R"(\\\"vortexGeoLocation\\\":\\\"UK\\\"}\"}")"
      "\r\n";
  std::string utf16("\xff\xfe", 2);
  for (const char c : ascii) {
    utf16.push_back(c);
    utf16.push_back('\0');
  }
  const auto got = parse_onboarding(utf16, "export.reg");
  EXPECT_EQ(got.gateway, "UK");
  EXPECT_EQ(got.datacenter, "UkWest");
}

TEST(ParseOnboarding, Base64InsideAFile) {
  const auto text = R"({"onboardingBlob":")" + base64(kStreamlinedUsBody) + R"("})";
  const auto got = parse_onboarding(text, "pkg");
  EXPECT_EQ(got.gateway, "GW_US");
  EXPECT_EQ(got.datacenter, "EastUs3");
  EXPECT_EQ(got.found_by, "GW_US token (base64)");
}

TEST(ParseOnboarding, Base64GluedToADigitBeforeIt) {
  // "/" and letters are base64 digits too: a blob right after one is still decoded.
  for (std::string body : {kStreamlinedUsBody, kStreamlinedUsBody + "x", kStreamlinedUsBody + "xy"})
    for (const std::string glue : {"/", "ab", "abc"})
      EXPECT_EQ(parse_onboarding("path=" + glue + base64(body), "p").gateway, "GW_US")
          << glue << " + " << base64(body).size() << " digits";
}

TEST(ParseOnboarding, ShortBase64RunsAreLeftAlone) {
  // "GW_EU" in base64 is shorter than 40 digits: such runs are words, not blobs.
  EXPECT_THAT(parse_error("token " + base64("\"GW_EU\"")), HasSubstr("no gateway found"));
}

TEST(ParseOnboarding, PlainTextGwTokenBeforeBase64One) {
  const auto text = "GW_UK " + base64(kStreamlinedUsBody);
  EXPECT_EQ(parse_onboarding(text, "p").gateway, "GW_UK");
}

TEST(ParseOnboarding, GwTokenInBase64BeatsPlainVortexGeoLocation) {
  const auto text = R"("vortexGeoLocation":"EU" )" + base64(kStreamlinedUsBody);
  EXPECT_EQ(parse_onboarding(text, "p").gateway, "GW_US");
}

TEST(ParseOnboarding, EmptyTextIsAnError) {
  EXPECT_THAT(parse_error("", "empty.cmd"),
              HasSubstr("empty.cmd: the onboarding package is empty"));
}

TEST(ParseOnboarding, ErrorSaysWhatWasLookedForAndTheWayOut) {
  EXPECT_THAT(parse_error("@echo off\r\n", "x.cmd"),
              AllOf(HasSubstr("x.cmd: "), HasSubstr("GW_xx token"), HasSubstr("vortexGeoLocation"),
                    HasSubstr("base64"), HasSubstr("--gateway GW_US, GW_EU, GW_UK or GW_AU")));
}

// Gateway names for --gateway and the geography filter.

TEST(Gateway, KnownNamesInAnyCase) {
  for (const auto* name :
       {"GW_US", "GW_EU", "GW_UK", "GW_AU", "US", "EU", "UK", "AU", "gw_eu", "Uk"})
    EXPECT_TRUE(valid_gateway(name)) << name;
  for (const auto* name : {"", "GW_", "GW_FR", "FR", "GW-EU", "EU ", " GW_EU", "GW_EUR", "WW"})
    EXPECT_FALSE(valid_gateway(name)) << '"' << name << '"';
}

TEST(Gateway, NormaliseIsUpperCase) {
  EXPECT_EQ(normalise_gateway("gw_eu"), "GW_EU");
  EXPECT_EQ(normalise_gateway("Au"), "AU");
}

TEST(Gateway, GeographiesOfAGatewayAndItsRegion) {
  EXPECT_THAT(gateway_geographies("GW_EU"), ElementsAre("GW_EU", "EU"));
  EXPECT_THAT(gateway_geographies("eu"), ElementsAre("GW_EU", "EU"));
  EXPECT_THAT(gateway_geographies("gw_us"), ElementsAre("GW_US", "US"));
  EXPECT_THAT(gateway_geographies(""), IsEmpty());
}
