// Prometheus's text exposition format 0.0.4, for --format prometheus and the exporter's pages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::report {

// A label value: UTF-8, with backslash, double quote and line feed escaped.
std::string prometheus_label(std::string_view text);
// A sample value Go's ParseFloat reads back exactly ("0.0012", "1e-05").
std::string prometheus_number(double value);

// One metric family: a scrape must see each as one group with its HELP and TYPE.
struct MetricFamily {
  std::string_view name, type, help;
  std::vector<std::string> samples;  // "{labels} value" or " value"
};
// Appends the family; a family without samples is left out.
void append_family(std::string& out, const MetricFamily& family);

}  // namespace urlprobe::report
