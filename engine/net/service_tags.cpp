#include "net/service_tags.hpp"

#include "base/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>

namespace urlprobe::net {

namespace {

// A JSON value with the byte offset it starts at: errors about a member (a bad prefix, a name
// that is not a string) point at the member itself, not at the end of the document.
struct Node {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  std::size_t offset = 0;
  std::string text;                // a string's value
  std::vector<Node> items;         // an array's items, or an object's member values
  std::vector<std::string> names;  // an object's member names, one per item

  const Node* member(std::string_view name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return &items[i];
    return nullptr;
  }
};

struct Failure {
  std::size_t offset;
  std::string message;
};

// RFC 8259, strictly: the file is machine-written, so anything else is damage worth naming.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  Node document() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") at_ = 3;
    Node root = value(0);
    skip_space();
    if (at_ != text_.size()) fail("unexpected text after the JSON document");
    return root;
  }

 private:
  // Nesting deeper than this is no service tags file, and would only exhaust the stack.
  static constexpr int kMaxDepth = 32;

  [[noreturn]] void fail(std::string message) const { throw Failure{at_, std::move(message)}; }

  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }

  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }

  void expect(char c, std::string_view what) {
    skip_space();
    if (peek() != c)
      fail(at_ < text_.size() ? fmt::format("expected {}", what)
                              : fmt::format("expected {}, not the end", what));
    ++at_;
  }

  void literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) fail("expected a JSON value");
    at_ += word.size();
  }

  Node value(int depth) {
    if (depth > kMaxDepth) fail("nested too deeply");
    skip_space();
    Node node;
    node.offset = at_;
    switch (peek()) {
      case '{':
        node.kind = Node::Kind::object;
        object(node, depth);
        break;
      case '[':
        node.kind = Node::Kind::array;
        array(node, depth);
        break;
      case '"':
        node.kind = Node::Kind::string;
        node.text = string();
        break;
      case 't':
        node.kind = Node::Kind::boolean;
        literal("true");
        break;
      case 'f':
        node.kind = Node::Kind::boolean;
        literal("false");
        break;
      case 'n':
        literal("null");
        break;
      default:
        node.kind = Node::Kind::number;
        number();
    }
    return node;
  }

  void object(Node& node, int depth) {
    ++at_;
    skip_space();
    if (peek() == '}') {
      ++at_;
      return;
    }
    while (true) {
      skip_space();
      if (peek() != '"') fail("expected a member name in double quotes");
      auto name = string();
      expect(':', "':' after the member name");
      node.names.push_back(std::move(name));
      node.items.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect('}', "',' or '}'");
      return;
    }
  }

  void array(Node& node, int depth) {
    ++at_;
    skip_space();
    if (peek() == ']') {
      ++at_;
      return;
    }
    while (true) {
      node.items.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect(']', "',' or ']'");
      return;
    }
  }

  unsigned hex4() {
    unsigned v = 0;
    const auto* begin = text_.data() + at_;
    const auto [end, ec] =
        std::from_chars(begin, text_.data() + std::min(text_.size(), at_ + 4), v, 16);
    if (ec != std::errc{} || end != begin + 4) fail("expected four hex digits after \\u");
    at_ += 4;
    return v;
  }

  std::string string() {
    ++at_;  // the opening quote
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_];
      if (c == '"') {
        ++at_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        ++at_;
        continue;
      }
      ++at_;
      const char e = peek();
      ++at_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && text_.substr(at_, 2) == "\\u") {
            at_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("a high surrogate without its low half");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          base::append_utf8(out, cp);
          break;
        }
        default:
          --at_;
          fail("unknown escape in a string");
      }
    }
  }

  void number() {
    const auto start = at_;
    if (peek() == '-') ++at_;
    auto digits = [&] {
      const auto from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      return at_ - from;
    };
    if (peek() == '0') {
      ++at_;
    } else if (digits() == 0) {
      at_ = start;
      fail("expected a JSON value");
    }
    if (peek() == '.') {
      ++at_;
      if (digits() == 0) fail("expected a digit after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++at_;
      if (peek() == '+' || peek() == '-') ++at_;
      if (digits() == 0) fail("expected a digit in the exponent");
    }
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

void locate(std::string_view text, std::size_t offset, ServiceTagsError& error) {
  offset = std::min(offset, text.size());
  error.line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++error.line;
      line_start = i + 1;
    }
  error.column = static_cast<int>(offset - line_start) + 1;
}

const char* kind_name(Node::Kind kind) {
  switch (kind) {
    case Node::Kind::null:
      return "null";
    case Node::Kind::boolean:
      return "a boolean";
    case Node::Kind::number:
      return "a number";
    case Node::Kind::string:
      return "a string";
    case Node::Kind::array:
      return "an array";
    case Node::Kind::object:
      return "an object";
  }
  return "a value";
}

void require(const Node& node, Node::Kind kind, std::string_view what) {
  if (node.kind != kind)
    throw Failure{node.offset, fmt::format("{} is {}, expected {}", what, kind_name(node.kind),
                                           kind_name(kind))};
}

bool parse_prefix(std::string_view cidr, boost::asio::ip::address& address, unsigned& length) {
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  boost::system::error_code ec;
  address = boost::asio::ip::make_address(std::string(cidr.substr(0, slash)), ec);
  if (ec) return false;
  const auto digits = cidr.substr(slash + 1);
  const auto [end, lec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  return !digits.empty() && lec == std::errc{} && end == digits.data() + digits.size() &&
         length <= (address.is_v6() ? 128u : 32u);
}

}  // namespace

template <typename Key>
std::vector<ServiceTags::Segment<Key>> ServiceTags::segments(std::vector<Range<Key>> ranges) {
  // Boundaries where the set of covering tags changes: a tag joins at its range's first address
  // and leaves after its last. Sweeping them in order gives disjoint segments, so overlapping and
  // nested prefixes (AzureCloud holds AzureCloud.eastus) cost one lookup, not a scan.
  struct Event {
    Key at;
    std::uint32_t tag;
    bool joins;
  };
  std::vector<Event> events;
  events.reserve(ranges.size() * 2);
  for (const auto& r : ranges) {
    events.push_back({r.first, r.tag, true});
    if (r.last != static_cast<Key>(~Key{0}))
      events.push_back({static_cast<Key>(r.last + 1), r.tag, false});
  }
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.at < b.at; });
  std::map<std::vector<std::uint32_t>, std::uint32_t> interned;
  interned.emplace(std::vector<std::uint32_t>{}, 0);
  if (sets_.empty()) sets_.emplace_back();
  std::map<std::uint32_t, int> active;  // tag -> how many of its prefixes cover this point
  std::vector<Segment<Key>> out;
  for (std::size_t i = 0; i < events.size();) {
    const Key at = events[i].at;
    for (; i < events.size() && events[i].at == at; ++i) {
      auto& count = active[events[i].tag];
      count += events[i].joins ? 1 : -1;
      if (count == 0) active.erase(events[i].tag);
    }
    std::vector<std::uint32_t> set;
    set.reserve(active.size());
    for (const auto& [tag, count] : active) set.push_back(tag);
    auto [it, added] = interned.emplace(std::move(set), 0);
    if (added) {
      it->second = static_cast<std::uint32_t>(sets_.size());
      sets_.push_back(it->first);
    }
    if (!out.empty() && out.back().set == it->second) continue;
    out.push_back({at, it->second});
  }
  return out;
}

std::optional<ServiceTags> ServiceTags::parse(std::string_view text, ServiceTagsError& error) {
  try {
    const Node root = JsonReader(text).document();
    require(root, Node::Kind::object, "the document");
    ServiceTags tags;
    if (const auto* cloud = root.member("cloud"); cloud && cloud->kind == Node::Kind::string)
      tags.cloud_ = cloud->text;
    const auto* values = root.member("values");
    if (!values) throw Failure{root.offset, "no \"values\" array: not a service tags file"};
    require(*values, Node::Kind::array, "\"values\"");
    std::vector<Range<std::uint32_t>> v4;
    std::vector<Range<V6>> v6;
    for (const auto& entry : values->items) {
      require(entry, Node::Kind::object, "an entry of \"values\"");
      const auto* name = entry.member("name");
      if (!name) throw Failure{entry.offset, "an entry of \"values\" has no \"name\""};
      require(*name, Node::Kind::string, "\"name\"");
      const auto tag = static_cast<std::uint32_t>(tags.names_.size());
      tags.names_.push_back(name->text);
      const auto* properties = entry.member("properties");
      if (!properties) continue;
      require(*properties, Node::Kind::object, "\"properties\"");
      const auto* prefixes = properties->member("addressPrefixes");
      if (!prefixes) continue;
      require(*prefixes, Node::Kind::array, "\"addressPrefixes\"");
      for (const auto& prefix : prefixes->items) {
        require(prefix, Node::Kind::string, "an address prefix");
        const std::string_view cidr = prefix.text;
        boost::asio::ip::address address;
        unsigned length = 0;
        if (!parse_prefix(cidr, address, length))
          throw Failure{prefix.offset,
                        fmt::format("'{}' in tag {} is not an address prefix (ADDRESS/LENGTH, "
                                    "LENGTH up to 32 for IPv4, 128 for IPv6)",
                                    cidr, name->text)};
        ++tags.prefixes_;
        if (address.is_v4()) {
          const std::uint32_t host = length == 0 ? ~0u : (length == 32 ? 0u : ~0u >> length);
          const std::uint32_t first = address.to_v4().to_uint() & ~host;
          v4.push_back({first, first | host, tag});
        } else {
          V6 value = 0;
          for (const auto byte : address.to_v6().to_bytes()) value = (value << 8) | byte;
          const V6 host = length == 0 ? ~V6{0} : (length == 128 ? V6{0} : ~V6{0} >> length);
          v6.push_back({value & ~host, (value & ~host) | host, tag});
        }
      }
    }
    tags.v4_ = tags.segments(std::move(v4));
    tags.v6_ = tags.segments(std::move(v6));
    return tags;
  } catch (const Failure& failure) {
    locate(text, failure.offset, error);
    error.message = failure.message;
    return std::nullopt;
  }
}

std::vector<std::string> ServiceTags::names_of(std::uint32_t set) const {
  std::vector<std::string> out;
  for (const auto tag : sets_[set]) out.push_back(names_[tag]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> ServiceTags::tags_of(const boost::asio::ip::address& address) const {
  auto find = [&](const auto& segments, auto key) -> std::vector<std::string> {
    auto it = std::upper_bound(segments.begin(), segments.end(), key,
                               [](auto k, const auto& s) { return k < s.first; });
    if (it == segments.begin()) return {};
    return names_of(std::prev(it)->set);
  };
  if (address.is_v4()) return find(v4_, address.to_v4().to_uint());
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return find(v4_, boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_uint());
  V6 value = 0;
  for (const auto byte : v6.to_bytes()) value = (value << 8) | byte;
  return find(v6_, value);
}

}  // namespace urlprobe::net
