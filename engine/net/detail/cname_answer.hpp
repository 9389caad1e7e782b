// The CNAME records of a raw DNS answer. c-ares 1.18's ares_getaddrinfo drops the whole answer
// when a chain ends in NXDOMAIN or NODATA, which is what a DNS filter blocking a CNAME target
// produces; the resolver asks again with ares_query, which hands over the raw answer whatever
// the rcode, and reads the chain from it here. Pure functions, so the fuzzer can drive them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urlprobe::net::detail {

// A chain longer than this is a loop or an attack, not a CDN.
inline constexpr std::size_t kMaxCnameChain = 16;

// (owner, target) of every IN CNAME record in the answer section, in message order. Nothing at
// all when the message is cut short or malformed anywhere before the end of the answer section:
// half an answer would name a chain the server did not send.
std::vector<std::pair<std::string, std::string>> cname_records(const unsigned char* message,
                                                               std::size_t size);

// The targets followed from `host` (case-insensitively, a trailing dot ignored), in order; stops
// at a name already visited or after kMaxCnameChain links.
std::vector<std::string> follow_cnames(
    std::string_view host, const std::vector<std::pair<std::string, std::string>>& records);

}  // namespace urlprobe::net::detail
