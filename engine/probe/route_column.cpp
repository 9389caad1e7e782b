#include "probe/route_column.hpp"

namespace urlprobe::probe {

std::vector<RouteColumn> route_columns(std::span<const route::Route> routes) {
  std::vector<RouteColumn> columns;
  columns.reserve(routes.size());
  for (const auto& route : routes) {
    auto& c = columns.emplace_back();
    c.method = route.method;
    c.configured = route.configured;
    c.not_configured = route.not_configured;
    if (route.for_https) {
      c.proxy_name = route.for_https->name;
      c.proxy = route.for_https->redacted();
    }
    c.label = route::label(c.method, c.proxy_name, c.proxy);
  }
  return columns;
}

std::string route_label(const Result& r) {
  return route::label(r.route, r.proxy_name, r.proxy);
}

}  // namespace urlprobe::probe
