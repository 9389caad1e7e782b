// One probe: a target through a route, from name to first response header, ending in one Result.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "net/connect.hpp"
#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "probe/result.hpp"
#include "route/route.hpp"
#include "sheet/target.hpp"

namespace urlprobe::probe {

// --expect-status and the rows' own expectations share one reading (sheet/target.hpp).
using sheet::parse_status_expectation;
using sheet::StatusExpectation;

struct Timeouts {
  std::chrono::milliseconds total{10000};
  // Each phase is also bounded by what is left of the total.
  std::chrono::milliseconds dns{10000}, connect{10000}, tls{10000}, response{10000};
  static Timeouts derived_from(std::chrono::milliseconds total);
};

struct ProbeConfig {
  Timeouts timeouts;
  StatusExpectation expect;
  std::size_t header_limit = 32 * 1024;
  bool allow_inspection = false;  // tls_intercepted becomes ok with a warning
  long warn_expiry_days = 14;     // ok results whose leaf expires sooner get a warning
  std::string user_agent = "urlprobe/0.1";
  net::SourceAddresses sources;  // --source-address: each probe binds to the next in turn
};

// Told once a probe's connection to its proxy is up: from then on the proxy is reachable,
// whatever becomes of the probe (the sweep's dead-proxy gate opens on it).
using ProxyReached = std::function<void(std::uint64_t sweep_index)>;

// What a probe borrows from its event loop's worker; all of it outlives the probe.
struct ProbeContext {
  boost::asio::io_context& io;
  net::Resolver& resolver;
  net::TlsClientContext& tls;
  const ProbeConfig& config;
  const ProxyReached* proxy_reached = nullptr;  // none: nobody asks
};

using ResultHandler = std::function<void(Result&&)>;

class ProbeOp;

// A handle to a running probe. abort() ends it now as `timeout` with `reason` in detail; it is
// harmless after the probe has finished. Dropping the handle does not stop the probe.
class ProbeHandle {
 public:
  ProbeHandle() = default;
  explicit ProbeHandle(std::weak_ptr<ProbeOp> op) : op_(std::move(op)) {}
  void abort(std::string_view reason) const;

 private:
  std::weak_ptr<ProbeOp> op_;
};

// A result decided without touching the network (e.g. through a proxy already found dead).
Result decided_result(const sheet::Target& target, const route::Route& route, std::uint64_t index,
                      Outcome outcome, std::string detail);

// Starts the probe on ctx.io; `done` runs exactly once, from the event loop and never inside
// this call. The target is copied: the caller may drop it.
ProbeHandle start_probe(const ProbeContext& ctx, const sheet::Target& target,
                        const route::Route& route, std::uint64_t sweep_index, ResultHandler done);

}  // namespace urlprobe::probe
