// --web-config: a strict reader for the YAML subset exporter-toolkit's web configuration uses
// (no YAML library on a Debian-only stack), the TLS server context it describes, and bcrypt
// basic auth through libxcrypt.
#include "serve/web_config.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_set>

namespace urlprobe::serve {

namespace {

// ---------------------------------------------------------------------------------------------
// The YAML subset: block mappings by indentation, block or one-line flow sequences of scalars,
// plain / 'single' / "double" scalars, comments and one leading "---". Everything else (anchors,
// tags, flow mappings, block and multi-line scalars, several documents) is refused by position,
// because a reader that guessed would accept files exporter-toolkit rejects, or the reverse.

struct Pos {
  int line = 0, col = 0;
};

struct Node {
  enum class Kind { null, scalar, map, seq } kind = Kind::null;
  Pos pos;
  std::string text;  // scalar
  bool quoted = false;
  struct Entry;
  std::vector<Entry> map;
  std::vector<Node> seq;
};

struct Node::Entry {
  std::pair<std::string, Pos> first;  // the key and where it is
  Node second;
};

struct Line {
  int no;
  int indent;
  std::string_view body;  // after the indentation, '\r' removed; never empty or a comment
};

class Reader {
 public:
  Reader(std::string_view text, std::string_view source) : source_(source) { split(text); }

  Node document() {
    if (lines_.empty()) return Node{};
    Node root = block(lines_[0].indent);
    if (i_ < lines_.size()) fail({lines_[i_].no, lines_[i_].indent + 1}, "bad indentation");
    if (root.kind != Node::Kind::map) fail(root.pos, "expected a mapping at the top level");
    return root;
  }

  [[noreturn]] void fail(Pos at, const std::string& what) const {
    throw WebConfigError(source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.col) +
                         ": " + what);
  }

 private:
  void split(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    bool content_seen = false;
    for (int no = 1; !text.empty(); ++no) {
      const auto eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      for (std::size_t c = 0; c < line.size(); ++c) {
        const auto b = static_cast<unsigned char>(line[c]);
        if ((b < 0x20 && b != '\t') || b == 0x7f)
          fail({no, static_cast<int>(c) + 1}, "control character in the file");
      }
      std::size_t indent = 0;
      while (indent < line.size() && line[indent] == ' ') ++indent;
      const std::string_view body = line.substr(indent);
      const auto first = body.find_first_not_of(" \t");
      if (first == std::string_view::npos || body[first] == '#') continue;
      if (body[0] == '\t') fail({no, static_cast<int>(indent) + 1}, "tab in indentation");
      if (indent == 0 && (body == "---" || body.starts_with("--- ") || body.starts_with("---\t"))) {
        const auto rest = body.substr(3).find_first_not_of(" \t");
        if (content_seen) fail({no, 1}, "more than one YAML document");
        if (rest != std::string_view::npos && body[3 + rest] != '#')
          fail({no, static_cast<int>(4 + rest)}, "text after '---'");
        content_seen = true;
        continue;
      }
      if (indent == 0 && (body == "..." || body.starts_with("... ")))
        fail({no, 1}, "document end marker '...' is not supported");
      content_seen = true;
      lines_.push_back({no, static_cast<int>(indent), body});
    }
  }

  static bool is_item(std::string_view body) {
    return body == "-" || body.starts_with("- ") || body.starts_with("-\t");
  }

  // The format nests three levels; the bound keeps a hostile file from exhausting the stack.
  Node block(int indent) {
    if (++depth_ > 16) fail({lines_[i_].no, indent + 1}, "nested deeper than 16 levels");
    Node node = is_item(lines_[i_].body) ? sequence(indent) : mapping(indent);
    --depth_;
    return node;
  }

  Node sequence(int indent) {
    Node node;
    node.kind = Node::Kind::seq;
    node.pos = {lines_[i_].no, indent + 1};
    while (i_ < lines_.size() && lines_[i_].indent == indent && is_item(lines_[i_].body)) {
      const Line& line = lines_[i_];
      std::size_t at = 1;
      while (at < line.body.size() && (line.body[at] == ' ' || line.body[at] == '\t')) ++at;
      Cursor cur{line, at};
      if (cur.done()) fail(cur.pos(), "a sequence entry must be a scalar on the same line");
      if (looks_like_key(line.body.substr(at)))
        fail(cur.pos(), "a sequence entry must be a scalar, not a mapping");
      Node item = inline_value(cur);
      if (item.kind == Node::Kind::seq) fail(item.pos, "nested sequences are not supported");
      node.seq.push_back(std::move(item));
      ++i_;
      no_deeper(indent);
    }
    return node;
  }

  Node mapping(int indent) {
    Node node;
    node.kind = Node::Kind::map;
    node.pos = {lines_[i_].no, indent + 1};
    while (i_ < lines_.size() && lines_[i_].indent == indent) {
      const Line& line = lines_[i_];
      if (is_item(line.body)) fail({line.no, indent + 1}, "expected 'key: value', found '- '");
      Cursor cur{line, 0};
      const Pos key_pos = cur.pos();
      std::string key;
      if (cur.peek() == '"' || cur.peek() == '\'') {
        key = quoted(cur);
        if (cur.peek() != ':') fail(cur.pos(), "expected ':' after the key");
        cur.at += 1;
      } else {
        refuse_indicator(cur);
        const auto colon = key_colon(line.body);
        if (colon == std::string_view::npos) fail(key_pos, "expected 'key: value'");
        key = std::string(trim_right(line.body.substr(0, colon)));
        cur.at = colon + 1;
      }
      if (!cur.done() && cur.peek() != ' ' && cur.peek() != '\t')
        fail(cur.pos(), "expected a space after ':'");
      for (const auto& [seen, value] : node.map)
        if (seen.first == key)
          fail(key_pos, "duplicate key '" + key + "' (first on line " +
                            std::to_string(seen.second.line) + ")");
      cur.skip_blanks();
      Node value;
      if (!cur.done()) {
        value = inline_value(cur);
        ++i_;
        no_deeper(indent);
      } else {
        value.pos = cur.pos();
        ++i_;
        if (i_ < lines_.size() && lines_[i_].indent > indent) {
          value = block(lines_[i_].indent);
          if (i_ < lines_.size() && lines_[i_].indent > indent)
            fail({lines_[i_].no, lines_[i_].indent + 1}, "bad indentation");
        } else if (i_ < lines_.size() && lines_[i_].indent == indent && is_item(lines_[i_].body)) {
          value = sequence(indent);  // "key:\n- a": YAML lets a sequence sit at its key's column
        }
      }
      node.map.push_back({{std::move(key), key_pos}, std::move(value)});
    }
    return node;
  }

  void no_deeper(int indent) {
    if (i_ < lines_.size() && lines_[i_].indent > indent)
      fail({lines_[i_].no, lines_[i_].indent + 1},
           "bad indentation (a value continued on the next line is not supported; quote it on "
           "one line)");
  }

  struct Cursor {
    const Line& line;
    std::size_t at;
    bool done() const {
      return at >= line.body.size() || (line.body[at] == '#' && at > 0 &&
                                        (line.body[at - 1] == ' ' || line.body[at - 1] == '\t'));
    }
    char peek() const { return at < line.body.size() ? line.body[at] : '\0'; }
    Pos pos() const { return {line.no, line.indent + static_cast<int>(at) + 1}; }
    void skip_blanks() {
      while (at < line.body.size() && (line.body[at] == ' ' || line.body[at] == '\t')) ++at;
    }
  };

  static std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  // The ':' that ends a plain key: followed by a blank or the end, before any " #" comment.
  static std::size_t key_colon(std::string_view body) {
    for (std::size_t c = 0; c < body.size(); ++c) {
      if (body[c] == '#' && c > 0 && (body[c - 1] == ' ' || body[c - 1] == '\t'))
        return std::string_view::npos;
      if (body[c] == ':' && (c + 1 == body.size() || body[c + 1] == ' ' || body[c + 1] == '\t'))
        return c;
    }
    return std::string_view::npos;
  }

  static bool looks_like_key(std::string_view s) {
    if (s.empty() || s[0] == '"' || s[0] == '\'' || s[0] == '[') return false;
    return key_colon(s) != std::string_view::npos;
  }

  void refuse_indicator(const Cursor& cur) const {
    switch (cur.peek()) {
      case '{':
        fail(cur.pos(), "flow mappings ('{...}') are not supported");
      case '&':
        fail(cur.pos(), "anchors ('&') are not supported");
      case '*':
        fail(cur.pos(), "aliases ('*') are not supported");
      case '!':
        fail(cur.pos(), "tags ('!') are not supported");
      case '|':
      case '>':
        fail(cur.pos(), "block scalars ('|', '>') are not supported; quote the value on one line");
      case '?':
        fail(cur.pos(), "complex keys ('?') are not supported");
      case '%':
      case '@':
      case '`':
      case ',':
      case ']':
      case '}':
        fail(cur.pos(),
             std::string("a plain value cannot start with '") + cur.peek() + "'; quote it");
      default:
        break;
    }
  }

  void end_of_value(Cursor& cur) const {
    cur.skip_blanks();
    if (!cur.done()) fail(cur.pos(), "unexpected text after the value");
  }

  Node inline_value(Cursor& cur) {
    Node node;
    node.pos = cur.pos();
    const char c = cur.peek();
    if (c == '"' || c == '\'') {
      node.kind = Node::Kind::scalar;
      node.quoted = true;
      node.text = quoted(cur);
      end_of_value(cur);
      return node;
    }
    if (c == '[') {
      node.kind = Node::Kind::seq;
      const Pos open = cur.pos();
      ++cur.at;
      for (;;) {
        cur.skip_blanks();
        if (cur.at >= cur.line.body.size())
          fail(open, "unterminated '[' (a flow sequence must end on its line)");
        if (cur.peek() == ']') {
          ++cur.at;
          break;
        }
        Node item;
        item.pos = cur.pos();
        item.kind = Node::Kind::scalar;
        if (cur.peek() == '"' || cur.peek() == '\'') {
          item.quoted = true;
          item.text = quoted(cur);
        } else {
          if (cur.peek() == ',') fail(cur.pos(), "empty entry in a flow sequence");
          if (cur.peek() == '[') fail(cur.pos(), "nested sequences are not supported");
          refuse_indicator(cur);
          const auto start = cur.at;
          while (cur.at < cur.line.body.size() &&
                 std::string_view(",]#").find(cur.peek()) == std::string_view::npos) {
            if (cur.peek() == '[') fail(cur.pos(), "nested sequences are not supported");
            if (cur.peek() == ':' && cur.at + 1 < cur.line.body.size() &&
                cur.line.body[cur.at + 1] == ' ')
              fail(cur.pos(), "flow mappings are not supported");
            ++cur.at;
          }
          item.text = std::string(trim_right(cur.line.body.substr(start, cur.at - start)));
          if (item.text.empty()) fail(item.pos, "empty entry in a flow sequence");
        }
        node.seq.push_back(std::move(item));
        cur.skip_blanks();
        if (cur.at >= cur.line.body.size())
          fail(open, "unterminated '[' (a flow sequence must end on its line)");
        if (cur.peek() == ',') {
          ++cur.at;
        } else if (cur.peek() != ']') {
          fail(cur.pos(), "expected ',' or ']'");
        }
      }
      end_of_value(cur);
      return node;
    }
    refuse_indicator(cur);
    if (c == '-' && (cur.at + 1 == cur.line.body.size() || cur.line.body[cur.at + 1] == ' '))
      fail(cur.pos(), "a sequence entry cannot follow 'key:' on the same line");
    const auto start = cur.at;
    while (!cur.done()) {
      if (cur.peek() == ':' &&
          (cur.at + 1 == cur.line.body.size() || cur.line.body[cur.at + 1] == ' ' ||
           cur.line.body[cur.at + 1] == '\t'))
        fail(cur.pos(), "unexpected ':' in a plain value; quote the value");
      ++cur.at;
    }
    const std::string_view text = trim_right(cur.line.body.substr(start, cur.at - start));
    if (text == "~" || text == "null" || text == "Null" || text == "NULL") return node;
    node.kind = Node::Kind::scalar;
    node.text = std::string(text);
    return node;
  }

  std::string quoted(Cursor& cur) const {
    const Pos open = cur.pos();
    const char q = cur.peek();
    const std::string_view body = cur.line.body;
    std::string out;
    ++cur.at;
    for (;;) {
      if (cur.at >= body.size()) fail(open, "unterminated quoted string (it must end on its line)");
      const char c = body[cur.at];
      if (c == q) {
        if (q == '\'' && cur.at + 1 < body.size() && body[cur.at + 1] == '\'') {
          out += '\'';
          cur.at += 2;
          continue;
        }
        ++cur.at;
        return out;
      }
      if (q == '"' && c == '\\') {
        const Pos esc = cur.pos();
        if (cur.at + 1 >= body.size()) fail(esc, "unterminated escape");
        const char e = body[cur.at + 1];
        cur.at += 2;
        switch (e) {
          case '\\':
          case '"':
          case '/':
            out += e;
            break;
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'u': {
            if (cur.at + 4 > body.size()) fail(esc, "\\u needs four hex digits");
            unsigned cp = 0;
            for (int k = 0; k < 4; ++k) {
              const char h = body[cur.at + k];
              const int v = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
              if (v < 0) fail(esc, "\\u needs four hex digits");
              cp = cp * 16 + static_cast<unsigned>(v);
            }
            cur.at += 4;
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
              fail(esc, "\\u escape of NUL or a surrogate");
            if (cp < 0x80) {
              out += static_cast<char>(cp);
            } else if (cp < 0x800) {
              out += static_cast<char>(0xC0 | (cp >> 6));
              out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
              out += static_cast<char>(0xE0 | (cp >> 12));
              out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
              out += static_cast<char>(0x80 | (cp & 0x3F));
            }
            break;
          }
          default:
            fail(esc, std::string("unsupported escape '\\") + e + "'");
        }
        continue;
      }
      out += c;
      ++cur.at;
    }
  }

  std::string source_;
  std::vector<Line> lines_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The schema: exporter-toolkit's keys, strictly (its UnmarshalStrict refuses unknown keys too).

class Schema {
 public:
  Schema(const Reader& reader, WebConfig& config) : reader_(reader), config_(config) {}

  void root(const Node& root) {
    for (const auto& [key, value] : root.map) {
      if (key.first == "tls_server_config") {
        tls(expect_map(value, key));
      } else if (key.first == "http_server_config") {
        http(expect_map(value, key));
      } else if (key.first == "basic_auth_users") {
        users(expect_map(value, key));
      } else if (key.first == "rate_limit") {
        reader_.fail(key.second, "rate_limit is not supported by urlprobe serve");
      } else {
        unknown(key, "the top level (tls_server_config, http_server_config, basic_auth_users)");
      }
    }
  }

 private:
  using Key = std::pair<std::string, Pos>;

  const Node& expect_map(const Node& value, const Key& key) {
    if (value.kind == Node::Kind::null) return value;
    if (value.kind != Node::Kind::map) reader_.fail(value.pos, key.first + ": expected a mapping");
    return value;
  }

  std::string scalar(const Node& value, const Key& key) {
    if (value.kind == Node::Kind::null) return {};
    if (value.kind != Node::Kind::scalar) reader_.fail(value.pos, key.first + ": expected a value");
    return value.text;
  }

  bool boolean(const Node& value, const Key& key) {
    const std::string s = value.quoted ? std::string("\"") : scalar(value, key);
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    reader_.fail(value.pos, key.first + ": expected true or false");
  }

  std::vector<std::pair<std::string, Pos>> list(const Node& value, const Key& key) {
    std::vector<std::pair<std::string, Pos>> out;
    if (value.kind == Node::Kind::null) return out;
    if (value.kind != Node::Kind::seq) reader_.fail(value.pos, key.first + ": expected a list");
    for (const Node& item : value.seq) {
      if (item.kind != Node::Kind::scalar) reader_.fail(item.pos, key.first + ": empty entry");
      out.emplace_back(item.text, item.pos);
    }
    return out;
  }

  std::string where(Pos at) const {
    return config_.source + ":" + std::to_string(at.line) + ":" + std::to_string(at.col);
  }

  // exporter-toolkit joins a relative path to the config file's folder (JoinDir).
  std::string path(const Node& value, const Key& key) {
    std::string p = scalar(value, key);
    if (p.empty() || p.front() == '/') return p;
    const auto dir = std::filesystem::path(config_.source).parent_path();
    return dir.empty() ? p : (dir / p).string();
  }

  [[noreturn]] void unknown(const Key& key, const std::string& in) {
    reader_.fail(key.second, "unknown key '" + key.first + "' in " + in);
  }

  void tls(const Node& node) {
    std::optional<Pos> cert_at, key_at, ca_at, auth_at, min_at;
    for (const auto& [key, value] : node.map) {
      const std::string& k = key.first;
      if (k == "cert_file") {
        config_.cert_file = path(value, key);
        cert_at = key.second;
        config_.cert_file_at = where(value.pos);
      } else if (k == "key_file") {
        config_.key_file = path(value, key);
        key_at = key.second;
        config_.key_file_at = where(value.pos);
      } else if (k == "client_ca_file") {
        config_.client_ca_file = path(value, key);
        ca_at = key.second;
        config_.client_ca_file_at = where(value.pos);
      } else if (k == "client_auth_type") {
        config_.client_auth_type = scalar(value, key);
        static constexpr std::array kTypes{
            "NoClientCert",      "RequestClientCert",       "RequireAnyClientCert",
            "RequireClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
        if (!config_.client_auth_type.empty() &&
            std::find(kTypes.begin(), kTypes.end(), config_.client_auth_type) == kTypes.end())
          reader_.fail(value.pos, "client_auth_type: '" + config_.client_auth_type +
                                      "' is not NoClientCert, RequestClientCert, "
                                      "RequireAnyClientCert, VerifyClientCertIfGiven or "
                                      "RequireAndVerifyClientCert");
        auth_at = value.pos;
      } else if (k == "min_version" || k == "max_version") {
        std::string v = scalar(value, key);
        if (!v.empty() && v != "TLS10" && v != "TLS11" && v != "TLS12" && v != "TLS13")
          reader_.fail(value.pos, k + ": '" + v + "' is not TLS10, TLS11, TLS12 or TLS13");
        (k == "min_version" ? config_.min_version : config_.max_version) = std::move(v);
        if (k == "min_version") min_at = value.pos;
      } else if (k == "cipher_suites") {
        for (const auto& [name, at] : list(value, key)) {
          // Go accepts TLS 1.3's suites here and ignores them (they are not configurable);
          // exporter-toolkit's own examples list them, so they are accepted and ignored here too.
          if (name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
              name == "TLS_CHACHA20_POLY1305_SHA256")
            continue;
          // Go names suites as IANA does; OpenSSL maps those names to its own.
          const char* ossl = OPENSSL_cipher_name(name.c_str());
          if (ossl == nullptr || std::strcmp(ossl, "(NONE)") == 0)
            reader_.fail(at, "cipher_suites: '" + name + "' is not a TLS 1.2 cipher suite name");
          config_.cipher_suites.emplace_back(ossl);
        }
      } else if (k == "curve_preferences") {
        for (const auto& [name, at] : list(value, key)) {
          static constexpr std::array<std::pair<std::string_view, const char*>, 4> kCurves{
              {{"CurveP256", "P-256"},
               {"CurveP384", "P-384"},
               {"CurveP521", "P-521"},
               {"X25519", "X25519"}}};
          const auto it = std::find_if(kCurves.begin(), kCurves.end(),
                                       [&](const auto& c) { return c.first == name; });
          if (it == kCurves.end())
            reader_.fail(at, "curve_preferences: '" + name +
                                 "' is not CurveP256, CurveP384, CurveP521 or X25519");
          config_.curve_preferences.emplace_back(it->second);
        }
      } else if (k == "prefer_server_cipher_suites") {
        config_.prefer_server_cipher_suites = boolean(value, key);
      } else if (k == "cert" || k == "key" || k == "client_ca") {
        reader_.fail(key.second, k + ": inline PEM is not supported; use " + k + "_file");
      } else if (k == "client_allowed_sans") {
        reader_.fail(key.second, "client_allowed_sans is not supported by urlprobe serve");
      } else {
        unknown(key, "tls_server_config");
      }
    }
    const bool any = cert_at || key_at || ca_at || auth_at || min_at ||
                     !config_.max_version.empty() || !config_.cipher_suites.empty() ||
                     !config_.curve_preferences.empty();
    if (!any) return;
    if (config_.cert_file.empty() && config_.key_file.empty())
      reader_.fail(cert_at.value_or(key_at.value_or(node.pos)),
                   "tls_server_config needs cert_file and key_file");
    if (config_.key_file.empty()) reader_.fail(*cert_at, "cert_file is set but key_file is not");
    if (config_.cert_file.empty()) reader_.fail(*key_at, "key_file is set but cert_file is not");
    const std::string& type = config_.client_auth_type;
    if (!config_.client_ca_file.empty() && (type.empty() || type == "NoClientCert"))
      reader_.fail(*ca_at,
                   "client_ca_file is set but client_auth_type does not ask for client "
                   "certificates (use RequireAndVerifyClientCert)");
    const auto rank = [](const std::string& v) { return v.empty() ? -1 : v[4] - '0'; };
    if (rank(config_.min_version) >= 0 && rank(config_.max_version) >= 0 &&
        rank(config_.min_version) > rank(config_.max_version))
      reader_.fail(*min_at, "min_version is above max_version");
  }

  void http(const Node& node) {
    for (const auto& [key, value] : node.map) {
      if (key.first == "http2") {
        if (boolean(value, key))
          reader_.fail(value.pos, "http2: urlprobe serve speaks HTTP/1.1 only; set http2: false");
      } else if (key.first == "headers") {
        headers(expect_map(value, key));
      } else {
        unknown(key, "http_server_config");
      }
    }
  }

  void headers(const Node& node) {
    static constexpr std::array kNames{"Content-Security-Policy", "X-Frame-Options",
                                       "X-Content-Type-Options", "X-XSS-Protection",
                                       "Strict-Transport-Security"};
    for (const auto& [key, value] : node.map) {
      if (std::find(kNames.begin(), kNames.end(), key.first) == kNames.end())
        unknown(key, "http_server_config.headers");
      const std::string v = scalar(value, key);
      if (v.empty()) continue;  // "Unset if blank"
      if (v.find_first_of("\r\n") != std::string::npos)
        reader_.fail(value.pos, key.first + ": a header value cannot hold a line break");
      const std::string lower = [&] {
        std::string s = v;
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
      }();
      if (key.first == "X-Frame-Options" && lower != "deny" && lower != "sameorigin")
        reader_.fail(value.pos, "X-Frame-Options: expected deny or sameorigin");
      if (key.first == "X-Content-Type-Options" && lower != "nosniff")
        reader_.fail(value.pos, "X-Content-Type-Options: expected nosniff");
      config_.headers.emplace_back(key.first, v);
    }
  }

  static bool bcrypt_hash(std::string_view h) {
    // $2a$, $2b$ or $2y$, a two-digit cost 04..31, then 22 salt and 31 hash characters.
    if (h.size() != 60 || h.substr(0, 2) != "$2" || h[3] != '$' || h[6] != '$') return false;
    if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
    const int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31) return false;
    return std::all_of(h.begin() + 7, h.end(), [](char c) {
      return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
             (c >= '0' && c <= '9');
    });
  }

  void users(const Node& node) {
    for (const auto& [key, value] : node.map) {
      if (key.first.empty()) reader_.fail(key.second, "basic_auth_users: empty user name");
      if (key.first.find(':') != std::string::npos)
        reader_.fail(key.second, "basic_auth_users: a user name cannot contain ':'");
      if (value.kind != Node::Kind::scalar || !bcrypt_hash(value.text))
        reader_.fail(value.kind == Node::Kind::null ? key.second : value.pos,
                     "basic_auth_users: the value for '" + key.first +
                         "' is not a bcrypt hash ($2y$, $2b$ or $2a$, 60 characters; make one "
                         "with: htpasswd -nBC 10 \"\" | tr -d ':\\n')");
      config_.basic_auth_users.emplace_back(key.first, value.text);
    }
  }

  const Reader& reader_;
  WebConfig& config_;
};

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "rejected by OpenSSL";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string read_file(const std::string& path, const std::string& at, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WebConfigError(at + ": " + what + " " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw WebConfigError(at + ": " + what + " " + path + ": read error");
  return text.str();
}

int tls_version(const std::string& name) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS13") return TLS1_3_VERSION;
  return TLS1_2_VERSION;
}

// Strict RFC 4648 base64 with padding, as Go's base64.StdEncoding reads basic auth.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k)
      if ((v[k] = value(in[i + k])) < 0) return std::nullopt;
    if (pad == 2) {
      if (v[1] & 0x0F) return std::nullopt;
      out += static_cast<char>(v[0] << 2 | v[1] >> 4);
    } else if (pad == 1) {
      if (v[2] & 0x03) return std::nullopt;
      out += static_cast<char>(v[0] << 2 | v[1] >> 4);
      out += static_cast<char>((v[1] & 0x0F) << 4 | v[2] >> 2);
    } else {
      out += static_cast<char>(v[0] << 2 | v[1] >> 4);
      out += static_cast<char>((v[1] & 0x0F) << 4 | v[2] >> 2);
      out += static_cast<char>((v[2] & 0x03) << 6 | v[3]);
    }
  }
  return out;
}

bool bcrypt_matches(const std::string& password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), setting.c_str(), data.get(), sizeof *data);
  const bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == setting.size() &&
                  CRYPTO_memcmp(out, setting.data(), setting.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  return ok;
}

}  // namespace

WebConfig parse_web_config(std::string_view yaml, std::string_view source) {
  WebConfig config;
  config.source = std::string(source);
  Reader reader(yaml, source);
  const Node root = reader.document();
  Schema(reader, config).root(root);
  return config;
}

WebConfig read_web_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WebConfigError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw WebConfigError(path + ": cannot read");
  return parse_web_config(text.str(), path);
}

boost::asio::ssl::context make_server_tls(const WebConfig& config) {
  namespace ssl = boost::asio::ssl;
  if (!config.tls()) throw WebConfigError(config.source + ": no tls_server_config.cert_file");
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  ctx.set_options(ssl::context::default_workarounds | ssl::context::single_dh_use |
                  ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(
      native, tls_version(config.min_version.empty() ? std::string("TLS12") : config.min_version));
  SSL_CTX_set_max_proto_version(native,
                                config.max_version.empty() ? 0 : tls_version(config.max_version));
  if (config.prefer_server_cipher_suites)
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);

  const std::string cert = read_file(config.cert_file, config.cert_file_at, "cert_file");
  const std::string key = read_file(config.key_file, config.key_file_at, "key_file");
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(cert), ec);
  if (ec)
    throw WebConfigError(config.cert_file_at + ": cert_file " + config.cert_file +
                         ": not a PEM certificate (" + ec.message() + ")");
  // Read the key apart so that a key of another certificate is called that, not a bad key.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key.data(), static_cast<int>(key.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!pkey)
    throw WebConfigError(config.key_file_at + ": key_file " + config.key_file +
                         ": not a PEM private key (" + openssl_reason() + ")");
  if (X509_check_private_key(SSL_CTX_get0_certificate(native), pkey.get()) != 1) {
    ERR_clear_error();
    throw WebConfigError(config.key_file_at + ": key_file " + config.key_file +
                         " does not match cert_file " + config.cert_file);
  }
  if (SSL_CTX_use_PrivateKey(native, pkey.get()) != 1 || SSL_CTX_check_private_key(native) != 1)
    throw WebConfigError(config.key_file_at + ": key_file " + config.key_file + ": " +
                         openssl_reason());

  // Without a session id context OpenSSL refuses resumed sessions once peers are verified.
  static constexpr unsigned char kContext[] = "urlprobe-serve";
  SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  const std::string& type = config.client_auth_type;
  if (!config.client_ca_file.empty()) {
    const std::string ca =
        read_file(config.client_ca_file, config.client_ca_file_at, "client_ca_file");
    ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    if (ec)
      throw WebConfigError(config.client_ca_file_at + ": client_ca_file " + config.client_ca_file +
                           ": not a PEM certificate (" + ec.message() + ")");
    // Names the CAs in the CertificateRequest, so clients pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    ERR_clear_error();
  } else if (type == "VerifyClientCertIfGiven" || type == "RequireAndVerifyClientCert") {
    // Go verifies client certificates against the host's roots when no client CA is given
    // (tls.Config.ClientCAs nil); exporter-toolkit's files rely on it, so do the same.
    SSL_CTX_set_default_verify_paths(native);
  }
  // Go's tls.ClientAuthType, in OpenSSL's terms: Request/RequireAny ask for a certificate but
  // accept any; the Verify kinds check it against client_ca_file (or the host's roots).
  if (type == "RequestClientCert" || type == "RequireAnyClientCert" ||
      type == "RequireClientCert") {
    ctx.set_verify_mode(type == "RequestClientCert"
                            ? ssl::verify_peer
                            : ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  } else if (type == "VerifyClientCertIfGiven") {
    ctx.set_verify_mode(ssl::verify_peer);
  } else if (type == "RequireAndVerifyClientCert") {
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx.set_verify_mode(ssl::verify_none);
  }

  if (!config.cipher_suites.empty()) {
    std::string list;
    for (const auto& c : config.cipher_suites) list += (list.empty() ? "" : ":") + c;
    if (SSL_CTX_set_cipher_list(native, list.c_str()) != 1)
      throw WebConfigError(config.source + ": cipher_suites: " + openssl_reason());
  }
  if (!config.curve_preferences.empty()) {
    std::string list;
    for (const auto& c : config.curve_preferences) list += (list.empty() ? "" : ":") + c;
    if (SSL_CTX_set1_groups_list(native, list.c_str()) != 1)
      throw WebConfigError(config.source + ": curve_preferences: " + openssl_reason());
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------------

struct BasicAuth::Cache {
  static constexpr std::size_t kMax = 256;
  std::mutex mutex;
  std::unordered_set<std::string> verified;
  std::deque<std::string> order;  // oldest first, for eviction
};

BasicAuth::BasicAuth(std::vector<std::pair<std::string, std::string>> users)
    : users_(std::move(users)), cache_(std::make_shared<Cache>()) {
  if (users_.empty()) return;
  unsigned long cost = 4;
  for (const auto& [user, hash] : users_)
    if (hash.size() > 6 && hash.compare(0, 2, "$2") == 0)
      cost = std::max(cost, std::strtoul(hash.substr(4, 2).c_str(), nullptr, 10));
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof setting) == nullptr)
    throw WebConfigError("basic_auth_users: cannot make a bcrypt salt: " +
                         std::string(std::strerror(errno)));
  dummy_setting_ = setting;
}

bool BasicAuth::allows(std::string_view header) const {
  if (users_.empty()) return true;
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!header.empty() && blank(header.front())) header.remove_prefix(1);
  while (!header.empty() && blank(header.back())) header.remove_suffix(1);
  // The scheme is case-insensitive (RFC 7235 section 2.1).
  if (header.size() < 6 || (header[0] | 0x20) != 'b' || (header[1] | 0x20) != 'a' ||
      (header[2] | 0x20) != 's' || (header[3] | 0x20) != 'i' || (header[4] | 0x20) != 'c' ||
      !blank(header[5]))
    return false;
  header.remove_prefix(6);
  while (!header.empty() && blank(header.front())) header.remove_prefix(1);
  if (header.size() > 4096) return false;
  const auto decoded = base64_decode(header);
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  // crypt_rn reads a C string, and bcrypt reads at most 72 bytes: either would let a longer
  // or NUL-cut password match, so neither is accepted.
  if (decoded->find('\0') != std::string::npos || password.size() > 72) return false;

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned digest_size = 0;
  const std::string keyed = user + '\0' + password;
  if (EVP_Digest(keyed.data(), keyed.size(), digest.data(), &digest_size, EVP_sha256(), nullptr) !=
      1)
    return false;
  const std::string key(reinterpret_cast<const char*>(digest.data()), digest_size);
  {
    std::lock_guard lock(cache_->mutex);
    if (cache_->verified.contains(key)) return true;
  }
  const auto it =
      std::find_if(users_.begin(), users_.end(), [&](const auto& u) { return u.first == user; });
  if (it == users_.end()) {
    (void)bcrypt_matches(password, dummy_setting_);
    return false;
  }
  if (!bcrypt_matches(password, it->second)) return false;
  std::lock_guard lock(cache_->mutex);
  if (cache_->verified.insert(key).second) {
    cache_->order.push_back(key);
    if (cache_->order.size() > Cache::kMax) {
      cache_->verified.erase(cache_->order.front());
      cache_->order.pop_front();
    }
  }
  return true;
}

}  // namespace urlprobe::serve
