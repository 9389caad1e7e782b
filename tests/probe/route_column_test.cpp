// The routes as the reports get them: plain values and route::label's names.
#include "probe/route_column.hpp"

#include <gtest/gtest.h>

namespace urlprobe::probe {
namespace {

route::ProxySpec spec(std::string host, std::string name) {
  route::ProxySpec p;
  p.host = std::move(host);
  p.port = 3128;
  p.user = "user";
  p.password = "secret";
  p.name = std::move(name);
  return p;
}

}  // namespace

TEST(RouteColumns, OnePerRouteInOrderWithRedactedProxies) {
  const std::vector<route::Route> routes{
      route::direct_route(),
      route::missing_route(route::Method::named, "no --named-proxy given"),
      route::proxy_route(route::Method::cli, spec("10.0.0.5", "")),
      route::proxy_route(route::Method::proxy_list, spec("10.0.0.6", "paris")),
      route::proxy_route(route::Method::proxy_list, spec("10.0.0.7", "")),
  };
  const auto columns = route_columns(routes);
  ASSERT_EQ(columns.size(), routes.size());

  EXPECT_EQ(columns[0].method, route::Method::direct);
  EXPECT_TRUE(columns[0].configured);
  EXPECT_EQ(columns[0].proxy, "");
  EXPECT_EQ(columns[0].label, "direct");

  EXPECT_EQ(columns[1].method, route::Method::named);
  EXPECT_FALSE(columns[1].configured);
  EXPECT_EQ(columns[1].not_configured, "no --named-proxy given");
  EXPECT_EQ(columns[1].label, "named");

  EXPECT_EQ(columns[2].proxy, "http://user:***@10.0.0.5:3128");
  EXPECT_EQ(columns[2].label, "cli");

  EXPECT_EQ(columns[3].method, route::Method::proxy_list);
  EXPECT_EQ(columns[3].proxy_name, "paris");
  EXPECT_EQ(columns[3].proxy, "http://user:***@10.0.0.6:3128");
  EXPECT_EQ(columns[3].label, "proxy paris");

  EXPECT_EQ(columns[4].proxy_name, "");
  EXPECT_EQ(columns[4].label, "proxy http://user:***@10.0.0.7:3128");
  for (const auto& c : columns) EXPECT_EQ(c.proxy.find("secret"), std::string::npos);
}

TEST(RouteColumns, AResultIsLabelledAsItsRoute) {
  Result r;
  r.route = route::Method::default_proxy;
  r.proxy = "http://env:3128";
  EXPECT_EQ(route_label(r), "default");
  r.route = route::Method::proxy_list;
  r.proxy = "http://10.0.0.7:3128";
  EXPECT_EQ(route_label(r), "proxy http://10.0.0.7:3128");
  r.proxy_name = "lyon";
  EXPECT_EQ(route_label(r), "proxy lyon");
}

}  // namespace urlprobe::probe
