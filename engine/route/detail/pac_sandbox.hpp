// The state of one PAC script's sandbox and the protected calls into it (route/pac/sandbox.cpp):
// a Duktape heap behind a byte-counting allocator, the deadline of the current load or call, and
// the DNS answers kept for the script's lifetime. Only route/pac/ uses it.
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

// Built from Debian's duktape.c with a patched duk_config.h (third_party/duktape): C++ exceptions
// instead of setjmp/longjmp, so the host functions may hold RAII objects across duk_* calls.
#include <duktape.h>

#include "route/pac.hpp"

#if !defined(DUK_USE_CPP_EXCEPTIONS) || !defined(DUK_USE_EXEC_TIMEOUT_CHECK) || \
    !defined(DUK_USE_NATIVE_STACK_CHECK)
#error "route/pac/ needs third_party/duktape's duk_config.h, not the system one"
#endif

namespace urlprobe::route::detail {

using Clock = std::chrono::steady_clock;

// Alerts kept for PacScript::alerts(), and told to on_alert in one load or call.
inline constexpr std::size_t kMaxAlerts = 1000;

struct PacSandbox {
  std::string name;
  PacResolve resolve;
  std::vector<std::string> my_ips;  // valid literals from my_ip
  PacLimits limits;
  std::function<std::time_t()> now;

  duk_context* ctx = nullptr;

  // Allocator accounting (bytes the script's heap holds, headers excluded).
  std::size_t used = 0;
  bool memory_refused = false;  // an allocation hit the cap during the current load/call

  // Deadline of the current load/call.
  bool armed = false;
  Clock::time_point deadline;
  bool timed_out = false;
  unsigned ticks = 0;  // throttles clock reads on frequent events

  // DNS lookups of the current load/call may wait until then (kPacDnsShare of its deadline).
  Clock::time_point dns_until;
  Clock::duration dns_share{};

  struct Lookup {
    std::vector<std::string> addresses;
    bool unanswered = false;  // no answer in time: counts as not resolving
  };
  std::unordered_map<std::string, Lookup> dns_memo;   // this call: a name is looked up once
  std::unordered_map<std::string, Lookup> dns_cache;  // every call: answers, hopeless names
  std::vector<std::string> unanswered;                // this call, in order

  bool use_ex = false;
  bool reads_path = true;
  std::vector<std::string> alerts;
  std::function<void(const std::string&)> on_alert;
  std::size_t alerts_told = 0;  // to on_alert, this load or call

  ~PacSandbox() {
    if (ctx != nullptr) duk_destroy_heap(ctx);
  }

  // True once the deadline has passed (and from then on until disarmed). `every` throttles the
  // clock reads of frequent callers: only every `every`th call looks at the clock.
  bool expired(unsigned every = 1) {
    if (!armed) return false;
    if (timed_out) return true;
    if (every > 1 && ++ticks % every != 0) return false;
    if (Clock::now() < deadline) return false;
    timed_out = true;
    return true;
  }
};

// A heap whose every allocation is counted against sandbox.limits.memory and refused after the
// deadline; null when not even that fits.
duk_context* create_heap(PacSandbox& sandbox);

// Runs `fn` in a protected call against the deadline and returns the error, if any. `phase` names
// what hit a limit; `prefix`, when not empty, goes before the text of a thrown value.
std::optional<PacError> run(PacSandbox& impl, duk_safe_call_function fn, void* udata,
                            const std::string& phase, const std::string& prefix);

std::string size_text(std::size_t bytes);  // "64 MiB", "4 KiB", "100 bytes"

inline void push_string(duk_context* ctx, const std::string& s) {
  duk_push_lstring(ctx, s.data(), s.size());
}

}  // namespace urlprobe::route::detail
