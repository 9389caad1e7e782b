#include "route/bypass.hpp"

#include <algorithm>
#include <charconv>

#include "base/text.hpp"

namespace urlprobe::route {

WinHttpBypass::WinHttpBypass(std::string_view list, bool commas) {
  auto separator = [commas](char c) {
    return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || (commas && c == ',');
  };
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && separator(list[i])) ++i;
    const auto start = i;
    while (i < list.size() && !separator(list[i])) ++i;
    if (start == i) continue;
    Entry e;
    e.text = std::string(list.substr(start, i - start));
    std::string_view rest = e.text;
    if (base::iequals(rest, "<local>")) {
      e.local = true;
      entries_.push_back(std::move(e));
      continue;
    }
    if (const auto sep = rest.find("://"); sep != std::string_view::npos) {
      e.scheme = base::lower(rest.substr(0, sep));
      rest.remove_prefix(sep + 3);
    }
    rest = rest.substr(0, rest.find('/'));
    if (!rest.empty() && rest.front() == '[') {
      const auto close = rest.find(']');
      std::string_view after =
          close == std::string_view::npos ? std::string_view{} : rest.substr(close + 1);
      if (!after.empty() && after.front() == ':') {
        const auto digits = after.substr(1);
        std::from_chars(digits.data(), digits.data() + digits.size(), e.port);
      }
      rest = rest.substr(1, close == std::string_view::npos ? rest.size() - 1 : close - 1);
    } else if (const auto colon = rest.rfind(':');
               colon != std::string_view::npos && rest.find(':') == colon) {
      // One colon: HOST:PORT ("*:8080" too); several are an IPv6 address without brackets.
      const auto digits = rest.substr(colon + 1);
      std::uint16_t port = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (ec == std::errc{} && end == digits.data() + digits.size()) {
        e.port = port;
        rest = rest.substr(0, colon);
      }
    }
    e.pattern = base::lower(rest);
    if (e.pattern.empty()) e.pattern.push_back('*');
    entries_.push_back(std::move(e));
  }
}

const std::string* WinHttpBypass::match(std::string_view scheme, std::string_view host,
                                        std::uint16_t port) const {
  if (!host.empty() && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  for (const auto& e : entries_) {
    if (e.local) {
      // An intranet name: no dot. IPv6 literals have none either, but are no names.
      if (!host.empty() && host.find('.') == std::string_view::npos &&
          host.find(':') == std::string_view::npos)
        return &e.text;
      continue;
    }
    if (!e.scheme.empty() && !base::iequals(e.scheme, scheme)) continue;
    if (e.port && e.port != port) continue;
    if (base::glob_match(e.pattern, host)) return &e.text;
  }
  return nullptr;
}

std::vector<std::string> WinHttpBypass::entries() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.text);
  return out;
}

}  // namespace urlprobe::route
