// Readers for the inputs the foundation understands: URL lists and the built-in analyzer sheet.
#pragma once

#include <cstddef>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sheet/target.hpp"

namespace urlprobe::sheet {

// One URL per line; '#' starts a comment; blank lines are ignored. Bad lines become errors, as
// does a line over kMaxCellBytes.
void read_url_list(std::string_view text, const std::string& source, TargetList& into);
// The same from a file, read line by line (never whole) and refused at once over kMaxSheetBytes.
// PATH "-" is stdin (here, in read_file and in load_sheet_file), named by input_name.
void read_url_file(const std::string& path, TargetList& into);

// How input PATH is named in messages and records: "<stdin>" for "-", else PATH.
std::string input_name(const std::string& path);

// Facts for targets that only know where they came from ("argv", a URL list): share one.
std::shared_ptr<const RowFacts> row_of_source(const std::string& source);

// Every file urlprobe reads is bounded, so a wrong argument (/dev/zero, a disk image) is an
// error naming the file instead of a process that eats memory until the OOM killer comes.
inline constexpr std::size_t kMaxSheetBytes = std::size_t{256} << 20;

// Reads a file by name; throws std::runtime_error naming the file when it cannot be read or
// holds more than LIMIT bytes.
std::string read_file(const std::string& path, std::size_t limit = kMaxSheetBytes);

// The embedded analyzer test-URL sheet (mdeca_test_urls.csv): one target per distinct URL.
TargetList builtin_analyzer_targets();

// One URL, one sheet cell or one line of a URL list is at most this long: longer ones are row
// errors, so that one runaway cell (a missing quote, a pasted blob) cannot fill the memory.
inline constexpr std::size_t kMaxCellBytes = 8 << 10;

// At least one character, every one an ASCII digit: a number as a sheet writes it.
bool all_digits(std::string_view text);

// RFC 4180 records: quoted fields, doubled quotes, embedded newlines, CRLF.
struct CsvRecord {
  int line = 0;  // line the record starts on
  std::vector<std::string> fields;
  // Why the record cannot be used (a quote never closed, a field over kMaxCellBytes), located by
  // `line` and the 1-based field number `column`; then `fields` are not to be trusted.
  std::string error;
  int column = 0;
};
std::vector<CsvRecord> parse_csv(std::string_view text, char separator = ',');

}  // namespace urlprobe::sheet
