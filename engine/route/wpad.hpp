// Route wpad: getting the PAC script (--pac FILE|URL) and deciding every URL's chain before the
// sweep, so no event loop ever waits on JavaScript or on the script's DNS lookups.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "net/resolver.hpp"
#include "route/route.hpp"

namespace urlprobe::route {

struct PacSource {
  std::string location;  // the file or URL it came from
  std::string text;
  std::string sha256;    // hex, for the summary: which script decided
};

// A file, or an http:// URL fetched directly (never through a proxy), at most 1 MiB, within
// `deadline`. Throws std::runtime_error naming the location and the reason.
PacSource load_pac(const std::string& location, const net::ResolverConfig& dns, std::chrono::milliseconds deadline);

struct PacTarget {
  std::string url, host;
};

// Evaluates the script for each target (once per host when the script only looks at hosts).
// Throws PacError when the script does not load; per-URL failures land in PacDecision::error.
std::shared_ptr<const PacDecisions> decide_pac(const PacSource& source, const std::vector<PacTarget>& targets,
                                               const net::ResolverConfig& dns, const std::string& my_ip);

// The address this host would use to reach the outside (for myIpAddress), without traffic.
std::string local_address();

}  // namespace urlprobe::route
