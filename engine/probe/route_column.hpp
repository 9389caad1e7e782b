// What the reports know of routes: a sweep's routes as plain values, and the names route/label.hpp
// gives them, so that report/ reads no route::Route and builds no name of its own.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "probe/result.hpp"
#include "route/label.hpp"
#include "route/route.hpp"

namespace urlprobe::probe {

// One route of a sweep, at its position in the sweep's order of routes.
struct RouteColumn {
  route::Method method = route::Method::direct;
  bool configured = true;
  std::string not_configured;     // why, when !configured ("no --named-proxy given")
  std::string proxy_name, proxy;  // the https proxy: its name= and redacted URL; empty: none
  std::string label;              // route::label: "direct", "proxy paris"
};

std::vector<RouteColumn> route_columns(std::span<const route::Route> routes);

// route::label of the route that gave `r`.
std::string route_label(const Result& r);

// The other names, for report/ (which includes no route/ header).
using route::label_via;
using route::proxy_label;

}  // namespace urlprobe::probe
