// Results share their sheet row, read-only once made (probe::Result::row): tests build one here.
#pragma once

#include <utility>

#include "sheet/target.hpp"

namespace urlprobe::test {

// BASE's facts (none by default) with FILL applied to them, as a row of their own.
template <class Fill>
sheet::TargetRow row_with(Fill fill, const sheet::TargetRow& base = {}) {
  sheet::RowFacts facts = base;
  fill(facts);
  return sheet::TargetRow(std::move(facts));
}

}  // namespace urlprobe::test
