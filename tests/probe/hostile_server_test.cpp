// One probe against in-process origins that misbehave in every way an origin (or whatever sits
// in front of it) can: each test asserts the probe ends in exactly one result, with the outcome
// DESIGN "Outcomes" names for that misbehaviour and a detail that says what happened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <dlfcn.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "net/detail/certificate.hpp"
#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "probe/probe.hpp"
#include "probe/result.hpp"
#include "sheet/url.hpp"
#include "tests/probe/failing_ssl_new.hpp"
#include "tests/probe/test_servers.hpp"

namespace {
std::atomic<SSL_CTX*> failing_ssl_new_context{nullptr};
}  // namespace

// The seam of failing_ssl_new.hpp: this definition, not libssl's, is what the engine calls.
extern "C" SSL* SSL_new(SSL_CTX* context) {
  using Real = SSL* (*)(SSL_CTX*);
  static const auto real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "SSL_new"));
  if (context && context == failing_ssl_new_context.load()) return nullptr;
  return real(context);
}

namespace urlprobe::test {
FailingSslNew::FailingSslNew(SSL_CTX* context) {
  failing_ssl_new_context.store(context);
}
FailingSslNew::~FailingSslNew() {
  failing_ssl_new_context.store(nullptr);
}
}  // namespace urlprobe::test

namespace urlprobe::probe {
namespace {

using std::chrono::milliseconds;
using test::tcp;
using test::TestServer;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Matcher;
namespace asio = boost::asio;

// Long enough for a loaded sanitizer build to finish a loopback TLS handshake, short enough
// that the timeout cases stay quick.
constexpr milliseconds kProbeTimeout{500};

class HostileOrigin : public ::testing::Test {
 protected:
  HostileOrigin() { config.timeouts = Timeouts::derived_from(kProbeTimeout); }

  TestServer& serve(TestServer::Behaviour behaviour) {
    servers.push_back(std::make_unique<TestServer>(io, std::move(behaviour)));
    return *servers.back();
  }

  // A server speaking TLS with the test certificate, then answering `response` verbatim.
  TestServer& serve_tls(std::string response) {
    return serve_tls(std::move(response), *server_tls);
  }
  TestServer& serve_tls(std::string response, asio::ssl::context& context) {
    return serve([&context, response](tcp::socket& socket) {
      return test::tls_answer(socket, context, response);
    });
  }

  void stop_servers() {
    for (auto& server : servers) server->stop();
  }

  // Runs one probe of `url` to its end: the servers stop as soon as the result is in, and the
  // event loop must then run out of work on its own (nothing left pending by the probe).
  // `after_start` runs right after start_probe, e.g. to arrange an abort.
  std::vector<Result> probe(const std::string& url, net::TlsClientContext& tls,
                            const std::function<void(ProbeHandle)>& after_start = {}) {
    auto parsed = sheet::parse_target_url(url);
    const auto* target = std::get_if<sheet::Target>(&parsed);
    if (!target) {
      ADD_FAILURE() << url << ": " << std::get<sheet::UrlError>(parsed).message;
      return {};
    }
    io.restart();  // a test may probe more than once
    std::vector<Result> results;
    const ProbeContext context{io, resolver, tls, config};
    test::DeadlineWitness witness(io, config.timeouts.total);
    const ProbeHandle handle =
        start_probe(context, *target, route::Route{}, 7, [&](Result&& result) {
          EXPECT_TRUE(witness.on_time()) << "the probe outlived its deadline";
          results.push_back(std::move(result));
          stop_servers();
        });
    EXPECT_TRUE(results.empty()) << "the handler ran inside start_probe";
    if (after_start) after_start(handle);
    // A guard against hangs, not a timing assertion: a correct probe is done long before.
    io.run_for(std::chrono::seconds(20));
    if (io.stopped()) {
      // Aborting a finished probe must change nothing.
      handle.abort("late abort");
      io.restart();
      io.run();
    } else {
      ADD_FAILURE() << "the event loop still had work 20 s after the probe started";
      io.stop();
    }
    EXPECT_EQ(results.size(), 1u) << "a probe must end in exactly one result";
    for (const auto& result : results) {
      EXPECT_EQ(result.sweep_index, 7u);
      EXPECT_EQ(result.url, target->url);
      EXPECT_EQ(result.host, "127.0.0.1");
      EXPECT_GE(result.ms.total, 0.0);
      EXPECT_FALSE(result.ms.dns.has_value()) << "an IP literal is not resolved";
    }
    return results;
  }

  asio::io_context io{1};
  net::Resolver resolver{io, net::ResolverConfig{}};
  // Shared by every test, as a sweep shares its one client context (loading the system trust
  // store for each test would cost more than the tests).
  static net::TlsClientContext& trusting_context() {
    static net::TlsClientContext context{net::TlsConfig{
        .ca_file = test::test_cert().ca_file(), .public_roots = test::test_cert().ca_file()}};
    return context;
  }
  static net::TlsClientContext& untrusting_context() {
    static net::TlsClientContext context{net::TlsConfig{}};
    return context;
  }
  net::TlsClientContext& trusting = trusting_context();
  net::TlsClientContext& untrusting = untrusting_context();
  std::unique_ptr<asio::ssl::context> server_tls = test::test_cert().server_context();
  ProbeConfig config;
  std::vector<std::unique_ptr<TestServer>> servers;
};

std::string outcome_of(const Result& r) {
  return std::string(outcome_name(r.outcome));
}

TEST_F(HostileOrigin, TrustedTlsOriginAnswering200IsOk) {
  auto& server = serve_tls(test::http_response(200, "OK"));
  const auto results = probe(server.url("https", "/health"), trusting);
  ASSERT_EQ(results.size(), 1u);
  const Result& r = results.front();
  EXPECT_EQ(outcome_of(r), "ok") << r.detail;
  EXPECT_EQ(r.detail, "");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.port, server.port());
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(r.tls.has_value());
  EXPECT_TRUE(r.tls->verified);
  EXPECT_THAT(r.tls->version, HasSubstr("TLS"));
  EXPECT_FALSE(r.tls->cipher.empty());
  EXPECT_THAT(r.tls->subject, HasSubstr("urlprobe test origin"));
  EXPECT_EQ(r.tls->issuer, r.tls->subject);
  EXPECT_FALSE(r.tls->not_after.empty());
  EXPECT_TRUE(r.ms.connect.has_value());
  EXPECT_TRUE(r.ms.tls.has_value());
  EXPECT_TRUE(r.ms.ttfb.has_value());
  EXPECT_FALSE(r.ms.tunnel.has_value());
}

// OpenSSL drops the peer's certificate when verification fails; the engine keeps the leaf so
// that an untrusted certificate is named (and described in `tls`) rather than a bare tls_error.
// The system store as the machine configures it (SSL_CERT_FILE, SSL_CERT_DIR), without --ca-file:
// a root found only through the hashed directory (the bundle is then not parsed up front) and
// a root found only in the bundle (the directory lacks it, so the bundle is loaded) both verify.
TEST_F(HostileOrigin, SystemRootsVerifyFromTheHashedDirectoryAndFromTheBundle) {
  namespace fs = std::filesystem;
  char pattern[] = "/tmp/urlprobe-system-store-XXXXXX";
  const fs::path root = mkdtemp(pattern);
  fs::create_directory(root / "certs");
  const auto bundle = (root / "ca-certificates.crt").string();
  const auto dir = (root / "certs").string();
  fs::copy_file(test::test_cert().ca_file(), bundle);
  setenv("SSL_CERT_FILE", bundle.c_str(), 1);
  setenv("SSL_CERT_DIR", dir.c_str(), 1);
  for (const bool hashed : {false, true}) {
    if (hashed) {
      // As update-ca-certificates leaves it: <subject hash>.0 next to the bundle's copy.
      FILE* file = std::fopen(test::test_cert().ca_file().c_str(), "r");
      ASSERT_NE(file, nullptr);
      X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
      std::fclose(file);
      ASSERT_NE(cert, nullptr);
      char name[32];
      std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(cert));
      X509_free(cert);
      fs::copy_file(test::test_cert().ca_file(), root / "certs" / name);
    }
    ASSERT_EQ(net::bundle_in_hashed_dirs(bundle, dir), hashed);
    net::TlsClientContext system{
        net::TlsConfig{.ca_file = "", .public_roots = test::test_cert().ca_file()}};
    auto& server = serve_tls(test::http_response(200, "OK"));
    const auto results = probe(server.url("https"), system);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(outcome_of(results[0]), "ok")
        << (hashed ? "hashed: " : "bundle: ") << results[0].detail;
  }
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
  fs::remove_all(root);
}

TEST_F(HostileOrigin, SelfSignedCertificateWithoutCaFileIsTlsUntrusted) {
  auto& server = serve_tls(test::http_response(200, "OK"));
  const auto results = probe(server.url("https"), untrusting);
  ASSERT_EQ(results.size(), 1u);
  const Result& r = results.front();
  EXPECT_EQ(outcome_of(r), "tls_untrusted") << r.detail;
  EXPECT_THAT(r.detail, AnyOf(HasSubstr("self-signed"), HasSubstr("unknown CA")));
  EXPECT_THAT(r.detail, HasSubstr("urlprobe test origin"));
  EXPECT_EQ(r.http_status, 0);
  ASSERT_TRUE(r.tls.has_value()) << "the rejected leaf is still described";
  EXPECT_FALSE(r.tls->verified);
  EXPECT_TRUE(r.ms.connect.has_value());
  EXPECT_FALSE(r.ms.ttfb.has_value());
}

TEST_F(HostileOrigin, CertificateForAnotherNameIsTlsUntrusted) {
  const test::SelfSignedCert other(
      {.common_name = "elsewhere.example", .subject_alt_names = "DNS:elsewhere.example"});
  net::TlsClientContext trusts_other{
      net::TlsConfig{.ca_file = other.ca_file(), .public_roots = other.ca_file()}};
  const auto context = other.server_context();
  auto& server = serve_tls(test::http_response(200, "OK"), *context);
  const auto results = probe(server.url("https"), trusts_other);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "tls_untrusted") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("mismatch"));
  EXPECT_THAT(results[0].detail, HasSubstr("127.0.0.1"));
  ASSERT_TRUE(results[0].tls.has_value());
  EXPECT_THAT(results[0].tls->subject, HasSubstr("elsewhere.example"));
}

TEST_F(HostileOrigin, ExpiredCertificateIsTlsUntrusted) {
  const test::SelfSignedCert expired({.common_name = "expired origin",
                                      .not_before_seconds = -2 * 24 * 3600,
                                      .not_after_seconds = -24 * 3600});
  net::TlsClientContext trusts_expired{
      net::TlsConfig{.ca_file = expired.ca_file(), .public_roots = expired.ca_file()}};
  const auto context = expired.server_context();
  auto& server = serve_tls(test::http_response(200, "OK"), *context);
  const auto results = probe(server.url("https"), trusts_expired);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "tls_untrusted") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("expired"));
}

TEST_F(HostileOrigin, ResetMidHandshakeIsTlsError) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    // The whole ClientHello record: a 5-byte record header, then its length of handshake bytes.
    std::array<unsigned char, 5> record;
    co_await asio::async_read(socket, asio::buffer(record), asio::use_awaitable);
    std::vector<unsigned char> hello(std::size_t{record[3]} << 8 | record[4]);
    co_await asio::async_read(socket, asio::buffer(hello), asio::use_awaitable);
    test::reset(socket);
  });
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "tls_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(results[0].detail, HasSubstr("reset"));
  EXPECT_FALSE(results[0].tls.has_value()) << "no certificate was ever seen";
}

// With every descriptor this process may open in use, socket() fails with EMFILE. That is this
// machine's failure: it must not be reported as the origin refusing the connection.
TEST_F(HostileOrigin, NoFileDescriptorLeftIsLocalErrorNotARefusal) {
  auto& server = serve([](tcp::socket& socket) {
    return test::http_answer(socket, test::http_response(200, "OK"));
  });
  const auto url = server.url("http");
  std::vector<Result> results;
  {
    // The limit comes back as this block ends, even if an ASSERT leaves it early.
    const test::FileLimitGuard restore_file_limit;
    ASSERT_TRUE(restore_file_limit.saved());
    // The lowest free descriptor becomes the limit: the probe's socket would be that number.
    const int lowest_free = dup(0);
    ASSERT_GE(lowest_free, 0);
    close(lowest_free);
    rlimit lowered = restore_file_limit.limit();
    lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    results = probe(url, trusting);
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "local_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("this machine could not connect"));
  EXPECT_THAT(results[0].detail, HasSubstr("Too many open files"));
  EXPECT_TRUE(is_failure(results[0].outcome)) << "nothing was verified";
}

// OpenSSL failing to make a session happens inside a completion handler: it must end the probe
// as this machine's failure, not throw out of the event loop (which would end a worker's run).
TEST_F(HostileOrigin, TlsSessionThatCannotBeMadeIsLocalErrorNotAnException) {
  auto& server = serve([](tcp::socket& socket) { return test::drain(socket); });
  std::vector<Result> results;
  {
    const test::FailingSslNew failing(trusting.native().native_handle());
    results = probe(server.url("https"), trusting);
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "local_error") << results[0].detail;
  EXPECT_EQ(results[0].detail, "this machine could not start TLS to the origin: SSL_new failed");
  EXPECT_TRUE(results[0].ms.connect.has_value()) << "the connection was made";
  EXPECT_FALSE(results[0].ms.tls.has_value());
  EXPECT_FALSE(results[0].tls.has_value());
  EXPECT_EQ(results[0].address, "127.0.0.1:" + std::to_string(server.port()));
}

TEST_F(HostileOrigin, PlainHttpAnswerToClientHelloIsTlsError) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    std::array<char, 1> first;
    co_await asio::async_read(socket, asio::buffer(first), asio::use_awaitable);
    co_await test::write_text(socket, "HTTP/1.1 400 Bad Request\r\n\r\n");
    co_await test::drain(socket);
  });
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "tls_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("TLS handshake failed"));
  EXPECT_EQ(results[0].http_status, 0);
}

TEST_F(HostileOrigin, GarbageInsteadOfHttpIsMalformedHttpError) {
  auto& server =
      serve([](tcp::socket& socket) { return test::http_answer(socket, "hello world\r\n\r\n"); });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("malformed"));
  EXPECT_EQ(results[0].http_status, 0);
  EXPECT_FALSE(results[0].tls.has_value());
}

TEST_F(HostileOrigin, OriginThatNeverAnswersIsTimeoutInResponsePhase) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    co_await test::drain(socket);  // never a byte back
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("response"));
  EXPECT_TRUE(results[0].ms.connect.has_value());
  EXPECT_FALSE(results[0].ms.ttfb.has_value());
  EXPECT_EQ(server.accepted(), 1u);
}

TEST_F(HostileOrigin, TlsOriginThatNeverSendsAByteIsTimeoutInTlsPhase) {
  auto& server = serve([](tcp::socket& socket) { return test::drain(socket); });
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("tls"));
  EXPECT_TRUE(results[0].ms.connect.has_value());
  EXPECT_FALSE(results[0].ms.tls.has_value());
}

TEST_F(HostileOrigin, CloseRightAfterTheRequestIsHttpError) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    socket.close();
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("closed before a complete response header"));
}

TEST_F(HostileOrigin, TlsCloseRightAfterTheRequestIsHttpError) {
  auto& server = serve([this](tcp::socket& socket) -> asio::awaitable<void> {
    asio::ssl::stream<tcp::socket&> tls(socket, *server_tls);
    co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    co_await test::read_request(tls);
    socket.close();  // no close_notify: a truncated stream
  });
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("closed before a complete response header"));
  ASSERT_TRUE(results[0].tls.has_value());
  EXPECT_TRUE(results[0].tls->verified);
}

TEST_F(HostileOrigin, EndlessResponseHeaderHitsTheHeaderLimit) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    std::string header = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; header.size() < 80 * 1024; ++i)
      header += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'a') + "\r\n";
    co_await test::write_text(socket, header);  // and never the blank line
    co_await test::drain(socket);
  });
  ASSERT_EQ(config.header_limit, 32u * 1024) << "the default this test is written for";
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("header exceeds 32768 bytes"));
  EXPECT_EQ(results[0].http_status, 0) << "no status counts from an unfinished header";
}

TEST_F(HostileOrigin, Http09BodyWithoutStatusLineIsHttpError) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    co_await test::write_text(socket, "<html><body>it works</body></html>\n");
    socket.close();
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("malformed"));
  EXPECT_EQ(results[0].http_status, 0);
}

TEST_F(HostileOrigin, StatusOutOfRangeIsHttpError) {
  auto& server = serve([](tcp::socket& socket) {
    return test::http_answer(socket, "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n");
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("999"));
  EXPECT_EQ(results[0].http_status, 0);
}

// A probe reads the header and never the body, so no size an origin announces may turn a good
// answer into a failure: Beast's default 8 MiB body limit is checked against Content-Length as
// soon as the header is parsed, and once made a 2 GiB download `http_error`.
TEST_F(HostileOrigin, AnnouncedBodyOfAnySizeIsNotAFailure) {
  const std::vector<std::string> framings = {
      "Content-Length: 8388609\r\n",     // Beast's default limit plus one
      "Content-Length: 2147483648\r\n",  // a 2 GiB download
      "Content-Length: 4294967296\r\n",  // 4 GiB: past 32 bits
      "Transfer-Encoding: chunked\r\n",
      "Connection: close\r\n",  // no length: the body runs until the close
  };
  for (const std::string scheme : {"http", "https"}) {
    for (const auto& framing : framings) {
      SCOPED_TRACE(scheme + " " + framing);
      const std::string response = "HTTP/1.1 200 OK\r\n" + framing + "\r\n0123456789";
      auto& server = scheme == "https" ? serve_tls(response) : serve([response](tcp::socket& s) {
        return test::http_answer(s, response);
      });
      const auto results = probe(server.url(scheme, "/big.iso"), trusting);
      ASSERT_EQ(results.size(), 1u);
      EXPECT_EQ(outcome_of(results[0]), "ok") << results[0].detail;
      EXPECT_EQ(results[0].http_status, 200);
    }
  }
}

// The evidence readiness reports as a transparent proxy: Via first, else X-Cache; control
// characters of the peer's text never reach the record, and its length is bounded.
TEST_F(HostileOrigin, ViaAndXCacheHeadersAreRecordedBounded) {
  auto& server = serve([](tcp::socket& socket) {
    return test::http_answer(
        socket, "HTTP/1.1 200 OK\r\nX-Cache: MISS from fw\r\nVia: 1.1 fw\t(squid/5.7)" +
                    std::string(500, 'v') + "\r\nContent-Length: 0\r\n\r\n");
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "ok") << results[0].detail;
  EXPECT_THAT(results[0].via, ::testing::StartsWith("Via: 1.1 fw (squid/5.7)vvv"));
  EXPECT_EQ(results[0].via.size(), std::string("Via: ").size() + 200);

  auto& cache = serve([](tcp::socket& socket) {
    return test::http_answer(
        socket, "HTTP/1.1 200 OK\r\nX-Cache: MISS from fw\r\nContent-Length: 0\r\n\r\n");
  });
  EXPECT_EQ(probe(cache.url("http"), trusting).at(0).via, "X-Cache: MISS from fw");
}

// RFC 9110 15.2: a client skips interim 1xx responses (CDNs send 103 Early Hints).
TEST_F(HostileOrigin, InterimResponsesAreSkippedForTheFinalStatus) {
  std::string error;
  ASSERT_TRUE(parse_status_expectation("200-299", config.expect, error)) << error;
  auto& server = serve_tls(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 100 Continue\r\n\r\n" +
      test::http_response(204, "No Content"));
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "ok") << results[0].detail;
  EXPECT_EQ(results[0].http_status, 204);
}

TEST_F(HostileOrigin, HundredContinueStormIsHttpErrorNotAWaitForTheDeadline) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    std::string storm;
    for (int i = 0; i < 10000; ++i) storm += "HTTP/1.1 100 Continue\r\n\r\n";
    boost::system::error_code ec;  // the client hangs up part-way: that is the point
    co_await asio::async_write(socket, asio::buffer(storm),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_await test::drain(socket);
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "http_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("more than 32 interim (1xx) responses"));
}

// Slowloris: a header that never completes, one byte at a time, each well inside any read
// deadline; only the response phase's own deadline ends it.
TEST_F(HostileOrigin, SlowlorisHeaderIsTimeoutInTheResponsePhase) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    co_await test::write_text(socket, "HTTP/1.1 200 OK\r\n");
    asio::steady_timer pace(socket.get_executor());
    for (boost::system::error_code ec; !ec;) {
      pace.expires_after(milliseconds(20));
      co_await pace.async_wait(asio::use_awaitable);
      const char byte = 'x';
      co_await asio::async_write(socket, asio::buffer(&byte, 1),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  });
  const auto results = probe(server.url("http"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("no complete header"));
}

TEST_F(HostileOrigin, TlsAlertInsteadOfServerHelloIsTlsError) {
  auto& server = serve([](tcp::socket& socket) -> asio::awaitable<void> {
    std::array<char, 512> hello{};
    co_await socket.async_read_some(asio::buffer(hello), asio::use_awaitable);
    // A fatal handshake_failure alert record (RFC 8446 6): what a server with no shared cipher
    // or a middlebox that refuses the SNI sends.
    const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    co_await asio::async_write(socket, asio::buffer(alert), asio::use_awaitable);
    co_await test::drain(socket);
  });
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "tls_error") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("handshake failure"));
}

TEST_F(HostileOrigin, ClosedPortIsConnectRefused) {
  std::uint16_t port = 0;
  {
    tcp::acceptor acceptor(io, tcp::endpoint(test::loopback(), 0));
    port = acceptor.local_endpoint().port();
  }
  const auto results = probe("https://127.0.0.1:" + std::to_string(port) + "/", trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "connect_refused") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("refused"));
  EXPECT_THAT(results[0].detail, HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_FALSE(results[0].ms.connect.has_value());
  EXPECT_FALSE(results[0].tls.has_value());
}

TEST_F(HostileOrigin, StatusOutsideExpectationIsUnexpectedStatus) {
  std::string error;
  ASSERT_TRUE(parse_status_expectation("200-299", config.expect, error)) << error;
  auto& server = serve_tls(test::http_response(404, "Not Found"));
  const auto results = probe(server.url("https", "/missing"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "unexpected_status") << results[0].detail;
  EXPECT_EQ(results[0].http_status, 404);
  EXPECT_THAT(results[0].detail, HasSubstr("404"));
  EXPECT_TRUE(results[0].ms.ttfb.has_value());
}

TEST_F(HostileOrigin, StatusInsideExpectationIsOk) {
  std::string error;
  ASSERT_TRUE(parse_status_expectation("200-299,404", config.expect, error)) << error;
  auto& server = serve_tls(test::http_response(404, "Not Found"));
  const auto results = probe(server.url("https"), trusting);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "ok") << results[0].detail;
  EXPECT_EQ(results[0].http_status, 404);
}

TEST_F(HostileOrigin, AbortWhileOriginHangsIsTimeoutWithTheReason) {
  // Generous deadlines: only the abort may end this probe.
  config.timeouts = Timeouts::derived_from(std::chrono::seconds(15));
  ProbeHandle handle;
  auto& server = serve([this, &handle](tcp::socket& socket) -> asio::awaitable<void> {
    co_await test::read_request(socket);
    // The probe is now waiting for the response; abort it from a posted handler.
    asio::post(io, [&handle] { handle.abort("interrupted"); });
    co_await test::drain(socket);
  });
  const auto results = probe(server.url("http"), trusting, [&](ProbeHandle h) { handle = h; });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("interrupted"));
  EXPECT_THAT(results[0].detail, AnyOf(HasSubstr("request"), HasSubstr("response")));
}

TEST_F(HostileOrigin, AbortDuringTlsHandshakeNamesTheTlsPhase) {
  config.timeouts = Timeouts::derived_from(std::chrono::seconds(15));
  ProbeHandle handle;
  auto& server = serve([this, &handle](tcp::socket& socket) -> asio::awaitable<void> {
    std::array<char, 1> first;  // the ClientHello has begun: the probe is in its TLS phase
    co_await asio::async_read(socket, asio::buffer(first), asio::use_awaitable);
    asio::post(io, [&handle] { handle.abort("interrupted"); });
    co_await test::drain(socket);
  });
  const auto results = probe(server.url("https"), trusting, [&](ProbeHandle h) { handle = h; });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("interrupted"));
  EXPECT_THAT(results[0].detail, HasSubstr("tls"));
}

// Sweep::interrupt() can abort probes launched in the same loop turn, before start() ran.
TEST_F(HostileOrigin, AbortBeforeTheProbeRunsStillGivesOneResult) {
  auto& server = serve_tls(test::http_response(200, "OK"));
  const auto results =
      probe(server.url("https"), trusting, [](ProbeHandle h) { h.abort("interrupted"); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(outcome_of(results[0]), "timeout") << results[0].detail;
  EXPECT_THAT(results[0].detail, HasSubstr("interrupted"));
  // A result like any other: its start is recorded, its total is what the probe took.
  EXPECT_NE(results[0].started, std::chrono::system_clock::time_point{});
  EXPECT_LT(results[0].ms.total, 3'600'000.0) << "total is measured from an unset start";
}

TEST_F(HostileOrigin, AbortBeforeTheProbeRunsLeavesNothingPending) {
  // Deadlines far away: if the aborted probe still started its phases, their timer would be
  // pending after every ready handler has run.
  config.timeouts = Timeouts::derived_from(std::chrono::seconds(60));
  auto& server = serve_tls(test::http_response(200, "OK"));
  auto parsed = sheet::parse_target_url(server.url("https"));
  ASSERT_TRUE(std::holds_alternative<sheet::Target>(parsed));
  int calls = 0;
  const ProbeContext context{io, resolver, trusting, config};
  const auto handle = start_probe(context, std::get<sheet::Target>(parsed), route::Route{}, 1,
                                  [&](Result&&) { ++calls; });
  handle.abort("interrupted");
  EXPECT_EQ(calls, 1);
  server.stop();
  io.poll();  // every handler that is ready, and those they make ready: no waiting
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(server.accepted(), 0u) << "an aborted probe must not go on to connect";
  EXPECT_TRUE(io.stopped()) << "the aborted probe left work pending (a deadline timer?)";
  io.stop();
}

// --- exactly once, whatever the byte at which the connection dies ---------------------------
//
// A cut relay (test_servers.hpp) between the probe and a well-behaved origin passes on N bytes
// (both directions together) and then kills the connection, by FIN or by RST. Walking N from 0
// past the whole exchange puts the fault in every phase: mid-ClientHello, mid-certificate,
// mid-request, mid-response-header, and nowhere.

using test::Cut;

using FaultParam = std::tuple<std::string /*scheme*/, std::size_t /*budget*/, Cut>;

class FaultRelay : public HostileOrigin {
 protected:
  // Probes through a relay that allows `budget` bytes; `relayed` is what it passed on.
  std::vector<Result> probe_through_relay(const std::string& scheme, std::size_t budget, Cut how,
                                          std::size_t& relayed) {
    servers.clear();
    auto& origin = scheme == "https"
                       ? serve_tls(test::http_response(200, "OK"))
                       : serve([](tcp::socket& socket) {
                           return test::http_answer(socket, test::http_response(200, "OK"));
                         });
    auto total = std::make_shared<test::Relayed>();
    auto& front = serve([port = origin.port(), budget, how, total](tcp::socket& socket) {
      return test::cut_relay(socket, port, {.budget = budget, .how = how}, total);
    });
    auto results = probe(front.url(scheme), trusting);
    relayed = total->total();
    return results;
  }

  // The same exchange without a fault: how many bytes a complete probe needs.
  std::size_t bytes_needed(const std::string& scheme) {
    std::size_t needed = 0;
    const auto clean = probe_through_relay(scheme, std::size_t(1) << 30, Cut::fin, needed);
    EXPECT_EQ(clean.size(), 1u);
    if (!clean.empty()) {
      EXPECT_EQ(outcome_of(clean[0]), "ok") << clean[0].detail;
    }
    EXPECT_GT(needed, 0u);
    return needed;
  }

  static Matcher<std::string> failures(const std::string& scheme) {
    return scheme == "https" ? Matcher<std::string>(AnyOf("tls_error", "http_error"))
                             : Matcher<std::string>(Eq("http_error"));
  }

  // TLS signatures vary by a few bytes from one handshake to the next.
  static constexpr std::size_t kSlack = 16;

  // Checks one faulted probe; returns its outcome.
  std::string check_faulted(const std::string& scheme, std::size_t budget, Cut how,
                            std::size_t needed) {
    std::size_t relayed = 0;
    const auto results = probe_through_relay(scheme, budget, how, relayed);
    EXPECT_EQ(results.size(), 1u);
    if (results.empty()) return "";
    const Result& r = results[0];
    const std::string outcome = outcome_of(r);
    SCOPED_TRACE(scheme + ", cut after " + std::to_string(budget) + " of " +
                 std::to_string(needed) + " bytes by " + (how == Cut::fin ? "FIN" : "RST") + ": " +
                 outcome + ": " + r.detail);
    if (budget + kSlack < needed) {
      EXPECT_THAT(outcome, failures(scheme));
      EXPECT_FALSE(r.detail.empty());
      EXPECT_EQ(r.http_status, 0);
    } else if (budget >= needed + kSlack) {
      EXPECT_EQ(outcome, "ok");
    } else {
      EXPECT_THAT(outcome, AnyOf(Eq("ok"), failures(scheme)));
    }
    EXPECT_NE(outcome, "timeout") << "a closed connection is never a timeout";
    return outcome;
  }
};

class FaultAtEveryByte : public FaultRelay, public ::testing::WithParamInterface<FaultParam> {};

TEST_P(FaultAtEveryByte, EndsInExactlyOneResultOfTheExpectedKind) {
  const auto& [scheme, budget, how] = GetParam();
  const std::size_t needed = bytes_needed(scheme);
  check_faulted(scheme, budget, how, needed);
}

// The whole exchange, cut at every byte (every few for TLS), alternating FIN and RST: each cut
// ends in one result, and between them the cuts reach every phase.
TEST_F(FaultRelay, CutAtEveryPositionEndsInOneResultEachAndReachesEveryPhase) {
  for (const std::string scheme : {"http", "https"}) {
    const std::size_t needed = bytes_needed(scheme);
    const std::size_t step = scheme == "https" ? 7 : 1;
    std::map<std::string, int> seen;
    for (std::size_t budget = 0; budget <= needed + 2 * kSlack; budget += step) {
      ++seen[check_faulted(scheme, budget, budget % 2 ? Cut::rst : Cut::fin, needed)];
      if (HasFailure()) return;  // one position's story is enough
    }
    SCOPED_TRACE(scheme);
    if (scheme == "https") {
      EXPECT_GT(seen["tls_error"], 0);
    }
    EXPECT_GT(seen["http_error"], 0);
    EXPECT_GT(seen["ok"], 0);
  }
}

std::string fault_name(const ::testing::TestParamInfo<FaultParam>& info) {
  const auto& [scheme, budget, how] = info.param;
  return scheme + "_" + (budget >= (std::size_t(1) << 20) ? "all" : std::to_string(budget)) +
         "_bytes_then_" + (how == Cut::fin ? "fin" : "rst");
}

INSTANTIATE_TEST_SUITE_P(Https, FaultAtEveryByte,
                         ::testing::Combine(::testing::Values("https"),
                                            ::testing::Values(0, 1, 5, 50, 200, 400, 600, 800, 1000,
                                                              1200, 1400, 1600, 1800, 2000, 2500,
                                                              3000, 4000, std::size_t(1) << 20),
                                            ::testing::Values(Cut::fin, Cut::rst)),
                         fault_name);

INSTANTIATE_TEST_SUITE_P(Http, FaultAtEveryByte,
                         ::testing::Combine(::testing::Values("http"),
                                            ::testing::Values(0, 1, 20, 60, 100, 130, 160, 180, 200,
                                                              220, 250, 300, std::size_t(1) << 20),
                                            ::testing::Values(Cut::fin, Cut::rst)),
                         fault_name);

}  // namespace
}  // namespace urlprobe::probe
