#include "route/detail/pac_ip.hpp"

namespace urlprobe::route::detail {

std::optional<Ip> parse_ip(const std::string& text) {
  Ip ip;
  if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (text.find(':') != std::string::npos &&
      inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

bool prefix_match(const Ip& a, const Ip& net, int len) {
  if (a.family != net.family) return false;
  for (int i = 0; i < len / 8; ++i)
    if (a.bytes[i] != net.bytes[i]) return false;
  if (len % 8 == 0) return true;
  const unsigned mask = 0xffu << (8 - len % 8);
  return ((a.bytes[len / 8] ^ net.bytes[len / 8]) & mask) == 0;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ';' || c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (c != ' ' && c != '\t') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ';';
    out += s;
  }
  return out;
}

}  // namespace urlprobe::route::detail
