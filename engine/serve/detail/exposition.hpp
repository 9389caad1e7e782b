// The exporter's own text: Prometheus exposition of the process, the exporter's state and one
// /probe answer. The sweep's series are report's (--format prometheus).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probe/result.hpp"
#include "report/readiness.hpp"

namespace urlprobe::serve::detail {

// process_* as Prometheus's client libraries name them, read from /proc/self.
std::string process_metrics();

struct ExporterState {
  std::string version;
  std::uint64_t sweeps = 0, late = 0;
  bool running = false;
  double interval_seconds = 0;
  bool last_reload_ok = true;
  double last_reload_success = 0;  // seconds since the epoch
  // Every URL some method route probed: consecutive complete sweeps in which none reached it.
  struct Unreachable {
    report::UrlReach url;
    std::uint64_t sweeps = 0;
  };
  std::vector<Unreachable> unreachable_sweeps;
};
std::string exporter_metrics(const ExporterState& state);

// blackbox_exporter's names for one probe, so its dashboards and alerts read /probe unchanged;
// urlprobe_probe_outcome says why.
std::string blackbox_metrics(const probe::Result& result);

}  // namespace urlprobe::serve::detail
