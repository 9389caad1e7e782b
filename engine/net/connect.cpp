#include "net/connect.hpp"

#include <fmt/format.h>
#include <boost/asio/steady_timer.hpp>

#include <netinet/in.h>

#include <cerrno>
#include <memory>

namespace urlprobe::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

namespace {

// Errors of this machine, not of the path: no descriptor, no local port or address (all
// ephemeral ports to that destination in use), no kernel memory, no such address family here.
bool local_failure(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
      return true;
    default:
      return false;
  }
}

const boost::system::error_code kAddressNotAvailable(EADDRNOTAVAIL,
                                                     boost::system::system_category());

// Binds the fresh socket to the source address of its family, if any. With
// IP_BIND_ADDRESS_NO_PORT the kernel leaves the port to connect(), which picks one per
// (source, destination) pair; bind() alone would reserve a port of its own for every socket,
// across all destinations, and run out sooner than without binding at all.
boost::system::error_code bind_source(tcp::socket& socket, const tcp::endpoint& destination,
                                      const SourceBinding& source) {
  const auto& address = destination.address().is_v4() ? source.v4 : source.v6;
  if (!address) return {};
  boost::system::error_code ec;
  socket.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true),
                    ec);
  if (ec) return ec;
  socket.bind(tcp::endpoint(*address, 0), ec);
  return ec;
}

}  // namespace

SourceAddresses::SourceAddresses(const std::vector<asio::ip::address>& addresses) {
  List v4, v6;
  for (const auto& address : addresses) (address.is_v4() ? v4 : v6).push_back(address);
  if (!v4.empty()) v4_ = std::make_shared<const List>(std::move(v4));
  if (!v6.empty()) v6_ = std::make_shared<const List>(std::move(v6));
  turn_ = std::make_shared<std::atomic<std::size_t>>(0);
}

SourceBinding SourceAddresses::next() const {
  if (empty()) return {};
  const std::size_t turn = turn_->fetch_add(1, std::memory_order_relaxed);
  SourceBinding binding;
  if (v4_) binding.v4 = (*v4_)[turn % v4_->size()];
  if (v6_) binding.v6 = (*v6_)[turn % v6_->size()];
  return binding;
}

namespace {

struct ConnectOp : std::enable_shared_from_this<ConnectOp> {
  ConnectOp(tcp::socket& s, std::vector<asio::ip::address> a, std::uint16_t p, Clock::time_point d,
            const SourceBinding& src, std::function<void(const ConnectResult&)> h)
      : socket(s),
        addresses(std::move(a)),
        port(p),
        deadline(d),
        source(src),
        timer(s.get_executor()),
        handler(std::move(h)) {}

  tcp::socket& socket;
  std::vector<asio::ip::address> addresses;
  std::uint16_t port;
  Clock::time_point deadline;
  SourceBinding source;
  asio::steady_timer timer;
  std::function<void(const ConnectResult&)> handler;
  std::size_t next = 0;
  bool attempt_timed_out = false;
  std::size_t timeouts = 0;
  std::size_t exhausted = 0;  // attempts that found no free local port
  std::string failures;       // one clause per failed address

  void attempt() {
    const auto now = Clock::now();
    const auto remaining = deadline - now;
    if (next == addresses.size() || remaining <= Clock::duration::zero()) return finish_failed();
    const tcp::endpoint endpoint(addresses[next], port);
    ++next;
    boost::system::error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(endpoint.protocol(), ec);
    if (ec) {
      note_failure(
          ec, endpoint,
          fmt::format("cannot open a socket for {}: {}", endpoint_text(endpoint), ec.message()));
      return attempt();
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (const auto bind_error = bind_source(socket, endpoint, source)) {
      const auto& from = endpoint.address().is_v4() ? source.v4 : source.v6;
      note_failure(bind_error, endpoint,
                   bind_error == kAddressNotAvailable
                       ? fmt::format("source address {} is not an address of this machine "
                                     "(--source-address)",
                                     from->to_string())
                       : fmt::format("cannot bind to the source address {}: {}", from->to_string(),
                                     bind_error.message()),
                   true);  // whatever the error: the peer was never asked
      return attempt();
    }

    const auto share = remaining / static_cast<long>(addresses.size() - next + 1);
    attempt_timed_out = false;
    timer.expires_after(share);
    timer.async_wait([self = shared_from_this()](boost::system::error_code tec) {
      if (tec) return;
      self->attempt_timed_out = true;
      boost::system::error_code ignored;
      self->socket.cancel(ignored);
    });
    socket.async_connect(
        endpoint, [self = shared_from_this(), endpoint, share](boost::system::error_code cec) {
          self->timer.cancel();
          if (!cec) return self->finish({{}, endpoint, false, {}, false});
          if (cec == asio::error::operation_aborted && !self->attempt_timed_out)
            return self->finish(
                {cec, endpoint, false, "aborted", false});  // the owner closed the socket
          if (self->attempt_timed_out) {
            ++self->timeouts;
            self->note_failure(
                asio::error::timed_out, endpoint,
                fmt::format("no answer to SYN from {} within {} ms", endpoint_text(endpoint),
                            std::chrono::duration_cast<std::chrono::milliseconds>(share).count()));
          } else if (cec == kAddressNotAvailable) {
            ++self->exhausted;
            self->note_failure(
                cec, endpoint,
                fmt::format("no free local port to {}: the ephemeral ports to this destination "
                            "are all in use",
                            endpoint_text(endpoint)));
          } else if (cec == asio::error::connection_refused) {
            self->note_failure(cec, endpoint,
                               fmt::format("connection refused by {}", endpoint_text(endpoint)));
          } else {
            self->note_failure(cec, endpoint,
                               fmt::format("{}: {}", endpoint_text(endpoint), cec.message()));
          }
          self->attempt();
        });
  }

  boost::system::error_code last_error = asio::error::timed_out;
  tcp::endpoint last_endpoint;
  std::size_t local_failures = 0;

  void note_failure(const boost::system::error_code& ec, const tcp::endpoint& endpoint,
                    std::string clause, bool local = false) {
    if (!failures.empty()) failures += "; ";
    failures += clause;
    if (local || local_failure(ec)) ++local_failures;
    last_error = ec;
    last_endpoint = endpoint;
  }

  void finish_failed() {
    const bool all_timed_out = timeouts == next;
    const bool all_local = next > 0 && local_failures == next;
    if (failures.empty()) failures = "no time left to connect";
    finish({last_error, last_endpoint, all_timed_out, failures, all_local,
            all_local && exhausted > 0});
  }

  void finish(const ConnectResult& result) {
    auto h = std::move(handler);
    h(result);
  }
};

}  // namespace

void async_connect_any(tcp::socket& socket, std::vector<asio::ip::address> addresses,
                       std::uint16_t port, Clock::time_point deadline, const SourceBinding& source,
                       std::function<void(const ConnectResult&)> handler) {
  std::make_shared<ConnectOp>(socket, std::move(addresses), port, deadline, source,
                              std::move(handler))
      ->attempt();
}

}  // namespace urlprobe::net
