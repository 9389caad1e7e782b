#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/detail/formats.hpp"
#include "report/writer.hpp"

namespace urlprobe::report {

namespace {

using detail::append_json_string;

void key(std::string& out, std::string_view name) {
  out += ',';
  append_json_string(out, name);
  out += ':';
}

void string_field(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  append_json_string(out, value);
}

void string_array(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
}

void ms_field(std::string& out, bool& first, std::string_view name,
              const std::optional<double>& value) {
  if (!value) return;
  if (!first) out += ',';
  first = false;
  append_json_string(out, name);
  fmt::format_to(std::back_inserter(out), ":{:.3f}", *value);
}

}  // namespace

void append_jsonl(std::string& out, const probe::Result& r) {
  out += "{\"v\":1";
  string_field(out, "url", r.url);
  if (!r.host.empty()) string_field(out, "host", r.host);
  if (r.port) fmt::format_to(std::back_inserter(out), ",\"port\":{}", r.port);
  string_field(out, "route", route::method_name(r.route));
  if (!r.proxy.empty()) string_field(out, "proxy", r.proxy);
  if (!r.proxy_name.empty()) string_field(out, "proxy_name", r.proxy_name);
  if (!r.bypassed_by.empty()) string_field(out, "bypassed_by", r.bypassed_by);
  if (r.pac_used >= 0) {
    key(out, "pac");
    out += "{\"answer\":";
    append_json_string(out, r.pac_answer);
    fmt::format_to(std::back_inserter(out), ",\"used\":{}}}", r.pac_used);
  }
  string_field(out, "outcome", probe::outcome_name(r.outcome));
  string_field(out, "detail", r.detail);
  if (r.http_status) fmt::format_to(std::back_inserter(out), ",\"http_status\":{}", r.http_status);
  if (r.proxy_status)
    fmt::format_to(std::back_inserter(out), ",\"proxy_status\":{}", r.proxy_status);
  if (!r.address.empty()) string_field(out, "address", r.address);
  if (r.dns) {
    key(out, "dns");
    out += "{\"cnames\":";
    string_array(out, r.dns->cnames);
    out += ",\"addresses\":";
    string_array(out, r.dns->addresses);
    if (r.dns->tagged()) {
      out += ",\"service_tags\":{";
      for (std::size_t i = 0; i < r.dns->addresses.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, r.dns->addresses[i]);
        out += ':';
        string_array(out, r.dns->service_tags[i]);
      }
      out += '}';
    }
    out += '}';
  }
  if (!r.via.empty()) string_field(out, "via", r.via);
  if (r.tls) {
    const auto& t = *r.tls;
    key(out, "tls");
    out += "{\"verified\":";
    out += t.verified ? "true" : "false";
    auto text = [&](std::string_view name, const std::string& value) {
      if (!value.empty()) string_field(out, name, value);
    };
    text("version", t.version);
    text("cipher", t.cipher);
    text("group", t.group);
    text("alpn", t.alpn);
    text("subject", t.subject);
    text("issuer", t.issuer);
    text("root", t.root);
    if (!t.sans.empty()) {
      key(out, "sans");
      string_array(out, t.sans);
    }
    text("not_before", t.not_before);
    text("not_after", t.not_after);
    if (t.days_left) fmt::format_to(std::back_inserter(out), ",\"days_left\":{}", *t.days_left);
    text("serial", t.serial);
    text("sig_alg", t.sig_alg);
    text("key", t.key);
    if (t.chain_len) fmt::format_to(std::back_inserter(out), ",\"chain_len\":{}", t.chain_len);
    text("ocsp", t.ocsp);
    text("error", t.error);
    text("pin", t.pin);
    out += '}';
  }
  if (!r.warnings.empty()) {
    key(out, "warnings");
    string_array(out, r.warnings);
  }
  key(out, "ms");
  out += '{';
  bool first = true;
  ms_field(out, first, "dns", r.ms.dns);
  ms_field(out, first, "connect", r.ms.connect);
  ms_field(out, first, "tunnel", r.ms.tunnel);
  ms_field(out, first, "tls", r.ms.tls);
  ms_field(out, first, "ttfb", r.ms.ttfb);
  ms_field(out, first, "total", r.ms.total);
  ms_field(out, first, "pac", r.ms.pac);
  out += '}';
  if (const auto& e = r.row.expect(); !e.empty()) {
    // What the row demanded of this URL: a reader of the record sees why ok is ok.
    key(out, "expect");
    out += '{';
    bool any_expect = false;
    auto expect_field = [&](std::string_view name) {
      if (any_expect) out += ',';
      any_expect = true;
      append_json_string(out, name);
      out += ':';
    };
    if (!e.status.empty()) {
      expect_field("status");
      append_json_string(out, e.status.text());
    }
    if (!e.method.empty()) {
      expect_field("method");
      append_json_string(out, e.method);
    }
    if (!e.trust.empty()) {
      expect_field("trust");
      string_array(out, e.trust);
    }
    out += '}';
  }
  key(out, "row");
  out += '{';
  bool any = false;
  auto row_field = [&](std::string_view name, std::string_view value) {
    if (value.empty()) return;
    if (any) out += ',';
    any = true;
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  };
  row_field("source", r.row.source());
  row_field("sheet", r.row.sheet());
  row_field("geography", r.row.geography());
  row_field("os", r.row.os());
  row_field("category", r.row.category());
  row_field("service", r.row.service());
  row_field("required", r.row.required());
  // A concrete host put in for the row's wildcard (additive v1 fields).
  row_field("wildcard", r.row.wildcard());
  row_field("host_from", r.row.host_from());
  row_field("workspace", r.row.workspace());
  if (r.row.representative()) {
    out += any ? ",\"representative\":true" : "\"representative\":true";
    any = true;
  }
  if (r.row.line) {
    fmt::format_to(std::back_inserter(out), "{}\"line\":{}", any ? "," : "", r.row.line);
    any = true;
  }
  if (!r.row.other_lines().empty())
    fmt::format_to(std::back_inserter(out), "{}\"also_lines\":[{}]", any ? "," : "",
                   fmt::join(r.row.other_lines(), ","));
  out += '}';
  if (r.shard.n)
    fmt::format_to(std::back_inserter(out), ",\"shard\":{{\"k\":{},\"n\":{}}}", r.shard.k,
                   r.shard.n);
  string_field(out, "started", detail::rfc3339(r.started));
  out += '}';
}

}  // namespace urlprobe::report
