#include "route/route.hpp"

#include <algorithm>
#include <array>

#include "base/text.hpp"

namespace urlprobe::route {
namespace {

struct MethodInfo {
  Method method;
  std::string_view name;
  std::string_view title;
};

constexpr std::array<MethodInfo, 7> kMethods{{
    {Method::default_proxy, "default", "Default proxy"},
    {Method::wpad, "wpad", "Proxy auto discovery (WPAD)"},
    {Method::direct, "direct", "Proxy disabled"},
    {Method::named, "named", "Named proxy"},
    {Method::cli, "cli", "Command line proxy"},
    {Method::proxy_list, "proxy", "Proxy"},
    {Method::defender, "defender", "Defender Antivirus proxy"},
}};

}  // namespace

std::string_view method_name(Method m) {
  return kMethods[static_cast<int>(m) - 1].name;
}
std::string_view method_title(Method m) {
  return kMethods[static_cast<int>(m) - 1].title;
}

std::optional<Method> parse_method(std::string_view name) {
  for (const auto& info : kMethods)
    if (info.name == name && info.method != Method::proxy_list) return info.method;
  return std::nullopt;
}

}  // namespace urlprobe::route

namespace urlprobe::route {

Hop choose(const Route& route, std::string_view scheme, std::string_view host, std::uint16_t port,
           std::string_view url) {
  if (!route.configured) return Hop{false, route.not_configured, nullptr, nullptr};
  if (route.pac) {
    const auto it = route.pac->find(std::string(url));
    if (it == route.pac->end())
      return Hop{false, "the PAC script was not evaluated for this URL", nullptr, nullptr};
    const auto& decision = it->second;
    const ProxySpec* first =
        decision.chain.empty() || !decision.chain.front() ? nullptr : &*decision.chain.front();
    return Hop{true, {}, first, &decision};
  }
  const auto& proxy = scheme == "https" ? route.for_https : route.for_http;
  if (!proxy || route.bypass.bypass(host, port)) return Hop{};
  if (const auto* entry = route.winhttp_bypass.match(scheme, host, port)) {
    Hop direct;
    direct.bypassed_by = entry;
    return direct;
  }
  return Hop{true, {}, &*proxy, nullptr};
}

Route direct_route() {
  return Route{};
}

Route default_route(const EnvironmentProxy& environment) {
  Route r;
  r.method = Method::default_proxy;
  r.for_http = environment.http;
  r.for_https = environment.https;
  r.bypass = environment.no_proxy;
  return r;
}

Route proxy_route(Method method, ProxySpec proxy) {
  Route r;
  r.method = method;
  r.for_http = proxy;
  r.for_https = std::move(proxy);
  return r;
}

Route missing_route(Method method, std::string reason) {
  Route r;
  r.method = method;
  r.configured = false;
  r.not_configured = std::move(reason);
  return r;
}

Route named_route(std::string_view value, std::optional<SpecError>& error) {
  const std::string_view whole = value;
  auto parse = [&](std::string_view text, std::optional<ProxySpec>& into) {
    auto parsed = parse_proxy_spec(text);
    if (auto* e = std::get_if<SpecError>(&parsed)) {
      // The text is not repeated: it may hold a password.
      error = SpecError{static_cast<int>(text.data() - whole.data()) + e->column, e->message};
      return false;
    }
    into = std::get<ProxySpec>(parsed);
    return true;
  };
  Route r;
  r.method = Method::named;
  if (value.find('=') == std::string_view::npos) {
    if (!parse(value, r.for_http)) return r;
    r.for_https = r.for_http;
    return r;
  }
  // netsh winhttp's per-scheme form: "http=h:p;https=h:p"
  while (!value.empty()) {
    const auto semi = value.find(';');
    const auto item = value.substr(0, semi);
    value = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const auto scheme = item.substr(0, eq);
    if (eq == std::string_view::npos || (scheme != "http" && scheme != "https")) {
      error = SpecError{static_cast<int>(item.data() - whole.data()) + 1,
                        "expected http=HOST:PORT or https=HOST:PORT"};
      return r;
    }
    if (!parse(item.substr(eq + 1), scheme == "http" ? r.for_http : r.for_https)) return r;
  }
  return r;
}

}  // namespace urlprobe::route

namespace urlprobe::route {

ProxyList read_proxy_list(std::string_view text) {
  ProxyList list;
  base::for_each_line(text, [&](std::string_view line, int line_no) {
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::string_view item = base::trim(line);
    if (item.empty()) return;
    int column = static_cast<int>(item.data() - line.data()) + 1;

    // "name=URL": a label, when what precedes '=' is a plain word (a password may hold '=').
    std::string name;
    if (const auto eq = item.find('='); eq != std::string_view::npos) {
      const auto label = item.substr(0, eq);
      const bool word = !label.empty() && std::all_of(label.begin(), label.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
      if (word && item.substr(0, eq).find("://") == std::string_view::npos) {
        name = std::string(label);
        item.remove_prefix(eq + 1);
        column += static_cast<int>(eq) + 1;
      }
    }
    auto parsed = parse_proxy_spec(item);
    if (auto* e = std::get_if<SpecError>(&parsed)) {
      list.errors.push_back({line_no, column + e->column - 1, e->message});
      return;
    }
    auto spec = std::get<ProxySpec>(parsed);
    spec.name = std::move(name);
    list.proxies.push_back({line_no, std::move(spec)});
  });
  return list;
}

}  // namespace urlprobe::route
