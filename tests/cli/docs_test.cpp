// The man page, the bash completion and the help are rendered from the parser's option table
// (issue 18): the committed files are exactly what urlprobe_docgen writes, and every option the
// parser takes is in each of them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "docs.hpp"
#include "options.hpp"
#include "sheet/sheet.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const std::filesystem::path kPackaging =
    std::filesystem::path(URLPROBE_TESTS_DIR).parent_path() / "packaging";

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string roff_name(std::string_view name) {
  std::string out;
  for (const char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

std::set<std::string_view> option_names(unsigned commands = cli::kAllCommands) {
  std::set<std::string_view> names;
  for (const auto& option : cli::option_table()) {
    if (!(option.commands & commands)) continue;
    names.insert(option.name);
    if (!option.alias.empty()) names.insert(option.alias);
  }
  return names;
}

cli::Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "urlprobe");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::parse_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(Docs, TheCommittedManPageIsTheGeneratedOne) {
  const auto committed = read(kPackaging / "urlprobe.1");
  EXPECT_EQ(cli::man_page(committed), committed)
      << "packaging/urlprobe.1 differs from the option table: run `make docs`";
}

TEST(Docs, TheCommittedCompletionIsTheGeneratedOne) {
  EXPECT_EQ(cli::bash_completion(), read(kPackaging / "urlprobe.bash-completion"))
      << "packaging/urlprobe.bash-completion differs from the option table: run `make docs`";
}

TEST(Docs, EveryOptionIsInTheManPageAndTheCompletion) {
  const auto man = read(kPackaging / "urlprobe.1");
  const auto completion = read(kPackaging / "urlprobe.bash-completion");
  // The ones users missed before the table.
  for (const auto* name : {"--require", "--readiness", "--slower-factor", "--slower-min-ms",
                           "--allow-partial", "--output"})
    EXPECT_TRUE(option_names().contains(name)) << name;
  // The completion's words, as bash splits them (and case patterns, and quoted lists).
  std::set<std::string> words;
  std::string word;
  for (const char c : completion + " ") {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '|' || c == ')') {
      if (!word.empty()) words.insert(word);
      word.clear();
    } else {
      word += c;
    }
  }
  for (const auto name : option_names()) {
    EXPECT_THAT(man, HasSubstr(fmt::format("\\fB{}\\fR", roff_name(name)))) << name;
    EXPECT_TRUE(words.contains(std::string(name))) << name;
  }
}

TEST(Docs, AManPageWithoutTheMarkersIsRefused) {
  EXPECT_THROW(cli::man_page(".TH URLPROBE 1\n.SH OPTIONS\n"), std::runtime_error);
}

TEST(CommandHelp, EachCommandHasItsOwnShortHelpWithItsOptionsAndAnExample) {
  const auto full = cli::usage_text();
  for (const auto& command : cli::command_table()) {
    const std::string name(command.name);
    const auto o = parse({name, "--help"});
    EXPECT_TRUE(o.help) << name;
    EXPECT_TRUE(o.command_given) << name;
    EXPECT_EQ(o.command, name);
    const auto help = cli::command_help(name);
    EXPECT_THAT(help, HasSubstr(fmt::format("Usage: {}", command.usage))) << name;
    EXPECT_THAT(help, HasSubstr("Example:\n  urlprobe ")) << name;
    EXPECT_LT(help.size(), full.size()) << name;
    // Each option line of the help starts with its label; none of another command's.
    for (const auto& option : cli::option_table()) {
      const auto line = fmt::format("\n  {}", cli::option_label(option));
      if (option.commands & command.bit) {
        EXPECT_THAT(help, HasSubstr(line)) << name;
      } else if (!option_names(command.bit).contains(option.name)) {
        EXPECT_THAT(help, Not(HasSubstr(line))) << name;
      }
    }
  }
  EXPECT_FALSE(parse({"--help"}).command_given);
  EXPECT_THAT(cli::command_help("diff"), HasSubstr("--slower-factor"));
  EXPECT_THAT(cli::command_help("diff"), Not(HasSubstr("--proxy")));
  for (const auto option : option_names()) EXPECT_THAT(full, HasSubstr(option)) << option;
}

// The table is the parser: each option is taken by its commands and refused by the others.
TEST(OptionTable, EachOptionIsTakenByItsCommandsAndRefusedByTheOthers) {
  const auto table = cli::option_table();
  for (std::size_t a = 0; a < table.size(); ++a)
    for (std::size_t b = a + 1; b < table.size(); ++b)
      if (table[a].name == table[b].name) {
        EXPECT_EQ(table[a].commands & table[b].commands, 0u) << table[a].name;
      }
  for (const auto& command : cli::command_table())
    for (const auto& option : table) {
      std::vector<std::string> args{std::string(command.name), std::string(option.name)};
      if (!option.value.empty()) args.emplace_back("\x01");
      std::string error;
      try {
        parse(args);
      } catch (const cli::UsageError& e) {
        error = e.what();
      }
      const bool taken = std::any_of(table.begin(), table.end(), [&](const auto& other) {
        return other.name == option.name && (other.commands & command.bit);
      });
      if (taken)
        EXPECT_THAT(error, Not(HasSubstr("option"))) << command.name << " " << option.name;
      else
        EXPECT_EQ(error, fmt::format("{}: not an option of '{}' (see urlprobe {} --help)",
                                     option.name, command.name, command.name));
    }
}

TEST(OptionTable, TheBuiltinSheetsOfferedAreTheCatalogs) {
  std::string names;
  for (const auto& info : sheet::builtin_catalog())
    names += fmt::format("{}{}", names.empty() ? "" : " ", info.name);
  for (const auto& option : cli::option_table())
    if (option.name == "--builtin") {
      EXPECT_EQ(option.words, names);
    }
}
