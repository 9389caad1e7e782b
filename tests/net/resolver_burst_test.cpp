// The resolver under a sweep's opening burst (issue 22): thousands of distinct names at once,
// against an in-process DNS server on loopback. Counts queries and reads socket options; never
// measures time.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "net/resolver.hpp"
#include "tests/net/dns_server.hpp"

namespace urlprobe::net {
namespace {

namespace asio = boost::asio;
namespace dns = test::dns;

constexpr std::string_view kZone = ".burst.test";

// A and AAAA for every name of the zone; NXDOMAIN for the rest (search domains change nothing).
std::optional<std::string> answer_zone(const dns::Query& query, dns::Transport) {
  if (!query.name.ends_with(kZone)) return dns::error_reply(query, dns::Rcode::nxdomain);
  if (query.type == dns::type::a)
    return dns::answer(query, {dns::a_record(query.name, "127.0.0.9")});
  if (query.type == dns::type::aaaa)
    return dns::answer(query, {dns::aaaa_record(query.name, "::1")});
  return dns::answer(query, {});
}

std::size_t kernel_limit(const char* path) {
  std::ifstream in(path);
  std::size_t value = 0;
  return in >> value ? value : 0;
}

// The socket option of this process's UDP socket talking to `server` (c-ares connects its UDP
// sockets), or nullopt when there is none.
std::optional<int> option_of_udp_socket_to(const asio::ip::udp::endpoint& server, int option) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int type = 0;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_DGRAM) continue;
    asio::ip::udp::endpoint peer;
    socklen_t peer_length = static_cast<socklen_t>(peer.capacity());
    if (getpeername(fd, peer.data(), &peer_length) != 0) continue;
    peer.resize(peer_length);
    if (peer != server) continue;
    int value = 0;
    length = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) continue;
    return value;
  }
  return std::nullopt;
}

TEST(ResolverBurst, SocketBuffersAreSizedForTheProbesInFlight) {
  EXPECT_EQ(dns_socket_buffer_bytes(1), 256u * 1024);
  EXPECT_EQ(dns_socket_buffer_bytes(256), 256u * 1024);
  EXPECT_EQ(dns_socket_buffer_bytes(4096), 4096u * 1024);
  EXPECT_EQ(dns_socket_buffer_bytes(100000), 8u * 1024 * 1024);

  // Read while c-ares waits for the answer: it closes its sockets once no query is left.
  asio::io_context io{1};
  std::optional<asio::ip::udp::endpoint> server_endpoint;
  std::optional<int> receive, send;
  dns::DnsServer server(io, [&](const dns::Query& query, dns::Transport transport) {
    if (server_endpoint && !receive) {
      receive = option_of_udp_socket_to(*server_endpoint, SO_RCVBUF);
      send = option_of_udp_socket_to(*server_endpoint, SO_SNDBUF);
    }
    return answer_zone(query, transport);
  });
  const auto address = server.address();
  server_endpoint.emplace(
      asio::ip::make_address(address.substr(0, address.find(':'))),
      static_cast<unsigned short>(std::stoi(address.substr(address.find(':') + 1))));
  ResolverConfig config;
  config.dns_servers = address;
  config.probes_in_flight = 4096;
  Resolver resolver(io, config);
  bool answered = false;
  resolver.resolve("one.burst.test", 443, [&](const ResolveResult& result) {
    answered = result.ok();
    server.stop();
  });
  io.run_for(std::chrono::seconds(20));  // a hang guard; the lookup ends long before
  ASSERT_TRUE(answered);
  ASSERT_TRUE(receive && send) << "no UDP socket to the DNS server while it was asked";
  // The kernel doubles what it is asked (for its bookkeeping), up to net.core.[rw]mem_max.
  const std::size_t wanted = 4096u * 1024;
  EXPECT_EQ(static_cast<std::size_t>(*receive),
            2 * std::min(wanted, kernel_limit("/proc/sys/net/core/rmem_max")));
  EXPECT_EQ(static_cast<std::size_t>(*send),
            2 * std::min(wanted, kernel_limit("/proc/sys/net/core/wmem_max")));
}

// 2000 names never seen before, all asked at once: each is one A and one AAAA query, none
// retried (a retry would mean an answer or a query was dropped), and every one is answered.
TEST(ResolverBurst, TwoThousandDistinctNamesResolveWithoutARetry) {
  constexpr std::size_t kNames = 2000;
  asio::io_context io{1};
  dns::DnsServer server(io, answer_zone);
  ResolverConfig config;
  config.dns_servers = server.address();
  config.probes_in_flight = kNames;
  Resolver resolver(io, config);
  std::size_t ok = 0, done = 0;
  std::string first_error;
  for (std::size_t i = 0; i < kNames; ++i)
    resolver.resolve(fmt::format("h{}{}", i, kZone), 443, [&](const ResolveResult& result) {
      if (result.ok() && result.addresses.size() == 2)
        ++ok;
      else if (first_error.empty())
        first_error = result.error;
      if (++done == kNames) server.stop();
    });
  io.run_for(std::chrono::seconds(60));  // a hang guard; the burst ends long before
  EXPECT_EQ(done, kNames);
  EXPECT_EQ(ok, kNames) << first_error;
  EXPECT_EQ(resolver.queries_sent(), kNames);
  EXPECT_EQ(server.udp_queries(), 2 * kNames) << "some queries were sent again";
  EXPECT_EQ(server.tcp_queries(), 0u);
}

}  // namespace
}  // namespace urlprobe::net
