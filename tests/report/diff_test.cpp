#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "report/diff.hpp"

using namespace urlprobe;
using probe::Outcome;
using ::testing::HasSubstr;

namespace {

probe::Result result(std::string url, Outcome outcome, double total = 10,
                     route::Method method = route::Method::direct, std::string proxy = {}) {
  probe::Result r;
  r.url = std::move(url);
  r.outcome = outcome;
  r.route = method;
  r.proxy = std::move(proxy);
  r.ms.total = total;
  r.detail = outcome == Outcome::ok ? "" : "because";
  return r;
}

}  // namespace

TEST(Diff, ClassifiesEveryKey) {
  const std::vector<probe::Result> old_run{
      result("https://a/", Outcome::ok),
      result("https://b/", Outcome::connect_refused),
      result("https://c/", Outcome::dns_error),
      result("https://d/", Outcome::ok),
      result("https://gone/", Outcome::ok),
      result("https://same-fail/", Outcome::timeout),
      result("https://a/", Outcome::ok, 10, route::Method::proxy_list, "http://p1:3128"),
  };
  const std::vector<probe::Result> new_run{
      result("https://a/", Outcome::tls_intercepted),
      result("https://b/", Outcome::ok),
      result("https://c/", Outcome::connect_timeout),
      result("https://d/", Outcome::ok),
      result("https://fresh/", Outcome::ok),
      result("https://same-fail/", Outcome::timeout),
      result("https://a/", Outcome::ok, 10, route::Method::proxy_list, "http://p2:3128"),
  };
  const auto d = report::diff_results(old_run, new_run);
  ASSERT_EQ(d.broke.size(), 1u);
  EXPECT_EQ(d.broke[0].key.url, "https://a/");
  EXPECT_EQ(d.broke[0].old_outcome, Outcome::ok);
  EXPECT_EQ(d.broke[0].new_outcome, Outcome::tls_intercepted);
  ASSERT_EQ(d.recovered.size(), 1u);
  EXPECT_EQ(d.recovered[0].key.url, "https://b/");
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].key.url, "https://c/");
  ASSERT_EQ(d.added.size(), 2u);
  EXPECT_EQ(d.added[0].key.url, "https://fresh/");
  EXPECT_EQ(d.added[1].key.proxy, "http://p2:3128");
  ASSERT_EQ(d.removed.size(), 2u);
  EXPECT_EQ(d.removed[0].key.url, "https://gone/");
  EXPECT_EQ(d.removed[1].key.proxy, "http://p1:3128");
  EXPECT_TRUE(d.slower.empty());
  EXPECT_TRUE(d.regressed());

  const auto text = report::diff_text(d, {});
  EXPECT_THAT(text,
              HasSubstr("broke (1):\n  https://a/  direct  ok -> tls_intercepted: because\n"));
  EXPECT_THAT(text, HasSubstr("recovered (1):"));
  EXPECT_THAT(text, HasSubstr("removed (2):"));
  const auto json = boost::json::parse(report::diff_json(d)).as_object();
  EXPECT_EQ(json.at("broke").as_array().size(), 1u);
  EXPECT_EQ(json.at("broke").as_array()[0].as_object().at("new").as_string(), "tls_intercepted");
  EXPECT_EQ(json.at("new").as_array().size(), 2u);
  EXPECT_EQ(json.at("regressed").as_bool(), true);
}

TEST(Diff, NoRegressionWhenOnlyRecoveredOrNew) {
  const std::vector<probe::Result> old_run{result("https://b/", Outcome::connect_refused)};
  const std::vector<probe::Result> new_run{result("https://b/", Outcome::ok),
                                           result("https://n/", Outcome::timeout)};
  const auto d = report::diff_results(old_run, new_run);
  EXPECT_FALSE(d.regressed());
  EXPECT_EQ(d.recovered.size(), 1u);
  EXPECT_EQ(d.added.size(), 1u);
}

TEST(Diff, NotConfiguredToFailureBreaksAndSameKeyUsesLastRecord) {
  const std::vector<probe::Result> old_run{result("https://a/", Outcome::timeout),
                                           result("https://a/", Outcome::not_configured)};
  const std::vector<probe::Result> new_run{result("https://a/", Outcome::proxy_denied)};
  const auto d = report::diff_results(old_run, new_run);
  ASSERT_EQ(d.broke.size(), 1u);
  EXPECT_EQ(d.broke[0].old_outcome, Outcome::not_configured);
}

TEST(Diff, MedianOfOddEvenAndEmpty) {
  EXPECT_EQ(report::median({}), std::nullopt);
  EXPECT_EQ(report::median({5}), 5);
  EXPECT_EQ(report::median({9, 1, 5}), 5);
  EXPECT_EQ(report::median({1, 100, 3, 5}), 4);
}

TEST(Diff, SlowerByMedianPerRouteNeedsFactorAndMinimum) {
  std::vector<probe::Result> old_run, new_run;
  // direct: old median 20, new median 100 (one outlier each side does not matter): slower.
  for (double t : {10.0, 20.0, 30.0, 5000.0, 20.0})
    old_run.push_back(result("https://o" + std::to_string(old_run.size()), Outcome::ok, t));
  for (double t : {90.0, 100.0, 110.0, 1.0, 100.0})
    new_run.push_back(result("https://o" + std::to_string(new_run.size()), Outcome::ok, t));
  // proxy p: 3x slower but only 20 ms more: not slower.
  old_run.push_back(result("https://a/", Outcome::ok, 10, route::Method::proxy_list, "http://p:1"));
  new_run.push_back(result("https://a/", Outcome::ok, 30, route::Method::proxy_list, "http://p:1"));
  // named: failures do not count toward the median.
  old_run.push_back(result("https://a/", Outcome::ok, 10, route::Method::named, "http://n:1"));
  new_run.push_back(result("https://a/", Outcome::ok, 12, route::Method::named, "http://n:1"));
  new_run.push_back(
      result("https://b/", Outcome::timeout, 10000, route::Method::named, "http://n:1"));
  const auto d = report::diff_results(old_run, new_run);
  ASSERT_EQ(d.slower.size(), 1u);
  EXPECT_EQ(d.slower[0].route, route::Method::direct);
  EXPECT_EQ(d.slower[0].old_median_ms, 20);
  EXPECT_EQ(d.slower[0].new_median_ms, 100);
  EXPECT_EQ(d.slower[0].old_count, 5u);
  EXPECT_TRUE(d.regressed());

  report::DiffOptions strict;
  strict.slower_factor = 6;  // 100 is not > 6 x 20
  EXPECT_TRUE(report::diff_results(old_run, new_run, strict).slower.empty());
  report::DiffOptions loose;
  loose.slower_min_ms = 10;  // now p's +20 ms at 3x counts too
  const auto d2 = report::diff_results(old_run, new_run, loose);
  ASSERT_EQ(d2.slower.size(), 2u);
  EXPECT_EQ(d2.slower[1].proxy, "http://p:1");
  EXPECT_THAT(report::diff_text(d2, loose),
              HasSubstr("proxy via http://p:1  10.000 ms -> 30.000 ms (3.0x"));
}
