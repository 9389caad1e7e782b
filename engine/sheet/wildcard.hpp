// Concrete hosts for a sheet's wildcard rows, so that a required row is probed rather than
// skipped: the customer's workspace IDs, the storage hosts TestCloudConnection.exe prints, hosts
// named with --wildcard-host, and the hosts the vendor's analyzer tests for a wildcard.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::sheet {

// How a concrete host for a wildcard row was chosen; the record says it ("host_from").
enum class HostSource { workspace_id, testcloudconnection, wildcard_host, representative };
std::string_view host_source_name(HostSource source);  // "workspace-id", ...

struct WildcardHost {
  // The row's wildcard host, lower case ("*.blob.core.windows.net"). Empty: any wildcard row
  // whose pattern HOST matches (a concrete "Firewall Rule:" heading of TestCloudConnection).
  std::string pattern;
  std::string host;  // lower case, matches pattern
  HostSource from = HostSource::wildcard_host;
  std::string workspace;  // the workspace it stands for (a TestCloudConnection file's), or empty
};

// A host name as DNS and TLS take it: two or more labels of letters, digits and '-', not an IP
// address, no '*'. Case is not checked.
bool is_host_name(std::string_view text);
// --wildcard-host PATTERN=HOST: PATTERN has a '*', HOST is a host name that PATTERN matches.
// nullopt with ERROR saying what is wrong (without the option's name).
std::optional<WildcardHost> parse_wildcard_host(std::string_view text, std::string& error);

// *.ods/oms.opinsights.azure.com and *.agentsvc.azure-automation.net, and their .us twins: the
// '*' is the Log Analytics workspace ID. PATTERN in lower case.
bool is_workspace_wildcard(std::string_view pattern);
// *.blob.core.windows.net and *.blob.core.usgovcloudapi.net: TestCloudConnection.exe names them.
bool is_storage_wildcard(std::string_view pattern);

// The hosts the vendor's Client Analyzer tests for a wildcard row, where it names some that the
// sheets do not list as rows of their own (*.dm.microsoft.com); empty for other patterns.
std::vector<std::string_view> representative_hosts(std::string_view pattern);

// What TestCloudConnection.exe printed, as far as urlprobe needs it. Its format is not
// published: every line under a "Firewall Rule: PATTERN" heading that holds a host name matching
// PATTERN gives a host; a heading that names a concrete host gives that host; anything else is
// ignored.
struct CloudConnectionTest {
  std::string source;
  std::string workspace_id;         // lower case; empty: the file names none
  int workspace_line = 0;           // where it was found
  std::size_t headings = 0;         // "Firewall Rule" headings seen
  std::vector<WildcardHost> hosts;  // from testcloudconnection, workspace not yet set
};

// The tool's output is a few KiB; anything much larger is the wrong file.
inline constexpr std::size_t kMaxTestCloudConnectionBytes = std::size_t{4} << 20;

// TEXT as saved: UTF-8 or UTF-16 (a PowerShell redirect) with its BOM, CRLF or LF.
CloudConnectionTest parse_testcloudconnection(std::string_view text, const std::string& source);
// The same from a file; unreadable, too large, or without any "Firewall Rule" heading (not the
// tool's output) is a SheetError naming it.
CloudConnectionTest read_testcloudconnection(const std::string& path);

}  // namespace urlprobe::sheet
