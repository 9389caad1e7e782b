#include "net/detail/cname_answer.hpp"

#include <ares.h>
#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace urlprobe::net::detail {

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kFixedRecordFields = 10;  // type, class, ttl, rdlength
constexpr unsigned kTypeCname = 5;
constexpr unsigned kClassIn = 1;

unsigned read_u16(const unsigned char* at) {
  return static_cast<unsigned>((at[0] << 8) | at[1]);
}

// The (possibly compressed) name at `offset`; ares_expand_name checks every label and pointer
// against the message's end and refuses pointer loops. `encoded_length` is what the name takes
// at `offset` itself (a pointer counts 2).
std::optional<std::string> name_at(const unsigned char* message, std::size_t size,
                                   std::size_t offset, std::size_t& encoded_length) {
  if (offset >= size) return std::nullopt;
  char* expanded = nullptr;
  long length = 0;
  if (ares_expand_name(message + offset, message, static_cast<int>(size), &expanded, &length) !=
      ARES_SUCCESS)
    return std::nullopt;
  std::string name(expanded);
  ares_free_string(expanded);
  if (length <= 0 || static_cast<std::size_t>(length) > size - offset) return std::nullopt;
  encoded_length = static_cast<std::size_t>(length);
  return name;
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.ends_with('.')) a.remove_suffix(1);
  if (b.ends_with('.')) b.remove_suffix(1);
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> cname_records(const unsigned char* message,
                                                               std::size_t size) {
  // ares_expand_name takes the length as an int; a DNS message never exceeds 65535 bytes.
  if (!message || size < kHeaderSize || size > std::numeric_limits<std::uint16_t>::max()) return {};
  const unsigned questions = read_u16(message + 4);
  const unsigned answers = read_u16(message + 6);
  std::size_t at = kHeaderSize;
  for (unsigned i = 0; i < questions; ++i) {
    std::size_t length = 0;
    if (!name_at(message, size, at, length)) return {};
    at += length;
    if (size - at < 4) return {};  // type, class
    at += 4;
  }
  std::vector<std::pair<std::string, std::string>> records;
  for (unsigned i = 0; i < answers; ++i) {
    std::size_t length = 0;
    auto owner = name_at(message, size, at, length);
    if (!owner) return {};
    at += length;
    if (size - at < kFixedRecordFields) return {};
    const unsigned type = read_u16(message + at);
    const unsigned klass = read_u16(message + at + 2);
    const std::size_t rdlength = read_u16(message + at + 8);
    at += kFixedRecordFields;
    if (size - at < rdlength) return {};
    if (type == kTypeCname && klass == kClassIn) {
      std::size_t target_length = 0;
      auto target = name_at(message, size, at, target_length);
      if (!target || target_length != rdlength) return {};
      records.emplace_back(std::move(*owner), std::move(*target));
    }
    at += rdlength;
  }
  return records;
}

std::vector<std::string> follow_cnames(
    std::string_view host, const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<std::string> chain;
  std::string current(host);
  while (chain.size() < kMaxCnameChain) {
    const auto link = std::find_if(records.begin(), records.end(), [&](const auto& record) {
      return same_name(record.first, current);
    });
    if (link == records.end()) break;
    const bool visited = same_name(link->second, host) ||
                         std::any_of(chain.begin(), chain.end(), [&](const std::string& name) {
                           return same_name(name, link->second);
                         });
    chain.push_back(link->second);
    if (visited) break;  // kept once, so the record shows the loop
    current = link->second;
  }
  return chain;
}

}  // namespace urlprobe::net::detail
