#include "probe/result.hpp"

#include <array>

namespace urlprobe::probe {
namespace {
constexpr std::array<std::string_view, kOutcomeCount> kNames{"ok",
                                                             "unexpected_status",
                                                             "dns_error",
                                                             "connect_refused",
                                                             "connect_timeout",
                                                             "proxy_unreachable",
                                                             "proxy_auth_required",
                                                             "proxy_denied",
                                                             "proxy_error",
                                                             "tls_intercepted",
                                                             "tls_untrusted",
                                                             "tls_error",
                                                             "http_error",
                                                             "timeout",
                                                             "local_error",
                                                             "not_configured",
                                                             "skipped"};
}

std::string_view outcome_name(Outcome o) {
  return kNames[static_cast<std::size_t>(o)];
}

std::optional<Outcome> parse_outcome(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Outcome>(i);
  return std::nullopt;
}

bool is_failure(Outcome o) {
  return o != Outcome::ok && o != Outcome::not_configured && o != Outcome::skipped;
}

}  // namespace urlprobe::probe
