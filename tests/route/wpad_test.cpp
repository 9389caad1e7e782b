#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "route/wpad.hpp"

using namespace urlprobe::route;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

namespace {

std::string url(const std::string& domain) {
  return "http://wpad." + domain + "/wpad.dat";
}

}  // namespace

TEST(WpadCandidates, DevolvesLabelByLabel) {
  EXPECT_THAT(wpad_candidates({"a.b.corp.example.com"}),
              ElementsAre(url("a.b.corp.example.com"), url("b.corp.example.com"),
                          url("corp.example.com"), url("example.com")));
}

TEST(WpadCandidates, NeverABareTld) {
  EXPECT_THAT(wpad_candidates({"example.com"}), ElementsAre(url("example.com")));
  EXPECT_THAT(wpad_candidates({"com"}), IsEmpty());
  EXPECT_THAT(wpad_candidates({"lan"}), IsEmpty());
}

TEST(WpadCandidates, NeverATwoLabelPublicSuffix) {
  EXPECT_THAT(wpad_candidates({"corp.example.co.uk"}),
              ElementsAre(url("corp.example.co.uk"), url("example.co.uk")));
  EXPECT_THAT(wpad_candidates({"shop.com.au"}), ElementsAre(url("shop.com.au")));
  EXPECT_THAT(wpad_candidates({"x.y.co.jp"}), ElementsAre(url("x.y.co.jp"), url("y.co.jp")));
  EXPECT_THAT(wpad_candidates({"co.uk"}), IsEmpty());
  EXPECT_TRUE(is_two_label_public_suffix("CO.UK"));
  EXPECT_FALSE(is_two_label_public_suffix("example.com"));
}

TEST(WpadCandidates, SeveralDomainsInOrderWithoutDuplicates) {
  EXPECT_THAT(wpad_candidates({"a.corp.example.com", "b.corp.example.com"}),
              ElementsAre(url("a.corp.example.com"), url("corp.example.com"), url("example.com"),
                          url("b.corp.example.com")));
}

TEST(WpadCandidates, NormalisesAndDropsBadDomains) {
  EXPECT_THAT(wpad_candidates({"Corp.Example.COM."}),
              ElementsAre(url("corp.example.com"), url("example.com")));
  EXPECT_THAT(wpad_candidates({"", ".", "a..b.com", "bad/dom.com", "sp ace.com", ".lead.com"}),
              IsEmpty());
}

TEST(ResolvConf, SearchThenDomain) {
  EXPECT_THAT(resolv_conf_domains("nameserver 10.0.0.1\n"
                                  "# search ignored.example\n"
                                  "domain home.example.net\n"
                                  "search  corp.example.com\tlab.example.com ; comment\n"),
              ElementsAre("corp.example.com", "lab.example.com", "home.example.net"));
}

TEST(ResolvConf, LastSearchLineWinsAndDuplicatesGo) {
  EXPECT_THAT(
      resolv_conf_domains("search a.example\nsearch b.example c.example\ndomain c.example.\n"),
      ElementsAre("b.example", "c.example"));
  EXPECT_THAT(resolv_conf_domains("nameserver 127.0.0.53\noptions edns0\n"), IsEmpty());
  EXPECT_THAT(resolv_conf_domains(""), IsEmpty());
}

TEST(DhcpLease, DhclientQuotedAndHex) {
  const std::string leases =
      "lease {\n"
      "  interface \"eth0\";\n"
      "  option wpad \"http://wpad.corp.example.com/proxy.pac\\000\";\n"
      "  option domain-name \"corp.example.com\";\n"
      "}\n"
      "lease {\n"
      "  option option-252 68:74:74:70:3a:2f:2f:31:30:2e:30:2e:30:2e:31:2f:77:2e:64:61:74:0;\n"
      "  option wpad-url \"http://pac.example.com/w.pac\\n\";\n"
      "}\n";
  EXPECT_THAT(dhcp_wpad_urls(leases),
              ElementsAre("http://wpad.corp.example.com/proxy.pac", "http://10.0.0.1/w.dat",
                          "http://pac.example.com/w.pac"));
}

TEST(DhcpLease, NetworkManagerKeyValue) {
  EXPECT_THAT(dhcp_wpad_urls("ADDRESS=10.0.0.5\nWPAD=http://wpad.lan.example/wpad.dat\n"),
              ElementsAre("http://wpad.lan.example/wpad.dat"));
}

TEST(DhcpLease, IgnoresOtherOptionsAndNonUrls) {
  EXPECT_THAT(
      dhcp_wpad_urls("  option domain-name \"wpad.example.com\";\n  option wpad \"none\";\n"),
      IsEmpty());
}

TEST(WpadDiscovery, NothingToTry) {
  WpadDiscovery d;
  EXPECT_THAT(d.summary(), ::testing::HasSubstr("nothing to try"));
  d.tried = {"http://wpad.a.example/wpad.dat (NXDOMAIN)",
             "http://wpad.example/wpad.dat (HTTP 404)"};
  EXPECT_EQ(d.summary(),
            "WPAD: no PAC at http://wpad.a.example/wpad.dat (NXDOMAIN), "
            "http://wpad.example/wpad.dat (HTTP 404)");
}

TEST(WpadDiscovery, EmptyInputsTryNothing) {
  urlprobe::net::ResolverConfig dns;
  const auto d = discover_wpad({}, {"com"}, dns, std::chrono::milliseconds(200));
  EXPECT_FALSE(d.source);
  EXPECT_THAT(d.tried, IsEmpty());
}
