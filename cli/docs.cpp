#include "docs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <map>
#include <stdexcept>
#include <vector>

#include "options.hpp"

namespace urlprobe::cli {

namespace {

constexpr std::string_view kManBegin =
    ".\\\" BEGIN GENERATED OPTIONS: urlprobe_docgen writes this part from the option table in "
    "cli/options.cpp; edit that and run `make docs`.\n";
constexpr std::string_view kManEnd = ".\\\" END GENERATED OPTIONS\n";

std::string roff(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  // A line starting with '.' or '\'' would be a request.
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// An option's help is a fragment that may start with a literal value ("xlsx, csv ..."): it keeps
// its case. A section's prose is made a sentence.
std::string ended(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out.back() != '.') out += '.';
  return out;
}

std::string sentence(std::string_view text) {
  std::string out = ended(text);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string man_label(const OptionSpec& option) {
  const auto one = [&](std::string_view name) {
    return option.value.empty()
               ? fmt::format("\\fB{}\\fR", roff(name))
               : fmt::format("\\fB{}\\fR \\fI{}\\fR", roff(name), roff(option.value));
  };
  return option.alias.empty() ? one(option.name)
                              : fmt::format("{}, {}", one(option.alias), one(option.name));
}

std::string command_list(unsigned mask) {
  std::vector<std::string_view> names;
  for (const auto& c : command_table())
    if (mask & c.bit) names.push_back(c.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string man_options() {
  std::string out = ".nh\n";  // no hyphens put into option names, host names and URLs
  for (const auto& section : section_table()) {
    out += fmt::format(".SS {}\n", section.name);
    if (!section.intro.empty()) out += roff(sentence(section.intro)) + "\n";
    for (const auto& option : option_table()) {
      if (option.section != section.name) continue;
      out += ".TP\n" + man_label(option) + "\n" + roff(ended(option.help)) + "\n";
      if (option.commands != kAllCommands)
        out += ".br\n" + roff(fmt::format("Commands: {}.", command_list(option.commands))) + "\n";
    }
    if (!section.outro.empty()) out += ".PP\n" + roff(sentence(section.outro)) + "\n";
  }
  return out + ".hy\n";
}

// "a | b | c" for a case arm, continued with '\\' where it would pass 100 columns.
std::string case_pattern(const std::vector<std::string>& names) {
  constexpr std::size_t kIndent = 8, kWidth = 98;
  std::string out;
  std::size_t column = kIndent;
  for (const auto& name : names) {
    if (out.empty()) {
      out = name;
      column += name.size();
    } else if (column + 3 + name.size() > kWidth) {
      out += " | \\\n" + std::string(kIndent, ' ') + name;
      column = kIndent + name.size();
    } else {
      out += " | " + name;
      column += 3 + name.size();
    }
  }
  return out;
}

std::string value_completion(const OptionSpec& option) {
  switch (option.complete) {
    case Complete::file:
      return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))";
    case Complete::words:
      return fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", option.words);
    case Complete::comma_words:
      // A comma-separated list: complete its last element.
      return fmt::format("_urlprobe_list \"{}\"", option.words);
    case Complete::free:
      break;
  }
  return ":";  // a free-form value
}

// The shell patterns of the commands in MASK; probe is also the empty (implied) command.
std::string command_patterns(unsigned mask) {
  std::vector<std::string> patterns;
  for (const auto& c : command_table())
    if (mask & c.bit) patterns.emplace_back(c.name);
  return fmt::format("{}", fmt::join(patterns, " | "));
}

}  // namespace

std::string man_page(std::string_view page) {
  const auto begin = page.find(kManBegin);
  const auto end = page.find(kManEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    throw std::runtime_error(fmt::format("the man page has no lines '{}' ... '{}'",
                                         kManBegin.substr(0, kManBegin.size() - 1),
                                         kManEnd.substr(0, kManEnd.size() - 1)));
  std::string out(page.substr(0, begin + kManBegin.size()));
  out += man_options();
  out += page.substr(end);
  return out;
}

std::string bash_completion() {
  std::string commands;
  for (const auto& c : command_table())
    commands += (commands.empty() ? "" : " ") + std::string(c.name);

  // case $prev: one arm per distinct way of completing, each listing its options.
  std::vector<std::string> names;  // in table order, each once
  for (const auto& option : option_table()) {
    if (option.value.empty()) continue;
    for (const auto name : {option.name, option.alias})
      if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
        names.emplace_back(name);
  }
  std::vector<std::string> bodies;
  std::map<std::string, std::vector<std::string>> names_of_body;
  for (const auto& name : names) {
    std::vector<const OptionSpec*> specs;
    for (const auto& option : option_table())
      if (!option.value.empty() && (option.name == name || option.alias == name))
        specs.push_back(&option);
    std::string body = value_completion(*specs.front());
    bool same = true;
    for (const auto* spec : specs) same = same && value_completion(*spec) == body;
    if (!same) {
      body = "case $cmd in\n";
      for (const auto* spec : specs)
        body += fmt::format("                {}) {} ;;\n", command_patterns(spec->commands),
                            value_completion(*spec));
      body += "            esac";
    }
    if (!names_of_body.contains(body)) bodies.push_back(body);
    names_of_body[body].push_back(name);
  }
  std::string prev_cases;
  for (const auto& body : bodies) {
    prev_cases += fmt::format("        {})\n            {}\n            return ;;\n",
                              case_pattern(names_of_body[body]), body);
  }

  std::string option_cases;
  for (const auto& c : command_table()) {
    std::vector<std::string> words;
    for (const auto& option : option_table()) {
      if (!(option.commands & c.bit)) continue;
      for (const auto name : {option.alias, option.name})
        if (!name.empty() && std::find(words.begin(), words.end(), name) == words.end())
          words.emplace_back(name);
    }
    auto opts = wrap_text(fmt::format("{}", fmt::join(words, " ")), "                opts=\"", 22);
    opts.pop_back();  // the newline: the quote closes on the last line
    option_cases += fmt::format("            {})\n{}\" ;;\n", c.name, opts);
  }

  return fmt::format(
      R"(# bash completion for urlprobe(1)                                  -*- shell-script -*-
# Installed as /usr/share/bash-completion/completions/urlprobe (loaded on demand).
# Generated by urlprobe_docgen from the option table in cli/options.cpp: edit that and run
# `make docs`; tests/cli/docs_test.cpp fails while this file differs.

# Completes the last element of a comma-separated list of the words in $1.
_urlprobe_list()
{{
    local head="" last=$cur
    if [[ $cur == *,* ]]; then head=${{cur%,*}},; last=${{cur##*,}}; fi
    COMPREPLY=($(compgen -P "$head" -W "$1" -- "$last"))
    compopt -o nospace 2>/dev/null
}}

_urlprobe()
{{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -n = || return
    else
        cur=${{COMP_WORDS[COMP_CWORD]}}
        prev=${{COMP_WORDS[COMP_CWORD-1]}}
        words=("${{COMP_WORDS[@]}}")
        cword=$COMP_CWORD
    fi

    # Only the first argument names a command; without one it is probe.
    local commands="{commands}"
    local cmd=probe
    if ((cword > 1)); then
        case ${{words[1]}} in
            {command_patterns}) cmd=${{words[1]}} ;;
        esac
    fi

    # The value of an option that takes one.
    case $prev in
{prev_cases}    esac

    if [[ $cur == -* ]]; then
        local opts
        case $cmd in
{option_cases}        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi

    # First word: a command, or (probe being the default) a sheet or URL.
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    # Sheets, results files and PAC scripts are files.
    compopt -o filenames 2>/dev/null
    COMPREPLY+=($(compgen -f -- "$cur"))
}} &&
    complete -F _urlprobe urlprobe

# ex: filetype=sh
)",
      fmt::arg("commands", commands), fmt::arg("command_patterns", command_patterns(kAllCommands)),
      fmt::arg("prev_cases", prev_cases), fmt::arg("option_cases", option_cases));
}

}  // namespace urlprobe::cli
