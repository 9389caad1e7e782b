// --shard: the shards of a sweep are disjoint, cover it, count only themselves, and do not depend
// on the order of targets.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "probe/sweep.hpp"
#include "sheet/url.hpp"

namespace urlprobe::probe {
namespace {

class Collect : public ResultSink {
 public:
  void on_result(const Result& r) override {
    keys.insert(r.url + " " + std::string(route::method_name(r.route)) + " " + r.proxy);
  }
  std::set<std::string> keys;
};

std::vector<sheet::Target> make_targets(std::size_t n) {
  std::vector<sheet::Target> targets;
  for (std::size_t i = 0; i < n; ++i) {
    auto parsed = sheet::parse_target_url("https://host" + std::to_string(i % 7) + ".test/p" +
                                          std::to_string(i));
    targets.push_back(std::get<sheet::Target>(parsed));
  }
  return targets;
}

}  // namespace

TEST(Shard, PartitionsTheSweepExactlyOnce) {
  const auto targets = make_targets(60);
  // Routes that are not configured end at once, without the network.
  const std::vector<route::Route> routes{route::missing_route(route::Method::named, "none"),
                                         route::missing_route(route::Method::cli, "none")};
  Collect all_sink;
  {
    SweepConfig config;
    config.threads = 2;
    Sweep sweep(config, targets, routes, all_sink);
    EXPECT_EQ(sweep.planned(), 120u);
    sweep.run();
  }
  ASSERT_EQ(all_sink.keys.size(), 120u);
  std::set<std::string> merged;
  std::uint64_t planned = 0;
  for (unsigned k = 1; k <= 3; ++k) {
    SweepConfig config;
    config.threads = 3;
    config.shard = {k, 3};
    Collect sink;
    Sweep sweep(config, targets, routes, sink);
    const auto stats = sweep.run();
    EXPECT_EQ(stats.planned, sink.keys.size());
    EXPECT_EQ(stats.finished, sink.keys.size());
    EXPECT_GT(sink.keys.size(), 10u) << "shard " << k << " is suspiciously small";
    planned += stats.planned;
    for (const auto& key : sink.keys)
      EXPECT_TRUE(merged.insert(key).second) << key << " in two shards";
  }
  EXPECT_EQ(planned, 120u);
  EXPECT_EQ(merged, all_sink.keys);

  // The same key lands in the same shard whatever the order of the sheet.
  auto reversed = targets;
  std::reverse(reversed.begin(), reversed.end());
  for (std::size_t i = 0; i < targets.size(); ++i)
    for (const auto& r : routes)
      EXPECT_EQ(in_shard({2, 3}, targets[i].url, r),
                in_shard({2, 3}, reversed[targets.size() - 1 - i].url, r));
}

TEST(Shard, HashIsFnv1aOfUrlRouteProxy) {
  route::Route direct;
  // FNV-1a 64 of "a\ndirect\n".
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char c : std::string("a\ndirect\n")) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  EXPECT_EQ(shard_hash("a", direct), h);
  const auto p1 = std::get<route::ProxySpec>(route::parse_proxy_spec("http://p1:3128"));
  const auto p2 = std::get<route::ProxySpec>(route::parse_proxy_spec("http://p2:3128"));
  EXPECT_NE(shard_hash("a", route::proxy_route(route::Method::proxy_list, p1)),
            shard_hash("a", route::proxy_route(route::Method::proxy_list, p2)));
  EXPECT_TRUE(in_shard({}, "a", direct));
}

// merge finds a missing shard from the records: each says which shard of how many it belongs to.
TEST(Shard, ResultsCarryTheirShard) {
  class Shards : public ResultSink {
   public:
    void on_result(const Result& r) override { seen.emplace(r.shard.k, r.shard.n); }
    std::set<std::pair<unsigned, unsigned>> seen;
  };
  const auto targets = make_targets(20);
  const std::vector<route::Route> routes{route::missing_route(route::Method::named, "none")};
  for (const Shard shard : {Shard{2, 3}, Shard{}}) {
    SweepConfig config;
    config.threads = 1;
    config.shard = shard;
    Shards sink;
    Sweep(config, targets, routes, sink).run();
    EXPECT_EQ(sink.seen, (std::set<std::pair<unsigned, unsigned>>{{shard.k, shard.n}}));
  }
}

}  // namespace urlprobe::probe
