#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "options.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;

namespace {

cli::Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "urlprobe");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string usage_error(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const cli::UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a usage error";
  return {};
}

}  // namespace

// The defaults: a Prometheus exporter on loopback only, sweeping every quarter hour.
TEST(Options, ServeListensOnLoopback9815AndSweepsEveryFifteenMinutesByDefault) {
  const auto o = parse({"serve", "sheet.csv"});
  EXPECT_EQ(o.command, "serve");
  EXPECT_EQ(o.listen, "127.0.0.1:9815");
  EXPECT_EQ(o.every, std::chrono::minutes(15));
  const auto set = parse({"serve", "--listen", ":9100", "--every", "90s", "sheet.csv"});
  EXPECT_EQ(set.listen, ":9100");
  EXPECT_EQ(set.every, std::chrono::seconds(90));
}

TEST(Options, DefaultsAreTheAnalyzersFiveMethodsInOrderWithTenSecondTimeout) {
  const auto o = parse({});
  EXPECT_EQ(o.command, "probe");
  EXPECT_TRUE(o.inputs.empty());
  EXPECT_EQ(o.methods, (std::vector<route::Method>{route::Method::default_proxy,
                                                   route::Method::wpad, route::Method::direct,
                                                   route::Method::named, route::Method::cli}));
  EXPECT_EQ(o.sweep.probe.timeouts.total, std::chrono::milliseconds(10000));
}

TEST(Options, ValuesInlineAndSeparate) {
  const auto o =
      parse({"probe", "urls.txt", "--timeout=2.5", "--concurrency", "64", "https://a.example/",
             "--resolve", "a.example:443:127.0.0.1", "-o", "out.jsonl", "--dns-timeout", "1"});
  EXPECT_EQ(o.inputs, (std::vector<std::string>{"urls.txt", "https://a.example/"}));
  EXPECT_EQ(o.sweep.probe.timeouts.total, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.sweep.probe.timeouts.connect, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.sweep.probe.timeouts.dns, std::chrono::milliseconds(1000));
  EXPECT_EQ(o.sweep.concurrency, 64u);
  ASSERT_EQ(o.sweep.resolver.pins.size(), 1u);
  ASSERT_EQ(o.outputs.size(), 1u);
  EXPECT_EQ(o.outputs[0].format, report::Format::jsonl);
}

TEST(Options, ErrorsNameTheOption) {
  EXPECT_THAT(usage_error({"--timeout", "abc"}), HasSubstr("--timeout"));
  EXPECT_THAT(usage_error({"--timeout", "-1"}), HasSubstr("--timeout"));
  EXPECT_THAT(usage_error({"--concurrency", "0"}), HasSubstr("--concurrency"));
  EXPECT_THAT(usage_error({"--expect-status", "200,abc"}), HasSubstr("--expect-status"));
  EXPECT_THAT(usage_error({"--resolve", "nope"}), HasSubstr("--resolve"));
  EXPECT_THAT(usage_error({"--dns-server", "127.0.0.1:99999"}), HasSubstr("--dns-server"));
  EXPECT_THAT(usage_error({"--dns-server", "127.0.0.1:0"}), HasSubstr("1 to 65535"));
  EXPECT_THAT(usage_error({"--bogus"}), HasSubstr("--bogus"));
  EXPECT_THAT(usage_error({"--timeout"}), HasSubstr("needs a value"));
  EXPECT_THAT(usage_error({"-o", "x.pdf"}), HasSubstr("x.pdf"));
  EXPECT_THAT(usage_error({"--format", "yaml"}), HasSubstr("--format"));
}

TEST(Options, MethodsSelectAndOrderTheRoutes) {
  const auto o = parse({"--methods", "cli,direct,cli"});
  EXPECT_EQ(o.methods, (std::vector<route::Method>{route::Method::cli, route::Method::direct}));
}

TEST(Options, UnknownValuesAreRefusedClearly) {
  EXPECT_THAT(usage_error({"--methods", "carrier-pigeon"}), HasSubstr("unknown method"));
}

TEST(Options, ShardIsValidated) {
  const auto o = parse({"--shard", "2/3"});
  EXPECT_EQ(o.sweep.shard.k, 2u);
  EXPECT_EQ(o.sweep.shard.n, 3u);
  for (const auto* bad : {"0/3", "4/3", "1/0", "1", "a/b", "1/3x", "/3", "-1/3"})
    EXPECT_THAT(usage_error({"--shard", bad}), HasSubstr("--shard")) << bad;
}

TEST(Options, ResultCommands) {
  const auto d = parse({"diff", "a.jsonl", "b.jsonl", "--format", "json", "--slower-factor", "1.5",
                        "--slower-min-ms=10", "-o", "d.out"});
  EXPECT_EQ(d.command, "diff");
  EXPECT_EQ(d.inputs, (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  EXPECT_EQ(d.diff_format, "json");
  EXPECT_EQ(d.slower_factor, 1.5);
  EXPECT_EQ(d.slower_min_ms, 10);
  EXPECT_EQ(d.command_output, "d.out");
  EXPECT_THAT(usage_error({"diff", "--format", "csv"}), HasSubstr("for diff"));
  EXPECT_THAT(usage_error({"diff", "--slower-factor", "0.5"}), HasSubstr("--slower-factor"));
  const auto m = parse({"merge", "a", "b", "--prefer", "newest", "-o", "all.jsonl"});
  EXPECT_TRUE(m.prefer_newest);
  EXPECT_EQ(m.command_output, "all.jsonl");
  EXPECT_THAT(usage_error({"merge", "--prefer", "oldest"}), HasSubstr("--prefer"));
  EXPECT_THAT(usage_error({"merge", "-o", "a", "-o", "b"}), HasSubstr("one output"));
  EXPECT_EQ(parse({"report", "r.jsonl", "-o", "out.whatever"}).command_output, "out.whatever");
}

TEST(Options, DiffHtmlAndMergeAllowPartial) {
  EXPECT_EQ(parse({"diff", "a", "b", "--format", "html"}).diff_format, "html");
  EXPECT_TRUE(parse({"merge", "a", "--allow-partial"}).allow_partial);
  EXPECT_FALSE(parse({"merge", "a"}).allow_partial);
  EXPECT_THAT(usage_error({"report", "a", "--allow-partial"}), HasSubstr("--allow-partial"));
}

// Issue 18: slower is per probe; diff renders html; merge refuses missing shards.
TEST(Options, HelpStatesDiffAndMergeRules) {
  const auto help = urlprobe::cli::usage_text();
  EXPECT_NE(help.find("[--format text|json|html]"), std::string::npos);
  EXPECT_NE(help.find("slower: a probe ok in both runs"), std::string::npos);
  EXPECT_NE(help.find("--allow-partial"), std::string::npos);
  EXPECT_EQ(help.find("median"), std::string::npos) << "slower is no longer a route's median";
}

TEST(StatusExpectation, RangesAndSingles) {
  probe::StatusExpectation e;
  std::string error;
  ASSERT_TRUE(probe::parse_status_expectation("200,204,300-399", e, error)) << error;
  EXPECT_TRUE(e.accepts(200));
  EXPECT_TRUE(e.accepts(204));
  EXPECT_TRUE(e.accepts(302));
  EXPECT_FALSE(e.accepts(201));
  EXPECT_FALSE(e.accepts(404));
  EXPECT_FALSE(probe::parse_status_expectation("399-300", e, error));
  EXPECT_FALSE(probe::parse_status_expectation("99", e, error));
  EXPECT_TRUE(probe::StatusExpectation{}.accepts(503));  // default: any origin status is reachable
}

TEST(Options, ArgumentsForReportsHaveNoPassword) {
  const auto o =
      parse({"--proxy", "http://probe:s3cr3t-Pa55@127.0.0.1:3128", "https://a.example/"});
  ASSERT_EQ(o.redacted_arguments.size(), 3u);
  EXPECT_EQ(o.redacted_arguments[1], "http://probe:***@127.0.0.1:3128");
  for (const auto& arg : o.redacted_arguments)
    EXPECT_EQ(arg.find("s3cr3t"), std::string::npos) << arg;
}

// Issue 17: the Windows version rule and the pins are stated where users look first.
TEST(Options, HelpStatesTheWindowsRuleAndThePins) {
  const auto help = urlprobe::cli::usage_text();
  EXPECT_NE(help.find("--windows-version"), std::string::npos);
  EXPECT_NE(help.find("settings-win.data.microsoft.com"), std::string::npos);
  EXPECT_NE(help.find("*-v20*"), std::string::npos);
  EXPECT_NE(help.find("--pin NAME=FILE"), std::string::npos);
  EXPECT_NE(help.find("--onboarding FILE"), std::string::npos);
  EXPECT_NE(help.find("streamlined"), std::string::npos);
}

// Issue 18, conventions: durations as curl and Prometheus users write them; bare seconds still.
namespace {
std::chrono::milliseconds timeout_of(std::string text) {
  return parse({"--timeout", std::move(text)}).sweep.probe.timeouts.total;
}
}  // namespace

TEST(Durations, AsCurlAndPrometheusWriteThem) {
  using std::chrono::milliseconds;
  EXPECT_EQ(timeout_of("3s"), milliseconds(3000));
  EXPECT_EQ(timeout_of("500ms"), milliseconds(500));
  EXPECT_EQ(timeout_of("2m"), milliseconds(120000));
  EXPECT_EQ(timeout_of("1h"), milliseconds(3600000));
  EXPECT_EQ(timeout_of("1m30s"), milliseconds(90000));
  EXPECT_EQ(timeout_of("1h2m3s4ms"), milliseconds(3723004));
  EXPECT_EQ(timeout_of("1.5s"), milliseconds(1500));
  EXPECT_EQ(timeout_of("10"), milliseconds(10000));
  EXPECT_EQ(timeout_of("2.5"), milliseconds(2500));
  EXPECT_EQ(timeout_of("24h"), milliseconds(86400000));
  const auto o = parse({"--dns-timeout", "750ms", "--connect-timeout=1m"});
  EXPECT_EQ(o.sweep.probe.timeouts.dns, milliseconds(750));
  EXPECT_EQ(o.sweep.probe.timeouts.connect, milliseconds(60000));
  EXPECT_EQ(parse({"pac", "--timeout", "2s", "x.pac"}).sweep.probe.timeouts.total,
            milliseconds(2000));
}

TEST(Durations, BadOnesAreRefusedNamingTheOption) {
  for (const auto* option : {"--timeout", "--dns-timeout", "--connect-timeout"})
    for (const auto* bad : {"3x",
                            "0",
                            "0s",
                            "0ms",
                            "-1s",
                            "-1",
                            "",
                            "s",
                            "ms",
                            "1s30m",
                            "1m1m",
                            "25h",
                            "99999999999999999999999h",
                            "1e400",
                            "1.5.2s",
                            "3 s",
                            "nan",
                            "inf",
                            "1m-30s",
                            "+3s",
                            ".s",
                            "3S"}) {
      const auto error = usage_error({option, bad});
      EXPECT_THAT(error, HasSubstr(option)) << bad;
      EXPECT_THAT(error, HasSubstr(fmt::format("'{}'", bad))) << option << " " << bad;
      EXPECT_THAT(error, HasSubstr("duration")) << option << " " << bad;
    }
}

// A mistyped command is named as one; a sheet or URL argument is never taken for one.
namespace {
struct InTempDir {
  std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::path dir;
  InTempDir() {
    dir = std::filesystem::temp_directory_path() /
          fmt::format("urlprobe-options-{}-{}", ::getpid(), ++count);
    std::filesystem::create_directories(dir);
    std::filesystem::current_path(dir);
  }
  ~InTempDir() {
    std::filesystem::current_path(old);
    std::filesystem::remove_all(dir);
  }
  static inline int count = 0;
};
}  // namespace

TEST(UnknownCommand, AMistypedCommandSuggestsTheNearest) {
  InTempDir here;
  EXPECT_EQ(usage_error({"lsit"}), "unknown command 'lsit'; did you mean 'list'?");
  EXPECT_EQ(usage_error({"reprot", "a.jsonl"}), "unknown command 'reprot'; did you mean 'report'?");
  EXPECT_EQ(usage_error({"merg"}), "unknown command 'merg'; did you mean 'merge'?");
  EXPECT_EQ(usage_error({"dif"}), "unknown command 'dif'; did you mean 'diff'?");
  EXPECT_EQ(usage_error({"porbe"}), "unknown command 'porbe'; did you mean 'probe'?");
  EXPECT_EQ(usage_error({"List"}), "unknown command 'List'; did you mean 'list'?");
  EXPECT_EQ(usage_error({"rep"}), "unknown command 'rep'; did you mean 'report'?");
  EXPECT_EQ(usage_error({"help"}), "unknown command 'help'; did you mean '--help'?");
  const auto far = usage_error({"frobnicate"});
  EXPECT_THAT(far, HasSubstr("'frobnicate'"));
  EXPECT_THAT(far, HasSubstr("not a command (probe, list, pac, report, diff, merge, serve)"));
}

TEST(UnknownCommand, SheetsAndUrlsAreNeverTakenForACommand) {
  InTempDir here;
  // Not there (the sweep says "cannot open" later), but they have a '.', a '/' or a "://".
  for (const auto* input : {"sheet.xlsx", "lsit.csv", "dir/lsit", "./lsit", "https://lsit.example/",
                            "/tmp/no-such-dir/list", "-"})
    EXPECT_EQ(parse({input}).inputs, std::vector<std::string>{input}) << input;
  // An existing file named like a mistyped command is a sheet.
  std::ofstream("lsit") << "https://a.example/\n";
  std::filesystem::create_directory("merg");
  EXPECT_EQ(parse({"lsit"}).inputs, std::vector<std::string>{"lsit"});
  EXPECT_EQ(parse({"merg"}).inputs, std::vector<std::string>{"merg"});
  // Only the first argument can be a command.
  EXPECT_EQ(parse({"a.txt", "reprot"}).inputs, (std::vector<std::string>{"a.txt", "reprot"}));
  EXPECT_EQ(parse({"--geo", "EU", "dif"}).inputs, std::vector<std::string>{"dif"});
}

// An option of another command is refused, naming both.
TEST(CommandOptions, AnOptionOfAnotherCommandIsRefusedNamingBoth) {
  EXPECT_EQ(usage_error({"diff", "--proxy", "http://p:3128"}),
            "--proxy: not an option of 'diff' (see urlprobe diff --help)");
  EXPECT_EQ(usage_error({"diff", "a", "b", "--proxy=http://p:3128"}),
            "--proxy: not an option of 'diff' (see urlprobe diff --help)");
  EXPECT_EQ(usage_error({"merge", "--slower-factor", "2"}),
            "--slower-factor: not an option of 'merge' (see urlprobe merge --help)");
  EXPECT_EQ(usage_error({"list", "--timeout", "3"}),
            "--timeout: not an option of 'list' (see urlprobe list --help)");
  EXPECT_EQ(usage_error({"report", "--methods", "direct"}),
            "--methods: not an option of 'report' (see urlprobe report --help)");
  EXPECT_EQ(usage_error({"pac", "--format", "json"}),
            "--format: not an option of 'pac' (see urlprobe pac --help)");
  EXPECT_EQ(usage_error({"--readiness"}),
            "--readiness: not an option of 'probe' (see urlprobe probe --help)");
  EXPECT_EQ(usage_error({"probe", "--prefer", "newest"}),
            "--prefer: not an option of 'probe' (see urlprobe probe --help)");
  EXPECT_EQ(usage_error({"diff", "--bogus"}), "--bogus: unknown option (see --help)");
  // What each command does take still parses.
  EXPECT_TRUE(parse({"report", "r.jsonl", "--readiness", "--geo", "EU", "--require", "any-method"})
                  .readiness_only);
  EXPECT_EQ(parse({"list", "--pin", "lab=ca.pem", "--builtin", "gov"}).pin_files.size(), 1u);
  EXPECT_EQ(
      parse({"pac", "--client-ip", "10.0.0.1", "--dns-server", "127.0.0.1", "x.pac"}).client_ip,
      "10.0.0.1");
}

TEST(CommandOptions, DiffAndMergeTakeTheirNewOptions) {
  EXPECT_EQ(parse({"diff", "a", "b", "--format", "html"}).diff_format, "html");
  EXPECT_TRUE(parse({"merge", "a", "b", "--allow-partial"}).allow_partial);
  EXPECT_EQ(usage_error({"diff", "--allow-partial"}),
            "--allow-partial: not an option of 'diff' (see urlprobe diff --help)");
}

// Issue 18: the analyzer's transcript by name, for probe and report alike; '-' is an input.
TEST(Options, AnalyzerFormatAndStdinInput) {
  for (const char* command : {"probe", "report"}) {
    const auto o = parse({command, "--format", "analyzer", "-"});
    EXPECT_TRUE(o.stdout_format_set) << command;
    EXPECT_EQ(o.stdout_format, report::Format::analyzer) << command;
    EXPECT_EQ(o.inputs, std::vector<std::string>{"-"}) << command;
  }
  const auto help = cli::usage_text();
  EXPECT_THAT(help, HasSubstr("analyzer"));
  EXPECT_THAT(help, HasSubstr("the Client Analyzer's transcript"));
  EXPECT_THAT(help, HasSubstr("'-' reads URLs\nfrom stdin"));
}

// --source-address (issue 22): a list, repeatable, for probe and serve; each probe takes the next
// address of each family in turn; a family without an address binds nothing.
TEST(Options, SourceAddressesTakeTurnsPerFamilyAndBadOnesNameTheOption) {
  EXPECT_TRUE(parse({}).sweep.probe.sources.empty());
  const auto o =
      parse({"--source-address", "127.0.0.2, ::1", "--source-address=127.0.0.3", "a.csv"});
  const auto v4 = [](const net::SourceBinding& b) { return b.v4 ? b.v4->to_string() : "-"; };
  const auto first = o.sweep.probe.sources.next(), second = o.sweep.probe.sources.next(),
             third = o.sweep.probe.sources.next();
  EXPECT_EQ(v4(first), "127.0.0.2");
  EXPECT_EQ(v4(second), "127.0.0.3");
  EXPECT_EQ(v4(third), "127.0.0.2");
  ASSERT_TRUE(first.v6 && second.v6);
  EXPECT_EQ(first.v6->to_string(), "::1");
  EXPECT_EQ(second.v6->to_string(), "::1");
  const auto only_v6 = parse({"--source-address", "::1"}).sweep.probe.sources.next();
  EXPECT_FALSE(only_v6.v4);

  EXPECT_FALSE(
      parse({"serve", "--source-address", "127.0.0.2", "a.csv"}).sweep.probe.sources.empty());
  for (const auto* bad :
       {"", "127.0.0.256", "proxy.example", "0.0.0.0", "::", "224.0.0.1", "127.0.0.2,,x"})
    EXPECT_THAT(usage_error({"--source-address", bad}), HasSubstr("--source-address")) << bad;
}
