#include "routes.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "sheet/reader.hpp"

extern char** environ;

namespace urlprobe::cli {

namespace {

route::ProxySpec parse_option_proxy(std::string_view option, std::string_view text) {
  auto parsed = route::parse_proxy_spec(text);
  if (auto* e = std::get_if<route::SpecError>(&parsed))
    throw UsageError(fmt::format("{}: column {}: {}", option, e->column, e->message));
  return std::get<route::ProxySpec>(parsed);
}

// Credentials that need not appear in argv: --proxy-user with the password from the
// environment or a file. They fill in proxies given without a user of their own.
struct Credentials {
  std::string user, password;
  void apply(std::optional<route::ProxySpec>& proxy) const {
    if (proxy && proxy->user.empty() && !user.empty()) {
      proxy->user = user;
      proxy->password = password;
    }
  }
};

Credentials read_credentials(const Options& o, const std::map<std::string, std::string>& env) {
  Credentials c;
  c.user = o.proxy_user;
  if (!o.proxy_password_file.empty()) {
    if (c.user.empty()) throw UsageError("--proxy-password-file: needs --proxy-user");
    std::string text;
    try {
      text = sheet::read_file(o.proxy_password_file);
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("--proxy-password-file: {}", e.what()));
    }
    c.password = text.substr(0, text.find_first_of("\r\n"));
  } else if (auto it = env.find("URLPROBE_PROXY_PASSWORD"); it != env.end()) {
    c.password = it->second;
  }
  return c;
}

}  // namespace

std::map<std::string, std::string> proxy_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = entry.substr(0, eq);
    std::string lower(name);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.ends_with("_proxy") || name == "URLPROBE_PROXY_PASSWORD")
      env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::vector<route::Route> build_routes(const Options& o, const std::map<std::string, std::string>& env,
                                       std::vector<sheet::InputError>& input_errors) {
  const Credentials credentials = read_credentials(o, env);
  std::vector<route::Route> routes;
  for (const auto method : o.methods) {
    switch (method) {
      case route::Method::default_proxy: {
        const auto environment = route::read_environment_proxy(env);
        if (!environment.errors.empty()) throw UsageError(fmt::format("environment {}", environment.errors.front()));
        routes.push_back(route::default_route(environment));
        break;
      }
      case route::Method::wpad:
        routes.push_back(route::missing_route(method, "WPAD/PAC discovery is not available in this version"));
        break;
      case route::Method::direct:
        routes.push_back(route::direct_route());
        break;
      case route::Method::named: {
        if (o.named_proxy.empty()) {
          routes.push_back(route::missing_route(method, "no named proxy configured (--named-proxy)"));
          break;
        }
        std::string error;
        auto named = route::named_route(o.named_proxy, error);
        if (!error.empty()) throw UsageError("--named-proxy: " + error);
        credentials.apply(named.for_http);
        credentials.apply(named.for_https);
        routes.push_back(std::move(named));
        break;
      }
      case route::Method::cli: {
        if (o.proxy.empty()) {
          routes.push_back(route::missing_route(method, "no command-line proxy given (--proxy)"));
          break;
        }
        std::optional<route::ProxySpec> proxy = parse_option_proxy("--proxy", o.proxy);
        credentials.apply(proxy);
        routes.push_back(route::proxy_route(method, std::move(*proxy)));
        break;
      }
      case route::Method::proxy_list:
        break;
    }
  }
  if (!o.proxies_file.empty()) {
    std::string text;
    try {
      text = sheet::read_file(o.proxies_file);
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("--proxies: {}", e.what()));
    }
    auto list = route::read_proxy_list(text);
    for (auto& e : list.errors) input_errors.push_back({o.proxies_file, e.line, e.column, e.message, {}, false});
    for (auto& entry : list.proxies) {
      std::optional<route::ProxySpec> proxy = std::move(entry.proxy);
      credentials.apply(proxy);
      routes.push_back(route::proxy_route(route::Method::proxy_list, std::move(*proxy)));
    }
  }
  if (routes.empty()) throw UsageError("no route to probe: --methods is empty and --proxies has no usable line");
  return routes;
}

}  // namespace urlprobe::cli
