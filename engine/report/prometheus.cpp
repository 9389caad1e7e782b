// --format prometheus: text exposition format 0.0.4 with blackbox_exporter-style names, for
// node_exporter's textfile collector and the Pushgateway. Written at finish: each metric family
// must be one group with its HELP and TYPE.
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <set>
#include <vector>

#include "report/detail/formats.hpp"
#include "report/exposition.hpp"
#include "report/readiness.hpp"

namespace urlprobe::report::detail {

namespace {

using Family = MetricFamily;

class PrometheusWriter final : public ResultWriter {
 public:
  explicit PrometheusWriter(std::FILE* out) : out_(out) {}

  void write(const probe::Result& r) override {
    const auto route = std::string(route::method_name(r.route));
    const auto labels = fmt::format("url=\"{}\",route=\"{}\",proxy=\"{}\"", prometheus_label(r.url),
                                    prometheus_label(route), prometheus_label(r.proxy));
    // Every series once: a URL twice on one route (two list entries with one redacted URL) keeps
    // the first result.
    ++outcomes_[route][static_cast<std::size_t>(r.outcome)];
    if (!seen_.insert(labels).second) return;
    reach_.add(r);
    outcome_.samples.push_back(
        fmt::format("{{{},outcome=\"{}\"}} 1", labels, probe::outcome_name(r.outcome)));
    // A route the host does not have and a row that cannot be probed as written are no failed
    // probes: as urlprobe_probe_success 0 they would fire every alert on it.
    if (r.outcome == probe::Outcome::not_configured || r.outcome == probe::Outcome::skipped) {
      not_probed_.samples.push_back(
          fmt::format("{{{},outcome=\"{}\"}} 1", labels, probe::outcome_name(r.outcome)));
      return;
    }
    success_.samples.push_back(
        fmt::format("{{{}}} {}", labels, r.outcome == probe::Outcome::ok ? 1 : 0));
    auto phase = [&](std::string_view name, const std::optional<double>& ms) {
      if (ms)
        duration_.samples.push_back(
            fmt::format("{{{},phase=\"{}\"}} {}", labels, name, fmt::format("{:.6f}", *ms / 1000)));
    };
    phase("dns", r.ms.dns);
    phase("connect", r.ms.connect);
    phase("tunnel", r.ms.tunnel);
    phase("tls", r.ms.tls);
    phase("ttfb", r.ms.ttfb);
    phase("total", r.ms.total);
    if (r.http_status) status_.samples.push_back(fmt::format("{{{}}} {}", labels, r.http_status));
    if (r.tls || r.tls_inspected)
      inspected_.samples.push_back(fmt::format("{{{},pinned=\"{}\",excluded=\"{}\"}} {}", labels,
                                               r.row.expect().trust.empty() ? "false" : "true",
                                               excluded_from_inspection(r.host) ? "true" : "false",
                                               r.tls_inspected ? 1 : 0));
    if (r.tls) {
      if (const auto expiry = parse_rfc3339(r.tls->not_after))
        expiry_.samples.push_back(fmt::format("{{{}}} {}", labels, prometheus_number(*expiry)));
    }
  }

  void finish(const Summary& s) override {
    // One sweep's counts, not a running total: a gauge.
    Family outcomes{"urlprobe_outcomes",
                    "gauge",
                    "Results of the last sweep by outcome and route (not_configured and skipped "
                    "included).",
                    {}};
    for (const auto& [route, counts] : outcomes_)
      for (std::size_t i = 0; i < counts.size(); ++i)
        outcomes.samples.push_back(fmt::format("{{outcome=\"{}\",route=\"{}\"}} {}",
                                               probe::outcome_name(static_cast<probe::Outcome>(i)),
                                               prometheus_label(route), counts[i]));
    Family sweep{"urlprobe_sweep_duration_seconds",
                 "gauge",
                 "How long the last sweep took.",
                 {fmt::format(" {:.6f}", s.seconds)}};
    Family ended{"urlprobe_sweep_end_timestamp_seconds",
                 "gauge",
                 "When the last sweep ended, in seconds since the epoch.",
                 {}};
    if (s.ended.time_since_epoch().count() != 0)
      ended.samples.push_back(fmt::format(
          " {}",
          prometheus_number(std::chrono::duration<double>(s.ended.time_since_epoch()).count())));
    Family reachable{
        "urlprobe_url_reachable",
        "gauge",
        "1 when some method route (not an entry of --proxies) reached the URL, else 0.",
        {}};
    for (const auto& url : reach_.urls())
      reachable.samples.push_back(fmt::format(
          "{{url=\"{}\",required=\"{}\",geography=\"{}\"}} {}", prometheus_label(url.url),
          url.required ? "true" : "false", prometheus_label(url.geography), url.reached ? 1 : 0));
    std::string text;
    for (const Family* f : {&success_, &outcome_, &duration_, &status_, &expiry_, &inspected_,
                            &not_probed_, &reachable, &outcomes, &sweep, &ended})
      append_family(text, *f);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  Family success_{"urlprobe_probe_success",
                  "gauge",
                  "1 when the probe's outcome was ok, else 0; absent for probes not made "
                  "(urlprobe_probe_not_probed).",
                  {}};
  Family not_probed_{"urlprobe_probe_not_probed",
                     "gauge",
                     "1 for a route the host does not have (not_configured) or a row that "
                     "cannot be probed as written (skipped): no probe was made.",
                     {}};
  Family duration_{"urlprobe_probe_duration_seconds",
                   "gauge",
                   "Time spent per phase of the probe (dns, connect, tunnel, tls, ttfb; total is "
                   "the whole probe).",
                   {}};
  Family status_{
      "urlprobe_probe_http_status_code", "gauge", "HTTP status of the origin's response.", {}};
  Family expiry_{"urlprobe_probe_tls_expiry_timestamp_seconds",
                 "gauge",
                 "When the leaf certificate expires, in seconds since the epoch.",
                 {}};
  Family outcome_{"urlprobe_probe_outcome",
                  "gauge",
                  "1 for the probe's outcome: why it failed, in the outcome label.",
                  {}};
  Family inspected_{"urlprobe_probe_tls_inspected",
                    "gauge",
                    "1 when an inspecting proxy's certificate chain was met (https probes). "
                    "pinned: the row pins a root; excluded: the vendor says to exclude the host "
                    "from inspection (every service host but blob storage).",
                    {}};
  UrlReachTally reach_;
  std::set<std::string> seen_;
  std::map<std::string, std::array<std::uint64_t, probe::kOutcomeCount>> outcomes_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_prometheus_writer(std::FILE* out) {
  return std::make_unique<PrometheusWriter>(out);
}

}  // namespace urlprobe::report::detail
