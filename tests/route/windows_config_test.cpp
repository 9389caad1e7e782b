// --winhttp and --registry: netsh's and regedit's exports read into plain values, WinHTTP's
// bypass list, and the routes route::build makes of them.
#include "route/windows_config.hpp"
#include "base/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include <fstream>
#include <sstream>
#include <string>

#include "route/build.hpp"

using namespace urlprobe::route;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(URLPROBE_TESTS_DIR) + "/fixtures/windows/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// As regedit writes: a BOM, then each UTF-16 unit little-endian (ASCII test text only).
std::string utf16le(std::string_view ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

std::string errors_text(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message + "\n";
  return out;
}

}  // namespace

// --- netsh ---------------------------------------------------------------------------------------

TEST(WinHttpRead, DirectAccess) {
  const auto read = read_winhttp(fixture("netsh-direct.txt"));
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  ASSERT_TRUE(read.settings);
  EXPECT_TRUE(read.settings->direct);
  EXPECT_EQ(read.settings->line, 4);
}

TEST(WinHttpRead, OneProxyWithoutBypassList) {
  const auto read = read_winhttp(fixture("netsh-proxy.txt"));
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  ASSERT_TRUE(read.settings);
  EXPECT_FALSE(read.settings->direct);
  EXPECT_EQ(read.settings->proxy_server, "10.0.0.6:8080");
  EXPECT_EQ(read.settings->bypass_list, "");  // "(none)"
  EXPECT_EQ(read.settings->line, 4);
  EXPECT_EQ(read.settings->bypass_line, 5);
}

TEST(WinHttpRead, PerSchemeProxies) {
  const auto read = read_winhttp(fixture("netsh-per-scheme.txt"));
  ASSERT_TRUE(read.settings) << errors_text(read.errors);
  std::optional<urlprobe::route::SpecError> error;
  const auto servers = parse_winhttp_servers(read.settings->proxy_server, error);
  ASSERT_FALSE(error) << error->message;
  ASSERT_TRUE(servers.http && servers.https);
  EXPECT_EQ(servers.http->host, "proxy.contoso.com");
  EXPECT_EQ(servers.http->port, 3128);
  EXPECT_EQ(servers.https->host, "secure-proxy.contoso.com");
  EXPECT_EQ(servers.https->port, 3129);
}

TEST(WinHttpRead, BypassListAsShown) {
  const auto read = read_winhttp(fixture("netsh-bypass.txt"));
  ASSERT_TRUE(read.settings) << errors_text(read.errors);
  EXPECT_EQ(read.settings->bypass_list, "<local>;*.contoso.com;10.*;*.blob.core.windows.net");
  EXPECT_THAT(WinHttpBypass(read.settings->bypass_list).entries(),
              ElementsAre("<local>", "*.contoso.com", "10.*", "*.blob.core.windows.net"));
}

TEST(WinHttpRead, DumpSetProxy) {
  const auto read = read_winhttp(fixture("netsh-dump.txt"));
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  ASSERT_TRUE(read.settings);
  EXPECT_FALSE(read.settings->direct);
  EXPECT_EQ(read.settings->proxy_server,
            "http=proxy.contoso.com:3128;https=proxy.contoso.com:3128");
  EXPECT_EQ(read.settings->bypass_list, "<local>;*.corp.contoso.com");
  EXPECT_EQ(read.settings->line, 8);
}

TEST(WinHttpRead, DumpResetProxyIsDirect) {
  const auto read = read_winhttp(fixture("netsh-dump-reset.txt"));
  ASSERT_TRUE(read.settings) << errors_text(read.errors);
  EXPECT_TRUE(read.settings->direct);
  EXPECT_EQ(read.settings->line, 8);
}

TEST(WinHttpRead, Utf16FromPowerShell) {
  const auto read = read_winhttp(fixture("netsh-proxy-utf16.txt"));
  ASSERT_TRUE(read.settings) << errors_text(read.errors);
  EXPECT_EQ(read.settings->proxy_server, "10.0.0.6:8080");
  EXPECT_EQ(read.settings->bypass_list, "<local>");
}

TEST(WinHttpRead, SetProxyCommandLinePositional) {
  const auto read = read_winhttp("netsh winhttp set proxy myproxy:80 \"<local>;bar\"\r\n");
  ASSERT_TRUE(read.settings) << errors_text(read.errors);
  EXPECT_EQ(read.settings->proxy_server, "myproxy:80");
  EXPECT_EQ(read.settings->bypass_list, "<local>;bar");
}

TEST(WinHttpRead, NothingRecognisedIsAnError) {
  const auto read =
      read_winhttp("Aktuelle WinHTTP-Proxyeinstellungen:\r\n\r\n    Direkter Zugriff\r\n");
  EXPECT_FALSE(read.settings);
  ASSERT_EQ(read.errors.size(), 1u);
  EXPECT_EQ(read.errors[0].line, 0);
  EXPECT_THAT(read.errors[0].message, HasSubstr("netsh winhttp show proxy"));
}

TEST(WinHttpRead, BadProxyServerIsLocated) {
  const auto read = read_winhttp(
      "\r\nCurrent WinHTTP proxy settings:\r\n\r\n"
      "    Proxy Server(s) :  proxy.contoso.com:99999\r\n");
  ASSERT_EQ(read.errors.size(), 1u) << errors_text(read.errors);
  EXPECT_EQ(read.errors[0].line, 4);
  EXPECT_GE(read.errors[0].column, 23);  // inside the value, not the label
  EXPECT_THAT(read.errors[0].message, HasSubstr("proxy server list"));
}

TEST(WinHttpRead, TwoSettingsAreAnError) {
  const auto read = read_winhttp("reset proxy\r\nset proxy proxy-server=\"a:1\"\r\n");
  ASSERT_EQ(read.errors.size(), 1u);
  EXPECT_EQ(read.errors[0].line, 2);
  EXPECT_THAT(read.errors[0].message, HasSubstr("line 1"));
}

TEST(WinHttpServers, DefaultPortsAndIgnoredSchemes) {
  std::optional<urlprobe::route::SpecError> error;
  const auto servers = parse_winhttp_servers("ftp=ftp.contoso.com:21 proxy.contoso.com", error);
  ASSERT_FALSE(error) << error->message;
  ASSERT_TRUE(servers.http && servers.https);
  EXPECT_EQ(servers.http->port, 80);  // WinHTTP's default, not curl's 1080
  EXPECT_EQ(servers.https->host, "proxy.contoso.com");
  EXPECT_THAT(servers.ignored, ElementsAre("ftp=ftp.contoso.com:21"));
}

TEST(WinHttpServers, HttpOnlyLeavesHttpsDirect) {
  std::optional<urlprobe::route::SpecError> error;
  const auto servers = parse_winhttp_servers("http=p.contoso.com:3128", error);
  ASSERT_FALSE(error);
  EXPECT_TRUE(servers.http);
  EXPECT_FALSE(servers.https);
}

// --- the bypass list
// -------------------------------------------------------------------------------

TEST(WinHttpBypassMatch, LocalIsNamesWithoutADot) {
  const WinHttpBypass bypass("<local>");
  ASSERT_NE(bypass.match("https", "intranet", 443), nullptr);
  EXPECT_EQ(*bypass.match("https", "intranet", 443), "<local>");
  EXPECT_EQ(bypass.match("https", "intranet.contoso.com", 443), nullptr);
  EXPECT_EQ(bypass.match("https", "10.0.0.1", 443), nullptr);
  EXPECT_EQ(bypass.match("https", "::1", 443), nullptr);  // an address, not a name
}

TEST(WinHttpBypassMatch, WildcardsAndWhichEntry) {
  const WinHttpBypass bypass("*.contoso.com; 10.* *.blob.core.windows.net");
  const auto* entry = bypass.match("https", "winatp-gw-eus.Contoso.COM", 443);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(*entry, "*.contoso.com");
  EXPECT_EQ(bypass.match("https", "contoso.com", 443), nullptr);  // "*." needs a label
  ASSERT_NE(bypass.match("http", "10.1.2.3", 80), nullptr);
  EXPECT_EQ(*bypass.match("http", "10.1.2.3", 80), "10.*");
  EXPECT_EQ(bypass.match("http", "110.1.2.3", 80), nullptr);
  EXPECT_EQ(*bypass.match("https", "ussus1eastprod.blob.core.windows.net", 443),
            "*.blob.core.windows.net");
  EXPECT_EQ(bypass.match("https", "events.data.microsoft.com", 443), nullptr);
}

TEST(WinHttpBypassMatch, SchemeAndPortLimitAnEntry) {
  const WinHttpBypass bypass("https://secure.contoso.com;*.fabrikam.com:8080");
  EXPECT_NE(bypass.match("https", "secure.contoso.com", 443), nullptr);
  EXPECT_EQ(bypass.match("http", "secure.contoso.com", 80), nullptr);
  EXPECT_NE(bypass.match("http", "a.fabrikam.com", 8080), nullptr);
  EXPECT_EQ(bypass.match("http", "a.fabrikam.com", 80), nullptr);
}

TEST(WinHttpBypassMatch, CommasSplitOnlyWhenAsked) {
  EXPECT_THAT(WinHttpBypass("a.com,b.com").entries(), ElementsAre("a.com,b.com"));
  EXPECT_THAT(WinHttpBypass("a.com,b.com", true).entries(), ElementsAre("a.com", "b.com"));
}

TEST(WinHttpBypassMatch, WildcardMatchHasNoBlowUp) {
  EXPECT_TRUE(urlprobe::base::glob_match("*a*a*a*a*a*b", std::string(60, 'a') + "b"));
  EXPECT_FALSE(urlprobe::base::glob_match("*a*a*a*a*a*b", std::string(5000, 'a')));
  EXPECT_TRUE(urlprobe::base::glob_match("*", ""));
  EXPECT_FALSE(urlprobe::base::glob_match("a", ""));
}

// --- .reg files ----------------------------------------------------------------------------------

TEST(RegFile, Utf16LeWithBomAndCrlfAsRegeditWritesIt) {
  const auto bytes = fixture("policy-utf16.reg");
  ASSERT_TRUE(bytes.starts_with("\xFF\xFE"));
  const auto read = read_reg_file(bytes);
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  const auto& p = read.policy;
  ASSERT_TRUE(p.telemetry_proxy_server);
  EXPECT_EQ(p.telemetry_proxy_server->text, "10.0.0.6:8080");
  EXPECT_EQ(p.telemetry_proxy_server->line, 5);
  EXPECT_TRUE(p.enterprise_auth_proxy_disabled());
  ASSERT_TRUE(p.defender_proxy_server);
  EXPECT_EQ(p.defender_proxy_server->text, "http://10.0.0.7:3128");
  ASSERT_TRUE(p.defender_bypass);
  EXPECT_EQ(p.defender_bypass->text, "intranet.contoso.com;*.corp.contoso.com");
  EXPECT_FALSE(p.defender_pac_url);
}

TEST(RegFile, Utf8Regedit4WithEscapedQuotes) {
  const auto read = read_reg_file(fixture("policy-utf8.reg"));
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  ASSERT_TRUE(read.policy.defender_pac_url);
  EXPECT_EQ(read.policy.defender_pac_url->text, "http://pac.contoso.com/proxy.pac");
  const auto escaped = read_reg_file(
      "\xEF\xBB\xBFWindows Registry Editor Version 5.00\r\n\r\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender]\r\n"
      "\"ProxyBypass\"=\"say \\\"hi\\\";back\\\\slash\"\r\n");
  ASSERT_TRUE(escaped.errors.empty()) << errors_text(escaped.errors);
  EXPECT_EQ(escaped.policy.defender_bypass->text, "say \"hi\";back\\slash");
}

TEST(RegFile, GeneratedUtf16KeysAndValuesIgnoreCase) {
  const auto read = read_reg_file(
      utf16le("Windows Registry Editor Version 5.00\r\n\r\n"
              "[hkey_local_machine\\software\\policies\\microsoft\\windows\\datacollection]\r\n"
              "\"telemetryproxyserver\"=\"proxy.contoso.com:3128\"\r\n"
              "\"disableenterpriseauthproxy\"=dword:00000000\r\n"));
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  EXPECT_EQ(read.policy.telemetry_proxy_server->text, "proxy.contoso.com:3128");
  EXPECT_FALSE(read.policy.enterprise_auth_proxy_disabled());
}

TEST(RegFile, HexContinuationsAndHexStrings) {
  // "p:1" as REG_EXPAND_SZ (hex(2), UTF-16LE, NUL-terminated), continued over two lines.
  const auto read = read_reg_file(
      "Windows Registry Editor Version 5.00\r\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection]\r\n"
      "\"TelemetryProxyServer\"=hex(2):70,00,3a,00,\\\r\n"
      "  31,00,00,00\r\n"
      "\"DisableEnterpriseAuthProxy\"=hex(4):01,00,00,00\r\n"
      "\"Other\"=dword:00000002\r\n");
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  EXPECT_EQ(read.policy.telemetry_proxy_server->text, "p:1");
  EXPECT_EQ(read.policy.telemetry_proxy_server->line, 3);
  EXPECT_TRUE(read.policy.enterprise_auth_proxy_disabled());
}

TEST(RegFile, DeletionsAndLaterLinesWin) {
  const auto read = read_reg_file(
      "REGEDIT4\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender]\n"
      "\"ProxyServer\"=\"http://old:1\"\n"
      "\"ProxyServer\"=\"http://new:2\"\n"
      "\"ProxyBypass\"=\"x\"\n"
      "\"ProxyBypass\"=-\n"
      "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection]\n");
  ASSERT_TRUE(read.errors.empty()) << errors_text(read.errors);
  EXPECT_EQ(read.policy.defender_proxy_server->text, "http://new:2");
  EXPECT_FALSE(read.policy.defender_bypass);
}

TEST(RegFile, MalformedLinesAreLocatedAndTheRestIsRead) {
  const auto read = read_reg_file(
      "Windows Registry Editor Version 5.00\r\n"                                          // 1
      "\r\n"                                                                              // 2
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection]\r\n"  // 3
      "\"TelemetryProxyServer\"=\"unterminated\r\n"                                       // 4
      "this is not a value\r\n"                                                           // 5
      "\"DisableEnterpriseAuthProxy\"=dword:0000000G\r\n"                                 // 6
      "\"DisableEnterpriseAuthProxy\"=\"1\"\r\n"                                          // 7
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\r\n"          // 8
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender]\r\n"         // 9
      "\"ProxyServer\"=\"http://10.0.0.7:3128\"\r\n");                                    // 10
  std::vector<int> lines;
  for (const auto& e : read.errors) lines.push_back(e.line);
  EXPECT_THAT(lines, ElementsAre(4, 5, 6, 7, 8)) << errors_text(read.errors);
  EXPECT_THAT(read.errors[3].message, HasSubstr("DWORD"));
  EXPECT_EQ(read.errors[1].column, 1);
  ASSERT_TRUE(read.policy.defender_proxy_server);  // line 10 still read
}

TEST(RegFile, NotARegFile) {
  const auto read = read_reg_file("Current WinHTTP proxy settings:\r\n");
  ASSERT_EQ(read.errors.size(), 1u);
  EXPECT_EQ(read.errors[0].line, 1);
  EXPECT_THAT(read.errors[0].message, HasSubstr("REGEDIT4"));
  EXPECT_EQ(read_reg_file("\xFF\xFEW").errors.size(), 1u);  // odd UTF-16
}

// --- the routes they make ----------------------------------------------------------------------

TEST(WindowsRoutes, WinHttpIsRouteDefaultWithItsBypassList) {
  RouteConfig config;
  config.methods = {Method::default_proxy};
  config.environment = {{"https_proxy", "http://env.example:1"}};  // --winhttp replaces it
  config.winhttp = {"proxy.txt", read_winhttp(fixture("netsh-bypass.txt")).settings};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 1u);
  const auto& r = built.routes[0];
  EXPECT_EQ(r.method, Method::default_proxy);
  ASSERT_TRUE(r.for_https);
  EXPECT_EQ(r.for_https->host, "proxy.contoso.com");
  const auto bypassed = choose(r, "https", "winatp-gw-eus.contoso.com", 443);
  EXPECT_FALSE(bypassed.proxy);
  ASSERT_TRUE(bypassed.bypassed_by);
  EXPECT_EQ(*bypassed.bypassed_by, "*.contoso.com");
  const auto proxied = choose(r, "https", "events.data.microsoft.com", 443);
  ASSERT_TRUE(proxied.proxy);
  EXPECT_FALSE(proxied.bypassed_by);
  ASSERT_GE(built.imported.size(), 2u);
  EXPECT_EQ(built.imported[0].setting, "Proxy Server(s)");
  EXPECT_EQ(built.imported[0].line, 4);
  EXPECT_THAT(built.imported[0].use, HasSubstr("route default"));
  EXPECT_EQ(built.imported[1].setting, "Bypass List");
}

TEST(WindowsRoutes, RegistryGivesNamedAndDefender) {
  RouteConfig config;
  config.methods = {Method::direct, Method::named};
  config.registry = {"policy.reg", read_reg_file(fixture("policy-utf16.reg")).policy};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_EQ(built.routes.size(), 3u);  // defender follows the methods
  EXPECT_EQ(built.routes[1].method, Method::named);
  ASSERT_TRUE(built.routes[1].for_https);
  EXPECT_EQ(built.routes[1].for_https->host, "10.0.0.6");
  const auto& defender = built.routes[2];
  EXPECT_EQ(defender.method, Method::defender);
  ASSERT_TRUE(defender.for_https);
  EXPECT_EQ(defender.for_https->port, 3128);
  const auto hop = choose(defender, "https", "a.corp.contoso.com", 443);
  ASSERT_TRUE(hop.bypassed_by);
  EXPECT_EQ(*hop.bypassed_by, "*.corp.contoso.com");
  bool auth_note = false;
  for (const auto& s : built.imported)
    auth_note = auth_note || (s.setting == "DisableEnterpriseAuthProxy" && s.line == 6);
  EXPECT_TRUE(auth_note);
}

// DisableEnterpriseAuthProxy=1: the sensor's routes go without credentials, so that a proxy
// demanding them shows as the 407 the sensor meets; the antivirus's route and the egress points
// under test keep them.
TEST(WindowsRoutes, DisabledEnterpriseAuthSendsNoCredentialsOnTheSensorsRoutes) {
  RouteConfig config;
  config.methods = {Method::default_proxy, Method::named, Method::cli};
  config.environment = {{"https_proxy", "http://envuser:envpass@127.0.0.1:3128"}};
  config.proxy = "http://cliuser:clipass@127.0.0.1:3129";
  config.credentials = {"probe", std::string("secret")};
  config.proxy_list = {"egress.txt", "paris=http://127.0.0.1:3130\n", ""};
  config.registry = {"policy.reg", read_reg_file(fixture("policy-utf16.reg")).policy};
  ASSERT_TRUE(config.registry.policy.enterprise_auth_proxy_disabled());
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  std::map<Method, const Route*> by_method;
  for (const auto& r : built.routes) by_method[r.method] = &r;
  for (const auto m : {Method::default_proxy, Method::named, Method::cli}) {
    ASSERT_TRUE(by_method[m] && by_method[m]->for_https) << method_name(m);
    EXPECT_EQ(by_method[m]->for_https->user, "") << method_name(m);
    EXPECT_EQ(by_method[m]->for_https->password, "") << method_name(m);
  }
  for (const auto m : {Method::defender, Method::proxy_list}) {
    ASSERT_TRUE(by_method[m] && by_method[m]->for_https) << method_name(m);
    EXPECT_EQ(by_method[m]->for_https->user, "probe") << method_name(m);
  }
  EXPECT_THAT(built.notes, ::testing::Contains(AllOf(
                               HasSubstr("DisableEnterpriseAuthProxy is 1 (policy.reg:6)"),
                               HasSubstr("routes default, named, cli probed without proxy"))));

  config.registry.policy.disable_enterprise_auth_proxy.reset();  // the sensor may authenticate
  const auto authenticating = build(config);
  ASSERT_FALSE(authenticating.error) << authenticating.error->text();
  for (const auto& r : authenticating.routes)
    if (r.method == Method::named || r.method == Method::cli) {
      ASSERT_TRUE(r.for_https);
      EXPECT_NE(r.for_https->user, "") << method_name(r.method);
    }
}

TEST(WindowsRoutes, NamedProxyFlagWinsOverTheRegistry) {
  RouteConfig config;
  config.methods = {Method::named};
  config.named_proxy = "flag.example:8080";
  config.registry = {"policy.reg", read_reg_file(fixture("policy-utf16.reg")).policy};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  EXPECT_EQ(built.routes[0].for_https->host, "flag.example");
}

TEST(WindowsRoutes, BadTelemetryProxyServerNamesTheFileAndLine) {
  RouteConfig config;
  config.methods = {Method::named};
  config.registry = {"policy.reg", read_reg_file("REGEDIT4\n"
                                                 "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\"
                                                 "Microsoft\\Windows\\DataCollection]\n"
                                                 "\"TelemetryProxyServer\"=\"no-port\"\n")
                                       .policy};
  const auto built = build(config);
  ASSERT_TRUE(built.error);
  EXPECT_THAT(built.error->text(), ::testing::StartsWith("policy.reg:3: TelemetryProxyServer"));
}

TEST(WindowsRoutes, DefenderNamedWithoutRegistryIsNotConfigured) {
  RouteConfig config;
  config.methods = {Method::defender};
  const auto built = build(config);
  ASSERT_FALSE(built.error);
  ASSERT_EQ(built.routes.size(), 1u);
  EXPECT_FALSE(built.routes[0].configured);
  EXPECT_THAT(built.routes[0].not_configured, HasSubstr("--registry"));
}

TEST(WindowsRoutes, PasswordsInImportedValuesNeverReachOutput) {
  const std::string password = "s3cr3t-Pa55";
  RouteConfig config;
  config.methods = {Method::default_proxy, Method::named};
  config.winhttp = {"proxy.txt",
                    read_winhttp("    Proxy Server(s) :  http://probe:" + password +
                                 "@proxy.contoso.com:3128\r\n    Bypass List     :  (none)\r\n")
                        .settings};
  config.registry = {
      "policy.reg", read_reg_file("REGEDIT4\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\"
                                  "Windows\\DataCollection]\r\n\"TelemetryProxyServer\"=\"http://"
                                  "probe:" +
                                  password + "@10.0.0.6:8080\"\r\n")
                        .policy};
  const auto built = build(config);
  ASSERT_FALSE(built.error) << built.error->text();
  ASSERT_FALSE(built.imported.empty());
  for (const auto& s : built.imported) {
    EXPECT_THAT(s.value, Not(HasSubstr(password))) << s.setting;
    EXPECT_THAT(s.use, Not(HasSubstr(password))) << s.setting;
  }
  // A malformed value is named by file and line, never shown.
  config.registry.policy.telemetry_proxy_server->text = "http://probe:" + password + "@";
  const auto bad = build(config);
  ASSERT_TRUE(bad.error);
  EXPECT_THAT(bad.error->text(), Not(HasSubstr(password)));
}
