#include "route/proxy.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include <charconv>

#include "base/text.hpp"

namespace urlprobe::route {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Returns the column (0-based) of a bad escape, or -1.
int percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return static_cast<int>(i);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return -1;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string_view scheme_name(ProxySpec::Scheme s) {
  switch (s) {
    case ProxySpec::Scheme::http:
      return "http";
    case ProxySpec::Scheme::https:
      return "https";
    case ProxySpec::Scheme::socks5:
      return "socks5";
    case ProxySpec::Scheme::socks5h:
      return "socks5h";
  }
  return "http";
}

std::string ProxySpec::redacted() const {
  std::string out = fmt::format("{}://", scheme_name(scheme));
  if (!user.empty() || !password.empty()) {
    for (const char c : user) {  // re-encode what would break the URL shape
      if (c == '@' || c == ':' || c == '/' || c == '%' || static_cast<unsigned char>(c) <= 0x20)
        out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
      else
        out += c;
    }
    out += password.empty() ? "@" : ":***@";
  }
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += fmt::format(":{}", port);
  return out;
}

std::variant<ProxySpec, SpecError> parse_proxy_spec(std::string_view text) {
  ProxySpec spec;
  std::size_t pos = 0;
  bool url_form = false;
  if (const auto sep = text.find("://"); sep != std::string_view::npos) {
    const auto scheme = base::lower(text.substr(0, sep));
    if (scheme == "http")
      spec.scheme = ProxySpec::Scheme::http;
    else if (scheme == "https")
      spec.scheme = ProxySpec::Scheme::https;
    else if (scheme == "socks5")
      spec.scheme = ProxySpec::Scheme::socks5;
    else if (scheme == "socks5h")
      spec.scheme = ProxySpec::Scheme::socks5h;
    else
      return SpecError{
          1, fmt::format("unsupported proxy scheme '{}' (http, https, socks5, socks5h)", scheme)};
    pos = sep + 3;
    url_form = true;
  }
  std::string_view rest = text.substr(pos);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // "http://proxy:3128/"
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const auto userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    const auto user = userinfo.substr(0, colon);
    if (const int bad = percent_decode(user, spec.user); bad >= 0)
      return SpecError{static_cast<int>(pos) + bad + 1,
                       "bad percent-encoding in the proxy user name"};
    if (colon != std::string_view::npos) {
      // The column of a bad escape in a password is not reported: it would point into a secret.
      if (percent_decode(userinfo.substr(colon + 1), spec.password) >= 0)
        return SpecError{static_cast<int>(pos) + 1, "bad percent-encoding in the proxy password"};
    }
    pos += at + 1;
    rest = rest.substr(at + 1);
  }
  std::string_view host_text, port_text;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos)
      return SpecError{static_cast<int>(pos) + 1, "unclosed '[' in IPv6 address"};
    host_text = rest.substr(1, close - 1);
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host_text), ec);
    if (ec)
      return SpecError{static_cast<int>(pos) + 2,
                       fmt::format("'{}' is not an IPv6 address", host_text)};
    const auto after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return SpecError{static_cast<int>(pos + close) + 2, "expected ':' and a port after ']'"};
    port_text = after.empty() ? std::string_view{} : after.substr(1);
    if (!after.empty() && port_text.empty())
      return SpecError{static_cast<int>(pos + close) + 3, "missing port after ':'"};
  } else {
    const auto colon = rest.rfind(':');
    host_text = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty())
        return SpecError{static_cast<int>(pos + colon) + 2, "missing port after ':'"};
    }
    for (std::size_t i = 0; i < host_text.size(); ++i)
      if (!valid_host_char(host_text[i]))
        return SpecError{static_cast<int>(pos + i) + 1,
                         fmt::format("unexpected character '{}' in proxy host", host_text[i])};
  }
  if (host_text.empty()) return SpecError{static_cast<int>(pos) + 1, "missing proxy host"};
  spec.host = base::lower(host_text);

  const int port_column = static_cast<int>(text.size() - port_text.size()) + 1;
  if (!port_text.empty()) {
    if (!parse_port(port_text, spec.port))
      return SpecError{port_column,
                       fmt::format("port '{}' is not a number from 1 to 65535", port_text)};
  } else if (url_form) {
    spec.port = spec.scheme == ProxySpec::Scheme::https ? 443 : 1080;  // curl's defaults
  } else {
    return SpecError{static_cast<int>(text.size()) + 1,
                     "missing port: write HOST:PORT or a proxy URL"};
  }
  return spec;
}

NoProxy::NoProxy(std::string_view list) {
  while (!list.empty()) {
    const auto sep = list.find_first_of(", ");
    std::string item = base::lower(list.substr(0, sep));
    list = sep == std::string_view::npos ? std::string_view{} : list.substr(sep + 1);
    if (item.empty()) continue;
    if (item == "*") {
      all_ = true;
      continue;
    }
    Entry entry;
    // host:port, [v6]:port, bare IPv6 (several colons) or host
    if (item.starts_with('[')) {
      const auto close = item.find(']');
      if (close == std::string::npos) continue;
      if (close + 1 < item.size() && item[close + 1] == ':')
        parse_port(std::string_view(item).substr(close + 2), entry.port);
      item = item.substr(1, close - 1);
    } else if (std::count(item.begin(), item.end(), ':') == 1) {
      const auto colon = item.find(':');
      if (!parse_port(std::string_view(item).substr(colon + 1), entry.port)) continue;
      item.resize(colon);
    }
    std::string address_text = item;
    if (const auto slash = item.find('/'); slash != std::string::npos) {
      address_text = item.substr(0, slash);
      int prefix = -1;
      const auto p = std::string_view(item).substr(slash + 1);
      if (std::from_chars(p.data(), p.data() + p.size(), prefix).ec != std::errc{}) continue;
      entry.prefix = prefix;
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(address_text, ec);
    if (!ec) {
      if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        entry.network.assign(bytes.begin(), bytes.end());
      } else {
        const auto bytes = address.to_v6().to_bytes();
        entry.network.assign(bytes.begin(), bytes.end());
      }
      const int bits = static_cast<int>(entry.network.size() * 8);
      if (entry.prefix < 0 || entry.prefix > bits) entry.prefix = bits;
    } else {
      if (entry.prefix >= 0) continue;  // a CIDR that is not an address
      while (!item.empty() && item.front() == '.') item.erase(0, 1);
      if (item.starts_with("*.")) item.erase(0, 2);  // "*.example.com" as many users write it
      entry.domain = item;
    }
    entries_.push_back(std::move(entry));
  }
}

bool NoProxy::bypass(std::string_view host_in, std::uint16_t port) const {
  if (all_) return true;
  const std::string host = base::lower(host_in);
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  std::vector<std::uint8_t> bytes;
  if (!ec) {
    if (address.is_v4()) {
      const auto b = address.to_v4().to_bytes();
      bytes.assign(b.begin(), b.end());
    } else {
      const auto b = address.to_v6().to_bytes();
      bytes.assign(b.begin(), b.end());
    }
  }
  for (const auto& entry : entries_) {
    if (entry.port && entry.port != port) continue;
    if (!entry.domain.empty()) {
      if (host == entry.domain) return true;
      if (host.size() > entry.domain.size() && host.ends_with(entry.domain) &&
          host[host.size() - entry.domain.size() - 1] == '.')
        return true;
      continue;
    }
    if (bytes.size() != entry.network.size())
      continue;  // IP entries match IP literals only, as curl
    int bits = entry.prefix;
    bool match = true;
    for (std::size_t i = 0; i < bytes.size() && bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xFF : static_cast<std::uint8_t>(0xFF << (8 - bits));
      match = (bytes[i] & mask) == (entry.network[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

EnvironmentProxy read_environment_proxy(const std::map<std::string, std::string>& env) {
  EnvironmentProxy out;
  auto get = [&](std::initializer_list<const char*> names) -> std::pair<std::string, std::string> {
    for (const char* name : names)
      if (auto it = env.find(name); it != env.end() && !it->second.empty())
        return {name, it->second};
    return {};
  };
  auto parse = [&](std::pair<std::string, std::string> var) -> std::optional<ProxySpec> {
    if (var.first.empty()) return std::nullopt;
    auto parsed = parse_proxy_spec(var.second);
    if (auto* error = std::get_if<SpecError>(&parsed)) {
      out.errors.push_back({var.first, std::move(*error)});
      return std::nullopt;
    }
    return std::get<ProxySpec>(parsed);
  };
  // curl reads only lower-case http_proxy: HTTP_PROXY can be set by a CGI request header.
  out.http = parse(get({"http_proxy"}));
  out.https = parse(get({"https_proxy", "HTTPS_PROXY"}));
  auto all = parse(get({"all_proxy", "ALL_PROXY"}));
  if (!out.http) out.http = all;
  if (!out.https) out.https = all;
  const auto no_proxy = get({"no_proxy", "NO_PROXY"});
  out.no_proxy = NoProxy(no_proxy.second);
  return out;
}

}  // namespace urlprobe::route
