// Reading an Office Open XML workbook (.xlsx) into plain cells.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::sheet {

struct XlsxCell {
  // What the cell holds: a URL in a number or boolean cell is a mistake, not "https://12345/".
  enum class Kind { text, number, boolean, error, date };
  int column = 0;   // 1-based: A=1
  std::string ref;  // "E17"
  std::string text;
  Kind kind = Kind::text;
  // Why the cell cannot be read (a shared-string index out of range, a bad reference, a NUL);
  // then `text` is empty. One such cell is the row's problem, not the workbook's.
  std::string error;
};
struct XlsxRow {
  int number = 0;               // 1-based row number as in the sheet
  std::vector<XlsxCell> cells;  // non-empty or unreadable cells, in the order the sheet lists them
  std::string error;  // the row itself is unreadable (a bad row number): `number` is a guess
};
struct XlsxSheet {
  std::string name;
  std::vector<XlsxRow> rows;  // rows with a non-empty cell or an error, in sheet order
  bool hidden = false;        // state="hidden" or "veryHidden" in xl/workbook.xml
};
struct XlsxLimits {
  std::size_t max_compressed = 64u << 20;  // bytes of the .xlsx file itself
  std::size_t max_part = 256u << 20;       // uncompressed bytes of one XML part
  std::size_t max_total = 512u << 20;      // uncompressed bytes of all parts read
  std::size_t max_cells = 5'000'000;       // non-empty cells over all worksheets
};
struct XlsxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// All worksheets in workbook order (chart sheets and macro sheets are skipped). Throws XlsxError
// with a clear reason ("not a zip file", "not an xlsx workbook: no xl/workbook.xml", "part
// xl/worksheets/sheet1.xml exceeds 64 MiB uncompressed (zip bomb?)", ...).
// Cell text: shared and inline strings (rich-text runs joined, phonetic runs dropped, _xHHHH_
// escapes decoded), formula string results, numbers as written in <v> with a trailing ".0"
// dropped ("443.0" -> "443"), booleans "TRUE"/"FALSE", errors ("#N/A") and ISO dates as written.
// Number formats are not applied: a date stored as a number reads as its serial number.
// A cell or row that cannot be read carries its `error` instead of throwing.
std::vector<XlsxSheet> read_xlsx(std::string_view bytes, const XlsxLimits& limits = {});
std::string column_letters(int column);  // 1 -> "A", 27 -> "AA"; "" for column < 1

}  // namespace urlprobe::sheet
