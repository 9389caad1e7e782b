#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <ctime>
#include <map>
#include <memory>

#include "route/pac.hpp"
#include "route/pac_test_support.hpp"

using namespace urlprobe::route;
using ::testing::HasSubstr;
using urlprobe::route::test::utc;

namespace {

// What the helpers see: a resolver with fixed answers, a settable clock, the client's address.
struct World {
  std::shared_ptr<test::Zone> dns = std::make_shared<test::Zone>(test::Zone{
      {"intranet.corp", {"10.20.30.40"}},
      {"dual.corp", {"fd00::7", "10.0.0.7"}},
      {"v6only.corp", {"2001:db8::5"}},
      {"junk.corp", {"not-an-address"}},
  });
  std::time_t now = utc(2025, 1, 3);  // a Friday
  std::shared_ptr<std::vector<std::string>> lookups = std::make_shared<std::vector<std::string>>();
};

PacResolve resolver(const std::shared_ptr<World>& w) {
  return test::zone_resolver(w->dns, w->lookups);
}

// Evaluates JavaScript expressions inside a PAC script, answers as JSON text.
class Js {
 public:
  explicit Js(std::string my_ip = "10.1.2.3")
      : world(std::make_shared<World>()),
        script_(
            "function FindProxyForURL(url, host) { alert(JSON.stringify(eval(url))); return "
            "'DIRECT'; }",
            "eval.pac", resolver(world), std::move(my_ip), {}, [w = world] { return w->now; }) {}

  std::string operator()(const std::string& expr) {
    script_.clear_alerts();
    script_.find_proxy(expr, "host");
    const auto alerts = script_.alerts();
    return alerts.size() == 1 ? alerts[0] : "(no value)";
  }

  std::shared_ptr<World> world;

 private:
  PacScript script_;
};

PacScript script(const std::string& source, PacLimits limits = {}) {
  return PacScript(source, "test.pac", resolver(std::make_shared<World>()), "10.1.2.3", limits);
}

PacError load_error(const std::string& source, PacLimits limits = {}) {
  try {
    script(source, limits);
  } catch (const PacError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded: " << source;
  return PacError("loaded");
}

PacError call_error(const std::string& source, PacLimits limits = {},
                    const std::string& host = "example.com") {
  auto s = script(source, limits);
  try {
    s.find_proxy("http://" + host + "/", host);
  } catch (const PacError& e) {
    return e;
  }
  ADD_FAILURE() << "answered: " << source;
  return PacError("answered");
}

constexpr PacLimits kTight{std::chrono::milliseconds(200), 16u << 20};

}  // namespace

// ---- helpers -------------------------------------------------------------------------------

TEST(PacHelpers, ShExpMatchWildcardsAreTheOnlySpecialCharacters) {
  Js js;
  EXPECT_EQ(js("shExpMatch('www.example.com', '*.example.com')"), "true");
  EXPECT_EQ(js("shExpMatch('example.com', '*.example.com')"), "false");
  EXPECT_EQ(js("shExpMatch('a.b', 'a.b')"), "true");
  EXPECT_EQ(js("shExpMatch('axb', 'a.b')"), "false");
  EXPECT_EQ(js("shExpMatch('abc', 'a?c')"), "true");
  EXPECT_EQ(js("shExpMatch('ac', 'a?c')"), "false");
  EXPECT_EQ(js("shExpMatch('abbc', 'a?c')"), "false");
  EXPECT_EQ(js("shExpMatch('ab', '?\?')"), "true");
  EXPECT_EQ(js("shExpMatch('a', '?\?')"), "false");
  EXPECT_EQ(js("shExpMatch('', '*')"), "true");
  EXPECT_EQ(js("shExpMatch('', '')"), "true");
  EXPECT_EQ(js("shExpMatch('abc', '*b')"), "false");
  EXPECT_EQ(js("shExpMatch('abc', '*c')"), "true");
  EXPECT_EQ(js("shExpMatch('mississippi', 'm*iss*ppi')"), "true");
  EXPECT_EQ(js("shExpMatch('mississippi', 'm*iss*ppx')"), "false");
  EXPECT_EQ(js("shExpMatch('http://host/a/b/file.pac', '*/a/*')"), "true");
  EXPECT_EQ(js("shExpMatch('ABC', 'abc')"), "false");  // case-sensitive, as in browsers
  // Regular-expression syntax is literal text.
  EXPECT_EQ(js("shExpMatch('a+b', 'a+b')"), "true");
  EXPECT_EQ(js("shExpMatch('aab', 'a+b')"), "false");
  EXPECT_EQ(js("shExpMatch('x^y$(1)|[z]', 'x^y$(1)|[z]')"), "true");
  EXPECT_EQ(js("shExpMatch('xz', 'x[yz]')"), "false");
  EXPECT_EQ(js("shExpMatch('a1', 'a\\\\d')"), "false");
  EXPECT_EQ(js("shExpMatch('a\\\\d', 'a\\\\d')"), "true");
}

TEST(PacHelpers, HostNameHelpers) {
  Js js;
  EXPECT_EQ(js("isPlainHostName('www')"), "true");
  EXPECT_EQ(js("isPlainHostName('www.example.com')"), "false");
  EXPECT_EQ(js("isPlainHostName('::1')"), "false");
  EXPECT_EQ(js("dnsDomainIs('www.netscape.com', '.netscape.com')"), "true");
  EXPECT_EQ(js("dnsDomainIs('www', '.netscape.com')"), "false");
  EXPECT_EQ(js("dnsDomainIs('www.mcom.com', '.netscape.com')"), "false");
  EXPECT_EQ(js("localHostOrDomainIs('www.netscape.com', 'www.netscape.com')"), "true");
  EXPECT_EQ(js("localHostOrDomainIs('www', 'www.netscape.com')"), "true");
  EXPECT_EQ(js("localHostOrDomainIs('www.mcom.com', 'www.netscape.com')"), "false");
  EXPECT_EQ(js("localHostOrDomainIs('home.netscape.com', 'www.netscape.com')"), "false");
  EXPECT_EQ(js("localHostOrDomainIs('ww', 'www.netscape.com')"), "false");
  EXPECT_EQ(js("dnsDomainLevels('www')"), "0");
  EXPECT_EQ(js("dnsDomainLevels('www.netscape.com')"), "2");
  EXPECT_EQ(js("dnsDomainLevels('a.b.c.d.')"), "4");
  EXPECT_EQ(js("getClientVersion()"), "\"1.0\"");
}

TEST(PacHelpers, ConvertAddrIsASigned32BitNumber) {
  Js js;
  EXPECT_EQ(js("convert_addr('10.0.0.1')"), "167772161");
  EXPECT_EQ(js("convert_addr('192.168.1.1')"), "-1062731519");
}

TEST(PacHelpers, DnsHelpersUseTheResolver) {
  Js js;
  EXPECT_EQ(js("dnsResolve('intranet.corp')"), "\"10.20.30.40\"");
  EXPECT_EQ(js("dnsResolve('dual.corp')"), "\"10.0.0.7\"");  // IPv4 only, even when listed second
  EXPECT_EQ(js("dnsResolve('v6only.corp')"), "null");
  EXPECT_EQ(js("dnsResolve('nowhere.corp')"), "null");
  EXPECT_EQ(js("dnsResolve('junk.corp')"), "null");  // resolver text that is no address
  EXPECT_EQ(js("dnsResolveEx('dual.corp')"), "\"fd00::7;10.0.0.7\"");
  EXPECT_EQ(js("dnsResolveEx('nowhere.corp')"), "\"\"");
  EXPECT_EQ(js("isResolvable('intranet.corp')"), "true");
  EXPECT_EQ(js("isResolvable('nowhere.corp')"), "false");
  EXPECT_EQ(js("isResolvable('v6only.corp')"), "false");
  EXPECT_EQ(js("isResolvableEx('v6only.corp')"), "true");
  EXPECT_EQ(js("isResolvableEx('nowhere.corp')"), "false");

  js.world->lookups->clear();
  EXPECT_EQ(js("dnsResolve('192.0.2.1') + ' ' + dnsResolveEx('2001:db8::1')"),
            "\"192.0.2.1 2001:db8::1\"");
  EXPECT_TRUE(js.world->lookups->empty()) << "literals never reach the resolver";
  // Within one call a name is looked up once, and the answer serves later calls too (the
  // script lives for one sweep, whose resolver would not ask twice either).
  (*js.world->dns)["fresh.corp"] = {"10.20.30.41"};
  EXPECT_EQ(js("[isResolvable('fresh.corp'), isInNet('fresh.corp', '10.0.0.0', '255.0.0.0'),"
               " dnsResolve('fresh.corp')]"),
            "[true,true,\"10.20.30.41\"]");
  EXPECT_EQ(js("dnsResolveEx('fresh.corp')"), "\"10.20.30.41\"");
  EXPECT_EQ(*js.world->lookups, std::vector<std::string>{"fresh.corp"});
}

// A resolver that never answers in time: a lookup gets no more than the call's DNS share (3/4 of
// the deadline), counts as a failed lookup, and the call still answers, naming what went
// unanswered. A name that had (at least half of) the share is not asked again in later calls.
TEST(PacHelpers, DnsLookupsShareTheCallDeadline) {
  std::vector<std::pair<std::string, std::chrono::milliseconds>> asked;
  PacScript script(
      "function FindProxyForURL(url, host) {\n"
      "  return [dnsResolve(host), isResolvable('second.corp'), dnsResolveEx('third.corp')]\n"
      "    .join('|') === '|false|' ? 'DIRECT' : 'PROXY wrong:1';\n"
      "}",
      "share.pac",
      [&](const std::string& host, std::chrono::milliseconds within) {
        asked.emplace_back(host, within);
        // The wait is the resolver's business: it used all of `within` and heard nothing.
        return std::optional<std::vector<std::string>>{};
      },
      "10.1.2.3", PacLimits{std::chrono::milliseconds(400)});
  // No clock: the answer shows the helpers returned as failed lookups, `asked` what they waited.
  const auto answer = script.find_proxy("http://first.corp/", "first.corp");
  EXPECT_EQ(answer.text, "DIRECT");
  EXPECT_EQ(answer.unanswered,
            (std::vector<std::string>{"first.corp", "second.corp", "third.corp"}));
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked[0].first, "first.corp");
  EXPECT_LE(asked[0].second, std::chrono::milliseconds(300)) << "more than the DNS share";
  EXPECT_GT(asked[0].second, std::chrono::milliseconds(0));

  const auto again = script.find_proxy("http://first.corp/", "first.corp");
  EXPECT_EQ(again.text, "DIRECT");
  EXPECT_EQ(again.unanswered, answer.unanswered) << "the cached failures still say so";
  EXPECT_EQ(asked.size(), 3u) << "no name is asked twice";
}

TEST(PacHelpers, IsInNetMasks) {
  Js js;
  EXPECT_EQ(js("isInNet('198.95.249.79', '198.95.249.79', '255.255.255.255')"), "true");
  EXPECT_EQ(js("isInNet('198.95.249.79', '198.95.0.0', '255.255.0.0')"), "true");
  EXPECT_EQ(js("isInNet('198.95.249.79', '198.95.0.0', '255.255.255.0')"), "false");
  EXPECT_EQ(js("isInNet('198.96.1.1', '198.95.0.0', '255.255.0.0')"), "false");
  EXPECT_EQ(js("isInNet('10.17.0.1', '10.16.0.0', '255.240.0.0')"), "true");
  EXPECT_EQ(js("isInNet('10.32.0.1', '10.16.0.0', '255.240.0.0')"), "false");
  EXPECT_EQ(js("isInNet('200.1.1.1', '0.0.0.0', '0.0.0.0')"), "true");
  EXPECT_EQ(js("isInNet('intranet.corp', '10.20.0.0', '255.255.0.0')"), "true");
  EXPECT_EQ(js("isInNet('intranet.corp', '10.21.0.0', '255.255.0.0')"), "false");
  EXPECT_EQ(js("isInNet('nowhere.corp', '0.0.0.0', '0.0.0.0')"), "false");  // unresolvable
  EXPECT_EQ(js("isInNet('v6only.corp', '0.0.0.0', '0.0.0.0')"), "false");
  EXPECT_EQ(js("isInNet('10.0.0.1', '10.0.0.0', '255.255.0')"), "false");  // bad mask
  EXPECT_EQ(js("isInNet('10.0.0.1', '10.0.0', '255.0.0.0')"), "false");    // bad pattern
  // isInNet(dnsResolve(host), ..) after a failed lookup: false, without looking up "null".
  js.world->lookups->clear();
  EXPECT_EQ(js("isInNet(dnsResolve('gone.corp'), '0.0.0.0', '0.0.0.0')"), "false");
  EXPECT_EQ(*js.world->lookups, std::vector<std::string>{"gone.corp"});
}

TEST(PacHelpers, IsInNetExTakesCidrPrefixesOfBothFamilies) {
  Js js;
  EXPECT_EQ(js("isInNetEx('10.1.2.3', '10.0.0.0/8')"), "true");
  EXPECT_EQ(js("isInNetEx('10.1.2.3', '10.1.2.0/24')"), "true");
  EXPECT_EQ(js("isInNetEx('10.1.3.3', '10.1.2.0/24')"), "false");
  EXPECT_EQ(js("isInNetEx('10.1.2.3', '10.1.2.3/32')"), "true");
  EXPECT_EQ(js("isInNetEx('10.15.0.1', '10.0.0.0/12')"), "true");
  EXPECT_EQ(js("isInNetEx('10.16.0.1', '10.0.0.0/12')"), "false");
  EXPECT_EQ(js("isInNetEx('10.0.0.1', '0.0.0.0/0')"), "true");
  EXPECT_EQ(js("isInNetEx('fd00::1', 'fd00::/8')"), "true");
  EXPECT_EQ(js("isInNetEx('fe80::1', 'fd00::/8')"), "false");
  EXPECT_EQ(js("isInNetEx('2001:db8:ffff::1', '2001:db8::/32')"), "true");
  EXPECT_EQ(js("isInNetEx('2001:db9::1', '2001:db8::/32')"), "false");
  EXPECT_EQ(js("isInNetEx('2001:db8::1', '2001:db8::/127')"), "true");
  EXPECT_EQ(js("isInNetEx('2001:db8::2', '2001:db8::/127')"), "false");
  EXPECT_EQ(js("isInNetEx('10.0.0.1', '::/0')"), "false");      // families differ
  EXPECT_EQ(js("isInNetEx('10.0.0.1', '10.0.0.0')"), "false");  // no length
  EXPECT_EQ(js("isInNetEx('10.0.0.1', '10.0.0.0/33')"), "false");
  EXPECT_EQ(js("isInNetEx('10.0.0.1', 'ten/8')"), "false");
  EXPECT_EQ(js("isInNetEx('192.0.2.1;10.0.0.1', '10.0.0.0/8')"), "true");  // a list: any
  EXPECT_EQ(js("isInNetEx('dual.corp', 'fd00::/16')"), "true");            // a name: its addresses
  EXPECT_EQ(js("isInNetEx(myIpAddressEx(), '10.1.0.0/16')"), "true");
  EXPECT_EQ(js("isInNetEx('nowhere.corp', '0.0.0.0/0')"), "false");
}

TEST(PacHelpers, SortIpAddressListPutsIpv6FirstThenAscending) {
  Js js;
  EXPECT_EQ(js("sortIpAddressList('10.0.0.2;fe80::1;10.0.0.10;::1;10.0.0.1')"),
            "\"::1;fe80::1;10.0.0.1;10.0.0.2;10.0.0.10\"");
  EXPECT_EQ(js("sortIpAddressList(' 10.0.0.2 ; 10.0.0.1 ')"), "\"10.0.0.1;10.0.0.2\"");
  EXPECT_EQ(js("sortIpAddressList('10.0.0.1')"), "\"10.0.0.1\"");
  EXPECT_EQ(js("sortIpAddressList('10.0.0.1;bogus')"), "false");
  EXPECT_EQ(js("sortIpAddressList('')"), "false");
}

TEST(PacHelpers, MyIpAddress) {
  Js js("fd00::5;10.1.2.3");
  EXPECT_EQ(js("myIpAddress()"), "\"10.1.2.3\"");
  EXPECT_EQ(js("myIpAddressEx()"), "\"fd00::5;10.1.2.3\"");
  Js unknown("");
  EXPECT_EQ(unknown("myIpAddress()"), "\"127.0.0.1\"");
  EXPECT_EQ(unknown("myIpAddressEx()"), "\"\"");
}

TEST(PacHelpers, WeekdayRangeWrapsAroundTheWeekend) {
  Js js;
  js.world->now = utc(2025, 1, 3);  // Friday
  EXPECT_EQ(js("weekdayRange('FRI', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('SAT', 'GMT')"), "false");
  EXPECT_EQ(js("weekdayRange('MON', 'FRI', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('FRI', 'MON', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('SAT', 'MON', 'GMT')"), "false");
  EXPECT_EQ(js("weekdayRange('fri', 'GMT')"), "false");  // names are upper case, as in browsers
  EXPECT_EQ(js("weekdayRange()"), "false");
  EXPECT_EQ(js("weekdayRange('SUN', 'SAT')"), "true");  // local time: any day
  js.world->now = utc(2025, 1, 5);                      // Sunday
  EXPECT_EQ(js("weekdayRange('FRI', 'MON', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('MON', 'FRI', 'GMT')"), "false");
  js.world->now = utc(2025, 1, 6);  // Monday
  EXPECT_EQ(js("weekdayRange('FRI', 'MON', 'GMT')"), "true");
  js.world->now = utc(2025, 1, 8);  // Wednesday
  EXPECT_EQ(js("weekdayRange('FRI', 'MON', 'GMT')"), "false");
  // GMT matters near midnight: 23:30 UTC Friday is Friday in UTC.
  js.world->now = utc(2025, 1, 3, 23, 30);
  EXPECT_EQ(js("weekdayRange('FRI', 'GMT')"), "true");
}

TEST(PacHelpers, DateRangeAcrossTheYearEnd) {
  Js js;
  js.world->now = utc(2024, 12, 31, 23, 30);
  EXPECT_EQ(js("dateRange('DEC', 'JAN', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('DEC', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('JAN', 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(31, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(25, 5, 'GMT')"), "true");  // days wrap across the month end
  EXPECT_EQ(js("dateRange(2024, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(2023, 2024, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(2025, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(20, 'DEC', 10, 'JAN', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('DEC', 2024, 'JAN', 2025, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1, 'JAN', 2025, 31, 'DEC', 2025, 'GMT')"), "false");
  js.world->now = utc(2025, 1, 5);
  EXPECT_EQ(js("dateRange('DEC', 'JAN', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(20, 'DEC', 10, 'JAN', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('DEC', 2024, 'JAN', 2025, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1, 'JAN', 2025, 31, 'DEC', 2025, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(25, 5, 'GMT')"), "true");
  js.world->now = utc(2025, 1, 15);
  EXPECT_EQ(js("dateRange(20, 'DEC', 10, 'JAN', 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(25, 5, 'GMT')"), "false");
  js.world->now = utc(2024, 12, 15);
  EXPECT_EQ(js("dateRange(20, 'DEC', 10, 'JAN', 'GMT')"), "false");
  js.world->now = utc(2025, 2, 1);
  EXPECT_EQ(js("dateRange('DEC', 2024, 'JAN', 2025, 'GMT')"), "false");
  js.world->now = utc(2025, 6, 15);
  EXPECT_EQ(js("dateRange('DEC', 'JAN', 'GMT')"), "false");
  EXPECT_EQ(js("dateRange('MAY', 'JUL', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('JAN', 'DEC')"), "true");  // local time: any date
  // Malformed: unknown month, odd count, mismatched halves, day with year but no month.
  EXPECT_EQ(js("dateRange('FOO', 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(1, 2, 3, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(1, 'JUN', 2025, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(1, 'JUN', 'JUL', 30, 'GMT')"), "true");  // halves name the same fields
  EXPECT_EQ(js("dateRange(1, 'JUN', 30, 2025, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(15, 2025, 15, 2025, 'GMT')"), "false");
}

TEST(PacHelpers, TimeRangeGmtAndWrapAround) {
  Js js;
  js.world->now = utc(2025, 1, 3, 23, 30, 0);
  EXPECT_EQ(js("timeRange(23, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(22, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(22, 2, 'GMT')"), "true");  // wraps past midnight
  EXPECT_EQ(js("timeRange(9, 17, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(23, 0, 23, 29, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(23, 0, 23, 30, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(22, 30, 0, 30, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(23, 30, 0, 23, 30, 0, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(23, 30, 1, 23, 59, 59, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(0, 23)"), "true");  // local time: any hour
  EXPECT_EQ(js("timeRange(1, 2, 3, 'GMT')"), "false");
  js.world->now = utc(2025, 1, 3, 17, 59, 59);
  EXPECT_EQ(js("timeRange(9, 17, 'GMT')"), "true");  // the end hour is inclusive
  js.world->now = utc(2025, 1, 3, 18, 0, 0);
  EXPECT_EQ(js("timeRange(9, 17, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(22, 2, 'GMT')"), "false");
}

TEST(PacHelpers, AlertCollectsMessages) {
  auto s = script(
      "alert('loaded'); function FindProxyForURL(url, host) { alert('for ' + host); return "
      "'DIRECT'; }");
  s.find_proxy("http://a.example/", "a.example");
  EXPECT_EQ(s.alerts(), (std::vector<std::string>{"loaded", "for a.example"}));
  s.clear_alerts();
  EXPECT_TRUE(s.alerts().empty());
}

// ---- answers -------------------------------------------------------------------------------

TEST(PacAnswerParse, ChainsInOrder) {
  std::string error;
  auto chain = parse_pac_answer("PROXY a:8080; DIRECT", error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], (PacHop{PacHop::Kind::http, "a", 8080}));
  EXPECT_EQ(chain[1], (PacHop{PacHop::Kind::direct, "", 0}));

  EXPECT_EQ(parse_pac_answer("proxy a:8080;direct", error), chain);
  EXPECT_EQ(parse_pac_answer("  PROXY   a:8080  ;   DIRECT  ;", error), chain);
  EXPECT_EQ(parse_pac_answer("PROXY a:8080;;DIRECT;", error), chain);
  EXPECT_EQ(parse_pac_answer("HTTP a:8080; Direct", error), chain);

  EXPECT_EQ(parse_pac_answer("SOCKS5 s:1081", error),
            (std::vector<PacHop>{{PacHop::Kind::socks5, "s", 1081}}));
  EXPECT_EQ(parse_pac_answer("SOCKS s:1081", error),
            (std::vector<PacHop>{{PacHop::Kind::socks4, "s", 1081}}));
  EXPECT_EQ(parse_pac_answer("socks4 s:1081", error),
            (std::vector<PacHop>{{PacHop::Kind::socks4, "s", 1081}}));
  EXPECT_EQ(parse_pac_answer("HTTPS secure.example:8443", error),
            (std::vector<PacHop>{{PacHop::Kind::https, "secure.example", 8443}}));
  EXPECT_EQ(parse_pac_answer("PROXY [fd00::1]:3128", error),
            (std::vector<PacHop>{{PacHop::Kind::http, "fd00::1", 3128}}));
  EXPECT_EQ(parse_pac_answer("PROXY 10.0.0.1:3128", error),
            (std::vector<PacHop>{{PacHop::Kind::http, "10.0.0.1", 3128}}));
  // Default ports.
  EXPECT_EQ(parse_pac_answer("PROXY p; HTTPS p; SOCKS5 p", error),
            (std::vector<PacHop>{{PacHop::Kind::http, "p", 80},
                                 {PacHop::Kind::https, "p", 443},
                                 {PacHop::Kind::socks5, "p", 1080}}));
}

TEST(PacAnswerParse, GarbageIsAnError) {
  for (const char* bad : {"", " ; ", "garbage", "FOO a:1", "PROXY", "PROXY a:", "PROXY a:0",
                          "PROXY a:70000", "PROXY a:b", "PROXY a b:1", "DIRECT a:1", "PROXY ::1:80",
                          "PROXY [::1", "PROXY [nothost]:80", "PROXY a:1; BOGUS"}) {
    std::string error;
    EXPECT_TRUE(parse_pac_answer(bad, error).empty()) << bad;
    EXPECT_NE(error, "") << bad;
  }
}

// ---- scripts -------------------------------------------------------------------------------

TEST(PacScript, AnswersAndPrefersFindProxyForURLEx) {
  auto s = script(
      "function FindProxyForURL(url, host) {\n"
      "  if (dnsDomainIs(host, '.corp')) return 'DIRECT';\n"
      "  return 'PROXY proxy.example:3128; DIRECT';\n"
      "}\n");
  auto a = s.find_proxy("https://www.example.com/x", "www.example.com");
  EXPECT_EQ(a.text, "PROXY proxy.example:3128; DIRECT");
  EXPECT_EQ(a.chain, (std::vector<PacHop>{{PacHop::Kind::http, "proxy.example", 3128}, {}}));
  EXPECT_EQ(s.find_proxy("http://intranet.corp/", "intranet.corp").text, "DIRECT");

  auto ex = script(
      "function FindProxyForURL(url, host) { return 'PROXY old:1'; }\n"
      "function FindProxyForURLEx(url, host) { return 'PROXY new:1'; }\n");
  EXPECT_EQ(ex.find_proxy("http://a/", "a").text, "PROXY new:1");
  auto only_ex = script("function FindProxyForURLEx(url, host) { return 'SOCKS5 s:1080'; }");
  EXPECT_EQ(only_ex.find_proxy("http://a/", "a").text, "SOCKS5 s:1080");

  PacScript moved = std::move(ex);
  EXPECT_EQ(moved.find_proxy("http://a/", "a").text, "PROXY new:1");
}

TEST(PacScript, SyntaxErrorCarriesItsLine) {
  auto e =
      load_error("function FindProxyForURL(url, host) {\n  var x = 1;\n  return 'DIRECT' +;\n}\n");
  EXPECT_EQ(e.line, 3) << e.what();
  EXPECT_THAT(e.what(), HasSubstr("SyntaxError"));
  EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("(line")));
}

TEST(PacScript, ExceptionsCarryTheirLine) {
  auto load = load_error(
      "var a = 1;\nundefinedFunction();\nfunction FindProxyForURL(url, host) { return 'DIRECT'; }");
  EXPECT_EQ(load.line, 2) << load.what();
  EXPECT_THAT(load.what(), HasSubstr("ReferenceError"));

  auto call = call_error("function FindProxyForURL(url, host) {\n\n  return null.x;\n}");
  EXPECT_EQ(call.line, 3) << call.what();
  EXPECT_THAT(call.what(), HasSubstr("FindProxyForURL: TypeError"));

  auto thrown = call_error("function FindProxyForURL(url, host) { throw 'no proxy for you'; }");
  EXPECT_THAT(thrown.what(), HasSubstr("no proxy for you"));
}

TEST(PacScript, MissingFindProxyForURL) {
  EXPECT_THAT(load_error("function findProxyForUrl(url, host) { return 'DIRECT'; }").what(),
              HasSubstr("FindProxyForURL"));
  EXPECT_THAT(load_error("var FindProxyForURL = 'DIRECT';").what(), HasSubstr("FindProxyForURL"));
  EXPECT_THAT(load_error("").what(), HasSubstr("FindProxyForURL"));
}

TEST(PacScript, NonStringAnswersAreErrors) {
  EXPECT_THAT(call_error("function FindProxyForURL(url, host) { return 42; }").what(),
              HasSubstr("returned a number"));
  EXPECT_THAT(call_error("function FindProxyForURL(url, host) { }").what(),
              HasSubstr("returned undefined"));
  EXPECT_THAT(call_error("function FindProxyForURL(url, host) { return null; }").what(),
              HasSubstr("returned null"));
  EXPECT_THAT(
      call_error("function FindProxyForURL(url, host) { return new String('DIRECT'); }").what(),
      HasSubstr("returned an object"));
  EXPECT_THAT(call_error("function FindProxyForURL(url, host) { return 'PROXY'; }").what(),
              HasSubstr("unusable answer"));
  EXPECT_THAT(call_error("function FindProxyForURL(url, host) { return ''; }").what(),
              HasSubstr("empty answer"));
}

TEST(PacHostile, InfiniteLoopTimesOut) {
  auto e = call_error("function FindProxyForURL(url, host) { while (true) {} }", kTight);
  EXPECT_THAT(e.what(), HasSubstr("FindProxyForURL exceeded 200 ms"));
  // Catching the timeout does not help: the next instruction throws again.
  e = call_error(
      "function FindProxyForURL(url, host) { for (;;) { try { while (true) {} } catch (e) {} } }",
      kTight);
  EXPECT_THAT(e.what(), HasSubstr("exceeded 200 ms"));
  // At load time too.
  e = load_error("while (true) {}\nfunction FindProxyForURL(url, host) { return 'DIRECT'; }",
                 kTight);
  EXPECT_THAT(e.what(), HasSubstr("loading the script exceeded 200 ms"));
}

TEST(PacHostile, LongNativeWorkTimesOut) {
  // One built-in call that runs for minutes without executing a bytecode instruction.
  auto e = call_error(
      "function FindProxyForURL(url, host) { var a = []; a.length = 2147483647; return "
      "a.lastIndexOf(1); }",
      kTight);
  EXPECT_THAT(e.what(), HasSubstr("exceeded 200 ms"));
  e = call_error(
      "function FindProxyForURL(url, host) { var a = []; a.length = 1000000000; return a.join(); }",
      kTight);
  EXPECT_THAT(e.what(), HasSubstr("exceeded 200 ms"));
  // Catastrophic regexp backtracking (about 2^60 steps).
  e = call_error(
      "function FindProxyForURL(url, host) { return /^(?:a|a)*b$/.test(Array(61).join('a')); }",
      kTight);
  EXPECT_THAT(e.what(), HasSubstr("exceeded 200 ms"));
}

TEST(PacHostile, AThrownValueThatLoopsWhenPrintedTimesOut) {
  auto e = call_error(
      "function FindProxyForURL(url, host) { throw { toString: function () { for (;;) {} } }; }",
      kTight);
  EXPECT_THAT(e.what(), HasSubstr("cannot be printed"));
}

TEST(PacHostile, HugeStringHitsTheMemoryLimit) {
  constexpr PacLimits kSlow{std::chrono::seconds(20),
                            16u << 20};  // the cap, not the clock, ends it
  auto s = script(
      "function FindProxyForURL(url, host) {\n"
      "  if (host !== 'boom') return 'DIRECT';\n"
      "  var s = 'x'; while (true) s += s;\n"
      "}\n",
      kSlow);
  try {
    s.find_proxy("http://boom/", "boom");
    ADD_FAILURE() << "no error";
  } catch (const PacError& e) {
    EXPECT_THAT(e.what(), HasSubstr("memory limit of 16 MiB"));
  }
  // The heap survives: the garbage is gone and the next call works.
  EXPECT_EQ(s.find_proxy("http://a/", "a").text, "DIRECT");
  EXPECT_THAT(load_error("var s = 'x'; while (true) s += s;", kSlow).what(),
              HasSubstr("memory limit"));
}

TEST(PacHostile, DeepRecursionIsAnError) {
  // A generous deadline: these must end in Duktape's own limits, also in slow sanitizer builds.
  constexpr PacLimits kSlow{std::chrono::seconds(20), 16u << 20};
  auto e = call_error(
      "function f(n) { return f(n + 1) + 1; }\nfunction FindProxyForURL(url, host) { return f(0); "
      "}",
      kSlow);
  EXPECT_THAT(e.what(), HasSubstr("RangeError"));
  // Through a built-in, so the C stack grows too.
  e = call_error(
      "function f() { return [1].map(f); }\nfunction FindProxyForURL(url, host) { return f(); }",
      kSlow);
  EXPECT_THAT(e.what(), HasSubstr("RangeError"));
  e = call_error(
      "function FindProxyForURL(url, host) { return JSON.parse(Array(100000).join('[')); }", kSlow);
  EXPECT_THAT(e.what(), HasSubstr("Error"));
  e = call_error(
      "function FindProxyForURL(url, host) { return new RegExp(Array(20000).join('(')); }", kSlow);
  EXPECT_THAT(e.what(), HasSubstr("Error"));
  // Deeply nested source: Duktape's compiler has its own limit.
  const std::string deep = "function FindProxyForURL(url, host) { return " +
                           std::string(5000, '(') + "'DIRECT'" + std::string(5000, ')') + "; }";
  EXPECT_THAT(load_error(deep, kSlow).what(), HasSubstr("RangeError"));
}

TEST(PacHostile, DeepNativeRecursionOnASmallStack) {
#if defined(__SANITIZE_THREAD__)
  // TSan's frames are several times larger and it intercepts the stack itself: the floor the
  // engine keeps (a quarter of a small stack) is not enough there. Release and ASan run it.
  GTEST_SKIP() << "stack frames under ThreadSanitizer are too large for a 1 MiB thread";
#endif
  // 1000 nested native calls (Duktape's own limit) need more than this thread has under ASan.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1u << 20);
  std::string what;
  pthread_t thread;
  auto body = +[](void* out) -> void* {
    const PacLimits slow{std::chrono::seconds(20), 16u << 20};
    *static_cast<std::string*>(out) = call_error(
                                          "function f() { return [1].map(f); }\nfunction "
                                          "FindProxyForURL(url, host) { return f(); }",
                                          slow)
                                          .what();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, body, &what), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_THAT(what, HasSubstr("RangeError: C stack depth limit"));
}

TEST(PacHostile, NoDuktapeObjectAndNoHostAccess) {
  Js js;
  EXPECT_EQ(
      js("[typeof Duktape, typeof require, typeof print, typeof XMLHttpRequest, typeof process]"),
      "[\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\"]");
}

// ---- reads_path ----------------------------------------------------------------------------

TEST(PacReadsPath, HostOnlyScriptsDoNot) {
  EXPECT_FALSE(script("function FindProxyForURL(url, host) {\n"
                      "  // url.indexOf('/api/') in a comment does not count\n"
                      "  var note = 'url.substring(0, 5)';\n"
                      "  if (/\"'/.test(host)) return 'DIRECT';\n"
                      "  if (shExpMatch(host, '*.corp') || isInNet(host, '10.0.0.0', '255.0.0.0')) "
                      "return 'DIRECT';\n"
                      "  return 'PROXY p:3128';\n"
                      "}\n")
                   .reads_path());
  EXPECT_FALSE(
      script("var FindProxyForURL = function (url, host) { return 'DIRECT'; };").reads_path());
  // Passing url on to a function of the script that ignores it.
  EXPECT_FALSE(
      script("function pick(u, h) { return dnsDomainIs(h, '.corp') ? 'DIRECT' : 'PROXY p:1'; }\n"
             "function FindProxyForURL(url, host) { return pick(url, host); }\n")
          .reads_path());
  EXPECT_FALSE(
      script("function FindProxyForURL(url, host) { return 'DIRECT'; }\n"
             "function FindProxyForURLEx(url, host) { return FindProxyForURL(url, host); }\n")
          .reads_path());
}

TEST(PacReadsPath, ScriptsThatLookAtTheUrlDo) {
  const char* scripts[] = {
      "function FindProxyForURL(url, host) { if (url.indexOf('/api/') > 0) return 'PROXY p:1'; "
      "return 'DIRECT'; }",
      "function FindProxyForURL(url, host) { return shExpMatch(url, 'https:*') ? 'DIRECT' : 'PROXY "
      "p:1'; }",
      "function FindProxyForURL(u, h) { var x = u; return x.length > 10 ? 'DIRECT' : 'PROXY p:1'; "
      "}",
      "function FindProxyForURL(url, host) { return arguments[0].length ? 'DIRECT' : 'PROXY p:1'; "
      "}",
      "function FindProxyForURL(url, host) { return eval('u' + 'rl').length ? 'DIRECT' : 'PROXY "
      "p:1'; }",
      "function FindProxyForURL(url, host) { return \\u0075rl.length ? 'DIRECT' : 'PROXY p:1'; }",
      // Passed on to a function of the script that reads it.
      "function pick(h, u) { return u.substring(0, 5) == 'http:' ? 'DIRECT' : 'PROXY p:1'; }\n"
      "function FindProxyForURL(url, host) { return pick(host, url); }",
      "function FindProxyForURL(url, host) { return url.length ? 'DIRECT' : 'PROXY p:1'; }\n"
      "function FindProxyForURLEx(url, host) { return FindProxyForURL(url, host); }",
      // Defined in a way the source does not show, or rebound.
      "this['FindProxy' + 'ForURL'] = function (url, host) { return 'DIRECT'; };",
      "function f(url, host) { return url.length ? 'DIRECT' : 'PROXY p:1'; }\n"
      "function FindProxyForURL(url, host) { return 'DIRECT'; }\nFindProxyForURL = f;",
  };
  for (const char* source : scripts) EXPECT_TRUE(script(source).reads_path()) << source;
}

// The sandbox's state is route/pac/'s own (route/detail/pac_sandbox.hpp): other stages see only
// the script's interface, so they cannot come to depend on it.
template <class T>
concept NamesItsImpl = requires {
  typename T::Impl;
};
TEST(PacScriptHeader, DoesNotExposeTheSandboxState) {
  EXPECT_FALSE(NamesItsImpl<PacScript>);
}
