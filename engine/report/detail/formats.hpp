// Internal to engine/report: the writers of the file formats (csv, junit, prometheus, json, html)
// and the small text helpers they share. Users go through make_writer (writer.hpp).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"

namespace urlprobe::report::detail {

// What a Report keeps once for the formats that read the whole sweep at finish: they hold a
// reference to it instead of a copy each.
struct Kept {
  std::vector<probe::Result> results;  // every result, in the order written
  Readiness readiness;                 // assessed at finish, before any format finishes
};

std::unique_ptr<ResultWriter> make_csv_writer(std::FILE* out);
std::unique_ptr<ResultWriter> make_junit_writer(std::FILE* out,
                                                std::span<const probe::RouteColumn> routes);
std::unique_ptr<ResultWriter> make_prometheus_writer(std::FILE* out);
std::unique_ptr<ResultWriter> make_json_writer(std::FILE* out, const Kept& kept);
std::unique_ptr<ResultWriter> make_html_writer(std::FILE* out,
                                               std::span<const probe::RouteColumn> routes,
                                               const Kept& kept);

// Calls `emit(cp, bytes)` for each code point of `s`; a byte that does not start a valid UTF-8
// sequence (overlong, surrogate, truncated) is reported as U+FFFD with bytes "\xEF\xBF\xBD".
template <typename Emit>
void for_each_code_point(std::string_view s, Emit&& emit) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      emit(static_cast<char32_t>(c), s.substr(i, 1));
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF)
      len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, cp = c & 0x07;
    bool valid = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      valid = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (valid) {
      valid = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
              !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (valid) {
      emit(cp, s.substr(i, len));
      i += len;
    } else {
      emit(char32_t{0xFFFD}, std::string_view("\xEF\xBF\xBD"));
      ++i;
    }
  }
}

// `s` with invalid UTF-8 replaced by U+FFFD.
inline std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_code_point(s, [&](char32_t, std::string_view bytes) { out += bytes; });
  return out;
}

// The text format fits a terminal: lines are wrapped at this width.
inline constexpr std::size_t kTextWidth = 100;

// TEXT with every line wider than WIDTH broken at spaces, continued 4 columns deeper than it
// starts. A word is never broken: a URL longer than the room stays whole on its line, and what
// follows it goes on the next.
std::string wrap_lines(std::string_view text, std::size_t width = kTextWidth);

using base::parse_rfc3339;
using base::rfc3339;

// A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// What DNS answered for the result's host, for a failure's reader: "a.example ->
// b.trafficmanager.net -> c.cloudapp.net [1.2.3.4, 5.6.7.8]"; empty when it was not resolved here.
std::string dns_chain_text(const probe::Result& r);

// The key under the text format's targets x proxies matrix: "CODE name" for every outcome with
// something to say (all but the neutral not_configured and skipped), a few a line.
std::string text_legend();

// `s` as XML/HTML text (attribute: for an attribute value in double quotes): & < > escaped, and
// what markup cannot carry (C0 controls, invalid UTF-8) as U+FFFD, as the junit writer does.
void append_markup_escaped(std::string& out, std::string_view s, bool attribute);

}  // namespace urlprobe::report::detail
