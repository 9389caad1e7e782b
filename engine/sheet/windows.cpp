// The Windows release rule. Sources: the commercial URL sheet's comments (settings-win is for
// 1703 and below, the regional vortex-win hosts are not needed from 1803), the MDE Client
// Analyzer (it tests settings-win and the *-v20 hosts by OS release) and the streamlined
// connectivity pages (*.endpoint.security.microsoft.com consolidates cloud protection, sample and
// AutoIR storage, command and control and cyber data from Windows 10 1809; CRL, Windows Update,
// SmartScreen, events.data.microsoft.com and the rest are not consolidated).
#include "sheet/windows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace urlprobe::sheet {

namespace {

struct Release {
  std::string_view name;
  int build;
};

// Windows 10 releases, then the Windows 11 names that are not also Windows 10 ones. 21H2 and
// 22H2 are both: they take the Windows 10 build (19044, 19045). Windows 11's 21H2 (22000) and
// 22H2 (22621) are later than 1809 too, so the rule drops the same targets either way.
constexpr std::array<Release, 19> kReleases{{
    {"1507", 10240}, {"1511", 10586}, {"1607", 14393}, {"1703", 15063}, {"1709", 16299},
    {"1803", 17134}, {"1809", 17763}, {"1903", 18362}, {"19H1", 18362}, {"1909", 18363},
    {"19H2", 18363}, {"2004", 19041}, {"20H2", 19042}, {"21H1", 19043}, {"21H2", 19044},
    {"22H2", 19045}, {"23H2", 22631}, {"24H2", 26100}, {"25H2", 26200},
}};

// The first Windows 10 build; a build number has at most six digits (they are five today).
constexpr int kFirstBuild = 10240;
constexpr std::size_t kMaxBuildDigits = 6;

std::optional<int> build_number(std::string_view digits) {
  if (digits.empty() || digits.size() > kMaxBuildDigits ||
      digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  int n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

std::string accepted_forms() {
  std::string names;
  for (const auto& r : kReleases) {
    if (r.name == "19H1" || r.name == "19H2") continue;  // aliases, not worth listing
    if (!names.empty()) names += r.name == "23H2" ? "; Windows 11: " : ", ";
    names += r.name;
  }
  return fmt::format(
      "give a release (Windows 10: {}), an OS version 10.0.BUILD[.REV] such as 10.0.19045, or a "
      "build number of {} or more",
      names, kFirstBuild);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.ends_with(suffix);
}

// The host as the rule reads it: lower case, without a root dot.
std::string host_of(const Target& target) {
  std::string host = target.host;
  for (auto& c : host)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

// "LABEL.DOMAIN" with LABEL one label: LABEL, else empty.
std::string_view label_under(std::string_view host, std::string_view domain) {
  if (host.size() <= domain.size() + 1 || !ends_with(host, domain)) return {};
  const auto label = host.substr(0, host.size() - domain.size());
  if (label.back() != '.') return {};
  const auto name = label.substr(0, label.size() - 1);
  return name.find('.') == std::string_view::npos ? name : std::string_view{};
}

bool settings_win(std::string_view host) {
  return host == "settings-win.data.microsoft.com";
}

// us-v20, eu-v20, us4-v20 and plain v20 .events.data.microsoft.com: the cyber-data channel of
// Windows 1803 and later. Not *.events.data.microsoft.com, which covers more than these.
bool v20_host(std::string_view host) {
  const auto label = label_under(host, "events.data.microsoft.com");
  return label == "v20" || ends_with(label, "-v20");
}

bool command_and_control(std::string_view host) {
  for (const auto domain : {"microsoft.com", "microsoft.us"}) {
    const auto label = label_under(host, domain);
    if (label.size() > 10 && label.starts_with("winatp-gw-")) return true;
  }
  return false;
}

// x.cp.wd, europe.x.cp.wd, unitedstates.cp.wd (.microsoft.com and .microsoft.us), the MAPS
// wildcards. Not *.wd.microsoft.us: the gov SmartScreen hosts (*.ss.wd.microsoft.us) are under it.
bool cloud_protection(std::string_view host) {
  return ends_with(host, ".cp.wd.microsoft.com") || ends_with(host, ".cp.wd.microsoft.us") ||
         ends_with(host, ".wdcp.microsoft.com") || host == "*.wd.microsoft.com";
}

std::string_view storage_account(std::string_view host) {
  for (const auto domain : {"blob.core.windows.net", "blob.core.usgovcloudapi.net"})
    if (const auto label = label_under(host, domain); !label.empty()) return label;
  return {};
}

bool lower_letters(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// The malware sample storage accounts: uss|ws, a region, a digit, a place, then "prod" or "ff" and
// a cloud number: ussus1eastprod, wseu1northprod, ussusg1virginiaff4, wsusd1centralff5. Any other
// account under the wildcard *.blob.core.windows.net is somebody else's and stays.
bool sample_storage(std::string_view host) {
  auto name = storage_account(host);
  if (name.starts_with("uss"))
    name.remove_prefix(3);
  else if (name.starts_with("ws"))
    name.remove_prefix(2);
  else
    return false;
  const auto digit = name.find_first_of("0123456789");
  if (digit == std::string_view::npos || !lower_letters(name.substr(0, digit))) return false;
  auto rest = name.substr(digit);
  while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  if (ends_with(rest, "prod")) return lower_letters(rest);
  const auto cloud = rest.find_last_not_of("0123456789");
  if (cloud == std::string_view::npos || cloud + 1 == rest.size()) return false;
  const auto place = rest.substr(0, cloud + 1);
  return ends_with(place, "ff") && lower_letters(place);
}

bool autoir_storage(std::string_view host) {
  const auto name = storage_account(host);
  return name.size() > 14 && name.starts_with("automatedirstr");
}

bool cyber_data(std::string_view host) {
  return v20_host(host) || ends_with(host, ".vortex-win.data.microsoft.com");
}

enum Kind : std::size_t {
  kSettingsWin,
  kEarlyV20,
  kCommandAndControl,
  kCloudProtection,
  kSampleStorage,
  kAutoIrStorage,
  kCyberData,
  kKinds,
};

std::optional<Kind> drop_kind(std::string_view host, int build, bool streamlined) {
  if (build < kBuild1803 && v20_host(host)) return kEarlyV20;
  if (build > kBuild1803 && settings_win(host)) return kSettingsWin;
  if (!streamlined || build < kBuild1809) return std::nullopt;
  if (command_and_control(host)) return kCommandAndControl;
  if (cloud_protection(host)) return kCloudProtection;
  if (sample_storage(host)) return kSampleStorage;
  if (autoir_storage(host)) return kAutoIrStorage;
  if (cyber_data(host)) return kCyberData;
  return std::nullopt;
}

std::string describe(const WindowsVersion& version) {
  const auto build = std::to_string(version.build);
  return version.text == build || version.text.empty()
             ? fmt::format("build {}", build)
             : fmt::format("{} (build {})", version.text, build);
}

std::string reason(Kind kind, std::size_t count, const WindowsVersion& version) {
  const auto targets = count == 1 ? "target" : "targets";
  const auto streamlined_tail =
      "streamlined connectivity on Windows 10 1809 and later uses "
      "*.endpoint.security.microsoft.com "
      "instead";
  switch (kind) {
    case kSettingsWin:
      return fmt::format(
          "dropped {} settings-win.data.microsoft.com {}: used up to Windows 10 1803, this is {}",
          count, targets, describe(version));
    case kEarlyV20:
      return fmt::format(
          "dropped {} *-v20.events.data.microsoft.com {}: used from Windows 10 1803, this is {}",
          count, targets, describe(version));
    case kCommandAndControl:
      return fmt::format("dropped {} command-and-control {} (winatp-gw-*): {}", count, targets,
                         streamlined_tail);
    case kCloudProtection:
      return fmt::format("dropped {} cloud-protection {} (*.cp.wd, *.wdcp, *.wd): {}", count,
                         targets, streamlined_tail);
    case kSampleStorage:
      return fmt::format("dropped {} sample-storage {} (uss*/ws* blobs): {}", count, targets,
                         streamlined_tail);
    case kAutoIrStorage:
      return fmt::format("dropped {} AutoIR-storage {} (automatedirstr* blobs): {}", count, targets,
                         streamlined_tail);
    case kCyberData:
      return fmt::format("dropped {} cyber-data {} (*-v20.events, *.vortex-win): {}", count,
                         targets, streamlined_tail);
    case kKinds:
      break;
  }
  return {};
}

}  // namespace

std::optional<WindowsVersion> parse_windows_version(std::string_view text, std::string& error) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string name(text);
  for (auto& c : name)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');

  for (const auto& r : kReleases)
    if (name == r.name) return WindowsVersion{r.build, name};

  std::string_view digits = name;
  if (digits.starts_with("10.0.")) {
    digits.remove_prefix(5);
    if (const auto dot = digits.find('.'); dot != std::string_view::npos)
      digits = build_number(digits.substr(dot + 1)) ? digits.substr(0, dot) : std::string_view{};
  }
  if (const auto build = build_number(digits); build && *build >= kFirstBuild)
    return WindowsVersion{*build, name};

  constexpr std::size_t kQuoteAtMost = 40;
  error = fmt::format("'{}{}' is not a Windows version: {}", text.substr(0, kQuoteAtMost),
                      text.size() > kQuoteAtMost ? "..." : "", accepted_forms());
  return std::nullopt;
}

WindowsRuleOutcome apply_windows_version(TargetList& list, const WindowsVersion& version,
                                         bool streamlined) {
  std::array<std::size_t, kKinds> counts{};
  std::erase_if(list.targets, [&](const Target& target) {
    const auto kind = drop_kind(host_of(target), version.build, streamlined);
    if (kind) ++counts[*kind];
    return kind.has_value();
  });
  WindowsRuleOutcome out;
  for (std::size_t kind = 0; kind < kKinds; ++kind) {
    if (counts[kind] == 0) continue;
    out.dropped += counts[kind];
    out.reasons.push_back(reason(static_cast<Kind>(kind), counts[kind], version));
  }
  return out;
}

std::string windows_rule_text() {
  return "Windows 10 1803 and earlier keep settings-win.data.microsoft.com; 1803 and later keep "
         "the *-v20.events.data.microsoft.com cyber-data hosts; each drops the other (1803 keeps "
         "both).\n"
         "1809 and later onboarded with a streamlined package (a GW_* gateway) also drop what "
         "*.endpoint.security.microsoft.com consolidates: command and control (winatp-gw-*), "
         "cloud protection (*.cp.wd, *.wdcp, *.wd.microsoft.com), sample and AutoIR storage "
         "(uss*, ws*, automatedirstr* blobs) and cyber data (*-v20.events, *.vortex-win).\n"
         "CRL, Windows Update, SmartScreen, events.data.microsoft.com and the other hosts stay.";
}

}  // namespace urlprobe::sheet
