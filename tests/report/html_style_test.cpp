// The html pages' outcome colours (issue 18): every outcome has a colour and a one-letter code,
// the codes are distinct, each family of causes has its own colour, and the colours stay apart
// for readers with a colour-vision deficiency.
#include "report/detail/html_style.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <regex>
#include <set>

#include "report/detail/formats.hpp"

using namespace urlprobe;
using probe::Outcome;
using Family = probe::OutcomeFamily;
using probe::outcome_code;
using probe::outcome_family;
using report::detail::outcome_colour;

namespace {

using Rgb = std::array<double, 3>;  // linear sRGB, 0..1

Rgb linear(std::string_view hex) {
  Rgb out{};
  for (int i = 0; i < 3; ++i) {
    const double c = std::stoi(std::string(hex.substr(1 + 2 * i, 2)), nullptr, 16) / 255.0;
    out[i] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  }
  return out;
}

double luminance(const Rgb& c) {
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

// WCAG 2 contrast ratio.
double contrast(std::string_view a, std::string_view b) {
  auto la = luminance(linear(a)), lb = luminance(linear(b));
  if (la < lb) std::swap(la, lb);
  return (la + 0.05) / (lb + 0.05);
}

// Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB.
using Matrix = std::array<Rgb, 3>;
constexpr Matrix kDeuteranopia{{{0.367322, 0.860646, -0.227968},
                                {0.280085, 0.672501, 0.047413},
                                {-0.011820, 0.042940, 0.968881}}};
constexpr Matrix kProtanopia{{{0.152286, 1.052583, -0.204868},
                              {0.114503, 0.786281, 0.099216},
                              {-0.003882, -0.048116, 1.051998}}};
constexpr Matrix kTritanopia{{{1.255528, -0.076749, -0.178779},
                              {-0.078411, 0.930809, 0.147602},
                              {0.004733, 0.691367, 0.303900}}};

Rgb simulate(const Matrix& m, const Rgb& c) {
  Rgb out{};
  for (int i = 0; i < 3; ++i)
    out[i] = std::clamp(m[i][0] * c[0] + m[i][1] * c[1] + m[i][2] * c[2], 0.0, 1.0);
  return out;
}

// CIE L*a*b* (D65) of linear sRGB.
Rgb lab(const Rgb& c) {
  const double x = (0.4124 * c[0] + 0.3576 * c[1] + 0.1805 * c[2]) / 0.95047;
  const double y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  const double z = (0.0193 * c[0] + 0.1192 * c[1] + 0.9505 * c[2]) / 1.08883;
  auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116; };
  return {116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))};
}

double delta_e(const Rgb& a, const Rgb& b) {
  const auto la = lab(a), lb = lab(b);
  return std::hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
}

std::vector<Outcome> all_outcomes() {
  std::vector<Outcome> out;
  for (std::size_t i = 0; i < probe::kOutcomeCount; ++i) out.push_back(static_cast<Outcome>(i));
  return out;
}

}  // namespace

TEST(HtmlStyle, EveryOutcomeHasAColourAndADistinctCode) {
  const std::regex hex("#[0-9a-fA-F]{6}");
  std::set<char> codes;
  for (const auto o : all_outcomes()) {
    const auto name = probe::outcome_name(o);
    EXPECT_TRUE(std::regex_match(std::string(outcome_colour(o).background), hex)) << name;
    EXPECT_TRUE(std::regex_match(std::string(outcome_colour(o).foreground), hex)) << name;
    const char code = outcome_code(o);
    EXPECT_TRUE(std::isgraph(static_cast<unsigned char>(code))) << name;
    EXPECT_TRUE(codes.insert(code).second) << name << " shares code " << code;
  }
}

TEST(HtmlStyle, OutcomesAreGroupedByWhatToBlame) {
  EXPECT_EQ(outcome_family(Outcome::ok), Family::ok);
  EXPECT_EQ(outcome_family(Outcome::not_configured), Family::neutral);
  EXPECT_EQ(outcome_family(Outcome::skipped), Family::neutral);
  EXPECT_EQ(outcome_family(Outcome::dns_error), Family::dns);
  EXPECT_EQ(outcome_family(Outcome::connect_refused), Family::connect);
  EXPECT_EQ(outcome_family(Outcome::connect_timeout), Family::connect);
  for (auto o : {Outcome::proxy_unreachable, Outcome::proxy_auth_required, Outcome::proxy_denied,
                 Outcome::proxy_error})
    EXPECT_EQ(outcome_family(o), Family::proxy) << probe::outcome_name(o);
  for (auto o : {Outcome::tls_intercepted, Outcome::tls_untrusted, Outcome::tls_error})
    EXPECT_EQ(outcome_family(o), Family::tls) << probe::outcome_name(o);
  EXPECT_EQ(outcome_family(Outcome::unexpected_status), Family::http);
  EXPECT_EQ(outcome_family(Outcome::http_error), Family::http);
  EXPECT_EQ(outcome_family(Outcome::timeout), Family::timeout);
  EXPECT_EQ(outcome_family(Outcome::local_error), Family::local);
}

// One colour per family: distinct families differ by hue, outcomes of one family by code.
TEST(HtmlStyle, DistinctFamiliesHaveDistinctColours) {
  for (const auto a : all_outcomes())
    for (const auto b : all_outcomes()) {
      const bool same_family = outcome_family(a) == outcome_family(b);
      const bool same_colour = outcome_colour(a).background == outcome_colour(b).background;
      EXPECT_EQ(same_family, same_colour)
          << probe::outcome_name(a) << " and " << probe::outcome_name(b);
    }
}

// Every pair of families stays apart (CIE76 delta E >= 10) as a reader with deuteranopia,
// protanopia or tritanopia sees them.
TEST(HtmlStyle, FamiliesStayApartForColourBlindReaders) {
  const std::array<std::pair<const char*, const Matrix*>, 3> deficiencies{
      {{"deuteranopia", &kDeuteranopia},
       {"protanopia", &kProtanopia},
       {"tritanopia", &kTritanopia}}};
  for (const auto& [name, matrix] : deficiencies)
    for (const auto a : all_outcomes())
      for (const auto b : all_outcomes()) {
        if (outcome_family(a) == outcome_family(b)) continue;
        const auto ca = simulate(*matrix, linear(outcome_colour(a).background));
        const auto cb = simulate(*matrix, linear(outcome_colour(b).background));
        EXPECT_GE(delta_e(ca, cb), 10.0)
            << name << ": " << probe::outcome_name(a) << " " << outcome_colour(a).background
            << " vs " << probe::outcome_name(b) << " " << outcome_colour(b).background;
      }
}

// The code written on a cell is readable on the cell's colour (WCAG AA for text, 4.5:1).
TEST(HtmlStyle, CodesContrastWithTheirColour) {
  for (const auto o : all_outcomes())
    EXPECT_GE(contrast(outcome_colour(o).background, outcome_colour(o).foreground), 4.5)
        << probe::outcome_name(o);
}

TEST(HtmlStyle, CssHasAClassPerOutcome) {
  const auto css = report::detail::outcome_css();
  for (const auto o : all_outcomes()) {
    const auto i = static_cast<int>(o);
    const auto c = outcome_colour(o);
    EXPECT_NE(css.find(".o" + std::to_string(i) + "{background:" + std::string(c.background) +
                       ";color:" + std::string(c.foreground) + "}"),
              std::string::npos)
        << css;
  }
}
