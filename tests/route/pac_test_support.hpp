// What the PAC tests share: a UTC clock value and a resolver answering from a fixed zone.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "route/pac.hpp"

namespace urlprobe::route::test {

inline std::time_t utc(int y, int mon, int d, int h = 12, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return timegm(&tm);
}

using Zone = std::map<std::string, std::vector<std::string>>;

// Answers from *zone (read at each lookup, so a test may change it); any other name does not
// resolve. Every name asked is appended to *asked. No DNS traffic.
inline PacResolve zone_resolver(std::shared_ptr<const Zone> zone,
                                std::shared_ptr<std::vector<std::string>> asked) {
  return [zone, asked](const std::string& host, std::chrono::milliseconds) {
    asked->push_back(host);
    auto it = zone->find(host);
    return std::optional(it == zone->end() ? std::vector<std::string>{} : it->second);
  };
}

}  // namespace urlprobe::route::test
