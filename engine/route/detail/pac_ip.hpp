// IP address helpers of the PAC sandbox (route/pac/ip.cpp): literals, prefixes, ';' lists.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::route::detail {

struct Ip {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  int bits() const { return family == AF_INET ? 32 : 128; }
};

std::optional<Ip> parse_ip(const std::string& text);     // an IPv4 or IPv6 literal
bool prefix_match(const Ip& a, const Ip& net, int len);  // a in net/len (same family)
// "a; b,c" -> {"a", "b", "c"}: ';' or ',' separate, blanks vanish, empty items are dropped.
std::vector<std::string> split_list(std::string_view text);
std::string join(const std::vector<std::string>& items);  // with ';'

}  // namespace urlprobe::route::detail
