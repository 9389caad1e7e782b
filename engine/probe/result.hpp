// The record of one probe: what every later stage (reports, diff, readiness) reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/dns_evidence.hpp"
#include "net/tls.hpp"
#include "probe/outcome.hpp"
#include "route/route.hpp"
#include "sheet/target.hpp"

namespace urlprobe::probe {

// Milliseconds per phase; a phase that did not happen stays empty and is omitted from output.
struct PhaseTimes {
  std::optional<double> dns, connect, tunnel, tls, ttfb;
  double total = 0;
  // Route wpad: how long the PAC script took to decide this URL's route (its DNS helpers
  // included). Not part of `total`: decisions are made before the sweep, once per host when the
  // script looks only at hosts, so one evaluation may stand behind many records, and `total`
  // keeps its v1 meaning (the probe's own time, bounded by --timeout). It sits next to it so a
  // slow PAC is seen where the time went instead of hiding behind a small total.
  std::optional<double> pac;
};

// --shard K/N: probe only the indices whose key hashes to shard K (1-based) of N. n == 0: all.
struct Shard {
  unsigned k = 0, n = 0;
};

struct Result {
  std::uint64_t sweep_index = 0;  // position in targets x routes; stable across runs
  std::string url;
  std::string host;
  std::uint16_t port = 0;
  route::Method route = route::Method::direct;
  std::string proxy;       // redacted; empty for direct
  std::string proxy_name;  // the name= label of a proxy-list entry
  std::string pac_answer;  // route wpad: what the PAC script answered for this URL
  int pac_used = -1;       // the chain entry that gave this result (0-based)
  // The WinHTTP bypass list's entry (--winhttp, Defender's ProxyBypass) that sent this target
  // direct although the route has a proxy: "*.contoso.com", "<local>". Empty: not bypassed.
  std::string bypassed_by;
  Outcome outcome = Outcome::timeout;
  std::string detail;
  int http_status = 0;   // 0: none
  int proxy_status = 0;  // 0: none
  std::string address;   // the connected endpoint, "ip:port"
  // The target's name as DNS answered it here (the v1 record's "dns"): the CNAME chain, every
  // address, their service tags. Shared by every probe of the name; null when the target was
  // not resolved here (an IP literal, a --resolve pin, a proxy that resolves it) or did not
  // resolve.
  std::shared_ptr<const net::DnsEvidence> dns;
  // The response's Via or X-Cache header ("Via: 1.1 proxy (squid/5.7)"): on the direct route, an
  // HTTP proxy nobody configured sits in the path (readiness: a transparent proxy).
  std::string via;
  std::optional<net::TlsFacts> tls;
  PhaseTimes ms;
  std::vector<std::string> warnings;  // things an ok result should still tell (expiry, inspection)
  // The TLS chain was an inspecting proxy's (anchored outside the public roots, or a pinned
  // target's at a root neither pinned nor public), whether the probe stopped there (outcome
  // tls_intercepted) or went on with --allow-inspection (a warning). Not a field of the v1
  // record: read back, it comes from the outcome and the warning (report/read.cpp).
  bool tls_inspected = false;
  sheet::TargetRow row;  // shared with the target: a result does not copy the row's facts
  std::chrono::system_clock::time_point started;
  Shard shard;  // the --shard of the sweep that made it, so merge can tell a shard is missing
};

}  // namespace urlprobe::probe
