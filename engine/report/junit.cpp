// --format junit: a testsuite per route (per proxy for proxy-list routes), a testcase per target,
// for Jenkins and GitLab. Buffered: a testsuite's counts are attributes, known at finish.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "probe/sweep_index.hpp"
#include "report/detail/formats.hpp"

namespace urlprobe::report::detail {

// XML 1.0 text or attribute value. Characters XML cannot carry at all (C0 controls other than
// tab/LF/CR, U+FFFE/U+FFFF, invalid UTF-8) become U+FFFD; in attributes, tab/LF/CR are kept as
// character references so that parsers do not normalise them to spaces.
void append_markup_escaped(std::string& out, std::string_view s, bool attribute) {
  for_each_code_point(s, [&](char32_t cp, std::string_view bytes) {
    switch (cp) {
      case '&':
        out += "&amp;";
        return;
      case '<':
        out += "&lt;";
        return;
      case '>':
        out += "&gt;";
        return;
      case '"':
        out += attribute ? "&quot;" : "\"";
        return;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        return;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        return;
      case '\r':
        out += "&#13;";
        return;
      default:
        break;
    }
    if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF)
      out += "\xEF\xBF\xBD";
    else
      out += bytes;
  });
}

namespace {

std::string attr(std::string_view s) {
  std::string out;
  append_markup_escaped(out, s, true);
  return out;
}

struct Suite {
  std::string name;
  std::uint64_t order = 0;  // route index in the sweep, so suites come in sweep order
  std::uint64_t tests = 0, failures = 0, skipped = 0;
  double seconds = 0;
  std::string cases;
};

class JunitWriter final : public ResultWriter {
 public:
  JunitWriter(std::FILE* out, std::span<const probe::RouteColumn> routes)
      : out_(out), routes_(routes.size()), started_(std::chrono::system_clock::now()) {}

  void write(const probe::Result& r) override {
    const auto name = probe::route_label(r);
    auto [it, added] = suites_.try_emplace(name);
    auto& suite = it->second;
    if (added) {
      suite.name = name;
      suite.order =
          routes_ ? probe::SweepIndex(routes_).position(r.sweep_index).route : suites_.size();
    }
    const double seconds = r.ms.total / 1000.0;
    ++suite.tests;
    suite.seconds += seconds;
    auto& x = suite.cases;
    fmt::format_to(std::back_inserter(x),
                   "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3f}\"", attr(r.url),
                   attr(name), seconds);
    const auto outcome = probe::outcome_name(r.outcome);
    if (probe::is_failure(r.outcome)) {
      ++suite.failures;
      const auto message =
          r.detail.empty() ? std::string(outcome) : fmt::format("{}: {}", outcome, r.detail);
      fmt::format_to(std::back_inserter(x), ">\n      <failure message=\"{}\" type=\"{}\"/>\n",
                     attr(message), attr(outcome));
    } else if (r.outcome == probe::Outcome::skipped ||
               r.outcome == probe::Outcome::not_configured) {
      ++suite.skipped;
      const auto message =
          r.detail.empty() ? std::string(outcome) : fmt::format("{}: {}", outcome, r.detail);
      fmt::format_to(std::back_inserter(x), ">\n      <skipped message=\"{}\"/>\n", attr(message));
    } else {
      x += ">\n";
    }
    // The facts a reader of a CI report wants next to the verdict.
    std::string facts;
    if (!r.proxy.empty()) facts += fmt::format("proxy: {}\n", r.proxy);
    if (!r.address.empty()) facts += fmt::format("address: {}\n", r.address);
    if (r.http_status) facts += fmt::format("http_status: {}\n", r.http_status);
    if (r.proxy_status) facts += fmt::format("proxy_status: {}\n", r.proxy_status);
    if (r.tls && !r.tls->issuer.empty()) facts += fmt::format("tls_issuer: {}\n", r.tls->issuer);
    if (r.tls && !r.tls->not_after.empty())
      facts += fmt::format("tls_not_after: {}\n", r.tls->not_after);
    for (const auto& w : r.warnings) facts += fmt::format("warning: {}\n", w);
    if (!facts.empty()) {
      x += "      <system-out>";
      append_markup_escaped(x, facts, false);
      x += "</system-out>\n";
    }
    x += "    </testcase>\n";
  }

  void finish(const Summary& s) override {
    std::vector<const Suite*> ordered;
    std::uint64_t tests = 0, failures = 0, skipped = 0;
    for (const auto& [name, suite] : suites_) {
      ordered.push_back(&suite);
      tests += suite.tests;
      failures += suite.failures;
      skipped += suite.skipped;
    }
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](auto* a, auto* b) { return a->order < b->order; });
    std::string doc = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"urlprobe\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
        "time=\"{:.3f}\">\n",
        tests, failures, skipped, s.seconds);
    const auto timestamp =
        rfc3339(started_).substr(0, 19);  // xs:dateTime without the zone, as Ant writes it
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      const auto& suite = *ordered[i];
      fmt::format_to(std::back_inserter(doc),
                     "  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
                     "skipped=\"{}\" "
                     "time=\"{:.3f}\" timestamp=\"{}\">\n",
                     attr(suite.name), i, suite.tests, suite.failures, suite.skipped, suite.seconds,
                     timestamp);
      doc += suite.cases;
      doc += "  </testsuite>\n";
    }
    doc += "</testsuites>\n";
    std::fwrite(doc.data(), 1, doc.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  std::size_t routes_;
  std::chrono::system_clock::time_point started_;
  std::map<std::string, Suite> suites_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_junit_writer(std::FILE* out,
                                                std::span<const probe::RouteColumn> routes) {
  return std::make_unique<JunitWriter>(out, routes);
}

}  // namespace urlprobe::report::detail
