// --format json: one document with the run, every record (as jsonl writes it) and a summary.
// Buffered: the document is written at finish, when the run's end is known.
#include <fmt/format.h>

#include <charconv>
#include <map>

#include "report/detail/formats.hpp"
#include "report/readiness.hpp"
#include "sheet/sheet.hpp"

#include <unistd.h>

#ifndef URLPROBE_VERSION
#define URLPROBE_VERSION "0.1.0"
#endif

namespace urlprobe::report::detail {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  // Most text needs no escaping (the JSONL hot path): copy plain ASCII runs whole.
  std::size_t plain = 0;
  while (plain < s.size()) {
    const auto c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
    ++plain;
  }
  out.append(s.data(), plain);
  s.remove_prefix(plain);
  for_each_code_point(s, [&](char32_t cp, std::string_view bytes) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(cp));
        else
          out += bytes;
    }
  });
  out += '"';
}

namespace {

using Counts = std::map<std::string, std::array<std::uint64_t, probe::kOutcomeCount>>;

void append_counts(std::string& out, const std::array<std::uint64_t, probe::kOutcomeCount>& counts,
                   bool zeros) {
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (!counts[i] && !zeros) continue;
    if (!first) out += ',';
    first = false;
    append_json_string(out, probe::outcome_name(static_cast<probe::Outcome>(i)));
    fmt::format_to(std::back_inserter(out), ":{}", counts[i]);
  }
  out += '}';
}

void append_grouped(std::string& out, const Counts& groups) {
  out += '{';
  bool first = true;
  for (const auto& [name, counts] : groups) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_counts(out, counts, false);
  }
  out += '}';
}

// Every record is read from the Report's one copy at finish.
class JsonWriter final : public ResultWriter {
 public:
  JsonWriter(std::FILE* out, const Kept& kept)
      : out_(out), started_(std::chrono::system_clock::now()), kept_(kept) {}

  void write(const probe::Result&) override {}

  void finish(const Summary& s) override {
    std::string results;
    Counts by_route, by_proxy;
    for (const auto& r : kept_.results) {
      results += results.empty() ? "\n" : ",\n";
      append_jsonl(results, r);
      const auto o = static_cast<std::size_t>(r.outcome);
      // "direct" and friends; list entries all share route "proxy", as in the record.
      ++by_route[std::string(route::method_name(r.route))][o];
      if (!r.proxy.empty()) ++by_proxy[r.proxy][o];
    }

    std::string doc = "{\"v\":1,\"run\":{\"version\":";
    append_json_string(doc, URLPROBE_VERSION);
    doc += ",\"started\":";
    append_json_string(doc, rfc3339(started_));
    doc += ",\"finished\":";
    append_json_string(doc, rfc3339(std::chrono::system_clock::now()));
    fmt::format_to(std::back_inserter(doc), ",\"seconds\":{:.3f},\"interrupted\":{},\"planned\":{}",
                   s.seconds, s.interrupted ? "true" : "false", s.planned);
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) {
      doc += ",\"host\":";
      append_json_string(doc, host);
    }
    doc += ",\"arguments\":[";
    for (std::size_t i = 0; i < s.arguments.size(); ++i) {
      if (i) doc += ',';
      append_json_string(doc, s.arguments[i]);
    }
    doc += "],\"builtin_sheets\":{";
    bool first_sheet = true;
    for (const auto& info : sheet::builtin_catalog()) {
      if (!first_sheet) doc += ',';
      first_sheet = false;
      append_json_string(doc, info.name);
      doc += ':';
      append_json_string(doc, info.date);
    }
    doc += '}';
    if (!s.notes.empty()) {
      doc += ",\"notes\":[";
      for (std::size_t i = 0; i < s.notes.size(); ++i) {
        if (i) doc += ',';
        append_json_string(doc, s.notes[i]);
      }
      doc += ']';
    }
    if (!s.imported.empty()) {
      doc += ",\"imported\":[";
      for (std::size_t i = 0; i < s.imported.size(); ++i) {
        const auto& m = s.imported[i];
        doc += i ? ",{\"file\":" : "{\"file\":";
        append_json_string(doc, m.file);
        fmt::format_to(std::back_inserter(doc), ",\"line\":{},\"setting\":", m.line);
        append_json_string(doc, m.setting);
        doc += ",\"value\":";
        append_json_string(doc, m.value);
        doc += ",\"use\":";
        append_json_string(doc, m.use);
        doc += '}';
      }
      doc += ']';
    }
    doc += "},\"results\":[";
    doc += results;
    doc += results.empty() ? "],\n" : "\n],\n";
    doc += "\"readiness\":";
    append_readiness_json(doc, kept_.readiness);
    doc += ",\n\"summary\":{\"by_outcome\":";
    append_counts(doc, s.by_outcome, true);
    doc += ",\"by_route\":";
    append_grouped(doc, by_route);
    doc += ",\"by_proxy\":";
    append_grouped(doc, by_proxy);
    fmt::format_to(std::back_inserter(doc),
                   ",\"probes\":{},\"failures\":{},\"input_errors\":{}}}}}\n",
                   s.finished ? s.finished : kept_.results.size(), s.failures(), s.input_errors);
    std::fwrite(doc.data(), 1, doc.size(), out_);
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  std::chrono::system_clock::time_point started_;
  const Kept& kept_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_json_writer(std::FILE* out, const Kept& kept) {
  return std::make_unique<JsonWriter>(out, kept);
}

}  // namespace urlprobe::report::detail
