// The expectation cells of a row (Expected status, Method, Trust): what the vendor's analyzer
// demands of a URL, read strictly so that a typo costs its row, never a silent "any status".
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/text.hpp"
#include "sheet/expectation.hpp"

namespace urlprobe::sheet {

namespace {

bool separator(char c) {
  return c == ',' || c == ';' || c == ' ' || c == '\t';
}

// The pieces of a list cell: "200,204", "200 204", "200; 204".
std::vector<std::string_view> pieces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && separator(text[i])) ++i;
    const auto start = i;
    while (i < text.size() && !separator(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

bool StatusExpectation::accepts(int status) const {
  if (ranges.empty()) return true;
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return status >= r.first && status <= r.second; });
}

std::string StatusExpectation::text() const {
  std::string out;
  for (const auto& [low, high] : ranges) {
    if (!out.empty()) out += ',';
    out += low == high ? fmt::format("{}", low) : fmt::format("{}-{}", low, high);
  }
  return out;
}

bool parse_status_expectation(std::string_view text, StatusExpectation& out, std::string& error) {
  out.ranges.clear();
  auto number = [](std::string_view s, int& value) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size() && value >= 100 && value <= 599;
  };
  const auto items = pieces(text);
  if (items.empty()) {
    error = "no status given: write a status (100-599) or a range like 300-399";
    return false;
  }
  for (const auto item : items) {
    const auto dash = item.find('-');
    int low = 0, high = 0;
    const bool ok = dash == std::string_view::npos
                        ? number(item, low) && number(item, high)
                        : number(item.substr(0, dash), low) &&
                              number(item.substr(dash + 1), high) && low <= high;
    if (!ok) {
      error = fmt::format("'{}' is not a status (100-599) or a range like 300-399", item);
      out.ranges.clear();
      return false;
    }
    out.ranges.emplace_back(low, high);
  }
  return true;
}

bool parse_method(std::string_view text, std::string& out, std::string& error) {
  std::string upper(text);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "GET" || upper == "HEAD") {
    out = upper;
    return true;
  }
  error = fmt::format("method '{}' is not GET or HEAD", text);
  return false;
}

bool parse_trust(std::string_view text, std::vector<std::string>& out, std::string& error) {
  out.clear();
  bool system = false;
  for (const auto piece : pieces(text)) {
    std::string name = base::lower(piece);
    const bool word =
        std::isalnum(static_cast<unsigned char>(name.front())) &&
        std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    if (!word || name.size() > 64) {
      error =
          fmt::format("trust '{}' is not a pin name (such as microsoft-2011) or 'system'", piece);
      return false;
    }
    if (name == "system") {
      system = true;
    } else if (std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  }
  if (system && !out.empty()) {
    error = fmt::format(
        "trust '{}' names both 'system' and a pin: a pinned URL trusts its pin's roots alone",
        text);
    out.clear();
    return false;
  }
  return true;
}

}  // namespace urlprobe::sheet
