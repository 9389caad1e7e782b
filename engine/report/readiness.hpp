// Readiness (issue 11): a sweep turned into the network team's answer and to-do list, by the
// vendor's rules. A URL is reachable when any method route reaches it; the verdict counts the
// required URLs of the selected geographies (WW always); advice is grouped by proxy. Entries of
// --proxies are egress routes of their own: each gets its count and its unreachable URLs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "probe/result.hpp"

namespace urlprobe::report {

struct ReadinessOptions {
  std::vector<std::string> geo;  // --geo: non-WW rows count only for these; empty: all rows count
  // false: results of --proxies entries are left out, as the sweep's --require any-method has it
  bool proxy_lists = true;
  // --registry set DisableEnterpriseAuthProxy=1: where ("policy.reg:6"); empty: not set. The
  // sensor then never authenticates to a proxy, so a 407 blocks it whatever credentials exist.
  std::string enterprise_auth_proxy_disabled = {};
};

struct MethodReadiness {
  route::Method method = route::Method::direct;
  bool configured = false;      // some result was not "not_configured"
  std::size_t required_ok = 0;  // required URLs this method reaches
  bool all = false;             // configured and reaches every required URL
};

struct ProxyTodo {
  std::string proxy;                            // redacted; empty: the direct path
  std::vector<std::string> allow_anonymous;     // hosts that answered proxy_auth_required
  std::vector<std::string> exclude_inspection;  // hosts whose TLS the proxy intercepted
};

struct UnreachableUrl {
  std::string url;
  std::string geography;
  std::vector<std::string> outcomes;  // distinct failures over the configured methods
};

// Direct traffic that met a proxy nobody configured: an http:// response with Via or X-Cache, or
// an https:// chain anchored outside the public roots.
struct TransparentProxyEvidence {
  std::string url;
  std::string evidence;  // "Via: 1.1 proxy (squid/5.7)", "TLS issued by CN=..."
};

// A required row that cannot be probed as written (a wildcard host): not counted either way.
struct SkippedUrl {
  std::string url;
  std::string geography;
  std::string reason;  // the result's detail: what would make it probeable
};

// An entry of --proxies: an egress route of its own, counted apart from the five methods (a
// device uses its methods; a list names the proxies a network team wants checked, e.g. per site).
struct ProxyReadiness {
  std::string name;                         // the list's name=, if any
  std::string proxy;                        // redacted
  std::size_t required_ok = 0;              // required URLs reached through it
  bool all = false;                         // reaches every required URL
  std::vector<UnreachableUrl> unreachable;  // required URLs it does not reach, with its outcome
};

// DNS evidence (issue 21). A name a proxy or firewall that allows by name must allow: a probed
// host, or a CNAME target its answer went through (alias_of names that host).
struct AllowedName {
  std::string name;
  std::string alias_of;  // empty for a probed host
};

// With --service-tags: an address of a required URL that is in none of the tags Defender's
// static-IP rules are written for (kDefenderServiceTags): such a rule would miss it.
struct UntaggedAddress {
  std::string url;
  std::string address;
  std::vector<std::string> tags;  // the tags it is in, if any
};
inline constexpr std::string_view kDefenderServiceTags[] = {"MicrosoftDefenderForEndpoint",
                                                            "OneDsCollector"};

struct GeographyReadiness {
  std::string geography;  // as the sheet says; "" for rows without one
  std::size_t required = 0, reachable = 0;
};

struct Readiness {
  bool ready = false;         // every required URL is reachable by some method
  bool any_results = false;   // some method-route result was seen
  std::size_t required = 0;   // required URLs of the selected geographies
  std::size_t reachable = 0;  // ... reachable by at least one method
  std::string geographies;    // "WW+EU", for the verdict line
  std::vector<GeographyReadiness> by_geography;
  std::vector<MethodReadiness> methods;  // the methods seen, in the analyzer's order
  std::vector<ProxyReadiness> proxies;   // the listed proxies seen, in sweep order
  std::vector<ProxyTodo> todo;           // by proxy, sorted
  std::vector<UnreachableUrl> unreachable;
  std::vector<SkippedUrl> skipped;  // required rows no method can probe as written
  std::vector<TransparentProxyEvidence> transparent;  // by URL, first evidence each
  std::vector<std::string> notes;                     // the blob exception, named-proxy fallback
  // DNS evidence: probed hosts in sweep order, each followed by its CNAME targets, each name once.
  std::vector<AllowedName> allow_names;
  bool service_tags = false;  // some address was looked up in --service-tags
  std::vector<UntaggedAddress> outside_service_tags;
};

// The vendor: HTTPS inspection must be disabled for the service's hosts, except blob storage
// (*.blob.core.windows.net, *.blob.core.usgovcloudapi.net), which must never be excluded.
bool excluded_from_inspection(std::string_view host);

// Whether some method route reached each URL, one result at a time (for the formats that
// stream). Entries of --proxies are egress routes of their own and do not count, nor do results
// that probed nothing (not_configured, skipped).
struct UrlReach {
  std::string url, geography;
  bool required = false;
  bool reached = false;  // some method route's outcome was ok
};
class UrlReachTally {
 public:
  void add(const probe::Result& result);
  const std::vector<UrlReach>& urls() const { return urls_; }  // in the order first seen

 private:
  std::vector<UrlReach> urls_;
  std::unordered_map<std::string, std::size_t> index_;
};

// Pure: rows outside the selected geographies are ignored; proxy-list results count per proxy
// (proxies, and advice in todo), never toward the methods' verdict.
Readiness assess(const std::vector<probe::Result>& results, const ReadinessOptions& options);

// The text format's "Readiness" section (starts with a blank line); empty without method results.
std::string readiness_text(const Readiness& readiness);

// The json document's "readiness" object. `labels`: each proxy also carries its "label"
// (probe::proxy_label), for the html page, which shows it; the json format has none.
void append_readiness_json(std::string& out, const Readiness& readiness, bool labels = false);

}  // namespace urlprobe::report
