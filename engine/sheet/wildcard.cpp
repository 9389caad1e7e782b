#include "sheet/wildcard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/text.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"

namespace urlprobe::sheet {

namespace {

using base::lower;

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// A pattern as the sheets write wildcard hosts: with a '*' for any one host name, it is one.
bool is_wildcard_pattern(std::string_view text) {
  if (text.find('*') == std::string_view::npos) return false;
  std::string probe(text);
  std::replace(probe.begin(), probe.end(), '*', 'a');
  return is_host_name(probe);
}

// PowerShell's `>` writes UTF-16LE with a BOM; cmd's writes the console's code page (only ASCII
// matters here: host names, GUIDs, the English headings). A UTF-16 file cut short is read up to
// its last whole character: what it holds is still worth reading.
std::string decoded(std::string_view bytes) {
  std::string error;
  if (auto text = base::decode_bom_text(bytes, error)) return *std::move(text);
  return *base::decode_bom_text(bytes.substr(0, bytes.size() - 1), error);
}

// The words of LINE that may be hosts or wildcard patterns, lower case, with what decorates
// them taken off: a scheme, a path, a port, a "Host:" label glued on, trailing dots.
std::vector<std::string> host_words(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    auto keep = [](char c) {
      return is_alnum(c) || c == '.' || c == '-' || c == ':' || c == '/' || c == '*';
    };
    while (i < line.size() && !keep(line[i])) ++i;
    const auto start = i;
    while (i < line.size() && keep(line[i])) ++i;
    std::string_view token = line.substr(start, i - start);
    if (const auto scheme = token.find("://"); scheme != std::string_view::npos)
      token = token.substr(scheme + 3);
    token = token.substr(0, token.find('/'));
    while (!token.empty()) {
      const auto colon = token.find(':');
      auto piece = token.substr(0, colon);
      while (!piece.empty() && piece.back() == '.') piece.remove_suffix(1);
      while (!piece.empty() && piece.front() == '.') piece.remove_prefix(1);
      if (!piece.empty()) words.push_back(lower(piece));
      token = colon == std::string_view::npos ? std::string_view{} : token.substr(colon + 1);
    }
  }
  return words;
}

// The first GUID in LINE that stands alone (not part of a longer run of hex digits), lower case.
std::string guid_in(std::string_view line) {
  constexpr std::size_t kGuid = 36;
  for (std::size_t i = 0; i + kGuid <= line.size(); ++i) {
    if (i > 0 && (is_hex(line[i - 1]) || line[i - 1] == '-')) continue;
    if (i + kGuid < line.size() && (is_hex(line[i + kGuid]) || line[i + kGuid] == '-')) continue;
    if (is_guid(line.substr(i, kGuid))) return lower(line.substr(i, kGuid));
  }
  return {};
}

// "Firewall Rule: PATTERN" (also "Firewall Rules", without the colon, after other words): the
// text after the words, or nullopt for a line that is no heading.
std::optional<std::string_view> heading_rest(std::string_view line) {
  constexpr std::string_view kWords = "firewall rule";
  const auto at = lower(line).find(kWords);
  if (at == std::string::npos) return std::nullopt;
  auto rest = line.substr(at + kWords.size());
  if (!rest.empty() && (rest.front() == 's' || rest.front() == 'S')) rest.remove_prefix(1);
  return rest;
}

}  // namespace

std::string_view host_source_name(HostSource source) {
  switch (source) {
    case HostSource::workspace_id:
      return "workspace-id";
    case HostSource::testcloudconnection:
      return "testcloudconnection";
    case HostSource::wildcard_host:
      return "wildcard-host";
    case HostSource::representative:
      return "representative";
  }
  return "";
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t labels = 0;
  std::string_view last;
  while (true) {
    const auto dot = text.find('.');
    const auto label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
      return false;
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    text = text.substr(dot + 1);
  }
  // A top-level domain is never all digits: that is an IPv4 address.
  return labels >= 2 && !std::all_of(last.begin(), last.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

std::optional<WildcardHost> parse_wildcard_host(std::string_view text, std::string& error) {
  const auto equals = text.find('=');
  const auto pattern = lower(base::trim(text.substr(0, equals)));
  const auto host =
      equals == std::string_view::npos ? std::string() : lower(base::trim(text.substr(equals + 1)));
  if (pattern.empty() || host.empty()) {
    error = fmt::format(
        "expected PATTERN=HOST (such as *.blob.core.windows.net=mystorage.blob.core.windows.net), "
        "got '{}'",
        text);
    return std::nullopt;
  }
  if (!is_wildcard_pattern(pattern)) {
    error =
        fmt::format("'{}' is not a wildcard host as the sheets write them (such as *.{})", pattern,
                    pattern.find('*') == std::string::npos ? pattern : "wd.microsoft.com");
    return std::nullopt;
  }
  if (!is_host_name(host)) {
    error = fmt::format("'{}' is not a host name (a name such as {}, no scheme, port or path)",
                        host, "checkin.dm.microsoft.com");
    return std::nullopt;
  }
  if (!base::glob_match(pattern, host)) {
    error = fmt::format("'{}' does not match '{}'", host, pattern);
    return std::nullopt;
  }
  return WildcardHost{pattern, host, HostSource::wildcard_host, {}};
}

bool is_workspace_wildcard(std::string_view pattern) {
  static constexpr std::string_view kSuffixes[] = {
      ".ods.opinsights.azure.com", ".oms.opinsights.azure.com", ".agentsvc.azure-automation.net",
      ".ods.opinsights.azure.us",  ".oms.opinsights.azure.us",  ".agentsvc.azure-automation.us"};
  if (!pattern.starts_with("*.")) return false;
  return std::any_of(std::begin(kSuffixes), std::end(kSuffixes),
                     [&](auto s) { return pattern.substr(1) == s; });
}

bool is_storage_wildcard(std::string_view pattern) {
  return pattern == "*.blob.core.windows.net" || pattern == "*.blob.core.usgovcloudapi.net";
}

std::vector<std::string_view> representative_hosts(std::string_view pattern) {
  // The Windows Client Analyzer's MdeConfigMgr entries (RegionsURLs.json, region ALL:
  // third_party/mde/mdeca_test_urls.csv): the hosts Security Management enrols and checks in at.
  if (pattern == "*.dm.microsoft.com")
    return {"discovery.dm.microsoft.com", "enrollment.dm.microsoft.com",
            "checkin.dm.microsoft.com"};
  return {};
}

CloudConnectionTest parse_testcloudconnection(std::string_view bytes, const std::string& source) {
  CloudConnectionTest test;
  test.source = source;
  const auto text = decoded(bytes);
  std::optional<std::string> section;  // the wildcard of the heading above; nullopt: none
  std::string workspace_by_host;
  int workspace_by_host_line = 0;
  auto add = [&](std::string pattern, std::string host) {
    for (const auto& known : test.hosts)
      if (known.pattern == pattern && known.host == host) return;
    test.hosts.push_back(
        {std::move(pattern), std::move(host), HostSource::testcloudconnection, {}});
  };
  base::for_each_line(text, [&](std::string_view line, int line_no) {
    if (test.workspace_id.empty() && lower(line).find("workspace") != std::string::npos) {
      test.workspace_id = guid_in(line);
      if (!test.workspace_id.empty()) test.workspace_line = line_no;
    }
    const auto words = host_words(line);
    // Without a line that says "workspace", the ID is the first label of a workspace host.
    for (const auto& word : words) {
      const auto dot = word.find('.');
      if (!workspace_by_host.empty() || dot == std::string::npos || !is_host_name(word) ||
          !is_guid(std::string_view(word).substr(0, dot)))
        continue;
      std::string pattern = word;
      pattern.replace(0, dot, 1, '*');
      if (!is_workspace_wildcard(pattern)) continue;
      workspace_by_host = word.substr(0, dot);
      workspace_by_host_line = line_no;
    }
    if (const auto rest = heading_rest(line)) {
      ++test.headings;
      section.reset();
      for (const auto& word : host_words(*rest)) {
        if (is_wildcard_pattern(word)) {
          section = word;
        } else if (is_host_name(word)) {
          add({}, word);
        } else {
          continue;
        }
        break;
      }
      return;
    }
    if (!section) return;
    for (const auto& word : words)
      if (is_host_name(word) && base::glob_match(*section, word)) add(*section, word);
  });
  if (test.workspace_id.empty() && !workspace_by_host.empty()) {
    test.workspace_id = workspace_by_host;
    test.workspace_line = workspace_by_host_line;
  }
  return test;
}

CloudConnectionTest read_testcloudconnection(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_file(path, kMaxTestCloudConnectionBytes);
  } catch (const std::exception& e) {
    throw SheetError(fmt::format("--testcloudconnection: {}", e.what()));
  }
  auto test = parse_testcloudconnection(bytes, input_name(path));
  if (test.headings == 0)
    throw SheetError(fmt::format(
        "--testcloudconnection: {}: no 'Firewall Rule:' line: this is not the output of "
        "TestCloudConnection.exe",
        test.source));
  return test;
}

}  // namespace urlprobe::sheet
