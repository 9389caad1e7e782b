// One probe through in-process proxies that misbehave in every way an egress proxy can: HTTP
// CONNECT and forwarding proxies (plain and over TLS) and SOCKS5 servers. Each test asserts the
// probe ends in exactly one result, with the outcome DESIGN "Outcomes" names for what the proxy
// did, and that a proxy's failure is never reported as a failure of the target behind it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ssl/stream.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "probe/probe.hpp"
#include "probe/result.hpp"
#include "route/proxy.hpp"
#include "route/route.hpp"
#include "sheet/url.hpp"
#include "tests/probe/failing_ssl_new.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::probe {
namespace {

using std::chrono::milliseconds;
using test::tcp;
using test::TestServer;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace asio = boost::asio;

// A guard against hangs, not a timing assertion: a correct probe through a loopback proxy is
// done in milliseconds, even under sanitizers.
constexpr milliseconds kProbeTimeout{2000};
// For the tests that wait a deadline out.
constexpr milliseconds kShortTimeout{300};

const std::string kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";

// What a proxy saw, for the test to check once the probe is over.
struct Seen {
  std::vector<std::string> heads;  // HTTP request heads, verbatim
  std::string socks_greeting;      // VER NMETHODS METHODS
  std::string socks_auth;          // RFC 1929: VER ULEN UNAME PLEN PASSWD
  std::string socks_request;       // VER CMD RSV ATYP DST.ADDR DST.PORT
  // The bytes on the wire each way, up to the end of the proxy's success reply (its TLS
  // handshake included): from here on, what the client receives comes from the origin.
  std::optional<test::Relayed> until_tunnel;
};

// What a proxy has read and written on its client connection: plain bytes, or under TLS what
// OpenSSL consumed and produced (records and handshake included), which is what the wire carried.
test::Relayed wire_bytes(tcp::socket&, std::size_t read, std::size_t written) {
  return {read, written};
}
test::Relayed wire_bytes(asio::ssl::stream<tcp::socket&>& tls, std::size_t, std::size_t) {
  SSL* ssl = tls.native_handle();
  return {BIO_number_read(SSL_get_rbio(ssl)), BIO_number_written(SSL_get_wbio(ssl))};
}

// --- HTTP proxies ----------------------------------------------------------------------------

// The port of "CONNECT host:port HTTP/1.1".
std::uint16_t connect_port(const std::string& head) {
  const auto authority_end = head.find(' ', head.find(' ') + 1);
  const auto colon = head.rfind(':', authority_end);
  return static_cast<std::uint16_t>(std::stoi(head.substr(colon + 1, authority_end - colon - 1)));
}

// Reads a request head, then answers `reply` verbatim and keeps the connection open.
template <class Stream>
asio::awaitable<void> answer(Stream& client, Seen& seen, std::string reply) {
  seen.heads.push_back(co_await test::read_request(client));
  co_await asio::async_write(client, asio::buffer(reply), asio::use_awaitable);
  co_await test::drain(client);
}

// Reads a request head, answers `reply`, then ends the connection with a FIN.
asio::awaitable<void> answer_then_close(tcp::socket& client, Seen& seen, std::string reply) {
  seen.heads.push_back(co_await test::read_request(client));
  co_await asio::async_write(client, asio::buffer(reply), asio::use_awaitable);
  client.shutdown(tcp::socket::shutdown_send);
  co_await test::drain(client);
}

// Reads a request head and never answers.
asio::awaitable<void> never_answer(tcp::socket& client, Seen& seen) {
  seen.heads.push_back(co_await test::read_request(client));
  co_await test::drain(client);
}

enum class ReplyStyle { one_write, byte_by_byte };

// A working CONNECT proxy: every name is the loopback address, so the tunnel goes to the
// in-process server on the requested port.
template <class Client>
asio::awaitable<void> connect_and_relay(Client& client, tcp::socket& client_socket, Seen& seen,
                                        ReplyStyle style) {
  const std::string head = co_await test::read_request(client);
  seen.heads.push_back(head);
  auto upstream = co_await test::connect_loopback(client_socket.get_executor(), connect_port(head));
  if (style == ReplyStyle::byte_by_byte)
    co_await test::write_bytewise(client, kEstablished);
  else
    co_await asio::async_write(client, asio::buffer(kEstablished), asio::use_awaitable);
  seen.until_tunnel = wire_bytes(client, head.size(), kEstablished.size());
  co_await test::splice(client, client_socket, upstream);
}

// An HTTPS proxy: TLS with the client first, then CONNECT inside it.
asio::awaitable<void> tls_connect_and_relay(tcp::socket& socket, asio::ssl::context& context,
                                            Seen& seen) {
  asio::ssl::stream<tcp::socket&> tls(socket, context);
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
  co_await connect_and_relay(tls, socket, seen, ReplyStyle::one_write);
}

// An HTTPS forwarding proxy that answers every request itself.
asio::awaitable<void> tls_answer_recording(tcp::socket& socket, asio::ssl::context& context,
                                           Seen& seen, std::string reply) {
  asio::ssl::stream<tcp::socket&> tls(socket, context);
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
  co_await answer(tls, seen, std::move(reply));
}

// Reads a request head and resets the connection.
asio::awaitable<void> reset_after_request(tcp::socket& client, Seen& seen) {
  seen.heads.push_back(co_await test::read_request(client));
  test::reset(client);
}

std::string reply_407(const std::vector<std::string>& challenges) {
  std::string reply = "HTTP/1.1 407 Proxy Authentication Required\r\n";
  for (const auto& challenge : challenges) reply += "Proxy-Authenticate: " + challenge + "\r\n";
  return reply + "Content-Length: 0\r\n\r\n";
}

std::string reply_with_status(int status, const std::string& reason,
                              const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n" + extra_headers +
         "Content-Length: 0\r\n\r\n";
}

// A plain-HTTP origin that keeps what it was asked.
asio::awaitable<void> origin_answer(tcp::socket& socket, std::vector<std::string>& heads,
                                    std::string response) {
  heads.push_back(co_await test::read_request(socket));
  co_await test::write_text(socket, response);
  co_await test::drain(socket);
}

// --- SOCKS5 servers --------------------------------------------------------------------------

// VER NMETHODS METHODS
asio::awaitable<std::string> read_socks_greeting(tcp::socket& client) {
  std::string greeting = co_await test::read_exactly(client, 2);
  greeting += co_await test::read_exactly(client, static_cast<std::uint8_t>(greeting[1]));
  co_return greeting;
}

// VER CMD RSV ATYP DST.ADDR DST.PORT
asio::awaitable<std::string> read_socks_request(tcp::socket& client) {
  std::string request = co_await test::read_exactly(client, 4);
  switch (request[3]) {
    case 0x01:
      request += co_await test::read_exactly(client, 4 + 2);
      break;
    case 0x04:
      request += co_await test::read_exactly(client, 16 + 2);
      break;
    case 0x03: {
      const std::string length = co_await test::read_exactly(client, 1);
      request += length;
      request += co_await test::read_exactly(client, static_cast<std::uint8_t>(length[0]) + 2u);
      break;
    }
    default:
      throw std::runtime_error("unknown SOCKS5 address type");
  }
  co_return request;
}

std::uint16_t socks_request_port(const std::string& request) {
  const auto n = request.size();
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(request[n - 2]) << 8 |
                                    static_cast<std::uint8_t>(request[n - 1]));
}

// RFC 1929: VER ULEN UNAME PLEN PASSWD
std::string socks_user_password(const std::string& user, const std::string& password) {
  return std::string("\x01", 1) + static_cast<char>(user.size()) + user +
         static_cast<char>(password.size()) + password;
}

std::string socks_reply(std::uint8_t code, std::uint16_t bound_port = 0) {
  std::string reply("\x05\x00\x00\x01\x7f\x00\x00\x01", 8);
  reply[1] = static_cast<char>(code);
  reply += static_cast<char>(bound_port >> 8);
  reply += static_cast<char>(bound_port & 0xFF);
  return reply;
}

struct Credentials {
  std::string user, password;
};

// BND.ADDR of a success reply, by address type (the port follows).
std::string bound_address(std::uint8_t atyp) {
  switch (atyp) {
    case 0x03:
      return std::string("\x03\x0eproxy.internal", 16);
    case 0x04:
      return std::string(1, '\x04') + std::string(15, '\0') + '\x01';
    default:
      return std::string("\x01\x7f\x00\x00\x01", 5);
  }
}

// A working SOCKS5 server: no authentication, or RFC 1929 user/password when `credentials` is
// set; every address is the loopback one, so the tunnel goes to the in-process server on the
// requested port.
asio::awaitable<void> socks5_relay(tcp::socket& client, Seen& seen,
                                   std::optional<Credentials> credentials,
                                   std::uint8_t bound_atyp) {
  seen.socks_greeting = co_await read_socks_greeting(client);
  const char wanted = credentials ? '\x02' : '\x00';
  if (seen.socks_greeting.find(wanted, 2) == std::string::npos) {
    const std::string no_acceptable_method("\x05\xFF", 2);
    co_await test::write_text(client, no_acceptable_method);
    co_await test::drain(client);
    co_return;
  }
  // (No braced lists inside co_await expressions: GCC 12 rejects their backing arrays.)
  std::string method_reply(2, '\x05');
  method_reply[1] = wanted;
  co_await test::write_text(client, method_reply);
  std::size_t written = method_reply.size();
  if (credentials) {
    std::string auth = co_await test::read_exactly(client, 2);
    auth += co_await test::read_exactly(client, static_cast<std::uint8_t>(auth[1]) + 1u);
    auth += co_await test::read_exactly(client, static_cast<std::uint8_t>(auth.back()));
    seen.socks_auth = auth;
    const bool accepted = auth == socks_user_password(credentials->user, credentials->password);
    std::string status(2, '\x01');
    status[1] = accepted ? '\x00' : '\x01';
    co_await test::write_text(client, status);
    written += status.size();
    if (!accepted) {
      co_await test::drain(client);
      co_return;
    }
  }
  seen.socks_request = co_await read_socks_request(client);
  auto upstream = co_await test::connect_loopback(client.get_executor(),
                                                  socks_request_port(seen.socks_request));
  const std::uint16_t bound_port = upstream.local_endpoint().port();
  std::string reply = std::string("\x05\x00\x00", 3) + bound_address(bound_atyp);
  reply += static_cast<char>(bound_port >> 8);
  reply += static_cast<char>(bound_port & 0xFF);
  co_await test::write_text(client, reply);
  seen.until_tunnel =
      test::Relayed{seen.socks_greeting.size() + seen.socks_auth.size() + seen.socks_request.size(),
                    written + reply.size()};
  co_await test::splice(client, client, upstream);
}

// A SOCKS5 server that answers the greeting with `method_reply` and, if that selected "no
// authentication", the request with `connect_reply`; with `fin`, it then ends the connection.
asio::awaitable<void> socks5_scripted(tcp::socket& client, Seen& seen, std::string method_reply,
                                      std::string connect_reply, bool fin) {
  seen.socks_greeting = co_await read_socks_greeting(client);
  co_await test::write_text(client, method_reply);
  if (method_reply == std::string("\x05\x00", 2)) {
    seen.socks_request = co_await read_socks_request(client);
    co_await test::write_text(client, connect_reply);
  }
  if (fin) client.shutdown(tcp::socket::shutdown_send);
  co_await test::drain(client);
}

// --- the fixture -----------------------------------------------------------------------------

net::ResolverConfig closed_dns() {
  net::ResolverConfig config;
  // A closed loopback port: a name the probe resolves (it should resolve none but the proxy's)
  // fails at once instead of leaving the machine.
  config.dns_servers = "127.0.0.1:9";
  config.budget = milliseconds(300);
  return config;
}

class HostileProxy : public ::testing::Test {
 protected:
  HostileProxy() { config.timeouts = Timeouts::derived_from(kProbeTimeout); }

  TestServer& serve(TestServer::Behaviour behaviour) {
    servers.push_back(std::make_unique<TestServer>(io, std::move(behaviour)));
    return *servers.back();
  }

  // Origins, behind the proxies.
  TestServer& tls_origin(std::string response = test::http_response(200, "OK")) {
    return serve([this, response](tcp::socket& socket) {
      return test::tls_answer(socket, *server_tls, response);
    });
  }
  TestServer& http_origin(std::string response = test::http_response(200, "OK")) {
    return serve([this, response](tcp::socket& socket) {
      return origin_answer(socket, origin_heads, response);
    });
  }

  // HTTP proxies.
  TestServer& proxy_answering(std::string reply) {
    return serve([this, reply](tcp::socket& socket) { return answer(socket, seen, reply); });
  }
  TestServer& proxy_answering_then_closing(std::string reply) {
    return serve(
        [this, reply](tcp::socket& socket) { return answer_then_close(socket, seen, reply); });
  }
  TestServer& relaying_proxy(ReplyStyle style = ReplyStyle::one_write) {
    return serve([this, style](tcp::socket& socket) {
      return connect_and_relay(socket, socket, seen, style);
    });
  }

  // SOCKS5 servers.
  TestServer& socks5_proxy(std::optional<Credentials> credentials = std::nullopt,
                           std::uint8_t bound_atyp = 0x01) {
    return serve([this, credentials, bound_atyp](tcp::socket& socket) {
      return socks5_relay(socket, seen, credentials, bound_atyp);
    });
  }
  TestServer& socks5_answering(std::string method_reply, std::string connect_reply = "",
                               bool fin = false) {
    return serve([this, method_reply, connect_reply, fin](tcp::socket& socket) {
      return socks5_scripted(socket, seen, method_reply, connect_reply, fin);
    });
  }

  static std::string proxy_url(const std::string& scheme, const TestServer& proxy,
                               const std::string& userinfo = "") {
    return scheme + "://" + userinfo + "127.0.0.1:" + std::to_string(proxy.port());
  }
  static std::string origin_url(const std::string& scheme, const std::string& host,
                                const TestServer& origin, const std::string& path = "/") {
    return scheme + "://" + host + ":" + std::to_string(origin.port()) + path;
  }

  void stop_servers() {
    for (auto& server : servers) server->stop();
  }

  // Runs one probe of `url` through the command-line proxy `proxy` to its end: the servers stop
  // as soon as the result is in, and the event loop must then run out of work on its own.
  // With `keep_servers`, the servers stay up for the next probe: the probe is over when its
  // result is in and every connection the servers accepted has ended (a walk of thousands of
  // probes would otherwise bind thousands of listening ports, each then held in TIME_WAIT).
  Result probe(const std::string& url, const std::string& proxy, bool keep_servers = false) {
    auto parsed_target = sheet::parse_target_url(url);
    auto parsed_proxy = route::parse_proxy_spec(proxy);
    if (!std::holds_alternative<sheet::Target>(parsed_target) ||
        !std::holds_alternative<route::ProxySpec>(parsed_proxy)) {
      ADD_FAILURE() << "bad test input: " << url << " through " << proxy;
      return {};
    }
    const auto& target = std::get<sheet::Target>(parsed_target);
    const auto& spec = std::get<route::ProxySpec>(parsed_proxy);
    const route::Route route = route::proxy_route(route::Method::cli, spec);
    EXPECT_EQ(delivered->size(), 1u) << "the previous probe delivered another result since";
    // Shared with the handler: a result delivered late must not land in a dead vector.
    delivered = std::make_shared<std::vector<Result>>();
    auto& results = *delivered;
    const ProbeContext context{io, resolver, trusting, config};
    io.restart();  // a test may probe more than once
    auto witness = std::make_shared<test::DeadlineWitness>(io, config.timeouts.total);
    start_probe(context, target, route, 7,
                [this, keep_servers, witness, delivered = delivered](Result&& result) {
                  EXPECT_TRUE(witness->on_time()) << "the probe outlived its deadline";
                  delivered->push_back(std::move(result));
                  if (!keep_servers) stop_servers();
                });
    if (keep_servers) {
      const auto servers_idle = [this] {
        return std::all_of(servers.begin(), servers.end(),
                           [](const auto& server) { return server->active() == 0; });
      };
      while (results.empty() || !servers_idle()) {
        if (io.run_one_for(std::chrono::seconds(20)) == 0) {
          ADD_FAILURE() << "nothing happened for 20 s: the probe or a server hangs";
          break;
        }
      }
      io.poll();  // what the finished probe left ready (its aborted operations) runs now
    } else {
      io.run_for(std::chrono::seconds(20));
      if (!io.stopped()) {
        ADD_FAILURE() << "the event loop still had work 20 s after the probe started";
        io.stop();
      }
    }
    if (results.size() != 1) {
      ADD_FAILURE() << "a probe must end in exactly one result, not " << results.size();
      return {};
    }
    Result& r = results.front();
    EXPECT_EQ(r.sweep_index, 7u);
    EXPECT_EQ(r.url, target.url);
    EXPECT_EQ(r.route, route::Method::cli);
    EXPECT_EQ(r.proxy, spec.redacted());
    if (!spec.password.empty()) {
      EXPECT_THAT(r.proxy + r.detail, Not(HasSubstr(spec.password))) << "the password leaked";
    }
    return std::move(r);
  }

  asio::io_context io{1};
  net::ResolverConfig resolver_config = closed_dns();
  net::Resolver resolver{io, resolver_config};
  static net::TlsClientContext& trusting_context() {
    static net::TlsClientContext context{net::TlsConfig{
        .ca_file = test::test_cert().ca_file(), .public_roots = test::test_cert().ca_file()}};
    return context;
  }
  net::TlsClientContext& trusting = trusting_context();
  std::unique_ptr<asio::ssl::context> server_tls = test::test_cert().server_context();
  ProbeConfig config;
  std::vector<std::unique_ptr<TestServer>> servers;
  // The results of the last probe (one, until a probe breaks the rule).
  std::shared_ptr<std::vector<Result>> delivered =
      std::make_shared<std::vector<Result>>(std::vector<Result>(1));
  Seen seen;                              // what the proxy saw
  std::vector<std::string> origin_heads;  // what the plain-HTTP origin saw
};

std::string outcome_of(const Result& r) {
  return std::string(outcome_name(r.outcome));
}

// --- HTTP CONNECT: the proxy's own answers -----------------------------------------------------

TEST_F(HostileProxy, Connect407OfferingOnlyNtlmAndNegotiateIsAuthRequiredAndNamesTheSchemes) {
  auto& proxy = proxy_answering(reply_407({"NTLM", "Negotiate"}));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(r.proxy_status, 407);
  EXPECT_THAT(r.detail, AllOf(HasSubstr("NTLM"), HasSubstr("Negotiate")));
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.tls.has_value()) << "no TLS with the origin behind a refused tunnel";
}

TEST_F(HostileProxy, Connect407WithAHundredChallengesIsAuthRequiredAndEnds) {
  std::vector<std::string> challenges;
  for (int i = 0; i < 100; ++i) challenges.push_back("Scheme" + std::to_string(i) + " realm=\"r\"");
  auto& proxy = proxy_answering(reply_407(challenges));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(r.proxy_status, 407);
}

TEST_F(HostileProxy, Connect407WithCredentialsIsAuthRequiredAndNeverShowsThePassword) {
  auto& proxy = proxy_answering(reply_407({"Basic realm=\"proxy\""}));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy, "alice:s3cr3t-pw@"));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(r.proxy, "http://alice:***@127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_THAT(r.detail, HasSubstr("Basic"));
}

TEST_F(HostileProxy, Connect403IsProxyDenied) {
  auto& proxy = proxy_answering(reply_with_status(403, "Forbidden"));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_denied") << r.detail;
  EXPECT_EQ(r.proxy_status, 403);
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(HostileProxy, Connect502IsProxyError) {
  auto& proxy = proxy_answering(reply_with_status(502, "Bad Gateway"));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_EQ(r.proxy_status, 502);
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(HostileProxy, Connect503IsProxyError) {
  auto& proxy = proxy_answering(reply_with_status(503, "Service Unavailable"));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_EQ(r.proxy_status, 503);
}

TEST_F(HostileProxy, ConnectAnsweredWithGarbageIsProxyError) {
  auto& proxy = proxy_answering("220 mail.example.com ESMTP Postfix\r\n\r\n");
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("not HTTP"));
  EXPECT_EQ(r.proxy_status, 0);
}

TEST_F(HostileProxy, ConnectAnsweredWithBinaryGarbageThenCloseIsProxyError) {
  auto& proxy =
      proxy_answering_then_closing(std::string("\x16\x03\x01\x00\x05\xff\x00garbage", 12));
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_EQ(r.proxy_status, 0);
}

TEST_F(HostileProxy, ConnectClosedWithoutAReplyIsProxyError) {
  auto& proxy = proxy_answering_then_closing("");
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("closed"));
}

TEST_F(HostileProxy, ConnectNeverAnsweredIsTimeoutInTheTunnelPhase) {
  config.timeouts = Timeouts::derived_from(kShortTimeout);
  auto& proxy = serve([this](tcp::socket& socket) { return never_answer(socket, seen); });
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "timeout") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("tunnel"));
  EXPECT_EQ(seen.heads.size(), 1u) << "the CONNECT request never arrived";
}

TEST_F(HostileProxy, ConnectResetByTheProxyIsProxyError) {
  auto& proxy = serve([this](tcp::socket& socket) { return reset_after_request(socket, seen); });
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("reset"));
}

// --- HTTP CONNECT: tunnels that come up ---------------------------------------------------------

TEST_F(HostileProxy, ConnectRelayingToATrustedOriginIsOkAndCarriesTheTargetsName) {
  auto& origin = tls_origin();
  auto& proxy = relaying_proxy();
  const Result r =
      probe(origin_url("https", "localhost", origin, "/health"), proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.proxy_status, 200);
  ASSERT_TRUE(r.tls.has_value());
  EXPECT_TRUE(r.tls->verified);
  EXPECT_TRUE(r.ms.tunnel.has_value());
  EXPECT_FALSE(r.ms.dns.has_value()) << "the proxy resolves the target's name, not the probe";
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(proxy.port())) << "the connected endpoint";
  ASSERT_EQ(seen.heads.size(), 1u);
  const std::string authority = "localhost:" + std::to_string(origin.port());
  EXPECT_THAT(seen.heads[0], StartsWith("CONNECT " + authority + " HTTP/1.1\r\n"));
  EXPECT_THAT(seen.heads[0], HasSubstr("\r\nHost: " + authority + "\r\n"));
  EXPECT_THAT(seen.heads[0], Not(HasSubstr("Proxy-Authorization")));
}

// RFC 9110 §15.2: a client must parse any 1xx responses that come before the final one.
TEST_F(HostileProxy, ConnectInterimResponseBeforeThe200IsSkipped) {
  auto& origin = tls_origin();
  auto& proxy = serve([this](tcp::socket& socket) -> asio::awaitable<void> {
    const std::string head = co_await test::read_request(socket);
    seen.heads.push_back(head);
    auto upstream = co_await test::connect_loopback(socket.get_executor(), connect_port(head));
    const std::string replies = "HTTP/1.1 100 Continue\r\n\r\n" + kEstablished;
    co_await test::write_text(socket, replies);
    co_await test::splice(socket, socket, upstream);
  });
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.proxy_status, 200);
}

TEST_F(HostileProxy, ConnectReplySentOneByteAtATimeIsOk) {
  auto& origin = tls_origin();
  auto& proxy = relaying_proxy(ReplyStyle::byte_by_byte);
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.proxy_status, 200);
}

TEST_F(HostileProxy, ConnectWithCredentialsSendsBasicProxyAuthorization) {
  auto& origin = tls_origin();
  auto& proxy = relaying_proxy();
  const Result r =
      probe(origin_url("https", "localhost", origin), proxy_url("http", proxy, "alice:s3cr3t@"));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  ASSERT_EQ(seen.heads.size(), 1u);
  // base64("alice:s3cr3t")
  EXPECT_THAT(seen.heads[0], HasSubstr("\r\nProxy-Authorization: Basic YWxpY2U6czNjcjN0\r\n"));
}

// The tunnel was up: whatever then goes wrong is the origin's (or the path's), never the proxy's.
TEST_F(HostileProxy, Connect200ThenCloseIsATlsErrorInsideTheTunnelNotAProxyFailure) {
  auto& proxy = proxy_answering_then_closing(kEstablished);
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "tls_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("tunnel"));
  EXPECT_EQ(r.proxy_status, 200);
  EXPECT_TRUE(r.ms.tunnel.has_value());
}

// A TLS origin never speaks first, so what follows the 200 in the same segment is here a TLS
// alert record: it can only fail the handshake if the tunnel hands the bytes that arrived with
// the proxy's reply on to the TLS layer (else the handshake waits, and the probe times out).
TEST_F(HostileProxy, BytesArrivingWithThe200InOneSegmentReachTheOriginTls) {
  const std::string handshake_failure_alert("\x15\x03\x03\x00\x02\x02\x28", 7);
  auto& proxy = proxy_answering(kEstablished + handshake_failure_alert);
  const Result r = probe("https://localhost:443/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "tls_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("handshake failure"));
  EXPECT_EQ(r.proxy_status, 200);
}

// --- HTTP proxy: reaching the proxy itself -----------------------------------------------------

TEST_F(HostileProxy, RefusedProxyPortIsProxyUnreachable) {
  std::uint16_t closed_port = 0;
  {
    tcp::acceptor acceptor(io, tcp::endpoint(test::loopback(), 0));
    closed_port = acceptor.local_endpoint().port();
  }
  auto& origin = tls_origin();
  const Result r = probe(origin_url("https", "localhost", origin),
                         "http://127.0.0.1:" + std::to_string(closed_port));
  EXPECT_EQ(outcome_of(r), "proxy_unreachable") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("proxy"));
  EXPECT_EQ(origin.accepted(), 0u);
}

TEST_F(HostileProxy, ProxyNameThatDoesNotResolveIsProxyUnreachable) {
  const Result r = probe("https://localhost:443/", "http://proxy.urlprobe.invalid:3128");
  EXPECT_EQ(outcome_of(r), "proxy_unreachable") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("proxy's name"));
  EXPECT_THAT(r.detail, Not(HasSubstr("localhost")));
}

// --- HTTP forwarding proxy: http:// targets in absolute form ----------------------------------

TEST_F(HostileProxy, HttpTargetIsSentToTheProxyInAbsoluteForm) {
  auto& proxy = proxy_answering(test::http_response(200, "OK"));
  const Result r = probe("http://origin.test:8080/path?q=1", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(seen.heads.size(), 1u);
  EXPECT_THAT(seen.heads[0], StartsWith("GET http://origin.test:8080/path?q=1 HTTP/1.1\r\n"));
  EXPECT_THAT(seen.heads[0], HasSubstr("\r\nHost: origin.test:8080\r\n"));
  EXPECT_FALSE(r.ms.dns.has_value()) << "the proxy resolves the target's name, not the probe";
}

TEST_F(HostileProxy, AbsoluteForm407IsAuthRequired) {
  auto& proxy = proxy_answering(reply_407({"NTLM", "Basic realm=\"corp\""}));
  const Result r = probe("http://origin.test/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(r.proxy_status, 407);
  EXPECT_EQ(r.http_status, 0) << "the 407 is the proxy's, not the origin's";
  EXPECT_THAT(r.detail, AllOf(HasSubstr("NTLM"), HasSubstr("Basic")));
}

TEST_F(HostileProxy, AbsoluteForm403MarkedBySquidIsProxyDenied) {
  auto& proxy = proxy_answering(reply_with_status(
      403, "Forbidden", "Server: squid\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n"));
  const Result r = probe("http://origin.test/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_denied") << r.detail;
  EXPECT_EQ(r.proxy_status, 403);
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(HostileProxy, AbsoluteForm403WithoutProxyMarkersIsTheOriginsAnswer) {
  auto& proxy = proxy_answering(test::http_response(403, "Forbidden"));
  const Result r = probe("http://origin.test/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 403);
  EXPECT_EQ(r.proxy_status, 0);
}

TEST_F(HostileProxy, AbsoluteFormWithCredentialsSendsBasicProxyAuthorization) {
  auto& proxy = proxy_answering(test::http_response(200, "OK"));
  const Result r = probe("http://origin.test/", proxy_url("http", proxy, "Aladdin:open%20sesame@"));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  ASSERT_EQ(seen.heads.size(), 1u);
  EXPECT_THAT(seen.heads[0],
              HasSubstr("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
}

TEST_F(HostileProxy, AbsoluteFormProxyClosingWithoutAnAnswerIsProxyError) {
  auto& proxy = proxy_answering_then_closing("");
  const Result r = probe("http://origin.test/", proxy_url("http", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_EQ(r.http_status, 0);
}

// A big download announced through a proxy is the origin's good answer, never the proxy's
// failure (the probe reads no body, so no announced size may fail it): in absolute form, where
// the proxy relays the header, and through a CONNECT tunnel to a TLS origin.
TEST_F(HostileProxy, AnnouncedBigBodyThroughAProxyIsOkNotAProxyError) {
  const std::string big = "HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n0123456789";
  auto& forwarding = proxy_answering(big);
  const Result forwarded = probe("http://origin.test/big.iso", proxy_url("http", forwarding));
  EXPECT_EQ(outcome_of(forwarded), "ok") << forwarded.detail;
  EXPECT_EQ(forwarded.http_status, 200);

  auto& origin = tls_origin(big);
  auto& tunnel = relaying_proxy();
  const Result tunnelled =
      probe(origin_url("https", "localhost", origin, "/big.iso"), proxy_url("http", tunnel));
  EXPECT_EQ(outcome_of(tunnelled), "ok") << tunnelled.detail;
  EXPECT_EQ(tunnelled.http_status, 200);
}

// --- HTTPS proxy: TLS to the proxy, CONNECT inside it -------------------------------------------

TEST_F(HostileProxy, HttpsProxyTunnelsToATrustedOriginInsideItsTls) {
  auto& origin = tls_origin();
  auto& proxy = serve(
      [this](tcp::socket& socket) { return tls_connect_and_relay(socket, *server_tls, seen); });
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("https", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.proxy_status, 200);
  ASSERT_TRUE(r.tls.has_value());
  EXPECT_THAT(r.tls->subject, HasSubstr("urlprobe test origin"));
  ASSERT_EQ(seen.heads.size(), 1u);
  EXPECT_THAT(seen.heads[0], StartsWith("CONNECT localhost:" + std::to_string(origin.port())));
}

TEST_F(HostileProxy, HttpsProxyForwardsAnHttpTargetInAbsoluteFormInsideItsTls) {
  auto& proxy = serve([this](tcp::socket& socket) {
    return tls_answer_recording(socket, *server_tls, seen, test::http_response(200, "OK"));
  });
  const Result r = probe("http://origin.test/p", proxy_url("https", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(seen.heads.size(), 1u);
  EXPECT_THAT(seen.heads[0], StartsWith("GET http://origin.test/p HTTP/1.1\r\n"));
}

TEST_F(HostileProxy, HttpsProxyWithAnUntrustedCertificateIsProxyErrorNotATargetFailure) {
  const test::SelfSignedCert stranger(test::CertSpec{.common_name = "untrusted proxy"});
  auto stranger_tls = stranger.server_context();
  auto& origin = tls_origin();
  auto& proxy = serve([this, &stranger_tls](tcp::socket& socket) {
    return tls_connect_and_relay(socket, *stranger_tls, seen);
  });
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("https", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("TLS to the proxy"));
  EXPECT_EQ(origin.accepted(), 0u);
}

TEST_F(HostileProxy, HttpsProxyTlsSessionThatCannotBeMadeIsLocalErrorNotAProxyFailure) {
  auto& origin = tls_origin();
  auto& proxy = serve([this](tcp::socket& socket) { return test::drain(socket); });
  Result r;
  {
    const test::FailingSslNew failing(trusting.native().native_handle());
    r = probe(origin_url("https", "localhost", origin), proxy_url("https", proxy));
  }
  EXPECT_EQ(outcome_of(r), "local_error") << r.detail;
  EXPECT_EQ(r.detail, "this machine could not start TLS to the proxy: SSL_new failed");
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(proxy.port())) << "the proxy was reached";
  EXPECT_EQ(origin.accepted(), 0u);
}

// --- SOCKS5 --------------------------------------------------------------------------------------

TEST_F(HostileProxy, Socks5hRelayIsOkAndSendsTheTargetsNameAsADomain) {
  auto& origin = tls_origin();
  auto& proxy = socks5_proxy();
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.proxy_status, 0);
  EXPECT_FALSE(r.ms.dns.has_value()) << "socks5h: the proxy resolves the target's name";
  EXPECT_EQ(seen.socks_greeting, std::string("\x05\x01\x00", 3));
  const std::uint16_t port = origin.port();
  EXPECT_EQ(seen.socks_request, std::string("\x05\x01\x00\x03\x09localhost", 14) +
                                    static_cast<char>(port >> 8) + static_cast<char>(port & 0xFF));
}

TEST_F(HostileProxy, Socks5WithAnIpLiteralTargetSendsAnIpv4Address) {
  auto& origin = tls_origin();
  auto& proxy = socks5_proxy();
  const Result r = probe(origin_url("https", "127.0.0.1", origin), proxy_url("socks5", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  const std::uint16_t port = origin.port();
  EXPECT_EQ(seen.socks_request, std::string("\x05\x01\x00\x01\x7f\x00\x00\x01", 8) +
                                    static_cast<char>(port >> 8) + static_cast<char>(port & 0xFF));
}

TEST_F(HostileProxy, Socks5CarriesAnHttpTargetInOriginForm) {
  auto& origin = http_origin();
  auto& proxy = socks5_proxy();
  const Result r =
      probe(origin_url("http", "localhost", origin, "/p?q=1"), proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  ASSERT_EQ(origin_heads.size(), 1u);
  EXPECT_THAT(origin_heads[0], StartsWith("GET /p?q=1 HTTP/1.1\r\n"));
}

TEST_F(HostileProxy, Socks5SuccessReplyWithADomainBoundAddressIsConsumedExactly) {
  auto& origin = tls_origin();
  auto& proxy = socks5_proxy(std::nullopt, 0x03);
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(HostileProxy, Socks5SuccessReplyWithAnIpv6BoundAddressIsConsumedExactly) {
  auto& origin = tls_origin();
  auto& proxy = socks5_proxy(std::nullopt, 0x04);
  const Result r = probe(origin_url("https", "localhost", origin), proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(HostileProxy, Socks5SilentServerIsTimeoutInTheTunnelPhase) {
  config.timeouts = Timeouts::derived_from(kShortTimeout);
  auto& proxy = serve([](tcp::socket& socket) { return test::drain(socket); });
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "timeout") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("tunnel"));
}

TEST_F(HostileProxy, Socks5WrongVersionInTheMethodReplyIsProxyError) {
  auto& proxy = socks5_answering(std::string("\x04\x00", 2));
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("SOCKS5"));
}

TEST_F(HostileProxy, Socks5MethodReplyCutAfterOneByteIsProxyError) {
  auto& proxy = socks5_answering(std::string("\x05", 1), "", /*fin=*/true);
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("closed"));
}

TEST_F(HostileProxy, Socks5ReplyCode2IsProxyDenied) {
  auto& proxy = socks5_answering(std::string("\x05\x00", 2), socks_reply(2));
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_denied") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("(2)"));
}

TEST_F(HostileProxy, Socks5ReplyCode5IsProxyError) {
  auto& proxy = socks5_answering(std::string("\x05\x00", 2), socks_reply(5));
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_error") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("(5)"));
  EXPECT_FALSE(r.tls.has_value());
}

// RFC 1928 §6 asks for the whole reply, but the code is what matters: a server that sends only
// VER REP RSV ATYP before closing has still said why.
TEST_F(HostileProxy, Socks5FailureReplyWithoutABoundAddressKeepsItsCode) {
  auto& proxy = socks5_answering(std::string("\x05\x00", 2), std::string("\x05\x02\x00\x01", 4),
                                 /*fin=*/true);
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_denied") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("(2)"));
}

TEST_F(HostileProxy, Socks5NoAcceptableMethodIsAuthRequired) {
  auto& proxy = socks5_answering(std::string("\x05\xFF", 2));
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(r.proxy_status, 0);
}

TEST_F(HostileProxy, Socks5DemandingUserPasswordFromAnAnonymousClientIsAuthRequired) {
  auto& proxy = socks5_answering(std::string("\x05\x02", 2));
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("password"));
}

TEST_F(HostileProxy, Socks5RejectedUserPasswordIsAuthRequired) {
  auto& proxy = socks5_proxy(Credentials{"alice", "right"});
  const Result r = probe("https://localhost:443/", proxy_url("socks5h", proxy, "alice:wrong@"));
  EXPECT_EQ(outcome_of(r), "proxy_auth_required") << r.detail;
  EXPECT_EQ(seen.socks_auth, socks_user_password("alice", "wrong"));
  EXPECT_TRUE(seen.socks_request.empty());
}

TEST_F(HostileProxy, Socks5UserPasswordIsSentPerRfc1929AndTheTunnelWorks) {
  auto& origin = tls_origin();
  auto& proxy = socks5_proxy(Credentials{"alice", "s3cr3t"});
  const Result r =
      probe(origin_url("https", "localhost", origin), proxy_url("socks5h", proxy, "alice:s3cr3t@"));
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(seen.socks_greeting, std::string("\x05\x02\x00\x02", 4));
  EXPECT_EQ(seen.socks_auth, std::string("\x01\x05"
                                         "alice"
                                         "\x06"
                                         "s3cr3t",
                                         14));
}

// --- every byte, cut: the proxy paths ----------------------------------------------------------
//
// The direct path's matrix (hostile_server_test.cpp) for each way through a proxy: a cut relay
// between the probe and a working proxy, which tunnels to a working TLS origin, lets exactly N
// bytes of one direction through and then ends both connections, by FIN or by RST. N walks from
// 0 past the whole exchange, one direction per test: the proxy's bytes (its TLS handshake, its
// reply, then the origin's handshake and response through the tunnel), or the client's (its
// CONNECT or SOCKS greeting, credentials and request, then its ClientHello and request).
//
// Who is to blame follows the tunnel, as curl's cf-h1-proxy keeps the proxy's status apart from
// the origin's. Until the proxy's success reply is complete the connection is the proxy's: a cut
// is proxy_error (a proxy that dies mid-handshake, mid-TLS included, was reached, so it is not
// proxy_unreachable). Once the reply is complete, the bytes are the origin's, carried by the
// proxy: a cut is tls_error inside the origin's handshake and http_error after it, never a proxy
// outcome (as in Connect200ThenCloseIsATlsErrorInsideTheTunnelNotAProxyFailure); and once the
// response header is through, ok.

enum class ProxyPath { http_connect, http_connect_basic, socks5, socks5_user_password, https };

struct CutCase {
  ProxyPath path;
  test::Counted direction;  // to_client (the proxy's bytes) or to_server (the client's)
};

std::size_t one_way(const test::Relayed& bytes, test::Counted direction) {
  return direction == test::Counted::to_client ? bytes.to_client : bytes.to_server;
}

class ProxyCutMatrix : public HostileProxy, public ::testing::WithParamInterface<CutCase> {
 protected:
  // TLS records differ by a few bytes from one handshake to the next (ECDSA signatures): this
  // close to the end of a clean exchange, a cut may or may not have cost the response header.
  static constexpr std::size_t kSlack = 16;
  static constexpr std::size_t kNoCut = std::size_t(1) << 30;

  struct Run {
    Result result;
    test::Relayed relayed;                      // what the cut relay let through
    std::optional<test::Relayed> until_tunnel;  // as the proxy counted it, if it got that far
  };

  test::CutPlan plan;
  std::shared_ptr<test::Relayed> relayed = std::make_shared<test::Relayed>();
  std::string target, through;

  ProxyPath path() const { return GetParam().path; }
  test::Counted direction() const { return GetParam().direction; }
  bool socks() const {
    return path() == ProxyPath::socks5 || path() == ProxyPath::socks5_user_password;
  }

  TestServer& working_proxy() {
    switch (path()) {
      case ProxyPath::http_connect:
      case ProxyPath::http_connect_basic:
        return relaying_proxy();
      case ProxyPath::socks5:
        return socks5_proxy();
      case ProxyPath::socks5_user_password:
        return socks5_proxy(Credentials{"alice", "s3cr3t"});
      case ProxyPath::https:
        break;
    }
    return serve(
        [this](tcp::socket& socket) { return tls_connect_and_relay(socket, *server_tls, seen); });
  }

  std::string proxy_through(const TestServer& front) const {
    switch (path()) {
      case ProxyPath::http_connect:
        return proxy_url("http", front);
      case ProxyPath::http_connect_basic:
        return proxy_url("http", front, "alice:s3cr3t@");
      case ProxyPath::socks5:
        return proxy_url("socks5h", front);
      case ProxyPath::socks5_user_password:
        return proxy_url("socks5h", front, "alice:s3cr3t@");
      case ProxyPath::https:
        break;
    }
    return proxy_url("https", front);
  }

  // The origin, the proxy and the cut relay in front of it serve the whole walk, each probe
  // with the plan of the moment.
  void SetUp() override {
    auto& origin = tls_origin();
    auto& proxy = working_proxy();
    auto& front = serve([this, port = proxy.port()](tcp::socket& socket) {
      return test::cut_relay(socket, port, plan, relayed);
    });
    target = origin_url("https", "localhost", origin);
    through = proxy_through(front);
  }

  void TearDown() override {
    stop_servers();
    io.restart();
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(io.stopped()) << "the event loop still had work after the servers stopped";
    EXPECT_EQ(delivered->size(), 1u) << "the last probe delivered another result since";
  }

  Run probe_cut(std::size_t budget, test::Cut how) {
    seen = {};
    plan = {.budget = budget, .how = how, .counted = direction()};
    relayed = std::make_shared<test::Relayed>();
    Result result = probe(target, through, /*keep_servers=*/true);
    return {std::move(result), *relayed, seen.until_tunnel};
  }

  // Checks one cut at `budget` bytes, where a clean exchange is `end` bytes; returns its outcome.
  std::string check_cut(std::size_t budget, test::Cut how, std::size_t end) {
    const Run run = probe_cut(budget, how);
    const Result& r = run.result;
    const std::string outcome = outcome_of(r);
    SCOPED_TRACE("cut after " + std::to_string(budget) + " of " + std::to_string(end) +
                 " bytes by " + (how == test::Cut::fin ? "FIN" : "RST") + ": " + outcome + ": " +
                 r.detail);
    EXPECT_NE(outcome, "timeout") << "a closed connection is never a timeout";
    if (outcome != "ok") {
      // A cut is a close or a reset, and the detail says which, whoever it blames.
      EXPECT_THAT(r.detail, AnyOf(HasSubstr("closed"), HasSubstr("reset")));
    }
    // Where the cut fell, by this run's own count of the proxy's bytes (TLS records vary).
    const bool tunnel_up = run.until_tunnel && budget >= one_way(*run.until_tunnel, direction());
    if (!tunnel_up) {
      EXPECT_EQ(outcome, "proxy_error") << "the proxy's connection died before its reply was in";
      EXPECT_THAT(r.detail, HasSubstr("proxy"));
      EXPECT_FALSE(r.ms.tunnel.has_value());
      EXPECT_FALSE(r.tls.has_value()) << "no handshake with the origin before the tunnel";
      EXPECT_EQ(r.proxy_status, 0) << "no complete proxy reply";
      EXPECT_EQ(r.http_status, 0);
      return outcome;
    }
    EXPECT_TRUE(r.ms.tunnel.has_value()) << "the whole success reply was delivered";
    EXPECT_EQ(r.proxy_status, socks() ? 0 : 200);
    if (budget + kSlack < end) {
      EXPECT_THAT(outcome, AnyOf(Eq("tls_error"), Eq("http_error")));
    } else if (budget >= end + kSlack) {
      EXPECT_EQ(outcome, "ok");
    } else {
      EXPECT_THAT(outcome, AnyOf(Eq("tls_error"), Eq("http_error"), Eq("ok")));
    }
    if (outcome == "tls_error") {
      EXPECT_THAT(r.detail, HasSubstr("through the tunnel"));
    } else if (outcome == "http_error") {
      EXPECT_TRUE(r.tls && r.tls->verified) << "http_error comes after a complete handshake";
      EXPECT_EQ(r.http_status, 0);
    } else if (outcome == "ok") {
      EXPECT_EQ(r.http_status, 200);
    }
    return outcome;
  }
};

TEST_P(ProxyCutMatrix, EveryCutEndsInOneNamedResultBlamingTheRightParty) {
  const Run clean = probe_cut(kNoCut, test::Cut::fin);
  ASSERT_EQ(outcome_of(clean.result), "ok") << clean.result.detail;
  ASSERT_TRUE(clean.until_tunnel.has_value());
  if (GetParam().path == ProxyPath::http_connect_basic) {
    ASSERT_EQ(seen.heads.size(), 1u);
    EXPECT_THAT(seen.heads[0], HasSubstr("\r\nProxy-Authorization: Basic "));
  }
  const std::size_t tunnel = one_way(*clean.until_tunnel, direction());
  const std::size_t end = one_way(clean.relayed, direction());
  ASSERT_GT(end, tunnel);
  // Every byte, cut both ways (FIN and RST), where the proxy's own protocol is plain text and
  // within kSlack of the start and of the two turning points (the tunnel coming up, the response
  // header completing). Elsewhere, inside TLS records, every kTlsStep-th byte, FIN and RST in
  // turn: a record cut at neighbouring bytes fails the same way, and every byte there takes five
  // times the probes, each leaving a port of this machine in TIME_WAIT for a minute (a whole run
  // of the binary at every byte used up the ephemeral range) and, for the HTTPS proxy's side,
  // 15 s of the ASan build instead of 5.
  constexpr std::size_t kTlsStep = 7;
  const bool plain_proxy = path() != ProxyPath::https;
  const auto near = [](std::size_t n, std::size_t mark) {
    return n + kSlack >= mark && n <= mark + kSlack;
  };
  std::map<std::string, int> outcomes;
  for (std::size_t budget = 0; budget <= end + 2 * kSlack;) {
    const bool dense = budget <= kSlack || (plain_proxy && budget < tunnel) ||
                       near(budget, tunnel) || budget + kSlack >= end;
    for (const auto how : {test::Cut::fin, test::Cut::rst}) {
      if (!dense && (how == test::Cut::rst) != (budget % 2 == 1)) continue;
      ++outcomes[check_cut(budget, how, end)];
      if (HasFailure()) return;  // one position's story is enough
    }
    budget += dense ? 1 : kTlsStep;
  }
  EXPECT_GT(outcomes["proxy_error"], 0);
  EXPECT_GT(outcomes["tls_error"], 0);
  EXPECT_GT(outcomes["http_error"], 0);
  EXPECT_GT(outcomes["ok"], 0);
}

std::string cut_case_name(const ::testing::TestParamInfo<CutCase>& info) {
  static const std::map<ProxyPath, std::string> names{
      {ProxyPath::http_connect, "connect"},
      {ProxyPath::http_connect_basic, "connect_basic_auth"},
      {ProxyPath::socks5, "socks5"},
      {ProxyPath::socks5_user_password, "socks5_user_password"},
      {ProxyPath::https, "https_proxy"}};
  return names.at(info.param.path) +
         (info.param.direction == test::Counted::to_client ? "_proxy_bytes" : "_client_bytes");
}

std::vector<CutCase> every_path_both_ways() {
  std::vector<CutCase> cases;
  for (const auto path : {ProxyPath::http_connect, ProxyPath::http_connect_basic, ProxyPath::socks5,
                          ProxyPath::socks5_user_password, ProxyPath::https})
    for (const auto direction : {test::Counted::to_client, test::Counted::to_server})
      cases.push_back({path, direction});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Paths, ProxyCutMatrix, ::testing::ValuesIn(every_path_both_ways()),
                         cut_case_name);

}  // namespace
}  // namespace urlprobe::probe
