#include "base/text.hpp"

namespace urlprobe::base {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && starts_with_icase(a, b);
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != lower(prefix[i])) return false;
  return true;
}

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

// All-blank S gives an empty view inside S, never a null one: callers may measure positions
// (columns) from the view they get.
std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim_with_nbsp(std::string_view s) {
  constexpr std::string_view kNbsp = "\xC2\xA0";
  for (std::size_t before = s.size() + 1; s.size() != before;) {
    before = s.size();
    s = trim(s);
    if (s.starts_with(kNbsp)) s.remove_prefix(kNbsp.size());
    if (s.ends_with(kNbsp)) s.remove_suffix(kNbsp.size());
  }
  return s;
}

std::string_view drop_bom(std::string_view line) {
  if (line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
  return line;
}

}  // namespace urlprobe::base
