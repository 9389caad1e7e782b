// route::build: the routes of a RouteConfig, its notes and errors as values, without a command
// line.
#include "route/build.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace urlprobe::route;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

// A file in a folder of its own, removed with it.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    const auto dir = std::filesystem::temp_directory_path() /
                     fmt::format("urlprobe-build-{}-{}", ::getpid(), ++count);
    std::filesystem::create_directories(dir);
    path = dir / "proxy.pac";
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove_all(path.parent_path()); }
  static inline int count = 0;
};

RouteConfig only(Method method) {
  RouteConfig config;
  config.methods = {method};
  return config;
}

}  // namespace

TEST(RouteBuild, DirectIsOneDirectRoute) {
  const auto built = build(only(Method::direct));
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  EXPECT_EQ(built.routes[0].method, Method::direct);
  EXPECT_FALSE(built.routes[0].for_https);
}

TEST(RouteBuild, MethodsInTheirOrderThenTheProxyList) {
  auto config = only(Method::cli);
  config.methods.push_back(Method::direct);
  config.proxy = "cli.example:3128";
  config.proxy_list = {"list.txt", "paris=http://p.example:8080\n", ""};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 3u);
  EXPECT_EQ(built.routes[0].method, Method::cli);
  EXPECT_EQ(built.routes[0].for_https->host, "cli.example");
  EXPECT_EQ(built.routes[1].method, Method::direct);
  EXPECT_EQ(built.routes[2].method, Method::proxy_list);
  EXPECT_EQ(built.routes[2].for_http->name, "paris");
}

TEST(RouteBuild, DefaultReadsTheEnvironmentMap) {
  auto config = only(Method::default_proxy);
  config.environment = {{"https_proxy", "http://s.example:3128"}, {"no_proxy", "skip.example"}};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  EXPECT_EQ(built.routes[0].for_https->host, "s.example");
  EXPECT_TRUE(built.routes[0].bypass.bypass("skip.example", 443));
}

TEST(RouteBuild, BadEnvironmentVariableIsAnErrorNamingIt) {
  auto config = only(Method::default_proxy);
  config.environment = {{"https_proxy", "ftp://x:1"}};
  const auto built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->where, "environment https_proxy");
  EXPECT_EQ(built.error->column, 1);
  EXPECT_EQ(built.error->text(),
            "environment https_proxy: column 1: unsupported proxy scheme 'ftp' (http, https, "
            "socks5, socks5h)");
  EXPECT_TRUE(built.routes.empty());
}

TEST(RouteBuild, NamedBothFormsMissingAndBad) {
  auto config = only(Method::named);
  config.named_proxy = "http=a.example:80;https=b.example:443";
  auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  EXPECT_EQ(built.routes[0].for_http->host, "a.example");
  EXPECT_EQ(built.routes[0].for_https->host, "b.example");

  built = build(only(Method::named));
  ASSERT_FALSE(built.error);
  EXPECT_FALSE(built.routes[0].configured);
  EXPECT_EQ(built.routes[0].not_configured, "no named proxy configured (--named-proxy)");

  config.named_proxy = "http=a:1;ftp=b:2";
  built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->where, "--named-proxy");
  EXPECT_EQ(built.error->column, 10);
  EXPECT_EQ(built.error->text(),
            "--named-proxy: column 10: expected http=HOST:PORT or https=HOST:PORT");
}

TEST(RouteBuild, CliProxyMissingAndBadWithoutItsPassword) {
  auto built = build(only(Method::cli));
  ASSERT_FALSE(built.error);
  EXPECT_EQ(built.routes[0].not_configured, "no command-line proxy given (--proxy)");

  auto config = only(Method::cli);
  config.proxy = "http://u:hunter2@:3128";
  built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->text(), "--proxy: column 18: missing proxy host");
  EXPECT_THAT(built.error->text(), Not(HasSubstr("hunter2")));
}

TEST(RouteBuild, CredentialsFillProxiesWithoutAUser) {
  auto config = only(Method::named);
  config.methods.push_back(Method::cli);
  config.named_proxy = "10.0.0.6:8080";
  config.proxy = "http://bob:own@cli.example:3128";
  config.credentials.user = "alice";
  config.environment = {{"URLPROBE_PROXY_PASSWORD", "from-env"}};
  auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  EXPECT_EQ(built.routes[0].for_https->user, "alice");
  EXPECT_EQ(built.routes[0].for_https->password, "from-env");
  EXPECT_EQ(built.routes[1].for_https->user, "bob");  // a proxy's own user stays
  EXPECT_EQ(built.routes[1].for_https->password, "own");

  config.credentials.password = "typed";  // given explicitly: it wins over the environment
  built = build(config);
  EXPECT_EQ(built.routes[0].for_http->password, "typed");
}

TEST(RouteBuild, ProxyListBadLinesAreSkippedWithTheirPosition) {
  RouteConfig config;
  config.credentials = {"alice", std::string("pw")};
  config.proxy_list = {"proxies.txt",
                       "ok=http://h.example:1\nbad=ftp://x:1\nx=http://u:hunter2@h:99999\n", ""};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  EXPECT_EQ(built.routes[0].for_http->user, "alice");
  ASSERT_EQ(built.skipped.size(), 2u);
  EXPECT_EQ(built.skipped[0].where, "proxies.txt");
  EXPECT_EQ(built.skipped[0].line, 2);
  EXPECT_EQ(built.skipped[0].column, 5);
  EXPECT_THAT(built.skipped[0].text(), StartsWith("proxies.txt:2:5: unsupported proxy scheme"));
  EXPECT_EQ(built.skipped[1].line, 3);
  EXPECT_THAT(built.skipped[1].text(), Not(HasSubstr("hunter2")));
}

TEST(RouteBuild, UnreadableProxyListIsAnErrorAfterTheMethods) {
  RouteConfig config;
  config.proxy_list = {"gone.txt", "", "cannot open gone.txt"};
  auto built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->text(), "--proxies: cannot open gone.txt");

  config.methods = {Method::named};  // a bad method value is met first, as the options are read
  config.named_proxy = "bad host:1";
  built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->where, "--named-proxy");
}

TEST(RouteBuild, NoRouteIsAnError) {
  const auto built = build(RouteConfig{});
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->text(),
            "no route to probe: --methods is empty and --proxies has no usable line");
}

TEST(RouteBuild, WpadWithAPacFileDecidesEveryTarget) {
  const TempFile pac(R"(function FindProxyForURL(url, host) { return "PROXY p.example:3128"; })");
  auto config = only(Method::wpad);
  config.pac = pac.path.string();
  config.client_ip = "10.0.0.9";
  config.targets = {{"https://a.example/", "a.example"}, {"http://b.example/x", "b.example"}};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  ASSERT_TRUE(built.routes[0].pac);
  EXPECT_EQ(built.routes[0].pac->at("https://a.example/").answer, "PROXY p.example:3128");
  ASSERT_EQ(built.notes.size(), 1u);
  EXPECT_THAT(built.notes[0], StartsWith("PAC script: " + config.pac + " (sha256 "));
  EXPECT_THAT(built.notes[0], HasSubstr("2 URL(s) decided in "));
}

TEST(RouteBuild, PacErrorsNameTheScriptAndLine) {
  const TempFile pac("function FindProxyForURL(url, host) {\n  return (;\n}\n");
  auto config = only(Method::wpad);
  config.pac = pac.path.string();
  auto built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->where, config.pac);
  EXPECT_EQ(built.error->line, 2);
  EXPECT_THAT(built.error->text(), StartsWith(config.pac + ":2: SyntaxError"));

  config.pac = pac.path.string() + ".missing";
  built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_EQ(built.error->text(), "--pac " + config.pac + ": cannot open the file");
}

TEST(RouteBuild, WpadDiscoveryWithNothingToTryIsNotConfigured) {
  auto config = only(Method::wpad);
  config.wpad_dhcp_urls = std::vector<std::string>{};
  config.wpad_domains = std::vector<std::string>{};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  EXPECT_FALSE(built.routes[0].configured);
  EXPECT_THAT(built.routes[0].not_configured, StartsWith("WPAD: nothing to try"));
  EXPECT_TRUE(built.notes.empty());
}
