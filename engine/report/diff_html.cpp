// `urlprobe diff --format html`: the sections of diff_text as one self-contained page. No script
// and nothing fetched; every value (URLs, proxies, details, file names) is escaped, so a URL
// holding markup shows as text.
#include <fmt/format.h>

#include <array>

#include "report/detail/formats.hpp"
#include "report/detail/html_style.hpp"
#include "report/diff.hpp"

namespace urlprobe::report {

namespace {

constexpr std::string_view kStyle = R"(*{box-sizing:border-box}
body{margin:0;padding:10px 16px;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#212529;background:#f8f9fa}
h1{font-size:18px;margin:0 0 4px}
h2{font-size:15px;margin:16px 0 4px}
.meta,.note,.none{color:#666;font-size:12px;margin:2px 0}
.verdict{font-size:15px;margin:6px 0;padding:4px 10px;border-left:4px solid #2f9e44;background:#ebfbee}
.verdict.bad{border-color:#e03131;background:#fff5f5}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #dee2e6;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}
td.url,td.detail{word-break:break-all;max-width:520px}
td.n{text-align:right;white-space:nowrap}
.sw{display:inline-block;width:11px;height:11px;margin-right:4px;border:1px solid rgba(0,0,0,.25);border-radius:2px;vertical-align:-1px}
)";

class Page {
 public:
  void text(std::string_view s) { detail::append_markup_escaped(out_, s, true); }
  void raw(std::string_view s) { out_ += s; }
  void cell(std::string_view value, std::string_view css = {}) {
    out_ += css.empty() ? "<td>" : fmt::format("<td class=\"{}\">", css);
    text(value);
    out_ += "</td>";
  }
  void outcome_cell(const std::optional<probe::Outcome>& o) {
    if (!o) return cell("-");
    const auto name = probe::outcome_name(*o);
    out_ += fmt::format("<td><span class=\"sw o-{}\"></span>", name);
    text(name);
    out_ += "</td>";
  }
  void header_row(std::initializer_list<std::string_view> names) {
    out_ += "<table><thead><tr>";
    for (const auto name : names) out_ += fmt::format("<th>{}</th>", name);
    out_ += "</tr></thead><tbody>\n";
  }
  // Opens a section; one without rows says so and is closed. True when rows follow.
  bool section(std::string_view id, std::string_view heading, bool has_rows,
               std::string_view note = {}) {
    out_ += fmt::format("<section id=\"{}\"><h2>", id);
    text(heading);
    out_ += "</h2>\n";
    if (!note.empty()) {
      out_ += "<p class=\"note\">";
      text(note);
      out_ += "</p>\n";
    }
    if (!has_rows) out_ += "<p class=\"none\">none</p></section>\n";
    return has_rows;
  }
  void end_table() { out_ += "</tbody></table></section>\n"; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void entries(Page& page, std::string_view id, const std::vector<DiffEntry>& list) {
  if (!page.section(id, fmt::format("{} ({})", id, list.size()), !list.empty())) return;
  page.header_row({"URL", "route", "before", "now", "detail now", "detail before"});
  for (const auto& e : list) {
    page.raw("<tr>");
    page.cell(e.key.url, "url");
    page.cell(probe::label_via(e.key.route, e.key.proxy));
    page.outcome_cell(e.old_outcome);
    page.outcome_cell(e.new_outcome);
    page.cell(e.new_detail, "detail");
    page.cell(e.old_detail, "detail");
    page.raw("</tr>\n");
  }
  page.end_table();
}

}  // namespace

std::string diff_html(const Diff& diff, const DiffOptions& options, std::string_view old_name,
                      std::string_view new_name) {
  Page page;
  page.raw(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>urlprobe diff</title>\n<style>\n");
  page.raw(kStyle);
  for (std::size_t i = 0; i < probe::kOutcomeCount; ++i) {
    const auto o = static_cast<probe::Outcome>(i);
    const auto colour = detail::outcome_colour(o);
    page.raw(fmt::format(".o-{}{{background:{};color:{}}}\n", probe::outcome_name(o),
                         colour.background, colour.foreground));
  }
  page.raw("</style>\n</head>\n<body>\n<header>\n<h1>urlprobe diff</h1>\n");
  if (!old_name.empty() || !new_name.empty()) {
    page.raw("<p class=\"meta\">");
    page.text(old_name);
    page.raw(" &rarr; ");
    page.text(new_name);
    page.raw("</p>\n");
  }
  page.raw(diff.regressed() ? "<p class=\"verdict bad\">" : "<p class=\"verdict\">");
  page.text(fmt::format("{}: {} broke, {} slower, {} changed, {} recovered, {} new, {} removed",
                        diff.regressed() ? "regressed" : "no regression", diff.broke.size(),
                        diff.slower.size(), diff.changed.size(), diff.recovered.size(),
                        diff.added.size(), diff.removed.size()));
  page.raw("</p>\n</header>\n");

  entries(page, "broke", diff.broke);
  if (page.section("slower", fmt::format("slower ({})", diff.slower.size()), !diff.slower.empty(),
                   fmt::format("ms.total of a probe ok in both runs > {}x and > {} ms more",
                               options.slower_factor, options.slower_min_ms))) {
    page.header_row({"URL", "route", "before", "now", "factor"});
    for (const auto& s : diff.slower) {
      page.raw("<tr>");
      page.cell(s.key.url, "url");
      page.cell(probe::label_via(s.key.route, s.key.proxy));
      page.cell(diff_ms(s.old_ms) + " ms", "n");
      page.cell(diff_ms(s.new_ms) + " ms", "n");
      page.cell(diff_factor(s.old_ms, s.new_ms), "n");
      page.raw("</tr>\n");
    }
    page.end_table();
  }
  entries(page, "changed", diff.changed);
  entries(page, "recovered", diff.recovered);
  entries(page, "new", diff.added);
  entries(page, "removed", diff.removed);
  if (page.section("routes", "per route", !diff.routes.empty(),
                   "median ms.total of the probes ok in both runs; information, not a verdict")) {
    page.header_row({"route", "before", "now", "factor", "probes"});
    for (const auto& r : diff.routes) {
      page.raw("<tr>");
      page.cell(probe::label_via(r.route, r.proxy));
      page.cell(diff_ms(r.old_median_ms) + " ms", "n");
      page.cell(diff_ms(r.new_median_ms) + " ms", "n");
      page.cell(diff_factor(r.old_median_ms, r.new_median_ms), "n");
      page.cell(std::to_string(r.count), "n");
      page.raw("</tr>\n");
    }
    page.end_table();
  }
  page.raw("</body>\n</html>\n");
  return page.take();
}

}  // namespace urlprobe::report
