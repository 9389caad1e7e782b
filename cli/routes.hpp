// Turning the route options and the environment into the sweep's routes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "options.hpp"
#include "route/route.hpp"
#include "sheet/target.hpp"

namespace urlprobe::cli {

// The options and the environment as a route::RouteConfig, built by route::build. Throws
// UsageError for a bad option value or environment proxy (never echoing a password); bad lines of
// --proxies become input errors and are skipped.
// `targets` are needed by route wpad: the PAC script decides each URL before the sweep.
// `notes` gets lines for the summary (which PAC script decided).
std::vector<route::Route> build_routes(const Options& options,
                                       const std::map<std::string, std::string>& environment,
                                       const std::vector<sheet::Target>& targets,
                                       std::vector<sheet::InputError>& input_errors,
                                       std::vector<std::string>& notes);

// `urlprobe pac FILE|URL URL...`: prints each URL's answer; returns the exit code.
int print_pac_answers(const Options& options);

std::map<std::string, std::string> proxy_environment();  // the *_proxy variables of this process

}  // namespace urlprobe::cli
