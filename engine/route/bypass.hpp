// WinHTTP's proxy bypass list (netsh winhttp, the Defender Antivirus policy's ProxyBypass): which
// targets skip the proxy, and by which entry, so that a record can say why it went direct.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::route {

// Entries are separated by ';' or white space, as WINHTTP_PROXY_INFO documents; `commas` also
// splits at ',' (Defender's ProxyBypass, whose format Microsoft leaves open). An entry is
// "<local>" (a host name without a dot; never an IP literal) or [SCHEME://]PATTERN[:PORT][/...]:
// PATTERN is matched against the whole host name, case-insensitively, with '*' standing for any
// run of characters ("*.contoso.com" does not match contoso.com itself; "10.*" matches 10.1.2.3);
// a scheme or port limits the entry to targets of that scheme or port.
class WinHttpBypass {
 public:
  WinHttpBypass() = default;
  explicit WinHttpBypass(std::string_view list, bool commas = false);

  // The entry that sends this target direct, as written in the list; nullptr when none does.
  const std::string* match(std::string_view scheme, std::string_view host,
                           std::uint16_t port) const;
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> entries() const;

 private:
  struct Entry {
    std::string text;        // as written
    bool local = false;      // <local>
    std::string scheme;      // lower case; empty: any
    std::string pattern;     // lower case, no brackets
    std::uint16_t port = 0;  // 0: any
  };
  std::vector<Entry> entries_;
};

}  // namespace urlprobe::route
