// TCP connect that tries each address in turn, sharing one deadline between them.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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

// The local addresses one probe's connections bind to (--source-address): one of each family,
// or none, in which case the kernel picks as usual.
struct SourceBinding {
  std::optional<boost::asio::ip::address> v4, v6;
};

// --source-address ADDR[,ADDR...]: each probe takes the next IPv4 and the next IPv6 address in
// turn. Ephemeral ports are counted per (source, destination) pair, so n sources carry about n
// times the connections to one ip:port before its ports run out. Copies share the turn, so
// copies of one configuration (the exporter's per-scrape ones) still take turns.
class SourceAddresses {
 public:
  SourceAddresses() = default;
  explicit SourceAddresses(const std::vector<boost::asio::ip::address>& addresses);
  bool empty() const { return !v4_ && !v6_; }
  SourceBinding next() const;  // thread-safe

 private:
  using List = std::vector<boost::asio::ip::address>;
  std::shared_ptr<const List> v4_, v6_;  // null when none of that family
  std::shared_ptr<std::atomic<std::size_t>> turn_;
};

// Each address gets an equal share of what remains until `deadline`, so one black-holed
// address cannot starve the others. Closing the socket aborts the whole operation. A socket
// binds to `source`'s address of the destination's family, if it has one.
void async_connect_any(boost::asio::ip::tcp::socket& socket,
                       std::vector<boost::asio::ip::address> addresses, std::uint16_t port,
                       std::chrono::steady_clock::time_point deadline, const SourceBinding& source,
                       std::function<void(const ConnectResult&)> handler);

std::string endpoint_text(
    const boost::asio::ip::tcp::endpoint& endpoint);  // "1.2.3.4:443", "[::1]:443"

}  // namespace urlprobe::net
