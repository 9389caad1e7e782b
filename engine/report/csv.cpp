// --format csv: a header and one row per result, streamed; RFC 4180 (CRLF, quoted fields).
#include <fmt/format.h>

#include "report/detail/formats.hpp"

namespace urlprobe::report {

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, with quotes doubled. A text
// field a spreadsheet would run as a formula (a hostile proxy's reason phrase, a sheet cell:
// "=HYPERLINK(...)") gets a leading apostrophe, as OWASP's CSV-injection advice says; numbers
// are written elsewhere and keep their sign.
std::string csv_field(std::string_view value) {
  auto text = detail::valid_utf8(value);
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos)
    text.insert(text.begin(), '\'');
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string json_string(std::string_view value) {
  std::string out;
  detail::append_json_string(out, value);
  return out;
}

}  // namespace urlprobe::report

namespace urlprobe::report::detail {

namespace {

constexpr std::string_view kHeader =
    "url,host,port,route,proxy,proxy_name,outcome,detail,http_status,proxy_status,address,"
    "ms_dns,ms_connect,ms_tunnel,ms_tls,ms_ttfb,ms_total,tls_version,tls_issuer,tls_subject,"
    "tls_not_after,tls_days_left,geography,category,started\r\n";

void field(std::string& out, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += csv_field(value);
}

void number(std::string& out, long value) {
  out += ',';
  if (value) fmt::format_to(std::back_inserter(out), "{}", value);
}

void ms(std::string& out, const std::optional<double>& value) {
  out += ',';
  if (value) fmt::format_to(std::back_inserter(out), "{:.3f}", *value);
}

class CsvWriter final : public ResultWriter {
 public:
  explicit CsvWriter(std::FILE* out) : out_(out) {}

  void write(const probe::Result& r) override {
    row_.clear();
    if (!header_written_) {
      row_ = kHeader;
      header_written_ = true;
    }
    field(row_, r.url, true);
    field(row_, r.host);
    number(row_, r.port);
    field(row_, route::method_name(r.route));
    field(row_, r.proxy);
    field(row_, r.proxy_name);
    field(row_, probe::outcome_name(r.outcome));
    field(row_, r.detail);
    number(row_, r.http_status);
    number(row_, r.proxy_status);
    field(row_, r.address);
    ms(row_, r.ms.dns);
    ms(row_, r.ms.connect);
    ms(row_, r.ms.tunnel);
    ms(row_, r.ms.tls);
    ms(row_, r.ms.ttfb);
    ms(row_, r.ms.total);
    if (r.tls) {
      field(row_, r.tls->version);
      field(row_, r.tls->issuer);
      field(row_, r.tls->subject);
      field(row_, r.tls->not_after);
      row_ += ',';
      if (r.tls->days_left) fmt::format_to(std::back_inserter(row_), "{}", *r.tls->days_left);
    } else {
      row_ += ",,,,";
      row_ += ',';
    }
    field(row_, r.row.geography());
    field(row_, r.row.category());
    field(row_, rfc3339(r.started));
    row_ += "\r\n";
    std::fwrite(row_.data(), 1, row_.size(), out_);
    std::fflush(out_);
  }

  void finish(const Summary&) override {
    if (!header_written_) std::fwrite(kHeader.data(), 1, kHeader.size(), out_);
    header_written_ = true;
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  bool header_written_ = false;
  std::string row_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_csv_writer(std::FILE* out) {
  return std::make_unique<CsvWriter>(out);
}

}  // namespace urlprobe::report::detail
