#include "route/detail/pac_builtins.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "route/detail/pac_ip.hpp"
#include "route/detail/pac_sandbox.hpp"

namespace urlprobe::route::detail {
namespace {

PacSandbox& impl_of(duk_context* ctx) {
  duk_memory_functions funcs;
  duk_get_memory_functions(ctx, &funcs);
  return *static_cast<PacSandbox*>(funcs.udata);
}

std::string arg_string(duk_context* ctx, duk_idx_t idx) {
  duk_size_t len = 0;
  const char* s = duk_to_lstring(ctx, idx, &len);
  return std::string(s, len);
}

// All addresses of `host` (literals as they are), through the engine's resolver, memoized per
// call and cached across calls.
const std::vector<std::string>& lookup(duk_context* ctx, const std::string& host) {
  auto& impl = impl_of(ctx);
  if (auto it = impl.dns_memo.find(host); it != impl.dns_memo.end()) return it->second.addresses;
  PacSandbox::Lookup found;
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

// The network part of an isInNetEx prefix. Microsoft's own example writes an IPv6 prefix by its
// leading groups alone ("3ffe:8311:ffff/48"): fewer than eight groups and no "::" means the
// groups not written are zero.
std::optional<Ip> prefix_network(const std::string& text) {
  if (auto ip = parse_ip(text)) return ip;
  const auto groups = std::count(text.begin(), text.end(), ':') + 1;
  if (groups < 2 || groups >= 8 || text.find("::") != std::string::npos || text.back() == ':' ||
      text.find('.') != std::string::npos)
    return std::nullopt;
  return parse_ip(text + "::");
}

// isInNetEx(address, "prefix/len"): address is a literal, a ';' list or a host name (all its
// addresses); true when any address is inside the prefix.
duk_ret_t js_is_in_net_ex(duk_context* ctx) {
  const std::string address = arg_string(ctx, 0);
  const std::string prefix = arg_string(ctx, 1);
  bool result = false;
  const auto slash = prefix.find('/');
  const auto net = prefix_network(prefix.substr(0, slash));
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

constexpr std::size_t kMaxAlertBytes = 4096;

duk_ret_t js_alert(duk_context* ctx) {
  auto& impl = impl_of(ctx);
  std::string msg = duk_safe_to_string(ctx, 0);
  // A script alerting in a loop until its deadline would bury the answers in millions of lines.
  if (impl.on_alert && ++impl.alerts_told <= kMaxAlerts + 1) {
    // A failing sink (stderr closed) must not turn a harmless alert into a script error.
    try {
      if (impl.alerts_told > kMaxAlerts)
        impl.on_alert("(further alerts not shown: more than " + std::to_string(kMaxAlerts) + ")");
      else
        impl.on_alert(msg.size() > kMaxAlertBytes ? msg.substr(0, kMaxAlertBytes) : msg);
    } catch (...) {
    }
  }
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
// (day, month [, year]) alone is one date: Netscape's own example, dateRange(24, "DEC"), is
// Christmas Eve (browsers built on Mozilla's code read it as the 24th to the month's end).
global.dateRange = function dateRange() {
  var a = timeArgs(arguments), n = a.list.length;
  if (n < 1 || n > 6) return false;
  var DAY = 0, MONTH = 1, YEAR = 2;
  var kinds = [], values = [];
  for (var i = 0; i < n; i++) {
    var v = a.list[i], value = find(MONTHS, v);
    if (value >= 0) {
      kinds[i] = MONTH;
    } else {
      value = parseInt(v, 10);
      if (isNaN(value) || value < 1) return false;
      kinds[i] = value <= 31 ? DAY : YEAR;
    }
    values[i] = value;
  }
  var single = n === 1 || ((n === 2 || n === 3) && kinds[0] === DAY && kinds[1] === MONTH &&
                           (n === 2 || kinds[2] === YEAR));
  if (!single && n % 2 !== 0) return false;
  var half = single ? n : n / 2;
  var lo = [0, 0, 0], hi = [0, 0, 0], has = [false, false, false], has2 = [false, false, false];
  for (var j = 0; j < n; j++) {
    var kind = kinds[j];
    if (j < half) {
      if (has[kind]) return false;
      has[kind] = true;
      lo[kind] = values[j];
    } else {
      if (!has[kind] || has2[kind]) return false;
      has2[kind] = true;
      hi[kind] = values[j];
    }
  }
  if (single) hi = lo;
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

}  // namespace

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

}  // namespace urlprobe::route::detail
