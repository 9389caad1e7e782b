#include "route/label.hpp"

#include <gtest/gtest.h>

using namespace urlprobe::route;

// Every method, with and without a proxy: the names the formats printed before route::label.
TEST(RouteLabel, MethodsAreNamedByTheirMethodWhateverTheProxy) {
  EXPECT_EQ(label(Method::default_proxy, "", "http://env:3128"), "default");
  EXPECT_EQ(label(Method::wpad, "", ""), "wpad");
  EXPECT_EQ(label(Method::wpad, "", "http://pac:8080"), "wpad");
  EXPECT_EQ(label(Method::direct, "", ""), "direct");
  EXPECT_EQ(label(Method::named, "", "http://named:3128"), "named");
  EXPECT_EQ(label(Method::cli, "", "http://cli:8080"), "cli");
  // A name belongs to list entries only.
  EXPECT_EQ(label(Method::cli, "paris", "http://cli:8080"), "cli");
}

TEST(RouteLabel, AListEntryIsNamedByItsNameElseItsUrl) {
  EXPECT_EQ(label(Method::proxy_list, "paris", "http://user:***@10.0.0.6:3128"), "proxy paris");
  EXPECT_EQ(label(Method::proxy_list, "", "http://10.0.0.7:3128"), "proxy http://10.0.0.7:3128");
}

TEST(RouteLabel, ProxyLabelAddsTheUrlToAName) {
  EXPECT_EQ(proxy_label("paris", "http://10.0.0.6:3128"), "paris (http://10.0.0.6:3128)");
  EXPECT_EQ(proxy_label("", "http://10.0.0.7:3128"), "http://10.0.0.7:3128");
}

TEST(RouteLabel, LabelViaNamesTheProxyOfEveryMethod) {
  EXPECT_EQ(label_via(Method::direct, ""), "direct");
  EXPECT_EQ(label_via(Method::wpad, ""), "wpad");  // a PAC "DIRECT"
  EXPECT_EQ(label_via(Method::wpad, "http://pac:8080"), "wpad via http://pac:8080");
  EXPECT_EQ(label_via(Method::default_proxy, "http://env:3128"), "default via http://env:3128");
  EXPECT_EQ(label_via(Method::named, "http://named:3128"), "named via http://named:3128");
  EXPECT_EQ(label_via(Method::cli, "http://cli:8080"), "cli via http://cli:8080");
  // diff keys list entries by URL, not name: the same proxy renamed is the same route.
  EXPECT_EQ(label_via(Method::proxy_list, "http://10.0.0.6:3128"),
            "proxy via http://10.0.0.6:3128");
}
