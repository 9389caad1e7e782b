// Egress routes: the ways a probe can leave this machine.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "route/bypass.hpp"
#include "route/proxy.hpp"

namespace urlprobe::route {

// The analyzer's five methods, numbered as it prints them, plus entries of a proxy list, and
// the antivirus's own proxy (the Defender policy's ProxyServer / ProxyPacUrl, from --registry).
enum class Method {
  default_proxy = 1,
  wpad = 2,
  direct = 3,
  named = 4,
  cli = 5,
  proxy_list = 6,
  defender = 7
};

// What a PAC script answered for one URL: the fail-over chain to walk, in order.
struct PacDecision {
  std::string answer;                           // as the script returned it
  std::vector<std::optional<ProxySpec>> chain;  // empty optional: DIRECT
  std::string error;                            // the script failed for this URL
  std::string warning;  // the answer stands, but something cut it short (DNS lookups)
  double ms = 0;        // how long the evaluation that gave this answer took, its lookups included
};
using PacDecisions = std::unordered_map<std::string, PacDecision>;  // by target URL

// A route as configured: which proxy serves http and https targets, and what bypasses it.
struct Route {
  Method method = Method::direct;
  std::optional<ProxySpec> for_http, for_https;  // none: direct
  NoProxy bypass;
  WinHttpBypass winhttp_bypass;  // WinHTTP's list (--winhttp, Defender's ProxyBypass)
  bool configured = true;
  std::string not_configured;               // why, when !configured ("no --named-proxy given")
  std::shared_ptr<const PacDecisions> pac;  // route wpad: decided per URL before the sweep
};

// What a route means for one target: direct, through a proxy, or not there at all.
struct Hop {
  bool configured = true;
  std::string reason;                // when !configured
  const ProxySpec* proxy = nullptr;  // null: direct; points into the Route
  const PacDecision* pac = nullptr;  // a PAC chain to walk instead (proxy is its first entry)
  const std::string* bypassed_by = nullptr;  // the WinHTTP bypass entry that sent it direct
};
Hop choose(const Route& route, std::string_view scheme, std::string_view host, std::uint16_t port,
           std::string_view url = {});

Route direct_route();
Route default_route(const EnvironmentProxy& environment);
// host:port or http=h:p;https=h:p; a column in `error` counts from the start of `value`.
Route named_route(std::string_view value, std::optional<SpecError>& error);
Route proxy_route(Method method, ProxySpec proxy);  // cli and list entries
Route missing_route(Method method, std::string reason);

// --proxies FILE: one proxy a line (URL or host:port, optional "name=" prefix, '#' comments).
struct ProxyListError {
  int line = 0, column = 0;
  std::string message;  // never contains the line's text: it may hold a password
};
struct ProxyList {
  struct Entry {
    int line = 0;
    ProxySpec proxy;
  };
  std::vector<Entry> proxies;
  std::vector<ProxyListError> errors;
};
ProxyList read_proxy_list(std::string_view text);

// "default", "wpad", "direct", "named", "cli", "proxy", "defender"
std::string_view method_name(Method m);
std::string_view method_title(Method m);  // the analyzer's words: "Proxy disabled", ...
std::optional<Method> parse_method(std::string_view name);

}  // namespace urlprobe::route
