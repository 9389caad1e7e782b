#include "report/exposition.hpp"

#include <fmt/format.h>

#include "report/detail/formats.hpp"

namespace urlprobe::report {

std::string prometheus_label(std::string_view text) {
  std::string out;
  detail::for_each_code_point(text, [&](char32_t cp, std::string_view bytes) {
    switch (cp) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += bytes;
    }
  });
  return out;
}

std::string prometheus_number(double value) {
  return fmt::format("{}", value);
}

void append_family(std::string& out, const MetricFamily& family) {
  if (family.samples.empty()) return;
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                     family.type);
  for (const auto& sample : family.samples) {
    out += family.name;
    out += sample;
    out += '\n';
  }
}

}  // namespace urlprobe::report
