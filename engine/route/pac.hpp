// Proxy auto-config (PAC) scripts, evaluated in a sandboxed Duktape heap.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::route {

namespace detail {
struct PacSandbox;  // route/detail/pac_sandbox.hpp
}

struct PacLimits {
  // Script load and each find_proxy call, DNS helpers included: their lookups may wait until
  // 3/4 of it has passed (kPacDnsShare), so the script has the rest to finish with what they got.
  std::chrono::milliseconds per_call{1000};
  std::size_t memory = 64u << 20;  // bytes of the whole Duktape heap
};
// The part of a call the DNS helpers may spend waiting, as numerator / denominator.
inline constexpr int kPacDnsShare[2] = {3, 4};

// One proxy of a PAC answer ("PROXY h:p", "HTTPS h:p", "SOCKS5 h:p", "DIRECT", ...).
struct PacHop {
  enum class Kind { direct, http, https, socks4, socks5 } kind = Kind::direct;
  std::string host;  // without IPv6 brackets; empty for direct
  std::uint16_t port = 0;
  bool operator==(const PacHop&) const = default;
};

struct PacAnswer {
  // What the script returned; a value that is no string as JavaScript's String() shows it
  // ("undefined", "null", "42"), as pactester prints it.
  std::string text;
  std::vector<PacHop> chain;
  // Why `text` is no usable proxy list ("returned undefined, not a string", "unusable answer
  // ...: missing host in \"PROXY\""); empty when `chain` holds it.
  std::string problem;
  // Names a DNS helper asked about that got no answer in time (the call's share of its deadline
  // ran out, in this call or, for a name that had most of it, an earlier one). They counted as
  // not resolving, as a browser's failed lookup does: the answer may differ from what the same
  // script says with a DNS server that answers.
  std::vector<std::string> unanswered;
};

struct PacError : std::runtime_error {
  int line = 0;  // 1-based line in the script, 0 when unknown
  using std::runtime_error::runtime_error;
};

// The resolver the DNS helpers use; the engine supplies one backed by its c-ares resolver.
// Returns addresses as text ("10.0.0.1", "::1"); empty = does not resolve; nullopt = no answer
// within `within` (what is left of the call's DNS share), which it must not outlast. Called
// synchronously on the PAC thread; IP literals never reach it.
using PacResolve = std::function<std::optional<std::vector<std::string>>(
    const std::string& host, std::chrono::milliseconds within)>;

// "PROXY a:1; DIRECT": entries separated by ';', keywords case-insensitive, extra spaces and empty
// entries ignored. PROXY/HTTP -> http, HTTPS, SOCKS/SOCKS4 -> socks4, SOCKS5; a proxy without a
// port gets 80/443/1080. Any unknown or malformed entry, or no entry at all, is an error (browsers
// skip such entries and fall back to DIRECT; a prober reports them): returns {} and sets `error`.
std::vector<PacHop> parse_pac_answer(std::string_view text, std::string& error);

// One compiled script. Not thread-safe: one per thread.
//
// Sandbox: Duktape has no file, network or module access; the helpers below are the only host
// functions and the `Duktape` object is removed. Every load and call runs against a deadline
// (checked between bytecode instructions, inside long regular-expression backtracking and on
// every 64th allocation, so built-ins looping over huge arrays stop too) and a byte-counting
// allocator that refuses past `memory`. Duktape's own limits (call stack depth, 1000 nested
// native calls, about 400 KB of C stack at -O2) turn deep recursion into an error.
//
// DNS helpers share the call's deadline: a lookup waits at most for what is left of the call's
// DNS share (kPacDnsShare), and once that is used up every further lookup fails at once, as a
// browser's failed lookup (null, false), never as an error; PacAnswer::unanswered names them.
// Answers are cached for the script's lifetime (one sweep); a name without an answer is asked
// again in a later call, unless it already had at least half of a call's DNS share.
//
// Helpers, with the Netscape/Mozilla semantics: isPlainHostName, dnsDomainIs, localHostOrDomainIs,
// isResolvable, isInNet, dnsResolve (first IPv4 address or null), convert_addr, myIpAddress,
// dnsDomainLevels, shExpMatch (only * and ? are special; full match), weekdayRange, dateRange,
// timeRange (all with "GMT"; a range whose end precedes its start wraps around: "FRI","MON",
// "DEC","JAN", 22,6; dateRange(day, month [, year]) is one date, as Netscape's example
// dateRange(24, "DEC") is Christmas Eve), alert; Microsoft's isResolvableEx, isInNetEx
// ("10.0.0.0/8", "fd00::/8"; the address may be a literal, a ';' list or a host name),
// dnsResolveEx and myIpAddressEx (';' lists, "" when none), sortIpAddressList (IPv6 first, then
// ascending; false on a bad list), getClientVersion ("1.0"). isInNetEx also takes Microsoft's short
// IPv6 prefix, whose groups after the last one written are zero ("3ffe:8311:ffff/48" =
// "3ffe:8311:ffff::/48"); IPv4 prefixes are written in full ("198.95.0.0/16"), as Microsoft
// documents them.
//
// alert(message) calls `on_alert` at once (pactester prints it on stderr) and keeps the message
// for alerts().
class PacScript {
 public:
  // Compiles and runs the script's top level; throws PacError (with line) on a syntax error, an
  // exception, a limit, or when neither FindProxyForURL nor FindProxyForURLEx is a function.
  // `my_ip` is what myIpAddress/myIpAddressEx report (one address or a ';' list; empty: unknown).
  // `now` replaces the clock of the time helpers (tests). `on_alert` must not throw.
  PacScript(std::string source, std::string name, PacResolve resolve, std::string my_ip,
            PacLimits limits = {}, std::function<std::time_t()> now = {},
            std::function<void(const std::string&)> on_alert = {});
  ~PacScript();
  PacScript(PacScript&&) noexcept;
  PacScript& operator=(PacScript&&) noexcept;

  // FindProxyForURLEx when defined, else FindProxyForURL. Throws PacError on a timeout ("exceeded
  // 1000 ms"), the memory cap ("memory limit"), an exception, a non-string result or an
  // unparsable answer. The heap survives errors: the next call starts afresh.
  PacAnswer find_proxy(const std::string& url, const std::string& host);

  // The same call, as pactester makes it: an answer that is no usable proxy list (a non-string,
  // "", "PROXY", "BOGUS x") is returned with PacAnswer::problem set and an empty chain. Throws
  // PacError only when the script itself fails: an exception, the deadline, the memory cap.
  PacAnswer evaluate(const std::string& url, const std::string& host);

  // False only when the answer provably depends on the host alone, so callers may cache per host.
  // Heuristic on the source: the entry function's first parameter (`url`) is never read, except
  // when passed whole as an argument to a function the script itself defines, whose parameter is
  // then checked the same way (FindProxyForURLEx(url, host) { return FindProxyForURL(url, host);
  // }). Any other mention (url.indexOf, shExpMatch(url, ..), var u = url), `arguments`, `eval`, a
  // function defined in a way not visible in the source, or a source it cannot tokenize -> true.
  bool reads_path() const;

  // alert() messages since construction or the last clear (at most 1000, each cut at 4 KiB).
  std::vector<std::string> alerts() const;
  void clear_alerts();

 private:
  std::unique_ptr<detail::PacSandbox> impl_;
};

}  // namespace urlprobe::route
