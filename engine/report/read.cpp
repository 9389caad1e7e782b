#include "report/read.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>

namespace urlprobe::report {

namespace {

namespace json = boost::json;

struct Bad {
  std::string message;
};

std::string type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

const json::object& object_of(const json::value& v, std::string_view name) {
  if (!v.is_object())
    throw Bad{fmt::format("\"{}\" is {}, expected an object", name, type_name(v))};
  return v.get_object();
}

std::string string_of(const json::value& v, std::string_view name) {
  if (!v.is_string()) throw Bad{fmt::format("\"{}\" is {}, expected a string", name, type_name(v))};
  return std::string(v.get_string());
}

long long integer_of(const json::value& v, std::string_view name, long long min, long long max) {
  long long n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() &&
             v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<long long>::max())) {
    n = static_cast<long long>(v.get_uint64());
  } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
             std::abs(v.get_double()) < 1e15) {
    n = static_cast<long long>(v.get_double());
  } else {
    throw Bad{fmt::format("\"{}\" is {}, expected a whole number", name, type_name(v))};
  }
  if (n < min || n > max)
    throw Bad{fmt::format("\"{}\" is {}, out of range {}..{}", name, n, min, max)};
  return n;
}

double number_of(const json::value& v, std::string_view name) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  throw Bad{fmt::format("\"{}\" is {}, expected a number", name, type_name(v))};
}

std::vector<std::string> strings_of(const json::value& v, std::string_view name) {
  if (!v.is_array()) throw Bad{fmt::format("\"{}\" is {}, expected an array", name, type_name(v))};
  std::vector<std::string> out;
  for (const auto& item : v.get_array()) out.push_back(string_of(item, name));
  return out;
}

// RFC 3339 as append_jsonl writes it ("2026-11-22T03:00:00.123Z"); offsets and any fraction
// length are accepted too.
std::chrono::system_clock::time_point time_of(const std::string& text) {
  const Bad bad{fmt::format("\"started\" is not an RFC 3339 time: '{}'", text)};
  std::string_view s = text;
  auto number = [&](std::size_t digits) {
    int n = 0;
    if (s.size() < digits) throw bad;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + digits, n);
    if (ec != std::errc{} || end != s.data() + digits) throw bad;
    s.remove_prefix(digits);
    return n;
  };
  auto expect = [&](char c) {
    if (s.empty() || (s.front() != c && !(c == 'T' && (s.front() == 't' || s.front() == ' '))))
      throw bad;
    s.remove_prefix(1);
  };
  const int year = number(4);
  expect('-');
  const int month = number(2);
  expect('-');
  const int day = number(2);
  expect('T');
  const int hour = number(2);
  expect(':');
  const int minute = number(2);
  expect(':');
  const int second = number(2);
  using namespace std::chrono;
  nanoseconds fraction{0};
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    long long scale = 100'000'000;
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
      fraction += nanoseconds((s[n] - '0') * scale);
      scale /= 10;
      ++n;
    }
    if (n == 0) throw bad;
    s.remove_prefix(n);
  }
  minutes offset{0};
  if (s == "Z" || s == "z") {
    s = {};
  } else if (s.size() == 6 && (s[0] == '+' || s[0] == '-')) {
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    const int oh = number(2);
    expect(':');
    const int om = number(2);
    offset = minutes(sign * (oh * 60 + om));
  } else {
    throw bad;
  }
  const year_month_day ymd{std::chrono::year(year),
                           std::chrono::month(static_cast<unsigned>(month)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) throw bad;
  // system_clock counts nanoseconds in 64 bits: only about 1678-2261 fits (found by fuzzing).
  if (year < 1900 || year > 2200) throw bad;
  const auto t =
      sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) + fraction - offset;
  return time_point_cast<system_clock::duration>(t);
}

void read_tls(const json::object& o, net::TlsFacts& t) {
  for (const auto& [k, v] : o) {
    const std::string_view name = k;
    auto text = [&, &v = v](std::string& into) { into = string_of(v, name); };
    if (name == "verified") {
      if (!v.is_bool())
        throw Bad{fmt::format("\"tls.verified\" is {}, expected a boolean", type_name(v))};
      t.verified = v.get_bool();
    } else if (name == "version")
      text(t.version);
    else if (name == "cipher")
      text(t.cipher);
    else if (name == "group")
      text(t.group);
    else if (name == "alpn")
      text(t.alpn);
    else if (name == "subject")
      text(t.subject);
    else if (name == "issuer")
      text(t.issuer);
    else if (name == "root")
      text(t.root);
    else if (name == "sans")
      t.sans = strings_of(v, name);
    else if (name == "not_before")
      text(t.not_before);
    else if (name == "not_after")
      text(t.not_after);
    else if (name == "days_left")
      t.days_left = static_cast<long>(integer_of(v, name, -1'000'000, 1'000'000));
    else if (name == "serial")
      text(t.serial);
    else if (name == "sig_alg")
      text(t.sig_alg);
    else if (name == "key")
      text(t.key);
    else if (name == "chain_len")
      t.chain_len = static_cast<int>(integer_of(v, name, 0, 1000));
    else if (name == "ocsp")
      text(t.ocsp);
    else if (name == "error")
      text(t.error);
    else if (name == "pin")
      text(t.pin);
    // Fields added later (DESIGN: "Fields may be added") are ignored.
  }
}

void read_row(const json::object& o, sheet::RowFacts& row) {
  for (const auto& [k, v] : o) {
    const std::string_view name = k;
    if (name == "source")
      row.source = string_of(v, name);
    else if (name == "sheet")
      row.sheet = string_of(v, name);
    else if (name == "geography")
      row.geography = string_of(v, name);
    else if (name == "os")
      row.os = string_of(v, name);
    else if (name == "category")
      row.category = string_of(v, name);
    else if (name == "service")
      row.service = string_of(v, name);
    else if (name == "required")
      row.required = string_of(v, name);
    else if (name == "wildcard")
      row.wildcard = string_of(v, name);
    else if (name == "host_from")
      row.host_from = string_of(v, name);
    else if (name == "workspace")
      row.workspace = string_of(v, name);
    else if (name == "line")
      row.line = static_cast<int>(integer_of(v, name, 0, std::numeric_limits<int>::max()));
    else if (name == "also_lines") {
      if (!v.is_array())
        throw Bad{fmt::format("\"row.also_lines\" is {}, expected an array", type_name(v))};
      for (const auto& item : v.get_array())
        row.other_lines.push_back(
            static_cast<int>(integer_of(item, name, 0, std::numeric_limits<int>::max())));
    }
  }
}

void read_expect(const json::object& o, sheet::Expectation& expect) {
  for (const auto& [k, v] : o) {
    const std::string_view name = k;
    std::string error;
    if (name == "status") {
      if (!sheet::parse_status_expectation(string_of(v, name), expect.status, error))
        throw Bad{fmt::format("\"expect.status\": {}", error)};
    } else if (name == "method") {
      if (!sheet::parse_method(string_of(v, name), expect.method, error))
        throw Bad{fmt::format("\"expect.method\": {}", error)};
    } else if (name == "trust") {
      expect.trust = strings_of(v, name);
    }
  }
}

void read_ms(const json::object& o, probe::PhaseTimes& ms) {
  for (const auto& [k, v] : o) {
    const std::string_view name = k;
    if (name == "dns")
      ms.dns = number_of(v, name);
    else if (name == "connect")
      ms.connect = number_of(v, name);
    else if (name == "tunnel")
      ms.tunnel = number_of(v, name);
    else if (name == "tls")
      ms.tls = number_of(v, name);
    else if (name == "ttfb")
      ms.ttfb = number_of(v, name);
    else if (name == "total")
      ms.total = number_of(v, name);
    else if (name == "pac")
      ms.pac = number_of(v, name);
  }
}

// As --shard K/N takes it: 1 <= K <= N <= 1000000.
void read_shard(const json::object& o, probe::Shard& shard) {
  const auto* k = o.if_contains("k");
  const auto* n = o.if_contains("n");
  if (!k || !n) throw Bad{"\"shard\" needs both \"k\" and \"n\""};
  shard.n = static_cast<unsigned>(integer_of(*n, "shard.n", 1, 1000000));
  shard.k = static_cast<unsigned>(integer_of(*k, "shard.k", 1, shard.n));
}

const json::value& required(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v) throw Bad{fmt::format("the record has no \"{}\"", name)};
  return *v;
}

std::shared_ptr<const net::DnsEvidence> read_dns(const json::object& o) {
  auto dns = std::make_shared<net::DnsEvidence>();
  if (const auto* cnames = o.if_contains("cnames")) dns->cnames = strings_of(*cnames, "dns.cnames");
  if (const auto* addresses = o.if_contains("addresses"))
    dns->addresses = strings_of(*addresses, "dns.addresses");
  if (const auto* tags = o.if_contains("service_tags")) {
    const auto& by_address = object_of(*tags, "dns.service_tags");
    for (const auto& address : dns->addresses) {
      const auto* of = by_address.if_contains(address);
      dns->service_tags.push_back(of ? strings_of(*of, "dns.service_tags")
                                     : std::vector<std::string>{});
    }
  }
  return dns;
}

probe::Result read_record(const json::object& o) {
  const auto& version = required(o, "v");
  if (!version.is_int64() && !version.is_uint64() && !version.is_double())
    throw Bad{fmt::format("\"v\" is {}, expected a number", type_name(version))};
  if (!(version.is_int64() && version.get_int64() == 1)) {
    const auto text = json::serialize(version);
    throw Bad{fmt::format("unsupported record version {} (this urlprobe reads 1)", text)};
  }
  probe::Result r;
  std::optional<sheet::RowFacts> row;  // held by r.row once the record is read
  r.url = string_of(required(o, "url"), "url");
  const auto route_name = string_of(required(o, "route"), "route");
  if (route_name == "proxy") {
    r.route = route::Method::proxy_list;
  } else if (auto method = route::parse_method(route_name)) {
    r.route = *method;
  } else {
    throw Bad{fmt::format("unknown route '{}'", route_name)};
  }
  const auto outcome_name = string_of(required(o, "outcome"), "outcome");
  const auto outcome = probe::parse_outcome(outcome_name);
  if (!outcome) throw Bad{fmt::format("unknown outcome '{}'", outcome_name)};
  r.outcome = *outcome;
  for (const auto& [k, v] : o) {
    const std::string_view name = k;
    if (name == "host")
      r.host = string_of(v, name);
    else if (name == "port")
      r.port = static_cast<std::uint16_t>(integer_of(v, name, 0, 65535));
    else if (name == "proxy")
      r.proxy = string_of(v, name);
    else if (name == "proxy_name")
      r.proxy_name = string_of(v, name);
    else if (name == "bypassed_by")
      r.bypassed_by = string_of(v, name);
    else if (name == "pac") {
      const auto& pac = object_of(v, name);
      if (const auto* answer = pac.if_contains("answer"))
        r.pac_answer = string_of(*answer, "pac.answer");
      if (const auto* used = pac.if_contains("used"))
        r.pac_used = static_cast<int>(integer_of(*used, "pac.used", 0, 1000));
      else
        r.pac_used = 0;
    } else if (name == "detail")
      r.detail = string_of(v, name);
    else if (name == "http_status")
      r.http_status = static_cast<int>(integer_of(v, name, 0, 999));
    else if (name == "proxy_status")
      r.proxy_status = static_cast<int>(integer_of(v, name, 0, 999));
    else if (name == "address")
      r.address = string_of(v, name);
    else if (name == "dns")
      r.dns = read_dns(object_of(v, name));
    else if (name == "via")
      r.via = string_of(v, name);
    else if (name == "tls")
      read_tls(object_of(v, name), r.tls.emplace());
    else if (name == "warnings")
      r.warnings = strings_of(v, name);
    else if (name == "ms")
      read_ms(object_of(v, name), r.ms);
    else if (name == "row")
      read_row(object_of(v, name), row ? *row : row.emplace());
    else if (name == "expect")
      read_expect(object_of(v, name), (row ? *row : row.emplace()).expect);
    else if (name == "started")
      r.started = time_of(string_of(v, name));
    else if (name == "shard")
      read_shard(object_of(v, name), r.shard);
  }
  if (row) r.row = sheet::TargetRow(std::move(*row));
  // v1 has no field for it: inspection that --allow-inspection went on with is told by the
  // warning net::judge_session words, which starts so.
  constexpr std::string_view kInspected = "TLS intercepted";
  r.tls_inspected = r.outcome == probe::Outcome::tls_intercepted ||
                    std::any_of(r.warnings.begin(), r.warnings.end(), [&](std::string_view w) {
                      return w.substr(0, kInspected.size()) == kInspected;
                    });
  return r;
}

// A sweep's records of one host carry one answer, held once by the sweep: read back, they share
// it again, so a million records of a few thousand hosts cost a few thousand answers.
void share_dns(std::unordered_map<std::string, std::shared_ptr<const net::DnsEvidence>>& seen,
               probe::Result& r) {
  if (!r.dns) return;
  auto& held = seen[r.host];
  if (held && held->cnames == r.dns->cnames && held->addresses == r.dns->addresses &&
      held->service_tags == r.dns->service_tags)
    r.dns = held;
  else
    held = r.dns;
}

}  // namespace

bool parse_record(std::string_view line, probe::Result& out, std::string& error) {
  boost::system::error_code ec;
  const auto value = json::parse(line, ec);
  if (ec) {
    error = fmt::format("not a JSON record ({}){}", ec.message(),
                        line.empty() || line.back() != '}' ? "; a truncated line?" : "");
    return false;
  }
  if (!value.is_object()) {
    error = fmt::format("not a result record: {}, expected an object", type_name(value));
    return false;
  }
  try {
    out = read_record(value.get_object());
  } catch (const Bad& bad) {
    error = bad.message;
    return false;
  }
  return true;
}

ReadResults read_results(std::string_view text, const std::string& source) {
  ReadResults read;
  std::unordered_map<std::string, std::shared_ptr<const net::DnsEvidence>> shared_dns;  // by host
  int number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    probe::Result r;
    std::string error;
    if (!parse_record(line, r, error)) {
      read.errors.push_back({source, number, 1, std::move(error), {}, false});
      continue;
    }
    share_dns(shared_dns, r);
    read.results.push_back(std::move(r));
    read.lines.push_back(number);
  }
  return read;
}

std::string describe_key(const ResultKey& key) {
  const auto route = route::method_name(key.route);
  if (key.proxy.empty()) return fmt::format("{} (route {})", key.url, route);
  return fmt::format("{} (route {} via {})", key.url, route, key.proxy);
}

}  // namespace urlprobe::report
