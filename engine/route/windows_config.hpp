// A Windows machine's proxy configuration as its tools export it: the text of `netsh winhttp
// show proxy` or `netsh winhttp dump` (--winhttp), and a regedit .reg export of the policy keys
// (--registry). Pure: bytes in, plain values and located errors out (fuzzed), so that the command
// line turns them into RouteConfig fields and route::build makes the routes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "route/proxy.hpp"

namespace urlprobe::route {

// A problem in an imported file: 1-based line (0: the file as a whole) and column (0: unknown).
struct ConfigError {
  int line = 0, column = 0;
  std::string message;
};

// --- netsh winhttp -----------------------------------------------------------------------------

// What WinHTTP was told, as netsh shows it.
struct WinHttpSettings {
  bool direct = true;        // "Direct access (no proxy server)." or `reset proxy`
  std::string proxy_server;  // "proxy:8080", "http=a:3128;https=b:3128" (empty when direct)
  std::string bypass_list;   // as shown; "(none)" becomes empty
  int line = 0;              // of the setting (the Proxy Server(s) or `set proxy` line)
  int bypass_line = 0;       // of the Bypass List line (show proxy); 0: same as `line`
};

// The English output of `netsh winhttp show proxy` ("Current WinHTTP proxy settings:", then
// "Direct access (no proxy server)." or "Proxy Server(s) :  ..." and "Bypass List     :  ..."),
// or of `netsh winhttp dump` (`reset proxy`, or `set proxy proxy-server="..." bypass-list="..."`;
// a `netsh winhttp set proxy SERVER [BYPASS]` command line reads the same). Other lines are
// ignored; a file with no setting at all, two settings, or a proxy server list that does not
// parse is an error. `bytes` as saved (base::decode_bom_text).
struct WinHttpRead {
  std::optional<WinHttpSettings> settings;
  std::vector<ConfigError> errors;
};
WinHttpRead read_winhttp(std::string_view bytes);

// A WinHTTP proxy server list: entries ([SCHEME=][SCHEME://]SERVER[:PORT]) separated by ';' or
// white space. SCHEME= limits an entry to http or https targets; an entry without one serves the
// schemes no entry names. Without a port, a proxy is on 80 (443 for https://). Entries for other
// schemes (ftp=, socks=) are not WinHTTP's: listed in `ignored`. A scheme no entry serves goes
// direct. A column in `error` counts from the start of `list`.
struct WinHttpServers {
  std::optional<ProxySpec> http, https;
  std::vector<std::string> ignored;
};
WinHttpServers parse_winhttp_servers(std::string_view list, std::optional<SpecError>& error);

// --- regedit .reg exports ----------------------------------------------------------------------

// One value of a policy key this program reads, as the file set it.
struct PolicyValue {
  std::string text;  // REG_SZ as written (escapes undone); a DWORD as its decimal number
  std::uint32_t dword = 0;
  bool is_dword = false;
  int line = 0;  // where it was set (its first line, for continued hex values)
};

struct RegistryPolicy {
  // HKLM\SOFTWARE\Policies\Microsoft\Windows\DataCollection
  std::optional<PolicyValue> telemetry_proxy_server;         // "host:port": route named
  std::optional<PolicyValue> disable_enterprise_auth_proxy;  // 1: no proxy authentication
  // HKLM\SOFTWARE\Policies\Microsoft\Windows Defender: the antivirus's own proxy
  std::optional<PolicyValue> defender_proxy_server;  // "http://host:port"
  std::optional<PolicyValue> defender_pac_url;       // a PAC script's URL
  std::optional<PolicyValue> defender_bypass;        // hosts that skip ProxyServer
  bool enterprise_auth_proxy_disabled() const {
    return disable_enterprise_auth_proxy && disable_enterprise_auth_proxy->dword != 0;
  }
  bool empty() const {
    return !telemetry_proxy_server && !disable_enterprise_auth_proxy && !defender_proxy_server &&
           !defender_pac_url && !defender_bypass;
  }
};

// A .reg file as regedit exports it: "Windows Registry Editor Version 5.00" (UTF-16LE with a BOM,
// CRLF) or "REGEDIT4", also as UTF-8. [KEY] and [-KEY] lines, "NAME"=VALUE and @=VALUE with
// string ("..." with \\ and \" escapes), dword:XXXXXXXX, hex[(T)]:bytes (continued by a trailing
// backslash) and - (delete); ';' comments. Later lines win, as when the file is imported. Keys
// and values other than the five above are ignored; a line that is none of these forms, or one
// of the five with the wrong type, is an error of its own and the other lines are still read.
struct RegistryRead {
  RegistryPolicy policy;
  std::vector<ConfigError> errors;
};
RegistryRead read_reg_file(std::string_view bytes);

}  // namespace urlprobe::route
