// DNS answers through c-ares's own parsers, as the resolver meets them. ares_getaddrinfo (which
// the engine uses) hands each reply to ares__parse_into_addrinfo, which is not exported; in
// c-ares 1.18 ares_parse_a_reply and ares_parse_aaaa_reply are thin wrappers around that same
// function, so both run on every input, with and without a TTL array, and every returned
// structure is walked so that a bad length or pointer shows up under ASan.
#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

volatile std::size_t sink;

// Touches every byte c-ares says it returned.
void walk(const hostent* host) {
  if (!host) return;
  std::size_t bytes = host->h_name ? std::strlen(host->h_name) : 0;
  for (char** alias = host->h_aliases; alias && *alias; ++alias) bytes += std::strlen(*alias);
  if (host->h_length != 4 && host->h_length != 16) __builtin_trap();
  for (char** address = host->h_addr_list; address && *address; ++address) {
    unsigned char copy[16];
    std::memcpy(copy, *address, static_cast<std::size_t>(host->h_length));
    bytes += copy[0];
  }
  sink = bytes;
}

template <class AddrTtl, class Parse>
void parse_both_ways(const unsigned char* data, int size, Parse parse) {
  hostent* host = nullptr;
  std::array<AddrTtl, 8> ttls{};
  int count = static_cast<int>(ttls.size());
  if (parse(data, size, &host, ttls.data(), &count) == ARES_SUCCESS) {
    if (count < 0 || count > static_cast<int>(ttls.size())) __builtin_trap();
    walk(host);
  }
  if (host) ares_free_hostent(host);
  host = nullptr;
  if (parse(data, size, &host, nullptr, nullptr) == ARES_SUCCESS) walk(host);
  if (host) ares_free_hostent(host);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 65535) return 0;  // a DNS message never is (TCP's length prefix is 16 bits)
  const int length = static_cast<int>(size);
  parse_both_ways<ares_addrttl>(data, length, ares_parse_a_reply);
  parse_both_ways<ares_addr6ttl>(data, length, ares_parse_aaaa_reply);
  return 0;
}
