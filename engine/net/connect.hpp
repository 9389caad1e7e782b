// TCP connect that tries each address in turn, sharing one deadline between them.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace urlprobe::net {

struct ConnectResult {
  boost::system::error_code error;          // of the last attempt; empty on success
  boost::asio::ip::tcp::endpoint endpoint;  // the connected one, or the last one tried
  bool timed_out = false;  // every attempt ran out of time (a black hole, not a refusal)
  std::string detail;      // empty on success
  // Every attempt failed on this machine (no socket, no local port or address, no memory):
  // the peer was never asked, so nothing may be concluded about it.
  bool local = false;
  // The kernel had no ephemeral port left for this destination (EADDRNOTAVAIL at connect):
  // usually this machine's own connections to it in TIME_WAIT. Implies `local`.
  bool ports_exhausted = false;
};

// Each address gets an equal share of what remains until `deadline`, so one black-holed
// address cannot starve the others. Closing the socket aborts the whole operation.
void async_connect_any(boost::asio::ip::tcp::socket& socket,
                       std::vector<boost::asio::ip::address> addresses, std::uint16_t port,
                       std::chrono::steady_clock::time_point deadline,
                       std::function<void(const ConnectResult&)> handler);

std::string endpoint_text(
    const boost::asio::ip::tcp::endpoint& endpoint);  // "1.2.3.4:443", "[::1]:443"

}  // namespace urlprobe::net
