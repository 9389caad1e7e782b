// From rows of cells (a CSV, a worksheet) to targets: header by name, URL cells, wildcards,
// analyzer test paths, filters.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <variant>

#include "base/text.hpp"
#include "sheet/builtin.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/url.hpp"
#include "sheet/xlsx.hpp"

namespace urlprobe::sheet {

namespace {

// Cells are trimmed of U+00A0 too: sheets hold text pasted from web pages.
using base::lower;
using base::starts_with_icase;
using base::trim_with_nbsp;

// A table whatever it came from; `where` renders a cell's location for messages.
struct Table {
  struct Cell {
    int column = 0;  // 1-based
    std::string text;
    XlsxCell::Kind kind = XlsxCell::Kind::text;  // a CSV has only text
    std::string error;                           // unreadable: see XlsxCell::error
  };
  struct Row {
    int number = 0;
    std::vector<Cell> cells;
    std::string error;  // the row cannot be read at all, located at error_column (0: the row)
    int error_column = 0;
  };
  std::string source;
  std::string sheet;  // xlsx only
  std::vector<Row> rows;

  // CSV cells are located by line and field number, worksheet cells by reference ("5:5" is the
  // whole row 5, as Excel writes it).
  InputError error_at(int row, int column, std::string message) const {
    InputError e{source, row, column, std::move(message), {}, true};
    if (!sheet.empty())
      e.cell = column > 0 ? fmt::format("{}!{}{}", sheet, column_letters(column), row)
                          : fmt::format("{}!{}:{}", sheet, row, row);
    return e;
  }
};

enum class Field {
  service,
  geography,
  category,
  port,
  url,
  description,
  required,
  os_windows,
  os_legacy,
  os_mma,
  os_mac,
  os_linux,
  comments,
  expected_status,
  method,
  trust,
  unknown
};

Field field_for(const std::string& header) {
  const auto h = lower(trim_with_nbsp(header));
  if (h == "service") return Field::service;
  // The analyzer's own list names its regions "gateway" (GW_US, ..., and US, EU, ...).
  if (h == "geography" || h == "geo" || h == "region" || h == "gateway") return Field::geography;
  if (h == "expected status" || h == "expected_status" || h == "expected statuses" ||
      h == "expect status" || h == "expected")
    return Field::expected_status;
  if (h == "method" || h == "http method") return Field::method;
  if (h == "trust" || h == "pin" || h == "pins") return Field::trust;
  if (h == "category") return Field::category;
  if (h == "port") return Field::port;
  if (h == "endpoint/url" || h == "url" || h == "urls" || h == "endpoint" || h == "endpoint url" ||
      h == "endpoints")
    return Field::url;
  if (h.find("description") != std::string::npos) return Field::description;
  if (h.starts_with("required") || h == "optional") return Field::required;
  if (h.find("mma") != std::string::npos || h == "windows_server_mma") return Field::os_mma;
  if (h.starts_with("windows 7") || h == "windows_legacy") return Field::os_legacy;
  if (h.starts_with("windows 10") || h.starts_with("windows 11") || h == "windows" ||
      h.starts_with("server 2019"))
    return Field::os_windows;
  if (h == "mac" || h == "macos") return Field::os_mac;
  if (h == "linux") return Field::os_linux;
  if (h == "comments" || h == "comment") return Field::comments;
  return Field::unknown;
}

constexpr std::pair<Field, std::string_view> kOsNames[] = {{Field::os_windows, "windows"},
                                                           {Field::os_legacy, "windows-legacy"},
                                                           {Field::os_mma, "server-mma"},
                                                           {Field::os_mac, "mac"},
                                                           {Field::os_linux, "linux"}};

std::string_view builtin_text(std::string_view file) {
  for (const auto& sheet : builtin_sheets())
    if (sheet.name == file) return sheet.text;
  return {};
}

// Where an analyzer has a test path for a host (e.g. /commands/test), probe that path. The
// cross-platform analyzer's file is newer and wins; a regional host neither file names
// (au.vortex-win) takes the path its regional siblings (us., eu., uk.vortex-win) all share.
const std::unordered_map<std::string, std::string>& analyzer_paths() {
  static const auto paths = [] {
    std::unordered_map<std::string, std::string> map;
    const auto xplat = parse_csv(builtin_text("mde_analyzer_xplat.csv"));
    for (std::size_t r = 1; r < xplat.size(); ++r) {
      if (xplat[r].fields.size() < 2) continue;
      auto parsed = parse_target_url(trim_with_nbsp(xplat[r].fields[1]));
      if (auto* target = std::get_if<Target>(&parsed); target && target->path != "/")
        map.emplace(target->host, target->path);
    }
    for (const auto& target : builtin_analyzer_targets().targets)
      if (target.path != "/") map.emplace(target.host, target.path);
    return map;
  }();
  return paths;
}

std::optional<std::string> analyzer_path(const std::string& host) {
  const auto& paths = analyzer_paths();
  if (auto it = paths.find(host); it != paths.end()) return it->second;
  auto region_label = [](std::string_view h) {
    const auto dot = h.find('.');
    return dot == 2 && std::isalpha(static_cast<unsigned char>(h[0])) &&
           std::isalpha(static_cast<unsigned char>(h[1]));
  };
  if (!region_label(host)) return std::nullopt;
  const std::string_view rest = std::string_view(host).substr(2);
  std::optional<std::string> shared;
  for (const auto& [known, path] : paths) {
    if (!region_label(known) || std::string_view(known).substr(2) != rest) continue;
    if (shared && *shared != path) return std::nullopt;
    shared = path;
  }
  return shared;
}

// Why a wildcard row without a concrete host is skipped, naming the option that would give it one.
std::string skip_reason(const std::string& pattern) {
  if (is_workspace_wildcard(pattern))
    return fmt::format("workspace host {}: pass --workspace-id to probe it", pattern);
  if (is_storage_wildcard(pattern))
    return fmt::format(
        "wildcard host {}: name a concrete host to probe it (--testcloudconnection FILE, or "
        "--wildcard-host {}=HOST)",
        pattern, pattern);
  return fmt::format("wildcard host {}: name a concrete host to probe it (--wildcard-host {}=HOST)",
                     pattern, pattern);
}

bool matches_any(std::string_view value, const std::vector<std::string>& wanted) {
  const auto v = lower(trim_with_nbsp(value));
  return std::any_of(wanted.begin(), wanted.end(),
                     [&](const std::string& w) { return lower(trim_with_nbsp(w)) == v; });
}

bool os_says_yes(std::string_view cell) {
  const auto v = trim_with_nbsp(cell);  // no copy: called for every OS cell of every row
  return starts_with_icase(v, "yes") || (v.size() == 8 && starts_with_icase(v, "required")) ||
         (v.size() == 1 && starts_with_icase(v, "y"));
}

// Split a URL cell: the vendor puts one URL per cell, but users' sheets hold lists.
std::vector<std::pair<int, std::string>> split_cell(std::string_view cell) {
  std::vector<std::pair<int, std::string>> parts;
  std::size_t i = 0;
  while (i < cell.size()) {
    while (i < cell.size() && (cell[i] == ' ' || cell[i] == ',' || cell[i] == ';' ||
                               cell[i] == '\n' || cell[i] == '\r' || cell[i] == '\t'))
      ++i;
    const auto start = i;
    while (i < cell.size() && !(cell[i] == ' ' || cell[i] == ',' || cell[i] == ';' ||
                                cell[i] == '\n' || cell[i] == '\r' || cell[i] == '\t'))
      ++i;
    if (i > start)
      parts.emplace_back(static_cast<int>(start), std::string(cell.substr(start, i - start)));
  }
  return parts;
}

std::string_view kind_name(XlsxCell::Kind kind) {
  switch (kind) {
    case XlsxCell::Kind::number:
      return "a number";
    case XlsxCell::Kind::boolean:
      return "a boolean";
    case XlsxCell::Kind::error:
      return "an error value";
    case XlsxCell::Kind::date:
      return "a date";
    case XlsxCell::Kind::text:
      break;
  }
  return "text";
}

// The Port column: one TCP port, as "443" or "443/TCP" (firewall sheets add the protocol).
// Anything else is the row's error: a port the probe would not use must not pass in silence.
std::variant<int, std::string> port_number(std::string_view cell) {
  std::string_view digits = cell;
  if (const auto slash = digits.find('/'); slash != std::string_view::npos) {
    if (lower(trim_with_nbsp(digits.substr(slash + 1))) == "tcp")
      digits = trim_with_nbsp(digits.substr(0, slash));
  }
  const bool numeric = all_digits(digits) && digits.size() <= 5;
  const int value = numeric ? std::stoi(std::string(digits)) : 0;
  if (value >= 1 && value <= 65535) return value;
  if (!numeric && digits.find_first_of(",; ") != std::string_view::npos &&
      std::isdigit(static_cast<unsigned char>(digits.front())))
    return fmt::format(
        "Port '{}' names more than one port (give each its own row): the row is "
        "skipped",
        cell);
  return fmt::format("Port '{}' is not a TCP port from 1 to 65535: the row is skipped", cell);
}

// The port a URL cell names itself ("h:8443", "https://[::1]:8443/x"), if it names one.
std::optional<int> written_port(std::string_view authority) {
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  if (const auto bracket = authority.rfind(']');
      bracket != std::string_view::npos && bracket > colon)
    return std::nullopt;
  const auto digits = authority.substr(colon + 1);
  if (!all_digits(digits) || digits.size() > 5)
    return std::nullopt;  // not a port the URL parser accepts: it says why
  return std::stoi(std::string(digits));
}

class TableReader {
 public:
  TableReader(const SheetOptions& options, TargetList& into) : options_(options), into_(into) {}

  // Returns false when the table has no URL column at all.
  bool read(const Table& table) {
    const Table::Row* header = nullptr;
    for (const auto& row : table.rows) {
      if (row.number > 50) break;  // a title block is a few rows, not pages
      if (std::any_of(row.cells.begin(), row.cells.end(),
                      [](auto& c) { return field_for(c.text) == Field::url; })) {
        header = &row;
        break;
      }
    }
    if (!header) return false;
    std::map<int, Field> fields;
    std::map<int, std::string> names;
    for (const auto& [column, text, kind, error] : header->cells) {
      const auto field = field_for(text);
      // The first column of a kind wins; a second "URL" column is kept as a fact.
      const bool taken =
          std::any_of(fields.begin(), fields.end(), [&](auto& f) { return f.second == field; });
      fields[column] = taken && field != Field::unknown ? Field::unknown : field;
      names[column] = std::string(trim_with_nbsp(text));
    }
    for (const auto& row : table.rows) {
      if (row.number <= header->number) continue;
      read_row(table, row, fields, names);
    }
    return true;
  }

 private:
  void read_row(const Table& table, const Table::Row& row, const std::map<int, Field>& fields,
                const std::map<int, std::string>& names) {
    if (!row.error.empty()) {
      into_.errors.push_back(table.error_at(row.number, row.error_column,
                                            fmt::format("{}: the row is skipped", row.error)));
      return;
    }
    // A cell that cannot be read leaves the row's facts unknown: it is named, the row skipped.
    bool unreadable = false;
    for (const auto& cell : row.cells) {
      if (cell.error.empty()) continue;
      into_.errors.push_back(table.error_at(row.number, cell.column,
                                            fmt::format("{}: the row is skipped", cell.error)));
      unreadable = true;
    }
    if (unreadable) return;

    RowFacts facts;
    facts.source = table.source;
    facts.sheet = table.sheet;
    facts.line = row.number;
    std::string url_cell, port_cell;
    int url_column = 0, port_column = 0;
    XlsxCell::Kind url_kind = XlsxCell::Kind::text;
    std::vector<std::string> os_yes;
    for (const auto& [column, text, kind, error] : row.cells) {
      const auto it = fields.find(column);
      const Field field = it == fields.end() ? Field::unknown : it->second;
      switch (field) {
        case Field::url:
          url_cell = text;
          url_column = column;
          url_kind = kind;
          break;
        case Field::port:
          port_cell = trim_with_nbsp(text);
          port_column = column;
          break;
        case Field::geography:
          facts.geography = trim_with_nbsp(text);
          break;
        case Field::category:
          facts.category = trim_with_nbsp(text);
          break;
        case Field::service:
          facts.service = trim_with_nbsp(text);
          break;
        case Field::required:
          facts.required = trim_with_nbsp(text);
          break;
        case Field::description:
        case Field::comments:
          break;
        case Field::expected_status:
        case Field::method:
        case Field::trust:
          if (auto why = read_expectation(field, trim_with_nbsp(text), facts.expect);
              !why.empty()) {
            into_.errors.push_back(
                table.error_at(row.number, column, fmt::format("{}: the row is skipped", why)));
            return;
          }
          break;
        case Field::unknown:
          if (auto name = names.find(column); name != names.end() && !trim_with_nbsp(text).empty())
            facts.extra.emplace_back(name->second, std::string(trim_with_nbsp(text)));
          break;
        default:
          for (const auto& [os_field, os_name] : kOsNames)
            if (os_field == field && os_says_yes(text)) os_yes.emplace_back(os_name);
      }
    }
    for (const auto& name : os_yes) facts.os += (facts.os.empty() ? "" : ",") + name;
    if (trim_with_nbsp(url_cell).empty()) return;  // a spacer or section row

    if (!keep(facts)) return;
    if (url_kind != XlsxCell::Kind::text) {
      into_.errors.push_back(
          table.error_at(row.number, url_column,
                         fmt::format("'{}' is {}, not a URL: the row is skipped",
                                     trim_with_nbsp(url_cell), kind_name(url_kind))));
      return;
    }
    int port = 0;
    if (!port_cell.empty()) {
      auto parsed = port_number(port_cell);
      if (auto* message = std::get_if<std::string>(&parsed)) {
        into_.errors.push_back(table.error_at(row.number, port_column, std::move(*message)));
        return;
      }
      port = std::get<int>(parsed);
    }
    const auto shared = std::make_shared<const RowFacts>(std::move(facts));
    for (const auto& [offset, piece] : split_cell(url_cell))
      add(table, row.number, url_column, offset, piece, port, shared);
  }

  // A bad expectation cell is the row's error: probing with a looser rule than the sheet meant
  // would call a failure a success.
  static std::string read_expectation(Field field, std::string_view text, Expectation& into) {
    if (text.empty()) return {};
    std::string error;
    const bool ok = field == Field::expected_status
                        ? parse_status_expectation(text, into.status, error)
                    : field == Field::method ? parse_method(text, into.method, error)
                                             : parse_trust(text, into.trust, error);
    return ok ? std::string() : error;
  }

  bool keep(const RowFacts& facts) const {
    if (!options_.geo.empty() && !facts.geography.empty() && lower(facts.geography) != "ww" &&
        !matches_any(facts.geography, options_.geo) &&
        !(facts.geography.starts_with("GW_") &&
          matches_any(std::string_view(facts.geography).substr(3), options_.geo)))
      return false;
    if (!options_.category.empty() && !matches_any(facts.category, options_.category)) return false;
    if (options_.required_only && lower(facts.required) != "required") return false;
    if (!options_.os.empty()) {
      bool any = false;
      for (const auto& os : options_.os)
        any = any || ("," + facts.os + ",").find("," + lower(os) + ",") != std::string::npos;
      if (!any) return false;
    }
    return true;
  }

  void add(const Table& table, int row, int column, int offset, std::string text, int port,
           const std::shared_ptr<const RowFacts>& facts) {
    const std::string piece_text = text;
    const bool has_scheme = text.find("://") != std::string::npos;
    std::string host_part = has_scheme ? text.substr(text.find("://") + 3) : text;
    host_part = host_part.substr(0, host_part.find_first_of("/?#"));
    const auto url_port = written_port(host_part);
    if (port) {
      // The URL cell and the Port column must name the same port: one of them is wrong, and
      // probing either would report on a port the sheet does not mean.
      std::optional<int> implied = url_port;
      if (!implied && has_scheme) implied = starts_with_icase(text, "http://") ? 80 : 443;
      if (implied && *implied != port) {
        into_.errors.push_back(table.error_at(
            row, column,
            fmt::format("'{}' (at {}): its port {} and the Port column's {} disagree", piece_text,
                        offset + 1, *implied, port)));
        return;
      }
    }
    if (url_port) host_part.resize(host_part.rfind(':'));
    if (host_part.find('*') == std::string::npos)
      return emit(table, row, column, offset, piece_text, std::move(text), has_scheme, port,
                  url_port, facts);
    const auto pattern = lower(host_part);
    const auto hosts = concrete_hosts(pattern);
    if (hosts.empty()) {
      // Not probeable as written: keep it visible as the sheet wrote it, never drop it silently.
      if (!has_scheme) text = (port == 80 ? "http://" : "https://") + text;
      Target target;
      target.url = text;
      target.scheme = text.starts_with("http://") ? kHttp : kHttps;
      target.host = pattern;
      target.port = static_cast<std::uint16_t>(url_port                  ? *url_port
                                               : port                    ? port
                                               : target.scheme == "http" ? 80
                                                                         : 443);
      target.path = "/";
      target.skip = skip_reason(pattern);
      target.row = TargetRow(facts, row);
      into_.targets.push_back(std::move(target));
      return;
    }
    // The host part is where the URL's text starts, or just after its scheme.
    const auto host_at = has_scheme ? text.find("://") + 3 : 0;
    for (const auto& concrete : hosts) {
      auto own = std::make_shared<RowFacts>(*facts);
      own->wildcard = pattern;
      own->host_from = std::string(host_source_name(concrete.from));
      own->workspace = concrete.workspace;
      std::string concrete_text = text;
      concrete_text.replace(host_at, host_part.size(), concrete.host);
      emit(table, row, column, offset, piece_text, std::move(concrete_text), has_scheme, port,
           url_port, std::move(own));
    }
  }

  // The hosts a wildcard row is probed at: one per workspace ID for workspace hosts, then those
  // given for its pattern (TestCloudConnection, --wildcard-host) and, when none were given, the
  // analyzer's representative hosts. Each host once, the first source kept.
  std::vector<WildcardHost> concrete_hosts(const std::string& pattern) const {
    std::vector<WildcardHost> hosts;
    auto add = [&](WildcardHost host) {
      if (std::none_of(hosts.begin(), hosts.end(),
                       [&](const WildcardHost& known) { return known.host == host.host; }))
        hosts.push_back(std::move(host));
    };
    if (is_workspace_wildcard(pattern))
      for (const auto& id : options_.workspace_ids) {
        auto host = pattern;
        host.replace(0, 1, lower(id));
        add({pattern, std::move(host), HostSource::workspace_id, lower(id)});
      }
    bool given = false;
    for (const auto& named : options_.wildcard_hosts) {
      if (named.pattern.empty() ? !base::glob_match(pattern, named.host) : named.pattern != pattern)
        continue;
      given = true;
      add(named);
    }
    if (!given)
      for (const auto host : representative_hosts(pattern))
        add({pattern, std::string(host), HostSource::representative, {}});
    return hosts;
  }

  void emit(const Table& table, int row, int column, int offset, const std::string& piece_text,
            std::string text, bool has_scheme, int port, std::optional<int> url_port,
            std::shared_ptr<const RowFacts> facts) {
    // A path pattern ("www.microsoft.com/pkiops/*") is probed at its fixed prefix.
    if (const auto path = text.find('/', has_scheme ? text.find("://") + 3 : 0);
        path != std::string::npos)
      if (const auto star = text.find('*', path); star != std::string::npos) text.erase(star);
    if (!has_scheme) text = (port == 80 ? "http://" : "https://") + text;

    auto parsed = parse_target_url(text);
    if (auto* error = std::get_if<UrlError>(&parsed)) {
      into_.errors.push_back(table.error_at(
          row, column, fmt::format("'{}' (at {}): {}", piece_text, offset + 1, error->message)));
      return;
    }
    Target target = std::move(std::get<Target>(parsed));
    if (target.path == "/") {
      if (auto path = analyzer_path(target.host)) {
        target.path = *path;
        target.url += path->substr(1);
      }
    }
    if (port && port != 80 && port != 443 && !has_scheme && !url_port) {
      // A port column other than the scheme's default names the port to probe.
      target.port = static_cast<std::uint16_t>(port);
      target.url = fmt::format("{}://{}:{}{}", target.scheme, target.host, port, target.path);
    }
    target.row = TargetRow(std::move(facts), row);
    into_.targets.push_back(std::move(target));
  }

  const SheetOptions& options_;
  TargetList& into_;
};

Table csv_table(std::string_view text, const std::string& source, char separator) {
  Table table;
  table.source = source;
  auto records = parse_csv(text, separator);
  table.rows.reserve(records.size());
  for (auto& record : records) {
    Table::Row row;
    row.number = record.line;
    if (!record.error.empty()) {
      row.error = std::move(record.error);
      row.error_column = record.column;
      table.rows.push_back(std::move(row));
      continue;
    }
    row.cells.reserve(record.fields.size());
    for (std::size_t i = 0; i < record.fields.size(); ++i)
      if (!record.fields[i].empty())
        row.cells.push_back({static_cast<int>(i) + 1, std::move(record.fields[i]), {}, {}});
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string format_of(const std::string& path, const SheetOptions& options) {
  if (!options.format.empty()) return options.format;
  const auto ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".xlsx" || ext == ".xlsm") return "xlsx";
  if (ext == ".csv") return "csv";
  if (ext == ".tsv" || ext == ".tab") return "tsv";
  return "txt";
}

void load_xlsx(const std::string& path, std::string_view bytes, const SheetOptions& options,
               TargetList& into) {
  std::vector<XlsxSheet> sheets;
  try {
    sheets = read_xlsx(bytes);
  } catch (const XlsxError& e) {
    throw SheetError(fmt::format("{}: {}", path, e.what()));
  }
  auto to_table = [&](XlsxSheet& sheet) {
    Table table;
    table.source = path;
    table.sheet = sheet.name;
    for (auto& row : sheet.rows) {
      Table::Row r;
      r.number = row.number;
      r.error = std::move(row.error);
      for (auto& cell : row.cells)
        r.cells.push_back({cell.column, std::move(cell.text), cell.kind, std::move(cell.error)});
      table.rows.push_back(std::move(r));
    }
    return table;
  };
  std::vector<Table> tables;
  for (auto& sheet : sheets) {
    if (!options.sheet_name.empty() && sheet.name != options.sheet_name) continue;
    tables.push_back(to_table(sheet));
  }
  if (tables.empty())
    throw SheetError(fmt::format("{}: no worksheet named '{}'", path, options.sheet_name));
  // Prefer the vendor's sheet name when several have a URL column.
  std::stable_partition(tables.begin(), tables.end(),
                        [](const Table& t) { return lower(t.sheet) == "microsoft defender urls"; });
  for (const auto& table : tables) {
    TargetList list;
    if (TableReader(options, list).read(table)) {
      into.targets.insert(into.targets.end(), std::make_move_iterator(list.targets.begin()),
                          std::make_move_iterator(list.targets.end()));
      into.errors.insert(into.errors.end(), list.errors.begin(), list.errors.end());
      return;
    }
  }
  throw SheetError(fmt::format(
      "{}: no worksheet has a URL column (a header such as 'Endpoint/URL' or 'URL')", path));
}

}  // namespace

bool is_guid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

void load_sheet_file(const std::string& path, const SheetOptions& options, TargetList& into) {
  const auto format = format_of(path, options);
  const auto name = input_name(path);
  if (format != "xlsx" && format != "txt" && format != "csv" && format != "tsv")
    throw SheetError(fmt::format("{}: unknown sheet format '{}'", name, format));
  std::string bytes;
  try {
    if (format == "txt") return read_url_file(path, into);
    bytes = read_file(path);
  } catch (const std::exception& e) {
    throw SheetError(e.what());
  }
  if (format == "xlsx") return load_xlsx(name, bytes, options, into);
  const auto table = csv_table(bytes, name, format == "tsv" ? '\t' : ',');
  if (!TableReader(options, into).read(table))
    throw SheetError(
        fmt::format("{}: no URL column (a header such as 'Endpoint/URL' or 'URL')", name));
}

std::span<const BuiltinInfo> builtin_catalog() {
  static constexpr BuiltinInfo kCatalog[] = {
      {"commercial", "mde_urls_commercial.csv mde_mma_commercial.csv",
       "MDE URLs, commercial (docs 'Microsoft Defender URLs' table, and the MMA steps' "
       "*.agentsvc.azure-automation.net)",
       "2026-03-11"},
      {"gov", "mde_urls_gov.csv mde_mma_gov.csv",
       "MDE URLs, US Government (GCC, GCC High, DoD; and the MMA steps' "
       "*.agentsvc.azure-automation.us)",
       "2025-12-25"},
      {"analyzer", "mde_analyzer_xplat.csv mdeca_test_urls.csv",
       "the MDE Client Analyzers' test URLs: the macOS/Linux analyzer's standard-connectivity "
       "rows (exact status, method, pinned roots), then the Windows analyzer's "
       "RegionsURLs.json (200, 400 or 404 pass)",
       "2026-12-05 / 2022-08-16"},
      {"streamlined", "mde_analyzer_xplat.csv mde_streamlined_gov.csv",
       "MDE streamlined connectivity (*.endpoint.security.microsoft.com): the macOS/Linux "
       "analyzer's gateway rows GW_US/EU/UK/AU (exact status, method, pinned roots)",
       "2026-12-05"},
  };
  return kCatalog;
}

namespace {

// The analyzer's per-URL file holds both connectivity models: gateway rows (GW_xx) are
// streamlined, the others standard. Its rows go through the same reader as a user's sheet.
void load_xplat(bool streamlined, const SheetOptions& options, TargetList& into) {
  TargetList all;
  TableReader(options, all)
      .read(
          csv_table(builtin_text("mde_analyzer_xplat.csv"), "builtin:mde_analyzer_xplat.csv", ','));
  for (auto& target : all.targets)
    if (target.row.geography().starts_with("GW_") == streamlined)
      into.targets.push_back(std::move(target));
  into.errors.insert(into.errors.end(), all.errors.begin(), all.errors.end());
}

}  // namespace

void load_builtin(std::string_view name, const SheetOptions& options, TargetList& into) {
  if (name == "streamlined") {
    load_xplat(true, options, into);
    TableReader(options, into)
        .read(csv_table(builtin_text("mde_streamlined_gov.csv"), "builtin:mde_streamlined_gov.csv",
                        ','));
    return;
  }
  if (name == "analyzer") {
    // The newer file first: where both name a URL, deduplicate keeps its exact expectation.
    load_xplat(false, options, into);
    auto list = builtin_analyzer_targets();
    for (auto& t : list.targets) {
      if (!options.geo.empty() && lower(t.row.geography()) != "all" &&
          !matches_any(t.row.geography(), options.geo))
        continue;
      into.targets.push_back(std::move(t));
    }
    return;
  }
  for (const auto& info : builtin_catalog()) {
    if (info.name != name) continue;
    // "TABLE ROWS": the docs' table, then rows urlprobe adds to it (mde_mma_*.csv).
    for (std::string_view files = info.file; !files.empty();) {
      const auto space = files.find(' ');
      const auto file = files.substr(0, space);
      files = space == std::string_view::npos ? std::string_view{} : files.substr(space + 1);
      const auto table = csv_table(builtin_text(file), fmt::format("builtin:{}", file), ',');
      TableReader(options, into).read(table);
    }
    return;
  }
  throw SheetError(
      fmt::format("--builtin: unknown sheet '{}' (commercial, gov, analyzer, streamlined)", name));
}

void deduplicate(TargetList& list) {
  // In place, with an open-addressed table of 4-byte indices: a second vector of targets and a
  // node plus a URL copy per target cost a million-line list as much as its targets.
  auto& targets = list.targets;
  std::size_t slots = 16;
  while (slots < targets.size() * 2) slots *= 2;
  std::vector<std::uint32_t> table(slots, 0);  // kept index + 1; 0: free
  const std::hash<std::string_view> hash;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    for (std::size_t slot = hash(targets[i].url) & (slots - 1);; slot = (slot + 1) & (slots - 1)) {
      if (table[slot] == 0) {
        table[slot] = static_cast<std::uint32_t>(kept + 1);
        if (i != kept) targets[kept] = std::move(targets[i]);
        ++kept;
        break;
      }
      Target& first = targets[table[slot] - 1];
      if (first.url == targets[i].url) {
        if (targets[i].row.line) first.row.add_other_line(targets[i].row.line);
        break;
      }
    }
  }
  targets.erase(targets.begin() + static_cast<std::ptrdiff_t>(kept), targets.end());
}

}  // namespace urlprobe::sheet
