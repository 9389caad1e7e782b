#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>

#include "base/text.hpp"
#include "sheet/builtin.hpp"
#include "sheet/reader.hpp"
#include "sheet/url.hpp"

namespace urlprobe::sheet {

namespace {

// One line of a URL list, line 1 without its byte order mark. A line over kMaxCellBytes arrives
// cut (`too_long`): its text is not kept.
void url_list_line(std::string_view line, int line_no, bool too_long,
                   const std::shared_ptr<const RowFacts>& facts, TargetList& into) {
  const std::string& source = facts->source;
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
  const std::string_view content = base::trim(line.substr(0, hash));
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

std::shared_ptr<const RowFacts> row_of_source(const std::string& source) {
  auto facts = std::make_shared<RowFacts>();
  facts->source = source;
  return facts;
}

void read_url_list(std::string_view text, const std::string& source, TargetList& into) {
  const auto facts = row_of_source(source);
  base::for_each_line(text, [&](std::string_view line, int line_no) {
    url_list_line(line, line_no, line.size() > kMaxCellBytes, facts, into);
  });
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
    url_list_line(line_no == 1 ? base::drop_bom(line) : line, line_no, too_long, facts, into);
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
  text = base::drop_bom(text);
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

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
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
    auto parsed = parse_target_url(base::trim(f[1]));
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
