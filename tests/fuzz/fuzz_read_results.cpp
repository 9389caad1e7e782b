// report::read_results: JSONL result files (report, diff and merge input).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "report/read.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = report::read_results(text, "fuzz.jsonl");
  for (const auto& r : read.results) (void)report::describe_key(report::key_of(r));
  return 0;
}
