// In-process servers for probe tests: a self-signed certificate made at runtime, a TCP server
// that runs one coroutine per connection, and the building blocks of hostile origins.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace urlprobe::test {

namespace asio = boost::asio;
using asio::ip::tcp;

inline asio::ip::address loopback(int last_octet = 1) {
  return asio::ip::make_address_v4(asio::ip::address_v4::uint_type{0x7f000000u} |
                                   static_cast<unsigned>(last_octet));
}

struct CertSpec {
  std::string common_name = "urlprobe test origin";
  std::string subject_alt_names = "IP:127.0.0.1,DNS:localhost";
  long not_before_seconds = -3600;  // relative to now
  long not_after_seconds = 24 * 3600;
};

// A self-signed EC certificate (by default for IP 127.0.0.1 and DNS localhost, valid from an hour
// ago for a day) with its key; written as PEM to a temporary file that a client can trust as
// --ca-file.
class SelfSignedCert {
 public:
  explicit SelfSignedCert(const CertSpec& spec = {}) {
    static long serial = 0;
    key_ = EVP_EC_gen("P-256");
    if (!key_) throw std::runtime_error("EVP_EC_gen failed");
    cert_ = X509_new();
    X509_set_version(cert_, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), static_cast<long>(::getpid()) * 100 + ++serial);
    X509_gmtime_adj(X509_getm_notBefore(cert_), spec.not_before_seconds);
    X509_gmtime_adj(X509_getm_notAfter(cert_), spec.not_after_seconds);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("urlprobe tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert_, name);
    add_extension(NID_basic_constraints, "critical,CA:TRUE");
    add_extension(NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(NID_subject_key_identifier, "hash");
    add_extension(NID_subject_alt_name, spec.subject_alt_names.c_str());
    if (X509_sign(cert_, key_, EVP_sha256()) <= 0) throw std::runtime_error("X509_sign failed");

    std::string pattern = "/tmp/urlprobe-test-ca-XXXXXX.pem";
    const int fd = ::mkstemps(pattern.data(), 4);
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    ca_file_ = pattern;
    FILE* file = ::fdopen(fd, "w");
    if (!file || PEM_write_X509(file, cert_) != 1) throw std::runtime_error("cannot write CA PEM");
    std::fclose(file);
  }
  ~SelfSignedCert() {
    if (!ca_file_.empty()) std::remove(ca_file_.c_str());
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  SelfSignedCert(const SelfSignedCert&) = delete;
  SelfSignedCert& operator=(const SelfSignedCert&) = delete;

  const std::string& ca_file() const { return ca_file_; }

  // A TLS server context serving this certificate.
  std::unique_ptr<asio::ssl::context> server_context() const {
    auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    if (SSL_CTX_use_certificate(context->native_handle(), cert_) != 1 ||
        SSL_CTX_use_PrivateKey(context->native_handle(), key_) != 1)
      throw std::runtime_error("cannot load the test certificate into the server context");
    return context;
  }

 private:
  void add_extension(int nid, const char* value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert_, cert_, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (!ext || X509_add_ext(cert_, ext, -1) != 1)
      throw std::runtime_error(std::string("cannot add extension ") + value);
    X509_EXTENSION_free(ext);
  }

  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string ca_file_;
};

// One certificate per test binary: generating it is cheap, but there is no need to repeat it.
inline const SelfSignedCert& test_cert() {
  static const SelfSignedCert cert;
  return cert;
}

// A TCP server on an ephemeral port that runs `Behaviour` on every accepted connection, on the
// io_context it was given. stop() closes the acceptor and every connection, so all of its
// coroutines end and the event loop can run out of work.
class TestServer {
 public:
  using Behaviour = std::function<asio::awaitable<void>(tcp::socket&)>;

  TestServer(asio::io_context& io, Behaviour behaviour, asio::ip::address address = loopback())
      : acceptor_(io, tcp::endpoint(address, 0)) {
    asio::co_spawn(io, accept_loop(std::move(behaviour)), asio::detached);
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() { stop(); }

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& scheme, const std::string& path = "/") const {
    return scheme + "://" + address_ + ":" + std::to_string(port_) + path;
  }
  std::size_t accepted() const { return accepted_; }
  // Connections whose behaviour has not ended yet.
  std::size_t active() const {
    return static_cast<std::size_t>(
        std::count_if(connections_.begin(), connections_.end(),
                      [](const auto& weak) { return !weak.expired(); }));
  }

  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : connections_)
      if (auto socket = weak.lock()) socket->close(ignored);
    connections_.clear();
  }

 private:
  asio::awaitable<void> accept_loop(Behaviour behaviour) {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++accepted_;
      // No Nagle: a TLS server writes its flight in pieces, and the client's delayed ACK would
      // hold each test back by 40 ms.
      socket.set_option(tcp::no_delay(true), ec);
      auto shared = std::make_shared<tcp::socket>(std::move(socket));
      std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
      connections_.push_back(shared);
      asio::co_spawn(acceptor_.get_executor(), serve(shared, behaviour), asio::detached);
    }
  }

  // Hostile servers end in errors all the time (resets, aborted reads): none of it matters.
  static asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket, Behaviour behaviour) {
    try {
      co_await behaviour(*socket);
    } catch (const std::exception&) {
    }
  }

  tcp::acceptor acceptor_;
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::string address_ = acceptor_.local_endpoint().address().to_string();
  std::size_t accepted_ = 0;
  std::vector<std::weak_ptr<tcp::socket>> connections_;
};

// --- building blocks for behaviours -------------------------------------------------------

// Reads up to the end of a request header; returns what was read.
template <class Stream>
asio::awaitable<std::string> read_request(Stream& stream) {
  std::string request;
  co_await asio::async_read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n",
                                  asio::use_awaitable);
  co_return request;
}

// Reads (and throws away) until the peer closes or the connection is closed under us.
template <class Stream>
asio::awaitable<void> drain(Stream& stream) {
  std::array<char, 4096> sink;
  for (;;) {
    auto [ec, n] =
        co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// Ends the connection with a TCP reset instead of a FIN.
inline void reset(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

inline asio::awaitable<void> write_text(tcp::socket& socket, std::string text) {
  co_await asio::async_write(socket, asio::buffer(text), asio::use_awaitable);
}

// Plain HTTP: read a request, send `response` verbatim, then keep the connection open until the
// client closes it.
inline asio::awaitable<void> http_answer(tcp::socket& socket, std::string response) {
  co_await read_request(socket);
  co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
  co_await drain(socket);
}

// TLS: handshake, read a request, send `response`, keep the connection until the client goes.
inline asio::awaitable<void> tls_answer(tcp::socket& socket, asio::ssl::context& context,
                                        std::string response) {
  asio::ssl::stream<tcp::socket&> tls(socket, context);
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
  co_await read_request(tls);
  co_await asio::async_write(tls, asio::buffer(response), asio::use_awaitable);
  co_await drain(tls);
}

// An io_context on a thread of its own for servers, while the code under test runs its own loops.
class ServerThread {
 public:
  ServerThread() : thread_([this] { io.run(); }) {}
  ~ServerThread() { stop(); }
  // Runs `fn` on the server thread and waits for it.
  void call(std::function<void()> fn) {
    std::promise<void> done;
    asio::post(io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    io.stop();
    thread_.join();
  }
  asio::io_context io{1};

 private:
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io);
  std::thread thread_;
};

// "The probe ended before its deadline plus a margin", told by loop order, not by a clock: a
// timer armed on the probe's loop when the probe starts, expiring MARGIN after the probe's own
// total deadline, must still be pending when the result arrives. The probe's deadline timer
// expires first, so a probe that honours it always wins, however loaded the machine.
class DeadlineWitness {
 public:
  static constexpr std::chrono::milliseconds kMargin{1000};
  DeadlineWitness(asio::io_context& io, std::chrono::milliseconds deadline) : timer_(io) {
    timer_.expires_after(deadline + kMargin);
    timer_.async_wait([fired = fired_](boost::system::error_code ec) { *fired = !ec; });
  }
  // From the result handler: true when the probe ended in time; stops the witness.
  bool on_time() {
    timer_.cancel();
    return !*fired_;
  }

 private:
  std::shared_ptr<bool> fired_ = std::make_shared<bool>(false);
  asio::steady_timer timer_;
};

inline std::string http_response(int status, const std::string& reason) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok";
}

// --- building blocks for proxies ------------------------------------------------------------

// Reads exactly `n` bytes (SOCKS5 messages have no terminator).
template <class Stream>
asio::awaitable<std::string> read_exactly(Stream& stream, std::size_t n) {
  std::string bytes(n, '\0');
  co_await asio::async_read(stream, asio::buffer(bytes), asio::use_awaitable);
  co_return bytes;
}

// Writes `text` one byte per write: on an accepted socket (TCP_NODELAY) one segment per byte.
template <class Stream>
asio::awaitable<void> write_bytewise(Stream& stream, std::string text) {
  for (const char& byte : text)
    co_await asio::async_write(stream, asio::buffer(&byte, 1), asio::use_awaitable);
}

// One direction of a relay: copies until `from` ends, then passes the end on as a FIN on
// `to_socket` (the TCP socket under `to`), so bytes already relayed are not lost to a reset.
template <class From, class To>
asio::awaitable<void> relay_one_way(From& from, To& to, tcp::socket& to_socket) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [ec, n] =
        co_await from.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                                                          asio::as_tuple(asio::use_awaitable));
    if (write_ec) break;
  }
  boost::system::error_code ignored;
  to_socket.shutdown(tcp::socket::shutdown_send, ignored);
}

// A proxy's tunnel: relays both ways between the client (a socket, or TLS over `client_socket`)
// and `upstream` until both directions have ended.
template <class Client>
asio::awaitable<void> splice(Client& client, tcp::socket& client_socket, tcp::socket& upstream) {
  using namespace asio::experimental::awaitable_operators;
  co_await (relay_one_way(client, upstream, upstream) &&
            relay_one_way(upstream, client, client_socket));
  boost::system::error_code ignored;
  upstream.close(ignored);
}

// Connects to an in-process server on the loopback address.
inline asio::awaitable<tcp::socket> connect_loopback(const asio::any_io_executor& executor,
                                                     std::uint16_t port) {
  tcp::socket socket(executor);
  co_await socket.async_connect(tcp::endpoint(loopback(), port), asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  co_return socket;
}

// --- cutting a connection at a chosen byte ----------------------------------------------------
//
// Beast's fail_count idea at the transport: a relay in front of a well-behaved server passes on
// a budget of bytes and then kills both of its connections, by FIN or by RST. Walking the budget
// from 0 past the whole exchange puts the fault in every phase.

enum class Cut { fin, rst };

// Which bytes the budget counts. `both`: the two directions together, and the cut comes as soon
// as the budget is spent. One direction: the far side receives exactly `budget` bytes of it, and
// the cut comes when the next byte of that direction reaches the relay; the other direction
// flows freely. So a cut at byte N of the server's bytes is a cut at byte N, whatever the
// client was doing meanwhile.
enum class Counted { both, to_server, to_client };

struct CutPlan {
  std::size_t budget = 0;
  Cut how = Cut::fin;
  Counted counted = Counted::both;
};

// What a relay passed on, each way (kept up to date while it runs).
struct Relayed {
  std::size_t to_server = 0, to_client = 0;
  std::size_t total() const { return to_server + to_client; }
};

namespace detail {

struct CutState {
  CutState(CutPlan p, std::shared_ptr<Relayed> r)
      : plan(p), remaining(p.budget), relayed(std::move(r)) {}
  bool counts(bool to_server) const {
    return plan.counted == Counted::both || (plan.counted == Counted::to_server) == to_server;
  }
  CutPlan plan;
  std::size_t remaining;
  std::shared_ptr<Relayed> relayed;
  bool cut = false;
};

// Only the client's end is the fault under test. The server's end is reset whatever `how` is:
// the relay is the connecting side there, and a FIN would leave one of this machine's ephemeral
// ports in TIME_WAIT for a minute per cut, which a walk of thousands of cuts would run out of.
inline void cut_connection(tcp::socket& client, tcp::socket& server, CutState& state, Cut how) {
  if (state.cut) return;
  state.cut = true;
  boost::system::error_code ignored;
  if (how == Cut::rst) {
    reset(client);
  } else {
    client.shutdown(tcp::socket::shutdown_both, ignored);
    client.close(ignored);
  }
  reset(server);
}

inline asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, bool to_server,
                                  tcp::socket& client, tcp::socket& server, CutState& state) {
  const bool counted = state.counts(to_server);
  std::size_t& passed = to_server ? state.relayed->to_server : state.relayed->to_client;
  std::array<char, 8192> buffer;
  bool spent = false;
  while (!state.cut) {
    if (counted && state.plan.counted == Counted::both && state.remaining == 0) {
      spent = true;
      break;
    }
    auto [ec, n] =
        co_await from.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    if (counted) {
      if (n > state.remaining) {
        n = state.remaining;
        spent = true;
      }
      state.remaining -= n;
    }
    passed += n;
    if (n > 0) {
      auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                                                            asio::as_tuple(asio::use_awaitable));
      if (write_ec) break;
    }
    if (spent) break;
  }
  // Budget spent, or one side went away: the other side goes too.
  cut_connection(client, server, state, spent ? state.plan.how : Cut::fin);
}

}  // namespace detail

// Relays between an accepted `client` and the loopback server on `server_port` as `plan` says,
// recording in `relayed` what it passed on.
inline asio::awaitable<void> cut_relay(tcp::socket& client, std::uint16_t server_port, CutPlan plan,
                                       std::shared_ptr<Relayed> relayed) {
  using namespace asio::experimental::awaitable_operators;
  tcp::socket server(client.get_executor());
  detail::CutState state(plan, std::move(relayed));
  if (plan.counted == Counted::both && plan.budget == 0) {
    detail::cut_connection(client, server, state, plan.how);
    co_return;
  }
  co_await server.async_connect(tcp::endpoint(loopback(), server_port), asio::use_awaitable);
  server.set_option(tcp::no_delay(true));
  co_await (detail::pump(client, server, true, client, server, state) &&
            detail::pump(server, client, false, client, server, state));
}

// Puts RLIMIT_NOFILE back as it found it when it goes out of scope, however the test leaves
// (a fatal assertion returns early): the tests that follow in the binary must not inherit a
// limit one test lowered or raised.
class FileLimitGuard {
 public:
  FileLimitGuard() : saved_ok_(::getrlimit(RLIMIT_NOFILE, &saved_) == 0) {}
  ~FileLimitGuard() {
    if (saved_ok_) ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FileLimitGuard(const FileLimitGuard&) = delete;
  FileLimitGuard& operator=(const FileLimitGuard&) = delete;
  bool saved() const { return saved_ok_; }
  const rlimit& limit() const { return saved_; }

 private:
  rlimit saved_{};
  bool saved_ok_;
};

}  // namespace urlprobe::test
