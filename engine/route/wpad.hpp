// Route wpad: getting the PAC script (--pac FILE|URL) and deciding every URL's chain before the
// sweep, so no event loop ever waits on JavaScript or on the script's DNS lookups.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/resolver.hpp"
#include "route/pac.hpp"
#include "route/route.hpp"

namespace urlprobe::route {

struct PacSource {
  std::string location;  // the file or URL it came from
  std::string text;
  std::string sha256;  // hex, for the summary: which script decided
};

// A file, or an http:// URL fetched directly (never through a proxy), at most 1 MiB, within
// `deadline`. Throws std::runtime_error naming the location and the reason.
PacSource load_pac(const std::string& location, const net::ResolverConfig& dns,
                   std::chrono::milliseconds deadline);

// The resolver PAC DNS helpers use: `dns`'s servers, each lookup bounded by what the call leaves
// it and by dns.budget. Keeps its own copy of `dns`.
PacResolve pac_resolver(const net::ResolverConfig& dns);

struct PacTarget {
  std::string url, host;
};

// Evaluates the script for each target (once per host when the script only looks at hosts).
// Throws PacError when the script does not load; per-URL failures land in PacDecision::error.
std::shared_ptr<const PacDecisions> decide_pac(const PacSource& source,
                                               const std::vector<PacTarget>& targets,
                                               const net::ResolverConfig& dns,
                                               const std::string& my_ip,
                                               const PacLimits& limits = {});

// --- WPAD discovery (route wpad without --pac) ---------------------------------------------
//
// Order: DHCP option 252 first (a URL from a lease file), then DNS: http://wpad.<domain>/wpad.dat
// for each search domain of the resolver configuration and the host's own domain, devolving
// label by label. The first script that loads wins.

// The two-label public suffixes WPAD never devolves to (wpad.co.uk would be anybody's): the
// common second-level registries under country codes (co.uk, org.uk, ac.uk, com.au, net.au,
// co.jp, ne.jp, co.nz, co.za, com.br, com.cn, co.in, co.kr, com.mx, ...; see wpad.cpp). Not
// the whole Public Suffix List: a devolution that stops one label early only costs a lookup.
bool is_two_label_public_suffix(std::string_view domain);

// The candidate URLs for these domains, in order, without duplicates: "a.b.corp.example.com" ->
// http://wpad.a.b.corp.example.com/wpad.dat, wpad.b.corp.example.com, wpad.corp.example.com,
// wpad.example.com; never wpad.<tld> nor wpad.<two-label public suffix>. Domains are
// case-folded; a trailing dot, empty labels or characters outside [A-Za-z0-9-_] drop a domain.
std::vector<std::string> wpad_candidates(const std::vector<std::string>& domains);

// The domains of a resolv.conf text: the `domain` line and every name of the `search` line(s), in
// order (glibc lets the last of the two win; WPAD tries both, search first).
std::vector<std::string> resolv_conf_domains(std::string_view text);

// PAC URLs in a DHCP lease file (option 252): dhclient's `option wpad "URL";`,
// `option option-252 "URL";` or `option wpad-url "URL";` (quoted, or colon-separated hex),
// NetworkManager's `WPAD=URL` / `wpad=URL`. Trailing NULs and "\n"/"\000" escapes are dropped.
std::vector<std::string> dhcp_wpad_urls(std::string_view lease_text);

// The search domains of this host: the resolv.conf named by $URLPROBE_RESOLV_CONF (tests) or
// /etc/resolv.conf, then the domain of gethostname() when it has a dot.
std::vector<std::string> host_domains();

// Option 252 from /var/lib/dhcp/*.leases, /var/lib/dhclient/*.lease[s] and
// /var/lib/NetworkManager/*.lease; the newest lease of a file last wins, files in name order.
std::vector<std::string> host_dhcp_wpad_urls();

struct WpadDiscovery {
  std::optional<PacSource> source;  // the script found, if any
  std::vector<std::string> tried;   // "URL (cause)" for every candidate that failed, in order
  std::string summary() const;      // "WPAD: no PAC at URL (cause), URL (cause)" or "WPAD: ..."
};

// Tries `dhcp_urls` then wpad_candidates(domains), each with load_pac (direct, 1 MiB, `deadline`
// per candidate). Never throws for a candidate that fails.
WpadDiscovery discover_wpad(const std::vector<std::string>& dhcp_urls,
                            const std::vector<std::string>& domains, const net::ResolverConfig& dns,
                            std::chrono::milliseconds deadline);

// The address this host would use to reach the outside (for myIpAddress), without traffic.
std::string local_address();

}  // namespace urlprobe::route
