#include "route/route.hpp"

#include <array>

namespace urlprobe::route {
namespace {

struct MethodInfo {
  Method method;
  std::string_view name;
  std::string_view title;
};

constexpr std::array<MethodInfo, 6> kMethods{{
    {Method::default_proxy, "default", "Default proxy"},
    {Method::wpad, "wpad", "Proxy auto discovery (WPAD)"},
    {Method::direct, "direct", "Proxy disabled"},
    {Method::named, "named", "Named proxy"},
    {Method::cli, "cli", "Command line proxy"},
    {Method::proxy_list, "proxy", "Proxy"},
}};

}  // namespace

std::string_view method_name(Method m) { return kMethods[static_cast<int>(m) - 1].name; }
std::string_view method_title(Method m) { return kMethods[static_cast<int>(m) - 1].title; }

std::optional<Method> parse_method(std::string_view name) {
  for (const auto& info : kMethods)
    if (info.name == name && info.method != Method::proxy_list) return info.method;
  return std::nullopt;
}

}  // namespace urlprobe::route
