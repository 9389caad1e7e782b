#include "route/windows_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "base/text.hpp"

namespace urlprobe::route {

namespace {

// Case-insensitive "starts with", and what follows.
bool take_prefix(std::string_view& s, std::string_view prefix) {
  if (!base::starts_with_icase(s, prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

int column_of(std::string_view line, std::string_view part) {
  return static_cast<int>(part.data() - line.data()) + 1;
}

}  // namespace

// --- netsh winhttp -----------------------------------------------------------------------------

WinHttpServers parse_winhttp_servers(std::string_view list, std::optional<SpecError>& error) {
  WinHttpServers out;
  std::optional<ProxySpec> fallback;
  bool explicit_http = false, explicit_https = false;
  std::size_t i = 0;
  auto separator = [](char c) { return c == ';' || c == ' ' || c == '\t'; };
  while (i < list.size()) {
    while (i < list.size() && separator(list[i])) ++i;
    const auto start = i;
    while (i < list.size() && !separator(list[i])) ++i;
    if (start == i) continue;
    const std::string_view item = list.substr(start, i - start);
    std::string_view server = item;
    std::string scheme;
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq).find("://") == std::string_view::npos) {
      scheme = base::lower(item.substr(0, eq));
      server = item.substr(eq + 1);
      if (scheme != "http" && scheme != "https") {
        out.ignored.emplace_back(item);
        continue;
      }
    }
    // WinHTTP's default proxy port is the scheme's own, where curl's would be 1080.
    std::string spec_text(server);
    std::string_view authority = server;
    std::string_view proxy_scheme = "http";
    if (const auto sep = authority.find("://"); sep != std::string_view::npos) {
      proxy_scheme = authority.substr(0, sep);
      authority.remove_prefix(sep + 3);
    }
    authority = authority.substr(0, authority.find('/'));
    const auto at = authority.rfind('@');
    const auto hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
    const auto close = hostport.rfind(']');
    const auto colon = hostport.rfind(':');
    const bool has_port = colon != std::string_view::npos &&
                          (close == std::string_view::npos || colon > close) &&
                          (hostport.front() == '[' || hostport.find(':') == colon);
    if (!has_port && !hostport.empty()) {
      const auto insert_at =
          static_cast<std::size_t>(hostport.data() - server.data()) + hostport.size();
      spec_text.insert(insert_at, base::iequals(proxy_scheme, "https") ? ":443" : ":80");
    }
    auto parsed = parse_proxy_spec(spec_text);
    if (auto* e = std::get_if<SpecError>(&parsed)) {
      const int offset = static_cast<int>(server.data() - list.data());
      error = SpecError{offset + std::min<int>(e->column, static_cast<int>(server.size()) + 1),
                        e->message};
      return out;
    }
    auto spec = std::get<ProxySpec>(std::move(parsed));
    if (scheme == "http") {
      out.http = spec;
      explicit_http = true;
    } else if (scheme == "https") {
      out.https = spec;
      explicit_https = true;
    } else if (!fallback) {
      fallback = spec;
    }
  }
  if (fallback) {
    if (!explicit_http) out.http = fallback;
    if (!explicit_https) out.https = fallback;
  }
  if (!out.http && !out.https && !error) error = SpecError{1, "no http or https proxy in the list"};
  return out;
}

namespace {

// `set proxy` arguments: NAME=VALUE or positional, values optionally in double quotes.
struct Argument {
  std::string name;  // empty: positional
  std::string value;
  int column = 0;  // of the value, in the line
};

std::optional<std::vector<Argument>> split_arguments(std::string_view line, std::string_view args,
                                                     ConfigError& error) {
  std::vector<Argument> out;
  std::size_t i = 0;
  while (i < args.size()) {
    while (i < args.size() && (args[i] == ' ' || args[i] == '\t')) ++i;
    if (i >= args.size()) break;
    Argument a;
    std::size_t value_start = i;
    // NAME= before any quote
    std::size_t j = i;
    while (j < args.size() && args[j] != '=' && args[j] != ' ' && args[j] != '\t' && args[j] != '"')
      ++j;
    if (j < args.size() && args[j] == '=') {
      a.name = base::lower(args.substr(i, j - i));
      value_start = j + 1;
    }
    i = value_start;
    a.column = column_of(line, args.substr(i));
    if (i < args.size() && args[i] == '"') {
      const auto close = args.find('"', i + 1);
      if (close == std::string_view::npos) {
        error = {0, column_of(line, args.substr(i)), "unterminated quoted value"};
        return std::nullopt;
      }
      a.value = std::string(args.substr(i + 1, close - i - 1));
      a.column += 1;
      i = close + 1;
    } else {
      const auto start = i;
      while (i < args.size() && args[i] != ' ' && args[i] != '\t') ++i;
      a.value = std::string(args.substr(start, i - start));
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

WinHttpRead read_winhttp(std::string_view bytes) {
  WinHttpRead out;
  std::string decode_error;
  const auto text = base::decode_bom_text(bytes, decode_error);
  if (!text) {
    out.errors.push_back({0, 0, decode_error});
    return out;
  }
  auto set = [&](WinHttpSettings s, int line_no) {
    if (out.settings && !(out.settings->line == line_no)) {
      out.errors.push_back(
          {line_no, 0,
           fmt::format("a second proxy setting (the first is on line {})", out.settings->line)});
      return;
    }
    s.line = line_no;
    out.settings = std::move(s);
  };
  // Checked once the proxy server's line is known: its columns are the line's.
  auto check_servers = [&](std::string_view line, std::string_view value, int line_no) {
    std::optional<SpecError> error;
    parse_winhttp_servers(value, error);
    if (error)
      out.errors.push_back({line_no, column_of(line, value) + error->column - 1,
                            fmt::format("proxy server list: {}", error->message)});
    return !error;
  };
  std::optional<std::pair<std::string, int>> pending_bypass;  // a Bypass List before its server
  base::for_each_line(*text, [&](std::string_view raw, int line_no) {
    const std::string_view line = base::trim(raw);
    if (line.empty() || line.front() == '#') return;
    std::string_view rest = line;
    if (take_prefix(rest, "Direct access")) {
      WinHttpSettings s;
      set(std::move(s), line_no);
      return;
    }
    if (take_prefix(rest, "Proxy Server(s)") || take_prefix(rest, "Proxy Server")) {
      const auto colon = rest.find(':');
      if (colon == std::string_view::npos) {
        out.errors.push_back({line_no, 0, "expected 'Proxy Server(s) :  SERVERS'"});
        return;
      }
      const auto value = base::trim(rest.substr(colon + 1));
      if (value.empty()) {
        out.errors.push_back({line_no, 0, "no proxy server after 'Proxy Server(s) :'"});
        return;
      }
      if (!check_servers(line, value, line_no)) return;
      WinHttpSettings s;
      s.direct = false;
      s.proxy_server = std::string(value);
      set(std::move(s), line_no);
      if (pending_bypass && out.settings && out.settings->line == line_no) {
        out.settings->bypass_list = pending_bypass->first;
        out.settings->bypass_line = pending_bypass->second;
      }
      return;
    }
    if (take_prefix(rest, "Bypass List")) {
      const auto colon = rest.find(':');
      if (colon == std::string_view::npos) {
        out.errors.push_back({line_no, 0, "expected 'Bypass List     :  LIST'"});
        return;
      }
      auto value = base::trim(rest.substr(colon + 1));
      if (value == "(none)") value = {};
      if (out.settings && !out.settings->direct && out.settings->bypass_line == 0) {
        out.settings->bypass_list = std::string(value);
        out.settings->bypass_line = line_no;
      } else {
        pending_bypass.emplace(std::string(value), line_no);
      }
      return;
    }
    take_prefix(rest, "netsh ");
    rest = base::trim(rest);
    take_prefix(rest, "winhttp ");
    rest = base::trim(rest);
    if (take_prefix(rest, "reset proxy")) {
      set(WinHttpSettings{}, line_no);
      return;
    }
    if (take_prefix(rest, "set proxy ")) {
      ConfigError error;
      auto args = split_arguments(line, rest, error);
      if (!args) {
        error.line = line_no;
        out.errors.push_back(std::move(error));
        return;
      }
      WinHttpSettings s;
      s.direct = false;
      int positional = 0, server_column = 0;
      for (const auto& a : *args) {
        std::string name = a.name;
        if (name.empty()) name = positional++ == 0 ? "proxy-server" : "bypass-list";
        if (name == "proxy-server") {
          s.proxy_server = a.value;
          server_column = a.column;
        } else if (name == "bypass-list") {
          s.bypass_list = a.value;
        } else {
          out.errors.push_back({line_no, a.column - static_cast<int>(a.name.size()) - 1,
                                fmt::format("unknown argument '{}' of set proxy "
                                            "(proxy-server, bypass-list)",
                                            a.name)});
          return;
        }
      }
      if (s.proxy_server.empty()) {
        out.errors.push_back({line_no, 0, "set proxy without proxy-server"});
        return;
      }
      std::optional<SpecError> spec_error;
      parse_winhttp_servers(s.proxy_server, spec_error);
      if (spec_error) {
        out.errors.push_back({line_no, server_column + spec_error->column - 1,
                              fmt::format("proxy server list: {}", spec_error->message)});
        return;
      }
      set(std::move(s), line_no);
      return;
    }
    // Headings ("Current WinHTTP proxy settings:"), dump's pushd/popd, anything else: no setting.
  });
  if (!out.settings && out.errors.empty())
    out.errors.push_back(
        {0, 0,
         "no proxy setting found: expected the English output of `netsh winhttp show proxy` "
         "(\"Direct access (no proxy server).\" or \"Proxy Server(s) :\") or of `netsh winhttp "
         "dump` (reset proxy / set proxy)"});
  return out;
}

// --- regedit .reg exports ----------------------------------------------------------------------

namespace {

enum class Known {
  none,
  telemetry_proxy,
  disable_auth_proxy,
  defender_proxy,
  defender_pac,
  defender_bypass
};

constexpr std::string_view kDataCollection =
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\POLICIES\\MICROSOFT\\WINDOWS\\DATACOLLECTION";
constexpr std::string_view kDefender =
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\POLICIES\\MICROSOFT\\WINDOWS DEFENDER";

std::string normal_key(std::string_view key) {
  std::string k;
  for (char c : base::trim(key))
    k += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (k.ends_with('\\')) k.pop_back();
  if (k.starts_with("HKLM\\")) k = "HKEY_LOCAL_MACHINE" + k.substr(4);
  return k;
}

Known known_value(const std::string& key, std::string_view name) {
  if (key == kDataCollection) {
    if (base::iequals(name, "TelemetryProxyServer")) return Known::telemetry_proxy;
    if (base::iequals(name, "DisableEnterpriseAuthProxy")) return Known::disable_auth_proxy;
  } else if (key == kDefender) {
    if (base::iequals(name, "ProxyServer")) return Known::defender_proxy;
    if (base::iequals(name, "ProxyPacUrl")) return Known::defender_pac;
    if (base::iequals(name, "ProxyBypass")) return Known::defender_bypass;
  }
  return Known::none;
}

std::optional<PolicyValue>& slot(RegistryPolicy& p, Known k) {
  switch (k) {
    case Known::telemetry_proxy:
      return p.telemetry_proxy_server;
    case Known::disable_auth_proxy:
      return p.disable_enterprise_auth_proxy;
    case Known::defender_proxy:
      return p.defender_proxy_server;
    case Known::defender_pac:
      return p.defender_pac_url;
    case Known::defender_bypass:
    case Known::none:
      break;
  }
  return p.defender_bypass;
}

// A quoted .reg string from s[0] == '"'; on success `s` is left after the closing quote.
std::optional<std::string> quoted(std::string_view& s) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else if (s[i] == '"') {
      s.remove_prefix(i + 1);
      return out;
    } else {
      out += s[i];
    }
  }
  return std::nullopt;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = base::lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

struct RegData {
  enum class Kind { string, dword, hex, remove } kind = Kind::string;
  std::string text;
  std::uint32_t dword = 0;
  unsigned hex_type = 3;  // hex: REG_BINARY; hex(N): type N
  std::string bytes;
};

// The data after '=', or an error with its column in `line`.
std::optional<RegData> parse_data(std::string_view line, std::string_view s, ConfigError& error) {
  RegData d;
  auto fail = [&](std::string_view at, std::string message) -> std::optional<RegData> {
    error = {0, column_of(line, at), std::move(message)};
    return std::nullopt;
  };
  if (s.starts_with('"')) {
    auto rest = s;
    auto text = quoted(rest);
    if (!text) return fail(s, "unterminated string value");
    if (!base::trim(rest).empty()) return fail(rest, "text after the string value");
    d.text = std::move(*text);
    return d;
  }
  if (s == "-") {
    d.kind = RegData::Kind::remove;
    return d;
  }
  std::string_view rest = s;
  if (take_prefix(rest, "dword:")) {
    const auto digits = base::trim(rest);
    if (digits.empty() || digits.size() > 8) return fail(rest, "dword: expects 1 to 8 hex digits");
    std::uint32_t value = 0;
    for (char c : digits) {
      const int v = hex_digit(c);
      if (v < 0) return fail(rest, "dword: expects 1 to 8 hex digits");
      value = value << 4 | static_cast<std::uint32_t>(v);
    }
    d.kind = RegData::Kind::dword;
    d.dword = value;
    return d;
  }
  if (take_prefix(rest, "hex")) {
    d.kind = RegData::Kind::hex;
    if (rest.starts_with('(')) {
      const auto close = rest.find(')');
      if (close == std::string_view::npos || close == 1) return fail(rest, "expected hex(TYPE):");
      unsigned type = 0;
      for (char c : rest.substr(1, close - 1)) {
        const int v = hex_digit(c);
        if (v < 0 || type > 0xFFFFFFF) return fail(rest, "expected hex(TYPE): with a hex TYPE");
        type = type << 4 | static_cast<unsigned>(v);
      }
      d.hex_type = type;
      rest.remove_prefix(close + 1);
    }
    if (!rest.starts_with(':')) return fail(rest, "expected ':' after hex");
    rest.remove_prefix(1);
    while (true) {
      rest = base::trim(rest);
      if (rest.empty()) break;
      if (rest.size() < 2 || hex_digit(rest[0]) < 0 || hex_digit(rest[1]) < 0)
        return fail(rest, "hex: expects bytes as two hex digits separated by commas");
      d.bytes += static_cast<char>(hex_digit(rest[0]) << 4 | hex_digit(rest[1]));
      rest.remove_prefix(2);
      rest = base::trim(rest);
      if (rest.empty()) break;
      if (rest.front() != ',')
        return fail(rest, "hex: expects bytes as two hex digits separated by commas");
      rest.remove_prefix(1);
    }
    return d;
  }
  return fail(s, "expected a value: \"string\", dword:, hex:, hex(TYPE): or -");
}

// REG_SZ / REG_EXPAND_SZ given as hex(1)/hex(2): UTF-16LE up to the first NUL.
std::string utf16_string(std::string_view bytes) {
  std::string out = base::utf16_to_utf8(bytes, true);
  return out.substr(0, out.find('\0'));
}

}  // namespace

RegistryRead read_reg_file(std::string_view bytes) {
  RegistryRead out;
  std::string decode_error;
  const auto text = base::decode_bom_text(bytes, decode_error);
  if (!text) {
    out.errors.push_back({0, 0, decode_error});
    return out;
  }
  // Logical lines: a hex value continues while its line ends with a backslash.
  struct Logical {
    std::string text;
    int line;
  };
  std::vector<Logical> lines;
  bool continuing = false;
  base::for_each_line(*text, [&](std::string_view raw, int line_no) {
    std::string_view line = raw;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    const bool continues = line.ends_with('\\') && !line.starts_with('[') &&
                           (continuing || line.find("=hex") != std::string_view::npos);
    if (continues) line.remove_suffix(1);
    if (continuing)
      lines.back().text += base::trim(line);
    else
      lines.push_back({std::string(line), line_no});
    continuing = continues;
  });

  bool header = false;
  std::string key;  // normalised; empty: none yet, or deleted
  bool in_key = false;
  for (const auto& [line_text, line_no] : lines) {
    const std::string_view line = line_text;
    const auto trimmed = base::trim(line);
    if (!header) {
      if (trimmed.empty()) continue;
      if (trimmed == "Windows Registry Editor Version 5.00" || trimmed == "REGEDIT4") {
        header = true;
        continue;
      }
      out.errors.push_back({line_no, 1,
                            "not a .reg export: expected \"Windows Registry Editor Version "
                            "5.00\" or \"REGEDIT4\" first"});
      return out;
    }
    if (trimmed.empty() || trimmed.front() == ';') continue;
    if (trimmed.front() == '[') {
      if (trimmed.back() != ']') {
        out.errors.push_back({line_no, column_of(line, trimmed), "a key line must end with ']'"});
        in_key = false;
        continue;
      }
      auto name = trimmed.substr(1, trimmed.size() - 2);
      const bool remove = name.starts_with('-');
      if (remove) name.remove_prefix(1);
      key = normal_key(name);
      in_key = !remove;
      if (remove) {
        // Deleting a key deletes its values, and its subkeys' ones.
        for (const auto known :
             {Known::telemetry_proxy, Known::disable_auth_proxy, Known::defender_proxy,
              Known::defender_pac, Known::defender_bypass}) {
          const std::string owner(known == Known::telemetry_proxy ||
                                          known == Known::disable_auth_proxy
                                      ? kDataCollection
                                      : kDefender);
          if (owner == key || owner.starts_with(key + "\\")) slot(out.policy, known).reset();
        }
      }
      continue;
    }
    if (trimmed.front() != '"' && trimmed.front() != '@') {
      out.errors.push_back(
          {line_no, column_of(line, trimmed), "expected [KEY], \"NAME\"=VALUE or @=VALUE"});
      continue;
    }
    std::string_view rest = trimmed;
    std::string name;
    if (rest.front() == '@') {
      rest.remove_prefix(1);
    } else {
      auto n = quoted(rest);
      if (!n) {
        out.errors.push_back({line_no, column_of(line, trimmed), "unterminated value name"});
        continue;
      }
      name = std::move(*n);
    }
    rest = base::trim(rest);
    if (!rest.starts_with('=')) {
      out.errors.push_back({line_no, column_of(line, rest), "expected '=' after the value name"});
      continue;
    }
    rest = base::trim(rest.substr(1));
    ConfigError error;
    auto data = parse_data(line, rest, error);
    if (!data) {
      error.line = line_no;
      out.errors.push_back(std::move(error));
      continue;
    }
    if (!in_key) {
      out.errors.push_back({line_no, column_of(line, trimmed), "a value before any [KEY]"});
      continue;
    }
    const auto known = known_value(key, name);
    if (known == Known::none) continue;
    auto& into = slot(out.policy, known);
    if (data->kind == RegData::Kind::remove) {
      into.reset();
      continue;
    }
    PolicyValue value;
    value.line = line_no;
    const bool wants_dword = known == Known::disable_auth_proxy;
    if (wants_dword) {
      if (data->kind == RegData::Kind::hex && data->hex_type == 4 && data->bytes.size() == 4) {
        data->kind = RegData::Kind::dword;
        for (int i = 3; i >= 0; --i)
          data->dword = data->dword << 8 | static_cast<unsigned char>(data->bytes[i]);
      }
      if (data->kind != RegData::Kind::dword) {
        out.errors.push_back({line_no, column_of(line, rest),
                              fmt::format("{} must be a DWORD (dword:00000001)", name)});
        continue;
      }
      value.is_dword = true;
      value.dword = data->dword;
      value.text = std::to_string(data->dword);
    } else {
      if (data->kind == RegData::Kind::hex && (data->hex_type == 1 || data->hex_type == 2)) {
        data->kind = RegData::Kind::string;
        data->text = utf16_string(data->bytes);
      }
      if (data->kind != RegData::Kind::string) {
        out.errors.push_back({line_no, column_of(line, rest),
                              fmt::format("{} must be a string (REG_SZ, \"...\")", name)});
        continue;
      }
      value.text = std::move(data->text);
    }
    into = std::move(value);
  }
  if (!header)
    out.errors.push_back({0, 0,
                          "not a .reg export: no \"Windows Registry Editor Version 5.00\" or "
                          "\"REGEDIT4\" line"});
  return out;
}

}  // namespace urlprobe::route
