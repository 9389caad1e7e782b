#include "route/pac.hpp"

#include <string>
#include <utility>

#include "route/detail/pac_builtins.hpp"
#include "route/detail/pac_ip.hpp"
#include "route/detail/pac_sandbox.hpp"
#include "route/detail/pac_tokenizer.hpp"

namespace urlprobe::route {
namespace {

using detail::push_string;

struct LoadArgs {
  const std::string* source;
  const std::string* name;
  bool has_plain = false;
  bool has_ex = false;
};

duk_ret_t load_script(duk_context* ctx, void* udata) {
  auto& args = *static_cast<LoadArgs*>(udata);
  push_string(ctx, *args.name);
  duk_compile_lstring_filename(ctx, 0, args.source->data(), args.source->size());
  duk_call(ctx, 0);
  duk_pop(ctx);
  args.has_plain = duk_get_global_string(ctx, "FindProxyForURL") && duk_is_function(ctx, -1);
  duk_pop(ctx);
  args.has_ex = duk_get_global_string(ctx, "FindProxyForURLEx") && duk_is_function(ctx, -1);
  duk_pop(ctx);
  return 0;
}

struct CallArgs {
  const char* function;
  const std::string* url;
  const std::string* host;
  std::string result;              // String(value) when it is not a string
  const char* bad_type = nullptr;  // set when the result is not a string
};

const char* type_name(duk_context* ctx, duk_idx_t idx) {
  switch (duk_get_type(ctx, idx)) {
    case DUK_TYPE_UNDEFINED:
      return "undefined";
    case DUK_TYPE_NULL:
      return "null";
    case DUK_TYPE_BOOLEAN:
      return "a boolean";
    case DUK_TYPE_NUMBER:
      return "a number";
    case DUK_TYPE_OBJECT:
      return duk_is_function(ctx, idx) ? "a function" : "an object";
    default:
      return "a non-string value";
  }
}

duk_ret_t call_script(duk_context* ctx, void* udata) {
  auto& args = *static_cast<CallArgs*>(udata);
  duk_get_global_string(ctx, args.function);
  push_string(ctx, *args.url);
  push_string(ctx, *args.host);
  duk_call(ctx, 2);
  if (duk_is_string(ctx, -1)) {
    duk_size_t len = 0;
    const char* s = duk_get_lstring(ctx, -1, &len);
    args.result.assign(s, len);
  } else {
    args.bad_type = type_name(ctx, -1);
    // An object's toString() is script code: it runs here, under the call's deadline.
    args.result = duk_safe_to_string(ctx, -1);
  }
  duk_pop(ctx);
  return 0;
}

}  // namespace

PacScript::PacScript(std::string source, std::string name, PacResolve resolve, std::string my_ip,
                     PacLimits limits, std::function<std::time_t()> now,
                     std::function<void(const std::string&)> on_alert)
    : impl_(std::make_unique<detail::PacSandbox>()) {
  auto& impl = *impl_;
  impl.name = std::move(name);
  impl.resolve = std::move(resolve);
  for (auto& a : detail::split_list(my_ip))
    if (detail::parse_ip(a)) impl.my_ips.push_back(std::move(a));
  impl.limits = limits;
  impl.now = std::move(now);
  impl.on_alert = std::move(on_alert);

  impl.ctx = detail::create_heap(impl);
  if (impl.ctx == nullptr) {
    throw PacError("cannot create a JavaScript heap within the memory limit of " +
                   detail::size_text(limits.memory));
  }
  const std::string setup = "setting up the PAC helpers";
  if (auto err = detail::run(impl, detail::setup_globals, nullptr, setup, setup)) throw *err;
  LoadArgs args{&source, &impl.name};
  if (auto err = detail::run(impl, load_script, &args, "loading the script", "")) throw *err;
  if (!args.has_plain && !args.has_ex)
    throw PacError("the script defines no FindProxyForURL function");
  impl.use_ex = args.has_ex;
  impl.reads_path =
      detail::reads_path(source, impl.use_ex ? "FindProxyForURLEx" : "FindProxyForURL");
}

PacScript::~PacScript() = default;
PacScript::PacScript(PacScript&&) noexcept = default;
PacScript& PacScript::operator=(PacScript&&) noexcept = default;

PacAnswer PacScript::find_proxy(const std::string& url, const std::string& host) {
  auto answer = evaluate(url, host);
  if (!answer.problem.empty()) throw PacError(answer.problem);
  return answer;
}

PacAnswer PacScript::evaluate(const std::string& url, const std::string& host) {
  auto& impl = *impl_;
  const char* function = impl.use_ex ? "FindProxyForURLEx" : "FindProxyForURL";
  CallArgs args{function, &url, &host, {}, nullptr};
  auto err = detail::run(impl, call_script, &args, function, function);
  if (err) throw *err;
  PacAnswer answer;
  if (args.bad_type != nullptr) {
    answer.problem = std::string(function) + " returned " + args.bad_type + ", not a string";
  } else {
    std::string error;
    answer.chain = parse_pac_answer(args.result, error);
    if (answer.chain.empty()) {
      answer.problem = std::string(function) + " returned an unusable answer \"" +
                       args.result.substr(0, 200) + "\": " + error;
    }
  }
  answer.text = std::move(args.result);
  answer.unanswered = std::move(impl.unanswered);
  return answer;
}

bool PacScript::reads_path() const {
  return impl_->reads_path;
}

std::vector<std::string> PacScript::alerts() const {
  return impl_->alerts;
}

void PacScript::clear_alerts() {
  impl_->alerts.clear();
}

}  // namespace urlprobe::route
