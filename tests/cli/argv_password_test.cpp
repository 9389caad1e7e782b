// Passwords typed on the command line: found in every form the proxy options accept, masked in
// what reports echo, and warned about once, without the warning repeating them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.hpp"

namespace urlprobe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "urlprobe");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string masked(std::string text) {
  const auto spans = password_spans(text);
  for (auto span = spans.rbegin(); span != spans.rend(); ++span)
    text.replace(span->first, span->second, "***");
  return text;
}

TEST(ArgvPassword, FoundInEveryProxyForm) {
  EXPECT_EQ(masked("http://probe:s3cret@127.0.0.1:3128"), "http://probe:***@127.0.0.1:3128");
  EXPECT_EQ(masked("--proxy=socks5h://u:p@[::1]:1080"), "--proxy=socks5h://u:***@[::1]:1080");
  // The schemeless forms of --proxy and --named-proxy, and netsh's per-scheme one.
  EXPECT_EQ(masked("u:pw@proxy.example:3128"), "u:***@proxy.example:3128");
  EXPECT_EQ(masked("http=a:one@p:1;https=b:two@q:2"), "http=a:***@p:1;https=b:***@q:2");
  // An unencoded '@' in a password does not leave its tail behind.
  EXPECT_EQ(masked("http://u:pa@ss@host:3128"), "http://u:***@host:3128");
}

TEST(ArgvPassword, NothingFoundWithoutOne) {
  for (const std::string text :
       {"http://127.0.0.1:3128", "http://user@host:3128", "https://h/path@v2:x",
        "https://h/?q=a@b:c", "u:@host:1", "--timeout", "sheet.xlsx"})
    EXPECT_TRUE(password_spans(text).empty()) << text;
}

TEST(ArgvPassword, WarnsOnceNamingTheOptionsNotThePassword) {
  const auto o = parse({"--proxy", "http://probe:s3cret@127.0.0.1:3128",
                        "--named-proxy=admin:hunter2@10.0.0.6:8080", "https://example.org/"});
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_THAT(o.warnings[0], HasSubstr("--proxy, --named-proxy"));
  EXPECT_THAT(o.warnings[0], HasSubstr("ps"));
  EXPECT_THAT(o.warnings[0], HasSubstr("--proxy-password-file"));
  EXPECT_THAT(o.warnings[0], HasSubstr("URLPROBE_PROXY_PASSWORD"));
  EXPECT_THAT(o.warnings[0], Not(HasSubstr("s3cret")));
  EXPECT_THAT(o.warnings[0], Not(HasSubstr("hunter2")));
  // What reports echo of the command line.
  for (const auto& arg : o.redacted_arguments) {
    EXPECT_THAT(arg, Not(HasSubstr("s3cret")));
    EXPECT_THAT(arg, Not(HasSubstr("hunter2")));
  }
  EXPECT_EQ(o.redacted_arguments[2], "--named-proxy=admin:***@10.0.0.6:8080");
  // The options themselves keep the password: the probes need it.
  EXPECT_EQ(o.proxy, "http://probe:s3cret@127.0.0.1:3128");
}

// curl users type `--proxy-user USER:PASSWORD` (curl's -U): the password is split off at the
// first ':', never kept as part of the user name (which is printed), and masked like any other.
TEST(ArgvPassword, ProxyUserWithAPasswordIsSplitAsCurlDoesAndMasked) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--proxy-user", "probe:pw:with:colons"},
        std::vector<std::string>{"--proxy-user=probe:pw:with:colons"}}) {
    auto with_target = args;
    with_target.push_back("https://example.org/");
    const auto o = parse(with_target);
    EXPECT_EQ(o.proxy_user, "probe");
    ASSERT_TRUE(o.proxy_user_password.has_value());
    EXPECT_EQ(*o.proxy_user_password, "pw:with:colons");
    ASSERT_EQ(o.warnings.size(), 1u);
    EXPECT_THAT(o.warnings[0], HasSubstr("--proxy-user"));
    EXPECT_THAT(o.warnings[0], Not(HasSubstr("pw:with")));
    for (const auto& arg : o.redacted_arguments) EXPECT_THAT(arg, Not(HasSubstr("pw:with")));
  }
  EXPECT_EQ(argument_password_spans("--proxy-user", "probe:pw"),
            (std::vector<std::pair<std::size_t, std::size_t>>{{6, 2}}));
  EXPECT_EQ(argument_password_spans("", "--proxy-user=probe:pw"),
            (std::vector<std::pair<std::size_t, std::size_t>>{{19, 2}}));
  EXPECT_TRUE(argument_password_spans("--proxy-user", "probe").empty());
  EXPECT_TRUE(argument_password_spans("--timeout", "probe:pw").empty());
  const auto without = parse({"--proxy-user", "probe", "https://example.org/"});
  EXPECT_FALSE(without.proxy_user_password.has_value());
  EXPECT_TRUE(without.warnings.empty());
  EXPECT_THROW(parse({"--proxy-user", ":pw"}), UsageError);
}

TEST(ArgvPassword, NoWarningWhenThePasswordComesFromElsewhere) {
  const auto o = parse({"--proxy", "http://127.0.0.1:3128", "--proxy-user", "probe",
                        "--proxy-password-file", "/run/secrets/proxy"});
  EXPECT_TRUE(o.warnings.empty());
}

}  // namespace
}  // namespace urlprobe::cli
