// Small text helpers every stage shares: ASCII case, trimming, and numbered lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace urlprobe::base {

// ASCII only: the input is URLs, host names, headers and option words, and the result must not
// depend on the process locale.
char lower(char c);
std::string lower(std::string_view s);
// Equal, or S starts with PREFIX, ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);
bool starts_with_icase(std::string_view s, std::string_view prefix);

// Without ASCII white space (" \t\r\n") at either end.
std::string_view trim(std::string_view s);
// Also without U+00A0 (pasted from web pages) at either end, taken only as its two-byte UTF-8
// sequence, never as single bytes (0xC2 also leads "©", "®", "§", ...). For spreadsheet cells.
std::string_view trim_with_nbsp(std::string_view s);

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// LINE without a leading UTF-8 byte order mark.
std::string_view drop_bom(std::string_view line);

// PATTERN against all of TEXT: '*' stands for any run of characters (none too), every other
// character for itself, ASCII case ignored. Linear-ish (one remembered star), never exponential.
bool glob_match(std::string_view pattern, std::string_view text);

// CP as UTF-8 (no checks: callers pass a code point or U+FFFD).
void append_utf8(std::string& out, char32_t cp);
// UTF-16 code units (a trailing odd byte is ignored) as UTF-8; unpaired surrogates: U+FFFD.
std::string utf16_to_utf8(std::string_view bytes, bool little_endian);
// A file as Windows tools save it, as UTF-8: UTF-16LE or BE after their byte order mark (regedit,
// PowerShell 5's `>`; unpaired surrogates become U+FFFD), else the bytes as they are without a
// UTF-8 one. Empty, with the reason in `error`, for UTF-16 of an odd number of bytes.
std::optional<std::string> decode_bom_text(std::string_view bytes, std::string& error);

// Calls fn(line, line_no) for each line of TEXT, numbered from 1. Lines end at '\n', which is
// not part of LINE (a '\r' before it is: callers trim); text after the last '\n' is a last line,
// and an empty text has none. Line 1 arrives without a UTF-8 byte order mark.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  for (int line_no = 1; !text.empty(); ++line_no) {
    const auto eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    fn(line_no == 1 ? drop_bom(line) : line, line_no);
  }
}

}  // namespace urlprobe::base
