#include "route/detail/pac_sandbox.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace urlprobe::route::detail {
namespace {

// The innermost armed script on this thread, for DUK_USE_NATIVE_STACK_CHECK() (no udata there).
thread_local PacSandbox* current = nullptr;

// Below this address Duktape refuses to recurse further ("C stack depth limit"): its own limit of
// 1000 nested native calls needs about 400 KB of stack at -O2 but more than 8 MiB under ASan at
// -O0, and a PAC thread may have a small stack. Keeps 256 KiB (at most a quarter of the stack)
// for raising the error. 0 when the stack is unknown.
std::uintptr_t stack_floor() {
  thread_local const std::uintptr_t floor = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return std::uintptr_t{0};
    void* low = nullptr;
    std::size_t size = 0;
    const bool ok = pthread_attr_getstack(&attr, &low, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || low == nullptr) return std::uintptr_t{0};
    return reinterpret_cast<std::uintptr_t>(low) + std::min<std::size_t>(256u << 10, size / 4);
  }();
  return floor;
}

// Arms the deadline and the limit flags for one load/call.
class Armed {
 public:
  Armed(PacSandbox& impl, Clock::duration budget) : impl_(impl), outer_(current) {
    impl.armed = true;
    impl.timed_out = false;
    impl.memory_refused = false;
    impl.ticks = 0;
    impl.alerts_told = 0;
    impl.deadline = Clock::now() + budget;
    impl.dns_share = budget * kPacDnsShare[0] / kPacDnsShare[1];
    impl.dns_until = impl.deadline - budget + impl.dns_share;
    impl.dns_memo.clear();
    impl.unanswered.clear();
    current = &impl;
  }
  ~Armed() {
    impl_.armed = false;
    current = outer_;
  }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;

 private:
  PacSandbox& impl_;
  PacSandbox* outer_;
};

// ---- allocator: every block carries its size so the heap's total is known --------------------

struct alignas(std::max_align_t) BlockHeader {
  std::size_t size;
};

bool admit(PacSandbox& impl, std::size_t extra) {
  // After the deadline nothing is allocated: built-ins that loop inside one call (join, indexOf
  // over a huge sparse array) allocate as they go, so they fail instead of running for minutes.
  if (impl.expired(64)) return false;
  if (extra > impl.limits.memory || impl.used > impl.limits.memory - extra) {
    impl.memory_refused = true;
    return false;
  }
  return true;
}

void* pac_alloc(void* udata, duk_size_t size) {
  auto& impl = *static_cast<PacSandbox*>(udata);
  if (!admit(impl, size)) return nullptr;
  auto* block = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
  if (block == nullptr) return nullptr;
  block->size = size;
  impl.used += size;
  return block + 1;
}

void pac_free(void* udata, void* ptr) {
  if (ptr == nullptr) return;
  auto& impl = *static_cast<PacSandbox*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  impl.used -= block->size;
  std::free(block);
}

void* pac_realloc(void* udata, void* ptr, duk_size_t size) {
  if (ptr == nullptr) return pac_alloc(udata, size);
  if (size == 0) {
    pac_free(udata, ptr);
    return nullptr;
  }
  auto& impl = *static_cast<PacSandbox*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  const std::size_t old = block->size;
  if (size > old && !admit(impl, size - old)) return nullptr;
  auto* grown = static_cast<BlockHeader*>(std::realloc(block, sizeof(BlockHeader) + size));
  if (grown == nullptr) return nullptr;
  grown->size = size;
  impl.used = impl.used - old + size;
  return grown + 1;
}

void pac_fatal(void*, const char* msg) {
  // Only reachable through a Duktape bug: every call into the heap is protected.
  std::fprintf(stderr, "urlprobe: fatal Duktape error in a PAC script: %s\n", msg ? msg : "?");
  std::abort();
}

}  // namespace
}  // namespace urlprobe::route::detail

// Hooks named in third_party/duktape's duk_config.h.
extern "C" int urlprobe_pac_exec_timeout(void* udata) {
  // Every 256 Ki bytecode instructions; Duktape throws RangeError "execution timeout" on 1.
  return static_cast<urlprobe::route::detail::PacSandbox*>(udata)->expired() ? 1 : 0;
}

extern "C" int urlprobe_pac_native_check(void) {
  // At each native recursion (C calls, JSON, regexp compiling), notably every backtracking step of
  // the regexp matcher. __builtin_frame_address: the real stack even with ASan's fake stacks.
  if (reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) <
      urlprobe::route::detail::stack_floor())
    return 1;
  auto* impl = urlprobe::route::detail::current;
  return impl != nullptr && impl->expired(256) ? 1 : 0;
}

namespace urlprobe::route::detail {

duk_context* create_heap(PacSandbox& sandbox) {
  return duk_create_heap(pac_alloc, pac_realloc, pac_free, &sandbox, pac_fatal);
}

namespace {

struct ErrorInfo {
  std::string message;
  int line = 0;
  const std::string* name;
};

// Reads the thrown value at the top of the stack: "Name: message" and, for errors raised in the
// script itself, lineNumber.
duk_ret_t read_error(duk_context* ctx, void* udata) {
  auto& info = *static_cast<ErrorInfo*>(udata);
  if (duk_is_object(ctx, 0)) {
    duk_get_prop_string(ctx, 0, "fileName");
    const bool ours = duk_is_string(ctx, -1) && *info.name == duk_get_string(ctx, -1);
    duk_pop(ctx);
    duk_get_prop_string(ctx, 0, "lineNumber");
    if (ours && duk_is_number(ctx, -1)) info.line = static_cast<int>(duk_get_int(ctx, -1));
    duk_pop(ctx);
  }
  info.message = duk_safe_to_string(ctx, 0);
  return 0;
}

}  // namespace

std::string size_text(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::optional<PacError> run(PacSandbox& impl, duk_safe_call_function fn, void* udata,
                            const std::string& phase, const std::string& prefix) {
  bool ok = false;
  {
    Armed armed(impl, impl.limits.per_call);
    ok = duk_safe_call(impl.ctx, fn, udata, 0, 1) == DUK_EXEC_SUCCESS;
  }
  const bool timed_out = impl.timed_out;
  const bool memory = impl.memory_refused;
  if (ok || timed_out) {
    duk_pop(impl.ctx);  // the result, or the thrown value
    if (!timed_out) return std::nullopt;
    return PacError(phase + " exceeded " + std::to_string(impl.limits.per_call.count()) + " ms");
  }
  // The thrown value's getters and toString() are script code: they get a deadline of their own.
  ErrorInfo info{{}, 0, &impl.name};
  {
    Armed armed(impl,
                std::min<Clock::duration>(impl.limits.per_call, std::chrono::milliseconds(100)));
    if (duk_safe_call(impl.ctx, read_error, &info, 1, 1) != DUK_EXEC_SUCCESS || impl.timed_out) {
      info.message = "an exception that cannot be printed";
      info.line = 0;
    }
  }
  duk_pop(impl.ctx);
  if (memory)
    return PacError(phase + " exceeded the memory limit of " + size_text(impl.limits.memory));
  // Duktape's compile errors end in "(line N)" or "(line N, end of input)"; the line is separate.
  if (info.line > 0) {
    const std::string tail = " (line " + std::to_string(info.line);
    if (auto pos = info.message.rfind(tail);
        pos != std::string::npos && info.message.back() == ')' &&
        (info.message.size() == pos + tail.size() + 1 || info.message[pos + tail.size()] == ',')) {
      info.message.erase(pos);
    }
  }
  PacError err(prefix.empty() ? info.message : prefix + ": " + info.message);
  err.line = info.line;
  return err;
}

}  // namespace urlprobe::route::detail
