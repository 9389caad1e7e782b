// One stream type for every layer a probe stacks: TCP, TLS to a proxy, a tunnel, TLS to the
// origin. TLS and HTTP code is then written (and compiled) once, whatever is underneath.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <array>
#include <memory>
#include <span>
#include <string>

typedef struct ssl_st SSL;

namespace urlprobe::net {

class ByteStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  virtual ~ByteStream() = default;
  virtual executor_type get_executor() = 0;

  // Bytes that arrived early (after a proxy's reply header) are served before the wire's.
  void unread(std::string bytes) { pending_ = std::move(bytes) + pending_; }

  // Reads up to `max` bytes into `into` (replacing what it held, sized to what came), holding
  // no buffer while it waits where the layer allows: across a WAN most of a probe's life is
  // waiting, and thousands in flight each holding a read buffer was most of their memory.
  // `into` must outlive the operation.
  void read_when_ready(std::string& into, std::size_t max, Handler handler);

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::mutable_buffer buffer) {
          read(buffer, Handler(std::move(handler)));
        },
        token, first_of<boost::asio::mutable_buffer>(buffers));
  }

  // Beast hands over a header as many small buffers: they go down together (one segment on the
  // wire), up to kGather of them.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && n < kGather; ++it)
      if (boost::asio::const_buffer b(*it); b.size() > 0) gather_[n++] = b;
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this, n](auto handler) {
          write_some(std::span(gather_.data(), n), Handler(std::move(handler)));
        },
        token);
  }

 protected:
  virtual void read_some(boost::asio::mutable_buffer buffer, Handler handler) = 0;
  // One write at a time per stream (as for any Asio stream), so `buffers` may point at gather_.
  virtual void write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) = 0;
  // read_when_ready once nothing is pending; by default through a buffer of `max` bytes.
  virtual void wait_then_read(std::string& into, std::size_t max, Handler handler);

 private:
  // A *_some operation may transfer less than asked: the first non-empty buffer is enough.
  template <class Buffer, class Sequence>
  static Buffer first_of(const Sequence& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (Buffer b(*it); b.size() > 0) return b;
    return Buffer();
  }

  void read(boost::asio::mutable_buffer buffer, Handler handler);

  static constexpr std::size_t kGather = 16;
  std::array<boost::asio::const_buffer, kGather> gather_;
  std::string pending_;
};

// The bottom layer: a TCP socket owned elsewhere (the probe closes it to abort everything).
class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(boost::asio::ip::tcp::socket& socket) : socket_(socket) {}
  executor_type get_executor() override { return socket_.get_executor(); }

 protected:
  void read_some(boost::asio::mutable_buffer buffer, Handler handler) override;
  void write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) override;
  // Waits for readability, then reads what arrived through this thread's scratch buffer.
  void wait_then_read(std::string& into, std::size_t max, Handler handler) override;

 private:
  boost::asio::ip::tcp::socket& socket_;
};

// TLS over any ByteStream: to an HTTPS proxy, or to the origin (possibly inside a tunnel).
// OpenSSL reads and writes ciphertext through a BIO of ours, so what a connection holds beyond
// OpenSSL's own state is only the ciphertext in flight: Asio's ssl::stream kept two zero-filled
// 17 KB buffers plus a 2 x 17 KB BIO pair per connection, the largest part of a probe's memory.
// Error codes are asio::ssl's (the SSL category, stream_truncated, eof), so callers classify
// failures as they would for asio::ssl::stream. One operation at a time, as the probe and the
// tunnel code use a stream: write, then read.
class TlsStream final : public ByteStream {
 public:
  using HandshakeHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  // Never throws: streams are made inside completion handlers, where an exception would unwind
  // the event loop. When OpenSSL cannot make the session (out of memory), native_handle() is
  // null, error() says what failed, and the stream must not be used.
  TlsStream(ByteStream& below, boost::asio::ssl::context& context);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() override { return below_.get_executor(); }
  SSL* native_handle() { return ssl_; }
  const std::string& error() const { return error_; }
  // The client handshake; the caller has set SNI and verification (prepare_client_session).
  void async_handshake(HandshakeHandler handler);

 protected:
  void read_some(boost::asio::mutable_buffer buffer, Handler handler) override;
  void write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) override;

 private:
  struct Op;
  friend struct WireBio;
  void step(Op op, bool initiating);
  void complete(Op op, boost::system::error_code ec, std::size_t n, bool initiating);
  void flush_then(Op op, bool finished, boost::system::error_code ec, std::size_t n);
  void fill_then(Op op);
  boost::system::error_code at_end_of_input(boost::system::error_code ec) const;

  ByteStream& below_;
  SSL* ssl_ = nullptr;
  // Ciphertext from below not yet taken by OpenSSL, freed once taken.
  std::string in_;
  std::size_t in_begin_ = 0;
  std::string out_;     // ciphertext OpenSSL produced, not yet written below
  std::string joined_;  // a gathered write, as one TLS record
  std::string error_;   // why there is no session
};

// An I/O error as a detail names it: "connection reset by peer", "connection closed by peer"
// (a TCP close, or a TLS close without close_notify), else the error's own message.
std::string describe_io_error(boost::system::error_code ec);

}  // namespace urlprobe::net
