// Sheets as users have them: the vendor's workbook, CSV/TSV exports, URL lists, the built-ins.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sheet/target.hpp"
#include "sheet/wildcard.hpp"

namespace urlprobe::sheet {

struct SheetOptions {
  std::string format;      // "", "xlsx", "csv", "tsv", "txt": empty means by file extension
  std::string sheet_name;  // .xlsx: the worksheet to read (default: the one with a URL column)
  // Each substitutes the * of workspace hosts (*.ods.opinsights.azure.com): one target per ID.
  std::vector<std::string> workspace_ids;
  // Concrete hosts for wildcard rows (--wildcard-host, --testcloudconnection): a row whose
  // wildcard has some is probed at each of them, and the vendor analyzer's representative hosts
  // for that wildcard are not used.
  std::vector<WildcardHost> wildcard_hosts;
  std::vector<std::string> geo;  // keep these geographies (WW always kept); empty: all
  std::vector<std::string> os;   // windows, windows-legacy, server-mma, mac, linux; empty: all
  std::vector<std::string> category;
  bool required_only = false;
};

// The whole file is unusable (unreadable, not a workbook, no URL column): exit 2.
struct SheetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bad cells and rows become `into.errors` and are skipped; throws SheetError for the file.
// PATH "-" reads stdin (as a URL list unless options.format says otherwise), named "<stdin>".
void load_sheet_file(const std::string& path, const SheetOptions& options, TargetList& into);

// Built-in sheets: "commercial" (the default), "gov", "analyzer".
struct BuiltinInfo {
  std::string_view name, file, description, date;
};
std::span<const BuiltinInfo> builtin_catalog();
void load_builtin(std::string_view name, const SheetOptions& options,
                  TargetList& into);  // throws SheetError

// One target per URL, in first-seen order; later rows are kept in row.other_lines.
void deduplicate(TargetList& list);

bool is_guid(std::string_view text);

}  // namespace urlprobe::sheet
