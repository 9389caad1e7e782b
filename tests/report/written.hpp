// What a format writes for a sweep, as the report tests compare it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "probe/route_column.hpp"
#include "report/writer.hpp"

namespace urlprobe::test {

// FORMAT's output for RESULTS, written in this order, of a sweep over ROUTES; the summary counts
// them and names GEO (--geo).
inline std::string format_output(report::Format format, std::span<const route::Route> routes,
                                 const std::vector<probe::Result>& results,
                                 std::vector<std::string> geo = {}) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    auto writer = report::make_writer(format, out, probe::route_columns(routes));
    report::Summary summary;
    summary.geo = std::move(geo);
    for (const auto& r : results) {
      writer->write(r);
      summary.add(r);
    }
    writer->finish(summary);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

}  // namespace urlprobe::test
