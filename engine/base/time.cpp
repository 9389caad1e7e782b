#include "base/time.hpp"

#include <fmt/format.h>

#include <charconv>

namespace urlprobe::base {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd(day);
  const hh_mm_ss time(ms - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

std::optional<double> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  auto number = [&](std::size_t digits, int& value) {
    if (pos + digits > text.size()) return false;
    const auto* first = text.data() + pos;
    const auto [end, ec] = std::from_chars(first, first + digits, value);
    if (ec != std::errc() || end != first + digits) return false;
    pos += digits;
    return true;
  };
  auto expect = [&](std::string_view chars) {
    if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!number(4, y) || !expect("-") || !number(2, mo) || !expect("-") || !number(2, d) ||
      !expect("Tt ") || !number(2, h) || !expect(":") || !number(2, mi) || !expect(":") ||
      !number(2, s))
    return std::nullopt;
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    ++pos;
    const auto start = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10)
      fraction += (text[pos] - '0') * scale;
    if (pos == start) return std::nullopt;
  }
  int offset = 0;
  if (expect("Zz")) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!number(2, oh) || !expect(":") || !number(2, om)) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (pos != text.size() || !ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto days_since = sys_days(ymd).time_since_epoch().count();
  return static_cast<double>(days_since) * 86400 + h * 3600 + mi * 60 + s + fraction - offset;
}

}  // namespace urlprobe::base
