// What the command line asks to probe: built-ins, sheets and URLs, narrowed to the device's
// gateway and Windows version, each pinned URL checked against the pins this run knows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/pins.hpp"
#include "net/service_tags.hpp"
#include "options.hpp"
#include "sheet/target.hpp"

namespace urlprobe::cli {

// The shipped pins with --pin's files applied; throws UsageError naming the option or file.
std::vector<net::Pin> load_pins(const Options& options);

// --service-tags FILE read and indexed; null without it. Throws UsageError "FILE:LINE:COL: ..."
// for a file that is not a service tags document.
std::shared_ptr<const net::ServiceTags> load_service_tags(const Options& options);

// Throws sheet::SheetError for an input that cannot be used at all (an unreadable sheet or
// onboarding package) and UsageError for options that contradict each other. A row naming an
// unknown pin becomes an input error and is dropped. `notes` gets what was chosen and why
// (the gateway found in a package, the rows the Windows version dropped).
sheet::TargetList load_targets(const Options& options, const std::vector<net::Pin>& pins,
                               std::vector<std::string>& notes);

// Pins some target trusts whose roots have all expired: one warning each.
std::vector<std::string> expired_pin_warnings(const sheet::TargetList& list,
                                              const std::vector<net::Pin>& pins);

}  // namespace urlprobe::cli
