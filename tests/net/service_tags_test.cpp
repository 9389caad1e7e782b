// The service tags reader (--service-tags): Microsoft's ServiceTags_Public_*.json shape, the
// lookup of IPv4 and IPv6 addresses through overlapping prefixes, and bad input located.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "net/service_tags.hpp"

namespace urlprobe::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Shaped as Microsoft ships it: a BOM, CRLF, changeNumber/cloud, members the reader skips.
constexpr std::string_view kTags =
    "\xEF\xBB\xBF{\r\n"
    "  \"changeNumber\": 321,\r\n"
    "  \"cloud\": \"Public\",\r\n"
    "  \"values\": [\r\n"
    "    {\r\n"
    "      \"name\": \"AzureCloud\",\r\n"
    "      \"id\": \"AzureCloud\",\r\n"
    "      \"properties\": {\r\n"
    "        \"changeNumber\": 300, \"region\": \"\", \"regionId\": 0, \"platform\": \"Azure\",\r\n"
    "        \"systemService\": \"\", \"networkFeatures\": [\"API\", \"NSG\"],\r\n"
    "        \"addressPrefixes\": [\"20.0.0.0/8\", \"2603:1000::/24\"]\r\n"
    "      }\r\n"
    "    },\r\n"
    "    {\r\n"
    "      \"name\": \"AzureCloud.eastus\",\r\n"
    "      \"id\": \"AzureCloud.eastus\",\r\n"
    "      \"properties\": {\"addressPrefixes\": [\"20.42.0.0/16\", \"2603:1030:210::/47\"]}\r\n"
    "    },\r\n"
    "    {\r\n"
    "      \"name\": \"MicrosoftDefenderForEndpoint\",\r\n"
    "      \"id\": \"MicrosoftDefenderForEndpoint\",\r\n"
    "      \"properties\": {\"addressPrefixes\": [\"20.42.73.0/24\", \"20.42.73.0/25\",\r\n"
    "        \"2603:1030:210:1::/64\"]}\r\n"
    "    },\r\n"
    "    {\"name\": \"OneDsCollector\", \"properties\": {\"addressPrefixes\": "
    "[\"20.42.65.80/28\", \"0.0.0.0/0\"]}},\r\n"
    "    {\"name\": \"Empty\", \"properties\": {\"addressPrefixes\": []}}\r\n"
    "  ]\r\n"
    "}\r\n";

ServiceTags parsed(std::string_view text) {
  ServiceTagsError error;
  auto tags = ServiceTags::parse(text, error);
  EXPECT_TRUE(tags) << error.line << ":" << error.column << ": " << error.message;
  return tags ? std::move(*tags) : ServiceTags{};
}

std::vector<std::string> tags_of(const ServiceTags& tags, const char* address) {
  return tags.tags_of(boost::asio::ip::make_address(address));
}

ServiceTagsError error_of(std::string_view text) {
  ServiceTagsError error;
  EXPECT_FALSE(ServiceTags::parse(text, error)) << "accepted: " << text;
  return error;
}

TEST(ServiceTags, ReadsMicrosoftsShape) {
  const auto tags = parsed(kTags);
  EXPECT_EQ(tags.cloud(), "Public");
  EXPECT_EQ(tags.tag_count(), 5u);
  EXPECT_EQ(tags.prefix_count(), 9u);
}

TEST(ServiceTags, NestedAndOverlappingIpv4PrefixesNameEveryTag) {
  const auto tags = parsed(kTags);
  // 0.0.0.0/0 (OneDsCollector here) holds every IPv4 address.
  EXPECT_THAT(tags_of(tags, "20.42.73.5"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "MicrosoftDefenderForEndpoint",
                          "OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "20.42.73.200"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "MicrosoftDefenderForEndpoint",
                          "OneDsCollector"));
  // The prefix's last address is still in it; the next one is not.
  EXPECT_THAT(tags_of(tags, "20.42.73.255"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "MicrosoftDefenderForEndpoint",
                          "OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "20.42.74.0"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "20.255.255.255"), ElementsAre("AzureCloud", "OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "21.0.0.0"), ElementsAre("OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "255.255.255.255"), ElementsAre("OneDsCollector"));
  EXPECT_THAT(tags_of(tags, "0.0.0.0"), ElementsAre("OneDsCollector"));
}

TEST(ServiceTags, Ipv6PrefixesAndIpv4MappedAddresses) {
  const auto tags = parsed(kTags);
  EXPECT_THAT(tags_of(tags, "2603:1030:210:1::10"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "MicrosoftDefenderForEndpoint"));
  EXPECT_THAT(tags_of(tags, "2603:1030:211:ffff:ffff:ffff:ffff:ffff"),
              ElementsAre("AzureCloud", "AzureCloud.eastus"));
  EXPECT_THAT(tags_of(tags, "2603:1030:212::"), ElementsAre("AzureCloud"));
  EXPECT_THAT(tags_of(tags, "2603:1100::"), IsEmpty());
  EXPECT_THAT(tags_of(tags, "::"), IsEmpty());
  EXPECT_THAT(tags_of(tags, "::ffff:20.42.65.81"),
              ElementsAre("AzureCloud", "AzureCloud.eastus", "OneDsCollector"));
}

TEST(ServiceTags, WholeAddressSpacesAndHostBits) {
  const auto tags = parsed(R"({"values":[
    {"name":"All6","properties":{"addressPrefixes":["::/0"]}},
    {"name":"Host","properties":{"addressPrefixes":["10.1.2.3/32","ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]}},
    {"name":"Sloppy","properties":{"addressPrefixes":["10.1.2.3/24"]}},
    {"name":"NoProperties"}]})");
  EXPECT_THAT(tags_of(tags, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
              ElementsAre("All6", "Host"));
  EXPECT_THAT(tags_of(tags, "1::"), ElementsAre("All6"));
  EXPECT_THAT(tags_of(tags, "10.1.2.3"), ElementsAre("Host", "Sloppy"));
  EXPECT_THAT(tags_of(tags, "10.1.2.0"), ElementsAre("Sloppy"));
  EXPECT_THAT(tags_of(tags, "10.1.3.0"), IsEmpty());
}

TEST(ServiceTags, ATagListedTwiceIsNamedOnce) {
  const auto tags = parsed(R"({"values":[
    {"name":"Twice","properties":{"addressPrefixes":["10.0.0.0/8"]}},
    {"name":"Twice","properties":{"addressPrefixes":["10.0.0.0/16"]}}]})");
  EXPECT_THAT(tags_of(tags, "10.0.0.1"), ElementsAre("Twice"));
}

TEST(ServiceTags, ABadPrefixIsLocatedAtItsString) {
  const auto error = error_of(
      "{\"values\": [\n  {\"name\": \"A\", \"properties\": {\n"
      "    \"addressPrefixes\": [\"10.0.0.0/8\", \"10.0.0.0/33\"]}}]}");
  EXPECT_EQ(error.line, 3);
  EXPECT_EQ(error.column, 39);
  EXPECT_THAT(error.message, HasSubstr("'10.0.0.0/33' in tag A is not an address prefix"));
  for (const char* bad : {"10.0.0.0", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "::/129",
                          "10.0.0.0/8/8", "/8", "10.0.0.0/-1", "10.0.0.0/ 8"}) {
    const auto e =
        error_of(std::string(R"({"values":[{"name":"A","properties":{"addressPrefixes":[")") + bad +
                 "\"]}}]}");
    EXPECT_EQ(e.line, 1) << bad;
    EXPECT_EQ(e.column, 57) << bad;
    EXPECT_THAT(e.message, HasSubstr("is not an address prefix")) << bad;
  }
}

TEST(ServiceTags, BadJsonIsLocatedAtTheFirstBadByte) {
  auto e = error_of("{\"values\": [\n  {\"name\": \"A\",,}\n]}");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 16);
  EXPECT_THAT(e.message, HasSubstr("member name"));
  e = error_of("{\"values\": [\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 1);
  e = error_of("{\"values\": []} x");
  EXPECT_EQ(e.column, 16);
  EXPECT_THAT(e.message, HasSubstr("after the JSON document"));
  e = error_of("{\"values\": [\"unterminated]}");
  EXPECT_THAT(e.message, HasSubstr("unterminated string"));
  e = error_of(std::string(100, '[') + std::string(100, ']'));
  EXPECT_THAT(e.message, HasSubstr("nested too deeply"));
  e = error_of("");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.column, 1);
}

TEST(ServiceTags, TheWrongShapeIsNamed) {
  auto e = error_of("[]");
  EXPECT_THAT(e.message, HasSubstr("the document is an array, expected an object"));
  e = error_of("{\"changeNumber\": 1}");
  EXPECT_THAT(e.message, HasSubstr("no \"values\" array"));
  e = error_of("{\"values\": [{\"id\": \"x\"}]}");
  EXPECT_THAT(e.message, HasSubstr("has no \"name\""));
  EXPECT_EQ(e.column, 13);
  e = error_of("{\"values\": [{\"name\": \"A\", \"properties\": {\"addressPrefixes\": [7]}}]}");
  EXPECT_THAT(e.message, HasSubstr("an address prefix is a number, expected a string"));
  EXPECT_EQ(e.column, 62);
}

TEST(ServiceTags, EscapesInNamesAreDecoded) {
  const auto tags = parsed(
      R"({"values":[{"name":"Caf\u00e9\/\ud83d\ude00","properties":{"addressPrefixes":["1.0.0.0/8"]}}]})");
  EXPECT_THAT(tags_of(tags, "1.2.3.4"), ElementsAre("Caf\xC3\xA9/\xF0\x9F\x98\x80"));
}

}  // namespace
}  // namespace urlprobe::net
