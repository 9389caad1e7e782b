// The names reports give a route, built from plain values so that a live sweep's route and a
// record read back from JSONL are named alike, and no format rebuilds a name its own way.
#pragma once

#include <string>
#include <string_view>

#include "route/route.hpp"

namespace urlprobe::route {

// A column of the html grid, a junit suite: the method's name ("direct"); an entry of a proxy
// list is "proxy NAME", or "proxy URL" when it has no name. `proxy` is redacted.
std::string label(Method method, std::string_view proxy_name, std::string_view proxy);

// An entry of a proxy list on a line of its own (readiness, the text matrix's legend):
// "paris (http://10.0.0.6:3128)", or the redacted URL alone when it has no name.
std::string proxy_label(std::string_view proxy_name, std::string_view proxy);

// Where a probe went (diff): the method's name, and " via URL" when it went through a proxy.
std::string label_via(Method method, std::string_view proxy);

}  // namespace urlprobe::route
