// The routes of the report tests' sweep: direct, and two list proxies, the first named and with
// credentials (whose password must never reach any format).
#pragma once

#include <string>
#include <vector>

#include "route/route.hpp"

namespace urlprobe::test {

inline std::vector<route::Route> sweep_routes(const std::string& password) {
  std::vector<route::Route> routes{route::direct_route()};
  route::ProxySpec paris;
  paris.host = "10.0.0.6";
  paris.port = 3128;
  paris.user = "user";
  paris.password = password;
  paris.name = "paris";
  routes.push_back(route::proxy_route(route::Method::proxy_list, paris));
  route::ProxySpec lyon = paris;
  lyon.name = "";
  lyon.host = "10.0.0.7";
  routes.push_back(route::proxy_route(route::Method::proxy_list, lyon));
  return routes;
}

}  // namespace urlprobe::test
