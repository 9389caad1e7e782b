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
  boost::asio::post(get_executor(), [h = std::move(handler), n]() mutable { std::move(h)(boost::system::error_code{}, n); });
}

void SocketStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void SocketStream::write_some(boost::asio::const_buffer buffer, Handler handler) {
  socket_.async_write_some(buffer, std::move(handler));
}

void TlsStream::read_some(boost::asio::mutable_buffer buffer, Handler handler) {
  tls_.async_read_some(buffer, std::move(handler));
}

void TlsStream::write_some(boost::asio::const_buffer buffer, Handler handler) {
  tls_.async_write_some(buffer, std::move(handler));
}

}  // namespace urlprobe::net
