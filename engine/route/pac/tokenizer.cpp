#include "route/detail/pac_tokenizer.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace urlprobe::route::detail {
namespace {

struct Token {
  enum Kind { ident, punct, literal } kind;
  std::string_view text;
  bool is(char c) const { return kind == punct && text.size() == 1 && text[0] == c; }
  bool is(std::string_view word) const { return kind == ident && text == word; }
};

bool ident_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c == '\\' || c >= 0x80;
}

bool is_keyword(std::string_view w) {
  static const std::set<std::string_view> words = {
      "break",  "case",    "catch", "continue", "debugger", "default", "delete",     "do",
      "else",   "finally", "for",   "function", "if",       "in",      "instanceof", "new",
      "return", "switch",  "this",  "throw",    "try",      "typeof",  "var",        "void",
      "while",  "with",    "let",   "const",    "of",       "yield",   "await"};
  return words.count(w) != 0;
}

// False when the source is not understood (unterminated string, comment or regexp).
bool tokenize(std::string_view src, std::vector<Token>& out) {
  std::size_t i = 0;
  const std::size_t n = src.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(src[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '/') {
      while (i < n && src[i] != '\n' && src[i] != '\r') ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      const auto end = src.find("*/", i + 2);
      if (end == std::string_view::npos) return false;
      i = end + 2;
    } else if (c == '\'' || c == '"' || c == '`') {
      const std::size_t start = i++;
      while (i < n && static_cast<unsigned char>(src[i]) != c) {
        if (src[i] == '\\') {
          i += 2;  // also a line continuation
          continue;
        }
        if (c != '`' && (src[i] == '\n' || src[i] == '\r')) return false;
        ++i;
      }
      if (i >= n) return false;
      ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && i + 1 < n && src[i + 1] >= '0' && src[i + 1] <= '9')) {
      const std::size_t start = i;
      while (i < n && (ident_char(static_cast<unsigned char>(src[i])) || src[i] == '.')) ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else if (ident_char(c)) {
      const std::size_t start = i;
      while (i < n && ident_char(static_cast<unsigned char>(src[i]))) ++i;
      out.push_back({Token::ident, src.substr(start, i - start)});
    } else if (c == '/') {
      // A regexp literal where an expression starts; a division after an operand.
      bool division = false;
      if (!out.empty()) {
        const auto& prev = out.back();
        division = prev.kind == Token::literal ||
                   (prev.kind == Token::ident && !is_keyword(prev.text)) || prev.is(')') ||
                   prev.is(']');
      }
      if (division) {
        out.push_back({Token::punct, src.substr(i++, 1)});
        continue;
      }
      const std::size_t start = i++;
      bool in_class = false;
      while (i < n && (in_class || src[i] != '/')) {
        if (src[i] == '\n' || src[i] == '\r') return false;
        if (src[i] == '\\') {
          i += 2;
          continue;
        }
        if (src[i] == '[') in_class = true;
        if (src[i] == ']') in_class = false;
        ++i;
      }
      if (i >= n) return false;
      ++i;
      while (i < n && ident_char(static_cast<unsigned char>(src[i]))) ++i;
      out.push_back({Token::literal, src.substr(start, i - start)});
    } else {
      out.push_back({Token::punct, src.substr(i++, 1)});
    }
  }
  return true;
}

class PathReadAnalysis {
 public:
  explicit PathReadAnalysis(std::string_view source) {
    ok_ = tokenize(source, toks_) && match_brackets() && find_functions();
  }

  bool reads(std::string_view function, std::size_t param) {
    if (!ok_) return true;
    std::set<std::pair<std::string_view, std::size_t>> seen;
    return reads(function, param, seen);
  }

 private:
  struct Function {
    std::vector<std::string_view> params;
    bool opaque = false;              // parameter list not understood
    std::size_t open = 0, close = 0;  // body braces
  };

  bool match_brackets() {
    match_.assign(toks_.size(), 0);
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      if (toks_[i].is('(') || toks_[i].is('[') || toks_[i].is('{')) {
        stack.push_back(i);
      } else if (toks_[i].is(')') || toks_[i].is(']') || toks_[i].is('}')) {
        if (stack.empty()) return false;
        const char open = toks_[stack.back()].text[0];
        const char close = toks_[i].text[0];
        if ((open == '(' && close != ')') || (open == '[' && close != ']') ||
            (open == '{' && close != '}'))
          return false;
        match_[i] = stack.back();
        match_[stack.back()] = i;
        stack.pop_back();
      }
    }
    return stack.empty();
  }

  bool find_functions() {
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      const auto& t = toks_[i];
      // NAME = something other than a function: the name may end up bound to anything.
      if (t.kind == Token::ident && i + 2 < toks_.size() && toks_[i + 1].is('=') &&
          !toks_[i + 2].is('=') && !toks_[i + 2].is("function"))
        reassigned_.insert(t.text);
      if (!t.is("function") || (i > 0 && toks_[i - 1].is('.'))) continue;
      std::vector<std::string_view> names;
      std::size_t p = i + 1;
      if (p < toks_.size() && toks_[p].kind == Token::ident) names.push_back(toks_[p++].text);
      if (i >= 2 && toks_[i - 1].is('=') && toks_[i - 2].kind == Token::ident)
        names.push_back(toks_[i - 2].text);
      if (p >= toks_.size() || !toks_[p].is('(')) return false;
      Function f;
      const std::size_t params_end = match_[p];
      for (std::size_t k = p + 1; k < params_end; ++k) {
        if (toks_[k].kind == Token::ident && !is_keyword(toks_[k].text) &&
            (k + 1 == params_end || toks_[k + 1].is(','))) {
          f.params.push_back(toks_[k].text);
          ++k;
        } else {
          f.opaque = true;
          break;
        }
      }
      if (params_end + 1 >= toks_.size() || !toks_[params_end + 1].is('{')) return false;
      f.open = params_end + 1;
      f.close = match_[f.open];
      for (auto name : names) functions_[name].push_back(f);
    }
    return true;
  }

  // When token i is a whole argument of a call `name(.., i, ..)`: the callee and the position.
  std::optional<std::pair<std::string_view, std::size_t>> call_argument(std::size_t i,
                                                                        std::size_t begin) const {
    if (i == 0 || i + 1 >= toks_.size()) return std::nullopt;
    if (!(toks_[i - 1].is('(') || toks_[i - 1].is(',')) ||
        !(toks_[i + 1].is(')') || toks_[i + 1].is(',')))
      return std::nullopt;
    std::size_t position = 0;
    std::size_t j = i - 1;
    while (j > begin) {
      const auto& t = toks_[j];
      if (t.is(')') || t.is(']') || t.is('}')) {
        j = match_[j] - 1;
        continue;
      }
      if (t.is('(')) break;
      if (t.is('[') || t.is('{')) return std::nullopt;
      if (t.is(',')) ++position;
      --j;
    }
    if (j <= begin || !toks_[j].is('(') || j < 1) return std::nullopt;
    const auto& callee = toks_[j - 1];
    if (callee.kind != Token::ident || is_keyword(callee.text)) return std::nullopt;
    if (j >= 2 && (toks_[j - 2].is('.') || toks_[j - 2].is("function"))) return std::nullopt;
    return std::make_pair(callee.text, position);
  }

  bool reads(std::string_view function, std::size_t param,
             std::set<std::pair<std::string_view, std::size_t>>& seen) {
    if (!seen.emplace(function, param).second) return false;  // already being looked at
    auto it = functions_.find(function);
    if (it == functions_.end() || reassigned_.count(function) != 0) return true;
    for (const auto& f : it->second) {
      if (f.opaque) return true;
      const std::string_view name = param < f.params.size() ? f.params[param] : std::string_view{};
      for (std::size_t i = f.open + 1; i < f.close; ++i) {
        const auto& t = toks_[i];
        if (t.kind != Token::ident) continue;
        if (t.text.find('\\') != std::string_view::npos) return true;  // \u0075rl is url
        if (t.text == "arguments" || t.text == "eval") return true;
        if (name.empty() || t.text != name || toks_[i - 1].is('.')) continue;
        const auto call = call_argument(i, f.open);
        if (!call || reads(call->first, call->second, seen)) return true;
      }
    }
    return false;
  }

  std::vector<Token> toks_;
  std::vector<std::size_t> match_;
  std::map<std::string_view, std::vector<Function>> functions_;
  std::set<std::string_view> reassigned_;
  bool ok_ = false;
};

}  // namespace

bool reads_path(std::string_view source, std::string_view function) {
  return PathReadAnalysis(source).reads(function, 0);
}

}  // namespace urlprobe::route::detail
