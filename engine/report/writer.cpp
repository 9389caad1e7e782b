#include <fmt/format.h>

#include <map>

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
  if (name == "text") out = Format::text;
  else if (name == "jsonl") out = Format::jsonl;
  else return false;
  return true;
}

bool format_for_path(std::string_view path, Format& out) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos) return false;
  const auto ext = path.substr(dot + 1);
  if (ext == "jsonl" || ext == "ndjson") out = Format::jsonl;
  else if (ext == "txt" || ext == "log") out = Format::text;
  else return false;
  return true;
}

std::string summary_text(const Summary& s) {
  std::string out = fmt::format("\nSummary: {} probes, {} ok, {} failed in {:.2f} s{}\n", s.finished,
                                s.by_outcome[static_cast<std::size_t>(Outcome::ok)], s.failures(), s.seconds,
                                s.interrupted ? fmt::format(" (interrupted: {} of {} not started)",
                                                            s.planned - s.finished, s.planned)
                                              : "");
  for (std::size_t i = 0; i < s.by_outcome.size(); ++i)
    if (s.by_outcome[i]) out += fmt::format("  {:<20} {}\n", probe::outcome_name(static_cast<Outcome>(i)), s.by_outcome[i]);
  if (s.input_errors)
    out += fmt::format("Input: {} line{} skipped (errors above)\n", s.input_errors, s.input_errors == 1 ? "" : "s");
  return out;
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

// The analyzer's layout: a block per URL, one line per method, in sheet order.
class TextWriter final : public ResultWriter {
 public:
  TextWriter(std::FILE* out, std::size_t routes) : out_(out), routes_(routes ? routes : 1) {}

  void write(const probe::Result& r) override {
    const auto target = r.sweep_index / routes_;
    auto& block = pending_[target];
    block.push_back(r);
    // Print every complete block in order; later ones wait for the earlier ones.
    while (!pending_.empty() && pending_.begin()->second.size() == routes_ && pending_.begin()->first <= next_) {
      print_block(pending_.begin()->second);
      next_ = pending_.begin()->first + 1;
      pending_.erase(pending_.begin());
    }
  }

  void finish(const Summary& summary) override {
    for (auto& [target, block] : pending_) print_block(block);  // an interrupted sweep's partial blocks
    pending_.clear();
    const auto text = summary_text(summary);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

 private:
  void print_block(std::vector<probe::Result>& block) {
    std::sort(block.begin(), block.end(), [](auto& a, auto& b) { return a.sweep_index < b.sweep_index; });
    std::string text = fmt::format("Testing URL : {}\n", block.front().url);
    for (const auto& r : block) text += line(r);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
  }

  static std::string line(const probe::Result& r) {
    const auto number = static_cast<int>(r.route);
    const auto title = route::method_title(r.route);
    switch (r.outcome) {
      case Outcome::ok:
        return fmt::format("{} - {}: Succeeded ({})\n", number, title, r.http_status);
      case Outcome::not_configured:
        return fmt::format("{} - {}: Doesn't exist\n", number, title);
      case Outcome::skipped:
        return fmt::format("{} - {}: Skipped: {}\n", number, title, r.detail);
      default:
        return fmt::format("{} - {}: Failed, {}{}: {}\n", number, title, probe::outcome_name(r.outcome),
                           r.http_status ? fmt::format(" ({})", r.http_status) : "", r.detail);
    }
  }

  std::FILE* out_;
  std::size_t routes_;
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, std::vector<probe::Result>> pending_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_writer(Format format, std::FILE* out, std::size_t routes_per_target) {
  if (format == Format::jsonl) return std::make_unique<JsonlWriter>(out);
  return std::make_unique<TextWriter>(out, routes_per_target);
}

}  // namespace urlprobe::report
