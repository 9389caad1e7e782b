// What a PAC script sees and answers, checked against the Netscape/Mozilla helper semantics,
// Microsoft's IPv6 extensions and pactester's way of printing answers (issue 21). Own vectors:
// no test script of another project is used.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "route/pac.hpp"
#include "route/pac_test_support.hpp"

using namespace urlprobe::route;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using urlprobe::route::test::utc;

namespace {

// Names the in-process resolver knows; every other name does not resolve. No DNS traffic.
const test::Zone kZone = {
    {"web.intra", {"198.95.7.7"}},
    {"six.intra", {"3ffe:8311:ffff:1::5"}},
    {"both.intra", {"3ffe:8311:ffff::9", "198.95.8.8"}},
};

PacResolve zone_resolver(std::shared_ptr<std::vector<std::string>> asked) {
  return test::zone_resolver(std::make_shared<const test::Zone>(kZone), std::move(asked));
}

// A script whose answer is whatever the expression in the "URL" evaluates to, as String()
// shows it: evaluate() hands back even answers that are no proxy list.
class Eval {
 public:
  explicit Eval(std::string my_ip = "10.9.8.7")
      : asked(std::make_shared<std::vector<std::string>>()),
        script_("function FindProxyForURL(url, host) { return String(eval(url)); }", "eval.pac",
                zone_resolver(asked), std::move(my_ip), {}, [this] { return now; }) {}

  std::string operator()(const std::string& expression) {
    return script_.evaluate(expression, "host").text;
  }

  std::time_t now = utc(2026, 3, 4, 12);  // a Wednesday
  std::shared_ptr<std::vector<std::string>> asked;

 private:
  PacScript script_;
};

PacAnswer answer_of(const std::string& returned_expression) {
  PacScript script("function FindProxyForURL(url, host) { return " + returned_expression + "; }",
                   "answer.pac", zone_resolver(std::make_shared<std::vector<std::string>>()),
                   "10.9.8.7");
  return script.evaluate("http://a.test/", "a.test");
}

// Sets TZ for one test, so that the local-time forms have a known offset from GMT.
class LocalZone {
 public:
  explicit LocalZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~LocalZone() {
    if (old_)
      setenv("TZ", old_->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  LocalZone(const LocalZone&) = delete;
  LocalZone& operator=(const LocalZone&) = delete;

 private:
  std::optional<std::string> old_;
};

PacHop hop(PacHop::Kind kind, std::string host, std::uint16_t port) {
  return PacHop{kind, std::move(host), port};
}

}  // namespace

// ---- answers: printed as returned, parsed when they are a proxy list ----------------------------

TEST(PacConformance, EveryAnswerShapeIsKeptVerbatimAndParsed) {
  using K = PacHop::Kind;
  const PacHop direct{};
  struct Case {
    const char* returned;
    std::vector<PacHop> chain;
  };
  const Case cases[] = {
      {"DIRECT", {direct}},
      {"PROXY proxy.corp:3128", {hop(K::http, "proxy.corp", 3128)}},
      {"PROXY a.corp:8080; PROXY b.corp:8081; DIRECT",
       {hop(K::http, "a.corp", 8080), hop(K::http, "b.corp", 8081), direct}},
      {"PROXY a.corp:8080;DIRECT", {hop(K::http, "a.corp", 8080), direct}},
      {"  PROXY   a.corp:8080  ;   DIRECT  ", {hop(K::http, "a.corp", 8080), direct}},
      {"PROXY a.corp:8080;", {hop(K::http, "a.corp", 8080)}},
      {"DIRECT;;", {direct}},
      {"proxy low.corp:81; direct", {hop(K::http, "low.corp", 81), direct}},
      {"Socks5 s.corp:1085", {hop(K::socks5, "s.corp", 1085)}},
      {"HTTP h.corp:8000", {hop(K::http, "h.corp", 8000)}},
      {"HTTPS tls.corp:8443", {hop(K::https, "tls.corp", 8443)}},
      {"SOCKS s.corp:1080; SOCKS4 s4.corp:1081; SOCKS5 s5.corp:1082",
       {hop(K::socks4, "s.corp", 1080), hop(K::socks4, "s4.corp", 1081),
        hop(K::socks5, "s5.corp", 1082)}},
      // Without a port each keyword gets its scheme's.
      {"PROXY p.corp; HTTPS t.corp; SOCKS5 s.corp",
       {hop(K::http, "p.corp", 80), hop(K::https, "t.corp", 443), hop(K::socks5, "s.corp", 1080)}},
      {"PROXY [2001:db8::1]:3128; PROXY 192.0.2.1:8080",
       {hop(K::http, "2001:db8::1", 3128), hop(K::http, "192.0.2.1", 8080)}},
  };
  for (const auto& c : cases) {
    // Built with fmt-free appends: GCC 12 warns (-Wrestrict) on "'" + std::string + "'".
    std::string quoted = "'";
    quoted.append(c.returned).push_back('\'');
    const auto answer = answer_of(quoted);
    EXPECT_EQ(answer.text, c.returned);
    EXPECT_EQ(answer.problem, "") << c.returned;
    EXPECT_EQ(answer.chain, c.chain) << c.returned;
  }
}

TEST(PacConformance, UnusableAnswersAreReturnedWithTheirProblem) {
  struct Case {
    const char* expression;
    const char* text;     // what pactester would print
    const char* problem;  // part of the warning
  };
  const Case cases[] = {
      {"''", "", "empty answer"},
      {"' ; ; '", " ; ; ", "empty answer"},
      {"'garbage'", "garbage", "unknown proxy type"},
      {"'PROXY'", "PROXY", "missing host"},
      {"'PROXY :8080'", "PROXY :8080", "missing host"},
      {"'PROXY a.corp:'", "PROXY a.corp:", "missing port"},
      {"'PROXY a.corp:99999'", "PROXY a.corp:99999", "bad port"},
      {"'FTP f.corp:21'", "FTP f.corp:21", "unknown proxy type"},
      {"'DIRECT now'", "DIRECT now", "unexpected text after DIRECT"},
      {"'PROXY a.corp:1; BOGUS'", "PROXY a.corp:1; BOGUS", "unknown proxy type"},
      {"undefined", "undefined", "returned undefined, not a string"},
      {"null", "null", "returned null, not a string"},
      {"8080", "8080", "returned a number, not a string"},
      {"false", "false", "returned a boolean, not a string"},
      {"['DIRECT']", "DIRECT", "returned an object, not a string"},
      {"{toString: function () { return 'PROXY x:1'; }}", "PROXY x:1", "an object, not a string"},
  };
  for (const auto& c : cases) {
    const auto answer = answer_of(c.expression);
    EXPECT_EQ(answer.text, c.text) << c.expression;
    EXPECT_THAT(answer.problem, HasSubstr(c.problem)) << c.expression;
    EXPECT_THAT(answer.problem, HasSubstr("FindProxyForURL returned")) << c.expression;
    EXPECT_TRUE(answer.chain.empty()) << c.expression;
  }
  // find_proxy, which the sweep uses, still refuses them.
  PacScript script("function FindProxyForURL(url, host) { return 'PROXY'; }", "p.pac", {}, "");
  EXPECT_THROW(script.find_proxy("http://a.test/", "a.test"), PacError);
}

TEST(PacConformance, OnlyAScriptThatFailsIsAnError) {
  PacScript script(
      "function FindProxyForURL(url, host) {\n"
      "  if (host === 'bad.test') null.crash;\n"
      "  return 'DIRECT';\n"
      "}\n",
      "fails.pac", {}, "");
  try {
    script.evaluate("http://bad.test/", "bad.test");
    ADD_FAILURE() << "a TypeError was no error";
  } catch (const PacError& e) {
    EXPECT_EQ(e.line, 2);
    EXPECT_THAT(e.what(), HasSubstr("TypeError"));
  }
  EXPECT_EQ(script.evaluate("http://good.test/", "good.test").text, "DIRECT") << "the heap lives";
}

TEST(PacConformance, FindProxyForURLExWinsAndSeesTheSameArguments) {
  PacScript script(
      "function FindProxyForURL(url, host) { return 'PROXY legacy.corp:1'; }\n"
      "function FindProxyForURLEx(url, host) { return 'PROXY ex.corp:2; ' + url + ' ' + host; }\n",
      "ex.pac", {}, "");
  EXPECT_EQ(script.evaluate("https://h.test:8443/p?q", "h.test").text,
            "PROXY ex.corp:2; https://h.test:8443/p?q h.test");
  PacScript only_ex("function FindProxyForURLEx(url, host) { return 'DIRECT'; }", "ex.pac", {}, "");
  EXPECT_EQ(only_ex.evaluate("http://a.test/", "a.test").text, "DIRECT");
}

// ---- alert() -----------------------------------------------------------------------------------

TEST(PacConformance, AlertIsToldAtOnceAndEvaluationGoesOn) {
  std::vector<std::string> told;
  PacScript script(
      "alert('top level');\n"
      "function FindProxyForURL(url, host) {\n"
      "  alert('for ' + host);\n"
      "  alert(42);\n"
      "  alert();\n"
      "  return 'DIRECT';\n"
      "}\n",
      "alert.pac", {}, "", {}, {}, [&told](const std::string& m) { told.push_back(m); });
  EXPECT_THAT(told, ElementsAre("top level"));
  EXPECT_EQ(script.evaluate("http://a.test/", "a.test").text, "DIRECT");
  EXPECT_THAT(told, ElementsAre("top level", "for a.test", "42", "undefined"));
}

TEST(PacConformance, AnAlertLoopIsCutShortOnce) {
  std::vector<std::string> told;
  PacScript script(
      "function FindProxyForURL(url, host) {\n"
      "  for (var i = 0; i < 5000; i++) alert('n' + i);\n"
      "  return 'DIRECT';\n"
      "}\n",
      "loop.pac", {}, "", {}, {}, [&told](const std::string& m) { told.push_back(m); });
  EXPECT_EQ(script.evaluate("http://a.test/", "a.test").text, "DIRECT");
  ASSERT_EQ(told.size(), 1001u);
  EXPECT_EQ(told[999], "n999");
  EXPECT_THAT(told[1000], HasSubstr("further alerts not shown"));
  told.clear();
  script.evaluate("http://a.test/", "a.test");
  EXPECT_EQ(told.size(), 1001u) << "each call has its own allowance";
}

// ---- Microsoft's IPv6 extensions ----------------------------------------------------------------

TEST(PacConformance, IsInNetExTakesEveryPrefixFormMicrosoftDocuments) {
  Eval js;
  // The documented examples: an IPv4 host route, an IPv4 /16, an IPv6 /48 in full and short form.
  EXPECT_EQ(js("isInNetEx('198.95.249.79', '198.95.249.79/32')"), "true");
  EXPECT_EQ(js("isInNetEx('198.95.249.78', '198.95.249.79/32')"), "false");
  EXPECT_EQ(js("isInNetEx('198.95.1.2', '198.95.0.0/16')"), "true");
  EXPECT_EQ(js("isInNetEx('198.96.1.2', '198.95.0.0/16')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff:1::5', '3ffe:8311:ffff::/48')"), "true");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:fffe::5', '3ffe:8311:ffff::/48')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff:1::5', '3ffe:8311:ffff/48')"), "true");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:fffe::5', '3ffe:8311:ffff/48')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311::1', '3ffe:8311/32')"), "true");
  EXPECT_EQ(js("isInNetEx('3ffe:8312::1', '3ffe:8311/32')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff:1::5', '3ffe:8311:ffff:1/64')"), "true");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff:2::5', '3ffe:8311:ffff:1/64')"), "false");
  // A short prefix is the groups written, then zeros: the /48 does not reach into group 4.
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff:abcd::1', '3ffe:8311:ffff/48')"), "true");
  // Host names are resolved; a list matches when any of its addresses does.
  EXPECT_EQ(js("isInNetEx('six.intra', '3ffe:8311:ffff/48')"), "true");
  EXPECT_EQ(js("isInNetEx('web.intra', '198.95.0.0/16')"), "true");
  EXPECT_EQ(js("isInNetEx('both.intra', '198.95.8.0/24')"), "true");
  EXPECT_EQ(js("isInNetEx('both.intra', '3ffe:8311:ffff/48')"), "true");
  EXPECT_EQ(js("isInNetEx(dnsResolveEx('both.intra'), '3ffe:8311:ffff/48')"), "true");
  EXPECT_EQ(js("isInNetEx('fd00::1;198.95.3.3', '198.95.0.0/16')"), "true");
  // FALSE, as documented, for a malformed prefix or families that differ.
  EXPECT_EQ(js("isInNetEx('198.95.1.2', '3ffe:8311:ffff/48')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff::1', '198.95.0.0/16')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff::1', '3ffe:8311:ffff/129')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff::1', '3ffe:8311:ffff:/48')"), "false");
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff::1', '3ffe:8311:ffff')"), "false");  // no length
  EXPECT_EQ(js("isInNetEx('3ffe:8311:ffff::1', 'g3ffe:8311/16')"), "false");
  EXPECT_EQ(js("isInNetEx('nowhere.intra', '0.0.0.0/0')"), "false");
  // Microsoft writes IPv4 prefixes in full; "198.95/16" is not a form it documents.
  EXPECT_EQ(js("isInNetEx('198.95.1.2', '198.95/16')"), "false");
}

TEST(PacConformance, ExResolversListEveryAddressOrNothing) {
  Eval js;
  EXPECT_EQ(js("dnsResolveEx('both.intra')"), "3ffe:8311:ffff::9;198.95.8.8");
  EXPECT_EQ(js("dnsResolveEx('six.intra')"), "3ffe:8311:ffff:1::5");
  EXPECT_EQ(js("JSON.stringify(dnsResolveEx('nowhere.intra'))"), "\"\"");
  EXPECT_EQ(js("isResolvableEx('six.intra')"), "true");
  EXPECT_EQ(js("isResolvable('six.intra')"), "false");  // IPv4 only
  EXPECT_EQ(js("isResolvableEx('nowhere.intra')"), "false");
  EXPECT_EQ(js("sortIpAddressList(dnsResolveEx('both.intra') + ';10.0.0.1;::1')"),
            "::1;3ffe:8311:ffff::9;10.0.0.1;198.95.8.8");
  EXPECT_EQ(js("sortIpAddressList('not an address')"), "false");
  EXPECT_EQ(js("typeof getClientVersion() + ' ' + getClientVersion()"), "string 1.0");
}

// ---- DNS failures and the client's address -----------------------------------------------------

TEST(PacConformance, DnsResolveFailureIsNullAndDnsResolveExFailureIsEmpty) {
  Eval js;
  EXPECT_EQ(js("dnsResolve('nowhere.intra') === null"), "true");
  EXPECT_EQ(js("dnsResolveEx('nowhere.intra') === ''"), "true");
  EXPECT_EQ(js("dnsResolve('six.intra') === null"), "true");  // no IPv4 address
  EXPECT_EQ(js("isResolvable('nowhere.intra')"), "false");
  EXPECT_EQ(js("isInNet('nowhere.intra', '0.0.0.0', '0.0.0.0')"), "false");
  EXPECT_EQ(js("dnsResolve('web.intra')"), "198.95.7.7");
  EXPECT_THAT(*js.asked, ElementsAre("nowhere.intra", "six.intra", "web.intra"));
  // An empty name, or one no DNS name can be, is not looked up.
  js.asked->clear();
  EXPECT_EQ(js("dnsResolve('') === null"), "true");
  EXPECT_EQ(js("dnsResolve(new Array(300).join('a')) === null"), "true");
  EXPECT_TRUE(js.asked->empty());
}

TEST(PacConformance, MyIpAddressIsTheClientAddress) {
  Eval given("192.0.2.44");
  EXPECT_EQ(given("myIpAddress()"), "192.0.2.44");
  EXPECT_EQ(given("myIpAddressEx()"), "192.0.2.44");
  EXPECT_EQ(given("isInNet(myIpAddress(), '192.0.2.0', '255.255.255.0')"), "true");
  Eval both("2001:db8::44;192.0.2.44");
  EXPECT_EQ(both("myIpAddress()"), "192.0.2.44");  // the legacy helper: IPv4 only
  EXPECT_EQ(both("myIpAddressEx()"), "2001:db8::44;192.0.2.44");
  Eval v6("2001:db8::44");
  EXPECT_EQ(v6("myIpAddress()"), "127.0.0.1");  // no IPv4 address: loopback, as browsers say
}

// ---- name helpers ------------------------------------------------------------------------------

TEST(PacConformance, NameHelpers) {
  Eval js;
  EXPECT_EQ(js("isPlainHostName('intranet')"), "true");
  EXPECT_EQ(js("isPlainHostName('intranet.corp')"), "false");
  EXPECT_EQ(js("isPlainHostName('')"), "true");
  EXPECT_EQ(js("dnsDomainIs('a.b.corp', '.b.corp')"), "true");
  EXPECT_EQ(js("dnsDomainIs('a.b.corp', 'b.corp')"), "true");  // a plain suffix test
  EXPECT_EQ(js("dnsDomainIs('ab.corp', 'b.corp')"), "true");
  EXPECT_EQ(js("dnsDomainIs('a.b.corp', '.c.corp')"), "false");
  EXPECT_EQ(js("dnsDomainIs('corp', '.corp')"), "false");
  EXPECT_EQ(js("localHostOrDomainIs('web', 'web.intra')"), "true");
  EXPECT_EQ(js("localHostOrDomainIs('web.intra', 'web.intra')"), "true");
  EXPECT_EQ(js("localHostOrDomainIs('web.extra', 'web.intra')"), "false");
  EXPECT_EQ(js("localHostOrDomainIs('we', 'web.intra')"), "false");
  EXPECT_EQ(js("dnsDomainLevels('web')"), "0");
  EXPECT_EQ(js("dnsDomainLevels('web.intra')"), "1");
  EXPECT_EQ(js("dnsDomainLevels('a.b.c.intra')"), "3");
  EXPECT_EQ(js("shExpMatch('http://web.intra/x/y.html', 'http://*.intra/*')"), "true");
  EXPECT_EQ(js("shExpMatch('http://web.intra/', '*.extra/*')"), "false");
  EXPECT_EQ(js("shExpMatch('10.1.2.3', '10.1.*')"), "true");
  EXPECT_EQ(js("shExpMatch('web1.intra', 'web?.intra')"), "true");
  EXPECT_EQ(js("shExpMatch('web12.intra', 'web?.intra')"), "false");
  EXPECT_EQ(js("shExpMatch('web.intra', 'web.intra*')"), "true");
  EXPECT_EQ(js("shExpMatch('webXintra', 'web.intra')"), "false");  // '.' is literal
}

// ---- time: the clock is injected, GMT and local time both checked ---------------------------

TEST(PacConformance, WeekdayRangeEveryForm) {
  LocalZone zone("XST-3");  // local = GMT + 3 h
  Eval js;
  js.now = utc(2026, 3, 4, 22, 30);  // Wednesday 22:30 GMT, Thursday 01:30 local
  EXPECT_EQ(js("weekdayRange('WED', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('WED')"), "false");
  EXPECT_EQ(js("weekdayRange('THU')"), "true");
  EXPECT_EQ(js("weekdayRange('MON', 'WED', 'GMT')"), "true");
  EXPECT_EQ(js("weekdayRange('MON', 'WED')"), "false");
  EXPECT_EQ(js("weekdayRange('THU', 'SUN', 'GMT')"), "false");
  EXPECT_EQ(js("weekdayRange('THU', 'SUN')"), "true");
  EXPECT_EQ(js("weekdayRange('SAT', 'WED', 'GMT')"), "true");  // wraps over the weekend
  EXPECT_EQ(js("weekdayRange('SAT', 'TUE', 'GMT')"), "false");
  EXPECT_EQ(js("weekdayRange('XYZ')"), "false");
  EXPECT_EQ(js("weekdayRange('MON', 'TUE', 'WED')"), "false");  // a third name is no GMT
}

TEST(PacConformance, DateRangeEveryForm) {
  LocalZone zone("XST-3");
  Eval js;
  js.now = utc(2026, 12, 31, 22, 0);  // 31 Dec 2026 22:00 GMT, 1 Jan 2027 01:00 local
  // day
  EXPECT_EQ(js("dateRange(31, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1)"), "true");
  EXPECT_EQ(js("dateRange(31)"), "false");
  // day1, day2 (wrapping over the month end)
  EXPECT_EQ(js("dateRange(25, 31, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1, 15)"), "true");
  EXPECT_EQ(js("dateRange(1, 15, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(28, 2, 'GMT')"), "true");
  // month
  EXPECT_EQ(js("dateRange('DEC', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('JAN')"), "true");
  // month1, month2 (wrapping over the year end)
  EXPECT_EQ(js("dateRange('OCT', 'DEC', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange('OCT', 'DEC')"), "false");
  EXPECT_EQ(js("dateRange('DEC', 'FEB')"), "true");
  // year, year1 year2
  EXPECT_EQ(js("dateRange(2026, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(2026)"), "false");
  EXPECT_EQ(js("dateRange(2027, 2030)"), "true");
  EXPECT_EQ(js("dateRange(2027, 2030, 'GMT')"), "false");
  // day1 month1 day2 month2
  EXPECT_EQ(js("dateRange(1, 'DEC', 31, 'DEC', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1, 'DEC', 31, 'DEC')"), "false");
  EXPECT_EQ(js("dateRange(15, 'DEC', 15, 'JAN')"), "true");  // over the year end
  // month1 year1 month2 year2
  EXPECT_EQ(js("dateRange('OCT', 2026, 'MAR', 2027)"), "true");
  EXPECT_EQ(js("dateRange('OCT', 2026, 'DEC', 2026)"), "false");
  EXPECT_EQ(js("dateRange('OCT', 2026, 'DEC', 2026, 'GMT')"), "true");
  // day1 month1 year1 day2 month2 year2
  EXPECT_EQ(js("dateRange(1, 'JUN', 2026, 31, 'DEC', 2026, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(1, 'JUN', 2026, 31, 'DEC', 2026)"), "false");
  EXPECT_EQ(js("dateRange(1, 'JAN', 2027, 2, 'JAN', 2027)"), "true");
  // Netscape's single dates: day month, day month year ("dateRange(24, 'DEC')": Christmas Eve).
  EXPECT_EQ(js("dateRange(31, 'DEC', 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(31, 'DEC')"), "false");
  EXPECT_EQ(js("dateRange(1, 'JAN')"), "true");
  EXPECT_EQ(js("dateRange(31, 'DEC', 2026, 'GMT')"), "true");
  EXPECT_EQ(js("dateRange(31, 'DEC', 2025, 'GMT')"), "false");
  EXPECT_EQ(js("dateRange(1, 'JAN', 2027)"), "true");
  EXPECT_EQ(js("dateRange(24, 'DEC', 'GMT')"), "false");
  // Not dates.
  EXPECT_EQ(js("dateRange()"), "false");
  EXPECT_EQ(js("dateRange('DECEMBER')"), "false");
  EXPECT_EQ(js("dateRange(0)"), "false");
  EXPECT_EQ(js("dateRange('DEC', 31)"), "false");  // month before day is no form
  EXPECT_EQ(js("dateRange(1, 2, 3)"), "false");
}

TEST(PacConformance, TimeRangeEveryForm) {
  LocalZone zone("XST-3");
  Eval js;
  js.now = utc(2026, 3, 4, 22, 30, 15);  // 22:30:15 GMT, 01:30:15 local
  // hour
  EXPECT_EQ(js("timeRange(22, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(1)"), "true");
  EXPECT_EQ(js("timeRange(22)"), "false");
  // hour1 hour2 (the end hour holds until its last second; wrapping over midnight)
  EXPECT_EQ(js("timeRange(9, 22, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(9, 21, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(22, 6)"), "true");
  EXPECT_EQ(js("timeRange(2, 6)"), "false");
  // h1 m1 h2 m2
  EXPECT_EQ(js("timeRange(22, 30, 22, 31, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(22, 31, 23, 0, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(1, 0, 1, 30)"), "true");
  EXPECT_EQ(js("timeRange(23, 0, 1, 29)"), "false");
  // h1 m1 s1 h2 m2 s2
  EXPECT_EQ(js("timeRange(22, 30, 15, 22, 30, 15, 'GMT')"), "true");
  EXPECT_EQ(js("timeRange(22, 30, 16, 22, 31, 0, 'GMT')"), "false");
  EXPECT_EQ(js("timeRange(1, 30, 0, 1, 30, 14)"), "false");
  EXPECT_EQ(js("timeRange(23, 59, 59, 1, 30, 15)"), "true");  // over midnight, local
  // Not times.
  EXPECT_EQ(js("timeRange()"), "false");
  EXPECT_EQ(js("timeRange(1, 2, 3)"), "false");
  EXPECT_EQ(js("timeRange('noon')"), "false");
}
