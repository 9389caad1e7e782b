#include "routes.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/text.hpp"
#include "diagnostics.hpp"
#include "route/pac.hpp"
#include "route/wpad.hpp"
#include "sheet/reader.hpp"
#include "sheet/url.hpp"

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
  if (o.proxy_user_password) {
    if (!o.proxy_password_file.empty())
      throw UsageError(
          "--proxy-password-file: --proxy-user already gives a password (USER:PASSWORD); give "
          "it one way");
    c.password = *o.proxy_user_password;  // typed explicitly: it wins over the environment
  } else if (!o.proxy_password_file.empty()) {
    if (c.user.empty()) throw UsageError("--proxy-password-file: needs --proxy-user");
    std::string text;
    try {
      text = sheet::read_file(o.proxy_password_file, 64 << 10);
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
    if (base::lower(name).ends_with("_proxy") || name == "URLPROBE_PROXY_PASSWORD")
      env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
  }
  return env;
}

namespace {

std::string client_ip(const Options& o) {
  return o.client_ip.empty() ? route::local_address() : o.client_ip;
}

route::PacSource load_pac_or_throw(const Options& o) {
  try {
    return route::load_pac(o.pac, o.sweep.resolver, o.sweep.probe.timeouts.total);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
}

std::string pac_error_text(const std::string& location, const route::PacError& e) {
  return e.line ? fmt::format("{}:{}: {}", location, e.line, e.what())
                : fmt::format("{}: {}", location, e.what());
}

}  // namespace

int print_pac_answers(const Options& o) {
  if (o.inputs.empty()) throw UsageError("pac: usage: urlprobe pac FILE|URL URL...");
  Options with_script = o;
  with_script.pac = o.inputs.front();
  const auto source = load_pac_or_throw(with_script);
  std::vector<route::PacTarget> targets;
  for (std::size_t i = 1; i < o.inputs.size(); ++i) {
    auto parsed = sheet::parse_target_url(o.inputs[i]);
    if (auto* error = std::get_if<sheet::UrlError>(&parsed))
      throw UsageError(fmt::format("pac: '{}': {}", o.inputs[i], error->message));
    targets.push_back({o.inputs[i], std::get<sheet::Target>(parsed).host});
  }
  std::shared_ptr<const route::PacDecisions> decisions;
  try {
    decisions = route::decide_pac(source, targets, o.sweep.resolver, client_ip(o));
  } catch (const route::PacError& e) {
    cli::say(pac_error_text(source.location, e));
    return 2;
  }
  int rc = 0;
  for (const auto& target : targets) {
    const auto& decision = decisions->at(target.url);
    if (!decision.error.empty()) {
      cli::say(fmt::format("{}: {}: {}", source.location, target.url, decision.error));
      rc = 2;
      continue;
    }
    if (!decision.warning.empty())
      cli::say(fmt::format("{}: {}: {}", source.location, target.url, decision.warning));
    // fwrite, not fmt::print: a failed write must reach the check below, not throw past it.
    const auto line = fmt::format("{}\t{}\n", target.url, decision.answer);
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  // The answers are this command's output: lost to a full disk they are exit 2 naming where, as
  // a sweep's records are.
  if (!cli::written(stdout, "stdout")) return 2;
  return rc;
}

std::vector<route::Route> build_routes(const Options& o,
                                       const std::map<std::string, std::string>& env,
                                       const std::vector<sheet::Target>& targets,
                                       std::vector<sheet::InputError>& input_errors,
                                       std::vector<std::string>& notes) {
  const Credentials credentials = read_credentials(o, env);
  std::vector<route::Route> routes;
  for (const auto method : o.methods) {
    switch (method) {
      case route::Method::default_proxy: {
        const auto environment = route::read_environment_proxy(env);
        if (!environment.errors.empty())
          throw UsageError(fmt::format("environment {}", environment.errors.front()));
        routes.push_back(route::default_route(environment));
        break;
      }
      case route::Method::wpad: {
        std::optional<route::PacSource> found;
        if (o.pac.empty()) {
          // WPAD: DHCP option 252, then wpad.<search domain>/wpad.dat; nothing found ->
          // not_configured.
          auto discovery = route::discover_wpad(route::host_dhcp_wpad_urls(), route::host_domains(),
                                                o.sweep.resolver, o.sweep.probe.timeouts.total);
          if (!discovery.source) {
            routes.push_back(route::missing_route(method, discovery.summary()));
            break;
          }
          found = std::move(discovery.source);
        } else {
          found = load_pac_or_throw(o);
        }
        const auto& source = *found;
        std::vector<route::PacTarget> pac_targets;
        for (const auto& t : targets) pac_targets.push_back({t.url, t.host});
        route::Route wpad;
        wpad.method = method;
        const auto started = std::chrono::steady_clock::now();
        try {
          wpad.pac = route::decide_pac(source, pac_targets, o.sweep.resolver, client_ip(o));
        } catch (const route::PacError& e) {
          throw UsageError(pac_error_text(source.location, e));
        }
        // Decisions come before the sweep, so their time is in no probe's total: the summary
        // says what they cost (each record's ms.pac says it per URL).
        const std::chrono::duration<double> deciding = std::chrono::steady_clock::now() - started;
        notes.push_back(fmt::format("{}PAC script: {} (sha256 {}), {} URL(s) decided in {:.2f} s",
                                    o.pac.empty() ? "WPAD: " : "", source.location,
                                    source.sha256.substr(0, 16), wpad.pac->size(),
                                    deciding.count()));
        routes.push_back(std::move(wpad));
        break;
      }
      case route::Method::direct:
        routes.push_back(route::direct_route());
        break;
      case route::Method::named: {
        if (o.named_proxy.empty()) {
          routes.push_back(
              route::missing_route(method, "no named proxy configured (--named-proxy)"));
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
      text = sheet::read_file(o.proxies_file, std::size_t{64} << 20);
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("--proxies: {}", e.what()));
    }
    auto list = route::read_proxy_list(text);
    for (auto& e : list.errors)
      input_errors.push_back({o.proxies_file, e.line, e.column, e.message, {}, false});
    for (auto& entry : list.proxies) {
      std::optional<route::ProxySpec> proxy = std::move(entry.proxy);
      credentials.apply(proxy);
      routes.push_back(route::proxy_route(route::Method::proxy_list, std::move(*proxy)));
    }
  }
  if (routes.empty())
    throw UsageError("no route to probe: --methods is empty and --proxies has no usable line");
  return routes;
}

}  // namespace urlprobe::cli
