#include "commands.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <tuple>

#include "diagnostics.hpp"
#include "probe/route_column.hpp"
#include "probe/sweep_index.hpp"
#include "report/diff.hpp"
#include "report/read.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "route/proxy.hpp"
#include "sheet/reader.hpp"

namespace urlprobe::cli {

namespace {

constexpr int kExitOk = 0, kExitFailures = 1, kExitUsage = 2;

struct Input {
  std::string path;
  report::ReadResults read;
};

// Reads every file; errors (unreadable file, bad lines) go to stderr. False: a file was unreadable.
bool read_inputs(const std::vector<std::string>& paths, std::vector<Input>& inputs,
                 std::size_t& bad_lines) {
  bad_lines = 0;
  for (const auto& path : paths) {
    // Results are ~0.5 KB a record: 8 GiB is ten million records, and bounds /dev/zero.
    constexpr std::size_t kMaxResultsBytes = std::size_t{8} << 30;
    std::string text;
    try {
      text = sheet::read_file(path, kMaxResultsBytes);
    } catch (const std::exception& e) {
      cli::say(e.what());
      return false;
    }
    auto read = report::read_results(text, path);
    for (const auto& error : read.errors) cli::say(error);
    bad_lines += read.errors.size();
    inputs.push_back({path, std::move(read)});
  }
  return true;
}

// Where a command's output goes: -o FILE or stdout. Closing reports write errors (a full disk).
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    if (path.empty() || path == "-") {
      file_ = stdout;
      return;
    }
    file_ = std::fopen(path.c_str(), "w");
    if (!file_) error_ = std::strerror(errno);
  }
  ~Output() {
    if (file_ && file_ != stdout) std::fclose(file_);
  }
  std::FILE* file() const { return file_; }
  bool to_stdout() const { return file_ == stdout; }
  const std::string& error() const { return error_; }
  // False with a message on stderr when the output could not be written completely.
  bool close() {
    bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
    int saved = errno;
    if (file_ != stdout) {
      ok = std::fclose(file_) == 0 && ok;
      if (!ok && saved == 0) saved = errno;
      file_ = nullptr;
    }
    if (!ok)
      cli::say(fmt::format("{}: cannot write: {}", to_name(), std::strerror(saved ? saved : EIO)));
    return ok;
  }
  bool write(std::string_view text) {
    return std::fwrite(text.data(), 1, text.size(), file_) == text.size();
  }

 private:
  std::string to_name() const { return path_.empty() || path_ == "-" ? "stdout" : path_; }
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string error_;
};

bool open_output(const std::string& path, std::unique_ptr<Output>& out) {
  out = std::make_unique<Output>(path);
  if (!out->file()) {
    cli::say(fmt::format("-o {}: cannot write: {}", path, out->error()));
    return false;
  }
  return true;
}

// The routes a sweep would have had, rebuilt from the records: each method once, in the
// analyzer's order (1 default .. 5 cli), then one route per distinct proxy of a list, first seen
// first. Targets follow their sheet rows (source, line), else first seen: records are stored in
// completion order, which is not the sweep's. sweep_index = target * routes + route. A method
// whose every record is not_configured was not configured on the host: its route says why.
std::vector<route::Route> assign_positions(std::vector<probe::Result>& results) {
  std::map<route::Method, const probe::Result*> methods;  // the method's first configured record
  std::vector<const probe::Result*> list_routes;
  std::map<std::string, std::size_t> list_index;  // proxy -> position among list routes
  std::map<std::string, std::size_t> source_rank;
  struct TargetOrder {
    std::size_t source, line, seen;
  };
  std::map<std::string, TargetOrder> target_order;
  for (const auto& r : results) {
    if (r.route == route::Method::proxy_list) {
      if (list_index.try_emplace(r.proxy, list_routes.size()).second) list_routes.push_back(&r);
    } else {
      auto& first = methods[r.route];
      if (!first || (first->outcome == probe::Outcome::not_configured &&
                     r.outcome != probe::Outcome::not_configured))
        first = &r;
    }
    const auto source = source_rank.try_emplace(r.row.source(), source_rank.size()).first->second;
    target_order.try_emplace(r.url,
                             TargetOrder{source, static_cast<std::size_t>(std::max(0, r.row.line)),
                                         target_order.size()});
  }
  std::vector<route::Route> routes;
  std::map<route::Method, std::size_t> method_index;
  for (const auto& [method, first] : methods) {
    method_index[method] = routes.size();
    if (first->outcome == probe::Outcome::not_configured)
      routes.push_back(route::missing_route(method, first->detail));
    else
      routes.emplace_back().method = method;
  }
  const std::size_t first_list = routes.size();
  for (const auto* r : list_routes) {
    auto parsed = route::parse_proxy_spec(r->proxy);
    route::ProxySpec spec;
    if (auto* ok = std::get_if<route::ProxySpec>(&parsed))
      spec = std::move(*ok);
    else
      spec.host = r->proxy;
    spec.name = r->proxy_name;
    routes.push_back(route::proxy_route(route::Method::proxy_list, std::move(spec)));
  }
  std::vector<std::pair<TargetOrder, std::string>> targets;
  for (const auto& [url, order] : target_order) targets.emplace_back(order, url);
  std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.source, a.first.line, a.first.seen) <
           std::tie(b.first.source, b.first.line, b.first.seen);
  });
  std::map<std::string, std::size_t> target_index;
  for (std::size_t i = 0; i < targets.size(); ++i) target_index[targets[i].second] = i;
  for (auto& r : results) {
    const auto route = r.route == route::Method::proxy_list ? first_list + list_index.at(r.proxy)
                                                            : method_index.at(r.route);
    r.sweep_index = probe::SweepIndex(routes.size()).flat(target_index.at(r.url), route);
  }
  return routes;
}

// report --readiness: the verdict alone; its exit code is the verdict's.
int render_readiness(const Options& options, report::Format format,
                     const std::vector<probe::Result>& results, Output& out,
                     std::size_t bad_lines) {
  const auto readiness = report::assess(results, report::ReadinessOptions{options.sheet.geo});
  std::string text;
  if (format == report::Format::json) {
    report::append_readiness_json(text, readiness);
    text += '\n';
  } else if (readiness.any_results) {
    text = report::readiness_text(readiness).substr(1);  // no blank line before a lone section
  } else {
    text = "Readiness: no results of the five methods (proxy-list results do not count)\n";
  }
  std::fputs(text.c_str(), out.file());
  if (!out.close()) return kExitUsage;
  if (bad_lines) return kExitUsage;
  return readiness.any_results && readiness.ready ? kExitOk : kExitFailures;
}

int run_report(const Options& options) {
  if (options.inputs.empty()) {
    cli::say("report: name at least one RESULTS.jsonl file");
    return kExitUsage;
  }
  report::Format format = report::Format::text;
  if (options.stdout_format_set) {
    format = options.stdout_format;
    if (options.readiness_only && format != report::Format::text &&
        format != report::Format::json) {
      cli::say("report --readiness: --format text or json");
      return kExitUsage;
    }
  } else if (options.readiness_only && !options.command_output.empty() &&
             options.command_output != "-") {
    if (!report::format_for_path(options.command_output, format) ||
        (format != report::Format::text && format != report::Format::json)) {
      cli::say(
          fmt::format("report --readiness: -o {}: write .txt or .json", options.command_output));
      return kExitUsage;
    }
  } else if (!options.command_output.empty() && options.command_output != "-" &&
             !report::format_for_path(options.command_output, format)) {
    cli::say(fmt::format("-o {}: cannot tell the format from the extension (use --format)",
                         options.command_output));
    return kExitUsage;
  }
  std::vector<Input> inputs;
  std::size_t bad_lines = 0;
  if (!read_inputs(options.inputs, inputs, bad_lines)) return kExitUsage;
  std::vector<probe::Result> results;
  for (auto& input : inputs)
    for (auto& r : input.read.results) results.push_back(std::move(r));
  // Fed in file order: jsonl gives the records back as they were; text sorts its blocks itself.
  const auto routes = assign_positions(results);

  std::unique_ptr<Output> out;
  if (!open_output(options.command_output, out)) return kExitUsage;
  if (options.readiness_only) return render_readiness(options, format, results, *out, bad_lines);
  report::Summary summary;
  summary.planned = results.size();
  summary.input_errors = bad_lines;
  summary.geo = options.sheet.geo;
  if (!results.empty()) {
    const auto [first, last] =
        std::minmax_element(results.begin(), results.end(),
                            [](const auto& a, const auto& b) { return a.started < b.started; });
    summary.seconds = std::chrono::duration<double>(last->started - first->started).count();
    // The sweep ended with its last result: the latest start + duration of any record.
    for (const auto& r : results)
      summary.ended =
          std::max(summary.ended,
                   r.started + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   std::chrono::duration<double, std::milli>(r.ms.total)));
  }
  {
    auto writer = report::make_writer(format, out->file(), probe::route_columns(routes));
    for (const auto& r : results) {
      summary.add(r);
      writer->write(r);
    }
    writer->finish(summary);
  }
  // The short answer reaches a person as a sweep's does: on stdout when the records went to a
  // file, on stderr when stdout carries records.
  if (!out->to_stdout())
    std::fputs(report::summary_text(summary).c_str(), stdout);
  else if (format != report::Format::text && format != report::Format::analyzer)
    std::fputs(report::summary_text(summary).c_str(), stderr);
  if (!out->close()) return kExitUsage;
  if (bad_lines) return kExitUsage;
  if (options.require == Require::any_method)
    return report::assess(results, report::ReadinessOptions{options.sheet.geo}).ready
               ? kExitOk
               : kExitFailures;
  return summary.failures() ? kExitFailures : kExitOk;
}

int run_diff(const Options& options) {
  if (options.inputs.size() != 2) {
    cli::say(
        fmt::format("diff: expected OLD.jsonl NEW.jsonl, got {} file(s)", options.inputs.size()));
    return kExitUsage;
  }
  std::vector<Input> inputs;
  std::size_t bad_lines = 0;
  if (!read_inputs(options.inputs, inputs, bad_lines)) return kExitUsage;
  report::DiffOptions diff_options;
  diff_options.slower_factor = options.slower_factor;
  diff_options.slower_min_ms = options.slower_min_ms;
  const auto diff =
      report::diff_results(inputs[0].read.results, inputs[1].read.results, diff_options);
  auto format = options.diff_format;
  report::Format by_extension = report::Format::text;
  if (format.empty() && !options.command_output.empty() && options.command_output != "-" &&
      report::format_for_path(options.command_output, by_extension) &&
      by_extension == report::Format::html)
    format = "html";
  std::unique_ptr<Output> out;
  if (!open_output(options.command_output, out)) return kExitUsage;
  out->write(format == "json" ? report::diff_json(diff)
             : format == "html"
                 ? report::diff_html(diff, diff_options, inputs[0].path, inputs[1].path)
                 : report::diff_text(diff, diff_options));
  if (!out->close()) return kExitUsage;
  if (bad_lines) return kExitUsage;
  return diff.regressed() ? kExitFailures : kExitOk;
}

// A sharded sweep's records carry their --shard K/N: a merge must hold every K of one N. False:
// refused, with the reason on stderr. Records without a shard (an unsharded sweep) are not counted.
bool check_shards(const std::vector<Input>& inputs, bool allow_partial) {
  const probe::Result* first = nullptr;
  std::string first_place;
  std::vector<bool> present;
  for (const auto& input : inputs)
    for (std::size_t i = 0; i < input.read.results.size(); ++i) {
      const auto& shard = input.read.results[i].shard;
      if (shard.n == 0) continue;
      if (!first) {
        first = &input.read.results[i];
        first_place = fmt::format("{}:{}", input.path, input.read.lines[i]);
        present.assign(shard.n, false);
      } else if (shard.n != first->shard.n) {
        cli::say(sheet::InputError{
            input.path,
            input.read.lines[i],
            1,
            fmt::format("shard {}/{}, but {} is shard {}/{}: shards of {} and of {} are not one "
                        "sweep",
                        shard.k, shard.n, first_place, first->shard.k, first->shard.n,
                        first->shard.n, shard.n),
            {},
            false});
        return false;
      }
      present[shard.k - 1] = true;
    }
  std::vector<std::string> missing;
  for (std::size_t k = 0; k < present.size(); ++k)
    if (!present[k]) missing.push_back(fmt::format("{}/{}", k + 1, present.size()));
  if (missing.empty()) return true;
  constexpr std::size_t kListed = 10;
  std::string names = fmt::format(
      "{}", fmt::join(missing.begin(), missing.begin() + std::min(missing.size(), kListed), ", "));
  if (missing.size() > kListed) names += fmt::format(" and {} more", missing.size() - kListed);
  const bool one = missing.size() == 1;
  const auto* it = one ? "it" : "them";
  cli::say(fmt::format("merge: shard{} {} {} missing ({})", one ? "" : "s", names,
                       one ? "is" : "are",
                       allow_partial ? fmt::format("merged without {}: --allow-partial", it)
                                     : fmt::format("no input record is from {}; --allow-partial "
                                                   "merges without {}",
                                                   it, it)));
  return allow_partial;
}

int run_merge(const Options& options) {
  if (options.inputs.empty()) {
    cli::say("merge: name the result files to combine");
    return kExitUsage;
  }
  std::vector<Input> inputs;
  std::size_t bad_lines = 0;
  if (!read_inputs(options.inputs, inputs, bad_lines)) return kExitUsage;
  if (!check_shards(inputs, options.allow_partial)) return kExitUsage;

  struct Kept {
    const probe::Result* result;
    const std::string* path;
    int line;
  };
  std::vector<Kept> kept;
  std::map<report::ResultKey, std::size_t> by_key;
  std::size_t duplicates = 0;
  for (const auto& input : inputs) {
    for (std::size_t i = 0; i < input.read.results.size(); ++i) {
      const auto& r = input.read.results[i];
      const Kept item{&r, &input.path, input.read.lines[i]};
      auto [it, inserted] = by_key.try_emplace(report::key_of(r), kept.size());
      if (inserted) {
        kept.push_back(item);
        continue;
      }
      auto& earlier = kept[it->second];
      if (options.prefer_newest) {
        if (r.started >= earlier.result->started) earlier = item;
        continue;
      }
      ++duplicates;
      cli::say(sheet::InputError{
          *item.path,
          item.line,
          1,
          fmt::format("{} is already in {}:{} (use --prefer newest to keep "
                      "the later one)",
                      report::describe_key(it->first), *earlier.path, earlier.line),
          {},
          false});
    }
  }
  if (duplicates) {
    cli::say(fmt::format("merge: {} duplicate result(s); nothing written", duplicates));
    return kExitUsage;
  }
  std::unique_ptr<Output> out;
  if (!open_output(options.command_output, out)) return kExitUsage;
  std::string line;
  for (const auto& item : kept) {
    line.clear();
    report::append_jsonl(line, *item.result);
    line += '\n';
    out->write(line);
  }
  if (!out->close()) return kExitUsage;
  return bad_lines ? kExitUsage : kExitOk;
}

}  // namespace

int run_results_command(const Options& options) {
  if (options.command == "report") return run_report(options);
  if (options.command == "diff") return run_diff(options);
  return run_merge(options);
}

}  // namespace urlprobe::cli
