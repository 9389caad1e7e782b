// `urlprobe serve`: an exporter that sweeps on a schedule and answers Prometheus over HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/sweep.hpp"
#include "route/route.hpp"
#include "serve/web_config.hpp"
#include "sheet/sheet.hpp"

namespace urlprobe::serve {

// What a sweep probes and how, read from the command line and the files it names. A new plan
// is read at start and on every reload (SIGHUP).
struct Plan {
  sheet::TargetList input;
  std::vector<route::Route> routes;
  probe::SweepConfig sweep;
  std::vector<std::string> notes;      // e.g. which PAC script decided route wpad
  std::vector<std::string> arguments;  // the command line, passwords redacted
  std::vector<std::string> geo;        // --geo, for readiness
  // --registry's DisableEnterpriseAuthProxy=1 as "FILE:LINE", for readiness; empty: not set.
  std::string enterprise_auth_proxy_disabled;
  std::optional<WebConfig> web;  // --web-config
};

// Reads a plan; throws std::exception whose message names the file, line and column.
using PlanLoader = std::function<Plan()>;
// One line for the log (stderr), without its newline.
using Log = std::function<void(std::string_view)>;

struct ServeOptions {
  std::string listen = "127.0.0.1:9815";  // HOST:PORT, [V6]:PORT or :PORT (every address)
  std::chrono::milliseconds every{std::chrono::minutes(15)};
  std::size_t max_concurrent_probes = 32;  // /probe requests at once; past that, 503
  bool allow_any_target = false;           // /probe any URL, not only the sheet's hosts
  std::size_t max_connections = 512;       // past that, new connections are closed at once
  std::size_t header_limit = 8 * 1024;     // request line and headers
  std::chrono::milliseconds request_deadline{std::chrono::seconds(10)};  // to read a request
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(5)};     // for in-flight answers
  std::string version = "0.1.0";
};

// "HOST:PORT", "[V6]:PORT", ":PORT" (every address). Throws std::invalid_argument.
struct ListenAddress {
  std::string host;  // empty: every address
  std::uint16_t port = 0;
};
ListenAddress parse_listen(std::string_view text);

class Server {
 public:
  // Reads the first plan and binds the address; throws std::exception (exit 2) when either
  // cannot be used.
  Server(ServeOptions options, PlanLoader load, Log log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;  // the bound port (for --listen HOST:0)

  // Serves until stop(): sweeps at once, then every `every`. Returns when the in-flight
  // responses are answered (or the grace period is over).
  void run();

  // From any thread (a signal watcher): read the plan again; a bad one is logged and the old one
  // stays.
  void reload();
  // From any thread: stop accepting, interrupt the sweep, answer what is in flight, return.
  void stop();

  struct Impl;  // server.cpp; its connections hold it too

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace urlprobe::serve
