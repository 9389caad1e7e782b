// The gateway an MDE onboarding package points devices at, so that a probe run can keep the
// targets of that one geography (--onboarding FILE, --gateway NAME).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::sheet {

struct Onboarding {
  std::string gateway;  // "GW_EU" (streamlined package) or "EU" (vortexGeoLocation of an older one)
  std::string datacenter;  // e.g. "WestEurope3"; empty when the package does not say
  // "GW_EU token" or "vortexGeoLocation", with " (base64)" when found inside decoded base64:
  // for the message "gateway GW_EU, datacenter WestEurope3 from FILE".
  std::string found_by;
};

// An onboarding package is a few KiB; anything much larger is the wrong file.
inline constexpr std::size_t kMaxOnboardingBytes = std::size_t{4} << 20;

// Any package shape: WindowsDefenderATPOnboardingScript.cmd, the Linux/macOS .py installer,
// mdatp_onboard.json, a .plist/.xml profile, the onboarding blob itself or base64 of it. The
// cross-platform analyzer's rule: the first GW_xx token, else the vortexGeoLocation value (the
// JSON may be escaped to any depth). The result is not checked against valid_gateway(). Throws
// SheetError("SOURCE: ...") when neither is there.
Onboarding parse_onboarding(std::string_view text, const std::string& source);
// The same from a file: missing, unreadable, a directory or over kMaxOnboardingBytes is a
// SheetError naming it.
Onboarding read_onboarding(const std::string& path);

// GW_US, GW_EU, GW_UK, GW_AU and the standard-connectivity regions US, EU, UK, AU, in any case.
bool valid_gateway(std::string_view name);
// Upper case: "gw_eu" -> "GW_EU".
std::string normalise_gateway(std::string_view name);
// The geographies a gateway keeps in a target list, streamlined first: {"GW_EU", "EU"} for GW_EU
// or EU. Both, because a region's URLs sit under the two names (the analyzer sheet's GW_EU rows
// and the docs' EU rows) and a device may need either: Windows 1607-1803 onboarded with a
// streamlined package still use the standard list. Empty for an empty name.
std::vector<std::string> gateway_geographies(std::string_view gateway);

}  // namespace urlprobe::sheet
