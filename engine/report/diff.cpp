#include "report/diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <unordered_map>

#include "report/detail/formats.hpp"

namespace urlprobe::report {

namespace {

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

std::string outcome_text(const std::optional<probe::Outcome>& o) {
  return o ? std::string(probe::outcome_name(*o)) : std::string("-");
}

std::string entry_line(const DiffEntry& e) {
  std::string line = fmt::format("  {}  {}", e.key.url, probe::label_via(e.key.route, e.key.proxy));
  line += fmt::format("  {} -> {}", outcome_text(e.old_outcome), outcome_text(e.new_outcome));
  // Only the new state's detail: an old failure's detail after "-> ok" reads as the state now
  // (json and html keep it as old_detail).
  if (e.new_outcome && !e.new_detail.empty()) line += fmt::format(": {}", e.new_detail);
  return line + "\n";
}

void append_key(std::string& out, bool& first, std::string_view name) {
  if (!first) out += ',';
  first = false;
  detail::append_json_string(out, name);
  out += ':';
}

void append_string(std::string& out, bool& first, std::string_view name, std::string_view value) {
  append_key(out, first, name);
  detail::append_json_string(out, value);
}

// Boost.JSON writes doubles as 3.2365000000000004E0: numbers are written here instead.
void append_ms(std::string& out, bool& first, std::string_view name, double ms) {
  append_key(out, first, name);
  out += std::isfinite(ms) ? diff_ms(ms) : "null";
}

void append_route(std::string& out, bool& first, route::Method route, std::string_view proxy) {
  append_string(out, first, "route", route::method_name(route));
  if (!proxy.empty()) append_string(out, first, "proxy", proxy);
}

void append_entry(std::string& out, const DiffEntry& e) {
  bool first = true;
  out += '{';
  append_string(out, first, "url", e.key.url);
  append_route(out, first, e.key.route, e.key.proxy);
  if (e.old_outcome) {
    append_string(out, first, "old", probe::outcome_name(*e.old_outcome));
    append_string(out, first, "old_detail", e.old_detail);
  }
  if (e.new_outcome) {
    append_string(out, first, "new", probe::outcome_name(*e.new_outcome));
    append_string(out, first, "new_detail", e.new_detail);
  }
  out += '}';
}

template <typename T, typename Append>
void append_array(std::string& out, bool& first, std::string_view name, const std::vector<T>& items,
                  Append&& append) {
  append_key(out, first, name);
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append(out, items[i]);
  }
  out += ']';
}

}  // namespace

std::string diff_ms(double ms) {
  double rounded = std::round(ms * 100) / 100;
  if (rounded == 0) rounded = 0;  // not "-0"
  return fmt::format("{}", rounded);
}

std::string diff_factor(double old_ms, double new_ms) {
  return old_ms > 0 ? fmt::format("{:.1f}x", new_ms / old_ms) : std::string("from 0");
}

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
  // ms.total of the probes ok in both runs, per route.
  struct Times {
    route::Method route;
    std::string_view proxy;
    std::vector<double> old_ms, new_ms;
  };
  std::vector<Times> times;
  std::map<std::pair<route::Method, std::string_view>, std::size_t> times_at;
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
    if (before->outcome != probe::Outcome::ok || now->outcome != probe::Outcome::ok) continue;
    const double old_ms = before->ms.total, new_ms = now->ms.total;
    if (new_ms > options.slower_factor * old_ms && new_ms - old_ms > options.slower_min_ms)
      diff.slower.push_back({key_from(key), old_ms, new_ms});
    const auto [at, inserted] = times_at.try_emplace({key.route, key.proxy}, times.size());
    if (inserted) times.push_back({key.route, key.proxy, {}, {}});
    times[at->second].old_ms.push_back(old_ms);
    times[at->second].new_ms.push_back(new_ms);
  }
  for (const auto& key : old_side.order)
    if (!new_side.by_key.contains(key))
      diff.removed.push_back(entry(key, old_side.by_key.at(key), nullptr));
  for (auto& t : times) {
    const auto count = t.new_ms.size();
    diff.routes.push_back({t.route, std::string(t.proxy), *median(std::move(t.old_ms)),
                           *median(std::move(t.new_ms)), count});
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
    text +=
        fmt::format("slower ({}; ms.total of a probe ok in both runs > {}x and > {} ms more):\n",
                    diff.slower.size(), options.slower_factor, options.slower_min_ms);
    for (const auto& s : diff.slower)
      text += fmt::format("  {}  {}  {} ms -> {} ms ({})\n", s.key.url,
                          probe::label_via(s.key.route, s.key.proxy), diff_ms(s.old_ms),
                          diff_ms(s.new_ms), diff_factor(s.old_ms, s.new_ms));
  }
  group("changed", diff.changed);
  group("recovered", diff.recovered);
  group("new", diff.added);
  group("removed", diff.removed);
  if (!diff.routes.empty()) {
    text +=
        "per route (median ms.total of the probes ok in both runs; information, not a verdict):\n";
    for (const auto& r : diff.routes)
      text += fmt::format("  {}  {} ms -> {} ms ({}; {} probe{})\n",
                          probe::label_via(r.route, r.proxy), diff_ms(r.old_median_ms),
                          diff_ms(r.new_median_ms), diff_factor(r.old_median_ms, r.new_median_ms),
                          r.count, r.count == 1 ? "" : "s");
  }
  text += fmt::format("diff: {} broke, {} slower, {} changed, {} recovered, {} new, {} removed\n",
                      diff.broke.size(), diff.slower.size(), diff.changed.size(),
                      diff.recovered.size(), diff.added.size(), diff.removed.size());
  return text;
}

std::string diff_json(const Diff& diff) {
  std::string out = "{";
  bool first = true;
  append_array(out, first, "broke", diff.broke, append_entry);
  append_array(out, first, "slower", diff.slower, [](std::string& o, const SlowerProbe& s) {
    bool f = true;
    o += '{';
    append_string(o, f, "url", s.key.url);
    append_route(o, f, s.key.route, s.key.proxy);
    append_ms(o, f, "old_ms", s.old_ms);
    append_ms(o, f, "new_ms", s.new_ms);
    o += '}';
  });
  append_array(out, first, "changed", diff.changed, append_entry);
  append_array(out, first, "recovered", diff.recovered, append_entry);
  append_array(out, first, "new", diff.added, append_entry);
  append_array(out, first, "removed", diff.removed, append_entry);
  append_array(out, first, "routes", diff.routes, [](std::string& o, const RouteTimes& r) {
    bool f = true;
    o += '{';
    append_route(o, f, r.route, r.proxy);
    append_ms(o, f, "old_median_ms", r.old_median_ms);
    append_ms(o, f, "new_median_ms", r.new_median_ms);
    append_key(o, f, "probes");
    o += std::to_string(r.count);
    o += '}';
  });
  append_key(out, first, "regressed");
  out += diff.regressed() ? "true" : "false";
  return out + "}\n";
}

}  // namespace urlprobe::report
