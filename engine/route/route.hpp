// Egress routes: the ways a probe can leave this machine.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::route {

// The analyzer's five methods, numbered as it prints them, plus entries of a proxy list.
enum class Method { default_proxy = 1, wpad = 2, direct = 3, named = 4, cli = 5, proxy_list = 6 };

struct Route {
  Method method = Method::direct;
  // Later: the proxy (or PAC chain) this route goes through; empty for direct.
};

std::string_view method_name(Method m);   // "default", "wpad", "direct", "named", "cli", "proxy"
std::string_view method_title(Method m);  // the analyzer's words: "Proxy disabled", ...
std::optional<Method> parse_method(std::string_view name);

}  // namespace urlprobe::route
