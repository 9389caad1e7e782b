#include "route/pac.hpp"

#include <arpa/inet.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

// Built from Debian's duktape.c with a patched duk_config.h (third_party/duktape): C++ exceptions
// instead of setjmp/longjmp, so the host functions below may hold RAII objects across duk_* calls.
#include <duktape.h>

#if !defined(DUK_USE_CPP_EXCEPTIONS) || !defined(DUK_USE_EXEC_TIMEOUT_CHECK) || \
    !defined(DUK_USE_NATIVE_STACK_CHECK)
#error "route/pac.cpp needs third_party/duktape's duk_config.h, not the system one"
#endif

namespace urlprobe::route {

using Clock = std::chrono::steady_clock;

struct PacScript::Impl {
  std::string name;
  PacResolve resolve;
  std::vector<std::string> my_ips;  // valid literals from my_ip
  PacLimits limits;
  std::function<std::time_t()> now;

  duk_context* ctx = nullptr;

  // Allocator accounting (bytes the script's heap holds, headers excluded).
  std::size_t used = 0;
  bool memory_refused = false;  // an allocation hit the cap during the current load/call

  // Deadline of the current load/call.
  bool armed = false;
  Clock::time_point deadline;
  bool timed_out = false;
  unsigned ticks = 0;  // throttles clock reads on frequent events

  // DNS lookups of the current load/call may wait until then (kPacDnsShare of its deadline).
  Clock::time_point dns_until;
  Clock::duration dns_share{};

  struct Lookup {
    std::vector<std::string> addresses;
    bool unanswered = false;  // no answer in time: counts as not resolving
  };
  std::unordered_map<std::string, Lookup> dns_memo;   // this call: a name is looked up once
  std::unordered_map<std::string, Lookup> dns_cache;  // every call: answers, hopeless names
  std::vector<std::string> unanswered;                // this call, in order

  bool use_ex = false;
  bool reads_path = true;
  std::vector<std::string> alerts;

  ~Impl() {
    if (ctx != nullptr) duk_destroy_heap(ctx);
  }

  // True once the deadline has passed (and from then on until disarmed). `every` throttles the
  // clock reads of frequent callers: only every `every`th call looks at the clock.
  bool expired(unsigned every = 1) {
    if (!armed) return false;
    if (timed_out) return true;
    if (every > 1 && ++ticks % every != 0) return false;
    if (Clock::now() < deadline) return false;
    timed_out = true;
    return true;
  }
};

namespace {

using Impl = PacScript::Impl;

// The innermost armed script on this thread, for DUK_USE_NATIVE_STACK_CHECK() (no udata there).
thread_local Impl* current = nullptr;

// Below this address Duktape refuses to recurse further ("C stack depth limit"): its own limit of
// 1000 nested native calls needs about 400 KB of stack at -O2 but more than 8 MiB under ASan at
// -O0, and a PAC thread may have a small stack. Keeps 256 KiB (at most a quarter of the stack)
// for raising the error. 0 when the stack is unknown.
std::uintptr_t stack_floor() {
  thread_local const std::uintptr_t floor = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return std::uintptr_t{0};
    void* low = nullptr;
    std::size_t size = 0;
    const bool ok = pthread_attr_getstack(&attr, &low, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || low == nullptr) return std::uintptr_t{0};
    return reinterpret_cast<std::uintptr_t>(low) + std::min<std::size_t>(256u << 10, size / 4);
  }();
  return floor;
}

// Arms the deadline and the limit flags for one load/call.
class Armed {
 public:
  Armed(Impl& impl, Clock::duration budget) : impl_(impl), outer_(current) {
    impl.armed = true;
    impl.timed_out = false;
    impl.memory_refused = false;
    impl.ticks = 0;
    impl.deadline = Clock::now() + budget;
    impl.dns_share = budget * kPacDnsShare[0] / kPacDnsShare[1];
    impl.dns_until = impl.deadline - budget + impl.dns_share;
    impl.dns_memo.clear();
    impl.unanswered.clear();
    current = &impl;
  }
  ~Armed() {
    impl_.armed = false;
    current = outer_;
  }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;

 private:
  Impl& impl_;
  Impl* outer_;
};

// ---- allocator: every block carries its size so the heap's total is known --------------------

struct alignas(std::max_align_t) BlockHeader {
  std::size_t size;
};

bool admit(Impl& impl, std::size_t extra) {
  // After the deadline nothing is allocated: built-ins that loop inside one call (join, indexOf
  // over a huge sparse array) allocate as they go, so they fail instead of running for minutes.
  if (impl.expired(64)) return false;
  if (extra > impl.limits.memory || impl.used > impl.limits.memory - extra) {
    impl.memory_refused = true;
    return false;
  }
  return true;
}

void* pac_alloc(void* udata, duk_size_t size) {
  auto& impl = *static_cast<Impl*>(udata);
  if (!admit(impl, size)) return nullptr;
  auto* block = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
  if (block == nullptr) return nullptr;
  block->size = size;
  impl.used += size;
  return block + 1;
}

void pac_free(void* udata, void* ptr) {
  if (ptr == nullptr) return;
  auto& impl = *static_cast<Impl*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  impl.used -= block->size;
  std::free(block);
}

void* pac_realloc(void* udata, void* ptr, duk_size_t size) {
  if (ptr == nullptr) return pac_alloc(udata, size);
  if (size == 0) {
    pac_free(udata, ptr);
    return nullptr;
  }
  auto& impl = *static_cast<Impl*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  const std::size_t old = block->size;
  if (size > old && !admit(impl, size - old)) return nullptr;
  auto* grown = static_cast<BlockHeader*>(std::realloc(block, sizeof(BlockHeader) + size));
  if (grown == nullptr) return nullptr;
  grown->size = size;
  impl.used = impl.used - old + size;
  return grown + 1;
}

void pac_fatal(void*, const char* msg) {
  // Only reachable through a Duktape bug: every call into the heap is protected.
  std::fprintf(stderr, "urlprobe: fatal Duktape error in a PAC script: %s\n", msg ? msg : "?");
  std::abort();
}

}  // namespace
}  // namespace urlprobe::route

// Hooks named in third_party/duktape's duk_config.h.
extern "C" int urlprobe_pac_exec_timeout(void* udata) {
  // Every 256 Ki bytecode instructions; Duktape throws RangeError "execution timeout" on 1.
  return static_cast<urlprobe::route::PacScript::Impl*>(udata)->expired() ? 1 : 0;
}

extern "C" int urlprobe_pac_native_check(void) {
  // At each native recursion (C calls, JSON, regexp compiling), notably every backtracking step of
  // the regexp matcher. __builtin_frame_address: the real stack even with ASan's fake stacks.
  if (reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) < urlprobe::route::stack_floor())
    return 1;
  auto* impl = urlprobe::route::current;
  return impl != nullptr && impl->expired(256) ? 1 : 0;
}

namespace urlprobe::route {
namespace {

// ---- IP addresses ----------------------------------------------------------------------------

struct Ip {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  int bits() const { return family == AF_INET ? 32 : 128; }
};

std::optional<Ip> parse_ip(const std::string& text) {
  Ip ip;
  if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (text.find(':') != std::string::npos &&
      inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

bool prefix_match(const Ip& a, const Ip& net, int len) {
  if (a.family != net.family) return false;
  for (int i = 0; i < len / 8; ++i)
    if (a.bytes[i] != net.bytes[i]) return false;
  if (len % 8 == 0) return true;
  const unsigned mask = 0xffu << (8 - len % 8);
  return ((a.bytes[len / 8] ^ net.bytes[len / 8]) & mask) == 0;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ';' || c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (c != ' ' && c != '\t') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ';';
    out += s;
  }
  return out;
}

// ---- host functions --------------------------------------------------------------------------

Impl& impl_of(duk_context* ctx) {
  duk_memory_functions funcs;
  duk_get_memory_functions(ctx, &funcs);
  return *static_cast<Impl*>(funcs.udata);
}

std::string arg_string(duk_context* ctx, duk_idx_t idx) {
  duk_size_t len = 0;
  const char* s = duk_to_lstring(ctx, idx, &len);
  return std::string(s, len);
}

void push_string(duk_context* ctx, const std::string& s) {
  duk_push_lstring(ctx, s.data(), s.size());
}

// All addresses of `host` (literals as they are), through the engine's resolver, memoized per
// call and cached across calls.
const std::vector<std::string>& lookup(duk_context* ctx, const std::string& host) {
  auto& impl = impl_of(ctx);
  if (auto it = impl.dns_memo.find(host); it != impl.dns_memo.end()) return it->second.addresses;
  Impl::Lookup found;
  bool cache = true;
  if (auto it = impl.dns_cache.find(host); it != impl.dns_cache.end()) {
    found = it->second;
    cache = false;
  } else if (parse_ip(host)) {
    found.addresses.push_back(host);
  } else if (!host.empty() && host.size() <= 253 && impl.resolve) {
    // The lookup shares the call's deadline: it gets what is left of the DNS share, and once that
    // is gone it fails without asking, so the script still has time to answer with it.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(impl.dns_until - Clock::now());
    std::optional<std::vector<std::string>> answer;
    if (left.count() > 0) {
      try {
        answer = impl.resolve(host, left);
      } catch (const std::exception&) {
        answer.emplace();  // a failing resolver means "does not resolve"
      }
    }
    if (answer) {
      for (auto& a : *answer)
        if (parse_ip(a)) found.addresses.push_back(std::move(a));
    } else {
      found.unanswered = true;
      // A later call could give the name at most twice as long: not worth another wait. A name
      // that had less (the share ran out behind other lookups) is asked again.
      cache = left * 2 >= impl.dns_share;
    }
  }
  if (found.unanswered) impl.unanswered.push_back(host);
  if (cache) impl.dns_cache.emplace(host, found);
  return impl.dns_memo.emplace(host, std::move(found)).first->second.addresses;
}

duk_ret_t js_dns_resolve(duk_context* ctx) {
  for (const auto& a : lookup(ctx, arg_string(ctx, 0))) {
    if (parse_ip(a)->family == AF_INET) {
      push_string(ctx, a);
      return 1;
    }
  }
  duk_push_null(ctx);
  return 1;
}

duk_ret_t js_dns_resolve_ex(duk_context* ctx) {
  push_string(ctx, join(lookup(ctx, arg_string(ctx, 0))));
  return 1;
}

duk_ret_t js_my_ip_address(duk_context* ctx) {
  for (const auto& a : impl_of(ctx).my_ips) {
    if (parse_ip(a)->family == AF_INET) {
      push_string(ctx, a);
      return 1;
    }
  }
  duk_push_string(ctx, "127.0.0.1");
  return 1;
}

duk_ret_t js_my_ip_address_ex(duk_context* ctx) {
  push_string(ctx, join(impl_of(ctx).my_ips));
  return 1;
}

// isInNetEx(address, "prefix/len"): address is a literal, a ';' list or a host name (all its
// addresses); true when any address is inside the prefix.
duk_ret_t js_is_in_net_ex(duk_context* ctx) {
  const std::string address = arg_string(ctx, 0);
  const std::string prefix = arg_string(ctx, 1);
  bool result = false;
  const auto slash = prefix.find('/');
  const auto net = parse_ip(prefix.substr(0, slash));
  const std::string len_text = slash == std::string::npos ? "" : prefix.substr(slash + 1);
  if (net && !len_text.empty() && len_text.size() <= 3 &&
      std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const int len = std::stoi(len_text);
    if (len <= net->bits()) {
      auto items = split_list(address);
      if (items.size() == 1 && !parse_ip(items[0])) items = lookup(ctx, items[0]);
      for (const auto& item : items) {
        if (auto ip = parse_ip(item); ip && prefix_match(*ip, *net, len)) result = true;
      }
    }
  }
  duk_push_boolean(ctx, result);
  return 1;
}

// sortIpAddressList("10.0.0.2;::1;10.0.0.1") -> "::1;10.0.0.1;10.0.0.2"; false on a bad list.
duk_ret_t js_sort_ip_address_list(duk_context* ctx) {
  std::vector<std::pair<Ip, std::string>> items;
  for (auto& s : split_list(arg_string(ctx, 0))) {
    auto ip = parse_ip(s);
    if (!ip) {
      duk_push_false(ctx);
      return 1;
    }
    items.emplace_back(*ip, std::move(s));
  }
  if (items.empty()) {
    duk_push_false(ctx);
    return 1;
  }
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    if (a.first.family != b.first.family) return a.first.family == AF_INET6;
    return a.first.bytes < b.first.bytes;
  });
  std::vector<std::string> sorted;
  for (auto& [ip, text] : items) sorted.push_back(std::move(text));
  push_string(ctx, join(sorted));
  return 1;
}

constexpr std::size_t kMaxAlerts = 1000;
constexpr std::size_t kMaxAlertBytes = 4096;

duk_ret_t js_alert(duk_context* ctx) {
  auto& impl = impl_of(ctx);
  std::string msg = duk_safe_to_string(ctx, 0);
  if (impl.alerts.size() < kMaxAlerts) {
    if (msg.size() > kMaxAlertBytes) msg.resize(kMaxAlertBytes);
    impl.alerts.push_back(std::move(msg));
  }
  return 0;
}

duk_ret_t js_now_ms(duk_context* ctx) {
  auto& impl = impl_of(ctx);
  double ms = 0;
  if (impl.now) {
    ms = static_cast<double>(impl.now()) * 1000.0;
  } else {
    ms = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
  }
  duk_push_number(ctx, ms);
  return 1;
}

// The helpers that need no host access, in JavaScript like the Netscape/Mozilla originals (own
// code). Called once with (global object, clock in ms). They see the script's globals, so a
// script that replaces dnsResolve changes isInNet/isResolvable too, as in browsers.
constexpr char kHelpers[] = R"js((function (global, nowMs) {
'use strict';
var DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function find(list, value) {
  for (var i = 0; i < list.length; i++) if (list[i] === value) return i;
  return -1;
}
// The arguments without a trailing 'GMT'.
function timeArgs(args) {
  var list = [];
  for (var i = 0; i < args.length; i++) list[i] = args[i];
  var gmt = list.length > 0 && list[list.length - 1] === 'GMT';
  if (gmt) list.length--;
  return {list: list, gmt: gmt};
}
function clock(gmt) {
  var d = new Date(nowMs());
  if (gmt) return {wday: d.getUTCDay(), day: d.getUTCDate(), month: d.getUTCMonth(), year: d.getUTCFullYear(),
                   secs: d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds()};
  return {wday: d.getDay(), day: d.getDate(), month: d.getMonth(), year: d.getFullYear(),
          secs: d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds()};
}
// lo..hi inclusive; when hi comes before lo the range wraps around (FRI..MON, DEC..JAN, 22..6).
function within(lo, value, hi) {
  return lo <= hi ? lo <= value && value <= hi : value >= lo || value <= hi;
}
function isIpv4(s) {
  var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m !== null && m[1] <= 255 && m[2] <= 255 && m[3] <= 255 && m[4] <= 255;
}

global.isPlainHostName = function isPlainHostName(host) {
  host = String(host);
  return host.indexOf('.') < 0 && host.indexOf(':') < 0;
};
global.dnsDomainIs = function dnsDomainIs(host, domain) {
  host = String(host);
  domain = String(domain);
  return host.length >= domain.length && host.substring(host.length - domain.length) === domain;
};
global.localHostOrDomainIs = function localHostOrDomainIs(host, hostdom) {
  host = String(host);
  hostdom = String(hostdom);
  return host === hostdom || hostdom.lastIndexOf(host + '.', 0) === 0;
};
global.dnsDomainLevels = function dnsDomainLevels(host) {
  return String(host).split('.').length - 1;
};
global.convert_addr = function convert_addr(ipchars) {
  var b = String(ipchars).split('.');
  return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
};
global.isResolvable = function isResolvable(host) {
  return global.dnsResolve(host) != null;
};
global.isResolvableEx = function isResolvableEx(host) {
  var r = global.dnsResolveEx(host);
  return typeof r === 'string' && r.length > 0;
};
global.isInNet = function isInNet(ipaddr, pattern, maskstr) {
  if (!isIpv4(pattern) || !isIpv4(maskstr)) return false;
  // isInNet(dnsResolve(host), ..) after a failed lookup: no name "null" worth a query.
  if (ipaddr == null) return false;
  if (!isIpv4(ipaddr)) {
    ipaddr = global.dnsResolve(ipaddr);
    if (ipaddr == null) return false;
  }
  var mask = global.convert_addr(maskstr);
  return (global.convert_addr(ipaddr) & mask) === (global.convert_addr(pattern) & mask);
};
// Only * (any run, also empty) and ? (one character) are special; everything else is literal.
global.shExpMatch = function shExpMatch(str, pattern) {
  str = String(str);
  pattern = String(pattern);
  var s = 0, p = 0, star = -1, mark = 0;
  while (s < str.length) {
    var c = p < pattern.length ? pattern.charAt(p) : '';
    if (c === '*') {
      star = p++;
      mark = s;
    } else if (c !== '' && (c === '?' || c === str.charAt(s))) {
      s++;
      p++;
    } else if (star >= 0) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charAt(p) === '*') p++;
  return p === pattern.length;
};
global.weekdayRange = function weekdayRange() {
  var a = timeArgs(arguments), n = a.list.length;
  if (n < 1 || n > 2) return false;
  var first = find(DAYS, a.list[0]), last = n === 2 ? find(DAYS, a.list[1]) : first;
  if (first < 0 || last < 0) return false;
  return within(first, clock(a.gmt).wday, last);
};
// dateRange(day | month | year [, same]) and (day, month [, year], day, month [, year]) and
// (month, year, month, year), each optionally with 'GMT'. Dates compare as year, month, day.
global.dateRange = function dateRange() {
  var a = timeArgs(arguments), n = a.list.length;
  if (n < 1 || n > 6 || (n > 1 && n % 2 !== 0)) return false;
  var DAY = 0, MONTH = 1, YEAR = 2;
  var half = n === 1 ? 1 : n / 2;
  var lo = [0, 0, 0], hi = [0, 0, 0], has = [false, false, false], has2 = [false, false, false];
  for (var i = 0; i < n; i++) {
    var v = a.list[i], kind, value = find(MONTHS, v);
    if (value >= 0) {
      kind = MONTH;
    } else {
      value = parseInt(v, 10);
      if (isNaN(value) || value < 1) return false;
      kind = value <= 31 ? DAY : YEAR;
    }
    if (i < half) {
      if (has[kind]) return false;
      has[kind] = true;
      lo[kind] = value;
    } else {
      if (!has[kind] || has2[kind]) return false;
      has2[kind] = true;
      hi[kind] = value;
    }
  }
  if (n === 1) hi = lo;
  if (has[DAY] && has[YEAR] && !has[MONTH]) return false;
  var t = clock(a.gmt);
  var now = [has[DAY] ? t.day : 0, has[MONTH] ? t.month : 0, has[YEAR] ? t.year : 0];
  function key(d) { return d[YEAR] * 10000 + d[MONTH] * 100 + d[DAY]; }
  return within(key(lo), key(now), key(hi));
};
// timeRange(hour), (hour, hour), (h, m, h, m), (h, m, s, h, m, s), each optionally with 'GMT';
// the end is inclusive at its own precision (timeRange(9, 17) holds until 17:59:59).
global.timeRange = function timeRange() {
  var a = timeArgs(arguments), n = a.list.length, v = [];
  for (var i = 0; i < n; i++) {
    v[i] = parseInt(a.list[i], 10);
    if (isNaN(v[i])) return false;
  }
  var secs = clock(a.gmt).secs;
  var hour = Math.floor(secs / 3600), minute = Math.floor(secs / 60);
  switch (n) {
    case 1: return hour === v[0];
    case 2: return within(v[0], hour, v[1]);
    case 4: return within(v[0] * 60 + v[1], minute, v[2] * 60 + v[3]);
    case 6: return within(v[0] * 3600 + v[1] * 60 + v[2], secs, v[3] * 3600 + v[4] * 60 + v[5]);
    default: return false;
  }
};
global.getClientVersion = function getClientVersion() {
  return '1.0';
};
})
)js";

struct Native {
  const char* name;
  duk_c_function fn;
  duk_idx_t nargs;
};
constexpr Native kNatives[] = {
    {"dnsResolve", js_dns_resolve, 1},
    {"dnsResolveEx", js_dns_resolve_ex, 1},
    {"myIpAddress", js_my_ip_address, 0},
    {"myIpAddressEx", js_my_ip_address_ex, 0},
    {"isInNetEx", js_is_in_net_ex, 2},
    {"sortIpAddressList", js_sort_ip_address_list, 1},
    {"alert", js_alert, 1},
};

duk_ret_t setup_globals(duk_context* ctx, void*) {
  duk_push_global_object(ctx);
  // The Duktape object's errCreate/errThrow hooks would run script code while an error (such as
  // the timeout) is being thrown; the sandbox needs none of it.
  duk_del_prop_string(ctx, -1, "Duktape");
  for (const auto& n : kNatives) {
    duk_push_c_function(ctx, n.fn, n.nargs);
    duk_put_prop_string(ctx, -2, n.name);
  }
  duk_push_string(ctx, "pac_helpers.js");
  duk_compile_lstring_filename(ctx, DUK_COMPILE_EVAL, kHelpers, sizeof kHelpers - 1);
  duk_call(ctx, 0);  // -> the helpers function
  duk_dup(ctx, -2);
  duk_push_c_function(ctx, js_now_ms, 0);
  duk_call(ctx, 2);
  duk_pop_2(ctx);
  return 0;
}

struct LoadArgs {
  const std::string* source;
  const std::string* name;
  bool has_plain = false;
  bool has_ex = false;
};

duk_ret_t load_script(duk_context* ctx, void* udata) {
  auto& args = *static_cast<LoadArgs*>(udata);
  push_string(ctx, *args.name);
  duk_compile_lstring_filename(ctx, 0, args.source->data(), args.source->size());
  duk_call(ctx, 0);
  duk_pop(ctx);
  args.has_plain = duk_get_global_string(ctx, "FindProxyForURL") && duk_is_function(ctx, -1);
  duk_pop(ctx);
  args.has_ex = duk_get_global_string(ctx, "FindProxyForURLEx") && duk_is_function(ctx, -1);
  duk_pop(ctx);
  return 0;
}

struct CallArgs {
  const char* function;
  const std::string* url;
  const std::string* host;
  std::string result;
  const char* bad_type = nullptr;  // set when the result is not a string
};

const char* type_name(duk_context* ctx, duk_idx_t idx) {
  switch (duk_get_type(ctx, idx)) {
    case DUK_TYPE_UNDEFINED:
      return "undefined";
    case DUK_TYPE_NULL:
      return "null";
    case DUK_TYPE_BOOLEAN:
      return "a boolean";
    case DUK_TYPE_NUMBER:
      return "a number";
    case DUK_TYPE_OBJECT:
      return duk_is_function(ctx, idx) ? "a function" : "an object";
    default:
      return "a non-string value";
  }
}

duk_ret_t call_script(duk_context* ctx, void* udata) {
  auto& args = *static_cast<CallArgs*>(udata);
  duk_get_global_string(ctx, args.function);
  push_string(ctx, *args.url);
  push_string(ctx, *args.host);
  duk_call(ctx, 2);
  if (duk_is_string(ctx, -1)) {
    duk_size_t len = 0;
    const char* s = duk_get_lstring(ctx, -1, &len);
    args.result.assign(s, len);
  } else {
    args.bad_type = type_name(ctx, -1);
  }
  duk_pop(ctx);
  return 0;
}

struct ErrorInfo {
  std::string message;
  int line = 0;
  const std::string* name;
};

// Reads the thrown value at the top of the stack: "Name: message" and, for errors raised in the
// script itself, lineNumber.
duk_ret_t read_error(duk_context* ctx, void* udata) {
  auto& info = *static_cast<ErrorInfo*>(udata);
  if (duk_is_object(ctx, 0)) {
    duk_get_prop_string(ctx, 0, "fileName");
    const bool ours = duk_is_string(ctx, -1) && *info.name == duk_get_string(ctx, -1);
    duk_pop(ctx);
    duk_get_prop_string(ctx, 0, "lineNumber");
    if (ours && duk_is_number(ctx, -1)) info.line = static_cast<int>(duk_get_int(ctx, -1));
    duk_pop(ctx);
  }
  info.message = duk_safe_to_string(ctx, 0);
  return 0;
}

std::string size_text(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Runs `fn` in a protected call against the deadline and returns the error, if any. `phase` names
// what hit a limit; `prefix`, when not empty, goes before the text of a thrown value.
std::optional<PacError> run(Impl& impl, duk_safe_call_function fn, void* udata,
                            const std::string& phase, const std::string& prefix) {
  bool ok = false;
  {
    Armed armed(impl, impl.limits.per_call);
    ok = duk_safe_call(impl.ctx, fn, udata, 0, 1) == DUK_EXEC_SUCCESS;
  }
  const bool timed_out = impl.timed_out;
  const bool memory = impl.memory_refused;
  if (ok || timed_out) {
    duk_pop(impl.ctx);  // the result, or the thrown value
    if (!timed_out) return std::nullopt;
    return PacError(phase + " exceeded " + std::to_string(impl.limits.per_call.count()) + " ms");
  }
  // The thrown value's getters and toString() are script code: they get a deadline of their own.
  ErrorInfo info{{}, 0, &impl.name};
  {
    Armed armed(impl,
                std::min<Clock::duration>(impl.limits.per_call, std::chrono::milliseconds(100)));
    if (duk_safe_call(impl.ctx, read_error, &info, 1, 1) != DUK_EXEC_SUCCESS || impl.timed_out) {
      info.message = "an exception that cannot be printed";
      info.line = 0;
    }
  }
  duk_pop(impl.ctx);
  if (memory)
    return PacError(phase + " exceeded the memory limit of " + size_text(impl.limits.memory));
  // Duktape's compile errors end in "(line N)" or "(line N, end of input)"; the line is separate.
  if (info.line > 0) {
    const std::string tail = " (line " + std::to_string(info.line);
    if (auto pos = info.message.rfind(tail);
        pos != std::string::npos && info.message.back() == ')' &&
        (info.message.size() == pos + tail.size() + 1 || info.message[pos + tail.size()] == ',')) {
      info.message.erase(pos);
    }
  }
  PacError err(prefix.empty() ? info.message : prefix + ": " + info.message);
  err.line = info.line;
  return err;
}

// ---- reads_path: a small JavaScript tokenizer and a look at the entry function ---------------

struct Token {
  enum Kind { ident, punct, literal } kind;
  std::string_view text;
  bool is(char c) const { return kind == punct && text.size() == 1 && text[0] == c; }
  bool is(std::string_view word) const { return kind == ident && text == word; }
};

bool ident_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c == '\\' || c >= 0x80;
}

bool is_keyword(std::string_view w) {
  static const std::set<std::string_view> words = {
      "break",  "case",    "catch", "continue", "debugger", "default", "delete",     "do",
      "else",   "finally", "for",   "function", "if",       "in",      "instanceof", "new",
      "return", "switch",  "this",  "throw",    "try",      "typeof",  "var",        "void",
      "while",  "with",    "let",   "const",    "of",       "yield",   "await"};
  return words.count(w) != 0;
}

// False when the source is not understood (unterminated string, comment or regexp).
bool tokenize(std::string_view src, std::vector<Token>& out) {
  std::size_t i = 0;
  const std::size_t n = src.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(src[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '/') {
      while (i < n && src[i] != '\n' && src[i] != '\r') ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      const auto end = src.find("*/", i + 2);
      if (end == std::string_view::npos) return false;
      i = end + 2;
    } else if (c == '\'' || c == '"' || c == '`') {
      const std::size_t start = i++;
      while (i < n && static_cast<unsigned char>(src[i]) != c) {
        if (src[i] == '\\') {
          i += 2;  // also a line continuation
          continue;
        }
        if (c != '`' && (src[i] == '\n' || src[i] == '\r')) return false;
        ++i;
      }
      if (i >= n) return false;
      ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && i + 1 < n && src[i + 1] >= '0' && src[i + 1] <= '9')) {
      const std::size_t start = i;
      while (i < n && (ident_char(static_cast<unsigned char>(src[i])) || src[i] == '.')) ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else if (ident_char(c)) {
      const std::size_t start = i;
      while (i < n && ident_char(static_cast<unsigned char>(src[i]))) ++i;
      out.push_back({Token::ident, src.substr(start, i - start)});
    } else if (c == '/') {
      // A regexp literal where an expression starts; a division after an operand.
      bool division = false;
      if (!out.empty()) {
        const auto& prev = out.back();
        division = prev.kind == Token::literal ||
                   (prev.kind == Token::ident && !is_keyword(prev.text)) || prev.is(')') ||
                   prev.is(']');
      }
      if (division) {
        out.push_back({Token::punct, src.substr(i++, 1)});
        continue;
      }
      const std::size_t start = i++;
      bool in_class = false;
      while (i < n && (in_class || src[i] != '/')) {
        if (src[i] == '\n' || src[i] == '\r') return false;
        if (src[i] == '\\') {
          i += 2;
          continue;
        }
        if (src[i] == '[') in_class = true;
        if (src[i] == ']') in_class = false;
        ++i;
      }
      if (i >= n) return false;
      ++i;
      while (i < n && ident_char(static_cast<unsigned char>(src[i]))) ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else {
      out.push_back({Token::punct, src.substr(i++, 1)});
    }
  }
  return true;
}

class PathReadAnalysis {
 public:
  explicit PathReadAnalysis(std::string_view source) {
    ok_ = tokenize(source, toks_) && match_brackets() && find_functions();
  }

  bool reads(std::string_view function, std::size_t param) {
    if (!ok_) return true;
    std::set<std::pair<std::string_view, std::size_t>> seen;
    return reads(function, param, seen);
  }

 private:
  struct Function {
    std::vector<std::string_view> params;
    bool opaque = false;              // parameter list not understood
    std::size_t open = 0, close = 0;  // body braces
  };

  bool match_brackets() {
    match_.assign(toks_.size(), 0);
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      if (toks_[i].is('(') || toks_[i].is('[') || toks_[i].is('{')) {
        stack.push_back(i);
      } else if (toks_[i].is(')') || toks_[i].is(']') || toks_[i].is('}')) {
        if (stack.empty()) return false;
        const char open = toks_[stack.back()].text[0];
        const char close = toks_[i].text[0];
        if ((open == '(' && close != ')') || (open == '[' && close != ']') ||
            (open == '{' && close != '}'))
          return false;
        match_[i] = stack.back();
        match_[stack.back()] = i;
        stack.pop_back();
      }
    }
    return stack.empty();
  }

  bool find_functions() {
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      const auto& t = toks_[i];
      // NAME = something other than a function: the name may end up bound to anything.
      if (t.kind == Token::ident && i + 2 < toks_.size() && toks_[i + 1].is('=') &&
          !toks_[i + 2].is('=') && !toks_[i + 2].is("function"))
        reassigned_.insert(t.text);
      if (!t.is("function") || (i > 0 && toks_[i - 1].is('.'))) continue;
      std::vector<std::string_view> names;
      std::size_t p = i + 1;
      if (p < toks_.size() && toks_[p].kind == Token::ident) names.push_back(toks_[p++].text);
      if (i >= 2 && toks_[i - 1].is('=') && toks_[i - 2].kind == Token::ident)
        names.push_back(toks_[i - 2].text);
      if (p >= toks_.size() || !toks_[p].is('(')) return false;
      Function f;
      const std::size_t params_end = match_[p];
      for (std::size_t k = p + 1; k < params_end; ++k) {
        if (toks_[k].kind == Token::ident && !is_keyword(toks_[k].text) &&
            (k + 1 == params_end || toks_[k + 1].is(','))) {
          f.params.push_back(toks_[k].text);
          ++k;
        } else {
          f.opaque = true;
          break;
        }
      }
      if (params_end + 1 >= toks_.size() || !toks_[params_end + 1].is('{')) return false;
      f.open = params_end + 1;
      f.close = match_[f.open];
      for (auto name : names) functions_[name].push_back(f);
    }
    return true;
  }

  // When token i is a whole argument of a call `name(.., i, ..)`: the callee and the position.
  std::optional<std::pair<std::string_view, std::size_t>> call_argument(std::size_t i,
                                                                        std::size_t begin) const {
    if (i == 0 || i + 1 >= toks_.size()) return std::nullopt;
    if (!(toks_[i - 1].is('(') || toks_[i - 1].is(',')) ||
        !(toks_[i + 1].is(')') || toks_[i + 1].is(',')))
      return std::nullopt;
    std::size_t position = 0;
    std::size_t j = i - 1;
    while (j > begin) {
      const auto& t = toks_[j];
      if (t.is(')') || t.is(']') || t.is('}')) {
        j = match_[j] - 1;
        continue;
      }
      if (t.is('(')) break;
      if (t.is('[') || t.is('{')) return std::nullopt;
      if (t.is(',')) ++position;
      --j;
    }
    if (j <= begin || !toks_[j].is('(') || j < 1) return std::nullopt;
    const auto& callee = toks_[j - 1];
    if (callee.kind != Token::ident || is_keyword(callee.text)) return std::nullopt;
    if (j >= 2 && (toks_[j - 2].is('.') || toks_[j - 2].is("function"))) return std::nullopt;
    return std::make_pair(callee.text, position);
  }

  bool reads(std::string_view function, std::size_t param,
             std::set<std::pair<std::string_view, std::size_t>>& seen) {
    if (!seen.emplace(function, param).second) return false;  // already being looked at
    auto it = functions_.find(function);
    if (it == functions_.end() || reassigned_.count(function) != 0) return true;
    for (const auto& f : it->second) {
      if (f.opaque) return true;
      const std::string_view name = param < f.params.size() ? f.params[param] : std::string_view{};
      for (std::size_t i = f.open + 1; i < f.close; ++i) {
        const auto& t = toks_[i];
        if (t.kind != Token::ident) continue;
        if (t.text.find('\\') != std::string_view::npos) return true;  // \u0075rl is url
        if (t.text == "arguments" || t.text == "eval") return true;
        if (name.empty() || t.text != name || toks_[i - 1].is('.')) continue;
        const auto call = call_argument(i, f.open);
        if (!call || reads(call->first, call->second, seen)) return true;
      }
    }
    return false;
  }

  std::vector<Token> toks_;
  std::vector<std::size_t> match_;
  std::map<std::string_view, std::vector<Function>> functions_;
  std::set<std::string_view> reassigned_;
  bool ok_ = false;
};

// ---- answers ---------------------------------------------------------------------------------

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

PacScript::PacScript(std::string source, std::string name, PacResolve resolve, std::string my_ip,
                     PacLimits limits, std::function<std::time_t()> now)
    : impl_(std::make_unique<Impl>()) {
  auto& impl = *impl_;
  impl.name = std::move(name);
  impl.resolve = std::move(resolve);
  for (auto& a : split_list(my_ip))
    if (parse_ip(a)) impl.my_ips.push_back(std::move(a));
  impl.limits = limits;
  impl.now = std::move(now);

  impl.ctx = duk_create_heap(pac_alloc, pac_realloc, pac_free, &impl, pac_fatal);
  if (impl.ctx == nullptr) {
    throw PacError("cannot create a JavaScript heap within the memory limit of " +
                   size_text(limits.memory));
  }
  const std::string setup = "setting up the PAC helpers";
  if (auto err = run(impl, setup_globals, nullptr, setup, setup)) throw *err;
  LoadArgs args{&source, &impl.name};
  if (auto err = run(impl, load_script, &args, "loading the script", "")) throw *err;
  if (!args.has_plain && !args.has_ex)
    throw PacError("the script defines no FindProxyForURL function");
  impl.use_ex = args.has_ex;
  impl.reads_path =
      PathReadAnalysis(source).reads(impl.use_ex ? "FindProxyForURLEx" : "FindProxyForURL", 0);
}

PacScript::~PacScript() = default;
PacScript::PacScript(PacScript&&) noexcept = default;
PacScript& PacScript::operator=(PacScript&&) noexcept = default;

PacAnswer PacScript::find_proxy(const std::string& url, const std::string& host) {
  auto& impl = *impl_;
  const char* function = impl.use_ex ? "FindProxyForURLEx" : "FindProxyForURL";
  CallArgs args{function, &url, &host, {}, nullptr};
  auto err = run(impl, call_script, &args, function, function);
  if (err) throw *err;
  if (args.bad_type != nullptr) {
    throw PacError(std::string(function) + " returned " + args.bad_type + ", not a string");
  }
  PacAnswer answer;
  std::string error;
  answer.chain = parse_pac_answer(args.result, error);
  if (answer.chain.empty()) {
    throw PacError(std::string(function) + " returned an unusable answer \"" +
                   args.result.substr(0, 200) + "\": " + error);
  }
  answer.text = std::move(args.result);
  answer.unanswered = std::move(impl.unanswered);
  return answer;
}

bool PacScript::reads_path() const {
  return impl_->reads_path;
}

std::vector<std::string> PacScript::alerts() const {
  return impl_->alerts;
}

void PacScript::clear_alerts() {
  impl_->alerts.clear();
}

}  // namespace urlprobe::route
