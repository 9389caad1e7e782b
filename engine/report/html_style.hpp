// Internal to engine/report: what the html pages share (the sweep report, and any other page
// that shows outcomes): the outcome colours and the escaping of JSON placed inside a <script>.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "probe/result.hpp"

namespace urlprobe::report::detail {

// Outcomes grouped by what to blame. A family has one colour; its outcomes differ by their
// one-letter code (outcome_code), so no reader depends on telling two shades apart.
enum class Family : std::uint8_t { ok, neutral, http, dns, connect, proxy, tls, timeout, local };
inline constexpr std::size_t kFamilyCount = static_cast<std::size_t>(Family::local) + 1;

inline Family outcome_family(probe::Outcome o) {
  using probe::Outcome;
  switch (o) {
    case Outcome::ok:
      return Family::ok;
    case Outcome::not_configured:
    case Outcome::skipped:
      return Family::neutral;
    case Outcome::unexpected_status:
    case Outcome::http_error:
      return Family::http;
    case Outcome::dns_error:
      return Family::dns;
    case Outcome::connect_refused:
    case Outcome::connect_timeout:
      return Family::connect;
    case Outcome::proxy_unreachable:
    case Outcome::proxy_auth_required:
    case Outcome::proxy_denied:
    case Outcome::proxy_error:
      return Family::proxy;
    case Outcome::tls_intercepted:
    case Outcome::tls_untrusted:
    case Outcome::tls_error:
      return Family::tls;
    case Outcome::timeout:
      return Family::timeout;
    case Outcome::local_error:
      return Family::local;
  }
  return Family::neutral;
}

struct Swatch {
  std::string_view background, foreground;  // "#rrggbb"; the code is written in foreground
};

// Okabe & Ito's palette ("Color Universal Design", 2008), made to stay distinguishable with
// every common colour-vision deficiency, one colour per family; grey for "nothing to say".
// Foregrounds are the better-contrasting of black and white (WCAG AA, at least 4.5:1).
inline Swatch family_colour(Family f) {
  constexpr std::array<Swatch, kFamilyCount> kColours{{
      {"#009e73", "#000000"},  // ok: bluish green
      {"#d9d9d9", "#000000"},  // neutral (not_configured, skipped): light grey
      {"#f0e442", "#000000"},  // http: yellow
      {"#cc79a7", "#000000"},  // dns: reddish purple
      {"#d55e00", "#000000"},  // connect: vermillion
      {"#e69f00", "#000000"},  // proxy: orange
      {"#0072b2", "#ffffff"},  // tls: blue
      {"#56b4e9", "#000000"},  // timeout: sky blue
      {"#000000", "#ffffff"},  // local (this machine): black
  }};
  return kColours[static_cast<std::size_t>(f)];
}

inline Swatch outcome_colour(probe::Outcome o) {
  return family_colour(outcome_family(o));
}

// The grid's cell classes, ".o0{...}" for every outcome.
inline std::string outcome_css() {
  std::string css;
  for (std::size_t i = 0; i < probe::kOutcomeCount; ++i) {
    const auto c = outcome_colour(static_cast<probe::Outcome>(i));
    fmt::format_to(std::back_inserter(css), ".o{}{{background:{};color:{}}}\n", i, c.background,
                   c.foreground);
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
