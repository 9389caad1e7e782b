#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "route/proxy.hpp"
#include "route/route.hpp"

using namespace urlprobe::route;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

ProxySpec spec_ok(std::string_view text) {
  auto parsed = parse_proxy_spec(text);
  if (auto* e = std::get_if<SpecError>(&parsed)) ADD_FAILURE() << text << ": " << e->message;
  return std::holds_alternative<ProxySpec>(parsed) ? std::get<ProxySpec>(parsed) : ProxySpec{};
}

SpecError spec_bad(std::string_view text) {
  auto parsed = parse_proxy_spec(text);
  EXPECT_TRUE(std::holds_alternative<SpecError>(parsed)) << text;
  return std::holds_alternative<SpecError>(parsed) ? std::get<SpecError>(parsed) : SpecError{};
}

}  // namespace

TEST(ProxySpec, BareHostPortIsHttp) {
  const auto p = spec_ok("10.0.0.6:8080");
  EXPECT_EQ(p.scheme, ProxySpec::Scheme::http);
  EXPECT_EQ(p.host, "10.0.0.6");
  EXPECT_EQ(p.port, 8080);
  EXPECT_EQ(p.redacted(), "http://10.0.0.6:8080");
}

TEST(ProxySpec, EverySchemeWithCredentialsPercentDecoded) {
  const auto p = spec_ok("socks5h://us%40er:p%3Ass@Proxy.Example:1080");
  EXPECT_EQ(p.scheme, ProxySpec::Scheme::socks5h);
  EXPECT_EQ(p.host, "proxy.example");
  EXPECT_EQ(p.user, "us@er");
  EXPECT_EQ(p.password, "p:ss");
  EXPECT_EQ(spec_ok("https://p.example").port, 443);
  EXPECT_EQ(spec_ok("socks5://p.example").port, 1080);
  EXPECT_EQ(spec_ok("http://p.example:3128/").port, 3128);
}

TEST(ProxySpec, RedactedNeverShowsThePassword) {
  const auto p = spec_ok("http://probe:s3cr3t-Pa55@127.0.0.1:3128");
  EXPECT_EQ(p.redacted(), "http://probe:***@127.0.0.1:3128");
  EXPECT_THAT(p.redacted(), Not(HasSubstr("s3cr3t")));
  EXPECT_EQ(spec_ok("http://onlyuser@h:1").redacted(), "http://onlyuser@h:1");
}

TEST(ProxySpec, Ipv6InBrackets) {
  const auto p = spec_ok("http://[::1]:3128");
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.redacted(), "http://[::1]:3128");
  spec_bad("http://[::1:3128");
  spec_bad("http://[nothex]:3128");
}

TEST(ProxySpec, BadInputNamesColumnAndNeverEchoesThePassword) {
  EXPECT_THAT(spec_bad("ftp://p:21").message, HasSubstr("'ftp'"));
  const auto no_port = spec_bad("proxy.example");
  EXPECT_THAT(no_port.message, HasSubstr("missing port"));
  const auto bad_port = spec_bad("http://p.example:99999");
  EXPECT_EQ(bad_port.column, 18);
  const auto bad_escape = spec_bad("http://user:s3cr3t%zz@p:1");
  EXPECT_THAT(bad_escape.message, HasSubstr("percent-encoding"));
  EXPECT_THAT(bad_escape.message, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(spec_bad("http://us%zzer@p:1").message, HasSubstr("user name"));
}

TEST(NoProxy, CurlSemantics) {
  NoProxy np("example.com, .corp.local,10.0.0.0/8, 192.168.1.5,internal:8443,[::1]");
  EXPECT_TRUE(np.bypass("example.com", 443));
  EXPECT_TRUE(np.bypass("www.example.com", 443));
  EXPECT_FALSE(np.bypass("badexample.com", 443));  // suffix only on a label boundary
  EXPECT_TRUE(np.bypass("a.corp.local", 443));
  EXPECT_TRUE(np.bypass("corp.local", 443));
  EXPECT_TRUE(np.bypass("10.2.3.4", 80));
  EXPECT_FALSE(np.bypass("11.2.3.4", 80));
  EXPECT_TRUE(np.bypass("192.168.1.5", 80));
  EXPECT_FALSE(np.bypass("192.168.1.6", 80));
  EXPECT_TRUE(np.bypass("internal", 8443));
  EXPECT_FALSE(np.bypass("internal", 443));
  EXPECT_TRUE(np.bypass("::1", 443));
  EXPECT_TRUE(NoProxy("*").bypass("anything.example", 1));
  EXPECT_TRUE(NoProxy("").empty());
}

TEST(EnvironmentProxy, SchemesFallbackAndCase) {
  const auto env = read_environment_proxy({{"https_proxy", "http://s.example:3128"},
                                           {"HTTP_PROXY", "http://ignored.example:1"},
                                           {"ALL_PROXY", "socks5h://all.example:1080"},
                                           {"NO_PROXY", "internal.example"}});
  ASSERT_TRUE(env.https);
  EXPECT_EQ(env.https->host, "s.example");
  ASSERT_TRUE(env.http);  // upper-case HTTP_PROXY is ignored, as curl does; all_proxy fills in
  EXPECT_EQ(env.http->host, "all.example");
  EXPECT_TRUE(env.no_proxy.bypass("internal.example", 443));
  EXPECT_TRUE(env.errors.empty());
  EXPECT_FALSE(read_environment_proxy({{"https_proxy", "ftp://x:1"}}).errors.empty());
}

TEST(Routes, DefaultWithoutProxyIsDirectAndNoProxyBypasses) {
  const auto none = default_route(read_environment_proxy({}));
  EXPECT_EQ(choose(none, "https", "a.example", 443).proxy, nullptr);
  const auto with = default_route(
      read_environment_proxy({{"https_proxy", "p:3128"}, {"no_proxy", "skip.example"}}));
  ASSERT_NE(choose(with, "https", "a.example", 443).proxy, nullptr);
  EXPECT_EQ(choose(with, "http", "a.example", 80).proxy, nullptr);  // no http_proxy
  EXPECT_EQ(choose(with, "https", "skip.example", 443).proxy, nullptr);
}

TEST(Routes, NamedProxyBothFormsAndMissing) {
  std::optional<SpecError> error;
  const auto plain = named_route("10.0.0.6:8080", error);
  ASSERT_FALSE(error) << error->message;
  EXPECT_EQ(choose(plain, "https", "h", 443).proxy->port, 8080);
  const auto netsh = named_route("http=a.example:80;https=b.example:443", error);
  ASSERT_FALSE(error) << error->message;
  EXPECT_EQ(choose(netsh, "http", "h", 80).proxy->host, "a.example");
  EXPECT_EQ(choose(netsh, "https", "h", 443).proxy->host, "b.example");
  named_route("ftp=a:1", error);
  EXPECT_TRUE(error);
  const auto missing = missing_route(Method::named, "no named proxy configured");
  EXPECT_FALSE(choose(missing, "https", "h", 443).configured);
}

TEST(ProxyList, NamesCommentsAndBadLines) {
  const auto list = read_proxy_list(
      "# egress points\nparis=http://10.0.0.6:8080\n\n  10.0.0.7:3128  # "
      "bare\nlondon=socks5h://u:p=w@h:1080\nbad=ftp://x:1\n"
      "http://user:p%zz@h:1\n");
  ASSERT_EQ(list.proxies.size(), 3u);
  EXPECT_EQ(list.proxies[0].proxy.name, "paris");
  EXPECT_EQ(list.proxies[0].line, 2);
  EXPECT_EQ(list.proxies[1].proxy.host, "10.0.0.7");
  EXPECT_EQ(list.proxies[2].proxy.name, "london");
  EXPECT_EQ(list.proxies[2].proxy.password, "p=w");
  ASSERT_EQ(list.errors.size(), 2u);
  EXPECT_EQ(list.errors[0].line, 6);
  EXPECT_EQ(list.errors[0].column, 5);
  EXPECT_EQ(list.errors[1].line, 7);
  EXPECT_THAT(list.errors[1].message, Not(HasSubstr("p%zz")));
}
