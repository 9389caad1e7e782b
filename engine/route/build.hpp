// The sweep's routes from plain settings: the one place where methods, proxies, a proxy list,
// credentials, the environment and a PAC script become routes. The command line, a reloaded
// configuration or an imported one (netsh output, .reg files) fill a RouteConfig; nothing here
// prints or exits.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/resolver.hpp"
#include "route/route.hpp"
#include "route/windows_config.hpp"
#include "route/wpad.hpp"

namespace urlprobe::route {

// The settings are named as urlprobe's options name them ("--proxy"), in errors and reasons too.
struct RouteConfig {
  std::vector<Method> methods;  // in the order their routes come
  // The *_proxy variables (curl's semantics) and URLPROBE_PROXY_PASSWORD.
  std::map<std::string, std::string> environment;
  std::string named_proxy;  // route named: HOST:PORT or http=h:p;https=h:p (empty: not configured)
  std::string proxy;        // route cli: one proxy (empty: not configured)

  // Routes after the methods', one per usable line (route::read_proxy_list).
  struct ProxyList {
    std::string name;        // the file: errors are located in it; empty: no list
    std::string text;        // its contents
    std::string unreadable;  // why it could not be read: an error once the methods are built
  } proxy_list;

  // Fill in proxies given without a user of their own.
  struct Credentials {
    std::string user;
    std::optional<std::string> password;  // none: the environment's URLPROBE_PROXY_PASSWORD
  } credentials;

  // Route wpad: the script at `pac`, else WPAD discovery from these (none: this host's).
  std::string pac;  // FILE|URL
  std::optional<std::vector<std::string>> wpad_dhcp_urls, wpad_domains;
  std::string client_ip;  // what myIpAddress() answers; empty: local_address()
  net::ResolverConfig dns;
  std::chrono::milliseconds fetch_deadline{10000};  // per PAC script fetched
  std::vector<PacTarget> targets;                   // decided by the script before the sweep

  // Imported Windows configuration (route/windows_config.hpp), read by the caller; `file` names
  // it in errors and in `BuiltRoutes::imported`.
  // --winhttp: route default as WinHTTP uses it, instead of the environment's proxy variables.
  struct WinHttp {
    std::string file;
    std::optional<WinHttpSettings> settings;
  } winhttp;
  // --registry: TelemetryProxyServer is route named's proxy unless named_proxy is given; the
  // Defender policy's proxy is route defender, which follows the methods unless they name it.
  struct Registry {
    std::string file;
    RegistryPolicy policy;
  } registry;
};

// A setting of an imported file and what it became, for --verbose and the run's metadata.
// Proxies are redacted.
struct ImportedSetting {
  std::string file;
  int line = 0;
  std::string setting;  // "Proxy Server(s)", "TelemetryProxyServer", ...
  std::string value;    // as understood
  std::string use;      // "route default: http and https via http://proxy:8080", ...
};

// What is wrong, located: an option ("--proxy"), a variable ("environment https_proxy"), or a
// file or URL with its line (and column). Never holds a password.
struct RouteError {
  std::string where;
  int line = 0;    // 1-based; 0: not in a file
  int column = 0;  // 1-based; 0: unknown
  std::string message;
  // "where:line:column: message", "where: column N: message", "where: message" or the message.
  std::string text() const;
};

struct BuiltRoutes {
  std::vector<Route> routes;
  std::vector<std::string> notes;         // for the summary: which PAC script decided, and its cost
  std::vector<RouteError> skipped;        // bad lines of the proxy list; the others are routes
  std::optional<RouteError> error;        // the first wrong setting: then there are no routes
  std::vector<ImportedSetting> imported;  // what --winhttp and --registry set, in that order
};

// Loads and runs the PAC script or WPAD discovery when route wpad is asked for (network).
BuiltRoutes build(const RouteConfig& config);

}  // namespace urlprobe::route
