#include "route/build.hpp"

#include <fmt/format.h>

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
    for (const auto method : config_.methods)
      if (auto error = add(method)) return failed(std::move(*error));
    if (auto error = add_list()) return failed(std::move(*error));
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
        if (config_.named_proxy.empty()) {
          out_.routes.push_back(missing_route(method, "no named proxy configured (--named-proxy)"));
          return std::nullopt;
        }
        std::optional<SpecError> error;
        auto named = named_route(config_.named_proxy, error);
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
    }
    return std::nullopt;
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
    const auto& source = *found;
    Route wpad;
    wpad.method = Method::wpad;
    const auto started = std::chrono::steady_clock::now();
    try {
      wpad.pac = decide_pac(source, config_.targets, config_.dns,
                            config_.client_ip.empty() ? local_address() : config_.client_ip);
    } catch (const PacError& e) {
      return RouteError{source.location, e.line, 0, e.what()};
    }
    // Decisions come before the sweep, so their time is in no probe's total: the summary
    // says what they cost (each record's ms.pac says it per URL).
    const std::chrono::duration<double> deciding = std::chrono::steady_clock::now() - started;
    out_.notes.push_back(fmt::format("{}PAC script: {} (sha256 {}), {} URL(s) decided in {:.2f} s",
                                     config_.pac.empty() ? "WPAD: " : "", source.location,
                                     source.sha256.substr(0, 16), wpad.pac->size(),
                                     deciding.count()));
    out_.routes.push_back(std::move(wpad));
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
