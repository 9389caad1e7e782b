// read_xlsx against the workbooks tests/sheet/make_xlsx_fixtures.py writes (ctest sheet.xlsx sets
// URLPROBE_XLSX_FIXTURES and URLPROBE_MDE_DIR; without them the fixture cases skip) and against
// byte strings built here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/xlsx.hpp"

using namespace urlprobe::sheet;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

const std::vector<std::string> kCommercialHeader = {
    "Service",
    "Geography",
    "Category",
    "Port",
    "Endpoint/URL",
    "Endpoint/URL Description",
    "Required or Optional",
    "Windows 10, 11; Server 2022, 2019, 2016 (Unified Agent); Server 2012 R2 (Unified Agent)",
    "Windows 7, 8.1",
    "Windows Server 2008 R2, 2012 R2, 2016 (MMA Based)",
    "Mac",
    "Linux",
    "Comments",
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ADD_FAILURE() << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The error read_xlsx throws, or "" (with a test failure) if it returns.
std::string xlsx_error(std::string_view bytes, const XlsxLimits& limits = {}) {
  try {
    read_xlsx(bytes, limits);
  } catch (const XlsxError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_xlsx did not throw";
  return {};
}

// A row as 1..width columns of text, "" where the sheet has no cell.
std::vector<std::string> row_texts(const XlsxRow& row, std::size_t width) {
  std::vector<std::string> out(width);
  for (const auto& cell : row.cells) {
    EXPECT_GE(cell.column, 1);
    if (cell.column >= 1 && static_cast<std::size_t>(cell.column) <= width)
      out[static_cast<std::size_t>(cell.column) - 1] = cell.text;
    else
      ADD_FAILURE() << "row " << row.number << ": unexpected cell " << cell.ref;
  }
  return out;
}

std::map<std::string, std::string> cells_by_ref(const XlsxSheet& sheet) {
  std::map<std::string, std::string> out;
  for (const auto& row : sheet.rows)
    for (const auto& cell : row.cells) out[cell.ref] = cell.text;
  return out;
}

void expect_refs_consistent(const XlsxSheet& sheet) {
  for (const auto& row : sheet.rows)
    for (const auto& cell : row.cells)
      EXPECT_EQ(cell.ref, column_letters(cell.column) + std::to_string(row.number)) << sheet.name;
}

class XlsxFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("URLPROBE_XLSX_FIXTURES");
    if (!dir || !*dir) GTEST_SKIP() << "URLPROBE_XLSX_FIXTURES is unset (run ctest -R sheet.xlsx)";
    dir_ = dir;
    const char* mde = std::getenv("URLPROBE_MDE_DIR");
    if (!mde || !*mde) GTEST_SKIP() << "URLPROBE_MDE_DIR is unset (run ctest -R sheet.xlsx)";
    mde_ = mde;
  }
  std::string fixture(const std::string& name) const { return slurp(path(name)); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<CsvRecord> csv(const std::string& name) const {
    auto records = parse_csv(slurp(mde_ + "/" + name));
    if (!records.empty()) records.erase(records.begin());  // the CSV's own header
    return records;
  }
  // The data rows of a vendor-layout sheet match the CSV cell for cell.
  void expect_matches_csv(const XlsxSheet& sheet, const std::vector<CsvRecord>& records) {
    ASSERT_GE(sheet.rows.size(), 2u);
    const std::vector<XlsxRow> data(sheet.rows.begin() + 2, sheet.rows.end());
    ASSERT_EQ(data.size(), records.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
      EXPECT_EQ(data[i].number, static_cast<int>(i) + 3);
      EXPECT_EQ(row_texts(data[i], 13), records[i].fields) << "sheet row " << data[i].number;
    }
    expect_refs_consistent(sheet);
  }

 private:
  std::string dir_, mde_;
};

}  // namespace

TEST(XlsxColumns, Letters) {
  EXPECT_EQ(column_letters(1), "A");
  EXPECT_EQ(column_letters(5), "E");
  EXPECT_EQ(column_letters(26), "Z");
  EXPECT_EQ(column_letters(27), "AA");
  EXPECT_EQ(column_letters(52), "AZ");
  EXPECT_EQ(column_letters(53), "BA");
  EXPECT_EQ(column_letters(702), "ZZ");
  EXPECT_EQ(column_letters(703), "AAA");
  EXPECT_EQ(column_letters(16384), "XFD");
  EXPECT_EQ(column_letters(0), "");
  EXPECT_EQ(column_letters(-3), "");
}

TEST(XlsxBytes, NotAZip) {
  EXPECT_THAT(xlsx_error(""), HasSubstr("not a zip file"));
  EXPECT_THAT(xlsx_error("Service,Geography\n"), HasSubstr("not a zip file"));
  EXPECT_THAT(
      xlsx_error(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(600, '\0')),
      HasSubstr("OLE2 compound file"));
}

TEST(XlsxBytes, CorruptZip) {
  EXPECT_THAT(xlsx_error(std::string("PK\x03\x04", 4) + std::string(100, 'x')),
              HasSubstr("corrupt zip file"));
  // An end-of-central-directory record that points past the end of the data.
  std::string eocd("PK\x05\x06", 4);
  eocd += std::string("\0\0\0\0\x01\0\x01\0", 8);    // disk numbers, 1 entry
  eocd += std::string("\x2e\0\0\0\xff\xff\0\0", 8);  // directory size, offset 65535
  eocd += std::string("\0\0", 2);
  EXPECT_THAT(xlsx_error(eocd), HasSubstr("corrupt zip file"));
}

TEST(XlsxBytes, EmptyZip) {
  // An empty archive is a zip but not a workbook.
  const std::string empty("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
  EXPECT_THAT(xlsx_error(empty), HasSubstr("not an xlsx workbook: no xl/workbook.xml"));
}

TEST(XlsxBytes, CompressedLimit) {
  XlsxLimits limits;
  limits.max_compressed = 10;
  EXPECT_THAT(xlsx_error(std::string(11, 'P'), limits), HasSubstr("over the 10 bytes limit"));
}

TEST_F(XlsxFile, CommercialSheetsInWorkbookOrder) {
  const auto sheets = read_xlsx(fixture("commercial.xlsx"));
  ASSERT_EQ(sheets.size(), 2u);
  EXPECT_EQ(sheets[0].name, "Microsoft Defender URLs");
  EXPECT_EQ(sheets[1].name, "Notes");
  EXPECT_FALSE(sheets[0].hidden);
  EXPECT_FALSE(sheets[1].hidden);
}

TEST_F(XlsxFile, CommercialTitleHeaderAndRows) {
  const auto sheets = read_xlsx(fixture("commercial.xlsx"));
  ASSERT_EQ(sheets.size(), 2u);
  const XlsxSheet& sheet = sheets[0];
  ASSERT_GE(sheet.rows.size(), 2u);
  // The merged title: one cell, A1; the merge's other cells are empty.
  EXPECT_EQ(sheet.rows[0].number, 1);
  ASSERT_EQ(sheet.rows[0].cells.size(), 1u);
  EXPECT_EQ(sheet.rows[0].cells[0].ref, "A1");
  EXPECT_EQ(sheet.rows[0].cells[0].text,
            "Microsoft Defender for Endpoint URL list for commercial customers");
  // The header is row 2.
  EXPECT_EQ(sheet.rows[1].number, 2);
  EXPECT_EQ(row_texts(sheet.rows[1], 13), kCommercialHeader);

  const auto records = csv("mde_urls_commercial.csv");
  EXPECT_EQ(records.size(), 102u);
  expect_matches_csv(sheet, records);

  // E17 is the URL of the 15th data row; D is a number cell written as "80"/"443".
  const auto cells = cells_by_ref(sheet);
  ASSERT_TRUE(cells.count("E17"));
  EXPECT_EQ(cells.at("E17"), records[14].fields[4]);
  EXPECT_EQ(cells.at("D3"), "80");
  EXPECT_EQ(cells.at("E3"), "crl.microsoft.com");
}

TEST_F(XlsxFile, CommercialNotes) {
  const auto sheets = read_xlsx(fixture("commercial.xlsx"));
  ASSERT_EQ(sheets.size(), 2u);
  const XlsxSheet& notes = sheets[1];
  ASSERT_EQ(notes.rows.size(), 3u);  // A1, A2, A4: the empty row 3 is not listed
  EXPECT_EQ(notes.rows[0].cells[0].text, "About this workbook");
  EXPECT_EQ(notes.rows[2].number, 4);
  EXPECT_THAT(notes.rows[1].cells[0].text, HasSubstr("Microsoft Defender for Endpoint"));
}

TEST_F(XlsxFile, GovInlineStringsMatchCsv) {
  // openpyxl writes inline strings: the other string path of the same layout.
  const auto sheets = read_xlsx(fixture("gov.xlsx"));
  ASSERT_EQ(sheets.size(), 2u);
  EXPECT_EQ(sheets[0].name, "Microsoft Defender URLs");
  const auto records = csv("mde_urls_gov.csv");
  EXPECT_EQ(records.size(), 61u);
  expect_matches_csv(sheets[0], records);
  EXPECT_EQ(row_texts(sheets[0].rows[1], 13)[6], "Required / Optional");
}

TEST_F(XlsxFile, NoHeader) {
  const auto sheets = read_xlsx(fixture("no_header.xlsx"));
  ASSERT_EQ(sheets.size(), 1u);
  const auto& rows = sheets[0].rows;
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].number, 1);
  EXPECT_THAT(row_texts(rows[0], 5), ElementsAre("Microsoft Defender for Endpoint", "WW", "CRL",
                                                 "80", "crl.microsoft.com"));
  EXPECT_EQ(rows[4].number, 5);
  EXPECT_EQ(rows[5].number, 9);
  ASSERT_EQ(rows[5].cells.size(), 1u);
  EXPECT_EQ(rows[5].cells[0].ref, "E9");
  EXPECT_EQ(rows[5].cells[0].text, "*.wns.windows.com");
}

TEST_F(XlsxFile, InlineRichAndTypedCells) {
  const auto sheets = read_xlsx(fixture("inline_strings.xlsx"));
  ASSERT_EQ(sheets.size(), 2u);
  EXPECT_EQ(sheets[0].name, "Inline");
  expect_refs_consistent(sheets[0]);
  const auto cells = cells_by_ref(sheets[0]);
  const std::map<std::string, std::string> want = {
      {"A1", "Service"},
      {"B1", "Endpoint/URL"},                 // rich-text runs joined
      {"C1", "  padded  "},                   // xml:space="preserve"
      {"D1", "Line one\r\nLine two"},         // _x000D_
      {"E1", "shared plain"},                 // shared string
      {"F1", "rich shared"},                  // shared rich text; the phonetic run is not text
      {"A2", "winatp-gw-cus.microsoft.com"},  // row and cells without r
      {"B2", "443"},                          // "443.0"
      {"E2", "TRUE"},                         // r="E2" moves the inferred column on
      {"F2", "#N/A"},
      {"G2", "formula text"},  // t="str": the cached result
      {"H2", "1.5"},
      {"K2", "FALSE"},
      {"C5", "_x0041_ & <tag> caf\xC3\xA9"},  // _x005F_ is "_"; entities decoded
      {"B7", " "},                            // a row without r after row 6
  };
  EXPECT_EQ(cells, want);
  // Empty cells (J2, A6, B6) and the empty row 6 are left out.
  std::vector<int> numbers;
  for (const auto& row : sheets[0].rows) numbers.push_back(row.number);
  EXPECT_THAT(numbers, ElementsAre(1, 2, 5, 7));

  const XlsxSheet& prefixed = sheets[1];
  EXPECT_EQ(prefixed.name, "Prefixed");
  EXPECT_TRUE(prefixed.hidden);
  ASSERT_EQ(prefixed.rows.size(), 1u);
  EXPECT_EQ(prefixed.rows[0].number, 3);
  ASSERT_EQ(prefixed.rows[0].cells.size(), 3u);
  EXPECT_EQ(prefixed.rows[0].cells[0].text, "shared plain");
  EXPECT_EQ(prefixed.rows[0].cells[1].text, "xy");
  EXPECT_EQ(prefixed.rows[0].cells[2].ref, "AA3");
  EXPECT_EQ(prefixed.rows[0].cells[2].column, 27);
  EXPECT_EQ(prefixed.rows[0].cells[2].text, "7");
}

// One bad cell is that cell's problem: the workbook and the rest of its row still read.
TEST_F(XlsxFile, SharedStringIndexOutOfRangeIsTheCellsError) {
  const auto sheets = read_xlsx(fixture("bad_shared_index.xlsx"));
  ASSERT_EQ(sheets.size(), 1u);
  ASSERT_EQ(sheets[0].rows.size(), 1u);
  const auto& cells = sheets[0].rows[0].cells;
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].text, "shared plain");
  EXPECT_EQ(cells[1].ref, "E4");
  EXPECT_EQ(cells[1].text, "");
  EXPECT_THAT(cells[1].error, HasSubstr("shared string index '99' is out of range"));
}

TEST_F(XlsxFile, CellTypesAreKept) {
  const auto sheets = read_xlsx(fixture("inline_strings.xlsx"));
  const auto& row2 = sheets.at(0).rows.at(1).cells;
  ASSERT_GE(row2.size(), 5u);
  EXPECT_EQ(row2[0].kind, XlsxCell::Kind::text);
  EXPECT_EQ(row2[1].kind, XlsxCell::Kind::number);
  EXPECT_EQ(row2[2].kind, XlsxCell::Kind::boolean);
  EXPECT_EQ(row2[3].kind, XlsxCell::Kind::error);
  EXPECT_EQ(row2[4].kind, XlsxCell::Kind::text);  // a formula's string result
}

// Issue 16: each of these threw the whole workbook away, cut a URL short at &#0; or probed
// https://true/ and https://12345/. Each is now a warning at its cell, and only its row is lost.
TEST_F(XlsxFile, BadCellsCostOnlyTheirRow) {
  TargetList list;
  load_sheet_file(path("bad_cells.xlsx"), {}, list);
  std::vector<std::string> urls;
  for (const auto& t : list.targets) urls.push_back(t.url);
  EXPECT_THAT(urls, ElementsAre("https://first.example/", "https://last.example:8443/"));
  std::vector<std::string> errors;
  for (const auto& e : list.errors) {
    EXPECT_TRUE(e.warning) << e.message;
    errors.push_back(format_input_error(e));
  }
  const std::string file = path("bad_cells.xlsx");
  EXPECT_THAT(
      errors,
      ElementsAre(
          file + ":Bad!A3: warning: shared string index '99' is out of range (the workbook has "
                 "2): the row is skipped",
          file + ":Bad!A4: warning: shared string index 'x1' is not a number: the row is skipped",
          file + ":Bad!B5: warning: cell reference 'ZZZZ99999999' is not valid: the row is skipped",
          file + ":Bad!A6: warning: the text holds a character XML does not allow (&#0; or "
                 "U+FFFF): the row is skipped",
          file + ":Bad!A7: warning: 'TRUE' is a boolean, not a URL: the row is skipped",
          file + ":Bad!A8: warning: '12345' is a number, not a URL: the row is skipped",
          file + ":Bad!9:9: warning: row number 'eight' is not valid: the row is skipped",
          file + ":Bad!B10: warning: Port '99999' is not a TCP port from 1 to 65535: the row is "
                 "skipped",
          file + ":Bad!A11: warning: the text holds a character XML does not allow (&#0; or "
                 "U+FFFF): the row is skipped"));
}

TEST_F(XlsxFile, TruncatedZip) {
  EXPECT_THAT(xlsx_error(fixture("corrupt.xlsx")), HasSubstr("corrupt zip file"));
}

TEST_F(XlsxFile, DamagedPart) {
  EXPECT_THAT(xlsx_error(fixture("crc.xlsx")),
              HasSubstr("corrupt zip file: part xl/worksheets/sheet1.xml"));
}

TEST_F(XlsxFile, NotAZipFile) {
  EXPECT_THAT(xlsx_error(fixture("not_a_zip.xlsx")), HasSubstr("not a zip file"));
}

TEST_F(XlsxFile, NoWorkbookPart) {
  EXPECT_THAT(xlsx_error(fixture("no_workbook.xlsx")),
              HasSubstr("not an xlsx workbook: no xl/workbook.xml"));
}

TEST_F(XlsxFile, ZipBombRejectedByPartLimit) {
  const std::string bytes = fixture("bomb.xlsx");
  EXPECT_LT(bytes.size(), 1u << 20);
  XlsxLimits limits;
  limits.max_part = 16u << 20;
  EXPECT_THAT(xlsx_error(bytes, limits),
              HasSubstr("part xl/worksheets/sheet1.xml exceeds 16 MiB uncompressed (zip bomb?)"));
}

TEST_F(XlsxFile, ZipBombWithLyingSizeStopsAtDeclaredSize) {
  // The headers claim 1 MiB: inflating stops there and the CRC check fails; nothing near
  // 200 MiB is allocated.
  EXPECT_THAT(xlsx_error(fixture("bomb_lying.xlsx")),
              HasSubstr("corrupt zip file: part xl/worksheets/sheet1.xml"));
  XlsxLimits limits;
  limits.max_part = 512u << 10;
  EXPECT_THAT(xlsx_error(fixture("bomb_lying.xlsx"), limits),
              HasSubstr("exceeds 512 KiB uncompressed (zip bomb?)"));
}

TEST_F(XlsxFile, TotalAndCellLimits) {
  const std::string bytes = fixture("commercial.xlsx");
  XlsxLimits total;
  total.max_total = 20u << 10;
  EXPECT_THAT(xlsx_error(bytes, total), HasSubstr("exceeds 20 KiB uncompressed in total"));
  XlsxLimits cells;
  cells.max_cells = 100;
  EXPECT_THAT(xlsx_error(bytes, cells), HasSubstr("more than 100 non-empty cells"));
  XlsxLimits compressed;
  compressed.max_compressed = 4096;
  EXPECT_THAT(xlsx_error(bytes, compressed), HasSubstr("over the 4 KiB limit"));
}
