// An in-process DNS server for resolver tests: UDP and TCP on one random loopback port (c-ares
// retries a truncated answer over TCP to the same port), on the test's io_context. A responder
// decides every reply, so a test can answer honestly, lie, send garbage or stay silent.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cctype>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::test::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

enum class Transport { udp, tcp };

namespace type {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t cname = 5;
inline constexpr std::uint16_t aaaa = 28;
}  // namespace type

enum class Rcode : std::uint8_t { noerror = 0, formerr = 1, servfail = 2, nxdomain = 3 };

struct Query {
  std::string packet;  // as received, without TCP's length prefix
  std::uint16_t id = 0;
  std::string name;  // lower case, without the trailing dot
  std::uint16_t type = 0;
  std::size_t question_end = 0;  // offset just past the first question
};

inline std::uint16_t read_u16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                    static_cast<unsigned char>(bytes[at + 1]));
}

inline void append_u16(std::string& out, unsigned value) {
  out += static_cast<char>((value >> 8) & 0xff);
  out += static_cast<char>(value & 0xff);
}

inline void append_u32(std::string& out, std::uint32_t value) {
  append_u16(out, value >> 16);
  append_u16(out, value & 0xffff);
}

// Queries carry no compression, so only plain labels need to be understood.
inline std::optional<Query> parse_query(std::string packet) {
  Query query;
  if (packet.size() < 12 || read_u16(packet, 4) == 0) return std::nullopt;
  query.id = read_u16(packet, 0);
  std::size_t at = 12;
  while (true) {
    if (at >= packet.size()) return std::nullopt;
    const auto length = static_cast<unsigned char>(packet[at++]);
    if (length == 0) break;
    if (length > 63 || at + length > packet.size()) return std::nullopt;
    if (!query.name.empty()) query.name += '.';
    for (std::size_t i = 0; i < length; ++i)
      query.name += static_cast<char>(std::tolower(static_cast<unsigned char>(packet[at + i])));
    at += length;
  }
  if (at + 4 > packet.size()) return std::nullopt;
  query.type = read_u16(packet, at);
  query.question_end = at + 4;
  query.packet = std::move(packet);
  return query;
}

inline std::string encode_name(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    out += static_cast<char>(label.size());
    out += label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out += '\0';
  return out;
}

struct Record {
  std::string name;
  std::uint16_t type = type::a;
  std::string rdata;
  std::uint32_t ttl = 60;
};

inline Record a_record(std::string name, std::string_view ipv4) {
  const auto bytes = asio::ip::make_address_v4(std::string(ipv4)).to_bytes();
  return {std::move(name), type::a, std::string(bytes.begin(), bytes.end())};
}

inline Record aaaa_record(std::string name, std::string_view ipv6) {
  const auto bytes = asio::ip::make_address_v6(std::string(ipv6)).to_bytes();
  return {std::move(name), type::aaaa, std::string(bytes.begin(), bytes.end())};
}

inline Record cname_record(std::string name, std::string_view target) {
  return {std::move(name), type::cname, encode_name(target)};
}

// A reply as a resolver expects it: `id` (normally the query's), the query's question echoed,
// then `answers`. An owner name equal to the question's is written as a compression pointer to
// it, as real servers do, which keeps 1000 records inside one TCP message.
inline std::string make_reply(const Query& query, const std::vector<Record>& answers, Rcode rcode,
                              bool truncated, std::uint16_t id) {
  std::string out;
  append_u16(out, id);
  const unsigned recursion_desired = static_cast<unsigned char>(query.packet[2]) & 0x01;
  append_u16(out, 0x8000u | (truncated ? 0x0200u : 0u) | (recursion_desired << 8) | 0x0080u |
                      static_cast<unsigned>(rcode));
  append_u16(out, 1);
  append_u16(out, static_cast<unsigned>(answers.size()));
  append_u16(out, 0);
  append_u16(out, 0);
  out.append(query.packet, 12, query.question_end - 12);
  for (const auto& record : answers) {
    if (record.name == query.name)
      append_u16(out, 0xc00c);
    else
      out += encode_name(record.name);
    append_u16(out, record.type);
    append_u16(out, 1);  // IN
    append_u32(out, record.ttl);
    append_u16(out, static_cast<unsigned>(record.rdata.size()));
    out += record.rdata;
  }
  return out;
}

inline std::string answer(const Query& query, const std::vector<Record>& answers) {
  return make_reply(query, answers, Rcode::noerror, false, query.id);
}

// NOERROR with no records (NODATA), the TC bit set: "ask again over TCP".
inline std::string truncated(const Query& query) {
  return make_reply(query, {}, Rcode::noerror, true, query.id);
}

inline std::string error_reply(const Query& query, Rcode rcode) {
  return make_reply(query, {}, rcode, false, query.id);
}

// Bytes to send back, or nothing (the query is swallowed).
using Responder = std::function<std::optional<std::string>(const Query&, Transport)>;

class DnsServer {
 public:
  DnsServer(asio::io_context& io, Responder responder)
      : udp_(io), acceptor_(io), responder_(std::move(responder)) {
    // UDP takes a random port; TCP must get the same one, which another process may hold.
    for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
      boost::system::error_code ec;
      udp_ = udp::socket(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
      const auto port = udp_.local_endpoint().port();
      acceptor_ = tcp::acceptor(io);
      acceptor_.open(tcp::v4(), ec);
      if (!ec) acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) port_ = port;
    }
    if (port_ == 0) throw std::runtime_error("no loopback port free for both UDP and TCP");
    asio::co_spawn(io, udp_loop(), asio::detached);
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;
  ~DnsServer() { stop(); }

  // For ResolverConfig::dns_servers.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t udp_queries() const { return udp_queries_; }
  std::size_t tcp_queries() const { return tcp_queries_; }
  std::size_t replies_sent() const { return replies_sent_; }

  // Closes every socket, so the server's coroutines end and the loop can run out of work.
  void stop() {
    boost::system::error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
    for (auto& weak : connections_)
      if (auto socket = weak.lock()) socket->close(ignored);
    connections_.clear();
  }

 private:
  asio::awaitable<void> udp_loop() {
    std::array<char, 65536> datagram;
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await udp_.async_receive_from(asio::buffer(datagram), from,
                                                      asio::as_tuple(asio::use_awaitable));
      if (!udp_.is_open() || ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      ++udp_queries_;
      auto query = parse_query(std::string(datagram.data(), n));
      if (!query) continue;
      if (auto reply = responder_(*query, Transport::udp)) {
        ++replies_sent_;
        co_await udp_.async_send_to(asio::buffer(*reply), from,
                                    asio::as_tuple(asio::use_awaitable));
      }
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto shared = std::make_shared<tcp::socket>(std::move(socket));
      connections_.push_back(shared);
      asio::co_spawn(acceptor_.get_executor(), serve_tcp(shared), asio::detached);
    }
  }

  // TCP DNS: each message has a two-byte length prefix; a client may send several on one
  // connection (c-ares sends the A and the AAAA query on the same one).
  asio::awaitable<void> serve_tcp(std::shared_ptr<tcp::socket> socket) {
    for (;;) {
      std::array<unsigned char, 2> prefix;
      auto [ec, n] = co_await asio::async_read(*socket, asio::buffer(prefix),
                                               asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::string packet((prefix[0] << 8) | prefix[1], '\0');
      std::tie(ec, n) = co_await asio::async_read(*socket, asio::buffer(packet),
                                                  asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++tcp_queries_;
      auto query = parse_query(std::move(packet));
      if (!query) continue;
      auto reply = responder_(*query, Transport::tcp);
      if (!reply) continue;
      std::string framed;
      append_u16(framed, static_cast<unsigned>(reply->size()));
      framed += *reply;
      ++replies_sent_;
      std::tie(ec, n) = co_await asio::async_write(*socket, asio::buffer(framed),
                                                   asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  }

  udp::socket udp_;
  tcp::acceptor acceptor_;
  Responder responder_;
  std::uint16_t port_ = 0;
  std::size_t udp_queries_ = 0, tcp_queries_ = 0, replies_sent_ = 0;
  std::vector<std::weak_ptr<tcp::socket>> connections_;
};

}  // namespace urlprobe::test::dns
