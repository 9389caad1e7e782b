#include "route/pac.hpp"

#include <algorithm>
#include <string>

#include "route/detail/pac_ip.hpp"

namespace urlprobe::route {
namespace {

using detail::parse_ip;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool parse_hop(std::string_view entry, PacHop& hop, std::string& error) {
  std::size_t k = 0;
  while (k < entry.size() && !is_space(entry[k])) ++k;
  const std::string keyword = upper(entry.substr(0, k));
  const std::string_view rest = trim(entry.substr(k));
  std::uint16_t default_port = 0;
  if (keyword == "DIRECT") {
    hop = {};
    if (!rest.empty()) {
      error = "unexpected text after DIRECT in \"" + std::string(entry) + "\"";
      return false;
    }
    return true;
  } else if (keyword == "PROXY" || keyword == "HTTP") {
    hop.kind = PacHop::Kind::http;
    default_port = 80;
  } else if (keyword == "HTTPS") {
    hop.kind = PacHop::Kind::https;
    default_port = 443;
  } else if (keyword == "SOCKS" || keyword == "SOCKS4") {
    hop.kind = PacHop::Kind::socks4;
    default_port = 1080;
  } else if (keyword == "SOCKS5") {
    hop.kind = PacHop::Kind::socks5;
    default_port = 1080;
  } else {
    error = "unknown proxy type in \"" + std::string(entry) + "\"";
    return false;
  }
  const auto bad = [&](const char* why) {
    error = std::string(why) + " in \"" + std::string(entry) + "\"";
    return false;
  };
  if (rest.empty()) return bad("missing host");
  std::string_view host = rest, port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("bad address");
      port = after.substr(1);
      if (port.empty()) return bad("missing port");
    }
    if (!parse_ip(std::string(host)) || parse_ip(std::string(host))->family != AF_INET6)
      return bad("bad IPv6 address");
  } else {
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':', colon + 1) != std::string_view::npos)
        return bad("IPv6 address without [ ]");
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("missing port");
    }
    for (char c : host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
      if (!ok) return bad("bad host");
    }
  }
  if (host.empty()) return bad("missing host");
  unsigned long value = default_port;
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("bad port");
    value = std::stoul(std::string(port));
    if (value == 0 || value > 65535) return bad("bad port");
  }
  hop.host = std::string(host);
  hop.port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

std::vector<PacHop> parse_pac_answer(std::string_view text, std::string& error) {
  std::vector<PacHop> chain;
  error.clear();
  while (true) {
    const auto semi = text.find(';');
    const auto entry = trim(text.substr(0, semi));
    if (!entry.empty()) {
      PacHop hop;
      if (!parse_hop(entry, hop, error)) return {};
      chain.push_back(std::move(hop));
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  if (chain.empty()) {
    error = "empty answer";
    return {};
  }
  return chain;
}

}  // namespace urlprobe::route
