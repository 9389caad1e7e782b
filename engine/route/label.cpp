#include "route/label.hpp"

#include <fmt/format.h>

namespace urlprobe::route {

std::string label(Method method, std::string_view proxy_name, std::string_view proxy) {
  if (method != Method::proxy_list) return std::string(method_name(method));
  return fmt::format("proxy {}", proxy_name.empty() ? proxy : proxy_name);
}

std::string proxy_label(std::string_view proxy_name, std::string_view proxy) {
  return proxy_name.empty() ? std::string(proxy) : fmt::format("{} ({})", proxy_name, proxy);
}

std::string label_via(Method method, std::string_view proxy) {
  return proxy.empty() ? std::string(method_name(method))
                       : fmt::format("{} via {}", method_name(method), proxy);
}

}  // namespace urlprobe::route
