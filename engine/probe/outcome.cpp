#include "probe/outcome.hpp"

namespace urlprobe::probe {

std::optional<Outcome> parse_outcome(std::string_view name) {
  for (const auto& row : kOutcomes)
    if (row.name == name) return row.outcome;
  return std::nullopt;
}

}  // namespace urlprobe::probe
