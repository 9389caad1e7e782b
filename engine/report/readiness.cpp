#include "report/readiness.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "probe/route_column.hpp"
#include "report/detail/formats.hpp"

namespace urlprobe::report {

using probe::Outcome;
using route::Method;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!out.empty() && out.front() == ' ') out.erase(0, 1);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool worldwide(std::string_view geography) {
  const auto g = lower(geography);
  return g.empty() || g == "ww" || g == "all";
}

bool selected(std::string_view geography, const std::vector<std::string>& geo) {
  if (geo.empty() || worldwide(geography)) return true;
  const auto g = lower(geography);
  return std::any_of(geo.begin(), geo.end(), [&](const std::string& w) { return lower(w) == g; });
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

struct UrlState {
  std::string url, host, geography;
  bool required = false;
  std::string skipped;  // why it cannot be probed as written; then it counts neither way
  std::set<Method> reached;
  std::set<Method> failed;  // configured and not reached
  std::vector<std::string> outcomes;
};

// A listed proxy as the sweep saw it: which URLs (indexes into the UrlStates) it reached.
struct ProxyState {
  std::string name, proxy;
  std::set<std::size_t> reached;
  std::map<std::size_t, std::vector<std::string>> failed;  // URL -> its outcomes, when not reached
};

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Only the direct path (route direct, or any route that resolved to no proxy, e.g. default
// without an environment proxy or a PAC "DIRECT") can reveal a transparent proxy.
std::string transparent_proxy_evidence(const probe::Result& r) {
  if (r.route == Method::proxy_list || !r.proxy.empty()) return {};
  if (!r.via.empty() && starts_with(lower(r.url), "http://")) return r.via;
  if (!r.tls_inspected) return {};
  if (r.tls && !r.tls->issuer.empty()) return fmt::format("TLS issued by {}", r.tls->issuer);
  return "TLS anchored outside the public roots";
}

std::vector<const probe::Result*> in_sweep_order(const std::vector<probe::Result>& results,
                                                 const ReadinessOptions& options) {
  std::vector<const probe::Result*> sorted;
  for (const auto& r : results)
    if (options.proxy_lists || r.route != Method::proxy_list) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->sweep_index < b->sweep_index; });
  return sorted;
}

// Issuers each URL verified with: a proxy route's chain that does not verify and names
// another issuer is that proxy's inspection with a CA the client does not trust.
using VerifiedIssuers = std::map<std::string, std::set<std::string>>;  // URL -> issuers

VerifiedIssuers verified_issuers(const std::vector<const probe::Result*>& sorted) {
  VerifiedIssuers issuers;
  for (const auto* r : sorted)
    if (r->tls && r->tls->verified && !r->tls->issuer.empty() &&
        (r->route != Method::proxy_list || r->outcome == Outcome::ok))
      issuers[r->url].insert(r->tls->issuer);
  return issuers;
}

bool inspected_untrusted(const probe::Result& r, const VerifiedIssuers& verified) {
  if (r.outcome != Outcome::tls_untrusted || r.proxy.empty() || !r.tls || r.tls->issuer.empty())
    return false;
  const auto it = verified.find(r.url);
  return it != verified.end() && !it->second.count(r.tls->issuer);
}

// What assess learns from the results, one at a time in sweep order, before it counts.
class Tally {
 public:
  Tally(const ReadinessOptions& options, VerifiedIssuers verified)
      : options_(options), verified_(std::move(verified)) {}

  void add(const probe::Result& r, Readiness& out);
  // The required URLs, per geography, method and listed proxy; then the verdict.
  void count(Readiness& out);
  void add_advice(Readiness& out);
  void add_notes(Readiness& out);

 private:
  std::size_t url_of(const probe::Result& r);
  // The proxy's to-do list and the vendor's exceptions; true when the result reaches its URL.
  bool advise(const probe::Result& r);
  void count_listed(const probe::Result& r, std::size_t url, bool reached);
  void count_method(const probe::Result& r, UrlState& u, bool reached);
  ProxyTodo& todo_of(const std::string& proxy);
  std::string geographies(const std::vector<std::string>& seen) const;
  std::string named_fallback_note() const;

  const ReadinessOptions& options_;
  VerifiedIssuers verified_;
  std::vector<UrlState> urls_;
  std::map<std::string, std::size_t> index_;  // URL -> urls_
  std::map<Method, MethodReadiness> methods_;
  std::map<std::string, ProxyTodo> todo_;
  std::map<std::string, std::vector<std::string>> blob_notes_;  // proxy -> hosts
  std::vector<std::string> pinned_blocked_;  // pinned hosts a proxy inspected or challenged
  std::vector<std::string> stale_pins_;      // pinned hosts whose chain ends at another public root
  std::size_t local_errors_ = 0;
  std::map<Method, std::string> proxy_of_;
  std::vector<ProxyState> proxies_;                                         // in sweep order
  std::map<std::pair<std::string, std::string>, std::size_t> proxy_index_;  // (name, proxy)
};

// Route defender is the antivirus's own proxy (--registry): the sensor never uses it, so it has
// its line among the methods but reaches nothing for the verdict.
bool reached_by_sensor(const std::set<Method>& reached) {
  return std::any_of(reached.begin(), reached.end(),
                     [](Method m) { return m != Method::defender; });
}

std::size_t Tally::url_of(const probe::Result& r) {
  auto [it, fresh] = index_.emplace(r.url, urls_.size());
  if (fresh) {
    auto& u = urls_.emplace_back();
    u.url = r.url;
    u.host = r.host;
    u.geography = r.row.geography();
    u.required = r.row.is_required();
  }
  return it->second;
}

void Tally::add(const probe::Result& r, Readiness& out) {
  if (!selected(r.row.geography(), options_.geo)) return;
  out.any_results = true;
  const auto url = url_of(r);
  auto& u = urls_[url];
  // An entry of --proxies is counted apart from the device's methods (ProxyReadiness).
  const bool listed = r.route == Method::proxy_list;
  MethodReadiness* m = nullptr;
  if (!listed) {
    m = &methods_[r.route];
    m->method = r.route;
  }
  if (r.outcome == Outcome::not_configured) return;
  if (r.outcome == Outcome::skipped) {
    u.skipped = r.detail;
    return;
  }
  if (m) m->configured = true;
  if (r.outcome == Outcome::local_error) ++local_errors_;
  if (auto evidence = transparent_proxy_evidence(r); !evidence.empty()) {
    const bool seen = std::any_of(out.transparent.begin(), out.transparent.end(),
                                  [&](const auto& t) { return t.url == r.url; });
    if (!seen) out.transparent.push_back({r.url, std::move(evidence)});
  }
  if (!listed && !r.proxy.empty()) proxy_of_.emplace(r.route, r.proxy);
  const bool reached = advise(r);
  if (listed)
    count_listed(r, url, reached);
  else
    count_method(r, u, reached);
}

ProxyTodo& Tally::todo_of(const std::string& proxy) {
  auto& t = todo_[proxy];
  t.proxy = proxy;
  return t;
}

bool Tally::advise(const probe::Result& r) {
  bool reached = r.outcome == Outcome::ok;
  if (!r.row.expect().trust.empty()) {
    if (r.outcome == Outcome::tls_intercepted || r.outcome == Outcome::proxy_auth_required)
      add_unique(pinned_blocked_, r.host);
    if (r.outcome == Outcome::tls_untrusted && r.tls && r.tls->error == "pin_mismatch")
      add_unique(stale_pins_, r.host);
  }
  if (r.outcome == Outcome::tls_intercepted && !r.row.expect().trust.empty()) {
    // A pinned host is never excused as blob storage is: the sensor itself refuses the chain.
    add_unique(todo_of(r.proxy).exclude_inspection, r.host);
  } else if (r.outcome == Outcome::tls_intercepted) {
    if (!excluded_from_inspection(r.host)) {
      reached = true;
      add_unique(blob_notes_[r.proxy], r.host);
    } else {
      add_unique(todo_of(r.proxy).exclude_inspection, r.host);
    }
  } else if (inspected_untrusted(r, verified_) && excluded_from_inspection(r.host)) {
    add_unique(todo_of(r.proxy).exclude_inspection, r.host);
  } else if (r.outcome == Outcome::proxy_auth_required) {
    add_unique(todo_of(r.proxy).allow_anonymous, r.host);
  }
  return reached;
}

void Tally::count_listed(const probe::Result& r, std::size_t url, bool reached) {
  auto [p, added] = proxy_index_.emplace(std::pair(r.proxy_name, r.proxy), proxies_.size());
  if (added) proxies_.push_back({r.proxy_name, r.proxy, {}, {}});
  auto& proxy = proxies_[p->second];
  if (reached) {
    proxy.reached.insert(url);
    proxy.failed.erase(url);
  } else if (!proxy.reached.count(url)) {
    add_unique(proxy.failed[url], std::string(probe::outcome_name(r.outcome)));
  }
}

void Tally::count_method(const probe::Result& r, UrlState& u, bool reached) {
  if (reached) {
    u.reached.insert(r.route);
    u.failed.erase(r.route);
  } else {
    if (!u.reached.count(r.route)) u.failed.insert(r.route);
    add_unique(u.outcomes, std::string(probe::outcome_name(r.outcome)));
  }
}

void Tally::count(Readiness& out) {
  std::map<std::string, GeographyReadiness> by_geo;
  std::vector<std::string> geo_order;
  for (const auto& p : proxies_) out.proxies.push_back({p.name, p.proxy, 0, false, {}});
  for (std::size_t i = 0; i < urls_.size(); ++i) {
    const auto& u = urls_[i];
    if (!u.required) continue;
    if (!u.skipped.empty() && u.reached.empty() && u.failed.empty()) {
      out.skipped.push_back({u.url, u.geography, u.skipped});
      continue;
    }
    for (std::size_t k = 0; k < proxies_.size(); ++k) {
      if (proxies_[k].reached.count(i))
        ++out.proxies[k].required_ok;
      else if (const auto f = proxies_[k].failed.find(i); f != proxies_[k].failed.end())
        out.proxies[k].unreachable.push_back({u.url, u.geography, f->second});
    }
    ++out.required;
    auto [g, fresh] = by_geo.emplace(u.geography, GeographyReadiness{u.geography});
    if (fresh) geo_order.push_back(u.geography);
    ++g->second.required;
    for (auto method : u.reached) ++methods_[method].required_ok;
    if (reached_by_sensor(u.reached)) {
      ++out.reachable;
      ++g->second.reachable;
    } else if (!methods_.empty()) {  // with no method route, no method failed it
      out.unreachable.push_back({u.url, u.geography, u.outcomes});
    }
  }
  std::stable_partition(geo_order.begin(), geo_order.end(),
                        [](const auto& g) { return worldwide(g); });
  for (const auto& g : geo_order) out.by_geography.push_back(by_geo[g]);
  out.geographies = geographies(geo_order);
  out.ready = out.reachable == out.required;

  for (auto& [method, m] : methods_) {
    m.all = m.configured && m.required_ok == out.required;
    out.methods.push_back(m);
  }
  for (auto& p : out.proxies) p.all = p.required_ok == out.required;
}

// For the verdict line: WW first, then --geo (or those seen), as given.
std::string Tally::geographies(const std::vector<std::string>& seen) const {
  std::vector<std::string> geos{"WW"};
  for (const auto& g : options_.geo.empty() ? seen : options_.geo)
    if (!worldwide(g)) add_unique(geos, g);
  return join(geos, "+");
}

void Tally::add_advice(Readiness& out) {
  for (auto& [proxy, t] : todo_) {
    std::sort(t.allow_anonymous.begin(), t.allow_anonymous.end());
    std::sort(t.exclude_inspection.begin(), t.exclude_inspection.end());
    out.todo.push_back(t);
  }
}

void Tally::add_notes(Readiness& out) {
  if (!options_.enterprise_auth_proxy_disabled.empty()) {
    std::vector<std::string> asking;  // the proxies that answered 407
    std::size_t hosts = 0;
    for (const auto& [proxy, t] : todo_)
      if (!t.allow_anonymous.empty()) {
        asking.push_back(proxy);
        hosts += t.allow_anonymous.size();
      }
    std::string note = fmt::format(
        "DisableEnterpriseAuthProxy is 1 ({}): the sensor will not use an authenticated proxy, "
        "so a proxy that answers 407 is a blocker for it",
        options_.enterprise_auth_proxy_disabled);
    if (!asking.empty())
      note += fmt::format(
          "; {} answered 407 for {} host{}: allow anonymous traffic for {} (To do above)",
          join(asking, ", "), hosts, hosts == 1 ? "" : "s", hosts == 1 ? "it" : "them");
    out.notes.push_back(std::move(note));
  }
  for (auto& [proxy, hosts] : blob_notes_) {
    std::sort(hosts.begin(), hosts.end());
    out.notes.push_back(fmt::format(
        "HTTPS inspection {} of {} counted as reachable: the vendor says blob storage "
        "(*.blob.core.windows.net) must not be excluded from inspection",
        proxy.empty() ? std::string("on the direct path") : "on " + proxy, join(hosts, ", ")));
  }

  if (!pinned_blocked_.empty()) {
    std::sort(pinned_blocked_.begin(), pinned_blocked_.end());
    out.notes.push_back(fmt::format(
        "The sensor pins the roots of {}: the vendor says HTTPS inspection of these connections "
        "is not supported and proxy authentication breaks them; exclude them from inspection "
        "and do not require proxy authentication for them",
        join(pinned_blocked_, ", ")));
  }
  if (!stale_pins_.empty()) {
    std::sort(stale_pins_.begin(), stale_pins_.end());
    out.notes.push_back(fmt::format(
        "{} chain{} to a public root outside {} pin: nobody is inspecting; the vendor changed "
        "CAs or the pin is out of date (README \"Pins\": confirm with openssl s_client "
        "-showcerts, then --pin NAME=FILE)",
        join(stale_pins_, ", "), stale_pins_.size() == 1 ? "s" : "",
        stale_pins_.size() == 1 ? "its" : "their"));
  }

  if (local_errors_)
    out.notes.push_back(fmt::format(
        "{} could not be made on this machine (local_error: out of file descriptors, local "
        "ports or memory); this says nothing about the network: re-run with a lower "
        "--concurrency",
        local_errors_ == 1 ? std::string("1 probe") : fmt::format("{} probes", local_errors_)));

  if (auto note = named_fallback_note(); !note.empty()) out.notes.push_back(std::move(note));
}

// A named proxy that fails: the sensor falls back to the other methods.
std::string Tally::named_fallback_note() const {
  const auto named = methods_.find(Method::named);
  if (named == methods_.end() || !named->second.configured) return {};
  std::size_t failing = 0, fallback = 0;
  std::set<Method> via;
  for (const auto& u : urls_) {
    if (!u.required || !u.failed.count(Method::named)) continue;
    ++failing;
    if (reached_by_sensor(u.reached)) ++fallback;
    for (auto method : u.reached)
      if (method != Method::defender) via.insert(method);
  }
  if (!failing) return {};
  std::vector<std::string> titles;
  for (auto method : via) titles.emplace_back(route::method_title(method));
  const auto it = proxy_of_.find(Method::named);
  const auto proxy = it != proxy_of_.end() ? fmt::format(" ({})", it->second) : "";
  const auto what = failing == 1 ? "1 required URL" : fmt::format("{} required URLs", failing);
  if (fallback == failing)
    return fmt::format("Named proxy{} fails for {}; the sensor falls back to {}, which reach{} {}",
                       proxy, what, join(titles, ", "), titles.size() == 1 ? "es" : "",
                       failing == 1 ? "it" : "all of them");
  if (fallback)
    return fmt::format(
        "Named proxy{} fails for {}; the sensor falls back to {}, which reach{} {} "
        "of them; no method reaches the other {}",
        proxy, what, join(titles, ", "), titles.size() == 1 ? "es" : "", fallback,
        failing - fallback);
  return fmt::format("Named proxy{} fails for {}; no other method reaches {} either", proxy, what,
                     failing == 1 ? "it" : "them");
}

bool ip_literal(std::string_view host) {
  return host.find(':') != std::string_view::npos ||
         host.find_first_not_of("0123456789.") == std::string_view::npos;
}

// What a firewall team allows by name, and the addresses its static-IP rules would miss.
void add_dns_evidence(const std::vector<const probe::Result*>& sorted,
                      const ReadinessOptions& options, Readiness& out) {
  // In sweep order, each CNAME target right after the host that led to it, each name once.
  std::set<std::string> listed;
  std::set<std::pair<std::string, std::string>> untagged;  // (URL, address)
  for (const auto* r : sorted) {
    if (!selected(r->row.geography(), options.geo) || r->outcome == Outcome::not_configured ||
        r->outcome == Outcome::skipped || r->host.empty() || ip_literal(r->host))
      continue;
    const auto host = lower(r->host);
    if (listed.insert(host).second) out.allow_names.push_back({host, {}});
    if (!r->dns) continue;
    for (const auto& name : r->dns->cnames)
      if (listed.insert(lower(name)).second) out.allow_names.push_back({lower(name), host});
    if (!r->dns->tagged()) continue;
    out.service_tags = true;
    if (!r->row.is_required()) continue;
    for (std::size_t i = 0; i < r->dns->addresses.size(); ++i) {
      const auto& tags = r->dns->service_tags[i];
      const bool covered = std::any_of(tags.begin(), tags.end(), [](const std::string& tag) {
        return std::find(std::begin(kDefenderServiceTags), std::end(kDefenderServiceTags), tag) !=
               std::end(kDefenderServiceTags);
      });
      if (!covered && untagged.emplace(r->url, r->dns->addresses[i]).second)
        out.outside_service_tags.push_back({r->url, r->dns->addresses[i], tags});
    }
  }
}

}  // namespace

bool excluded_from_inspection(std::string_view host) {
  const auto h = lower(host);
  return !ends_with(h, ".blob.core.windows.net") && !ends_with(h, ".blob.core.usgovcloudapi.net");
}

void UrlReachTally::add(const probe::Result& r) {
  if (r.route == Method::proxy_list || r.outcome == probe::Outcome::not_configured ||
      r.outcome == probe::Outcome::skipped)
    return;
  const auto [at, added] = index_.try_emplace(r.url, urls_.size());
  if (added) urls_.push_back(UrlReach{r.url, r.row.geography(), r.row.is_required(), false});
  if (r.outcome == probe::Outcome::ok && r.route != Method::defender)
    urls_[at->second].reached = true;
}

Readiness assess(const std::vector<probe::Result>& results, const ReadinessOptions& options) {
  const auto sorted = in_sweep_order(results, options);
  Tally tally(options, verified_issuers(sorted));
  Readiness out;
  for (const auto* r : sorted) tally.add(*r, out);
  tally.count(out);
  tally.add_advice(out);
  tally.add_notes(out);
  add_dns_evidence(sorted, options, out);
  return out;
}

std::string readiness_text(const Readiness& r) {
  if (!r.any_results) return {};
  std::string text = "\nReadiness\n";
  const auto missing = r.required - r.reachable;
  if (r.methods.empty())
    text += "  Verdict: no method route in these results; each proxy below\n";
  else
    text += fmt::format(
        "  Verdict: {} of {} required URLs reachable ({}); {}\n", r.reachable, r.required,
        r.geographies,
        missing ? fmt::format("{} unreachable by every method", missing) : std::string("ready"));
  // Lists come one item a line: a sheet's worth of hosts on one line runs off any terminal.
  if (r.by_geography.size() > 1 && !r.methods.empty()) {
    text += "  By geography:\n";
    for (const auto& g : r.by_geography)
      text += fmt::format("    {} {}/{}\n", g.geography.empty() ? "(none)" : g.geography,
                          g.reachable, g.required);
  }
  std::vector<std::string> all;
  for (const auto& m : r.methods)
    if (m.all && m.method != Method::defender) all.emplace_back(route::method_title(m.method));
  if (!r.methods.empty())
    text += fmt::format("  Methods that reach every required URL: {}\n",
                        all.empty() ? "none" : join(all, ", "));
  for (const auto& m : r.methods) {
    if (m.configured)
      text += fmt::format(
          "  {} - {}: {}/{} required URLs{}\n", static_cast<int>(m.method),
          route::method_title(m.method), m.required_ok, r.required,
          m.method == Method::defender ? " (the antivirus's own: not in the verdict)" : "");
    else
      text += fmt::format("  {} - {}: not configured\n", static_cast<int>(m.method),
                          route::method_title(m.method));
  }
  if (!r.proxies.empty()) {
    std::vector<std::string> every;
    for (const auto& p : r.proxies)
      if (p.all) every.push_back(probe::proxy_label(p.name, p.proxy));
    text += fmt::format("  Proxies that reach every required URL: {}\n",
                        every.empty() ? "none" : join(every, ", "));
  }
  for (const auto& p : r.proxies) {
    text += fmt::format("  Proxy {}: {}/{} required URLs", probe::proxy_label(p.name, p.proxy),
                        p.required_ok, r.required);
    if (p.required_ok == 0 && !p.unreachable.empty()) {
      // Nothing gets through: the causes, not every URL again.
      std::vector<std::string> outcomes;
      for (const auto& u : p.unreachable)
        for (const auto& o : u.outcomes) add_unique(outcomes, o);
      text += fmt::format(" ({})", join(outcomes, ", "));
    } else if (!p.unreachable.empty()) {
      text += "; unreachable through it:";
      for (const auto& u : p.unreachable)
        text += fmt::format("\n    {} ({})", u.url, join(u.outcomes, ", "));
    }
    text += '\n';
  }
  for (const auto& t : r.todo) {
    text += t.proxy.empty() ? std::string("  To do on the direct path:\n")
                            : fmt::format("  To do on {}:\n", t.proxy);
    if (!t.allow_anonymous.empty()) {
      text += "    allow anonymous traffic for:\n";
      for (const auto& host : t.allow_anonymous) text += fmt::format("      {}\n", host);
    }
    if (!t.exclude_inspection.empty()) {
      text += "    exclude from HTTPS inspection:\n";
      for (const auto& host : t.exclude_inspection) text += fmt::format("      {}\n", host);
    }
  }
  if (!r.unreachable.empty()) {
    text += "  Unreachable by every method:\n";
    for (const auto& u : r.unreachable)
      text += u.outcomes.empty() ? fmt::format("    {}\n", u.url)
                                 : fmt::format("    {} ({})\n", u.url, join(u.outcomes, ", "));
  }
  if (!r.skipped.empty()) {
    text += "  Not probed (not counted):\n";
    for (const auto& u : r.skipped) text += fmt::format("    {}: {}\n", u.url, u.reason);
  }
  if (!r.transparent.empty()) {
    text += "  Direct traffic passes through a transparent proxy:\n";
    for (const auto& t : r.transparent) text += fmt::format("    {} ({})\n", t.url, t.evidence);
  }
  for (const auto& note : r.notes) text += fmt::format("  Note: {}\n", note);
  // Only when DNS led somewhere else: the probed hosts alone are the sheet the reader already has.
  if (std::any_of(r.allow_names.begin(), r.allow_names.end(),
                  [](const AllowedName& n) { return !n.alias_of.empty(); })) {
    text +=
        "  Names to allow where a proxy or firewall allows by name (CNAME targets under their "
        "host):\n";
    for (const auto& n : r.allow_names)
      text += n.alias_of.empty() ? fmt::format("    {}\n", n.name)
                                 : fmt::format("      {} (CNAME via {})\n", n.name, n.alias_of);
  }
  if (!r.outside_service_tags.empty()) {
    // Static-IP firewall rules written for these tags would block them (README, "DNS evidence").
    text += fmt::format("  Warning: required URLs in neither {} nor {}:\n", kDefenderServiceTags[0],
                        kDefenderServiceTags[1]);
    for (const auto& u : r.outside_service_tags)
      text += fmt::format("    {} {} ({})\n", u.url, u.address,
                          u.tags.empty() ? "in no service tag" : "in " + join(u.tags, ", "));
  }
  // Notes are sentences that may name many hosts: wrapped at spaces, no host is broken.
  return detail::wrap_lines(text);
}

void append_readiness_json(std::string& out, const Readiness& r, bool labels) {
  using detail::append_json_string;
  auto strings = [&](const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, items[i]);
    }
    out += ']';
  };
  fmt::format_to(std::back_inserter(out),
                 "{{\"verdict\":\"{}\",\"required\":{},\"reachable\":{},\"geographies\":",
                 r.ready ? "ready" : "not_ready", r.required, r.reachable);
  append_json_string(out, r.geographies);
  out += ",\"by_geography\":[";
  for (std::size_t i = 0; i < r.by_geography.size(); ++i) {
    if (i) out += ',';
    out += "{\"geography\":";
    append_json_string(out, r.by_geography[i].geography);
    fmt::format_to(std::back_inserter(out), ",\"required\":{},\"reachable\":{}}}",
                   r.by_geography[i].required, r.by_geography[i].reachable);
  }
  out += "],\"methods\":{";
  bool first = true;
  for (const auto& m : r.methods) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, route::method_name(m.method));
    out += ":{\"title\":";
    append_json_string(out, route::method_title(m.method));
    fmt::format_to(std::back_inserter(out), ",\"configured\":{},\"required_ok\":{},\"all\":{}}}",
                   m.configured ? "true" : "false", m.required_ok, m.all ? "true" : "false");
  }
  out += "},\"proxies\":[";
  for (std::size_t i = 0; i < r.proxies.size(); ++i) {
    const auto& p = r.proxies[i];
    out += i ? ",{\"name\":" : "{\"name\":";
    append_json_string(out, p.name);
    out += ",\"proxy\":";
    append_json_string(out, p.proxy);
    if (labels) {
      out += ",\"label\":";
      append_json_string(out, probe::proxy_label(p.name, p.proxy));
    }
    fmt::format_to(std::back_inserter(out), ",\"required_ok\":{},\"all\":{},\"unreachable\":[",
                   p.required_ok, p.all ? "true" : "false");
    for (std::size_t k = 0; k < p.unreachable.size(); ++k) {
      out += k ? ",{\"url\":" : "{\"url\":";
      append_json_string(out, p.unreachable[k].url);
      out += ",\"outcomes\":";
      strings(p.unreachable[k].outcomes);
      out += '}';
    }
    out += "]}";
  }
  out += "],\"todo\":[";
  for (std::size_t i = 0; i < r.todo.size(); ++i) {
    if (i) out += ',';
    out += "{\"proxy\":";
    append_json_string(out, r.todo[i].proxy);
    out += ",\"allow_anonymous\":";
    strings(r.todo[i].allow_anonymous);
    out += ",\"exclude_inspection\":";
    strings(r.todo[i].exclude_inspection);
    out += '}';
  }
  out += "],\"unreachable\":[";
  for (std::size_t i = 0; i < r.unreachable.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.unreachable[i].url);
  }
  out += "],\"skipped\":[";
  for (std::size_t i = 0; i < r.skipped.size(); ++i) {
    if (i) out += ',';
    out += "{\"url\":";
    append_json_string(out, r.skipped[i].url);
    out += ",\"geography\":";
    append_json_string(out, r.skipped[i].geography);
    out += ",\"reason\":";
    append_json_string(out, r.skipped[i].reason);
    out += '}';
  }
  out += "],\"transparent_proxy\":[";
  for (std::size_t i = 0; i < r.transparent.size(); ++i) {
    if (i) out += ',';
    out += "{\"url\":";
    append_json_string(out, r.transparent[i].url);
    out += ",\"evidence\":";
    append_json_string(out, r.transparent[i].evidence);
    out += '}';
  }
  out += "],\"notes\":";
  strings(r.notes);
  out += ",\"allow_names\":[";
  for (std::size_t i = 0; i < r.allow_names.size(); ++i) {
    out += i ? ",{\"name\":" : "{\"name\":";
    append_json_string(out, r.allow_names[i].name);
    if (!r.allow_names[i].alias_of.empty()) {
      out += ",\"cname_of\":";
      append_json_string(out, r.allow_names[i].alias_of);
    }
    out += '}';
  }
  out += ']';
  if (r.service_tags) {
    out += ",\"outside_service_tags\":[";
    for (std::size_t i = 0; i < r.outside_service_tags.size(); ++i) {
      const auto& u = r.outside_service_tags[i];
      out += i ? ",{\"url\":" : "{\"url\":";
      append_json_string(out, u.url);
      out += ",\"address\":";
      append_json_string(out, u.address);
      out += ",\"tags\":";
      strings(u.tags);
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

}  // namespace urlprobe::report
