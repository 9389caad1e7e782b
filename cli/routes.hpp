// Turning the route options and the environment into the sweep's routes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "options.hpp"
#include "route/build.hpp"
#include "route/route.hpp"
#include "sheet/target.hpp"

namespace urlprobe::cli {

// What --winhttp and --registry set, for --verbose, the json run metadata and readiness.
struct ImportedConfig {
  std::vector<route::ImportedSetting> settings;
  std::string enterprise_auth_proxy_disabled;  // "FILE:LINE" of DisableEnterpriseAuthProxy=1
};

// The options and the environment as a route::RouteConfig, built by route::build. Throws
// UsageError for a bad option value or environment proxy (never echoing a password); bad lines of
// --proxies become input errors and are skipped.
// `targets` are needed by route wpad: the PAC script decides each URL before the sweep.
// `notes` gets lines for the summary (which PAC script decided). --winhttp and --registry are
// read here: a file that cannot be read or has a malformed line is a UsageError naming every bad
// FILE:LINE; `imported` (when given) gets what they set.
std::vector<route::Route> build_routes(const Options& options,
                                       const std::map<std::string, std::string>& environment,
                                       const std::vector<sheet::Target>& targets,
                                       std::vector<sheet::InputError>& input_errors,
                                       std::vector<std::string>& notes,
                                       ImportedConfig* imported = nullptr);

// `urlprobe pac FILE|URL URL...`: prints each URL's answer; returns the exit code.
int print_pac_answers(const Options& options);

std::map<std::string, std::string> proxy_environment();  // the *_proxy variables of this process

}  // namespace urlprobe::cli
