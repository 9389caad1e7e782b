#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "report/formats.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"

namespace urlprobe::report {

using probe::Outcome;

std::uint64_t Summary::failures() const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < by_outcome.size(); ++i)
    if (probe::is_failure(static_cast<Outcome>(i))) n += by_outcome[i];
  return n;
}

bool parse_format(std::string_view name, Format& out) {
  if (name == "text")
    out = Format::text;
  else if (name == "jsonl")
    out = Format::jsonl;
  else if (name == "json")
    out = Format::json;
  else if (name == "csv")
    out = Format::csv;
  else if (name == "junit")
    out = Format::junit;
  else if (name == "prometheus")
    out = Format::prometheus;
  else if (name == "html")
    out = Format::html;
  else
    return false;
  return true;
}

bool format_for_path(std::string_view path, Format& out) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return false;
  const auto ext = path.substr(dot + 1);
  if (ext == "jsonl" || ext == "ndjson")
    out = Format::jsonl;
  else if (ext == "txt" || ext == "log")
    out = Format::text;
  else if (ext == "json")
    out = Format::json;
  else if (ext == "csv")
    out = Format::csv;
  else if (ext == "xml")
    out = Format::junit;
  else if (ext == "prom")
    out = Format::prometheus;
  else if (ext == "html" || ext == "htm")
    out = Format::html;
  else
    return false;
  return true;
}

std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F in UTF-8: CSI (U+009B) and OSC (U+009D) start sequences in some terminals.
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string summary_text(const Summary& s) {
  std::string out = fmt::format(
      "\nSummary: {} probes, {} ok, {} failed in {:.2f} s{}\n", s.finished,
      s.by_outcome[static_cast<std::size_t>(Outcome::ok)], s.failures(), s.seconds,
      s.interrupted
          ? fmt::format(" (interrupted: {} of {} not started)", s.planned - s.finished, s.planned)
          : "");
  for (std::size_t i = 0; i < s.by_outcome.size(); ++i)
    if (s.by_outcome[i])
      out += fmt::format("  {:<20} {}\n", probe::outcome_name(static_cast<Outcome>(i)),
                         s.by_outcome[i]);
  for (const auto& note : s.notes) out += note + "\n";
  if (s.input_errors)
    out += fmt::format("Input: {} line{} skipped (errors above)\n", s.input_errors,
                       s.input_errors == 1 ? "" : "s");
  return out;
}

char detail::outcome_code(Outcome o) {
  static constexpr char kCodes[] = ".?NRTUADEICSHtL-s";
  static_assert(sizeof(kCodes) - 1 == probe::kOutcomeCount);
  return kCodes[static_cast<std::size_t>(o)];
}

namespace {

class JsonlWriter final : public ResultWriter {
 public:
  explicit JsonlWriter(std::FILE* out) : out_(out) {}
  void write(const probe::Result& r) override {
    line_.clear();
    append_jsonl(line_, r);
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), out_);
    // A sweep killed hard still leaves every finished result on disk.
    std::fflush(out_);
  }
  void finish(const Summary&) override { std::fflush(out_); }

 private:
  std::FILE* out_;
  std::string line_;
};

// The analyzer's layout: a block per URL, one line per method, in sheet order; then, for
// proxy-list routes, a matrix of URLs x proxies and a line per proxy.
class TextWriter final : public ResultWriter {
 public:
  TextWriter(std::FILE* out, std::span<const route::Route> routes)
      : out_(out), routes_(std::max<std::size_t>(1, routes.size())) {
    for (std::size_t i = 0; i < routes.size(); ++i) {
      if (routes[i].method != route::Method::proxy_list) {
        ++method_routes_;
        continue;
      }
      column_of_.emplace(i, proxies_.size());
      const auto& spec = *routes[i].for_https;
      proxies_.push_back({spec.name, spec.redacted(), {}, {}});
    }
  }

  void write(const probe::Result& r) override {
    seen_.push_back(r);  // for the Readiness section
    const auto target = r.sweep_index / routes_;
    auto& block = pending_[target];
    block.push_back(r);
    // Print every complete block in order; later ones wait for the earlier ones.
    while (!pending_.empty() && pending_.begin()->second.size() == routes_ &&
           pending_.begin()->first <= next_) {
      print_block(pending_.begin()->second);
      next_ = pending_.begin()->first + 1;
      pending_.erase(pending_.begin());
    }
  }

  void finish(const Summary& summary) override {
    for (auto& [target, block] : pending_)
      print_block(block);  // an interrupted sweep's partial blocks
    pending_.clear();
    std::string text = matrix();
    text += readiness_text(assess(seen_, ReadinessOptions{summary.geo}));
    text = terminal_text(text + summary_text(summary));
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

 private:
  struct Proxy {
    std::string name, redacted;
    std::array<std::uint64_t, probe::kOutcomeCount> counts;
    std::string inspected_by;  // the issuer an intercepting proxy presented
  };

  // The line an admin needs to file an exclusion: who issues this URL's certificate on each path.
  static std::string issuers_differ(const std::vector<probe::Result>& block) {
    std::vector<std::pair<std::string, std::string>> seen;  // path, issuer
    bool differ = false;
    for (const auto& r : block) {
      if (!r.tls || r.tls->issuer.empty()) continue;
      const auto path =
          r.proxy.empty() ? std::string(route::method_name(r.route)) : "via " + r.proxy;
      differ = differ || (!seen.empty() && seen.front().second != r.tls->issuer);
      seen.emplace_back(path, r.tls->issuer);
    }
    if (!differ) return {};
    std::string line = "  ! TLS issuer differs by path:";
    for (const auto& [path, issuer] : seen) line += fmt::format(" {}: {};", path, issuer);
    line.back() = '\n';
    return line;
  }
  struct Row {
    std::string url;
    std::string cells;  // one outcome code per proxy
  };

  void print_block(std::vector<probe::Result>& block) {
    std::sort(block.begin(), block.end(),
              [](auto& a, auto& b) { return a.sweep_index < b.sweep_index; });
    std::string text;
    if (method_routes_) text = fmt::format("Testing URL : {}\n", block.front().url);
    Row* row = nullptr;
    for (const auto& r : block) {
      const auto column = column_of_.find(r.sweep_index % routes_);
      if (column == column_of_.end()) {
        text += line(r);
        continue;
      }
      if (!row) row = &matrix_rows_.emplace_back(Row{r.url, std::string(proxies_.size(), ' ')});
      row->cells[column->second] = detail::outcome_code(r.outcome);
      auto& proxy = proxies_[column->second];
      ++proxy.counts[static_cast<std::size_t>(r.outcome)];
      if (r.outcome == Outcome::tls_intercepted && r.tls) proxy.inspected_by = r.tls->issuer;
    }
    text = terminal_text(text + issuers_differ(block));
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

  std::string matrix() const {
    if (proxies_.empty()) return {};
    std::string text =
        fmt::format("\nProxies: {} URLs x {} proxies (one column per proxy, P1..P{} below)\n",
                    matrix_rows_.size(), proxies_.size(), proxies_.size());
    for (const auto& row : matrix_rows_) text += fmt::format("  {}  {}\n", row.cells, row.url);
    text +=
        "  legend: . ok  ? unexpected_status  N dns_error  R connect_refused  T connect_timeout\n"
        "          U proxy_unreachable  A proxy_auth_required  D proxy_denied  E proxy_error\n"
        "          I tls_intercepted  C tls_untrusted  S tls_error  H http_error  t timeout\n"
        "          L local_error\n";
    text += "Per proxy:\n";
    for (std::size_t i = 0; i < proxies_.size(); ++i) {
      const auto& p = proxies_[i];
      std::uint64_t total = 0, worst = 0;
      std::size_t dominant = 0;
      for (std::size_t o = 0; o < p.counts.size(); ++o) {
        total += p.counts[o];
        if (o != static_cast<std::size_t>(Outcome::ok) && p.counts[o] > worst) {
          worst = p.counts[o];
          dominant = o;
        }
      }
      const auto label = p.name.empty() ? p.redacted : fmt::format("{} ({})", p.name, p.redacted);
      text += fmt::format(
          "  P{:<4} {:<48} ok {}/{}{}\n", i + 1, label, p.counts[0], total,
          worst ? fmt::format(", mostly {} ({})",
                              probe::outcome_name(static_cast<Outcome>(dominant)), worst)
                : "");
      if (const auto intercepted = p.counts[static_cast<std::size_t>(Outcome::tls_intercepted)])
        text += fmt::format("        intercepts TLS ({}) for {} of {} targets\n", p.inspected_by,
                            intercepted, total);
    }
    return text;
  }

  static std::string line(const probe::Result& r) {
    const auto number = static_cast<int>(r.route);
    const auto title = route::method_title(r.route);
    const auto via = r.proxy.empty() ? std::string() : fmt::format(" via {}", r.proxy);
    switch (r.outcome) {
      case Outcome::ok:
        return fmt::format("{} - {}: Succeeded ({}){}\n", number, title, r.http_status, via);
      case Outcome::not_configured:
        return fmt::format("{} - {}: Doesn't exist\n", number, title);
      case Outcome::skipped:
        return fmt::format("{} - {}: Skipped: {}\n", number, title, r.detail);
      default: {
        const bool proxy_outcome =
            r.outcome >= Outcome::proxy_unreachable && r.outcome <= Outcome::proxy_error;
        const int status = r.http_status ? r.http_status : proxy_outcome ? r.proxy_status : 0;
        return fmt::format("{} - {}: Failed, {}{}: {}{}\n", number, title,
                           probe::outcome_name(r.outcome),
                           status ? fmt::format(" ({})", status) : "", r.detail, via);
      }
    }
  }

  std::FILE* out_;
  std::size_t routes_;
  std::size_t method_routes_ = 0;
  std::map<std::size_t, std::size_t> column_of_;  // route index -> matrix column
  std::vector<Proxy> proxies_;
  std::vector<Row> matrix_rows_;
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, std::vector<probe::Result>> pending_;
  std::vector<probe::Result> seen_;  // for readiness at finish
};

}  // namespace

std::unique_ptr<ResultWriter> make_writer(Format format, std::FILE* out,
                                          std::span<const route::Route> routes) {
  switch (format) {
    case Format::jsonl:
      return std::make_unique<JsonlWriter>(out);
    case Format::json:
      return detail::make_json_writer(out);
    case Format::csv:
      return detail::make_csv_writer(out);
    case Format::junit:
      return detail::make_junit_writer(out, routes);
    case Format::prometheus:
      return detail::make_prometheus_writer(out);
    case Format::html:
      return detail::make_html_writer(out, routes);
    case Format::text:
      break;
  }
  return std::make_unique<TextWriter>(out, routes);
}

}  // namespace urlprobe::report
