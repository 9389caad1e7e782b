// urlprobe: wiring of the stages, signals and progress. Everything that probes lives in engine/.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "commands.hpp"
#include "diagnostics.hpp"
#include "open_files.hpp"
#include "options.hpp"
#include "output_file.hpp"
#include "probe/route_column.hpp"
#include "probe/sweep.hpp"
#include "progress.hpp"
#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "routes.hpp"
#include "serve.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/url.hpp"
#include "targets.hpp"

namespace {

using namespace urlprobe;

constexpr int kExitOk = 0, kExitFailures = 1, kExitUsage = 2, kExitInterrupted = 130;

using report::csv_field;
using report::json_string;

// The list's "expect" member, as the v1 record writes it; empty when the row expects nothing.
std::string expect_json(const sheet::Expectation& e) {
  if (e.empty()) return {};
  std::vector<std::string> fields;
  if (!e.status.empty()) fields.push_back("\"status\":" + json_string(e.status.text()));
  if (!e.method.empty()) fields.push_back("\"method\":" + json_string(e.method));
  if (!e.trust.empty()) {
    std::vector<std::string> names;
    for (const auto& name : e.trust) names.push_back(json_string(name));
    fields.push_back(fmt::format("\"trust\":[{}]", fmt::join(names, ",")));
  }
  return fmt::format(",\"expect\":{{{}}}", fmt::join(fields, ","));
}

// The pins the listed targets trust, each root with its expiry: the pins are data with a date.
void list_pins(const sheet::TargetList& list, const std::vector<net::Pin>& pins) {
  std::vector<std::string> used;
  for (const auto& t : list.targets)
    for (const auto& name : t.row.expect().trust)
      if (std::find(used.begin(), used.end(), name) == used.end()) used.push_back(name);
  for (const auto& name : used) {
    const auto* pin = net::find_pin(pins, name);
    if (!pin) continue;
    fmt::print("# pin {} ({}):\n", pin->name, pin->origin);
    for (const auto& root : pin->roots)
      fmt::print("#   {}  expires {}{}  sha256 {}\n", root.subject, root.not_after,
                 root.expired ? " (EXPIRED)" : "", root.sha256);
  }
}

// A concrete host put in for a wildcard row: the row fields a result record has too.
std::string wildcard_json(const sheet::TargetRow& r) {
  std::string out;
  if (!r.wildcard().empty()) out += ",\"wildcard\":" + json_string(r.wildcard());
  if (!r.host_from().empty()) out += ",\"host_from\":" + json_string(r.host_from());
  if (!r.workspace().empty()) out += ",\"workspace\":" + json_string(r.workspace());
  if (r.representative()) out += ",\"representative\":true";
  return out;
}

// `urlprobe list`: the targets after filters, as probe would see them.
int list_targets(const cli::Options& options, const sheet::TargetList& list,
                 const std::vector<net::Pin>& pins) {
  const auto& format = options.list_format;
  if (format == "csv")
    std::puts(
        "url,host,port,skip,geography,os,category,service,required,source,sheet,line,"
        "expected_status,method,trust,wildcard,host_from,workspace");
  if (format == "json") std::fputs("[", stdout);
  bool first = true;
  for (const auto& t : list.targets) {
    const auto& r = t.row;
    if (format.empty()) {
      if (t.skip.empty()) std::puts(t.url.c_str());
    } else if (format == "text") {
      if (t.skip.empty())
        fmt::print("{}\n", t.url);
      else
        fmt::print("{}  # skipped: {}\n", t.url, t.skip.str());
    } else if (format == "csv") {
      fmt::print("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(t.url),
                 csv_field(t.host), t.port, csv_field(t.skip), csv_field(r.geography()),
                 csv_field(r.os()), csv_field(r.category()), csv_field(r.service()),
                 csv_field(r.required()), csv_field(r.source()), csv_field(r.sheet()), r.line,
                 csv_field(r.expect().status.text()), csv_field(r.expect().method),
                 csv_field(fmt::format("{}", fmt::join(r.expect().trust, " "))),
                 csv_field(r.wildcard()), csv_field(r.host_from()), csv_field(r.workspace()));
    } else {
      fmt::print(
          "{}\n  "
          "{{\"url\":{},\"host\":{},\"port\":{}{},\"row\":{{\"source\":{},\"line\":{},"
          "\"geography\":{},"
          "\"os\":{},\"category\":{},\"service\":{},\"required\":{}{}}}{}}}",
          first ? "" : ",", json_string(t.url), json_string(t.host), t.port,
          t.skip.empty() ? "" : ",\"skip\":" + json_string(t.skip), json_string(r.source()), r.line,
          json_string(r.geography()), json_string(r.os()), json_string(r.category()),
          json_string(r.service()), json_string(r.required()), wildcard_json(r),
          expect_json(r.expect()));
    }
    first = false;
  }
  if (format == "json") std::puts("\n]");
  if (format == "text") list_pins(list, pins);
  if (!cli::written(stdout, "stdout")) return kExitUsage;
  return list.errors.empty() ? kExitOk : kExitUsage;
}

// Fans each result out to every writer.
class Fanout final : public probe::ResultSink {
 public:
  explicit Fanout(std::span<const probe::RouteColumn> routes) : report(routes) {}
  report::Report report;  // every format of the sweep
  report::Summary summary;
  std::atomic<std::uint64_t> failures{0};  // read by the progress line while the sweep runs
  void on_result(const probe::Result& r) override {
    summary.add(r);
    if (probe::is_failure(r.outcome)) failures.fetch_add(1, std::memory_order_relaxed);
    report.write(r);
  }
};

// SIGINT/SIGTERM are taken by one thread with sigtimedwait, which also redraws the progress line:
// no async-signal-unsafe work ever runs in a handler. kWakeSignal, sent to that thread alone,
// ends its wait when the sweep is over: without it every run ended with up to one whole tick
// (200 ms) of idle time, 6 % of a 2 000-probe run's wall time on average.
constexpr int kWakeSignal = SIGUSR1;

class SignalWatch {
 public:
  // `unfinished`: the -o files' temporary files, removed when a second ^C ends urlprobe at once.
  SignalWatch(probe::Sweep& sweep, bool progress, const std::atomic<std::uint64_t>& failures,
              cli::EtaTracker eta, std::vector<std::string> unfinished)
      : sweep_(sweep),
        progress_(progress),
        failures_(failures),
        eta_(std::move(eta)),
        unfinished_(std::move(unfinished)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, kWakeSignal);
    thread_ = std::thread([this] { loop(); });
  }
  ~SignalWatch() {
    stop_.store(true);
    // Blocked everywhere, so it stays pending until that thread's sigtimedwait takes it.
    pthread_kill(thread_.native_handle(), kWakeSignal);
    thread_.join();
    if (progress_) std::fputs("\r\033[K", stderr);
  }
  bool interrupted() const { return interrupted_.load(); }

 private:
  void loop() {
    const timespec tick{0, 200'000'000};
    while (!stop_.load()) {
      const int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        if (interrupted_.exchange(true)) {  // a second ^C: leave now, the previous files in place
          for (const auto& name : unfinished_) unlink(name.c_str());
          std::_Exit(kExitInterrupted);
        }
        std::fputs("\nurlprobe: interrupted; finishing in-flight probes (again to quit at once)\n",
                   stderr);
        sweep_.interrupt();
      }
      if (progress_ && !stop_.load()) draw_progress();
    }
  }

  // done/total, rate so far, failures so far and the ETA (cli/progress.hpp).
  void draw_progress() {
    const auto done = sweep_.finished();
    const auto total = sweep_.planned();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const auto line = fmt::format("\r\033[K{}/{} probes  {:.0f}/s  {} failed  ETA {}", done, total,
                                  rate, failures_.load(std::memory_order_relaxed),
                                  cli::eta_text(eta_.eta(seconds, done)));
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  probe::Sweep& sweep_;
  bool progress_;
  const std::atomic<std::uint64_t>& failures_;
  cli::EtaTracker eta_;
  std::vector<std::string> unfinished_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  sigset_t set_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

int run(cli::Options& options) {
  if (options.command == "pac") {
    try {
      return cli::print_pac_answers(options);
    } catch (const cli::UsageError& e) {
      cli::say(e.what());
      return kExitUsage;
    }
  }
  if (options.command == "report" || options.command == "diff" || options.command == "merge")
    return cli::run_results_command(options);
  if (options.command == "serve") return cli::run_serve(options);
  sheet::TargetList input;
  std::vector<std::string> notes;
  try {
    options.sweep.tls.pins = cli::load_pins(options);
    options.sweep.resolver.service_tags = cli::load_service_tags(options);
    input = cli::load_targets(options, options.sweep.tls.pins, notes);
  } catch (const std::exception& e) {
    cli::say(e.what());
    return kExitUsage;
  }
  for (const auto& warning : cli::expired_pin_warnings(input, options.sweep.tls.pins))
    cli::say(warning);
  if (options.command == "list") {
    for (const auto& note : notes) cli::say(note);
    for (const auto& error : input.errors) cli::say(error);
    return list_targets(options, input, options.sweep.tls.pins);
  }
  std::vector<route::Route> routes;
  cli::ImportedConfig imported;
  try {
    routes = cli::build_routes(options, cli::proxy_environment(), input.targets, input.errors,
                               notes, &imported);
  } catch (const cli::UsageError& e) {
    cli::say(e.what());
    return kExitUsage;
  }
  if (options.verbose)
    for (const auto& s : imported.settings)
      cli::say(fmt::format("{}:{}: {} = {}: {}", s.file, s.line, s.setting, s.value, s.use));

  for (const auto& error : input.errors) cli::say(error);

  Fanout fanout(probe::route_columns(routes));
  // --require any-method: the exit code needs readiness.
  if (options.require == cli::Require::any_method) fanout.report.keep_results();
  std::vector<std::unique_ptr<cli::ReplacedFile>> files;
  std::vector<std::string> unfinished;
  const bool stdout_tty = isatty(STDOUT_FILENO);
  if (options.stdout_format_set || options.outputs.empty()) {
    const auto format = options.stdout_format_set
                            ? options.stdout_format
                            : (stdout_tty ? report::Format::text : report::Format::jsonl);
    fanout.report.add(format, stdout);
  }
  // Until here ^C ends urlprobe at once (interrupted_before_sweep), so that loading a sheet,
  // WPAD discovery and the other commands stop there. From here on it waits for SignalWatch,
  // which interrupts the sweep: ended at once, urlprobe would leave the -o files' temporary files
  // behind. The mask is inherited by every thread the sweep starts, so only SignalWatch sees them.
  {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, kWakeSignal);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  for (const auto& output : options.outputs) {
    auto file = std::make_unique<cli::ReplacedFile>(output.path);
    if (!file->file()) {
      cli::say(fmt::format("-o {}: cannot write: {}", output.path, file->error()));
      return kExitUsage;
    }
    if (!file->temporary_path().empty()) unfinished.push_back(file->temporary_path());
    fanout.report.add(output.format, file->file());
    files.push_back(std::move(file));
  }

  auto sweep_config = options.sweep;
  cli::fit_open_file_limit(sweep_config, input.targets, options.verbose);
  std::unique_ptr<probe::Sweep> sweep;
  try {
    sweep = std::make_unique<probe::Sweep>(sweep_config, input.targets, routes, fanout);
  } catch (const std::exception& e) {
    cli::say(e.what());
    return kExitUsage;
  }

  // As --help says: whenever stderr is a terminal, whatever stdout is.
  const bool progress = options.progress == cli::Progress::always ||
                        (options.progress == cli::Progress::automatic && isatty(STDERR_FILENO));
  probe::SweepStats stats;
  bool interrupted = false;
  {
    const auto timeout = std::chrono::duration<double>(sweep_config.probe.timeouts.total).count();
    SignalWatch signals(*sweep, progress, fanout.failures,
                        cli::EtaTracker(sweep->planned(), sweep_config.concurrency, timeout),
                        unfinished);
    stats = sweep->run();
    interrupted = signals.interrupted();
  }

  fanout.summary.planned = stats.planned;
  fanout.summary.seconds = std::chrono::duration<double>(stats.elapsed).count();
  fanout.summary.ended = std::chrono::system_clock::now();
  fanout.summary.input_errors = input.errors.size();
  fanout.summary.interrupted = interrupted;
  fanout.summary.notes = notes;
  fanout.summary.arguments = options.redacted_arguments;
  fanout.summary.geo = options.sheet.geo;
  for (const auto& s : imported.settings)
    fanout.summary.imported.push_back({s.file, s.line, s.setting, s.value, s.use});
  fanout.summary.enterprise_auth_proxy_disabled = imported.enterprise_auth_proxy_disabled;
  fanout.report.finish(fanout.summary);
  // The short answer always reaches a person: on stdout when it carries no records, else on
  // stderr, which scripts reading JSONL leave alone.
  const bool stdout_has_records = options.stdout_format_set || options.outputs.empty();
  const bool stdout_is_text =
      stdout_has_records &&
      (options.stdout_format_set ? options.stdout_format == report::Format::text ||
                                       options.stdout_format == report::Format::analyzer
                                 : stdout_tty);
  if (!stdout_has_records)
    std::fputs(report::summary_text(fanout.summary).c_str(), stdout);
  else if (!stdout_is_text)
    std::fputs(report::summary_text(fanout.summary).c_str(), stderr);

  // A full disk loses results: say where, and do not claim success. An -o file that was not
  // written whole does not replace the previous one.
  bool lost = !cli::written(stdout, "stdout");
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto name = "-o " + options.outputs[i].path;
    const bool whole = cli::written(files[i]->file(), name);
    lost = !files[i]->close(whole, name) || !whole || lost;
  }
  if (lost) return kExitUsage;

  if (interrupted) return kExitInterrupted;
  if (!input.errors.empty()) return kExitUsage;
  if (options.require == cli::Require::any_method)
    return report::assess(fanout.report.results(),
                          report::ReadinessOptions{options.sheet.geo, /*proxy_lists=*/false,
                                                   imported.enterprise_auth_proxy_disabled})
                   .ready
               ? kExitOk
               : kExitFailures;
  return fanout.summary.failures() ? kExitFailures : kExitOk;
}

}  // namespace

// Before the sweep, nothing is finished that could be saved: SIGINT and SIGTERM end urlprobe at
// once, alike (a cron job's or Kubernetes' SIGTERM is a ^C too), with one line saying so and exit
// 130. Only async-signal-safe calls here. Once the sweep starts, both are blocked and SignalWatch
// takes them instead.
extern "C" void interrupted_before_sweep(int sig) {
  static constexpr char kInt[] = "\nurlprobe: interrupted (SIGINT) before any probe finished\n";
  static constexpr char kTerm[] = "\nurlprobe: interrupted (SIGTERM) before any probe finished\n";
  const bool term = sig == SIGTERM;
  [[maybe_unused]] const auto n =
      write(STDERR_FILENO, term ? kTerm : kInt, term ? sizeof kTerm - 1 : sizeof kInt - 1);
  _exit(kExitInterrupted);
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction on_interrupt {};
  on_interrupt.sa_handler = interrupted_before_sweep;
  sigemptyset(&on_interrupt.sa_mask);
  sigaction(SIGINT, &on_interrupt, nullptr);
  sigaction(SIGTERM, &on_interrupt, nullptr);

  cli::Options options;
  try {
    options = cli::parse_options(argc, argv);
  } catch (const cli::UsageError& e) {
    cli::say(e.what());
    return kExitUsage;
  }
  for (const auto& warning : options.warnings) cli::say(warning);
  // As curl does: blank the passwords in our own argv, so that ps and /proc/PID/cmdline show them
  // only for the moment before this line (the options hold copies).
  for (int i = 1; i < argc; ++i)
    for (const auto& [offset, length] :
         cli::argument_password_spans(i > 1 ? argv[i - 1] : "", argv[i]))
      std::memset(argv[i] + offset, '*', length);
  if (options.help) {
    const auto help =
        options.command_given ? cli::command_help(options.command) : cli::usage_text();
    std::fputs(help.c_str(), stdout);
    return kExitOk;
  }
  if (options.version) {
    std::puts("urlprobe 0.1.0");
    for (const auto& info : sheet::builtin_catalog())
      fmt::print("built-in sheet {:<10} {} ({})\n", info.name, info.date, info.description);
    for (const auto& pin : net::builtin_pins())
      for (const auto& root : pin.roots)
        fmt::print("built-in pin   {:<24} {}, expires {}{}\n", pin.name, root.subject,
                   root.not_after, root.expired ? " (EXPIRED)" : "");
    return kExitOk;
  }
  try {
    return run(options);
  } catch (const std::system_error& e) {
    // A reader that went away (`urlprobe list | head`) ends the output, as with SIGPIPE.
    if (e.code() == std::errc::broken_pipe) return 128 + SIGPIPE;
    cli::say(e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    cli::say(e.what());
    return kExitUsage;
  }
}
