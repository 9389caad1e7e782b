#include "routes.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>

#include "base/text.hpp"
#include "diagnostics.hpp"
#include "report/writer.hpp"
#include "route/build.hpp"
#include "route/pac.hpp"
#include "route/windows_config.hpp"
#include "route/wpad.hpp"
#include "sheet/reader.hpp"
#include "sheet/url.hpp"

extern char** environ;

namespace urlprobe::cli {

namespace {

// --proxy-user's password, when typed with it or in --proxy-password-file; none: route::build
// takes the environment's URLPROBE_PROXY_PASSWORD.
std::optional<std::string> proxy_password(const Options& o) {
  if (o.proxy_user_password) {
    if (!o.proxy_password_file.empty())
      throw UsageError(
          "--proxy-password-file: --proxy-user already gives a password (USER:PASSWORD); give "
          "it one way");
    return *o.proxy_user_password;  // typed explicitly: it wins over the environment
  }
  if (o.proxy_password_file.empty()) return std::nullopt;
  if (o.proxy_user.empty()) throw UsageError("--proxy-password-file: needs --proxy-user");
  std::string text;
  try {
    text = sheet::read_file(o.proxy_password_file, 64 << 10);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("--proxy-password-file: {}", e.what()));
  }
  return text.substr(0, text.find_first_of("\r\n"));
}

// Read now; a file that cannot be read is route::build's error once the methods are built.
route::RouteConfig::ProxyList proxy_list(const std::string& file) {
  route::RouteConfig::ProxyList list;
  list.name = file;
  if (file.empty()) return list;
  try {
    list.text = sheet::read_file(file, std::size_t{64} << 20);
  } catch (const std::exception& e) {
    list.unreadable = e.what();
  }
  return list;
}

}  // namespace

std::map<std::string, std::string> proxy_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = entry.substr(0, eq);
    if (base::lower(name).ends_with("_proxy") || name == "URLPROBE_PROXY_PASSWORD")
      env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
  }
  return env;
}

namespace {

// An answer goes to stdout as the script returned it, one line per URL: only a line feed (which
// would split the line) and the controls that could drive the terminal are shown as \xNN.
std::string answer_line(const std::string& answer) {
  std::string one_line;
  for (char c : answer) {
    if (c == '\n')
      one_line += "\\x0a";
    else
      one_line += c;
  }
  return report::terminal_text(one_line);
}

}  // namespace

// As pactester: the script's answer for each URL, verbatim, even when it is no usable proxy list
// (that is a warning). Exit 2 only when the script does not load, or throws or runs out of time
// or memory for a URL (the other URLs are still answered).
int print_pac_answers(const Options& o) {
  if (o.inputs.empty()) throw UsageError("pac: usage: urlprobe pac FILE|URL URL...");
  route::PacSource source;
  try {
    source = route::load_pac(o.inputs.front(), o.sweep.resolver, o.sweep.probe.timeouts.total);
  } catch (const std::exception& e) {
    // load_pac speaks of the sweep's option; here the script is this command's first argument.
    std::string message = e.what();
    if (message.starts_with("--pac ")) message.replace(0, 6, "pac: ");
    throw UsageError(message);
  }
  std::vector<route::PacTarget> targets;
  for (std::size_t i = 1; i < o.inputs.size(); ++i) {
    auto parsed = sheet::parse_target_url(o.inputs[i]);
    if (auto* error = std::get_if<sheet::UrlError>(&parsed))
      throw UsageError(fmt::format("pac: '{}': {}", o.inputs[i], error->message));
    targets.push_back({o.inputs[i], std::get<sheet::Target>(parsed).host});
  }
  // alert() goes to stderr at once, so it stands next to the warnings of the same call.
  const auto tell = [&source](const std::string& message) {
    cli::say(fmt::format("{}: alert: {}", source.location, message));
  };
  const route::PacLimits limits;
  std::optional<route::PacScript> script;
  try {
    script.emplace(source.text, source.location, route::pac_resolver(o.sweep.resolver),
                   o.client_ip.empty() ? route::local_address() : o.client_ip, limits,
                   std::function<std::time_t()>{}, tell);
  } catch (const route::PacError& e) {
    cli::say(route::RouteError{source.location, e.line, 0, e.what()}.text());
    return 2;
  }
  // One URL: the answer alone, as pactester prints it. Several: "URL<TAB>answer", so that each
  // line says which URL it answers.
  const bool with_url = targets.size() > 1;
  int rc = 0;
  for (const auto& target : targets) {
    route::PacAnswer answer;
    try {
      answer = script->evaluate(target.url, target.host);
    } catch (const route::PacError& e) {
      cli::say(
          route::RouteError{source.location, e.line, 0, fmt::format("{}: {}", target.url, e.what())}
              .text());
      rc = 2;
      continue;
    }
    if (!answer.problem.empty())
      cli::say(fmt::format("{}: {}: warning: {}", source.location, target.url, answer.problem));
    if (!answer.unanswered.empty()) {
      cli::say(fmt::format("{}: {}: warning: no DNS answer within the {} ms of a PAC call for {}",
                           source.location, target.url, limits.per_call.count(),
                           fmt::join(answer.unanswered, ", ")));
    }
    // fwrite, not fmt::print: a failed write must reach the check below, not throw past it.
    const auto line = with_url ? fmt::format("{}\t{}\n", target.url, answer_line(answer.text))
                               : answer_line(answer.text) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    // Alerts and warnings on stderr interleave with the answers as they happen.
    std::fflush(stdout);
  }
  // The answers are this command's output: lost to a full disk they are exit 2 naming where, as
  // a sweep's records are.
  if (!cli::written(stdout, "stdout")) return 2;
  return rc;
}

namespace {

// --winhttp and --registry: the whole file is read before any route is built, and every bad line
// is named at once (one message, a line each), since a half-read configuration would probe
// routes the machine does not have.
std::string read_windows_file(const std::string& option, const std::string& file) {
  try {
    return sheet::read_file(file, std::size_t{4} << 20);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("{}: {}", option, e.what()));
  }
}

void throw_config_errors(const std::string& file, const std::vector<route::ConfigError>& errors) {
  if (errors.empty()) return;
  std::string text;
  for (const auto& e : errors) {
    if (!text.empty()) text += "\nurlprobe: ";
    text += route::RouteError{file, e.line, e.column, e.message}.text();
  }
  throw UsageError(text);
}

void add_windows_config(const Options& o, route::RouteConfig& config) {
  if (!o.winhttp_file.empty()) {
    auto read = route::read_winhttp(read_windows_file("--winhttp", o.winhttp_file));
    throw_config_errors(o.winhttp_file, read.errors);
    config.winhttp = {o.winhttp_file, std::move(read.settings)};
  }
  if (!o.registry_file.empty()) {
    auto read = route::read_reg_file(read_windows_file("--registry", o.registry_file));
    throw_config_errors(o.registry_file, read.errors);
    config.registry = {o.registry_file, std::move(read.policy)};
  }
}

route::RouteConfig route_config(const Options& o, const std::map<std::string, std::string>& env,
                                const std::vector<sheet::Target>& targets) {
  route::RouteConfig config;
  config.methods = o.methods;
  config.environment = env;
  config.named_proxy = o.named_proxy;
  config.proxy = o.proxy;
  config.credentials = {o.proxy_user, proxy_password(o)};
  config.proxy_list = proxy_list(o.proxies_file);
  config.pac = o.pac;
  config.client_ip = o.client_ip;
  config.dns = o.sweep.resolver;
  config.fetch_deadline = o.sweep.probe.timeouts.total;
  for (const auto& t : targets) config.targets.push_back({t.url, t.host});
  add_windows_config(o, config);
  return config;
}

}  // namespace

std::vector<route::Route> build_routes(const Options& o,
                                       const std::map<std::string, std::string>& env,
                                       const std::vector<sheet::Target>& targets,
                                       std::vector<sheet::InputError>& input_errors,
                                       std::vector<std::string>& notes, ImportedConfig* imported) {
  const auto config = route_config(o, env, targets);
  auto built = route::build(config);
  if (built.error) throw UsageError(built.error->text());
  if (imported) {
    imported->settings = std::move(built.imported);
    const auto& policy = config.registry.policy;
    if (policy.enterprise_auth_proxy_disabled())
      imported->enterprise_auth_proxy_disabled =
          fmt::format("{}:{}", config.registry.file, policy.disable_enterprise_auth_proxy->line);
  }
  for (auto& e : built.skipped)
    input_errors.push_back({e.where, e.line, e.column, std::move(e.message), {}, false});
  notes.insert(notes.end(), built.notes.begin(), built.notes.end());
  return std::move(built.routes);
}

}  // namespace urlprobe::cli
