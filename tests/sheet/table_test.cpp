#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"

using namespace urlprobe::sheet;
using ::testing::HasSubstr;

namespace {

// A sheet as a file on disk, removed afterwards.
class SheetFile {
 public:
  SheetFile(std::string_view name, std::string_view text)
      : path_(std::filesystem::temp_directory_path() /
              (std::to_string(::getpid()) + "-" + std::string(name))) {
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~SheetFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The vendor's shape: a title above the header, the long OS headers, a port column.
constexpr std::string_view kVendorCsv =
    "Microsoft Defender for Endpoint URL list for commercial customers,,,,,,,,,,,,\n"
    ",,,,,,,,,,,,\n"
    "Service,Geography,Category,Port,Endpoint/URL,Endpoint/URL Description,Required or Optional,"
    "\"Windows 10, 11; Server 2022, 2019, 2016 (Unified Agent); Server 2012 R2 (Unified "
    "Agent)\",\"Windows 7, 8.1\","
    "\"Windows Server 2008 R2, 2012 R2, 2016 (MMA Based)\",Mac,Linux,Comments,Owner\n"
    "MDE,WW,CRL,80,crl.microsoft.com,CRL,Required,Yes,,,Yes,Yes,,netops\n"
    "MDE,WW,CRL,80,www.microsoft.com/pkiops/*,CRL,Required,Yes,,,Yes,Yes,,\n"
    "MDE,US,Microsoft Defender for Endpoint "
    "US,443,winatp-gw-cus.microsoft.com,C&C,Required,Yes,Yes,Yes,Yes,Yes,,\n"
    "MDE,EU,Microsoft Defender for Endpoint "
    "EU,443,winatp-gw-weu.microsoft.com,C&C,Required,Yes,,,,,,\n"
    "MMA,WW,Common,443,*.ods.opinsights.azure.com,MMA,Required,,Yes,Yes,,,,\n"
    "MDE,WW,Common,443,*.blob.core.windows.net,blobs,Required,Yes,,,Yes,Yes,,\n"
    "MDE,WW,Common,443,\"a.example.com, "
    "b.example.com\nhttps://c.example.com/x\",list,Optional,Yes,,,,,,\n"
    "MDE,WW,Common,443,host.example.com:99999,typo,Required,Yes,,,,,,\n"
    "MDE,UK,Common,443,crl.microsoft.com,again,Required,Yes,,,,,,\n";

TargetList load(std::string_view name, std::string_view text, const SheetOptions& options = {}) {
  SheetFile file(name, text);
  TargetList list;
  load_sheet_file(file.path(), options, list);
  return list;
}

std::vector<std::string> urls(const TargetList& list) {
  std::vector<std::string> out;
  for (const auto& t : list.targets) out.push_back(t.url);
  return out;
}

const Target* find(const TargetList& list, std::string_view url) {
  for (const auto& t : list.targets)
    if (t.url == url) return &t;
  return nullptr;
}

}  // namespace

TEST(Table, HeaderFoundBelowTheTitleAndColumnsMappedByName) {
  const auto list = load("vendor.csv", kVendorCsv);
  const auto* crl = find(list, "http://crl.microsoft.com/");  // port 80 rows are plain http
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(crl->row.line, 4);
  EXPECT_EQ(crl->row.geography(), "WW");
  EXPECT_EQ(crl->row.category(), "CRL");
  EXPECT_EQ(crl->row.os(), "windows,mac,linux");
  EXPECT_EQ(crl->row.required(), "Required");
  ASSERT_EQ(crl->row.extra().size(), 1u);  // an unknown column is kept as a fact
  EXPECT_EQ(crl->row.extra()[0], (std::pair<std::string, std::string>{"Owner", "netops"}));
}

TEST(Table, AnalyzerTestPathIsProbedForItsHost) {
  const auto list = load("vendor.csv", kVendorCsv);
  EXPECT_NE(find(list, "https://winatp-gw-cus.microsoft.com/commands/test"), nullptr);
}

TEST(Table, PathPatternIsProbedAtItsPrefix) {
  const auto list = load("vendor.csv", kVendorCsv);
  EXPECT_NE(find(list, "http://www.microsoft.com/pkiops/"), nullptr);
}

TEST(Table, CellWithSeveralUrls) {
  const auto list = load("vendor.csv", kVendorCsv);
  EXPECT_NE(find(list, "https://a.example.com/"), nullptr);
  EXPECT_NE(find(list, "https://b.example.com/"), nullptr);
  EXPECT_NE(find(list, "https://c.example.com/x"), nullptr);
}

TEST(Table, WildcardsAreSkippedWithTheReasonNeverDropped) {
  const auto list = load("vendor.csv", kVendorCsv);
  const auto* ods = find(list, "https://*.ods.opinsights.azure.com");
  ASSERT_NE(ods, nullptr);
  EXPECT_THAT(ods->skip.str(), HasSubstr("--workspace-id"));
  const auto* blob = find(list, "https://*.blob.core.windows.net");
  ASSERT_NE(blob, nullptr);
  EXPECT_THAT(blob->skip.str(), HasSubstr("wildcard host"));
}

TEST(Table, WorkspaceIdFillsWorkspaceHosts) {
  SheetOptions options;
  options.workspace_ids = {"12345678-ABCD-4ef0-9876-0123456789ab"};
  const auto list = load("vendor.csv", kVendorCsv, options);
  const auto* ods =
      find(list, "https://12345678-abcd-4ef0-9876-0123456789ab.ods.opinsights.azure.com/");
  ASSERT_NE(ods, nullptr);
  EXPECT_TRUE(ods->skip.empty());
  EXPECT_EQ(ods->row.workspace(), "12345678-abcd-4ef0-9876-0123456789ab");
  EXPECT_EQ(ods->row.host_from(), "workspace-id");
  EXPECT_TRUE(is_guid(options.workspace_ids[0]));
  EXPECT_FALSE(is_guid("12345678-abcd-4ef0-9876-0123456789"));
}

TEST(Table, BadCellIsAWarningAtItsCellAndTheRestIsKept) {
  const auto list = load("vendor.csv", kVendorCsv);
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].line, 12);  // the quoted cell above spans two lines
  EXPECT_EQ(list.errors[0].column, 5);
  EXPECT_TRUE(list.errors[0].warning);
  EXPECT_THAT(format_input_error(list.errors[0]), HasSubstr("vendor.csv:12:5: warning:"));
  EXPECT_GE(list.targets.size(), 9u);
}

TEST(Table, FiltersGeoAlwaysKeepsWwOsCategoryRequired) {
  SheetOptions geo;
  geo.geo = {"EU"};
  auto list = load("vendor.csv", kVendorCsv, geo);
  EXPECT_EQ(find(list, "https://winatp-gw-cus.microsoft.com/commands/test"), nullptr);
  EXPECT_NE(find(list, "https://winatp-gw-weu.microsoft.com/commands/test"), nullptr);
  EXPECT_NE(find(list, "http://crl.microsoft.com/"), nullptr);  // WW

  SheetOptions os;
  os.os = {"linux"};
  list = load("vendor.csv", kVendorCsv, os);
  EXPECT_EQ(find(list, "https://winatp-gw-weu.microsoft.com/commands/test"), nullptr);
  EXPECT_NE(find(list, "https://winatp-gw-cus.microsoft.com/commands/test"), nullptr);

  SheetOptions required;
  required.required_only = true;
  required.category = {"common"};
  list = load("vendor.csv", kVendorCsv, required);
  EXPECT_EQ(find(list, "https://a.example.com/"), nullptr);      // Optional
  EXPECT_EQ(find(list, "http://crl.microsoft.com/"), nullptr);   // category CRL
  EXPECT_NE(find(list, "https://crl.microsoft.com/"), nullptr);  // UK row, port 443, Common
}

TEST(Table, DeduplicateKeepsFirstRowAndNotesTheOthers) {
  TargetList list =
      load("dupes.csv", "url\nhttps://a.example/\nhttps://b.example/\nhttps://a.example/\n");
  deduplicate(list);
  ASSERT_EQ(urls(list), (std::vector<std::string>{"https://a.example/", "https://b.example/"}));
  EXPECT_EQ(list.targets[0].row.line, 2);
  EXPECT_EQ(list.targets[0].row.other_lines(), std::vector<int>{4});
}

TEST(Table, TsvAndFormatOverride) {
  EXPECT_EQ(urls(load("list.tsv", "Geography\tURL\nWW\thttps://t.example/\n")),
            std::vector<std::string>{"https://t.example/"});
  SheetOptions as_csv;
  as_csv.format = "csv";
  EXPECT_EQ(urls(load("list.data", "URL\nhttps://c.example/\n", as_csv)),
            std::vector<std::string>{"https://c.example/"});
}

TEST(Table, CsvWithoutUrlColumnIsRejectedNamingTheFile) {
  try {
    load("nourl.csv", "name,value\na,b\n");
    FAIL() << "expected SheetError";
  } catch (const SheetError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nourl.csv"));
    EXPECT_THAT(e.what(), HasSubstr("no URL column"));
  }
}

TEST(Builtins, CommercialGovAndAnalyzer) {
  TargetList commercial;
  load_builtin("commercial", {}, commercial);
  deduplicate(commercial);
  EXPECT_TRUE(commercial.errors.empty());
  // 102 distinct URL cells, one URL each, and the MMA row urlprobe adds (mde_mma_commercial.csv);
  // *.dm.microsoft.com is probed at the analyzer's three hosts.
  EXPECT_EQ(commercial.targets.size(), 102u + 1 - 1 + 3);
  std::size_t skipped = 0;
  for (const auto& t : commercial.targets) skipped += !t.skip.empty();
  EXPECT_EQ(skipped, 21u);  // the wildcard hosts (third_party/mde/README.md), less dm, plus MMA

  TargetList gov;
  load_builtin("gov", {}, gov);
  deduplicate(gov);
  EXPECT_TRUE(gov.errors.empty());
  EXPECT_EQ(gov.targets.size(), 58u);  // 61 rows, 57 distinct URL cells, and the MMA row

  TargetList analyzer;
  load_builtin("analyzer", {}, analyzer);
  EXPECT_EQ(analyzer.targets.size(), 44u + 64u);  // the standard rows of the xplat file, then
  deduplicate(analyzer);                          // the Windows list; they share some URLs
  EXPECT_EQ(analyzer.targets.size(), 83u);
  EXPECT_THROW(load_builtin("nope", {}, analyzer), SheetError);
}

// Every reader is bounded: a wrong argument (/dev/zero, a disk image) is an error naming the
// file, not a process that grows until the OOM killer ends it.
TEST(ReadFile, StopsAtTheLimitAndNamesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "urlprobe-read-limit.txt";
  std::ofstream(path) << "0123456789";
  EXPECT_EQ(read_file(path.string(), 10), "0123456789");
  try {
    read_file(path.string(), 9);
    ADD_FAILURE() << "a file over the limit was read";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string() + ": larger than 9 bytes"));
  }
  std::filesystem::remove(path);
  try {
    read_file("/dev/zero", 1 << 20);
    ADD_FAILURE() << "/dev/zero was read to the end";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/dev/zero: larger than"));
  }
}

// Issue 16: a Port column value is checked, never wrapped into 16 bits or dropped.
TEST(TablePort, OutOfRangeZeroAndNonNumericAreRowErrorsAtThePortCell) {
  const auto list = load("ports.csv",
                         "URL,Port\n"
                         "wrap.example,99999\n"
                         "zero.example,0\n"
                         "word.example,https\n"
                         "two.example,\"443, 80\"\n"
                         "ok.example,8443\n"
                         "tcp.example,443/TCP\n");
  EXPECT_EQ(urls(list),
            (std::vector<std::string>{"https://ok.example:8443/", "https://tcp.example/"}));
  ASSERT_EQ(list.errors.size(), 4u);
  for (std::size_t i = 0; i < list.errors.size(); ++i) {
    EXPECT_EQ(list.errors[i].line, static_cast<int>(i) + 2);
    EXPECT_EQ(list.errors[i].column, 2);  // the Port field
  }
  EXPECT_THAT(format_input_error(list.errors[0]),
              HasSubstr("ports.csv:2:2: warning: Port '99999' is not a TCP port from 1 to 65535"));
  EXPECT_THAT(list.errors[1].message, HasSubstr("Port '0'"));
  EXPECT_THAT(list.errors[2].message, HasSubstr("Port 'https'"));
  EXPECT_THAT(list.errors[3].message, HasSubstr("names more than one port"));
}

TEST(TablePort, UrlPortAndPortColumnMustAgree) {
  const auto list = load("agree.csv",
                         "URL,Port\n"
                         "https://written.example:8443/,443\n"
                         "bare.example:8443,9000\n"
                         "https://default.example/,80\n"
                         "same.example:8443,8443\n"
                         "https://same2.example:8443/x,8443\n"
                         "http://plain.example/,80\n"
                         "column.example,9443\n");
  EXPECT_EQ(urls(list),
            (std::vector<std::string>{"https://same.example:8443/", "https://same2.example:8443/x",
                                      "http://plain.example/", "https://column.example:9443/"}));
  std::vector<int> ports;
  for (const auto& t : list.targets) ports.push_back(t.port);
  EXPECT_EQ(ports, (std::vector<int>{8443, 8443, 80, 9443}));
  ASSERT_EQ(list.errors.size(), 3u);
  EXPECT_THAT(format_input_error(list.errors[0]),
              HasSubstr("agree.csv:2:1: warning: 'https://written.example:8443/' (at 1): its port "
                        "8443 and the Port column's 443 disagree"));
  EXPECT_THAT(list.errors[1].message, HasSubstr("its port 8443 and the Port column's 9000"));
  EXPECT_THAT(list.errors[2].message, HasSubstr("its port 443 and the Port column's 80"));
}

// Issue 16: a quote that is never closed took the rest of the file as one cell, with exit 0.
TEST(Csv, UnterminatedQuoteIsARowErrorAndTheLinesAfterItAreRead) {
  const auto list = load("quote.csv",
                         "URL,Port\n"
                         "first.example,443\n"
                         "\"stray.example,443\n"
                         "after.example,443\n"
                         "last.example,443\n");
  EXPECT_EQ(urls(list),
            (std::vector<std::string>{"https://first.example/", "https://after.example/",
                                      "https://last.example/"}));
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_THAT(format_input_error(list.errors[0]),
              HasSubstr("quote.csv:3:1: warning: quoted field is never closed"));
}

TEST(Csv, OversizeFieldsAreRowErrorsNotMemory) {
  const std::string big(kMaxCellBytes + 1, 'x');
  const auto records = parse_csv("a,b\nok,1\nx," + big + "\n\"" + big + "\"\nnext,2\n");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[2].line, 3);
  EXPECT_EQ(records[2].column, 2);
  EXPECT_THAT(records[2].error, HasSubstr("field longer than 8192 bytes"));
  EXPECT_EQ(records[3].line, 4);
  EXPECT_THAT(records[3].error, HasSubstr("quoted field longer than 8192 bytes"));
  EXPECT_EQ(records[4].fields, (std::vector<std::string>{"next", "2"}));
  EXPECT_EQ(records[4].line, 5);
}

// Issue 16: a URL list is read line by line; one runaway line is that line's error, not memory.
TEST(UrlFile, LongLinesAreErrorsAndTheLinesAroundThemAreRead) {
  const std::string huge(1 << 20, 'x');  // a megabyte, no newline for 16 read windows
  const auto list = load("long.txt", "https://a.example/\nhttps://b.example/" + huge +
                                         "\n\nhttps://c.example/\nhttps://d.example/" + huge);
  EXPECT_EQ(urls(list), (std::vector<std::string>{"https://a.example/", "https://c.example/"}));
  ASSERT_EQ(list.errors.size(), 2u);
  EXPECT_THAT(format_input_error(list.errors[0]),
              HasSubstr("long.txt:2:1: error: line longer than 8192 bytes"));
  EXPECT_EQ(list.errors[1].line, 5);
  EXPECT_EQ(list.targets[1].row.line, 4);
  EXPECT_EQ(list.targets[1].row.source(), list.targets[0].row.source());
}

TEST(UrlFile, AFileOverTheLimitIsRefusedBeforeItIsRead) {
  // Sparse: st_size says 300 MB, nothing is on disk, and reading it would take seconds.
  const auto path =
      std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-sparse.txt");
  std::ofstream(path).close();
  std::filesystem::resize_file(path, kMaxSheetBytes + 1);
  for (const char* format : {"txt", "csv"}) {
    SheetOptions options;
    options.format = format;
    TargetList list;
    try {
      load_sheet_file(path.string(), options, list);
      ADD_FAILURE() << format << ": a file over the limit was read";
    } catch (const SheetError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string() + ": larger than 268435456 bytes"));
    }
  }
  std::filesystem::remove(path);
}

// The facts of a row are shared by its targets; a duplicate's line is only its first row's.
TEST(TargetRow, OtherLinesAreCopiedOnWriteAndTheFactsShared) {
  TargetList list = load("dupes.csv",
                         "Geography,URL\nWW,\"https://a.example/ https://b.example/\"\n"
                         "EU,https://a.example/\nUS,https://a.example/\n");
  deduplicate(list);
  ASSERT_EQ(urls(list), (std::vector<std::string>{"https://a.example/", "https://b.example/"}));
  EXPECT_EQ(list.targets[0].row.other_lines(), (std::vector<int>{3, 4}));
  EXPECT_TRUE(list.targets[1].row.other_lines().empty());  // same row, same facts, not touched
  EXPECT_EQ(list.targets[1].row.geography(), "WW");
  const RowFacts full = list.targets[0].row;
  EXPECT_EQ(full.line, 2);
  EXPECT_EQ(full.geography, "WW");
  EXPECT_EQ(full.other_lines, (std::vector<int>{3, 4}));
  Target copy = list.targets[0];
  copy.row.add_other_line(9);
  EXPECT_EQ(list.targets[0].row.other_lines(), (std::vector<int>{3, 4}));
}

// A million-line list is a million Targets: the figure in bench/README.md rests on this size.
TEST(TargetRow, TargetStaysCompact) {
  EXPECT_LE(sizeof(Target), 152u);
  Target t;
  t.skip = "wildcard";
  Target u = t;
  EXPECT_EQ(u.skip.str(), "wildcard");
  u.skip = std::string();
  EXPECT_TRUE(u.skip.empty());
  EXPECT_EQ(std::string_view(t.skip), "wildcard");
}
