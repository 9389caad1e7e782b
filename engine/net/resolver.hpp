// Name resolution with c-ares on the caller's event loop: no helper threads, no blocking.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/dns_evidence.hpp"
#include "net/service_tags.hpp"

namespace urlprobe::net {

// curl's --resolve: HOST:PORT:ADDR[,ADDR...] pins a name (for that port) to addresses.
struct ResolvePin {
  std::string host;
  std::uint16_t port = 0;
  std::vector<boost::asio::ip::address> addresses;
};
// Returns the pin, or an error message saying what is wrong with the text.
std::optional<ResolvePin> parse_resolve_pin(std::string_view text, std::string& error);
// --dns-server: "IP[:PORT]" items (IPv6 as [IP]:PORT or a bare IP), comma separated, each port
// 1-65535. False with `error` naming the item otherwise: c-ares would take port 99999 modulo
// 65536 and port 0 as 53, and the sweep would end in dns_error instead of a usage error.
bool check_dns_servers(std::string_view text, std::string& error);

// A name keeps at most this many addresses of each family. The connect stage splits its
// deadline evenly between the addresses it gets: a thousand (from a hostile or broken server)
// would leave each a sliver too short for a real SYN round trip, and no real service needs
// more to be reachable. Per family, so a long list of one cannot push out the other.
inline constexpr std::size_t kMaxAddressesPerFamily = 8;
// Names in flight per resolver (per event loop); the rest wait their turn. A sweep starts with a
// burst of every target name (A and AAAA each), and a DNS server's socket drops such a burst
// (dnsmasq lost up to 144 of 400 datagrams in bench/peers.sh): each lost query then costs a
// c-ares retry, a quarter of the DNS budget.
inline constexpr std::size_t kMaxLookupsInFlight = 32;

// The receive and send buffers of the resolver's UDP sockets: 1 KiB per probe in flight (an A
// and an AAAA answer without EDNS fit in it), from 256 KiB to 8 MiB. Answers arrive while the
// loop is busy with thousands of TLS handshakes and are read only when it gets to them; a
// datagram that finds the buffer full is dropped and costs a c-ares retry, a quarter of the DNS
// budget. The kernel caps what is asked at net.core.rmem_max / wmem_max.
std::size_t dns_socket_buffer_bytes(std::size_t probes_in_flight);

struct ResolverConfig {
  std::string dns_servers;  // "IP[:PORT]" (IPv6 as [IP]:PORT), comma separated; empty: resolv.conf
  std::vector<ResolvePin> pins;
  std::chrono::milliseconds budget{5000};  // c-ares retries are fitted inside this
  // Probes that may wait on this resolver at once (--concurrency): sizes its UDP socket buffers
  // (dns_socket_buffer_bytes).
  std::size_t probes_in_flight = 256;
  // --service-tags: each answered name's addresses are looked up once, when the answer comes.
  std::shared_ptr<const ServiceTags> service_tags;
};

struct ResolveResult {
  bool ok() const { return error.empty(); }
  std::vector<boost::asio::ip::address> addresses;
  std::string error;      // empty on success; otherwise the cause (NXDOMAIN, SERVFAIL, ...)
  bool used_dns = false;  // false for IP literals and pinned names
  // The chain and every address, when DNS answered with addresses; the chain alone when a
  // lookup failed with NXDOMAIN or NODATA after one or more CNAMEs; null otherwise.
  std::shared_ptr<const DnsEvidence> evidence;
};

// One per event loop. Each distinct (name) is looked up once for the resolver's lifetime (a
// sweep); concurrent lookups of one name share one query. Not thread-safe: use from its loop.
class Resolver {
 public:
  using Handler = std::function<void(const ResolveResult&)>;

  // Throws std::invalid_argument when dns_servers is not usable.
  Resolver(boost::asio::io_context& io, const ResolverConfig& config);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The handler always runs later from the event loop, never from inside this call.
  void resolve(const std::string& host, std::uint16_t port, Handler handler);

  std::size_t queries_sent() const;     // names that went to DNS, for tests and benchmarks
  std::size_t queries_waiting() const;  // names waiting for a free lookup slot

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace urlprobe::net
