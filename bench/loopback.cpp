#include "loopback.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace urlprobe::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

[[noreturn]] void openssl_fail(const char* what) {
  char text[256] = "";
  ERR_error_string_n(ERR_get_error(), text, sizeof text);
  throw std::runtime_error(std::string(what) + ": " + text);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1) openssl_fail("X509_add_ext");
  X509_EXTENSION_free(ext);
}

double clock_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace

double thread_cpu_seconds() {
  return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

ThreadUsage thread_usage() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {static_cast<double>(usage.ru_stime.tv_sec) +
              static_cast<double>(usage.ru_stime.tv_usec) * 1e-6,
          static_cast<std::uint64_t>(usage.ru_nvcsw + usage.ru_nivcsw)};
}

TestCert::TestCert() : server_(ssl::context::tls_server) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) openssl_fail("EVP_EC_gen");
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  std::int64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), serial & 0x7fffffffffffffff);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("urlprobe bench 127.0.0.1"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  add_extension(cert, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert, NID_ext_key_usage, "serverAuth");
  add_extension(cert, NID_subject_key_identifier, "hash");
  add_extension(cert, NID_subject_alt_name, "IP:127.0.0.1");
  if (X509_sign(cert, key, EVP_sha256()) == 0) openssl_fail("X509_sign");

  char path[] = "/tmp/urlprobe-bench-ca-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  std::FILE* file = fdopen(fd, "w");
  if (!file || PEM_write_X509(file, cert) != 1) openssl_fail("PEM_write_X509");
  std::fclose(file);
  pem_path_ = path;

  SSL_CTX* ctx = server_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);  // TLS 1.3 would otherwise still send (stateful) tickets
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    openssl_fail("server certificate");
  X509_free(cert);
  EVP_PKEY_free(key);
}

TestCert::~TestCert() {
  std::remove(pem_path_.c_str());
}

// A listening socket on 127.0.0.1 and a thread of its own that serves it: what every in-process
// peer here shares. Each accepted connection (TCP_NODELAY set) goes to `on_socket` on that thread.
class AcceptLoop {
 public:
  void start(std::function<void(tcp::socket)> on_socket) {
    on_socket_ = std::move(on_socket);
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    port = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io.run(); });
    pthread_getcpuclockid(thread_.native_handle(), &cpu_clock);
  }

  ~AcceptLoop() {
    if (!thread_.joinable()) return;
    asio::post(io, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io.stop();
    });
    thread_.join();
  }

  asio::io_context io{1};
  std::uint16_t port = 0;
  clockid_t cpu_clock{};

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        on_socket_(std::move(socket));
      }
      accept();
    });
  }

  tcp::acceptor acceptor_{io};
  std::thread thread_;
  std::function<void(tcp::socket)> on_socket_;
};

struct LoopbackServer::Impl {
  explicit Impl(ssl::context* tls_context) : tls(tls_context) {
    loop.start([this](tcp::socket socket) { serve(std::move(socket)); });
  }

  // Reads the request up to the blank line, writes the canned answer, closes.
  template <class Stream>
  struct Session : std::enable_shared_from_this<Session<Stream>> {
    template <class... Args>
    Session(Impl& server, Args&&... args) : server(server), stream(std::forward<Args>(args)...) {}

    void read() {
      stream.async_read_some(
          asio::buffer(buffer),
          [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (ec) return self->fail();
            self->request.append(self->buffer.data(), n);
            if (self->request.find("\r\n\r\n") == std::string::npos) return self->read();
            self->respond();
          });
    }
    void respond() {
      asio::async_write(
          stream, asio::buffer(kResponse),
          [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->fail();
            self->server.served.fetch_add(1, std::memory_order_relaxed);
            boost::system::error_code ignored;
            self->socket().close(ignored);
          });
    }
    void fail() {
      server.errors.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      socket().close(ignored);
    }
    tcp::socket& socket() {
      if constexpr (std::is_same_v<Stream, tcp::socket>)
        return stream;
      else
        return stream.next_layer();
    }

    Impl& server;
    Stream stream;
    std::array<char, 2048> buffer;
    std::string request;
  };

  void serve(tcp::socket socket) {
    if (tls) {
      auto session =
          std::make_shared<Session<ssl::stream<tcp::socket>>>(*this, std::move(socket), *tls);
      session->stream.async_handshake(ssl::stream_base::server,
                                      [session](boost::system::error_code ec) {
                                        if (ec) return session->fail();
                                        session->read();
                                      });
    } else {
      std::make_shared<Session<tcp::socket>>(*this, std::move(socket))->read();
    }
  }

  ssl::context* tls;
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::uint64_t> errors{0};
  AcceptLoop loop;  // last: its thread stops before the counters the sessions use go away
};

LoopbackServer::LoopbackServer(ssl::context* tls) : impl_(std::make_unique<Impl>(tls)) {}
LoopbackServer::~LoopbackServer() = default;
std::uint16_t LoopbackServer::port() const {
  return impl_->loop.port;
}
std::uint64_t LoopbackServer::served() const {
  return impl_->served.load();
}
std::uint64_t LoopbackServer::errors() const {
  return impl_->errors.load();
}
double LoopbackServer::cpu_seconds() const {
  return clock_seconds(impl_->loop.cpu_clock);
}

// ---------------------------------------------------------------------------------------------
// TunnelProxy

struct TunnelProxy::Impl {
  explicit Impl(Protocol protocol) : protocol(protocol) {
    loop.start([this](tcp::socket socket) { serve(std::move(socket)); });
  }

  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl& proxy, tcp::socket socket)
        : proxy(proxy), client(std::move(socket)), upstream(proxy.loop.io) {}

    // ---- HTTP CONNECT ----------------------------------------------------------------------

    void read_connect_request() {
      client.async_read_some(
          asio::buffer(to_upstream),
          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (ec) return self->fail();
            self->request.append(self->to_upstream.data(), n);
            const auto end = self->request.find("\r\n\r\n");
            if (end != std::string::npos) return self->on_connect_request(end + 4);
            if (self->request.size() > 8192)
              return self->refuse_http("431 Request Header Fields Too Large");
            self->read_connect_request();
          });
    }

    // "CONNECT 127.0.0.1:PORT HTTP/1.1"; the header fields that follow are read and ignored.
    void on_connect_request(std::size_t header_size) {
      const std::string_view head(request);
      const std::string_view line = head.substr(0, head.find("\r\n"));
      const auto sp1 = line.find(' '), sp2 = line.rfind(' ');
      if (sp1 == std::string_view::npos || sp2 == sp1) return refuse_http("400 Bad Request");
      const auto method = line.substr(0, sp1);
      const auto authority = line.substr(sp1 + 1, sp2 - sp1 - 1);
      if (!line.substr(sp2 + 1).starts_with("HTTP/1.")) return refuse_http("400 Bad Request");
      if (method != "CONNECT") return refuse_http("405 Method Not Allowed");
      const auto colon = authority.rfind(':');
      if (colon == std::string_view::npos) return refuse_http("400 Bad Request");
      const auto port_text = authority.substr(colon + 1);
      std::uint16_t target_port = 0;
      const auto [end, err] =
          std::from_chars(port_text.data(), port_text.data() + port_text.size(), target_port);
      if (err != std::errc() || end != port_text.data() + port_text.size() || target_port == 0)
        return refuse_http("400 Bad Request");
      if (authority.substr(0, colon) != "127.0.0.1") return refuse_http("403 Forbidden");
      early = request.substr(header_size);  // sent before our reply: forwarded once connected
      connect_upstream(target_port, [self = shared_from_this()](bool connected) {
        if (!connected) return self->refuse_http("502 Bad Gateway");
        self->reply = "HTTP/1.1 200 Connection established\r\n\r\n";
        asio::async_write(self->client, asio::buffer(self->reply),
                          [self](boost::system::error_code ec, std::size_t) {
                            if (ec) return self->fail();
                            self->established();
                          });
      });
    }

    void refuse_http(std::string_view status) {
      reply = fmt_status(status);
      finish_with_reply();
    }
    static std::string fmt_status(std::string_view status) {
      return "HTTP/1.1 " + std::string(status) +
             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }

    // ---- SOCKS5 (RFC 1928) -----------------------------------------------------------------

    void read_socks_greeting() {  // VER NMETHODS METHODS...
      asio::async_read(client, asio::buffer(socks, 2),
                       [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                         if (ec || self->socks[0] != 5 || self->socks[1] == 0) return self->fail();
                         asio::async_read(
                             self->client, asio::buffer(self->socks, self->socks[1]),
                             [self](boost::system::error_code ec, std::size_t n) {
                               if (ec) return self->fail();
                               const bool no_auth =
                                   std::find(self->socks.begin(), self->socks.begin() + n, 0) !=
                                   self->socks.begin() + n;
                               if (!no_auth) {
                                 self->reply.assign("\x05\xFF", 2);
                                 return self->finish_with_reply();
                               }
                               self->reply.assign("\x05\x00", 2);
                               asio::async_write(self->client, asio::buffer(self->reply),
                                                 [self](boost::system::error_code ec, std::size_t) {
                                                   if (ec) return self->fail();
                                                   self->read_socks_request();
                                                 });
                             });
                       });
    }

    void read_socks_request() {  // VER CMD RSV ATYP, then DST.ADDR DST.PORT
      asio::async_read(
          client, asio::buffer(socks, 4),
          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec || self->socks[0] != 5) return self->fail();
            if (self->socks[1] != 1) return self->refuse_socks(7);  // only CONNECT
            if (self->socks[3] != 1) return self->refuse_socks(8);  // only IPv4
            asio::async_read(
                self->client, asio::buffer(self->socks, 6),
                [self](boost::system::error_code ec, std::size_t) {
                  if (ec) return self->fail();
                  const auto& b = self->socks;
                  if (!(b[0] == 127 && b[1] == 0 && b[2] == 0 && b[3] == 1))
                    return self->refuse_socks(2);
                  const auto target_port = static_cast<std::uint16_t>(b[4] << 8 | b[5]);
                  self->connect_upstream(target_port, [self](bool connected) {
                    if (!connected) return self->refuse_socks(5);
                    boost::system::error_code ignored;
                    const auto bound = self->upstream.local_endpoint(ignored);
                    const auto address = bound.address().to_v4().to_bytes();
                    self->reply.assign("\x05\x00\x00\x01", 4);
                    self->reply.append(reinterpret_cast<const char*>(address.data()), 4);
                    self->reply += static_cast<char>(bound.port() >> 8);
                    self->reply += static_cast<char>(bound.port() & 0xFF);
                    asio::async_write(self->client, asio::buffer(self->reply),
                                      [self](boost::system::error_code ec, std::size_t) {
                                        if (ec) return self->fail();
                                        self->established();
                                      });
                  });
                });
          });
    }

    void refuse_socks(unsigned char code) {
      reply.assign("\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
      reply[1] = static_cast<char>(code);
      finish_with_reply();
    }

    // ---- both ------------------------------------------------------------------------------

    template <class Done>
    void connect_upstream(std::uint16_t target_port, Done done) {
      upstream.async_connect(
          tcp::endpoint(asio::ip::address_v4::loopback(), target_port),
          [self = shared_from_this(), done = std::move(done)](boost::system::error_code ec) {
            if (!ec) self->upstream.set_option(tcp::no_delay(true), ec);
            done(!ec);
          });
    }

    // Writes `reply` (a refusal), counts an error, closes.
    void finish_with_reply() {
      asio::async_write(
          client, asio::buffer(reply),
          [self = shared_from_this()](boost::system::error_code, std::size_t) { self->fail(); });
    }

    void established() {
      proxy.tunnels.fetch_add(1, std::memory_order_relaxed);
      if (early.empty()) return relay();
      asio::async_write(upstream, asio::buffer(early),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->relay();
                        });
    }

    void relay() {
      pump(client, upstream, to_upstream);
      pump(upstream, client, to_client);
    }

    // One direction: read some, write it all, repeat. The first end (EOF, reset, error) on
    // either side closes both sockets, which also ends the other direction's pending read.
    void pump(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer) {
      from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                     boost::system::error_code ec, std::size_t n) {
        if (ec) return self->close();
        asio::async_write(to, asio::buffer(buffer.data(), n),
                          [self, &from, &to, &buffer](boost::system::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->pump(from, to, buffer);
                          });
      });
    }

    void fail() {
      proxy.errors.fetch_add(1, std::memory_order_relaxed);
      close();
    }
    void close() {
      boost::system::error_code ignored;
      client.close(ignored);
      upstream.close(ignored);
    }

    Impl& proxy;
    tcp::socket client, upstream;
    std::array<char, 16384> to_upstream, to_client;
    std::array<unsigned char, 256> socks;
    std::string request, early, reply;
  };

  void serve(tcp::socket socket) {
    auto session = std::make_shared<Session>(*this, std::move(socket));
    if (protocol == Protocol::http_connect)
      session->read_connect_request();
    else
      session->read_socks_greeting();
  }

  Protocol protocol;
  std::atomic<std::uint64_t> tunnels{0};
  std::atomic<std::uint64_t> errors{0};
  AcceptLoop loop;  // last: its thread stops before the counters the sessions use go away
};

TunnelProxy::TunnelProxy(Protocol protocol) : impl_(std::make_unique<Impl>(protocol)) {}
TunnelProxy::~TunnelProxy() = default;
std::uint16_t TunnelProxy::port() const {
  return impl_->loop.port;
}
std::uint64_t TunnelProxy::tunnels() const {
  return impl_->tunnels.load();
}
std::uint64_t TunnelProxy::errors() const {
  return impl_->errors.load();
}
double TunnelProxy::cpu_seconds() const {
  return clock_seconds(impl_->loop.cpu_clock);
}

}  // namespace urlprobe::bench
