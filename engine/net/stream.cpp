#include "net/stream.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>

namespace urlprobe::net {

void ByteStream::read(boost::asio::mutable_buffer buffer, Handler handler) {
  if (pending_.empty() || buffer.size() == 0) return read_some(buffer, std::move(handler));
  const std::size_t n = std::min(buffer.size(), pending_.size());
  std::memcpy(buffer.data(), pending_.data(), n);
  pending_.erase(0, n);
  // Completion handlers never run inside the initiating call.
  boost::asio::post(get_executor(), [h = std::move(handler), n]() mutable {
    std::move(h)(boost::system::error_code{}, n);
  });
}

void ByteStream::read_when_ready(std::string& into, std::size_t max, Handler handler) {
  if (pending_.empty() || max == 0) return wait_then_read(into, max, std::move(handler));
  const std::size_t n = std::min(max, pending_.size());
  into.assign(pending_, 0, n);
  pending_.erase(0, n);
  boost::asio::post(get_executor(), [h = std::move(handler), n]() mutable {
    std::move(h)(boost::system::error_code{}, n);
  });
}

void ByteStream::wait_then_read(std::string& into, std::size_t max, Handler handler) {
  into.resize(max);
  read_some(boost::asio::buffer(into),
            [&into, h = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
              into.resize(n);
              std::move(h)(ec, n);
            });
}

std::string describe_io_error(boost::system::error_code ec) {
  if (ec == boost::asio::error::connection_reset) return "connection reset by peer";
  if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated)
    return "connection closed by peer";
  return ec.message();
}

void SocketStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void SocketStream::wait_then_read(std::string& into, std::size_t max, Handler handler) {
  socket_.async_wait(
      boost::asio::ip::tcp::socket::wait_read,
      [this, &into, max, h = std::move(handler)](boost::system::error_code ec) mutable {
        if (ec) return std::move(h)(ec, 0);
        // Shared by every stream of this thread: what arrived is copied out before anything else
        // runs here.
        thread_local std::array<char, 16 * 1024> scratch;
        // Without it a read that finds nothing after all (a spurious wakeup) would block.
        if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
        const std::size_t n =
            ec ? 0
               : socket_.read_some(
                     boost::asio::buffer(scratch.data(), std::min(max, scratch.size())), ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again)
          return wait_then_read(into, max, std::move(h));
        if (ec) return std::move(h)(ec, 0);
        into.assign(scratch.data(), n);
        std::move(h)(ec, n);
      });
}

void SocketStream::write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) {
  socket_.async_write_some(buffers, std::move(handler));
}

// ---------------------------------------------------------------------------------------------
// TlsStream

namespace {

// As much ciphertext as one read from below takes: a whole TLS record fits (16 KB + 256), but
// a handshake flight or a response header usually arrives in one or two reads of this size.
constexpr std::size_t kReadChunk = 8 * 1024;

}  // namespace

// OpenSSL's side of the stream: reads take what `in_` holds (or ask to be retried), writes
// append to `out_`. The stream moves bytes between these and the layer below.
struct WireBio {
  static TlsStream& stream(BIO* bio) { return *static_cast<TlsStream*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, int length) {
    BIO_clear_retry_flags(bio);
    stream(bio).out_.append(data, static_cast<std::size_t>(length));
    return length;
  }

  static int read(BIO* bio, char* data, int length) {
    BIO_clear_retry_flags(bio);
    auto& s = stream(bio);
    const std::size_t available = s.in_.size() - s.in_begin_;
    if (available == 0) {
      BIO_set_retry_read(bio);
      return -1;
    }
    const std::size_t n = std::min(available, static_cast<std::size_t>(length));
    std::memcpy(data, s.in_.data() + s.in_begin_, n);
    s.in_begin_ += n;
    if (s.in_begin_ == s.in_.size()) {  // nothing kept while the connection waits again
      std::string().swap(s.in_);
      s.in_begin_ = 0;
    }
    return static_cast<int>(n);
  }

  static long control(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;  // writes are flushed by the stream, not here
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  // Null when OpenSSL could not make it (out of memory at the first TLS connection).
  static const BIO_METHOD* method() {
    static BIO_METHOD* const method = []() -> BIO_METHOD* {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "urlprobe wire");
      if (m && BIO_meth_set_write(m, write) == 1 && BIO_meth_set_read(m, read) == 1 &&
          BIO_meth_set_ctrl(m, control) == 1 && BIO_meth_set_create(m, create) == 1)
        return m;
      BIO_meth_free(m);
      return nullptr;
    }();
    return method;
  }
};

// The operation in progress: what OpenSSL is asked to do, and whom to tell.
struct TlsStream::Op {
  enum class Kind { handshake, read, write } kind;
  boost::asio::mutable_buffer read;
  boost::asio::const_buffer written;
  Handler handler;
};

namespace {

// "SSL_new failed", with OpenSSL's reason when it queued one.
std::string openssl_failure(const char* call) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  return reason ? fmt::format("{} failed: {}", call, reason) : fmt::format("{} failed", call);
}

}  // namespace

TlsStream::TlsStream(ByteStream& below, boost::asio::ssl::context& context)
    : below_(below), ssl_(SSL_new(context.native_handle())) {
  if (!ssl_) {
    error_ = openssl_failure("SSL_new");
    return;
  }
  const BIO_METHOD* method = WireBio::method();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) {
    error_ = openssl_failure(method ? "BIO_new" : "BIO_meth_new");
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  SSL_set_connect_state(ssl_);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

void TlsStream::async_handshake(HandshakeHandler handler) {
  Op op{Op::Kind::handshake,
        {},
        {},
        Handler([h = std::move(handler)](boost::system::error_code ec, std::size_t) mutable {
          std::move(h)(ec);
        })};
  step(std::move(op), true);
}

void TlsStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  step(Op{Op::Kind::read, buffer, {}, std::move(handler)}, true);
}

void TlsStream::write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) {
  boost::asio::const_buffer data = buffers.empty() ? boost::asio::const_buffer() : buffers[0];
  if (buffers.size() > 1) {
    // A request header comes as many small buffers: one TLS record for all of them.
    joined_.clear();
    for (const auto& b : buffers) joined_.append(static_cast<const char*>(b.data()), b.size());
    data = boost::asio::buffer(joined_);
  }
  step(Op{Op::Kind::write, {}, data, std::move(handler)}, true);
}

// One call into OpenSSL, then whatever it needs: input read from below, or its output written
// below, before it is called again or the operation completes. Mirrors asio::ssl's engine.
void TlsStream::step(Op op, bool initiating) {
  if ((op.kind == Op::Kind::read && op.read.size() == 0) ||
      (op.kind == Op::Kind::write && op.written.size() == 0))
    return complete(std::move(op), {}, 0, initiating);
  ERR_clear_error();
  std::size_t n = 0;
  int result = 0;
  switch (op.kind) {
    case Op::Kind::handshake:
      result = SSL_do_handshake(ssl_);
      break;
    case Op::Kind::read:
      result = SSL_read_ex(ssl_, op.read.data(), op.read.size(), &n);
      break;
    case Op::Kind::write:
      result = SSL_write_ex(ssl_, op.written.data(), op.written.size(), &n);
      break;
  }
  const int error = SSL_get_error(ssl_, result);
  const auto library_error = static_cast<int>(ERR_get_error());
  boost::system::error_code ec;
  switch (error) {
    case SSL_ERROR_NONE:
      break;
    case SSL_ERROR_WANT_READ:
      if (!out_.empty()) return flush_then(std::move(op), false, {}, 0);
      return fill_then(std::move(op));
    case SSL_ERROR_WANT_WRITE:  // the BIO takes every write; only flushing can help
      return flush_then(std::move(op), false, {}, 0);
    case SSL_ERROR_ZERO_RETURN:
      ec = boost::asio::error::eof;
      break;
    case SSL_ERROR_SSL:
      ec = boost::system::error_code(library_error, boost::asio::error::get_ssl_category());
      break;
    case SSL_ERROR_SYSCALL:
      ec = library_error
               ? boost::system::error_code(library_error, boost::asio::error::get_ssl_category())
               : boost::system::error_code(boost::asio::ssl::error::unspecified_system_error);
      break;
    default:
      ec = boost::asio::ssl::error::unexpected_result;
      break;
  }
  // Done, well or not: what OpenSSL wrote (a record, an alert) goes out first. Except the
  // client Finished after a handshake that succeeded: it waits for the request, so both leave
  // in one write (a read flushes it too, as any op that finds out_ non-empty and needs input).
  const bool finished_handshake = op.kind == Op::Kind::handshake && error == SSL_ERROR_NONE;
  if (!out_.empty() && !finished_handshake) return flush_then(std::move(op), true, ec, n);
  complete(std::move(op), ec, n, initiating);
}

void TlsStream::flush_then(Op op, bool finished, boost::system::error_code ec, std::size_t n) {
  boost::asio::async_write(below_, boost::asio::buffer(out_),
                           [this, op = std::move(op), finished, ec, n](
                               boost::system::error_code write_error, std::size_t) mutable {
                             out_.clear();
                             if (write_error) return complete(std::move(op), write_error, 0, false);
                             if (finished) return complete(std::move(op), ec, n, false);
                             step(std::move(op), false);
                           });
}

void TlsStream::fill_then(Op op) {
  in_begin_ = 0;
  below_.read_when_ready(
      in_, kReadChunk,
      [this, op = std::move(op)](boost::system::error_code ec, std::size_t) mutable {
        if (ec) return complete(std::move(op), at_end_of_input(ec), 0, false);
        step(std::move(op), false);
      });
}

// The end of the wire is a clean end only after the peer's close_notify; anything else is a
// truncation (asio::ssl's rule, which the probe's classification expects).
boost::system::error_code TlsStream::at_end_of_input(boost::system::error_code ec) const {
  if (ec == boost::asio::error::eof && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) == 0)
    return boost::asio::ssl::error::stream_truncated;
  return ec;
}

void TlsStream::complete(Op op, boost::system::error_code ec, std::size_t n, bool initiating) {
  if (!initiating) return std::move(op.handler)(ec, n);
  // Completion handlers never run inside the initiating call.
  boost::asio::post(get_executor(),
                    [h = std::move(op.handler), ec, n]() mutable { std::move(h)(ec, n); });
}

}  // namespace urlprobe::net
