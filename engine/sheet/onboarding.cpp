// Finding the gateway in an onboarding package by searching its bytes, not by parsing it: the
// packages are scripts, JSON and plists that carry the same JSON escaped zero to three times, and
// a search that skips any run of backslashes and quotes reads all of them the same way.
#include "sheet/onboarding.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "base/text.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"

namespace urlprobe::sheet {

namespace {

bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_alnum(char c) {
  return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
bool is_value(char c) {
  return is_word(c) || c == '-';
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// "GW_" and 2-4 upper-case letters, standing alone: "GW_EU" in "\"GW_EU\"", not in "XGW_EU" or
// "GW_EUROPE".
std::optional<std::string> first_gw_token(std::string_view text) {
  for (auto at = text.find("GW_"); at != std::string_view::npos; at = text.find("GW_", at + 1)) {
    if (at > 0 && is_word(text[at - 1])) continue;
    std::size_t end = at + 3;
    while (end < text.size() && end - at - 3 < 5 && is_upper(text[end])) ++end;
    const auto letters = end - at - 3;
    if (letters < 2 || letters > 4) continue;
    if (end < text.size() && is_word(text[end])) continue;
    return std::string(text.substr(at, end - at));
  }
  return std::nullopt;
}

// The quote of a JSON string at any escape depth (\", \\\", \\\\\\\"), as an XML plist writes it
// (&quot;), or white space: what may stand between a key, its colon and its value.
std::size_t skip_separators(std::string_view text, std::size_t at, bool& saw_quote) {
  for (;;) {
    if (at >= text.size()) return at;
    const char c = text[at];
    if (c == '"' || c == '\'') {
      saw_quote = true;
      ++at;
    } else if (c == '\\' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++at;
    } else if (text.substr(at).starts_with("&quot;")) {
      saw_quote = true;
      at += 6;
    } else {
      return at;
    }
  }
}

enum class Lookup { absent, unusable, found };

// The string value of KEY (its name in any case): `"KEY":"VALUE"` at any escape depth, VALUE one
// or more of [A-Za-z0-9_-] and the whole of the string.
Lookup find_value(std::string_view text, std::string_view key, std::string& value) {
  Lookup seen = Lookup::absent;
  for (std::size_t at = 0; at + key.size() <= text.size(); ++at) {
    if (base::lower(text[at]) != base::lower(key[0]) ||
        !base::iequals(text.substr(at, key.size()), key))
      continue;
    if (at > 0 && is_word(text[at - 1])) continue;
    std::size_t pos = at + key.size();
    if (pos < text.size() && is_word(text[pos])) continue;
    bool quoted_key = false, quoted_value = false;
    pos = skip_separators(text, pos, quoted_key);
    if (!quoted_key || pos >= text.size() || text[pos] != ':') continue;
    // A key followed by a colon is the key, whatever its value turns out to be.
    if (seen == Lookup::absent) seen = Lookup::unusable;
    pos = skip_separators(text, pos + 1, quoted_value);
    std::size_t end = pos;
    while (end < text.size() && is_value(text[end])) ++end;
    // The value must be the whole string: "West Europe" or "EU.x" is not a name we can use.
    if (!quoted_value || end == pos || end >= text.size() ||
        !(text[end] == '"' || text[end] == '\\' || text[end] == '\'' || text[end] == '&'))
      continue;
    value.assign(text.substr(pos, end - pos));
    return Lookup::found;
  }
  return seen;
}

int base64_digit(char c) {
  if (is_upper(c)) return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string decode_base64(std::string_view digits) {
  std::string out;
  out.reserve(digits.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : digits) {
    acc = (acc << 6) | static_cast<std::uint32_t>(base64_digit(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// Runs of at least 40 base64 digits (line breaks inside allowed, as `base64` wraps at 76),
// decoded. A run may have picked up a '/' or a letter before the real start ("\"/AbC...", or a
// word glued to a blob): then it is decoded from both ends' alignment.
void decode_base64_runs(std::string_view text, std::vector<std::string>& into) {
  constexpr std::size_t kMinRun = 40;
  std::size_t at = 0;
  while (at < text.size()) {
    if (base64_digit(text[at]) < 0) {
      ++at;
      continue;
    }
    std::string digits;
    std::size_t end = at;
    while (end < text.size() &&
           (base64_digit(text[end]) >= 0 || text[end] == '\r' || text[end] == '\n')) {
      if (base64_digit(text[end]) >= 0) digits.push_back(text[end]);
      ++end;
    }
    std::size_t padding = 0;
    while (end < text.size() && text[end] == '=' && padding < 2) {
      ++padding;
      ++end;
    }
    at = end;
    if (digits.size() < kMinRun) continue;
    // Padding ends a blob on a 4-digit boundary, so a padded run's excess is at its start.
    const auto tail = (digits.size() + padding) % 4;
    if (tail == 0 || padding == 0) into.push_back(decode_base64(digits));
    if (tail != 0) into.push_back(decode_base64(std::string_view(digits).substr(tail)));
  }
}

std::string no_help_message(const std::string& source, bool geo_key_unusable) {
  return fmt::format(
      "{}: no gateway found: looked for a GW_xx token (streamlined package) and a "
      "vortexGeoLocation value (older packages){}, also inside base64 text; name the gateway with "
      "--gateway GW_US, GW_EU, GW_UK or GW_AU (US, EU, UK, AU for standard connectivity)",
      source,
      geo_key_unusable ? " (vortexGeoLocation is there, but not with a plain name as its value)"
                       : "");
}

}  // namespace

Onboarding parse_onboarding(std::string_view text, const std::string& source) {
  if (text.empty()) throw SheetError(fmt::format("{}: the onboarding package is empty", source));
  // Where to look, in order: the bytes as they are; without NULs, which reads a UTF-16LE export
  // (a .reg file) as ASCII; then base64 found in those, and base64 inside that (a blob of a
  // package that itself holds a blob). Plain text first, so a token in it wins.
  std::vector<std::string> views{std::string(text)};
  if (text.find('\0') != std::string_view::npos) {
    std::string ascii;
    for (const char c : text)
      if (c != '\0') ascii.push_back(c);
    views.push_back(std::move(ascii));
  }
  for (std::size_t depth = 0, begin = 0; depth < 2; ++depth) {
    const std::size_t end = views.size();
    for (std::size_t i = begin; i < end; ++i) {
      std::vector<std::string> decoded;
      decode_base64_runs(views[i], decoded);
      for (auto& d : decoded) views.push_back(std::move(d));
    }
    begin = end;
  }
  const std::size_t plain_views = text.find('\0') != std::string_view::npos ? 2 : 1;
  auto suffix = [&](std::size_t view) { return view < plain_views ? "" : " (base64)"; };

  Onboarding out;
  for (std::size_t i = 0; i < views.size() && out.gateway.empty(); ++i)
    if (auto token = first_gw_token(views[i])) {
      out.gateway = *token;
      out.found_by = fmt::format("{} token{}", *token, suffix(i));
    }
  bool geo_key_unusable = false;
  for (std::size_t i = 0; i < views.size() && out.gateway.empty(); ++i) {
    std::string value;
    const auto lookup = find_value(views[i], "vortexGeoLocation", value);
    if (lookup == Lookup::found) {
      out.gateway = upper(value);
      out.found_by = fmt::format("vortexGeoLocation{}", suffix(i));
    } else if (lookup == Lookup::unusable) {
      geo_key_unusable = true;
    }
  }
  if (out.gateway.empty()) throw SheetError(no_help_message(source, geo_key_unusable));
  for (const auto& view : views)
    if (find_value(view, "datacenter", out.datacenter) == Lookup::found) break;
  return out;
}

Onboarding read_onboarding(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw SheetError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    throw SheetError(fmt::format("{}: is a directory, not an onboarding package", path));
  std::string text;
  try {
    text = read_file(path, kMaxOnboardingBytes);
  } catch (const SheetError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw SheetError(e.what());
  }
  return parse_onboarding(text, path);
}

bool valid_gateway(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kNames{"GW_US", "GW_EU", "GW_UK", "GW_AU",
                                                          "US",    "EU",    "UK",    "AU"};
  for (const auto known : kNames)
    if (base::iequals(name, known)) return true;
  return false;
}

std::string normalise_gateway(std::string_view name) {
  return upper(name);
}

std::vector<std::string> gateway_geographies(std::string_view gateway) {
  const auto name = upper(gateway);
  if (name.empty()) return {};
  if (name.starts_with("GW_")) return {name, name.substr(3)};
  return {"GW_" + name, name};
}

}  // namespace urlprobe::sheet
