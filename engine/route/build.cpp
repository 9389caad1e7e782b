#include "route/build.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "route/pac.hpp"

namespace urlprobe::route {

std::string RouteError::text() const {
  std::string located = where;
  if (line > 0) {
    located += fmt::format(":{}", line);
    if (column > 0) located += fmt::format(":{}", column);
  }
  const std::string body =
      line == 0 && column > 0 ? fmt::format("column {}: {}", column, message) : message;
  return located.empty() ? body : located + ": " + body;
}

namespace {

class Builder {
 public:
  explicit Builder(const RouteConfig& config) : config_(config) {
    user_ = config.credentials.user;
    if (config.credentials.password) {
      password_ = *config.credentials.password;
    } else if (auto it = config.environment.find("URLPROBE_PROXY_PASSWORD");
               it != config.environment.end()) {
      password_ = it->second;
    }
  }

  BuiltRoutes run() && {
    auto methods = config_.methods;
    const auto& policy = config_.registry.policy;
    if ((policy.defender_proxy_server || policy.defender_pac_url) &&
        std::find(methods.begin(), methods.end(), Method::defender) == methods.end())
      methods.push_back(Method::defender);
    describe_imports();
    for (const auto method : methods)
      if (auto error = add(method)) return failed(std::move(*error));
    if (auto error = add_list()) return failed(std::move(*error));
    if (policy.enterprise_auth_proxy_disabled()) probe_as_the_sensor_authenticates();
    if (out_.routes.empty())
      return failed(
          {{}, 0, 0, "no route to probe: --methods is empty and --proxies has no usable line"});
    return std::move(out_);
  }

 private:
  static BuiltRoutes failed(RouteError error) {
    BuiltRoutes out;
    out.error = std::move(error);
    return out;
  }

  // DisableEnterpriseAuthProxy=1: the sensor sends no proxy credentials, so its routes must not
  // either; an "ok" that only urlprobe's credentials earned would hide the 407 the sensor meets.
  // Route defender is the antivirus (the policy is the sensor's), and --proxies entries are
  // egress points under test, not the sensor's configuration: both keep theirs.
  void probe_as_the_sensor_authenticates() {
    std::vector<std::string> stripped;
    for (auto& r : out_.routes) {
      if (r.method != Method::default_proxy && r.method != Method::named && r.method != Method::cli)
        continue;
      bool had = false;
      for (auto* proxy : {&r.for_http, &r.for_https})
        if (*proxy && !(*proxy)->user.empty()) {
          (*proxy)->user.clear();
          (*proxy)->password.clear();
          had = true;
        }
      if (had) stripped.emplace_back(method_name(r.method));
    }
    if (!stripped.empty())
      out_.notes.push_back(fmt::format(
          "DisableEnterpriseAuthProxy is 1 ({}:{}): route{} {} probed without proxy credentials, "
          "as the sensor would be",
          config_.registry.file, config_.registry.policy.disable_enterprise_auth_proxy->line,
          stripped.size() == 1 ? "" : "s", fmt::join(stripped, ", ")));
  }

  // Proxies given without a user of their own get the configured credentials.
  void credit(std::optional<ProxySpec>& proxy) const {
    if (proxy && proxy->user.empty() && !user_.empty()) {
      proxy->user = user_;
      proxy->password = password_;
    }
  }

  std::optional<RouteError> add(Method method) {
    switch (method) {
      case Method::default_proxy: {
        if (config_.winhttp.settings) return add_winhttp();
        const auto environment = read_environment_proxy(config_.environment);
        if (!environment.errors.empty()) {
          const auto& e = environment.errors.front();
          return RouteError{"environment " + e.variable, 0, e.spec.column, e.spec.message};
        }
        out_.routes.push_back(default_route(environment));
        return std::nullopt;
      }
      case Method::wpad:
        return add_wpad();
      case Method::direct:
        out_.routes.push_back(direct_route());
        return std::nullopt;
      case Method::named: {
        const auto& telemetry = config_.registry.policy.telemetry_proxy_server;
        const bool from_registry = config_.named_proxy.empty() && telemetry;
        if (config_.named_proxy.empty() && !from_registry) {
          out_.routes.push_back(missing_route(method, "no named proxy configured (--named-proxy)"));
          return std::nullopt;
        }
        std::optional<SpecError> error;
        auto named = named_route(from_registry ? telemetry->text : config_.named_proxy, error);
        if (error && from_registry)
          return RouteError{config_.registry.file, telemetry->line, 0,
                            fmt::format("TelemetryProxyServer: column {} of the value: {}",
                                        error->column, error->message)};
        if (error) return RouteError{"--named-proxy", 0, error->column, error->message};
        credit(named.for_http);
        credit(named.for_https);
        out_.routes.push_back(std::move(named));
        return std::nullopt;
      }
      case Method::cli: {
        if (config_.proxy.empty()) {
          out_.routes.push_back(missing_route(method, "no command-line proxy given (--proxy)"));
          return std::nullopt;
        }
        auto parsed = parse_proxy_spec(config_.proxy);
        if (auto* e = std::get_if<SpecError>(&parsed))
          return RouteError{"--proxy", 0, e->column, e->message};
        std::optional<ProxySpec> proxy = std::get<ProxySpec>(std::move(parsed));
        credit(proxy);
        out_.routes.push_back(proxy_route(method, std::move(*proxy)));
        return std::nullopt;
      }
      case Method::proxy_list:
        return std::nullopt;
      case Method::defender:
        return add_defender();
    }
    return std::nullopt;
  }

  std::optional<RouteError> add_winhttp() {
    const auto& w = *config_.winhttp.settings;
    Route r;
    r.method = Method::default_proxy;
    if (!w.direct) {
      std::optional<SpecError> error;
      auto servers = parse_winhttp_servers(w.proxy_server, error);
      if (error)
        return RouteError{config_.winhttp.file, w.line, 0,
                          fmt::format("proxy server list: {}", error->message)};
      r.for_http = std::move(servers.http);
      r.for_https = std::move(servers.https);
      credit(r.for_http);
      credit(r.for_https);
      r.winhttp_bypass = WinHttpBypass(w.bypass_list);
    }
    out_.routes.push_back(std::move(r));
    return std::nullopt;
  }

  std::optional<RouteError> add_defender() {
    const auto& policy = config_.registry.policy;
    const auto& file = config_.registry.file;
    if (policy.defender_pac_url) {
      const auto& url = *policy.defender_pac_url;
      PacSource source;
      try {
        source = load_pac(url.text, config_.dns, config_.fetch_deadline);
      } catch (const std::exception& e) {
        return RouteError{file, url.line, 0, fmt::format("ProxyPacUrl: {}", e.what())};
      }
      return add_pac_route(Method::defender, source, "Defender ProxyPacUrl: ");
    }
    if (!policy.defender_proxy_server) {
      out_.routes.push_back(missing_route(
          Method::defender,
          "no Defender Antivirus proxy (--registry FILE with ProxyServer or ProxyPacUrl under "
          "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender)"));
      return std::nullopt;
    }
    const auto& server = *policy.defender_proxy_server;
    auto parsed = parse_proxy_spec(server.text);
    if (auto* e = std::get_if<SpecError>(&parsed))
      return RouteError{
          file, server.line, 0,
          fmt::format("ProxyServer: column {} of the value: {}", e->column, e->message)};
    std::optional<ProxySpec> proxy = std::get<ProxySpec>(std::move(parsed));
    credit(proxy);
    auto r = proxy_route(Method::defender, std::move(*proxy));
    if (policy.defender_bypass)
      r.winhttp_bypass = WinHttpBypass(policy.defender_bypass->text, /*commas=*/true);
    out_.routes.push_back(std::move(r));
    return std::nullopt;
  }

  // What the imported files set, and which route or check each value became.
  void describe_imports() {
    auto add = [&](const std::string& file, int line, std::string setting, std::string value,
                   std::string use) {
      out_.imported.push_back({file, line, std::move(setting), std::move(value), std::move(use)});
    };
    auto via = [](const std::optional<ProxySpec>& p) {
      return p ? "via " + p->redacted() : std::string("direct");
    };
    if (const auto& w = config_.winhttp.settings) {
      const auto& file = config_.winhttp.file;
      if (w->direct) {
        add(file, w->line, "WinHTTP proxy", "Direct access (no proxy server)",
            "route default goes direct");
      } else {
        std::optional<SpecError> error;
        const auto servers = parse_winhttp_servers(w->proxy_server, error);
        if (!error) {
          std::string use = servers.http && servers.https && *servers.http == *servers.https
                                ? "route default: http and https " + via(servers.http)
                                : fmt::format("route default: http {}, https {}", via(servers.http),
                                              via(servers.https));
          for (const auto& ignored : servers.ignored)
            use += fmt::format("; '{}' ignored (not http or https)", redacted_value(ignored));
          add(file, w->line, "Proxy Server(s)", redacted_value(w->proxy_server), std::move(use));
        }
        const WinHttpBypass bypass(w->bypass_list);
        const auto entries = bypass.entries();
        std::string list;
        for (const auto& e : entries) list += (list.empty() ? "" : ";") + e;
        const bool commas = list.find(',') != std::string::npos;
        add(file, w->bypass_line ? w->bypass_line : w->line, "Bypass List",
            entries.empty() ? "(none)" : list,
            entries.empty()
                ? "no target bypasses the proxy"
                : fmt::format("{} entr{}: a target matching one goes direct{}", entries.size(),
                              entries.size() == 1 ? "y" : "ies",
                              commas ? " (',' separates nothing for WinHTTP: use ';')" : ""));
      }
    }
    const auto& p = config_.registry.policy;
    const auto& file = config_.registry.file;
    if (p.telemetry_proxy_server)
      add(file, p.telemetry_proxy_server->line, "TelemetryProxyServer",
          redacted_value(p.telemetry_proxy_server->text),
          config_.named_proxy.empty() ? "route named (Named proxy)"
                                      : "not used: --named-proxy gives route named");
    if (p.disable_enterprise_auth_proxy)
      add(file, p.disable_enterprise_auth_proxy->line, "DisableEnterpriseAuthProxy",
          p.disable_enterprise_auth_proxy->text,
          p.enterprise_auth_proxy_disabled()
              ? "the sensor does not authenticate to proxies: routes default, named and cli "
                "send no proxy credentials, and readiness calls a 407 a blocker"
              : "the sensor may authenticate to proxies");
    if (p.defender_pac_url)
      add(file, p.defender_pac_url->line, "ProxyPacUrl (Defender)",
          redacted_value(p.defender_pac_url->text), "route defender: this PAC script decides");
    if (p.defender_proxy_server)
      add(file, p.defender_proxy_server->line, "ProxyServer (Defender)",
          redacted_value(p.defender_proxy_server->text),
          p.defender_pac_url ? "not probed: the antivirus tries ProxyPacUrl first"
                             : "route defender");
    if (p.defender_bypass) {
      const WinHttpBypass bypass(p.defender_bypass->text, /*commas=*/true);
      std::string list;
      for (const auto& e : bypass.entries()) list += (list.empty() ? "" : ";") + e;
      add(file, p.defender_bypass->line, "ProxyBypass (Defender)", list,
          p.defender_pac_url ? "not used: ProxyPacUrl decides route defender"
                             : "route defender: a target matching an entry goes direct");
    }
  }

  // A value shown back: a proxy URL with a password keeps only its user.
  static std::string redacted_value(const std::string& value) {
    auto parsed = parse_proxy_spec(value);
    if (auto* spec = std::get_if<ProxySpec>(&parsed); spec && !spec->password.empty())
      return spec->redacted();
    if (value.find('@') != std::string::npos) return "(hidden: it may hold a password)";
    return value;
  }

  std::optional<RouteError> add_wpad() {
    std::optional<PacSource> found;
    if (config_.pac.empty()) {
      // WPAD: DHCP option 252, then wpad.<search domain>/wpad.dat; nothing found ->
      // not_configured.
      auto discovery =
          discover_wpad(config_.wpad_dhcp_urls ? *config_.wpad_dhcp_urls : host_dhcp_wpad_urls(),
                        config_.wpad_domains ? *config_.wpad_domains : host_domains(), config_.dns,
                        config_.fetch_deadline);
      if (!discovery.source) {
        out_.routes.push_back(missing_route(Method::wpad, discovery.summary()));
        return std::nullopt;
      }
      found = std::move(discovery.source);
    } else {
      try {
        found = load_pac(config_.pac, config_.dns, config_.fetch_deadline);
      } catch (const std::exception& e) {
        return RouteError{{}, 0, 0, e.what()};  // names the script and why
      }
    }
    return add_pac_route(Method::wpad, *found, config_.pac.empty() ? "WPAD: " : "");
  }

  std::optional<RouteError> add_pac_route(Method method, const PacSource& source,
                                          std::string_view note_prefix) {
    Route route;
    route.method = method;
    const auto started = std::chrono::steady_clock::now();
    try {
      route.pac = decide_pac(source, config_.targets, config_.dns,
                             config_.client_ip.empty() ? local_address() : config_.client_ip);
    } catch (const PacError& e) {
      return RouteError{source.location, e.line, 0, e.what()};
    }
    // Decisions come before the sweep, so their time is in no probe's total: the summary
    // says what they cost (each record's ms.pac says it per URL).
    const std::chrono::duration<double> deciding = std::chrono::steady_clock::now() - started;
    out_.notes.push_back(fmt::format("{}PAC script: {} (sha256 {}), {} URL(s) decided in {:.2f} s",
                                     note_prefix, source.location, source.sha256.substr(0, 16),
                                     route.pac->size(), deciding.count()));
    out_.routes.push_back(std::move(route));
    return std::nullopt;
  }

  std::optional<RouteError> add_list() {
    const auto& list = config_.proxy_list;
    if (list.name.empty()) return std::nullopt;
    if (!list.unreadable.empty()) return RouteError{"--proxies", 0, 0, list.unreadable};
    auto read = read_proxy_list(list.text);
    for (auto& e : read.errors)
      out_.skipped.push_back({list.name, e.line, e.column, std::move(e.message)});
    for (auto& entry : read.proxies) {
      std::optional<ProxySpec> proxy = std::move(entry.proxy);
      credit(proxy);
      out_.routes.push_back(proxy_route(Method::proxy_list, std::move(*proxy)));
    }
    return std::nullopt;
  }

  const RouteConfig& config_;
  std::string user_, password_;
  BuiltRoutes out_;
};

}  // namespace

BuiltRoutes build(const RouteConfig& config) {
  return Builder(config).run();
}

}  // namespace urlprobe::route
