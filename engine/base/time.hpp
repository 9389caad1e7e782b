// Times as text: RFC 3339, as the v1 record writes them and certificates' dates are given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace urlprobe::base {

// RFC 3339 in UTC with milliseconds, as the jsonl record's "started".
std::string rfc3339(std::chrono::system_clock::time_point t);

// Seconds since the epoch of an RFC 3339 time ("2027-05-01T00:00:00Z", fraction and offset
// allowed); empty when `text` is not one.
std::optional<double> parse_rfc3339(std::string_view text);

}  // namespace urlprobe::base
