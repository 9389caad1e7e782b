#include "net/stream.hpp"

#include <boost/asio/post.hpp>

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

void SocketStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void SocketStream::write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) {
  socket_.async_write_some(buffers, std::move(handler));
}

void TlsStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  tls_.async_read_some(buffer, std::move(handler));
}

void TlsStream::write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) {
  if (buffers.size() <= 1) return tls_.async_write_some(buffers, std::move(handler));
  // asio::ssl writes only the first buffer of a sequence: join them, so a request header
  // becomes one TLS record instead of one per header piece.
  joined_.clear();
  for (const auto& b : buffers) joined_.append(static_cast<const char*>(b.data()), b.size());
  tls_.async_write_some(boost::asio::buffer(joined_), std::move(handler));
}

}  // namespace urlprobe::net
