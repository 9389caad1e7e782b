#include "sheetgen.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "sheet/builtin.hpp"
#include "sheet/reader.hpp"

namespace urlprobe::bench {

const char* const kVendorHeader[kVendorColumns] = {
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

namespace {

constexpr std::size_t kUrlColumn = 4;

// Minimal quoting, as Python's csv module writes it.
void append_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_row(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_field(out, fields[i]);
  }
  out += '\n';
}

// "r7-" in front of the host's first label (after a scheme, after "*." or a leading "*").
std::string distinct_url(const std::string& cell, std::size_t copy) {
  if (copy == 0) return cell;
  std::size_t at = cell.find("://");
  at = at == std::string::npos ? 0 : at + 3;
  if (cell.compare(at, 2, "*.") == 0)
    at += 2;
  else if (cell.compare(at, 1, "*") == 0)
    at += 1;
  std::string out = cell;
  out.insert(at, fmt::format("r{}-", copy));
  return out;
}

}  // namespace

std::string vendor_csv(std::size_t rows) {
  std::string_view text;
  for (const auto& sheet : sheet::builtin_sheets())
    if (sheet.name == "mde_urls_commercial.csv") text = sheet.text;
  auto records = sheet::parse_csv(text);
  if (records.size() < 2) throw std::runtime_error("the built-in commercial sheet is missing");
  records.erase(records.begin());  // its snake_case header
  for (const auto& r : records)
    if (r.fields.size() != kVendorColumns)
      throw std::runtime_error(
          fmt::format("built-in commercial sheet line {}: {} columns", r.line, r.fields.size()));

  std::string out;
  out.reserve(rows * 300);
  append_row(out, {"Microsoft Defender URLs"});
  append_row(out, std::vector<std::string>(std::begin(kVendorHeader), std::end(kVendorHeader)));
  for (std::size_t i = 0; i < rows; ++i) {
    auto fields = records[i % records.size()].fields;
    fields[kUrlColumn] = distinct_url(fields[kUrlColumn], i / records.size());
    append_row(out, fields);
  }
  return out;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/urlprobe-bench-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

namespace {

constexpr std::string_view kScript = R"PY(import csv, sys
try:
    import openpyxl
except ImportError as e:
    sys.stderr.write("openpyxl is not importable under /usr/bin/python3 (%s); "
                     "install Debian's python3-openpyxl\n" % e)
    sys.exit(3)
source, target = sys.argv[1], sys.argv[2]
workbook = openpyxl.Workbook(write_only=True)
sheet = workbook.create_sheet("Microsoft Defender URLs")
with open(source, newline="", encoding="utf-8") as f:
    for number, row in enumerate(csv.reader(f)):
        cells = [cell if cell != "" else None for cell in row]
        if number >= 2 and row[3].isdigit():
            cells[3] = int(row[3])  # the vendor's Port column holds numbers
        sheet.append(cells)
workbook.save(target)
)PY";

}  // namespace

std::string csv_to_xlsx_with_openpyxl(const std::string& csv_path, const std::string& xlsx_path,
                                      const std::string& work_dir, double& seconds) {
  constexpr const char* kPython = "/usr/bin/python3";
  if (access(kPython, X_OK) != 0)
    return fmt::format("{} not found: it is needed (with python3-openpyxl) to make the .xlsx",
                       kPython);
  const std::string script = work_dir + "/csv_to_xlsx.py";
  const std::string errors = work_dir + "/csv_to_xlsx.err";
  write_file(script, std::string(kScript));
  // The paths come from mkdtemp(3): no characters the shell would interpret.
  const std::string command =
      fmt::format("{} {} {} {} 2>{}", kPython, script, csv_path, xlsx_path, errors);
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status == 0 && std::filesystem::exists(xlsx_path)) return {};

  std::ifstream in(errors);
  std::stringstream text;
  text << in.rdbuf();
  std::string message = text.str();
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  if (const auto last_line = message.rfind('\n'); last_line != std::string::npos)
    message = message.substr(last_line + 1);  // a traceback's last line says what went wrong
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return message;
  return fmt::format("making the .xlsx with {} and openpyxl failed (status {}): {}", kPython,
                     status, message.empty() ? "no message" : message);
}

}  // namespace urlprobe::bench
