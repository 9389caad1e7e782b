// Internal to engine/report: what the html pages share (the sweep report, and any other page
// that shows outcomes): the colours of the outcome families (probe/outcome.hpp) and the escaping
// of JSON placed inside a <script>.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "probe/result.hpp"

namespace urlprobe::report::detail {

struct Swatch {
  std::string_view background, foreground;  // "#rrggbb"; the code is written in foreground
};

// Okabe & Ito's palette ("Color Universal Design", 2008), made to stay distinguishable with
// every common colour-vision deficiency, one colour per family; grey for "nothing to say".
// Foregrounds are the better-contrasting of black and white (WCAG AA, at least 4.5:1). A switch,
// not an array: a family without a colour does not compile (-Wswitch).
constexpr Swatch family_colour(probe::OutcomeFamily f) {
  using probe::OutcomeFamily;
  switch (f) {
    case OutcomeFamily::ok:
      return {"#009e73", "#000000"};  // bluish green
    case OutcomeFamily::neutral:
      return {"#d9d9d9", "#000000"};  // light grey
    case OutcomeFamily::http:
      return {"#f0e442", "#000000"};  // yellow
    case OutcomeFamily::dns:
      return {"#cc79a7", "#000000"};  // reddish purple
    case OutcomeFamily::connect:
      return {"#d55e00", "#000000"};  // vermillion
    case OutcomeFamily::proxy:
      return {"#e69f00", "#000000"};  // orange
    case OutcomeFamily::tls:
      return {"#0072b2", "#ffffff"};  // blue
    case OutcomeFamily::timeout:
      return {"#56b4e9", "#000000"};  // sky blue
    case OutcomeFamily::local:
      return {"#000000", "#ffffff"};  // this machine: black
  }
  return {};
}

constexpr Swatch outcome_colour(probe::Outcome o) {
  return family_colour(probe::outcome_family(o));
}

// The grid's cell classes, ".o0{...}" for every outcome.
inline std::string outcome_css() {
  std::string css;
  for (const auto& row : probe::kOutcomes) {
    const auto c = family_colour(row.family);
    fmt::format_to(std::back_inserter(css), ".o{}{{background:{};color:{}}}\n",
                   static_cast<int>(row.outcome), c.background, c.foreground);
  }
  return css;
}

// JSON that may sit inside <script>: '<', '>' and '&' only occur inside string literals, where
// \u escapes mean the same; so do U+2028/U+2029, which old JavaScript took for line ends.
inline std::string script_safe(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 16);
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
             (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace urlprobe::report::detail
