#include "serve.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/time.hpp"
#include "diagnostics.hpp"
#include "open_files.hpp"
#include "routes.hpp"
#include "serve/server.hpp"
#include "targets.hpp"

namespace urlprobe::cli {

namespace {

// One log line: when, then what. Whole lines, from any thread (stdio locks each call).
void log_line(std::string_view message) {
  say(fmt::format("{} {}", base::rfc3339(std::chrono::system_clock::now()), message));
}

// The plan as probe would make it: read again, whole, on every SIGHUP.
serve::Plan load_plan(const Options& options) {
  serve::Plan plan;
  plan.sweep = options.sweep;
  plan.sweep.tls.pins = load_pins(options);
  plan.sweep.resolver.service_tags = load_service_tags(options);
  plan.input = load_targets(options, plan.sweep.tls.pins, plan.notes);
  ImportedConfig imported;
  plan.routes = build_routes(options, proxy_environment(), plan.input.targets, plan.input.errors,
                             plan.notes, &imported);
  plan.enterprise_auth_proxy_disabled = imported.enterprise_auth_proxy_disabled;
  fit_open_file_limit(plan.sweep, plan.input.targets);
  plan.arguments = options.redacted_arguments;
  plan.geo = options.sheet.geo;
  if (!options.web_config.empty()) plan.web = serve::read_web_config(options.web_config);
  return plan;
}

}  // namespace

int run_serve(const Options& options) {
  // Every thread the server starts inherits this mask: only the watcher below takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // wakes the watcher when the server is over
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  serve::ServeOptions serve_options;
  serve_options.listen = options.listen;
  serve_options.every = options.every;
  serve_options.max_concurrent_probes = options.max_concurrent_probes;
  serve_options.allow_any_target = options.allow_any_target;
  std::unique_ptr<serve::Server> server;
  try {
    server = std::make_unique<serve::Server>(
        serve_options, [&options] { return load_plan(options); }, log_line);
  } catch (const std::exception& e) {
    say(e.what());
    return 2;
  }

  std::thread watcher([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log_line("SIGHUP: reading the configuration again");
        server->reload();
      } else if (sig == SIGINT || sig == SIGTERM) {
        log_line(fmt::format("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM"));
        server->stop();
      } else {
        return;  // SIGUSR1: the server is over
      }
    }
  });
  server->run();
  pthread_kill(watcher.native_handle(), SIGUSR1);
  watcher.join();
  server.reset();
  log_line("stopped");
  return 0;
}

}  // namespace urlprobe::cli
