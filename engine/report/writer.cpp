#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "probe/sweep_index.hpp"
#include "report/detail/formats.hpp"
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
  else if (name == "analyzer")
    out = Format::analyzer;
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

namespace detail {

namespace {

// Terminal columns of UTF-8 text: one per code point (continuation bytes take none).
std::size_t columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void wrap_line(std::string_view line, std::size_t width, std::string& out) {
  const auto lead = line.find_first_not_of(' ');
  const std::string continued(std::min(lead == std::string_view::npos ? 0 : lead + 4, width / 2),
                              ' ');
  std::string current(line);
  for (;;) {
    if (columns(current) <= width) break;
    const auto first = current.find_first_not_of(' ');
    // The last space the line can end at; the word after it is the one that does not fit.
    std::size_t at = std::string::npos, column = 0;
    for (std::size_t i = 0; i < current.size() && column <= width; ++i) {
      if (i >= first && current[i] == ' ') at = i;
      if ((static_cast<unsigned char>(current[i]) & 0xC0) != 0x80) ++column;
    }
    if (at != std::string::npos) {
      const auto end = current.find(' ', at + 1);
      const auto word = std::string_view(current).substr(at + 1, end - (at + 1));
      // A word too long for any line stays where it is: moving it gains nothing. Nor is a URL
      // parted from a short label ("Testing URL : "): the pair is what people search for.
      const bool url_after_label =
          word.find("://") != std::string_view::npos && columns(current.substr(0, at)) <= 40;
      if (continued.size() + columns(word) > width || url_after_label) at = end;
    } else {
      at = current.find(' ', first);
    }
    if (at == std::string::npos) break;
    const auto next = current.find_first_not_of(' ', at);
    if (next == std::string::npos) break;
    auto head = current.substr(0, at);
    while (!head.empty() && head.back() == ' ') head.pop_back();
    out += head;
    out += '\n';
    current = continued + current.substr(next);
  }
  out += current;
}

}  // namespace

std::string wrap_lines(std::string_view text, std::size_t width) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto eol = text.find('\n');
    wrap_line(text.substr(0, eol), width, out);
    if (eol == std::string_view::npos) break;
    out += '\n';
    text.remove_prefix(eol + 1);
  }
  return out;
}

}  // namespace detail

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

std::string detail::dns_chain_text(const probe::Result& r) {
  if (!r.dns) return {};
  std::string out = r.host;
  for (const auto& name : r.dns->cnames) out += " -> " + name;
  // A chain that ended in NXDOMAIN or NODATA: its last name is the one a filter may block.
  if (r.dns->addresses.empty()) return out + " (no address)";
  return fmt::format("{} [{}]", out, fmt::join(r.dns->addresses, ", "));
}

std::string detail::text_legend() {
  // Lines end by column 90, as they always have (under kTextWidth, so wrap_lines keeps them).
  constexpr std::size_t kWidth = 90;
  std::string out;
  std::size_t line_start = 0;
  for (const auto& row : probe::kOutcomes) {
    if (row.family == probe::OutcomeFamily::neutral) continue;
    const auto entry = fmt::format("{} {}", row.code, row.name);
    if (out.empty()) {
      out = "  legend: ";
    } else if (out.size() - line_start + 2 + entry.size() > kWidth) {
      out += '\n';
      line_start = out.size();
      out += "          ";
    } else {
      out += "  ";
    }
    out += entry;
  }
  return out + '\n';
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

// What configures a method that this host does not have.
std::string_view configured_by(route::Method method) {
  switch (method) {
    case route::Method::default_proxy:
      return "https_proxy / http_proxy in the environment";
    case route::Method::wpad:
      return "--pac FILE|URL, or a WPAD server this host can discover";
    case route::Method::named:
      return "--named-proxy HOST:PORT";
    case route::Method::cli:
      return "--proxy URL";
    case route::Method::defender:
      return "--registry FILE with the Defender policy's ProxyServer or ProxyPacUrl";
    case route::Method::direct:
    case route::Method::proxy_list:
      break;
  }
  return {};
}

// The analyzer's layout: a block per URL, one line per method, in sheet order; then, for
// proxy-list routes, a matrix of URLs x proxies and a line per proxy. `analyzer`: its exact
// transcript, five lines per URL. Otherwise the routes this host does not have are named once at
// the top instead of on every URL, and lines are wrapped to fit a terminal.
class TextWriter final : public ResultWriter {
 public:
  TextWriter(std::FILE* out, std::span<const probe::RouteColumn> routes, bool analyzer,
             const detail::Kept& kept)
      : out_(out),
        routes_(std::max<std::size_t>(1, routes.size())),
        analyzer_(analyzer),
        missing_(routes_, false),
        kept_(kept) {
    for (std::size_t i = 0; i < routes.size(); ++i) {
      if (routes[i].method != route::Method::proxy_list) {
        ++method_routes_;
        if (!routes[i].configured && !analyzer_) {
          missing_[i] = true;
          header_ += missing_route_text(routes[i]);
        }
        continue;
      }
      column_of_.emplace(i, proxies_.size());
      proxies_.push_back({routes[i].proxy_name, routes[i].proxy, {}, {}});
    }
  }

  void write(const probe::Result& r) override {
    const auto target = probe::SweepIndex(routes_).position(r.sweep_index).target;
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
    start();
    for (auto& [target, block] : pending_)
      print_block(block);  // an interrupted sweep's partial blocks
    pending_.clear();
    std::string text = matrix();
    text += readiness_text(kept_.readiness);
    text = terminal_text(text + summary_text(summary));
    if (!analyzer_) text = detail::wrap_lines(text);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

 private:
  struct Proxy {
    std::string name, redacted;
    std::array<std::uint64_t, probe::kOutcomeCount> counts;
    std::string inspected_by;  // the issuer an intercepting proxy presented
  };

  static std::string missing_route_text(const probe::RouteColumn& route) {
    const auto flag = configured_by(route.method);
    auto text = fmt::format("  {} - {}: {}\n", static_cast<int>(route.method),
                            route::method_title(route.method), flag);
    // "no named proxy configured (--named-proxy)" says no more than the line above.
    const auto option = flag.substr(0, flag.find(' '));
    if (!route.not_configured.empty() &&
        route.not_configured.find(fmt::format("({})", option)) == std::string::npos)
      text += fmt::format("      {}\n", route.not_configured);
    return text;
  }

  // A concrete host put in for a wildcard row: which wildcard, and where the host came from, so
  // that a failure is read as one host of the pattern (issue 21).
  static std::string stands_for(const sheet::TargetRow& row) {
    if (row.wildcard().empty()) return {};
    const auto& from = row.host_from();
    const std::string why = row.representative()     ? "a host the vendor's analyzer tests for it"
                            : from == "workspace-id" ? "--workspace-id"
                            : from == "testcloudconnection"
                                ? "a host TestCloudConnection.exe printed (--testcloudconnection)"
                                : "--wildcard-host";
    return fmt::format("  for {}: {}{}\n", row.wildcard(), why,
                       row.workspace().empty() ? "" : ", workspace " + row.workspace());
  }

  // Before the first block: the routes that do not exist, once.
  void start() {
    if (started_) return;
    started_ = true;
    if (header_.empty()) return;
    const auto text = detail::wrap_lines(
        terminal_text("Not configured on this host, so not probed (what would configure each):\n" +
                      header_ + "\n"));
    std::fwrite(text.data(), 1, text.size(), out_);
  }

  // The line an admin needs to file an exclusion: who issues this URL's certificate on each path.
  std::string issuers_differ(const std::vector<probe::Result>& block) const {
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
    if (!analyzer_) {
      for (const auto& [path, issuer] : seen) line += fmt::format("\n      {}: {}", path, issuer);
      return line + '\n';
    }
    for (const auto& [path, issuer] : seen) line += fmt::format(" {}: {};", path, issuer);
    line.back() = '\n';
    return line;
  }
  struct Row {
    std::string url;
    std::string cells;  // one outcome code per proxy
  };

  void print_block(std::vector<probe::Result>& block) {
    start();
    std::sort(block.begin(), block.end(),
              [](auto& a, auto& b) { return a.sweep_index < b.sweep_index; });
    std::string text;
    if (method_routes_) text = fmt::format("Testing URL : {}\n", block.front().url);
    if (method_routes_ && !analyzer_) text += stands_for(block.front().row);
    Row* row = nullptr;
    for (const auto& r : block) {
      const auto route = probe::SweepIndex(routes_).position(r.sweep_index).route;
      const auto column = column_of_.find(route);
      if (column == column_of_.end()) {
        if (r.outcome != Outcome::not_configured || !missing_[route]) text += line(r);
        continue;
      }
      if (!row) row = &matrix_rows_.emplace_back(Row{r.url, std::string(proxies_.size(), ' ')});
      row->cells[column->second] = probe::outcome_code(r.outcome);
      auto& proxy = proxies_[column->second];
      ++proxy.counts[static_cast<std::size_t>(r.outcome)];
      if (r.outcome == Outcome::tls_intercepted && r.tls) proxy.inspected_by = r.tls->issuer;
    }
    text = terminal_text(text + issuers_differ(block));
    if (!analyzer_) text = detail::wrap_lines(text);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

  std::string matrix() const {
    if (proxies_.empty()) return {};
    std::string text =
        fmt::format("\nProxies: {} URLs x {} proxies (one column per proxy, P1..P{} below)\n",
                    matrix_rows_.size(), proxies_.size(), proxies_.size());
    for (const auto& row : matrix_rows_) text += fmt::format("  {}  {}\n", row.cells, row.url);
    text += detail::text_legend();
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
      const auto label = probe::proxy_label(p.name, p.redacted);
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

  std::string line(const probe::Result& r) const {
    const auto number = static_cast<int>(r.route);
    const auto title = route::method_title(r.route);
    // A WinHTTP bypass list sent it direct: say which entry (not in the analyzer's transcript).
    const auto via = !r.proxy.empty() ? fmt::format(" via {}", r.proxy)
                     : !r.bypassed_by.empty() && !analyzer_
                         ? fmt::format(" (bypassed by {})", r.bypassed_by)
                         : std::string();
    switch (r.outcome) {
      case Outcome::ok:
        return fmt::format("{} - {}: Succeeded ({}){}\n", number, title, r.http_status, via);
      case Outcome::not_configured:
        if (analyzer_) return fmt::format("{} - {}: Doesn't exist\n", number, title);
        return fmt::format("{} - {}: Not configured for this URL: {}\n", number, title, r.detail);
      case Outcome::skipped:
        return fmt::format("{} - {}: Skipped: {}\n", number, title, r.detail);
      default: {
        const int status = r.http_status                    ? r.http_status
                           : probe::blames_proxy(r.outcome) ? r.proxy_status
                                                            : 0;
        auto text = fmt::format("{} - {}: Failed, {}{}: {}{}\n", number, title,
                                probe::outcome_name(r.outcome),
                                status ? fmt::format(" ({})", status) : "", r.detail, via);
        // The analyzer's transcript has no such line; ours tells the firewall team what the
        // name really is (a CNAME target is what a by-name rule must allow).
        if (const auto chain = detail::dns_chain_text(r); !chain.empty() && !analyzer_)
          text += fmt::format("      DNS: {}\n", chain);
        return text;
      }
    }
  }

  std::FILE* out_;
  std::size_t routes_;
  bool analyzer_;
  std::vector<bool> missing_;  // by route index: not configured on this host, named in header_
  std::string header_;
  bool started_ = false;
  std::size_t method_routes_ = 0;
  std::map<std::size_t, std::size_t> column_of_;  // route index -> matrix column
  std::vector<Proxy> proxies_;
  std::vector<Row> matrix_rows_;
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, std::vector<probe::Result>> pending_;
  const detail::Kept& kept_;
};

}  // namespace

Report::Report(std::span<const probe::RouteColumn> routes)
    : routes_(routes.begin(), routes.end()), kept_(std::make_unique<detail::Kept>()) {}

Report::~Report() = default;

void Report::add(Format format, std::FILE* out) {
  switch (format) {
    case Format::jsonl:
      writers_.push_back(std::make_unique<JsonlWriter>(out));
      return;
    case Format::json:
      writers_.push_back(detail::make_json_writer(out, *kept_));
      break;
    case Format::csv:
      writers_.push_back(detail::make_csv_writer(out));
      return;
    case Format::junit:
      writers_.push_back(detail::make_junit_writer(out, routes_));
      return;
    case Format::prometheus:
      writers_.push_back(detail::make_prometheus_writer(out));
      return;
    case Format::html:
      writers_.push_back(detail::make_html_writer(out, routes_, *kept_));
      break;
    case Format::text:
    case Format::analyzer:
      writers_.push_back(
          std::make_unique<TextWriter>(out, routes_, format == Format::analyzer, *kept_));
      break;
  }
  // Here: a format that reads every result and their readiness at finish.
  keep_ = true;
  assess_ = true;
}

void Report::keep_results() {
  keep_ = true;
}

void Report::write(const probe::Result& r) {
  if (keep_) kept_->results.push_back(r);
  for (auto& w : writers_) w->write(r);
}

void Report::finish(const Summary& summary) {
  if (assess_)
    kept_->readiness =
        assess(kept_->results,
               ReadinessOptions{summary.geo, true, summary.enterprise_auth_proxy_disabled});
  for (auto& w : writers_) w->finish(summary);
}

const std::vector<probe::Result>& Report::results() const {
  return kept_->results;
}

std::unique_ptr<ResultWriter> make_writer(Format format, std::FILE* out,
                                          std::span<const probe::RouteColumn> routes) {
  auto report = std::make_unique<Report>(routes);
  report->add(format, out);
  return report;
}

}  // namespace urlprobe::report
