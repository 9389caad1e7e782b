// What DNS answered for a name, kept for the record: firewall teams allow by name or by address,
// and need the whole answer (the CNAME chain, every address), not the one a probe connected to.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace urlprobe::net {

// A hostile or broken server may send thousands of addresses; the record keeps this many.
inline constexpr std::size_t kMaxEvidenceAddresses = 64;

// One per name and resolver (shared by every probe of the name), so a result pays a pointer.
struct DnsEvidence {
  // The chain from the name asked: the target of each CNAME in turn, the last one holding the
  // addresses. Empty when the name has addresses of its own.
  std::vector<std::string> cnames;
  // Every address, in the order c-ares returned them. Empty when the lookup failed after a CNAME
  // chain (NXDOMAIN or NODATA at its last name): cnames is then never empty.
  std::vector<std::string> addresses;
  // With --service-tags, per address (same index): the tags it falls in, sorted; without a table,
  // empty, so "in no tag" and "not looked up" stay apart.
  std::vector<std::vector<std::string>> service_tags;

  bool tagged() const { return !addresses.empty() && service_tags.size() == addresses.size(); }
};

}  // namespace urlprobe::net
