// The command line of DESIGN "Command line", parsed into plain values.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probe/sweep.hpp"
#include "report/writer.hpp"
#include "route/route.hpp"
#include "sheet/sheet.hpp"

namespace urlprobe::cli {

// Bad usage: the message names the option; the program exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Progress { automatic, always, never };

// --require: what exit code 1 means. all: any probe failed; any_method: readiness says some
// required URL is reachable by no method.
enum class Require { all, any_method };

struct Output {
  std::string path;  // empty: stdout
  report::Format format;
};

struct Options {
  std::string command = "probe";
  bool command_given = false;       // named on the command line: --help is that command's help
  std::vector<std::string> inputs;  // files and URLs, in the order given
  // The analyzer's five, in its order, unless --methods says otherwise.
  std::vector<route::Method> methods{route::Method::default_proxy, route::Method::wpad,
                                     route::Method::direct, route::Method::named,
                                     route::Method::cli};
  std::string proxy;        // --proxy URL (route cli)
  std::string named_proxy;  // --named-proxy HOST:PORT | http=h:p;https=h:p
  std::string proxies_file;
  std::string proxy_user;
  std::optional<std::string> proxy_user_password;  // --proxy-user USER:PASSWORD, as curl splits it
  std::string proxy_password_file;
  std::string pac;            // --pac FILE|URL: the script for route wpad
  std::string client_ip;      // --client-ip: what myIpAddress() answers (default: this host's)
  std::string winhttp_file;   // --winhttp FILE: netsh winhttp show proxy / dump (route default)
  std::string registry_file;  // --registry FILE: a .reg export of the proxy policies
  bool verbose = false;       // --verbose: what --winhttp and --registry set, on stderr
  probe::SweepConfig sweep;
  sheet::SheetOptions sheet;
  std::string builtin;          // --builtin NAME; default "commercial" when no inputs are given
  std::string onboarding;       // --onboarding FILE: the gateway and datacenter of the device
  std::string gateway;          // --gateway GW_EU|EU: keep that gateway's and region's rows
  std::string windows_version;  // --windows-version 1803|22H2|...
  std::vector<std::pair<std::string, std::string>> pin_files;  // --pin NAME=FILE, in order
  std::vector<std::string> testcloudconnection;  // --testcloudconnection FILE, in order
  std::string service_tags_file;  // --service-tags FILE: Azure's ServiceTags_Public_*.json
  std::string list_format;        // `list --format`: "" (URLs), text, json, csv
  bool stdout_format_set = false;
  report::Format stdout_format = report::Format::text;
  std::vector<Output> outputs;  // -o FILE
  Progress progress = Progress::automatic;
  Require require = Require::all;
  // report / diff / merge (cli/commands.cpp)
  std::string
      command_output;  // -o FILE of report, diff and merge (one; format by --format or extension)
  std::string diff_format;      // `diff --format`: "" (text), text, json, html
  double slower_factor = 2.0;   // diff --slower-factor
  double slower_min_ms = 50;    // diff --slower-min-ms
  bool prefer_newest = false;   // merge --prefer newest
  bool allow_partial = false;   // merge --allow-partial: a missing shard is ok
  bool readiness_only = false;  // report --readiness: only the verdict section
  // serve (cli/serve.cpp)
  std::string listen = "127.0.0.1:9815";
  std::chrono::milliseconds every{std::chrono::minutes(15)};
  std::string web_config;
  std::size_t max_concurrent_probes = 32;
  bool allow_any_target = false;
  std::vector<std::string> redacted_arguments;  // argv with any URL password as ***, for reports
  std::vector<std::string> warnings;  // for stderr, e.g. a password typed on the command line
  bool help = false;
  bool version = false;
};

Options parse_options(int argc, char** argv);  // throws UsageError
// Where the passwords of an argument are (offset, length): "user:PW@" in URLs and in the
// schemeless proxy forms (user:PW@host:port, http=user:PW@host:port).
std::vector<std::pair<std::size_t, std::size_t>> password_spans(std::string_view text);
// The same for one argument of argv, knowing the one before it: the value of --proxy-user
// (curl's USER:PASSWORD, as `--proxy-user u:pw` or `--proxy-user=u:pw`) holds a password too.
std::vector<std::pair<std::size_t, std::size_t>> argument_password_spans(std::string_view previous,
                                                                         std::string_view arg);

// The option table: the parser, --help, `COMMAND --help`, the man page's OPTIONS and the bash
// completion are all read from it, so none of them can name an option the others lack.
enum CommandBit : unsigned {
  kProbe = 1,
  kList = 2,
  kPac = 4,
  kReport = 8,
  kDiff = 16,
  kMerge = 32,
  kServe = 64,
  kAllCommands = 127
};

struct CommandSpec {
  std::string_view name;
  CommandBit bit;
  std::string_view usage;    // "urlprobe diff OLD.jsonl NEW.jsonl [options]"
  std::string_view summary;  // one or two sentences
  std::string_view example;
};

// How the bash completion offers an option's value.
enum class Complete { free, file, words, comma_words };

struct Parsing;  // the parser's state, for the handlers (options.cpp)

struct OptionSpec {
  std::string_view name;   // "--timeout"
  std::string_view alias;  // "-o" for "--output", or empty
  std::string_view value;  // "DURATION"; empty: a flag
  unsigned commands;       // CommandBit mask; options sharing a name have disjoint masks
  std::string_view section;
  std::string_view help;  // one paragraph, wrapped where it is rendered
  Complete complete = Complete::free;
  std::string_view words;  // for words and comma_words: "text json csv"
  void (*apply)(Parsing&, std::string_view name, std::string_view value) = nullptr;
};

struct SectionSpec {
  std::string_view name;
  std::string_view intro;  // after the heading
  std::string_view outro;  // after the options
};

std::span<const CommandSpec> command_table();
std::span<const OptionSpec> option_table();
std::span<const SectionSpec> section_table();
// "--timeout DURATION", "-o FILE, --output FILE"
std::string option_label(const OptionSpec& option);

// 10, 2.5 (seconds), 500ms, 3s, 2m, 1h, 1m30s: greater than 0, at most 24h. Throws UsageError
// naming OPTION.
std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text);

// Greedy word wrap at spaces: the first line starts with LEAD, the others are indented by INDENT
// spaces; ends with a newline. How --help, COMMAND --help and the completion lay out text.
std::string wrap_text(std::string_view text, std::string lead, std::size_t indent,
                      std::size_t width = 100);

std::string usage_text();                            // urlprobe --help
std::string command_help(std::string_view command);  // urlprobe COMMAND --help

}  // namespace urlprobe::cli
