#include "options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>

#include <boost/asio/ip/address.hpp>

#include "base/text.hpp"

namespace urlprobe::cli {

namespace {

using std::chrono::milliseconds;

// Optimal string alignment distance: a swapped pair of letters ("lsit") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// A first argument that can only have been meant as a command: a bare word (no '.', '/' or
// "://", so never a sheet's name with its extension or a URL) that names no file here.
bool looks_like_a_command(std::string_view arg) {
  if (arg.empty() || !std::isalpha(static_cast<unsigned char>(arg[0]))) return false;
  for (const char c : arg)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(std::filesystem::path(arg), ec);
  return status.type() == std::filesystem::file_type::not_found;
}

std::size_t parse_count(std::string_view option, std::string_view text, std::size_t max) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > max)
    throw UsageError(
        fmt::format("{}: expected a whole number from 1 to {}, got '{}'", option, max, text));
  return value;
}

std::vector<route::Method> parse_methods(std::string_view text) {
  std::vector<route::Method> methods;
  while (true) {
    const auto comma = text.find(',');
    const auto name = text.substr(0, comma);
    const auto method = route::parse_method(name);
    if (!method)
      throw UsageError(fmt::format(
          "--methods: unknown method '{}' (default, wpad, direct, named, cli, defender)", name));
    if (std::find(methods.begin(), methods.end(), *method) == methods.end())
      methods.push_back(*method);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return methods;
}

double parse_number(std::string_view option, std::string_view text, double min, double max) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || std::isnan(value) || value < min ||
      value > max)
    throw UsageError(
        fmt::format("{}: expected a number from {} to {}, got '{}'", option, min, max, text));
  return value;
}

// --shard K/N: 1 <= K <= N.
probe::Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  const auto bad = UsageError(fmt::format(
      "--shard: expected K/N with whole numbers 1 <= K <= N (e.g. 2/3), got '{}'", text));
  if (slash == std::string_view::npos) throw bad;
  probe::Shard shard;
  const auto k = text.substr(0, slash), n = text.substr(slash + 1);
  auto [k_end, k_ec] = std::from_chars(k.data(), k.data() + k.size(), shard.k);
  auto [n_end, n_ec] = std::from_chars(n.data(), n.data() + n.size(), shard.n);
  if (k.empty() || n.empty() || k_ec != std::errc{} || n_ec != std::errc{} ||
      k_end != k.data() + k.size() || n_end != n.data() + n.size() || shard.n == 0 ||
      shard.k == 0 || shard.k > shard.n || shard.n > 1000000)
    throw bad;
  return shard;
}

}  // namespace

std::vector<std::pair<std::size_t, std::size_t>> password_spans(std::string_view text) {
  // Userinfo never holds '/', ';', '=' or ',' unencoded, so the scan back from each '@' to one of
  // them finds where it starts: after "scheme://", after "--proxy=", after "http=" of a
  // per-scheme named proxy, or at the start of a bare "user:pw@host:port".
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t searched_to = 0;
  for (auto at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    auto start = text.find_last_of("/;=,", at);
    start = start == std::string_view::npos ? 0 : start + 1;
    // A password with an unencoded '@' in it: the earlier '@' belongs to the same password.
    if (!spans.empty() && start < searched_to) {
      spans.back().second = at - spans.back().first;
      searched_to = at;
      continue;
    }
    const auto colon = text.find(':', start);
    searched_to = at;
    if (colon == std::string_view::npos || colon + 1 >= at) continue;
    spans.emplace_back(colon + 1, at - colon - 1);
  }
  return spans;
}

std::vector<std::pair<std::size_t, std::size_t>> argument_password_spans(std::string_view previous,
                                                                         std::string_view arg) {
  constexpr std::string_view kInline = "--proxy-user=";
  std::size_t value_at = std::string_view::npos;
  if (previous == "--proxy-user")
    value_at = 0;
  else if (arg.starts_with(kInline))
    value_at = kInline.size();
  if (value_at == std::string_view::npos) return password_spans(arg);
  const auto colon = arg.find(':', value_at);
  if (colon == std::string_view::npos || colon + 1 == arg.size()) return {};
  return {{colon + 1, arg.size() - colon - 1}};
}

struct Parsing {
  Options& o;
  std::optional<milliseconds> dns_timeout, connect_timeout;
  std::vector<boost::asio::ip::address> source_addresses;  // --source-address, all of them
};

namespace {

// The sheet filters that take a comma-separated list.
void append_list(std::vector<std::string>& into, std::string_view text) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string item(text.substr(0, comma));
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) into.push_back(item);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
}

using V = std::string_view;

constexpr CommandSpec kCommandTable[] = {
    {"probe", kProbe, "urlprobe [probe] [SHEET|URL ...] [options]",
     "Probe every URL through every route and say why each failure happened. With no SHEET or "
     "URL: the built-in MDE commercial URL list.",
     "urlprobe mde-urls.xlsx --geo EU --methods direct,cli --proxy http://proxy:3128 --timeout 5s "
     "-o results.jsonl"},
    {"list", kList, "urlprobe list [SHEET ...] [options]",
     "Print the targets after filters, as probe would see them, one URL a line.",
     "urlprobe list --builtin streamlined --gateway GW_EU --format text"},
    {"pac", kPac, "urlprobe pac FILE|URL URL... [options]",
     "Print the PAC script's answer for each URL, like pactester.",
     "urlprobe pac http://wpad.corp.example/wpad.dat https://winatp-gw-weu.microsoft.com/"},
    {"report", kReport, "urlprobe report RESULTS.jsonl... [options]",
     "Render saved results as a sweep would have, in any output format; nothing is probed "
     "again.",
     "urlprobe report all.jsonl --format html -o report.html"},
    {"diff", kDiff, "urlprobe diff OLD.jsonl NEW.jsonl [--format text|json|html] [options]",
     "Compare two result sets: broke, slower, changed, recovered, new, removed, and each route's "
     "times (information). Exit 1 when anything broke or got slower.",
     "urlprobe diff last.jsonl all.jsonl --format html -o diff.html"},
    {"merge", kMerge, "urlprobe merge A.jsonl B.jsonl... [options]",
     "Combine the result files of the shards of one sweep (--shard K/N) into one.",
     "urlprobe merge shard-*.jsonl -o all.jsonl"},
    {"serve", kServe, "urlprobe serve [SHEET|URL ...] [options]",
     "Run as a Prometheus exporter: sweep at start and every --every, serve the last complete "
     "sweep on /metrics, and one probe now on /probe?target=URL, as blackbox_exporter does. "
     "SIGHUP reads the sheet, proxies and web config again; SIGTERM stops.",
     "urlprobe serve --proxies proxies.txt --listen 0.0.0.0:9815 --every 15m"},
};

constexpr SectionSpec kSectionTable[] = {
    {"Sheets", "", ""},
    {"Routes", "the analyzer's methods: 1 default, 2 wpad, 3 direct, 4 named, 5 cli",
     "Route default is the environment's proxy (https_proxy, http_proxy, all_proxy, no_proxy), "
     "or the direct path when none is set; with --winhttp, WinHTTP's proxy and bypass list. Route "
     "wpad without --pac discovers the script: DHCP "
     "option 252 from lease files, then http://wpad.<domain>/wpad.dat for the search domains."},
    {"Resolution", "", ""},
    {"TLS", "", ""},
    {"Expectations and limits", "",
     "A DURATION is bare seconds (10, 2.5) or, as Prometheus writes it, numbers with units from "
     "the largest down: 500ms, 3s, 2m, 1h, 1m30s; greater than 0 and at most 24h."},
    {"Output", "", ""},
    {"Saved results", "jsonl files of earlier runs: report, diff, merge", ""},
    {"Exporter", "serve",
     "Pages: /metrics, /probe, /results.jsonl, /report.html, /readiness, /-/healthy, /-/ready "
     "(200 once the first sweep is complete)."},
    {"General", "", ""},
};

constexpr unsigned kSheets = kProbe | kList | kServe;
// What a sweep is made of: serve sweeps as probe does.
constexpr unsigned kSweeps = kProbe | kServe;

void set_string(std::string& into, V value) {
  into = std::string(value);
}

const OptionSpec kOptionTable[] = {
    // Sheets
    {"--builtin", "", "NAME", kSheets, "Sheets",
     "commercial (default), gov, analyzer, streamlined (analyzer and streamlined carry each "
     "URL's expected status, method and pinned roots, as the vendor's analyzers judge them)",
     Complete::words, "commercial gov analyzer streamlined",
     [](Parsing& p, V, V value) {
       p.o.builtin = std::string(value);
       bool known = false;
       for (const auto& info : sheet::builtin_catalog()) known = known || info.name == value;
       if (!known)
         throw UsageError(fmt::format(
             "--builtin: unknown sheet '{}' (commercial, gov, analyzer, streamlined)", value));
     }},
    {"--onboarding", "", "FILE", kSheets, "Sheets",
     "the device's onboarding package (.cmd, .py, .json or the blob): keep only its gateway's "
     "rows (GW_xx, or vortexGeoLocation) and its region's",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.onboarding, value); }},
    {"--gateway", "", "NAME", kSheets, "Sheets",
     "the same by name: GW_US, GW_EU, GW_UK, GW_AU (or US, EU, UK, AU)", Complete::words,
     "GW_US GW_EU GW_UK GW_AU US EU UK AU",
     [](Parsing& p, V, V value) { set_string(p.o.gateway, value); }},
    {"--windows-version", "", "V", kSheets, "Sheets",
     "1709, 1803, 22H2, 10.0.19045...: up to 1803 keep settings-win.data.microsoft.com, from "
     "1803 keep the *-v20* URLs, drop the other; from 1809 with streamlined rows, drop the URLs "
     "streamlined consolidates (C&C, cyber data, cloud protection, sample and AutoIR storage)",
     Complete::free, "", [](Parsing& p, V, V value) { set_string(p.o.windows_version, value); }},
    {"--sheet", "", "NAME", kSheets, "Sheets",
     ".xlsx: the worksheet to read (default: the one with a URL column)", Complete::free, "",
     [](Parsing& p, V, V value) { set_string(p.o.sheet.sheet_name, value); }},
    {"--sheet-format", "", "FMT", kSheets, "Sheets", "xlsx, csv, tsv, txt (default: by extension)",
     Complete::words, "xlsx csv tsv txt",
     [](Parsing& p, V, V value) {
       if (value != "xlsx" && value != "csv" && value != "tsv" && value != "txt")
         throw UsageError(
             fmt::format("--sheet-format: expected xlsx, csv, tsv or txt, got '{}'", value));
       p.o.sheet.format = std::string(value);
     }},
    {"--geo", "", "LIST", kSheets | kReport, "Sheets",
     "keep these geographies (WW is always kept): WW, US, EU, UK, AU, US Gov, GCC, GCC High, "
     "DoD, ...; for report, the geographies whose required URLs Readiness judges",
     Complete::words, "WW US EU UK AU GCC DoD",
     [](Parsing& p, V, V value) { append_list(p.o.sheet.geo, value); }},
    {"--os", "", "LIST", kSheets, "Sheets",
     "keep rows for these: windows, windows-legacy, server-mma, mac, linux", Complete::comma_words,
     "windows windows-legacy server-mma mac linux",
     [](Parsing& p, V, V value) {
       append_list(p.o.sheet.os, value);
       for (const auto& os : p.o.sheet.os)
         if (os != "windows" && os != "windows-legacy" && os != "server-mma" && os != "mac" &&
             os != "linux")
           throw UsageError(fmt::format(
               "--os: unknown OS '{}' (windows, windows-legacy, server-mma, mac, linux)", os));
     }},
    {"--category", "", "LIST", kSheets, "Sheets", "keep these categories", Complete::free, "",
     [](Parsing& p, V, V value) { append_list(p.o.sheet.category, value); }},
    {"--required-only", "", "", kSheets, "Sheets", "keep rows marked Required", Complete::free, "",
     [](Parsing& p, V, V) { p.o.sheet.required_only = true; }},
    {"--workspace-id", "", "ID", kSheets, "Sheets",
     "probe *.ods/oms.opinsights.azure.com, *.agentsvc.azure-automation.net as ID.... (a GUID); "
     "repeat it or give ID,ID for several workspaces (Defender for Cloud): one set of workspace "
     "rows each, and each record names its workspace; without it they are skipped, with the "
     "reason",
     Complete::free, "",
     [](Parsing& p, V, V value) {
       std::vector<std::string> ids;
       append_list(ids, value);
       if (ids.empty()) throw UsageError("--workspace-id: needs a workspace ID (a GUID)");
       for (const auto& id : ids) {
         if (!sheet::is_guid(id))
           throw UsageError(fmt::format(
               "--workspace-id: '{}' is not a workspace ID (a GUID like "
               "12345678-abcd-4ef0-9876-0123456789ab)",
               id));
         auto& known = p.o.sheet.workspace_ids;
         if (std::none_of(known.begin(), known.end(),
                          [&](const std::string& k) { return base::iequals(k, id); }))
           known.push_back(id);
       }
     }},
    {"--testcloudconnection", "", "FILE", kSheets, "Sheets",
     "the saved output of the MMA's TestCloudConnection.exe (repeat: one file per workspace): the "
     "hosts under each 'Firewall Rule: *.blob.core.windows.net' (any wildcard) are probed for "
     "that wildcard's rows; the file belongs to the workspace ID it prints, else to the next "
     "--workspace-id no other file names",
     Complete::file, "",
     [](Parsing& p, V, V value) { p.o.testcloudconnection.emplace_back(value); }},
    {"--wildcard-host", "", "PATTERN=HOST", kSheets, "Sheets",
     "probe the rows whose wildcard host is PATTERN at HOST (repeatable; HOST must match "
     "PATTERN), e.g. *.wd.microsoft.com=unitedstates.cp.wd.microsoft.com; replaces the analyzer's "
     "representative hosts for PATTERN",
     Complete::free, "",
     [](Parsing& p, V name, V value) {
       std::string error;
       auto host = sheet::parse_wildcard_host(value, error);
       if (!host) throw UsageError(fmt::format("{} {}: {}", name, value, error));
       p.o.sheet.wildcard_hosts.push_back(std::move(*host));
     }},
    {"--pin", "", "NAME=FILE", kSheets, "Sheets",
     "the roots (PEM) of pin NAME, added or replacing a shipped one (microsoft-2011, "
     "digicert-global-root-g2); a pinned URL (a sheet's Trust column) trusts its pin's roots and "
     "no other, and --allow-inspection does not excuse it",
     Complete::free, "",
     [](Parsing& p, V, V value) {
       const auto equals = value.find('=');
       if (equals == V::npos || equals == 0 || equals + 1 == value.size())
         throw UsageError(fmt::format("--pin: expected NAME=FILE, got '{}'", value));
       p.o.pin_files.emplace_back(value.substr(0, equals), value.substr(equals + 1));
     }},
    // Routes
    {"--methods", "", "LIST", kSweeps, "Routes",
     "routes to try, of default,wpad,direct,named,cli (default: all five); defender (the "
     "antivirus's proxy of --registry) follows them unless listed",
     Complete::comma_words, "default wpad direct named cli defender",
     [](Parsing& p, V, V value) { p.o.methods = parse_methods(value); }},
    {"--proxy", "", "URL", kSweeps, "Routes",
     "the command-line proxy (route cli): http://, https://, socks5://, socks5h://, optional "
     "user:pass@",
     Complete::free, "", [](Parsing& p, V, V value) { set_string(p.o.proxy, value); }},
    {"--named-proxy", "", "HOST:PORT", kSweeps, "Routes",
     "the static proxy (route named), TelemetryProxyServer format; also http=h:p;https=h:p",
     Complete::free, "", [](Parsing& p, V, V value) { set_string(p.o.named_proxy, value); }},
    {"--proxies", "", "FILE", kSweeps, "Routes",
     "many proxies, one a line (URL or host:port, optional name=, # comments); each is a route "
     "of its own",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.proxies_file, value); }},
    {"--per-proxy", "", "N", kSweeps, "Routes", "probes in flight per proxy (default: no limit)",
     Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.sweep.per_proxy = parse_count(name, value, 100000); }},
    {"--source-address", "", "ADDR[,ADDR...]", kSweeps, "Routes",
     "bind outgoing connections (direct and to proxies) to these local addresses, each probe to "
     "the next in turn: more probes a second to one ip:port before its ephemeral ports run out; "
     "IPv4 ones for IPv4 destinations, IPv6 ones for IPv6, and no binding where none has the "
     "destination's family (DNS queries are not bound); repeatable",
     Complete::free, "",
     [](Parsing& p, V name, V value) {
       std::vector<std::string> texts;
       append_list(texts, value);
       if (texts.empty()) throw UsageError(fmt::format("{}: expected an IP address", name));
       for (const auto& text : texts) {
         boost::system::error_code ec;
         const auto address = boost::asio::ip::make_address(text, ec);
         if (ec || address.is_unspecified() || address.is_multicast())
           throw UsageError(
               fmt::format("{}: '{}' is not a unicast IP address", name, text));
         p.source_addresses.push_back(address);
       }
     }},
    {"--proxy-user", "", "USER", kSweeps, "Routes",
     "user for proxies given without one; the password comes from $URLPROBE_PROXY_PASSWORD or "
     "--proxy-password-file FILE (USER:PASSWORD works as in curl, but shows in ps)",
     Complete::free, "",
     [](Parsing& p, V name, V value) {
       // As curl's -U: the first ':' ends the user name, and the rest is the password.
       const auto colon = value.find(':');
       p.o.proxy_user = std::string(value.substr(0, colon));
       if (colon != V::npos) p.o.proxy_user_password = std::string(value.substr(colon + 1));
       if (p.o.proxy_user.empty()) throw UsageError(fmt::format("{}: needs a user name", name));
     }},
    {"--proxy-password-file", "", "FILE", kSweeps, "Routes",
     "the proxy password: the first line of FILE", Complete::file, "",
     [](Parsing& p, V, V value) { set_string(p.o.proxy_password_file, value); }},
    {"--pac", "", "FILE|URL", kSweeps, "Routes",
     "the PAC script for route wpad (fetched directly, at most 1 MiB)", Complete::file, "",
     [](Parsing& p, V, V value) { set_string(p.o.pac, value); }},
    {"--client-ip", "", "IP", kSweeps | kPac, "Routes",
     "what the script's myIpAddress() returns (default: this host's)", Complete::free, "",
     [](Parsing& p, V, V value) { set_string(p.o.client_ip, value); }},
    // Windows configuration as exported (--winhttp, --registry)
    {"--winhttp", "", "FILE", kSweeps, "Routes",
     "route default as WinHTTP uses it, from the text of `netsh winhttp show proxy` or `netsh "
     "winhttp dump` (instead of the environment's proxy); targets in its bypass list go direct "
     "and their records say by which entry (bypassed_by)",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.winhttp_file, value); }},
    {"--registry", "", "FILE", kSweeps, "Routes",
     "a regedit .reg export of the policy keys: TelemetryProxyServer is route named (unless "
     "--named-proxy), DisableEnterpriseAuthProxy=1 goes to readiness, the Defender policy's "
     "ProxyServer/ProxyPacUrl/ProxyBypass is route defender",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.registry_file, value); }},
    {"--verbose", "-v", "", kProbe, "Routes",
     "print on stderr what --winhttp and --registry set, and which route each value became",
     Complete::free, "", [](Parsing& p, V, V) { p.o.verbose = true; }},
    // Resolution
    {"--dns-server", "", "IP[:PORT]", kSweeps | kPac, "Resolution",
     "resolve with this server instead of /etc/resolv.conf (IPv6: [::1]:53)", Complete::free, "",
     [](Parsing& p, V, V value) {
       std::string error;
       if (!net::check_dns_servers(value, error))
         throw UsageError(fmt::format("--dns-server: {}", error));
       p.o.sweep.resolver.dns_servers = std::string(value);
     }},
    {"--resolve", "", "HOST:PORT:ADDR", kSweeps | kPac, "Resolution",
     "pin a name to an address (or several: ADDR,ADDR), as curl does (repeatable)",
     Complete::free, "",
     [](Parsing& p, V, V value) {
       std::string error;
       auto pin = net::parse_resolve_pin(value, error);
       if (!pin) throw UsageError(fmt::format("--resolve: '{}': {}", value, error));
       p.o.sweep.resolver.pins.push_back(std::move(*pin));
     }},
    {"--service-tags", "", "FILE", kSweeps, "Resolution",
     "Azure service tags JSON (ServiceTags_Public_*.json): each record names the tags of the "
     "addresses its host resolved to; readiness warns of required URLs outside Defender's tags",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.service_tags_file, value); }},
    // TLS
    {"--ca-file", "", "FILE", kSweeps, "TLS",
     "extra trusted roots (PEM), e.g. the enterprise inspection CA", Complete::file, "",
     [](Parsing& p, V, V value) { set_string(p.o.sweep.tls.ca_file, value); }},
    {"--public-roots", "", "FILE|DIR", kSweeps, "TLS",
     "the roots that count as public (default: Debian's Mozilla set, "
     "/usr/share/ca-certificates/mozilla); a chain that verifies but is anchored elsewhere is "
     "tls_intercepted (HTTPS inspection)",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.sweep.tls.public_roots, value); }},
    {"--allow-inspection", "", "", kSweeps, "TLS",
     "tls_intercepted becomes ok with a warning (never for pinned URLs: the real sensor fails "
     "there too)",
     Complete::free, "", [](Parsing& p, V, V) { p.o.sweep.probe.allow_inspection = true; }},
    {"--warn-expiry", "", "DAYS", kSweeps, "TLS",
     "warn on ok results whose certificate expires sooner (default 14)", Complete::free, "",
     [](Parsing& p, V name, V value) {
       p.o.sweep.probe.warn_expiry_days = static_cast<long>(parse_count(name, value, 36500));
     }},
    {"--insecure", "", "", kSweeps, "TLS",
     "do not verify certificates (every fact is still recorded)", Complete::free, "",
     [](Parsing& p, V, V) { p.o.sweep.tls.verify = false; }},
    // Expectations and limits
    {"--expect-status", "", "LIST", kSweeps, "Expectations and limits",
     "e.g. 200,204,300-399 (default: any status from the origin); a row's own Expected status "
     "(sheet column or built-in list) overrides it",
     Complete::free, "",
     [](Parsing& p, V, V value) {
       std::string error;
       if (!probe::parse_status_expectation(value, p.o.sweep.probe.expect, error))
         throw UsageError(fmt::format("--expect-status: {}", error));
     }},
    {"--timeout", "", "DURATION", kSweeps | kPac, "Expectations and limits",
     "per probe (default 10s); phase deadlines are derived from it; pac: for fetching the script",
     Complete::free, "",
     [](Parsing& p, V name, V value) {
       p.o.sweep.probe.timeouts = probe::Timeouts::derived_from(parse_duration(name, value));
     }},
    {"--dns-timeout", "", "DURATION", kSweeps | kPac, "Expectations and limits",
     "deadline for resolution (default: --timeout)", Complete::free, "",
     [](Parsing& p, V name, V value) { p.dns_timeout = parse_duration(name, value); }},
    {"--connect-timeout", "", "DURATION", kSweeps, "Expectations and limits",
     "deadline for TCP connect (default: --timeout)", Complete::free, "",
     [](Parsing& p, V name, V value) { p.connect_timeout = parse_duration(name, value); }},
    {"--concurrency", "", "N", kSweeps, "Expectations and limits",
     "probes in flight, all threads together (default 256)", Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.sweep.concurrency = parse_count(name, value, 100000); }},
    {"--per-host", "", "N", kSweeps, "Expectations and limits",
     "probes in flight per target host (default: no limit)", Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.sweep.per_host = parse_count(name, value, 100000); }},
    {"--threads", "", "N", kSweeps, "Expectations and limits", "event loops (default: one per core)",
     Complete::free, "",
     [](Parsing& p, V name, V value) {
       p.o.sweep.threads = static_cast<unsigned>(parse_count(name, value, 1024));
     }},
    {"--shard", "", "K/N", kSweeps, "Expectations and limits",
     "probe only shard K of N of the sweep, 1 <= K <= N (a stable hash of url, route and proxy); "
     "the N shards together are the whole sweep: combine them with urlprobe merge",
     Complete::free, "", [](Parsing& p, V, V value) { p.o.sweep.shard = parse_shard(value); }},
    // Output
    {"--format", "", "FMT", kProbe | kReport, "Output",
     "stdout format: text, jsonl, json, csv, junit, prometheus, html, analyzer (the Client "
     "Analyzer's transcript: every method on every URL) (default: text on a terminal, jsonl "
     "otherwise)",
     Complete::words, "text jsonl json csv junit prometheus html analyzer",
     [](Parsing& p, V, V value) {
       if (!report::parse_format(value, p.o.stdout_format))
         throw UsageError(fmt::format(
             "--format: unknown format '{}' (text, jsonl, json, csv, junit, prometheus, html, "
             "analyzer)",
             value));
       p.o.stdout_format_set = true;
     }},
    {"--format", "", "text|json|csv", kList, "Output",
     "list: text adds the skipped rows with the reason and the pins; json and csv print the "
     "row facts (default: the URLs alone)",
     Complete::words, "text json csv",
     [](Parsing& p, V, V value) {
       if (value != "text" && value != "json" && value != "csv")
         throw UsageError(
             fmt::format("--format: unknown format '{}' for list (text, json, csv)", value));
       p.o.list_format = std::string(value);
     }},
    {"--output", "-o", "FILE", kProbe, "Output",
     "also write FILE, format by extension (.jsonl, .txt, .json, .csv, .xml = junit, .prom = "
     "prometheus, .html); repeatable",
     Complete::file, "",
     [](Parsing& p, V, V value) {
       Output out{std::string(value), report::Format::jsonl};
       if (!report::format_for_path(value, out.format))
         throw UsageError(
             fmt::format("-o {}: cannot tell the format from the extension (use .jsonl, .txt, "
                         ".json, .csv, .xml or .prom)",
                         value));
       p.o.outputs.push_back(std::move(out));
     }},
    {"--progress", "", "auto|always|never", kProbe, "Output",
     "progress on stderr (auto: when stderr is a terminal)", Complete::words,
     "auto always never",
     [](Parsing& p, V, V value) {
       if (value == "auto")
         p.o.progress = Progress::automatic;
       else if (value == "always")
         p.o.progress = Progress::always;
       else if (value == "never")
         p.o.progress = Progress::never;
       else
         throw UsageError(
             fmt::format("--progress: expected auto, always or never, got '{}'", value));
     }},
    {"--require", "", "any-method|all", kProbe | kReport, "Output",
     "exit 1 when: all (default) any probe failed; any-method: some required URL (WW and --geo) "
     "is reachable by no method (Readiness)",
     Complete::words, "any-method all",
     [](Parsing& p, V, V value) {
       if (value == "all")
         p.o.require = Require::all;
       else if (value == "any-method")
         p.o.require = Require::any_method;
       else
         throw UsageError(fmt::format("--require: expected any-method or all, got '{}'", value));
     }},
    // Saved results
    {"--output", "-o", "FILE", kReport | kDiff | kMerge, "Saved results",
     "write FILE instead of stdout (one file; report takes its format from --format or the "
     "extension)",
     Complete::file, "",
     [](Parsing& p, V name, V value) {
       if (!p.o.command_output.empty())
         throw UsageError(fmt::format("{}: {} takes one output file", name, p.o.command));
       p.o.command_output = std::string(value);
     }},
    {"--readiness", "", "", kReport, "Saved results",
     "report: only the Readiness verdict and to-do list (text or json; --geo and --require "
     "any-method apply; exit 1 when not ready)",
     Complete::free, "", [](Parsing& p, V, V) { p.o.readiness_only = true; }},
    {"--format", "", "text|json|html", kDiff, "Saved results", "diff: text (default), json or html",
     Complete::words, "text json html",
     [](Parsing& p, V, V value) {
       if (value != "text" && value != "json" && value != "html")
         throw UsageError(
             fmt::format("--format: unknown format '{}' for diff (text, json, html)", value));
       p.o.diff_format = std::string(value);
     }},
    {"--slower-factor", "", "X", kDiff, "Saved results",
     "diff: slower: a probe ok in both runs took over X times as long (default 2)",
     Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.slower_factor = parse_number(name, value, 1, 1e6); }},
    {"--slower-min-ms", "", "N", kDiff, "Saved results",
     "diff: ... and over N milliseconds longer (default 50)", Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.slower_min_ms = parse_number(name, value, 0, 1e9); }},
    {"--format", "", "jsonl", kMerge, "Saved results", "merge: jsonl, the only format it writes",
     Complete::words, "jsonl",
     [](Parsing&, V, V value) {
       if (value != "jsonl")
         throw UsageError(fmt::format("--format: merge writes jsonl only, got '{}'", value));
     }},
    {"--prefer", "", "newest", kMerge, "Saved results",
     "merge: the same (url, route, proxy) twice is an error unless --prefer newest keeps the "
     "newer",
     Complete::words, "newest",
     [](Parsing& p, V, V value) {
       if (value != "newest")
         throw UsageError(fmt::format("--prefer: expected 'newest', got '{}'", value));
       p.o.prefer_newest = true;
     }},
    {"--allow-partial", "", "", kMerge, "Saved results",
     "merge: a missing shard (of --shard K/N) is an error unless this is given", Complete::free,
     "", [](Parsing& p, V, V) { p.o.allow_partial = true; }},
    // General
    {"--listen", "", "ADDR:PORT", kServe, "Exporter",
     "where to answer HTTP (default 127.0.0.1:9815; :PORT is every address)", Complete::free, "",
     [](Parsing& p, V, V value) { set_string(p.o.listen, value); }},
    {"--every", "", "DURATION", kServe, "Exporter",
     "how often a sweep starts (default 15m); a sweep still running when the next is due makes "
     "that one late: it is counted, not queued",
     Complete::free, "", [](Parsing& p, V name, V value) { p.o.every = parse_duration(name, value); }},
    {"--web-config", "", "FILE", kServe, "Exporter",
     "TLS and basic auth, in Prometheus exporter-toolkit's format (tls_server_config, "
     "basic_auth_users with bcrypt hashes); read again on SIGHUP",
     Complete::file, "", [](Parsing& p, V, V value) { set_string(p.o.web_config, value); }},
    {"--max-concurrent-probes", "", "N", kServe, "Exporter",
     "/probe requests answered at once (default 32); past that, 503 at once", Complete::free, "",
     [](Parsing& p, V name, V value) { p.o.max_concurrent_probes = parse_count(name, value, 100000); }},
    {"--allow-any-target", "", "", kServe, "Exporter",
     "let /probe probe any URL, not only the loaded sheet's URLs and hosts (anyone who reaches "
     "the port could then use it as a relay)",
     Complete::free, "", [](Parsing& p, V, V) { p.o.allow_any_target = true; }},
    {"--help", "-h", "", kAllCommands, "General",
     "print the usage and exit; after a command, that command's options and an example",
     Complete::free, "", [](Parsing& p, V, V) { p.o.help = true; }},
    {"--version", "", "", kAllCommands, "General",
     "print the version, the dates of the built-in sheets and the pins' roots", Complete::free, "",
     [](Parsing& p, V, V) { p.o.version = true; }},
};

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : kCommandTable)
    if (c.name == name) return &c;
  return nullptr;
}

std::string command_names() {
  std::vector<std::string_view> names;
  for (const auto& c : kCommandTable) names.push_back(c.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// `urlprobe lsit`: say it is a command that was meant, and which.
[[noreturn]] void unknown_command(std::string_view word) {
  const std::string lower = base::lower(word);
  if (lower == "help" || lower == "version")
    throw UsageError(fmt::format("unknown command '{}'; did you mean '--{}'?", word, lower));
  const std::size_t allowed = std::clamp<std::size_t>(word.size() / 2, 1, 2);
  const CommandSpec* best = nullptr;
  std::size_t best_distance = allowed + 1;
  for (const auto& c : kCommandTable) {
    const auto distance = edit_distance(lower, c.name);
    if (distance < best_distance) best = &c, best_distance = distance;
  }
  if (!best && lower.size() >= 2) {  // "rep": the start of one command alone
    for (const auto& c : kCommandTable)
      if (c.name.starts_with(lower)) {
        if (best) {
          best = nullptr;
          break;
        }
        best = &c;
      }
  }
  if (best)
    throw UsageError(fmt::format("unknown command '{}'; did you mean '{}'?", word, best->name));
  throw UsageError(
      fmt::format("'{}': no such file, and not a command ({})", word, command_names()));
}

// The options of the commands in MASK, by section, as --help shows them.
std::string options_text(unsigned mask, bool section_prose) {
  constexpr std::size_t kColumn = 27;
  std::string out;
  for (const auto& section : kSectionTable) {
    std::string body;
    for (const auto& option : kOptionTable) {
      if (option.section != section.name || !(option.commands & mask)) continue;
      auto label = "  " + option_label(option);
      label += label.size() + 1 < kColumn ? std::string(kColumn - label.size(), ' ') : " ";
      body += wrap_text(option.help, label, kColumn);
    }
    if (body.empty()) continue;
    out += section_prose && !section.intro.empty()
               ? fmt::format("{} ({}):\n", section.name, section.intro)
               : fmt::format("{}:\n", section.name);
    out += body;
    if (section_prose && !section.outro.empty()) out += wrap_text(section.outro, "  ", 2);
  }
  return out;
}

}  // namespace

std::span<const CommandSpec> command_table() {
  return kCommandTable;
}
std::span<const OptionSpec> option_table() {
  return kOptionTable;
}
std::span<const SectionSpec> section_table() {
  return kSectionTable;
}

std::string option_label(const OptionSpec& option) {
  const auto one = [&](std::string_view name) {
    return option.value.empty() ? std::string(name) : fmt::format("{} {}", name, option.value);
  };
  return option.alias.empty() ? one(option.name)
                              : fmt::format("{}, {}", one(option.alias), one(option.name));
}

milliseconds parse_duration(std::string_view option, std::string_view text) {
  const auto bad = [&] {
    return UsageError(
        fmt::format("{}: expected a duration greater than 0 and at most 24h (10 or 2.5 seconds, "
                    "500ms, 3s, 2m, 1h, 1m30s), got '{}'",
                    option, text));
  };
  double seconds = 0;
  // Bare seconds, as before units were known: "10", "2.5".
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      ec != std::errc{} || end != text.data() + text.size()) {
    // Prometheus' form: each unit at most once, from the largest down; the number before each
    // is decimal digits (a '.' allowed), never signed.
    struct Unit {
      std::string_view name;
      double seconds;
    };
    static constexpr Unit kUnits[] = {{"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 0.001}};
    std::size_t next_unit = 0;
    seconds = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
      std::size_t n = 0;
      while (n < rest.size() &&
             (std::isdigit(static_cast<unsigned char>(rest[n])) || rest[n] == '.'))
        ++n;
      double number = 0;
      const auto [number_end, number_ec] = std::from_chars(rest.data(), rest.data() + n, number);
      if (n == 0 || number_ec != std::errc{} || number_end != rest.data() + n) throw bad();
      rest.remove_prefix(n);
      std::size_t u = 0;
      while (u < rest.size() && std::islower(static_cast<unsigned char>(rest[u]))) ++u;
      const auto name = rest.substr(0, u);
      rest.remove_prefix(u);
      const auto unit = std::find_if(std::begin(kUnits) + next_unit, std::end(kUnits),
                                     [&](const Unit& x) { return x.name == name; });
      if (unit == std::end(kUnits)) throw bad();
      next_unit = static_cast<std::size_t>(unit - std::begin(kUnits)) + 1;
      seconds += number * unit->seconds;
    }
  }
  if (std::isnan(seconds) || !(seconds > 0) || seconds > 86400) throw bad();
  return milliseconds(static_cast<long>(std::ceil(seconds * 1000)));
}

std::string wrap_text(std::string_view text, std::string lead, std::size_t indent,
                      std::size_t width) {
  std::string out = std::move(lead);
  std::size_t column = out.size();
  bool line_start = true;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (word.empty()) continue;
    if (!line_start && column + 1 + word.size() > width) {
      out += '\n' + std::string(indent, ' ');
      column = indent;
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_start = false;
  }
  return out + '\n';
}

std::string usage_text() {
  std::string out;
  bool first = true;
  for (const auto& c : kCommandTable) {
    out += fmt::format("{}{}\n", first ? "Usage: " : "       ", c.usage);
    first = false;
  }
  out += R"(Probe every URL through every route and say why each failure happened.
With no SHEET or URL: the built-in MDE commercial URL list (--builtin gov|analyzer for others).
Arguments containing "://" are URLs; others are sheets: .xlsx (the vendor's workbook as
downloaded), .csv, .tsv, or a text file with one URL per line ('#' comments). '-' reads URLs
from stdin (a sheet with --sheet-format); without '-' stdin is never read.

Commands (urlprobe COMMAND --help: its options and an example):
)";
  for (const auto& c : kCommandTable)
    out += wrap_text(c.summary, fmt::format("  {:<9}", c.name), 11);
  out += '\n';
  out += options_text(kAllCommands, true);
  out +=
      "Exit: 0 all ok, 1 some probe failed (see --require), 2 bad usage or input, 130 "
      "interrupted.\n";
  return out;
}

std::string command_help(std::string_view command) {
  const auto* c = find_command(command);
  if (!c) return usage_text();
  std::string out = fmt::format("Usage: {}\n", c->usage);
  out += wrap_text(c->summary, "", 0);
  out += '\n';
  out += options_text(c->bit, false);
  out += fmt::format(
      "\nExample:\n  {}\n\nAll commands and options: urlprobe --help; the manual: "
      "man urlprobe.\n",
      c->example);
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  Parsing parsing{o, std::nullopt, std::nullopt, {}};
  o.sweep.probe.timeouts = probe::Timeouts::derived_from(milliseconds(10000));
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // "scheme://user:secret@host" -> "scheme://user:***@host", for anything that echoes the run.
  std::vector<std::string> password_places;
  for (std::size_t a = 0; a < args.size(); ++a) {
    const auto arg = args[a];
    const auto spans = argument_password_spans(a > 0 ? args[a - 1] : std::string_view(), arg);
    std::string text(arg);
    for (auto span = spans.rbegin(); span != spans.rend(); ++span)
      text.replace(span->first, span->second, "***");
    o.redacted_arguments.push_back(std::move(text));
    if (spans.empty()) continue;
    std::string place = "an argument";
    if (arg.starts_with("-") && arg.find('=') != std::string_view::npos)
      place = std::string(arg.substr(0, arg.find('=')));
    else if (a > 0 && args[a - 1].starts_with("-") &&
             args[a - 1].find('=') == std::string_view::npos)
      place = std::string(args[a - 1]);
    if (std::find(password_places.begin(), password_places.end(), place) == password_places.end())
      password_places.push_back(std::move(place));
  }
  if (!password_places.empty())
    o.warnings.push_back(
        fmt::format("warning: a password in {} is visible to every user of this machine (ps, "
                    "/proc/PID/cmdline); give it with --proxy-user and $URLPROBE_PROXY_PASSWORD or "
                    "--proxy-password-file FILE",
                    fmt::join(password_places, ", ")));
  std::size_t i = 0;
  unsigned command_bit = kProbe;
  if (!args.empty()) {
    if (const auto* c = find_command(args[0])) {
      o.command = std::string(c->name);
      o.command_given = true;
      command_bit = c->bit;
      ++i;
    } else if (looks_like_a_command(args[0])) {
      unknown_command(args[0]);
    }
  }

  bool options_done = false;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      o.inputs.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const OptionSpec* spec = nullptr;
    bool known = false;
    for (const auto& option : kOptionTable) {
      if (option.name != name && option.alias != name) continue;
      known = true;
      if (option.commands & command_bit) spec = &option;
    }
    if (!known) throw UsageError(fmt::format("{}: unknown option (see --help)", name));
    if (!spec)
      throw UsageError(fmt::format("{}: not an option of '{}' (see urlprobe {} --help)", name,
                                   o.command, o.command));
    std::string_view value;
    if (spec->value.empty()) {
      if (inline_value) throw UsageError(fmt::format("{}: takes no value", name));
    } else if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= args.size()) throw UsageError(fmt::format("{}: needs a value", name));
      value = args[++i];
    }
    spec->apply(parsing, name, value);
  }
  if (parsing.dns_timeout) o.sweep.probe.timeouts.dns = *parsing.dns_timeout;
  if (!parsing.source_addresses.empty())
    o.sweep.probe.sources = net::SourceAddresses(parsing.source_addresses);
  if (parsing.connect_timeout) o.sweep.probe.timeouts.connect = *parsing.connect_timeout;
  o.sweep.resolver.budget = std::min(o.sweep.probe.timeouts.dns, o.sweep.probe.timeouts.total);
  return o;
}

}  // namespace urlprobe::cli
