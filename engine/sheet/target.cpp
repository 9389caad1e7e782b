#include "sheet/target.hpp"

#include <fmt/format.h>

#include "base/text.hpp"

namespace urlprobe::sheet {

std::string format_input_error(const InputError& e) {
  const auto severity = e.warning ? "warning" : "error";
  if (!e.cell.empty()) return fmt::format("{}:{}: {}: {}", e.source, e.cell, severity, e.message);
  return fmt::format("{}:{}:{}: {}: {}", e.source, e.line, e.column, severity, e.message);
}

const RowFacts& TargetRow::facts() const {
  static const RowFacts kNone;
  return shared_ ? *shared_ : kNone;
}

bool TargetRow::is_required() const {
  return required().empty() || base::iequals(required(), "required");
}

void TargetRow::add_other_line(int other) {
  if (!own_ || shared_.use_count() > 1) {
    shared_ = std::make_shared<RowFacts>(facts());
    own_ = true;
  }
  // Made above by make_shared<RowFacts>, not const, and this target's alone.
  const_cast<RowFacts&>(*shared_).other_lines.push_back(other);
}

}  // namespace urlprobe::sheet
