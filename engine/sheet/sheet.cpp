#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>

#include "sheet/builtin.hpp"
#include "sheet/reader.hpp"
#include "sheet/url.hpp"

namespace urlprobe::sheet {

std::string format_input_error(const InputError& e) {
  const auto severity = e.warning ? "warning" : "error";
  if (!e.cell.empty()) return fmt::format("{}:{}: {}: {}", e.source, e.cell, severity, e.message);
  return fmt::format("{}:{}:{}: {}: {}", e.source, e.line, e.column, severity, e.message);
}

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

std::variant<Target, UrlError> parse_target_url(std::string_view text) {
  // Boost.URL says what is wrong but not where; the usual culprits are located first so the
  // user gets a column that points at them.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7f)
      return UrlError{static_cast<int>(i) + 1,
                      c == ' ' ? "space in URL (percent-encode it as %20)"
                               : fmt::format("unexpected character 0x{:02x} in URL", c)};
  }
  if (text.empty()) return UrlError{1, "empty URL"};

  std::string absolute;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    absolute = "https://" + std::string(text);  // a bare host, as the vendor sheets write them
  } else if (starts_with_icase(text, "https://") || starts_with_icase(text, "http://")) {
    absolute = std::string(text);
  } else {
    return UrlError{1, fmt::format("unsupported scheme '{}' (expected http or https)",
                                   text.substr(0, scheme_end))};
  }
  const int offset = scheme_end == std::string_view::npos ? -8 : 0;  // columns in the user's text

  auto parsed = boost::urls::parse_uri(absolute);
  if (!parsed) return UrlError{1, fmt::format("not a valid URL: {}", parsed.error().message())};
  const boost::urls::url_view& u = *parsed;

  Target t;
  t.scheme = starts_with_icase(absolute, "https://") ? kHttps : kHttp;
  if (u.has_userinfo()) {
    return UrlError{static_cast<int>(absolute.find("://")) + 4 + offset,
                    "credentials in a target URL are not supported"};
  }
  t.host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.host_address())
                                                         : std::string(u.host());
  if (t.host.empty()) return UrlError{1, "URL has no host"};
  for (auto& c : t.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.host.find('%') != std::string::npos)
    return UrlError{1, "percent-encoded host names are not supported"};
  // A name whose last label is a number ("12345", "10.1.2") is no DNS name, and browsers read it
  // as an IPv4 address in another notation: a number cell pasted into a URL column, not a host.
  if (u.host_type() == boost::urls::host_type::name) {
    const std::string_view last = std::string_view(t.host).substr(t.host.rfind('.') + 1);
    if (all_digits(last))
      return UrlError{
          static_cast<int>(absolute.find("://")) + 4 + offset,
          fmt::format("host '{}' is a number, not a name or a dotted IPv4 address", t.host)};
  }

  if (u.has_port()) {
    // The column of the first port digit, in the user's text.
    const auto port_pos =
        static_cast<int>(absolute.find("://") + 3 + u.encoded_host().size()) + 2 + offset;
    const auto number = u.port_number();
    if (u.port().empty() || number == 0 || std::to_string(number) != std::string(u.port()))
      return UrlError{port_pos, fmt::format("port '{}' is not a number from 1 to 65535",
                                            std::string(u.port()))};
    t.port = number;
  } else {
    t.port = t.scheme == "https" ? 443 : 80;
  }

  t.path = std::string(u.encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());

  const bool default_port =
      (t.scheme == "https" && t.port == 443) || (t.scheme == "http" && t.port == 80);
  const bool v6 = u.host_type() == boost::urls::host_type::ipv6;
  t.url = fmt::format("{}://{}{}{}{}", t.scheme, v6 ? "[" + t.host + "]" : t.host,
                      default_port ? "" : ":", default_port ? "" : std::to_string(t.port), t.path);
  return t;
}

namespace {

// One line of a URL list. A line over kMaxCellBytes arrives cut (`too_long`): its text is not kept.
void url_list_line(std::string_view line, int line_no, bool too_long,
                   const std::shared_ptr<const RowFacts>& facts, TargetList& into) {
  const std::string& source = facts->source;
  if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 BOM
  if (too_long) {
    into.errors.push_back(
        {source,
         line_no,
         1,
         fmt::format("line longer than {} bytes (the limit for one URL)", kMaxCellBytes),
         {},
         false});
    return;
  }
  const auto hash = line.find('#');
  const std::string_view content = trim(line.substr(0, hash));
  if (content.empty()) return;
  const int column = static_cast<int>(content.data() - line.data()) + 1;

  auto parsed = parse_target_url(content);
  if (auto* error = std::get_if<UrlError>(&parsed)) {
    into.errors.push_back(
        {source, line_no, column + error->column - 1, std::move(error->message), {}, false});
    return;
  }
  auto& target = std::get<Target>(parsed);
  target.row = TargetRow(facts, line_no);
  into.targets.push_back(std::move(target));
}

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

File open_file(const std::string& path) {
  // stdin is the caller's to close: its descriptor stays open for the rest of the process.
  if (path == "-") return File(stdin, [](std::FILE*) { return 0; });
  File file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file)
    throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  return file;
}

// A regular file's size, checked against LIMIT before anything is read: a 300 MB file is
// refused at once, not after 256 MiB of it sit in memory. 0 for pipes and devices, whose reads
// are counted instead.
std::size_t checked_size(std::FILE* file, const std::string& path, std::size_t limit) {
  struct stat st {};
  if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  if (static_cast<std::uint64_t>(st.st_size) > limit)
    throw std::runtime_error(
        fmt::format("{}: larger than {} bytes, the limit for this input", path, limit));
  return static_cast<std::size_t>(st.st_size);
}

// The lines of a file through a 64 KiB window: neither a big file nor one endless line is held.
class LineReader {
 public:
  LineReader(std::FILE* file, const std::string& path, std::size_t limit)
      : file_(file), path_(path), limit_(limit), buffer_(64 << 10) {}

  // False at the end. LINE is valid until the next call; TOO_LONG: over kMaxCellBytes, not kept.
  bool next(std::string_view& line, bool& too_long) {
    too_long = false;
    for (;;) {
      const char* begin = buffer_.data() + pos_;
      if (const void* nl = std::memchr(begin, '\n', end_ - pos_)) {
        const auto* stop = static_cast<const char*>(nl);
        line = std::string_view(begin, static_cast<std::size_t>(stop - begin));
        pos_ += line.size() + 1;
        too_long = line.size() > kMaxCellBytes;
        return true;
      }
      if (end_ - pos_ > kMaxCellBytes) {
        too_long = true;
        line = {};
        skip_line();
        return true;
      }
      if (eof_) {
        if (pos_ == end_) return false;
        line = std::string_view(begin, end_ - pos_);
        pos_ = end_;
        return true;
      }
      fill();
    }
  }

 private:
  void fill() {
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    const auto n = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
    if (n == 0) {
      if (std::ferror(file_))
        throw std::runtime_error(fmt::format("{}: read error: {}", path_, std::strerror(errno)));
      eof_ = true;
    }
    total_ += n;
    if (total_ > limit_)
      throw std::runtime_error(
          fmt::format("{}: larger than {} bytes, the limit for this input", path_, limit_));
    end_ += n;
  }
  void skip_line() {
    for (;;) {
      if (const void* nl = std::memchr(buffer_.data() + pos_, '\n', end_ - pos_)) {
        pos_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
        return;
      }
      pos_ = end_;
      if (eof_) return;
      fill();
    }
  }

  std::FILE* file_;
  const std::string& path_;
  std::size_t limit_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0, total_ = 0;
  bool eof_ = false;
};

}  // namespace

const RowFacts& TargetRow::facts() const {
  static const RowFacts kNone;
  return shared_ ? *shared_ : kNone;
}

void TargetRow::add_other_line(int other) {
  if (!own_ || shared_.use_count() > 1) {
    shared_ = std::make_shared<RowFacts>(facts());
    own_ = true;
  }
  // Made above by make_shared<RowFacts>, not const, and this target's alone.
  const_cast<RowFacts&>(*shared_).other_lines.push_back(other);
}

std::shared_ptr<const RowFacts> row_of_source(const std::string& source) {
  auto facts = std::make_shared<RowFacts>();
  facts->source = source;
  return facts;
}

void read_url_list(std::string_view text, const std::string& source, TargetList& into) {
  const auto facts = row_of_source(source);
  int line_no = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    url_list_line(line, ++line_no, line.size() > kMaxCellBytes, facts, into);
  }
}

std::string input_name(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

void read_url_file(const std::string& path, TargetList& into) {
  auto file = open_file(path);
  const auto name = input_name(path);
  if (checked_size(file.get(), name, kMaxSheetBytes) > 0) {
    // Room for every line up front: growing a vector of a million targets by doubling holds
    // the old and the new block at once. Pages reserved for comment lines are never touched.
    std::size_t lines = 1;
    std::vector<char> chunk(64 << 10);
    while (const auto n = std::fread(chunk.data(), 1, chunk.size(), file.get()))
      lines += static_cast<std::size_t>(std::count(chunk.data(), chunk.data() + n, '\n'));
    std::rewind(file.get());
    into.targets.reserve(into.targets.size() + lines);
  }
  LineReader reader(file.get(), name, kMaxSheetBytes);
  const auto facts = row_of_source(name);
  std::string_view line;
  bool too_long = false;
  for (int line_no = 1; reader.next(line, too_long); ++line_no)
    url_list_line(line, line_no, too_long, facts, into);
}

std::string read_file(const std::string& path, std::size_t limit) {
  auto file = open_file(path);
  const auto name = input_name(path);
  std::string text;
  text.reserve(checked_size(file.get(), name, limit));
  char chunk[1 << 16];
  while (const auto n = std::fread(chunk, 1, sizeof chunk, file.get())) {
    if (text.size() + n > limit)
      throw std::runtime_error(
          fmt::format("{}: larger than {} bytes, the limit for this input", name, limit));
    text.append(chunk, n);
  }
  if (std::ferror(file.get()))
    throw std::runtime_error(fmt::format("{}: read error: {}", name, std::strerror(errno)));
  return text;
}

std::vector<CsvRecord> parse_csv(std::string_view text, char separator) {
  std::vector<CsvRecord> records;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  int line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    CsvRecord record{line, {}, {}, 0};
    std::string field;
    bool in_quotes = false, oversize = false;
    // Where the open quote is: a quote that never closes would otherwise take the rest of the
    // file as one cell. Such a record is an error at the quote, and reading goes on at the line
    // after it, so one stray quote costs one row.
    std::size_t quote_at = 0;
    int quote_line = 0;
    auto keep = [&](std::string_view run) {
      if (field.size() + run.size() > kMaxCellBytes) {
        if (!oversize && record.error.empty()) {
          record.error = fmt::format("field longer than {} bytes", kMaxCellBytes);
          record.column = static_cast<int>(record.fields.size()) + 1;
        }
        oversize = true;
        return;
      }
      field.append(run);
    };
    auto end_field = [&] {
      record.fields.push_back(oversize ? std::string() : std::move(field));
      field.clear();
      oversize = false;
    };
    bool stray_quote = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (in_quotes) {
        if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
          keep("\"");
          ++i;
        } else if (c == '"') {
          in_quotes = false;
        } else {
          if (c == '\n') ++line;
          keep(std::string_view(&c, 1));
          if (oversize) {
            stray_quote = true;
            break;
          }
        }
      } else if (c == '"' && field.empty() && !oversize) {
        in_quotes = true;
        quote_at = i;
        quote_line = line;
      } else if (c == separator) {
        end_field();
      } else if (c == '\n') {
        ++line;
        ++i;
        break;
      } else if (c != '\r') {
        // The run up to the next special character in one append, not byte by byte.
        std::size_t stop = i + 1;
        while (stop < text.size() && text[stop] != separator && text[stop] != '"' &&
               text[stop] != '\n' && text[stop] != '\r')
          ++stop;
        keep(text.substr(i, stop - i));
        i = stop - 1;
      }
    }
    if (in_quotes || stray_quote) {
      CsvRecord error{quote_line, {}, {}, static_cast<int>(record.fields.size()) + 1};
      error.error = stray_quote ? fmt::format(
                                      "quoted field longer than {} bytes: is its closing quote "
                                      "missing?",
                                      kMaxCellBytes)
                                : "quoted field is never closed (a stray quote?)";
      records.push_back(std::move(error));
      const auto next_line = text.find('\n', quote_at);
      i = next_line == std::string_view::npos ? text.size() : next_line + 1;
      line = quote_line + 1;
      continue;
    }
    end_field();
    if (!(record.fields.size() == 1 && record.fields[0].empty() && record.error.empty()))
      records.push_back(std::move(record));
  }
  return records;
}

TargetList builtin_analyzer_targets() {
  std::string_view text;
  for (const auto& sheet : builtin_sheets())
    if (sheet.name == "mdeca_test_urls.csv") text = sheet.text;
  const std::string source = "builtin:mdeca_test_urls.csv";

  TargetList list;
  const auto records = parse_csv(text);
  std::set<std::string> seen;
  for (std::size_t r = 1; r < records.size(); ++r) {  // record 0 is the header
    const auto& f = records[r].fields;
    if (f.size() < 4 || !records[r].error.empty()) {
      list.errors.push_back({source, records[r].line, 1, "expected 5 columns", {}, false});
      continue;
    }
    auto parsed = parse_target_url(trim(f[1]));
    if (auto* error = std::get_if<UrlError>(&parsed)) {
      list.errors.push_back({source, records[r].line, error->column, error->message, {}, false});
      continue;
    }
    auto& target = std::get<Target>(parsed);
    if (!seen.insert(target.url).second) continue;  // ALL-region URLs repeat per region
    RowFacts facts;
    facts.source = source;
    facts.line = records[r].line;
    facts.geography = f[0];
    facts.category = f[3];
    // The Windows analyzer passes a URL on any of these (tss_MDEClientAnalyzer.ps1); it pins the
    // rows without NoPinning, but its script does not name the roots, so no pin is guessed.
    facts.expect.status.ranges = {{200, 200}, {400, 400}, {404, 404}};
    target.row = TargetRow(std::move(facts));
    list.targets.push_back(std::move(target));
  }
  return list;
}

}  // namespace urlprobe::sheet
