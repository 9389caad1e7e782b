#include "serve/detail/exposition.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/time.hpp"
#include "report/exposition.hpp"

namespace urlprobe::serve::detail {

using report::append_family;
using report::MetricFamily;
using report::prometheus_label;
using report::prometheus_number;

namespace {

std::string sample(double value) {
  return fmt::format(" {}", value);  // as report::prometheus_number
}

// Fields 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss of /proc/self/stat, counted after
// the command name's closing parenthesis (the name may hold spaces and parentheses).
struct ProcStat {
  double cpu_seconds = 0, start_seconds = 0, virtual_bytes = 0, resident_bytes = 0;
  bool ok = false;
};

ProcStat read_proc_stat() {
  ProcStat out;
  std::ifstream file("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string word; fields >> word;) f.push_back(word);
  // f[0] is field 3 (state).
  if (f.size() < 22) return out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  out.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  double boot = 0;
  std::ifstream stat("/proc/stat");
  for (std::string key; stat >> key;) {
    if (key == "btime") {
      stat >> boot;
      break;
    }
  }
  out.start_seconds = boot + std::stod(f[19]) / ticks;
  out.virtual_bytes = std::stod(f[20]);
  out.resident_bytes = std::stod(f[21]) * page;
  out.ok = true;
  return out;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

}  // namespace

std::string process_metrics() {
  std::string out;
  const auto stat = read_proc_stat();
  if (stat.ok) {
    append_family(out, {"process_cpu_seconds_total",
                        "counter",
                        "Total user and system CPU time spent in seconds.",
                        {sample(stat.cpu_seconds)}});
    append_family(out, {"process_resident_memory_bytes",
                        "gauge",
                        "Resident memory size in bytes.",
                        {sample(stat.resident_bytes)}});
    append_family(out, {"process_virtual_memory_bytes",
                        "gauge",
                        "Virtual memory size in bytes.",
                        {sample(stat.virtual_bytes)}});
    append_family(out, {"process_start_time_seconds",
                        "gauge",
                        "Start time of the process since unix epoch in seconds.",
                        {sample(stat.start_seconds)}});
  }
  append_family(
      out, {"process_open_fds", "gauge", "Number of open file descriptors.", {sample(open_fds())}});
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    append_family(out, {"process_max_fds",
                        "gauge",
                        "Maximum number of open file descriptors.",
                        {sample(static_cast<double>(limit.rlim_cur))}});
  return out;
}

std::string exporter_metrics(const ExporterState& s) {
  std::string out;
  append_family(out, {"urlprobe_build_info",
                      "gauge",
                      "1, with the version of urlprobe and the compiler that built it.",
                      {fmt::format("{{version=\"{}\",compiler=\"{}\"}} 1",
                                   prometheus_label(s.version), prometheus_label(__VERSION__))}});
  append_family(out, {"urlprobe_sweeps_total",
                      "counter",
                      "Sweeps completed since the exporter started.",
                      {sample(static_cast<double>(s.sweeps))}});
  append_family(out, {"urlprobe_sweeps_late_total",
                      "counter",
                      "Scheduled sweeps not started because the previous one was still running.",
                      {sample(static_cast<double>(s.late))}});
  append_family(out, {"urlprobe_sweep_running",
                      "gauge",
                      "1 while a sweep is running.",
                      {sample(s.running ? 1 : 0)}});
  append_family(out, {"urlprobe_sweep_interval_seconds",
                      "gauge",
                      "--every: how often a sweep starts.",
                      {sample(s.interval_seconds)}});
  append_family(out, {"urlprobe_config_last_reload_successful",
                      "gauge",
                      "1 when the last reading of the configuration (at start or SIGHUP) worked.",
                      {sample(s.last_reload_ok ? 1 : 0)}});
  append_family(out, {"urlprobe_config_last_reload_success_timestamp_seconds",
                      "gauge",
                      "When the configuration was last read successfully.",
                      {sample(s.last_reload_success)}});
  MetricFamily unreachable{"urlprobe_url_unreachable_sweeps",
                           "gauge",
                           "Consecutive complete sweeps in which no method route reached the URL "
                           "(0: reached in the last sweep); labels as urlprobe_url_reachable.",
                           {}};
  for (const auto& [url, sweeps] : s.unreachable_sweeps)
    unreachable.samples.push_back(
        fmt::format("{{url=\"{}\",required=\"{}\",geography=\"{}\"}} {}", prometheus_label(url.url),
                    url.required ? "true" : "false", prometheus_label(url.geography), sweeps));
  append_family(out, unreachable);
  return out;
}

std::string blackbox_metrics(const probe::Result& r) {
  std::string out;
  const bool ok = r.outcome == probe::Outcome::ok;
  auto seconds = [](double ms) { return fmt::format(" {:.6f}", ms / 1000); };
  append_family(out, {"probe_success",
                      "gauge",
                      "Displays whether or not the probe was a success",
                      {sample(ok ? 1 : 0)}});
  append_family(out, {"probe_duration_seconds",
                      "gauge",
                      "Returns how long the probe took to complete in seconds",
                      {seconds(r.ms.total)}});
  if (r.ms.dns)
    append_family(out, {"probe_dns_lookup_time_seconds",
                        "gauge",
                        "Returns the time taken for probe dns lookup in seconds",
                        {seconds(*r.ms.dns)}});
  MetricFamily phases{"probe_http_duration_seconds",
                      "gauge",
                      "Duration of http request by phase, summed over all redirects",
                      {}};
  auto phase = [&](std::string_view name, std::optional<double> ms) {
    phases.samples.push_back(fmt::format("{{phase=\"{}\"}}{}", name, seconds(ms.value_or(0))));
  };
  phase("resolve", r.ms.dns);
  // blackbox's connect is the TCP connection to whatever it dials; through a proxy the tunnel
  // is part of reaching the origin, so it counts here too.
  phase("connect", r.ms.connect.value_or(0) + r.ms.tunnel.value_or(0));
  phase("tls", r.ms.tls);
  phase("processing", r.ms.ttfb);
  phase("transfer", 0.0);
  append_family(out, phases);
  append_family(
      out,
      {"probe_http_status_code", "gauge", "Response HTTP status code", {sample(r.http_status)}});
  append_family(out, {"probe_http_ssl",
                      "gauge",
                      "Indicates if SSL was used for the final redirect",
                      {sample(r.tls ? 1 : 0)}});
  if (r.tls) {
    if (const auto expiry = base::parse_rfc3339(r.tls->not_after))
      append_family(out, {"probe_ssl_earliest_cert_expiry",
                          "gauge",
                          "Returns last SSL chain expiry in unixtime",
                          {sample(*expiry)}});
    if (!r.tls->version.empty())
      append_family(out, {"probe_tls_version_info",
                          "gauge",
                          "Returns the TLS version used or NaN when unknown",
                          {fmt::format("{{version=\"{}\"}} 1", prometheus_label(r.tls->version))}});
  }
  if (!r.address.empty())
    append_family(out, {"probe_ip_protocol",
                        "gauge",
                        "Specifies whether probe ip protocol is IP4 or IP6",
                        {sample(r.address.front() == '[' ? 6 : 4)}});
  append_family(out, {"urlprobe_probe_outcome",
                      "gauge",
                      "1 for the probe's outcome: why it failed, in the outcome label.",
                      {fmt::format("{{outcome=\"{}\"}} 1", probe::outcome_name(r.outcome))}});
  if (r.proxy_status)
    append_family(out, {"urlprobe_probe_proxy_status_code",
                        "gauge",
                        "The proxy's own HTTP status (CONNECT's answer, 407, 403...).",
                        {sample(r.proxy_status)}});
  return out;
}

}  // namespace urlprobe::serve::detail
