// Benchmark fixtures for the sheet readers: large vendor-shaped sheets made from the built-in
// commercial table, as CSV (in C++) and as .xlsx (by openpyxl under /usr/bin/python3).
#pragma once

#include <cstddef>
#include <string>

namespace urlprobe::bench {

// The vendor's header names, in the vendor's column order (Service ... Comments).
constexpr std::size_t kVendorColumns = 13;
extern const char* const kVendorHeader[kVendorColumns];

// A CSV in the shape of the vendor's workbook: a title row, the header row with the vendor's
// names, then `rows` data rows cycling through the 102 rows of the built-in commercial table.
// The first 102 rows are the table as is; later copies get a distinct host ("r7-" before the
// first label after any "*." or scheme), so every row is a distinct URL of the same shape
// (bare hosts, wildcards, paths, full URLs) with the same descriptions, flags and comments.
std::string vendor_csv(std::size_t rows);

// A private directory under /tmp, removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& bytes);

// Converts a vendor_csv() file to .xlsx with /usr/bin/python3 and openpyxl (write-only mode,
// shared strings, Port as a number, worksheet "Microsoft Defender URLs"). Returns "" on success,
// else why not (python3 missing, openpyxl not importable, the script failed). `seconds` gets
// the time the conversion took.
std::string csv_to_xlsx_with_openpyxl(const std::string& csv_path, const std::string& xlsx_path,
                                      const std::string& work_dir, double& seconds);

}  // namespace urlprobe::bench
