// --windows-version: the URLs a Windows device of that release does not use are dropped from the
// target list, so that its report is not failed by hosts the device never calls.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sheet/target.hpp"

namespace urlprobe::sheet {

struct WindowsVersion {
  int build = 0;     // OS build number, e.g. 17134 for 1803
  std::string text;  // as given, trimmed and upper-cased: "1803", "22H2", "10.0.19045.3803"
};

// A Windows 10 release name (1507 ... 22H2), a Windows 11 one (23H2, 24H2, 25H2), "10.0.BUILD"
// or "10.0.BUILD.REV", or a build number of 10240 or more. Otherwise nullopt, and ERROR says
// which forms are accepted.
std::optional<WindowsVersion> parse_windows_version(std::string_view text, std::string& error);

// Builds the rule turns on.
inline constexpr int kBuild1803 = 17134;
inline constexpr int kBuild1809 = 17763;

struct WindowsRuleOutcome {
  std::size_t dropped = 0;
  std::vector<std::string> reasons;  // one line per kind of drop, with its count, for CLI notes
};

// Drops the targets (skipped wildcard ones too, by the host they name) that VERSION does not use;
// the others keep their order. STREAMLINED: the device is onboarded with a streamlined package
// (the CLI's test: a target whose geography starts with "GW_").
WindowsRuleOutcome apply_windows_version(TargetList& list, const WindowsVersion& version,
                                         bool streamlined);

// The rule in three lines, for --help and the README.
std::string windows_rule_text();

}  // namespace urlprobe::sheet
