#include "options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>

namespace urlprobe::cli {

namespace {

using std::chrono::milliseconds;

const std::set<std::string_view> kCommands{"probe", "list", "diff", "merge", "report", "pac"};

milliseconds parse_seconds(std::string_view option, std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > 86400 ||
      std::isnan(value))
    throw UsageError(
        fmt::format("{}: expected a number of seconds greater than 0, got '{}'", option, text));
  return milliseconds(static_cast<long>(std::ceil(value * 1000)));
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
      throw UsageError(
          fmt::format("--methods: unknown method '{}' (default, wpad, direct, named, cli)", name));
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

std::string usage_text() {
  return R"(Usage: urlprobe [probe] [SHEET|URL ...] [options]
       urlprobe list [SHEET ...] [--format text|json|csv] [sheet options]
Probe every URL through every route and say why each failure happened.
With no SHEET or URL: the built-in MDE commercial URL list (--builtin gov|analyzer for others).
Arguments containing "://" are URLs; others are sheets: .xlsx (the vendor's workbook as
downloaded), .csv, .tsv, or a text file with one URL per line ('#' comments).

Sheets:
  --builtin NAME           commercial (default), gov, analyzer, streamlined
                           (analyzer and streamlined carry each URL's expected status, method
                           and pinned roots, as the vendor's analyzers judge them)
  --onboarding FILE        the device's onboarding package (.cmd, .py, .json or the blob): keep
                           only its gateway's rows (GW_xx, or vortexGeoLocation) and its region's
  --gateway NAME           the same by name: GW_US, GW_EU, GW_UK, GW_AU (or US, EU, UK, AU)
  --windows-version V      1709, 1803, 22H2, 10.0.19045...: up to 1803 keep
                           settings-win.data.microsoft.com, from 1803 keep the *-v20* URLs, drop
                           the other; from 1809 with streamlined rows, drop the URLs streamlined
                           consolidates (C&C, cyber data, cloud protection, sample and AutoIR
                           storage)
  --sheet NAME             .xlsx: the worksheet to read (default: the one with a URL column)
  --sheet-format FMT       xlsx, csv, tsv, txt (default: by extension)
  --geo LIST               keep these geographies (WW is always kept): WW, US, EU, UK, AU,
                           US Gov, GCC, GCC High, DoD, ...
  --os LIST                keep rows for these: windows, windows-legacy, server-mma, mac, linux
  --category LIST          keep these categories
  --required-only          keep rows marked Required
  --workspace-id ID        probe *.ods/oms.opinsights.azure.com, *.agentsvc.azure-automation.net
                           as ID.… (a GUID); without it they are skipped, with the reason

Routes (the analyzer's methods: 1 default, 2 wpad, 3 direct, 4 named, 5 cli):
  --methods LIST           routes to try, of default,wpad,direct,named,cli (default: all five)
  --proxy URL              the command-line proxy (route cli): http://, https://, socks5://,
                           socks5h://, optional user:pass@
  --named-proxy HOST:PORT  the static proxy (route named); also http=h:p;https=h:p
  --proxies FILE           many proxies, one a line (URL or host:port, optional name=, # comments)
  --per-proxy N            probes in flight per proxy (default: no limit)
  --proxy-user USER        user for proxies given without one; the password comes from
                           $URLPROBE_PROXY_PASSWORD or --proxy-password-file FILE (USER:PASSWORD
                           works as in curl, but shows in ps)
  --pac FILE|URL           the PAC script for route wpad (fetched directly, at most 1 MiB)
  --client-ip IP           what the script's myIpAddress() returns (default: this host's)
  Route default is the environment's proxy (https_proxy, http_proxy, all_proxy, no_proxy),
  or the direct path when none is set. Route wpad without --pac discovers the script: DHCP
  option 252 from lease files, then http://wpad.<domain>/wpad.dat for the search domains.
  urlprobe pac FILE|URL URL...   print the script's answer for each URL, like pactester
Saved results (jsonl files of earlier runs; nothing is probed again):
  --shard K/N              probe only shard K of N of the sweep (stable hash of url, route, proxy)
  urlprobe report RESULTS.jsonl... [--format F] [-o FILE]   render them as a sweep would
  urlprobe diff OLD.jsonl NEW.jsonl [--format text|json|html] [-o FILE]   broke, slower,
                           changed, recovered, new, removed, per route; exit 1 when anything
                           broke or got slower
    --slower-factor X      slower: a probe ok in both runs took over X times as long (2)
    --slower-min-ms N      ... and over N ms longer (50)
    --readiness            report: only the Readiness verdict and to-do list (text or json;
                           --geo and --require any-method apply; exit 1 when not ready)
  urlprobe merge A.jsonl B.jsonl... [-o ALL.jsonl] [--prefer newest]   combine shards; the same
                           (url, route, proxy) twice is an error unless --prefer newest
    --allow-partial        merge even when a shard K/N of the sweep is missing (else an error)
Resolution:
  --dns-server IP[:PORT]   resolve with this server instead of /etc/resolv.conf
  --resolve HOST:PORT:ADDR pin a name to an address, as curl does (repeatable)
TLS:
  --ca-file FILE           extra trusted roots (PEM), e.g. the enterprise inspection CA
  --public-roots FILE|DIR  the roots that count as public (default: Debian's Mozilla set,
                           /usr/share/ca-certificates/mozilla); a chain that verifies but is
                           anchored elsewhere is tls_intercepted (HTTPS inspection)
  --pin NAME=FILE          the roots (PEM) of pin NAME, added or replacing a shipped one
                           (microsoft-2011, digicert-global-root-g2); a pinned URL (a sheet's
                           Trust column) trusts its pin's roots and no other
  --allow-inspection       tls_intercepted becomes ok with a warning (never for pinned URLs:
                           the real sensor fails there too)
  --warn-expiry DAYS       warn on ok results whose certificate expires sooner (default 14)
  --insecure               do not verify certificates (every fact is still recorded)
Expectations and limits:
  --expect-status LIST     e.g. 200,204,300-399 (default: any status from the origin); a row's
                           own Expected status (sheet column or built-in list) overrides it
  --timeout SECONDS        per probe (default 10); phase deadlines are derived from it
  --dns-timeout SECONDS    deadline for resolution (default: --timeout)
  --connect-timeout SECONDS deadline for TCP connect (default: --timeout)
  --concurrency N          probes in flight (default 256)
  --per-host N             probes in flight per target host (default: no limit)
  --threads N              event loops (default: one per core)
Output:
  --format FMT             stdout format: text, jsonl, json, csv, junit, prometheus, html
                           (default: text on a terminal, jsonl otherwise)
  -o FILE                  also write FILE, format by extension (.jsonl, .txt, .json, .csv,
                           .xml = junit, .prom = prometheus, .html); repeatable
  --progress auto|always|never  progress on stderr (auto: when stderr is a terminal)
  --require any-method|all  exit 1 when: all (default) any probe failed; any-method: some
                           required URL (WW and --geo) is reachable by no method (Readiness)
  --help, --version
Exit: 0 all ok, 1 some probe failed (see --require), 2 bad usage or input, 130 interrupted.
)";
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.sweep.probe.timeouts = probe::Timeouts::derived_from(milliseconds(10000));
  std::optional<milliseconds> dns_timeout, connect_timeout;
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
  if (!args.empty() && kCommands.contains(args[0])) {
    o.command = std::string(args[0]);
    ++i;
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
    auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw UsageError(fmt::format("{}: needs a value", name));
      return args[++i];
    };

    if (name == "--help" || name == "-h") {
      o.help = true;
    } else if (name == "--version") {
      o.version = true;
    } else if (name == "--methods") {
      o.methods = parse_methods(value());
    } else if (name == "--pac") {
      o.pac = std::string(value());
    } else if (name == "--client-ip") {
      o.client_ip = std::string(value());
    } else if (name == "--proxy") {
      o.proxy = std::string(value());
    } else if (name == "--named-proxy") {
      o.named_proxy = std::string(value());
    } else if (name == "--proxies") {
      o.proxies_file = std::string(value());
    } else if (name == "--per-proxy") {
      o.sweep.per_proxy = parse_count(name, value(), 100000);
    } else if (name == "--proxy-user") {
      // As curl's -U: the first ':' ends the user name, and the rest is the password.
      const auto text = value();
      const auto colon = text.find(':');
      o.proxy_user = std::string(text.substr(0, colon));
      if (colon != std::string_view::npos)
        o.proxy_user_password = std::string(text.substr(colon + 1));
      if (o.proxy_user.empty()) throw UsageError(fmt::format("{}: needs a user name", name));
    } else if (name == "--proxy-password-file") {
      o.proxy_password_file = std::string(value());
    } else if (name == "--dns-server") {
      const auto text = value();
      std::string error;
      if (!net::check_dns_servers(text, error))
        throw UsageError(fmt::format("--dns-server: {}", error));
      o.sweep.resolver.dns_servers = std::string(text);
    } else if (name == "--resolve") {
      const auto text = value();
      std::string error;
      auto pin = net::parse_resolve_pin(text, error);
      if (!pin) throw UsageError(fmt::format("--resolve: '{}': {}", text, error));
      o.sweep.resolver.pins.push_back(std::move(*pin));
    } else if (name == "--ca-file") {
      o.sweep.tls.ca_file = std::string(value());
    } else if (name == "--pin") {
      const auto text = value();
      const auto equals = text.find('=');
      if (equals == std::string_view::npos || equals == 0 || equals + 1 == text.size())
        throw UsageError(fmt::format("--pin: expected NAME=FILE, got '{}'", text));
      o.pin_files.emplace_back(text.substr(0, equals), text.substr(equals + 1));
    } else if (name == "--public-roots") {
      o.sweep.tls.public_roots = std::string(value());
    } else if (name == "--allow-inspection") {
      o.sweep.probe.allow_inspection = true;
    } else if (name == "--insecure") {
      o.sweep.tls.verify = false;
    } else if (name == "--warn-expiry") {
      o.sweep.probe.warn_expiry_days = static_cast<long>(parse_count(name, value(), 36500));
    } else if (name == "--expect-status") {
      const auto text = value();
      std::string error;
      if (!probe::parse_status_expectation(text, o.sweep.probe.expect, error))
        throw UsageError(fmt::format("--expect-status: {}", error));
    } else if (name == "--timeout") {
      o.sweep.probe.timeouts = probe::Timeouts::derived_from(parse_seconds(name, value()));
    } else if (name == "--dns-timeout") {
      dns_timeout = parse_seconds(name, value());
    } else if (name == "--connect-timeout") {
      connect_timeout = parse_seconds(name, value());
    } else if (name == "--concurrency") {
      o.sweep.concurrency = parse_count(name, value(), 100000);
    } else if (name == "--per-host") {
      o.sweep.per_host = parse_count(name, value(), 100000);
    } else if (name == "--threads") {
      o.sweep.threads = static_cast<unsigned>(parse_count(name, value(), 1024));
    } else if (name == "--format" && o.command == "list") {
      const auto text = value();
      if (text != "text" && text != "json" && text != "csv")
        throw UsageError(
            fmt::format("--format: unknown format '{}' for list (text, json, csv)", text));
      o.list_format = std::string(text);
    } else if (name == "--format" && o.command == "diff") {
      const auto text = value();
      if (text != "text" && text != "json" && text != "html")
        throw UsageError(
            fmt::format("--format: unknown format '{}' for diff (text, json, html)", text));
      o.diff_format = std::string(text);
    } else if (name == "--format" && o.command == "merge") {
      const auto text = value();
      if (text != "jsonl")
        throw UsageError(fmt::format("--format: merge writes jsonl only, got '{}'", text));
    } else if (name == "--slower-factor") {
      o.slower_factor = parse_number(name, value(), 1, 1e6);
    } else if (name == "--slower-min-ms") {
      o.slower_min_ms = parse_number(name, value(), 0, 1e9);
    } else if (name == "--readiness" && o.command == "report") {
      o.readiness_only = true;
    } else if (name == "--prefer") {
      const auto text = value();
      if (text != "newest")
        throw UsageError(fmt::format("--prefer: expected 'newest', got '{}'", text));
      o.prefer_newest = true;
    } else if (name == "--allow-partial" && o.command == "merge") {
      o.allow_partial = true;
    } else if (name == "--shard") {
      o.sweep.shard = parse_shard(value());
    } else if ((name == "-o" || name == "--output") &&
               (o.command == "report" || o.command == "diff" || o.command == "merge")) {
      if (!o.command_output.empty())
        throw UsageError(fmt::format("{}: {} takes one output file", name, o.command));
      o.command_output = std::string(value());
    } else if (name == "--format") {
      const auto text = value();
      if (!report::parse_format(text, o.stdout_format))
        throw UsageError(fmt::format(
            "--format: unknown format '{}' (text, jsonl, json, csv, junit, prometheus, html)",
            text));
      o.stdout_format_set = true;
    } else if (name == "--builtin") {
      o.builtin = std::string(value());
      bool known = false;
      for (const auto& info : sheet::builtin_catalog()) known = known || info.name == o.builtin;
      if (!known)
        throw UsageError(fmt::format(
            "--builtin: unknown sheet '{}' (commercial, gov, analyzer, streamlined)", o.builtin));
    } else if (name == "--onboarding") {
      o.onboarding = std::string(value());
    } else if (name == "--gateway") {
      o.gateway = std::string(value());
    } else if (name == "--windows-version") {
      o.windows_version = std::string(value());
    } else if (name == "--sheet") {
      o.sheet.sheet_name = std::string(value());
    } else if (name == "--sheet-format") {
      const auto text = value();
      if (text != "xlsx" && text != "csv" && text != "tsv" && text != "txt")
        throw UsageError(
            fmt::format("--sheet-format: expected xlsx, csv, tsv or txt, got '{}'", text));
      o.sheet.format = std::string(text);
    } else if (name == "--workspace-id") {
      const auto text = value();
      if (!sheet::is_guid(text))
        throw UsageError(
            fmt::format("--workspace-id: '{}' is not a workspace ID (a GUID like "
                        "12345678-abcd-4ef0-9876-0123456789ab)",
                        text));
      o.sheet.workspace_id = std::string(text);
    } else if (name == "--geo" || name == "--os" || name == "--category") {
      auto& into = name == "--geo" ? o.sheet.geo : name == "--os" ? o.sheet.os : o.sheet.category;
      std::string_view text = value();
      while (!text.empty()) {
        const auto comma = text.find(',');
        std::string item(text.substr(0, comma));
        while (!item.empty() && item.front() == ' ') item.erase(0, 1);
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) into.push_back(item);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
      }
      if (name == "--os")
        for (const auto& os : into)
          if (os != "windows" && os != "windows-legacy" && os != "server-mma" && os != "mac" &&
              os != "linux")
            throw UsageError(fmt::format(
                "--os: unknown OS '{}' (windows, windows-legacy, server-mma, mac, linux)", os));
    } else if (name == "--required-only") {
      o.sheet.required_only = true;
    } else if (name == "--require") {
      const auto text = value();
      if (text == "all")
        o.require = Require::all;
      else if (text == "any-method")
        o.require = Require::any_method;
      else
        throw UsageError(fmt::format("--require: expected any-method or all, got '{}'", text));
    } else if (name == "-o" || name == "--output") {
      const auto path = value();
      Output out{std::string(path), report::Format::jsonl};
      if (!report::format_for_path(path, out.format))
        throw UsageError(
            fmt::format("-o {}: cannot tell the format from the extension (use .jsonl, .txt, "
                        ".json, .csv, .xml or .prom)",
                        path));
      o.outputs.push_back(std::move(out));
    } else if (name == "--progress") {
      const auto text = value();
      if (text == "auto")
        o.progress = Progress::automatic;
      else if (text == "always")
        o.progress = Progress::always;
      else if (text == "never")
        o.progress = Progress::never;
      else
        throw UsageError(fmt::format("--progress: expected auto, always or never, got '{}'", text));
    } else {
      throw UsageError(fmt::format("{}: unknown option (see --help)", name));
    }
  }
  if (dns_timeout) o.sweep.probe.timeouts.dns = *dns_timeout;
  if (connect_timeout) o.sweep.probe.timeouts.connect = *connect_timeout;
  o.sweep.resolver.budget = std::min(o.sweep.probe.timeouts.dns, o.sweep.probe.timeouts.total);
  return o;
}

}  // namespace urlprobe::cli
