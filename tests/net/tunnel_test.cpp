// The tunnel layer on its own: how a proxy's HTTP answer is read (classify_proxy_status), the
// Basic credentials it is sent (RFC 7617), and CONNECT / SOCKS5 handshakes over a plain socket
// against in-process proxies, down to the bytes that arrive together with the proxy's reply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/stream.hpp"
#include "net/tunnel.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::net {
namespace {

namespace asio = boost::asio;
using test::tcp;
using test::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using Kind = TunnelResult::Kind;

// --- basic_authorization ---------------------------------------------------------------------

TEST(BasicAuthorization, EncodesTheRfc7617Example) {
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(BasicAuthorization, EncodesUtf8AsIsLikeTheRfc7617CharsetExample) {
  EXPECT_EQ(basic_authorization("test", "123\xC2\xA3"), "Basic dGVzdDoxMjPCow==");
}

TEST(BasicAuthorization, KeepsTheColonOfAnEmptyPassword) {
  EXPECT_EQ(basic_authorization("user", ""), "Basic dXNlcjo=");
}

TEST(BasicAuthorization, PadsEveryRemainderLength) {
  EXPECT_EQ(basic_authorization("a", ""), "Basic YTo=");
  EXPECT_EQ(basic_authorization("ab", ""), "Basic YWI6");
  EXPECT_EQ(basic_authorization("abc", ""), "Basic YWJjOg==");
}

TEST(BasicAuthorization, LongCredentialsStayOnOneLine) {
  const std::string encoded = basic_authorization("alice", std::string(100, 'p'));
  EXPECT_EQ(encoded,
            "Basic YWxpY2U6cHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw"
            "cHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcA==");
  EXPECT_THAT(encoded, Not(HasSubstr("\n")));
}

// --- classify_proxy_status -------------------------------------------------------------------

TEST(ClassifyProxyStatus, A200EstablishesTheTunnel) {
  const auto r = classify_proxy_status(200, {});
  EXPECT_EQ(r.kind, Kind::established);
  EXPECT_EQ(r.proxy_status, 200);
  EXPECT_THAT(r.detail, IsEmpty());
}

TEST(ClassifyProxyStatus, AnyOther2xxEstablishesTheTunnel) {
  const auto r = classify_proxy_status(204, {});
  EXPECT_EQ(r.kind, Kind::established);
  EXPECT_EQ(r.proxy_status, 204);
}

TEST(ClassifyProxyStatus, A407OfferingNtlmAndNegotiateIsAuthRequiredAndNamesBoth) {
  const auto r = classify_proxy_status(407, {"NTLM", "Negotiate"});
  EXPECT_EQ(r.kind, Kind::auth_required);
  EXPECT_EQ(r.proxy_status, 407);
  EXPECT_THAT(r.detail, AllOf(HasSubstr("407"), HasSubstr("NTLM"), HasSubstr("Negotiate")));
}

TEST(ClassifyProxyStatus, A407WithoutChallengesSaysNoSchemeWasOffered) {
  const auto r = classify_proxy_status(407, {});
  EXPECT_EQ(r.kind, Kind::auth_required);
  EXPECT_THAT(r.detail, HasSubstr("no scheme"));
}

TEST(ClassifyProxyStatus, A407NamesARepeatedSchemeOnceAndNotItsParameters) {
  const auto r = classify_proxy_status(407, {"Basic realm=\"a\"", "Basic realm=\"b\""});
  EXPECT_EQ(r.kind, Kind::auth_required);
  EXPECT_THAT(r.detail, HasSubstr("offers Basic"));
  EXPECT_EQ(r.detail.find("Basic"), r.detail.rfind("Basic")) << r.detail;
  EXPECT_THAT(r.detail, Not(HasSubstr("realm")));
}

// RFC 9110 §11.6.1: one Proxy-Authenticate field may carry a list of challenges, and the
// parameters of one (quoted strings with commas included) are not schemes.
TEST(ClassifyProxyStatus, A407FieldWithSeveralChallengesNamesEachScheme) {
  const auto r = classify_proxy_status(407, {"Basic realm=\"corp, emea\", NTLM", "Negotiate"});
  EXPECT_EQ(r.kind, Kind::auth_required);
  EXPECT_THAT(r.detail, HasSubstr("offers Basic, NTLM, Negotiate"));
  EXPECT_THAT(r.detail, Not(HasSubstr("emea")));
}

TEST(ClassifyProxyStatus, Other4xxAreDeniedWithTheirStatus) {
  for (const int status : {400, 403, 404, 405}) {
    const auto r = classify_proxy_status(status, {});
    EXPECT_EQ(r.kind, Kind::denied) << status;
    EXPECT_EQ(r.proxy_status, status);
    EXPECT_THAT(r.detail, HasSubstr(std::to_string(status)));
  }
}

TEST(ClassifyProxyStatus, A5xxIsAProxyErrorWithItsStatus) {
  for (const int status : {500, 502, 503, 504}) {
    const auto r = classify_proxy_status(status, {});
    EXPECT_EQ(r.kind, Kind::proxy_error) << status;
    EXPECT_EQ(r.proxy_status, status);
    EXPECT_THAT(r.detail, HasSubstr(std::to_string(status)));
  }
}

TEST(ClassifyProxyStatus, A3xxIsAnUnexpectedReplyAndAProxyError) {
  const auto r = classify_proxy_status(302, {});
  EXPECT_EQ(r.kind, Kind::proxy_error);
  EXPECT_EQ(r.proxy_status, 302);
  EXPECT_THAT(r.detail, HasSubstr("302"));
}

// --- handshakes over a socket ----------------------------------------------------------------

const std::string kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";

class TunnelOverSocket : public ::testing::Test {
 protected:
  ~TunnelOverSocket() override {
    boost::system::error_code ignored;
    socket.close(ignored);
    for (auto& server : servers) server->stop();
    io.restart();
    io.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(io.stopped()) << "something was left pending";
  }

  // Starts a server and connects the client socket to it.
  TestServer& serve(TestServer::Behaviour behaviour) {
    servers.push_back(std::make_unique<TestServer>(io, std::move(behaviour)));
    socket.connect(tcp::endpoint(test::loopback(), servers.back()->port()));
    return *servers.back();
  }

  // Runs the event loop until `done` holds (a guard against hangs, not a timing assertion).
  template <class Predicate>
  void run_until(Predicate done) {
    io.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < give_up)
      io.run_one_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(done()) << "the operation never completed";
  }

  TunnelResult http_connect(const TunnelRequest& request) {
    std::optional<TunnelResult> result;
    async_http_connect(stream, request, [&](TunnelResult r) { result = std::move(r); });
    run_until([&] { return result.has_value(); });
    return result.value_or(TunnelResult{Kind::proxy_error, 0, "no result"});
  }

  TunnelResult socks5_connect(const TunnelRequest& request) {
    std::optional<TunnelResult> result;
    async_socks5_connect(stream, request, [&](TunnelResult r) { result = std::move(r); });
    run_until([&] { return result.has_value(); });
    return result.value_or(TunnelResult{Kind::established, 0, "no result"});
  }

  // Reads exactly `n` bytes from the tunnel.
  std::string read_tunnel(std::size_t n) {
    std::string bytes(n, '\0');
    std::optional<boost::system::error_code> error;
    asio::async_read(stream, asio::buffer(bytes),
                     [&](boost::system::error_code ec, std::size_t) { error = ec; });
    run_until([&] { return error.has_value(); });
    const auto ec = error.value_or(asio::error::timed_out);
    EXPECT_FALSE(ec) << ec.message();
    return bytes;
  }

  void write_tunnel(const std::string& bytes) {
    std::optional<boost::system::error_code> error;
    asio::async_write(stream, asio::buffer(bytes),
                      [&](boost::system::error_code ec, std::size_t) { error = ec; });
    run_until([&] { return error.has_value(); });
    EXPECT_FALSE(error.value_or(asio::error::timed_out));
  }

  static TunnelRequest request_for(const std::string& host, std::uint16_t port) {
    TunnelRequest request;
    request.host = host;
    request.port = port;
    request.user_agent = "tunnel-test/1";
    return request;
  }

  asio::io_context io{1};
  tcp::socket socket{io};
  SocketStream stream{socket};
  std::vector<std::unique_ptr<TestServer>> servers;
  std::vector<std::string> heads;  // what the proxy was asked
};

asio::awaitable<void> reply_to_connect(tcp::socket& socket, std::vector<std::string>& heads,
                                       std::string reply) {
  heads.push_back(co_await test::read_request(socket));
  co_await test::write_text(socket, reply);
  co_await test::drain(socket);
}

TEST_F(TunnelOverSocket, ConnectRequestNamesTheTargetAndCarriesBasicCredentials) {
  serve([this](tcp::socket& s) { return reply_to_connect(s, heads, kEstablished); });
  auto request = request_for("example.com", 443);
  request.user = "Aladdin";
  request.password = "open sesame";
  const auto r = http_connect(request);
  EXPECT_EQ(r.kind, Kind::established) << r.detail;
  EXPECT_EQ(r.proxy_status, 200);
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_THAT(heads[0], StartsWith("CONNECT example.com:443 HTTP/1.1\r\n"));
  EXPECT_THAT(heads[0], HasSubstr("\r\nHost: example.com:443\r\n"));
  EXPECT_THAT(heads[0], HasSubstr("\r\nUser-Agent: tunnel-test/1\r\n"));
  EXPECT_THAT(heads[0],
              HasSubstr("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
}

TEST_F(TunnelOverSocket, ConnectToAnIpv6TargetBracketsTheAddress) {
  serve([this](tcp::socket& s) { return reply_to_connect(s, heads, kEstablished); });
  const auto r = http_connect(request_for("2001:db8::1", 443));
  EXPECT_EQ(r.kind, Kind::established) << r.detail;
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_THAT(heads[0], StartsWith("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n"));
  EXPECT_THAT(heads[0], Not(HasSubstr("Proxy-Authorization")));
}

// The proxy's reply and the first tunnelled bytes in one write: those bytes come out of the
// tunnel first, then what follows on the wire, in order.
TEST_F(TunnelOverSocket, BytesThatArriveWithThe200AreReadFromTheTunnelFirst) {
  serve([this](tcp::socket& s) -> asio::awaitable<void> {
    heads.push_back(co_await test::read_request(s));
    const std::string reply_and_early_bytes = kEstablished + "EARLY";
    co_await test::write_text(s, reply_and_early_bytes);
    const std::string ping = co_await test::read_exactly(s, 4);
    const std::string later = "LATER";
    if (ping == "ping") co_await test::write_text(s, later);
    co_await test::drain(s);
  });
  const auto r = http_connect(request_for("example.com", 443));
  ASSERT_EQ(r.kind, Kind::established) << r.detail;
  EXPECT_EQ(read_tunnel(5), "EARLY");
  write_tunnel("ping");
  EXPECT_EQ(read_tunnel(5), "LATER");
}

// More early bytes than the reply's read buffer holds: what was read with the reply and what
// is still on the wire join up without a byte lost or reordered.
TEST_F(TunnelOverSocket, ManyEarlyBytesJoinTheWireBytesInOrder) {
  std::string payload(200'000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 23);
  serve([this, payload](tcp::socket& s) -> asio::awaitable<void> {
    heads.push_back(co_await test::read_request(s));
    co_await test::write_text(s, kEstablished + payload);
    co_await test::drain(s);
  });
  const auto r = http_connect(request_for("example.com", 443));
  ASSERT_EQ(r.kind, Kind::established) << r.detail;
  const std::string received = read_tunnel(payload.size());
  EXPECT_TRUE(received == payload) << "the tunnel's bytes differ from what the proxy sent";
}

TEST_F(TunnelOverSocket, ConnectReplyHeaderOverTheLimitIsAProxyError) {
  const std::string reply =
      "HTTP/1.1 200 Connection established\r\nX-Filler: " + std::string(8192, 'x') + "\r\n\r\n";
  serve([this, reply](tcp::socket& s) { return reply_to_connect(s, heads, reply); });
  auto request = request_for("example.com", 443);
  request.header_limit = 1024;
  const auto r = http_connect(request);
  EXPECT_EQ(r.kind, Kind::proxy_error);
  EXPECT_THAT(r.detail, HasSubstr("too large"));
}

TEST_F(TunnelOverSocket, Connect407IsAuthRequiredNamingTheOfferedSchemes) {
  serve([this](tcp::socket& s) {
    return reply_to_connect(s, heads,
                            "HTTP/1.1 407 Proxy Authentication Required\r\n"
                            "Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n"
                            "Content-Length: 4\r\n\r\ndeny");
  });
  const auto r = http_connect(request_for("example.com", 443));
  EXPECT_EQ(r.kind, Kind::auth_required);
  EXPECT_EQ(r.proxy_status, 407);
  EXPECT_THAT(r.detail, AllOf(HasSubstr("NTLM"), HasSubstr("Negotiate")));
}

// A SOCKS5 server that records the request and grants it.
asio::awaitable<void> socks5_grant(tcp::socket& socket, std::vector<std::string>& requests) {
  std::string greeting = co_await test::read_exactly(socket, 2);
  greeting += co_await test::read_exactly(socket, static_cast<std::uint8_t>(greeting[1]));
  const std::string no_auth("\x05\x00", 2);
  co_await test::write_text(socket, no_auth);
  std::string request = co_await test::read_exactly(socket, 4);
  request += co_await test::read_exactly(socket, request[3] == '\x04' ? 18 : 6);
  requests.push_back(request);
  const std::string granted("\x05\x00\x00\x01\x7f\x00\x00\x01\x30\x39", 10);
  co_await test::write_text(socket, granted);
  co_await test::drain(socket);
}

TEST_F(TunnelOverSocket, Socks5WithAnIpv6AddressSendsAddressType4) {
  serve([this](tcp::socket& s) { return socks5_grant(s, heads); });
  auto request = request_for("2001:db8::1", 443);
  request.address = asio::ip::make_address("2001:db8::1");
  const auto r = socks5_connect(request);
  EXPECT_EQ(r.kind, Kind::established) << r.detail;
  ASSERT_EQ(heads.size(), 1u);
  const auto bytes = asio::ip::make_address_v6("2001:db8::1").to_bytes();
  EXPECT_EQ(heads[0], std::string("\x05\x01\x00\x04", 4) +
                          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()) +
                          std::string("\x01\xbb", 2));
}

TEST_F(TunnelOverSocket, Socks5HostNameLongerThan255BytesIsAProxyErrorBeforeTheRequest) {
  serve([this](tcp::socket& s) { return socks5_grant(s, heads); });
  const auto r = socks5_connect(request_for(std::string(256, 'a') + ".test", 443));
  EXPECT_EQ(r.kind, Kind::proxy_error);
  EXPECT_THAT(r.detail, HasSubstr("too long"));
  EXPECT_THAT(heads, IsEmpty()) << "a request with a truncated name was sent";
}

}  // namespace
}  // namespace urlprobe::net
