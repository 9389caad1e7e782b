// probe::parse_status_expectation: --expect-status "200,204,300-399", then accepts() on it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "probe/probe.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  probe::StatusExpectation expectation;
  std::string error;
  if (probe::parse_status_expectation(text, expectation, error))
    for (int status : {0, 100, 200, 204, 299, 301, 404, 599, 999})
      (void)expectation.accepts(status);
  return 0;
}
