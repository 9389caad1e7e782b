#include "report/diff.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

namespace urlprobe::report {

namespace {

struct RouteKey {
  route::Method route;
  std::string proxy;
  auto operator<=>(const RouteKey&) const = default;
};

// A result's key as views into the result itself: indexing a million results copies no string.
struct KeyView {
  std::string_view url;
  route::Method route;
  std::string_view proxy;
  bool operator==(const KeyView&) const = default;
};

struct KeyViewHash {
  std::size_t operator()(const KeyView& k) const noexcept {
    const std::hash<std::string_view> h;
    std::size_t seed = h(k.url);
    seed ^= h(k.proxy) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    return seed ^ (static_cast<std::size_t>(k.route) * 0x9e3779b97f4a7c15ULL);
  }
};

KeyView view_of(const probe::Result& r) {
  return {r.url, r.route, r.proxy};
}

ResultKey key_from(const KeyView& k) {
  return {std::string(k.url), k.route, std::string(k.proxy)};
}

// Last record per key, and the order in which keys first appeared (as that key's record).
struct Indexed {
  std::unordered_map<KeyView, const probe::Result*, KeyViewHash> by_key;
  std::vector<KeyView> order;
};

Indexed index(std::span<const probe::Result> results) {
  Indexed out;
  out.by_key.reserve(results.size());
  for (const auto& r : results) {
    auto [it, inserted] = out.by_key.insert_or_assign(view_of(r), &r);
    if (inserted) out.order.push_back(it->first);
  }
  return out;
}

DiffEntry entry(const KeyView& key, const probe::Result* old_r, const probe::Result* new_r) {
  DiffEntry e{key_from(key), {}, {}, {}, {}};
  if (old_r) {
    e.old_outcome = old_r->outcome;
    e.old_detail = old_r->detail;
  }
  if (new_r) {
    e.new_outcome = new_r->outcome;
    e.new_detail = new_r->detail;
  }
  return e;
}

// ms.total of the ok probes, per route, routes in first-seen order.
std::vector<std::pair<RouteKey, std::vector<double>>> ok_times(const Indexed& side) {
  std::vector<std::pair<RouteKey, std::vector<double>>> out;
  std::map<std::pair<route::Method, std::string_view>, std::size_t> position;
  for (const auto& key : side.order) {
    const auto* r = side.by_key.at(key);
    auto [it, inserted] = position.try_emplace({r->route, r->proxy}, out.size());
    if (inserted) out.push_back({RouteKey{r->route, r->proxy}, {}});
    if (r->outcome == probe::Outcome::ok) out[it->second].second.push_back(r->ms.total);
  }
  return out;
}

std::string outcome_text(const std::optional<probe::Outcome>& o) {
  return o ? std::string(probe::outcome_name(*o)) : std::string("-");
}

std::string entry_line(const DiffEntry& e) {
  std::string line = fmt::format("  {}  {}", e.key.url, route::method_name(e.key.route));
  if (!e.key.proxy.empty()) line += fmt::format(" via {}", e.key.proxy);
  line += fmt::format("  {} -> {}", outcome_text(e.old_outcome), outcome_text(e.new_outcome));
  const auto& detail = e.new_outcome && probe::is_failure(*e.new_outcome)   ? e.new_detail
                       : e.old_outcome && probe::is_failure(*e.old_outcome) ? e.old_detail
                                                                            : e.new_detail;
  if (!detail.empty()) line += fmt::format(": {}", detail);
  return line + "\n";
}

boost::json::object entry_json(const DiffEntry& e) {
  boost::json::object o;
  o["url"] = e.key.url;
  o["route"] = route::method_name(e.key.route);
  if (!e.key.proxy.empty()) o["proxy"] = e.key.proxy;
  if (e.old_outcome) {
    o["old"] = probe::outcome_name(*e.old_outcome);
    o["old_detail"] = e.old_detail;
  }
  if (e.new_outcome) {
    o["new"] = probe::outcome_name(*e.new_outcome);
    o["new_detail"] = e.new_detail;
  }
  return o;
}

}  // namespace

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Diff diff_results(std::span<const probe::Result> old_results,
                  std::span<const probe::Result> new_results, const DiffOptions& options) {
  const auto old_side = index(old_results);
  const auto new_side = index(new_results);
  Diff diff;
  for (const auto& key : new_side.order) {
    const auto* now = new_side.by_key.at(key);
    const auto found = old_side.by_key.find(key);
    if (found == old_side.by_key.end()) {
      diff.added.push_back(entry(key, nullptr, now));
      continue;
    }
    const auto* before = found->second;
    const bool failed_before = probe::is_failure(before->outcome),
               fails_now = probe::is_failure(now->outcome);
    if (!failed_before && fails_now)
      diff.broke.push_back(entry(key, before, now));
    else if (failed_before && !fails_now)
      diff.recovered.push_back(entry(key, before, now));
    else if (failed_before && fails_now && before->outcome != now->outcome)
      diff.changed.push_back(entry(key, before, now));
  }
  for (const auto& key : old_side.order)
    if (!new_side.by_key.contains(key))
      diff.removed.push_back(entry(key, old_side.by_key.at(key), nullptr));

  const auto old_times = ok_times(old_side);
  std::map<RouteKey, const std::vector<double>*> old_by_route;
  for (const auto& [route, times] : old_times) old_by_route.emplace(route, &times);
  for (const auto& [route, times] : ok_times(new_side)) {
    const auto found = old_by_route.find(route);
    if (found == old_by_route.end()) continue;
    const auto before = median(*found->second), now = median(times);
    if (!before || !now) continue;
    if (*now > options.slower_factor * *before && *now - *before > options.slower_min_ms)
      diff.slower.push_back(
          {route.route, route.proxy, *before, *now, found->second->size(), times.size()});
  }
  return diff;
}

std::string diff_text(const Diff& diff, const DiffOptions& options) {
  std::string text;
  auto group = [&](std::string_view title, const std::vector<DiffEntry>& entries) {
    if (entries.empty()) return;
    text += fmt::format("{} ({}):\n", title, entries.size());
    for (const auto& e : entries) text += entry_line(e);
  };
  group("broke", diff.broke);
  if (!diff.slower.empty()) {
    text += fmt::format("slower ({}; median ms.total of ok probes > {}x and > {} ms more):\n",
                        diff.slower.size(), options.slower_factor, options.slower_min_ms);
    for (const auto& s : diff.slower)
      text += fmt::format("  {}{}  {:.3f} ms -> {:.3f} ms ({:.1f}x; {} -> {} ok probes)\n",
                          route::method_name(s.route), s.proxy.empty() ? "" : " via " + s.proxy,
                          s.old_median_ms, s.new_median_ms,
                          s.old_median_ms > 0 ? s.new_median_ms / s.old_median_ms : 0.0,
                          s.old_count, s.new_count);
  }
  group("changed", diff.changed);
  group("recovered", diff.recovered);
  group("new", diff.added);
  group("removed", diff.removed);
  text += fmt::format("diff: {} broke, {} slower, {} changed, {} recovered, {} new, {} removed\n",
                      diff.broke.size(), diff.slower.size(), diff.changed.size(),
                      diff.recovered.size(), diff.added.size(), diff.removed.size());
  return text;
}

std::string diff_json(const Diff& diff) {
  boost::json::object o;
  auto entries = [](const std::vector<DiffEntry>& list) {
    boost::json::array a;
    for (const auto& e : list) a.push_back(entry_json(e));
    return a;
  };
  o["broke"] = entries(diff.broke);
  boost::json::array slower;
  for (const auto& s : diff.slower) {
    boost::json::object item;
    item["route"] = route::method_name(s.route);
    if (!s.proxy.empty()) item["proxy"] = s.proxy;
    item["old_median_ms"] = s.old_median_ms;
    item["new_median_ms"] = s.new_median_ms;
    item["old_count"] = s.old_count;
    item["new_count"] = s.new_count;
    slower.push_back(std::move(item));
  }
  o["slower"] = std::move(slower);
  o["changed"] = entries(diff.changed);
  o["recovered"] = entries(diff.recovered);
  o["new"] = entries(diff.added);
  o["removed"] = entries(diff.removed);
  o["regressed"] = diff.regressed();
  return boost::json::serialize(o) + "\n";
}

}  // namespace urlprobe::report
