// The outcomes, and everything any stage knows about each one, in one table: a new outcome is
// an enumerator and its row here (docs/ARCHITECTURE.md, "add an outcome").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace urlprobe::probe {

// DESIGN "Outcomes": exactly one per result. Its value shows in reports (the html's ".oN"
// classes, counts in this order). kOutcomes has one row per enumerator, in this order: the
// check below sees a row missing anywhere but after the last one, so add new outcomes before
// not_configured.
enum class Outcome : std::uint8_t {
  ok,
  unexpected_status,
  dns_error,
  connect_refused,
  connect_timeout,
  proxy_unreachable,
  proxy_auth_required,
  proxy_denied,
  proxy_error,
  tls_intercepted,
  tls_untrusted,
  tls_error,
  http_error,
  timeout,
  // This machine could not make the attempt (out of file descriptors, local ports or memory):
  // nothing was learnt about the network, so no refusal or proxy may be blamed for it.
  local_error,
  not_configured,
  skipped,
};

// Outcomes grouped by what to blame. The html pages give a family one colour
// (report/detail/html_style.hpp); its outcomes differ by their letter, so no reader depends on
// telling two shades apart. neutral: nothing was probed, nothing to say.
enum class OutcomeFamily : std::uint8_t {
  ok,
  neutral,
  http,
  dns,
  connect,
  proxy,
  tls,
  timeout,
  local
};

struct OutcomeInfo {
  Outcome outcome;
  std::string_view name;  // the record's "outcome" (schema v1), and what reports print
  char code;              // the text matrix's and the html grid's cell letter
  OutcomeFamily family;
  bool failure;       // fails the sweep (exit 1)
  bool blames_proxy;  // the proxy failed or refused: its status is the one a line shows
};

inline constexpr std::array kOutcomes{
    OutcomeInfo{Outcome::ok, "ok", '.', OutcomeFamily::ok, false, false},
    OutcomeInfo{Outcome::unexpected_status, "unexpected_status", '?', OutcomeFamily::http, true,
                false},
    OutcomeInfo{Outcome::dns_error, "dns_error", 'N', OutcomeFamily::dns, true, false},
    OutcomeInfo{Outcome::connect_refused, "connect_refused", 'R', OutcomeFamily::connect, true,
                false},
    OutcomeInfo{Outcome::connect_timeout, "connect_timeout", 'T', OutcomeFamily::connect, true,
                false},
    OutcomeInfo{Outcome::proxy_unreachable, "proxy_unreachable", 'U', OutcomeFamily::proxy, true,
                true},
    OutcomeInfo{Outcome::proxy_auth_required, "proxy_auth_required", 'A', OutcomeFamily::proxy,
                true, true},
    OutcomeInfo{Outcome::proxy_denied, "proxy_denied", 'D', OutcomeFamily::proxy, true, true},
    OutcomeInfo{Outcome::proxy_error, "proxy_error", 'E', OutcomeFamily::proxy, true, true},
    OutcomeInfo{Outcome::tls_intercepted, "tls_intercepted", 'I', OutcomeFamily::tls, true, false},
    OutcomeInfo{Outcome::tls_untrusted, "tls_untrusted", 'C', OutcomeFamily::tls, true, false},
    OutcomeInfo{Outcome::tls_error, "tls_error", 'S', OutcomeFamily::tls, true, false},
    OutcomeInfo{Outcome::http_error, "http_error", 'H', OutcomeFamily::http, true, false},
    OutcomeInfo{Outcome::timeout, "timeout", 't', OutcomeFamily::timeout, true, false},
    OutcomeInfo{Outcome::local_error, "local_error", 'L', OutcomeFamily::local, true, false},
    OutcomeInfo{Outcome::not_configured, "not_configured", '-', OutcomeFamily::neutral, false,
                false},
    OutcomeInfo{Outcome::skipped, "skipped", 's', OutcomeFamily::neutral, false, false},
};
inline constexpr std::size_t kOutcomeCount = kOutcomes.size();

// Row i is enumerator i; names and letters are unique, non-empty and printable. A fixed-size
// array would let a missing row compile as an empty name; this check does not.
constexpr bool valid_outcome_table(std::span<const OutcomeInfo> rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<std::size_t>(rows[i].outcome) != i || rows[i].name.empty() ||
        rows[i].code <= ' ' || rows[i].code > '~')
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (rows[j].name == rows[i].name || rows[j].code == rows[i].code) return false;
  }
  return true;
}
static_assert(valid_outcome_table(kOutcomes), "kOutcomes: one complete row per Outcome, in order");

constexpr const OutcomeInfo& outcome_info(Outcome o) {
  return kOutcomes[static_cast<std::size_t>(o)];
}
constexpr std::string_view outcome_name(Outcome o) {
  return outcome_info(o).name;
}
constexpr char outcome_code(Outcome o) {
  return outcome_info(o).code;
}
constexpr OutcomeFamily outcome_family(Outcome o) {
  return outcome_info(o).family;
}
// ok, not_configured and skipped do not fail a sweep; everything else does.
constexpr bool is_failure(Outcome o) {
  return outcome_info(o).failure;
}
constexpr bool blames_proxy(Outcome o) {
  return outcome_info(o).blames_proxy;
}

std::optional<Outcome> parse_outcome(std::string_view name);

}  // namespace urlprobe::probe
