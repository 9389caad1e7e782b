#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "report/diff.hpp"

using namespace urlprobe;
using probe::Outcome;
using ::testing::HasSubstr;
using ::testing::Not;

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

// Issue 18: one median per route over whichever probes happened to be ok said "direct 3.2 ms ->
// 203.6 ms" when the fast URLs broke. Slower is per probe, ok on both sides.
TEST(Diff, SlowerIsPerProbeNotOneMedianOverWhateverWasOk) {
  std::vector<probe::Result> old_run, new_run;
  const std::vector<double> before{3.0, 3.2, 3.4, 200.0, 210.0};
  const std::vector<double> after{3.1, 3.3, 3.5, 201.0, 209.0};
  for (std::size_t i = 0; i < before.size(); ++i) {
    const auto url = "https://u" + std::to_string(i) + "/";
    old_run.push_back(result(url, Outcome::ok, before[i]));
    // The two fastest URLs break; no URL that is ok on both sides got slower.
    new_run.push_back(i < 2 ? result(url, Outcome::dns_error, 0.5)
                            : result(url, Outcome::ok, after[i]));
  }
  const auto d = report::diff_results(old_run, new_run);
  EXPECT_EQ(d.broke.size(), 2u);
  EXPECT_TRUE(d.slower.empty());
  // The per-route line is information over the probes ok in both runs: u2, u3, u4.
  ASSERT_EQ(d.routes.size(), 1u);
  EXPECT_EQ(d.routes[0].route, route::Method::direct);
  EXPECT_EQ(d.routes[0].old_median_ms, 200);
  EXPECT_EQ(d.routes[0].new_median_ms, 201);
  EXPECT_EQ(d.routes[0].count, 3u);
  const auto text = report::diff_text(d, {});
  EXPECT_THAT(text, Not(HasSubstr("slower (")));
  EXPECT_THAT(text, HasSubstr("per route (median ms.total of the probes ok in both runs; "
                              "information, not a verdict):\n"
                              "  direct  200 ms -> 201 ms (1.0x; 3 probes)\n"));
}

TEST(Diff, SlowerNeedsBothOkTheFactorAndTheMinimumAndNamesTheProbe) {
  using route::Method;
  const std::vector<probe::Result> old_run{
      result("https://slow/", Outcome::ok, 10, Method::proxy_list, "http://p:1"),
      result("https://3x-but-20ms/", Outcome::ok, 10),
      result("https://60ms-but-1.5x/", Outcome::ok, 120),
      result("https://was-failing/", Outcome::timeout, 10),
      result("https://now-failing/", Outcome::ok, 10),
      result("https://slow/", Outcome::ok, 10),
  };
  const std::vector<probe::Result> new_run{
      result("https://slow/", Outcome::ok, 100, Method::proxy_list, "http://p:1"),
      result("https://3x-but-20ms/", Outcome::ok, 30),
      result("https://60ms-but-1.5x/", Outcome::ok, 180),
      result("https://was-failing/", Outcome::ok, 5000),
      result("https://now-failing/", Outcome::timeout, 5000),
      result("https://slow/", Outcome::ok, 11),
  };
  const auto d = report::diff_results(old_run, new_run);
  ASSERT_EQ(d.slower.size(), 1u);
  EXPECT_EQ(d.slower[0].key.url, "https://slow/");
  EXPECT_EQ(d.slower[0].key.route, Method::proxy_list);
  EXPECT_EQ(d.slower[0].key.proxy, "http://p:1");
  EXPECT_EQ(d.slower[0].old_ms, 10);
  EXPECT_EQ(d.slower[0].new_ms, 100);
  EXPECT_TRUE(d.regressed());
  EXPECT_THAT(report::diff_text(d, {}),
              HasSubstr("slower (1; ms.total of a probe ok in both runs > 2x and > 50 ms more):\n"
                        "  https://slow/  proxy via http://p:1  10 ms -> 100 ms (10.0x)\n"));

  report::DiffOptions loose;
  loose.slower_min_ms = 10;  // now the 3x, +20 ms one counts too
  const auto d2 = report::diff_results(old_run, new_run, loose);
  ASSERT_EQ(d2.slower.size(), 2u);
  EXPECT_EQ(d2.slower[1].key.url, "https://3x-but-20ms/");
  report::DiffOptions strict;
  strict.slower_factor = 11;  // 100 is not > 11 x 10
  EXPECT_TRUE(report::diff_results(old_run, new_run, strict).slower.empty());

  // Only slower: still the nightly alert.
  const auto only_slower =
      report::diff_results(std::span(old_run).first(1), std::span(new_run).first(1));
  EXPECT_TRUE(only_slower.broke.empty());
  EXPECT_TRUE(only_slower.regressed());
}

// Issue 18: "connect_refused -> ok: because" read as if the recovered probe still said "because".
TEST(Diff, RecoveredAndRemovedLinesCarryNoOldDetailAfterTheArrow) {
  auto old_fail = result("https://b/", Outcome::tls_error);
  old_fail.detail = "tls handshake: certificate verify failed";
  auto gone = result("https://gone/", Outcome::timeout);
  gone.detail = "no answer in 10 s";
  auto changed = result("https://c/", Outcome::dns_error);
  changed.detail = "NXDOMAIN";
  auto changed_now = result("https://c/", Outcome::connect_refused);
  changed_now.detail = "refused by 10.0.0.1:443";
  const std::vector<probe::Result> old_run{old_fail, gone, changed};
  const std::vector<probe::Result> new_run{result("https://b/", Outcome::ok), changed_now};
  const auto text = report::diff_text(report::diff_results(old_run, new_run), {});
  EXPECT_THAT(text, HasSubstr("recovered (1):\n  https://b/  direct  tls_error -> ok\n"));
  EXPECT_THAT(text, HasSubstr("removed (1):\n  https://gone/  direct  timeout -> -\n"));
  EXPECT_THAT(text, HasSubstr("changed (1):\n  https://c/  direct  dns_error -> connect_refused: "
                              "refused by 10.0.0.1:443\n"));
  EXPECT_THAT(text, Not(HasSubstr("certificate verify failed")));
  // The old detail is not lost: json keeps it under its own name.
  const auto json = boost::json::parse(report::diff_json(report::diff_results(old_run, new_run)));
  EXPECT_EQ(json.at("recovered").at(0).at("old_detail").as_string(),
            "tls handshake: certificate verify failed");
  EXPECT_EQ(json.at("recovered").at(0).at("new_detail").as_string(), "");
}

// Issue 18: Boost.JSON wrote 3.2365000000000004E0.
TEST(Diff, JsonWritesMillisecondsAsShortDecimals) {
  const std::vector<probe::Result> old_run{result("https://a/", Outcome::ok, 3.2365000000000004),
                                           result("https://b/", Outcome::connect_refused),
                                           result("https://z/", Outcome::ok, 0.1 + 0.2),
                                           result("https://y/", Outcome::ok, 5)};
  const std::vector<probe::Result> new_run{
      result("https://a/", Outcome::ok, 203.6), result("https://b/", Outcome::ok, 7),
      result("https://z/", Outcome::ok, 60.300000000000004), result("https://y/", Outcome::ok, 5)};
  EXPECT_EQ(report::diff_json(report::diff_results(old_run, new_run)),
            R"({"broke":[],)"
            R"("slower":[{"url":"https://a/","route":"direct","old_ms":3.24,"new_ms":203.6},)"
            R"({"url":"https://z/","route":"direct","old_ms":0.3,"new_ms":60.3}],)"
            R"("changed":[],)"
            R"("recovered":[{"url":"https://b/","route":"direct","old":"connect_refused",)"
            R"("old_detail":"because","new":"ok","new_detail":""}],)"
            R"("new":[],"removed":[],)"
            R"("routes":[{"route":"direct","old_median_ms":3.24,"new_median_ms":60.3,"probes":3}],)"
            R"("regressed":true})"
            "\n");
}

TEST(DiffHtml, EverySectionAndEveryValueEscaped) {
  const std::string evil = "https://x.test/<script>alert(1)</script>";
  auto broke = result(evil, Outcome::tls_intercepted);
  broke.detail = R"(issuer "Evil & Co" <b>inspects</b>)";
  const std::vector<probe::Result> old_run{
      result(evil, Outcome::ok),
      result("https://slow/", Outcome::ok, 10, route::Method::proxy_list, "http://p:1/\"><img>"),
      result("https://c/", Outcome::dns_error),
      result("https://r/", Outcome::timeout),
      result("https://gone/", Outcome::ok),
  };
  const std::vector<probe::Result> new_run{
      broke,
      result("https://slow/", Outcome::ok, 900, route::Method::proxy_list, "http://p:1/\"><img>"),
      result("https://c/", Outcome::connect_refused),
      result("https://r/", Outcome::ok),
      result("https://fresh/", Outcome::ok),
  };
  const auto d = report::diff_results(old_run, new_run);
  const auto page = report::diff_html(d, {}, "old<1>.jsonl", "new&.jsonl");
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>\n"));
  EXPECT_THAT(page, HasSubstr("</html>\n"));
  for (const auto* section : {">broke (1)<", ">slower (1)<", ">changed (1)<", ">recovered (1)<",
                              ">new (1)<", ">removed (1)<", ">per route<"})
    EXPECT_THAT(page, HasSubstr(section)) << section;
  // Inert: no markup of any value survives, and the page itself runs and fetches nothing.
  EXPECT_THAT(page, HasSubstr("https://x.test/&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(page, HasSubstr("issuer &quot;Evil &amp; Co&quot; &lt;b&gt;inspects&lt;/b&gt;"));
  EXPECT_THAT(page, HasSubstr("http://p:1/&quot;&gt;&lt;img&gt;"));
  EXPECT_THAT(page, HasSubstr("old&lt;1&gt;.jsonl"));
  EXPECT_THAT(page, HasSubstr("new&amp;.jsonl"));
  for (const auto* markup : {"<script", "<img", "<b>", "src=", "href="})
    EXPECT_THAT(page, Not(HasSubstr(markup))) << markup;
  EXPECT_THAT(page, HasSubstr("10 ms"));
  EXPECT_THAT(page, HasSubstr("900 ms"));
}
