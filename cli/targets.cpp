#include "targets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/text.hpp"

#include "sheet/onboarding.hpp"
#include "sheet/reader.hpp"
#include "sheet/sheet.hpp"
#include "sheet/url.hpp"
#include "sheet/wildcard.hpp"
#include "sheet/windows.hpp"

namespace urlprobe::cli {

std::vector<net::Pin> load_pins(const Options& options) {
  auto pins = net::builtin_pins();
  for (const auto& [name, file] : options.pin_files) {
    if (!net::valid_pin_name(name))
      throw UsageError(fmt::format(
          "--pin {}={}: '{}' is not a pin name (letters, digits, '.', '_', '-'; not 'system')",
          name, file, name));
    try {
      net::set_pin(pins, net::read_pin_file(name, file));
    } catch (const std::exception& e) {
      throw UsageError(fmt::format("--pin {}: {}", name, e.what()));
    }
  }
  return pins;
}

std::shared_ptr<const net::ServiceTags> load_service_tags(const Options& options) {
  if (options.service_tags_file.empty()) return nullptr;
  // Microsoft's file is about 4 MB; this leaves room for the clouds' to grow.
  const auto text = sheet::read_file(options.service_tags_file, std::size_t{64} << 20);
  net::ServiceTagsError error;
  auto tags = net::ServiceTags::parse(text, error);
  if (!tags)
    throw UsageError(fmt::format("{}:{}:{}: error: {}", options.service_tags_file, error.line,
                                 error.column, error.message));
  return std::make_shared<const net::ServiceTags>(std::move(*tags));
}

namespace {

// --gateway or --onboarding: the region whose rows are kept (GW_EU keeps GW_EU, EU and WW).
std::string chosen_gateway(const Options& options, std::vector<std::string>& notes) {
  if (!options.onboarding.empty()) {
    const auto found = sheet::read_onboarding(options.onboarding);
    if (!options.gateway.empty() && sheet::normalise_gateway(options.gateway) != found.gateway)
      throw UsageError(fmt::format("--gateway {} disagrees with {}, which names {}",
                                   options.gateway, options.onboarding, found.gateway));
    notes.push_back(fmt::format("gateway {}{} from {} ({})", found.gateway,
                                found.datacenter.empty() ? "" : ", datacenter " + found.datacenter,
                                options.onboarding, found.found_by));
    return found.gateway;
  }
  if (options.gateway.empty()) return {};
  if (!sheet::valid_gateway(options.gateway))
    throw UsageError(fmt::format(
        "--gateway: unknown gateway '{}' (GW_US, GW_EU, GW_UK, GW_AU, or US, EU, UK, AU)",
        options.gateway));
  return sheet::normalise_gateway(options.gateway);
}

void load_inputs(const Options& options, const sheet::SheetOptions& sheet_options,
                 sheet::TargetList& list) {
  if (options.inputs.empty() || !options.builtin.empty())
    sheet::load_builtin(options.builtin.empty() ? "commercial" : options.builtin, sheet_options,
                        list);
  // stdin can be read once: a second '-' would silently be an empty list.
  if (std::count(options.inputs.begin(), options.inputs.end(), "-") > 1)
    throw UsageError("'-' given more than once: stdin can be read only once");
  int argument = 0;
  const auto argv_row = sheet::row_of_source("argv");
  for (const auto& input : options.inputs) {
    ++argument;
    if (input.find("://") != std::string::npos) {
      auto parsed = sheet::parse_target_url(input);
      if (auto* error = std::get_if<sheet::UrlError>(&parsed)) {
        list.errors.push_back({"argv", argument, error->column, error->message, {}, false});
        continue;
      }
      auto& target = std::get<sheet::Target>(parsed);
      target.row = sheet::TargetRow(argv_row, 0);
      list.targets.push_back(std::move(target));
    } else {
      sheet::load_sheet_file(input, sheet_options, list);
    }
  }
}

// A row that trusts a pin this run does not have cannot be judged as the sheet means: it is
// the row's error, as a bad cell is.
void check_pins(sheet::TargetList& list, const std::vector<net::Pin>& pins) {
  std::string known;
  for (const auto& pin : pins) known += (known.empty() ? "" : ", ") + pin.name;
  std::erase_if(list.targets, [&](const sheet::Target& target) {
    for (const auto& name : target.row.expect().trust) {
      if (net::find_pin(pins, name)) continue;
      list.errors.push_back({target.row.source(),
                             target.row.line,
                             0,
                             fmt::format("{}: unknown pin '{}' (known: {}; add one with --pin "
                                         "{}=FILE): the row is skipped",
                                         target.url, name, known, name),
                             {},
                             false});
      return true;
    }
    return false;
  });
}

// --testcloudconnection: each file's hosts, for the workspace the file prints or, when it prints
// none, for the first --workspace-id that no other file claims. A workspace a file prints and
// --workspace-id lacks is added: the file says which workspace the device reports to.
void add_testcloudconnection_hosts(const Options& options, sheet::SheetOptions& sheet_options,
                                   std::vector<std::string>& notes) {
  std::vector<sheet::CloudConnectionTest> tests;
  for (const auto& path : options.testcloudconnection)
    tests.push_back(sheet::read_testcloudconnection(path));
  auto& ids = sheet_options.workspace_ids;
  auto given = [&](const std::string& id) {
    return std::find_if(ids.begin(), ids.end(),
                        [&](const std::string& k) { return base::iequals(k, id); });
  };
  std::vector<std::string> claimed;
  for (const auto& test : tests) {
    if (test.workspace_id.empty()) continue;
    if (given(test.workspace_id) == ids.end()) ids.push_back(test.workspace_id);
    claimed.push_back(base::lower(*given(test.workspace_id)));
  }
  std::size_t next = 0;
  for (auto& test : tests) {
    std::string workspace = test.workspace_id, why;
    if (!workspace.empty()) {
      why = fmt::format("printed on line {}", test.workspace_line);
    } else {
      while (next < ids.size() &&
             std::find(claimed.begin(), claimed.end(), base::lower(ids[next])) != claimed.end())
        ++next;
      if (next < ids.size()) {
        workspace = base::lower(ids[next]);
        claimed.push_back(workspace);
        why = "the file prints none: the next --workspace-id";
      }
    }
    std::size_t wildcard_hosts = 0;
    for (auto& host : test.hosts) {
      host.workspace = workspace;
      wildcard_hosts += !host.pattern.empty();
      sheet_options.wildcard_hosts.push_back(host);
    }
    notes.push_back(fmt::format(
        "--testcloudconnection {}: workspace {}; {} host{} under its Firewall Rule headings",
        test.source,
        workspace.empty() ? "unknown (the file prints none)" : workspace + " (" + why + ")",
        test.hosts.size(), test.hosts.size() == 1 ? "" : "s"));
    if (wildcard_hosts == 0)
      notes.push_back(fmt::format(
          "--testcloudconnection {}: no host under a wildcard 'Firewall Rule: *...' heading",
          test.source));
  }
}

// A --wildcard-host whose pattern no row has (after the filters) probes nothing: say so.
void note_unused_wildcard_hosts(const sheet::SheetOptions& sheet_options,
                                const sheet::TargetList& list, std::vector<std::string>& notes) {
  for (const auto& named : sheet_options.wildcard_hosts) {
    if (named.from != sheet::HostSource::wildcard_host) continue;
    const bool used = std::any_of(list.targets.begin(), list.targets.end(),
                                  [&](const auto& t) { return t.row.wildcard() == named.pattern; });
    if (!used)
      notes.push_back(fmt::format(
          "--wildcard-host {}={}: no row kept has the wildcard host {}: nothing probes it",
          named.pattern, named.host, named.pattern));
  }
}

}  // namespace

sheet::TargetList load_targets(const Options& options, const std::vector<net::Pin>& pins,
                               std::vector<std::string>& notes) {
  auto sheet_options = options.sheet;
  if (const auto gateway = chosen_gateway(options, notes); !gateway.empty()) {
    const auto wanted = sheet::gateway_geographies(gateway);
    if (!sheet_options.geo.empty() &&
        std::none_of(sheet_options.geo.begin(), sheet_options.geo.end(), [&](const auto& geo) {
          return std::find(wanted.begin(), wanted.end(), sheet::normalise_gateway(geo)) !=
                 wanted.end();
        }))
      throw UsageError(fmt::format("--geo and the gateway {} keep nothing in common", gateway));
    sheet_options.geo = wanted;
  }
  std::optional<sheet::WindowsVersion> windows;
  if (!options.windows_version.empty()) {
    std::string error;
    windows = sheet::parse_windows_version(options.windows_version, error);
    if (!windows) throw UsageError(fmt::format("--windows-version: {}", error));
  }

  add_testcloudconnection_hosts(options, sheet_options, notes);

  sheet::TargetList list;
  load_inputs(options, sheet_options, list);
  note_unused_wildcard_hosts(sheet_options, list, notes);
  sheet::deduplicate(list);
  if (windows) {
    const bool streamlined = std::any_of(list.targets.begin(), list.targets.end(), [](auto& t) {
      return t.row.geography().starts_with("GW_");
    });
    const auto outcome = sheet::apply_windows_version(list, *windows, streamlined);
    for (const auto& reason : outcome.reasons)
      notes.push_back(fmt::format("Windows {}: {}", windows->text, reason));
  }
  check_pins(list, pins);
  return list;
}

std::vector<std::string> expired_pin_warnings(const sheet::TargetList& list,
                                              const std::vector<net::Pin>& pins) {
  std::set<std::string> used;
  for (const auto& target : list.targets)
    for (const auto& name : target.row.expect().trust) used.insert(name);
  std::vector<std::string> warnings;
  for (const auto& name : used) {
    const auto* pin = net::find_pin(pins, name);
    if (!pin || !pin->all_expired()) continue;
    std::string until;
    for (const auto& root : pin->roots) until = std::max(until, root.not_after);
    warnings.push_back(fmt::format(
        "warning: pin {} ({}): every root has expired (the last on {}): its URLs will fail "
        "as they would for the sensor; replace it with --pin {}=FILE",
        name, pin->origin, until, name));
  }
  return warnings;
}

}  // namespace urlprobe::cli
