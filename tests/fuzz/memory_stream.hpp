// A ByteStream whose peer is the fuzzer's input: reads are served from it (at most `chunk` bytes
// at a time, then end of file), writes are swallowed. Completions are posted, as a socket's are.
#pragma once

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "net/stream.hpp"

namespace urlprobe::fuzz {

class MemoryStream final : public net::ByteStream {
 public:
  MemoryStream(boost::asio::io_context& io, std::string_view peer, std::size_t chunk)
      : io_(io), peer_(peer), chunk_(std::max<std::size_t>(chunk, 1)) {}
  executor_type get_executor() override { return io_.get_executor(); }

 protected:
  void read_some(boost::asio::mutable_buffer buffer, Handler handler) override {
    boost::system::error_code ec;
    std::size_t n = std::min({buffer.size(), peer_.size(), chunk_});
    if (peer_.empty() && buffer.size() > 0) ec = boost::asio::error::eof;
    std::memcpy(buffer.data(), peer_.data(), n);
    peer_.remove_prefix(n);
    boost::asio::post(io_, [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
  }
  void write_some(std::span<const boost::asio::const_buffer> buffers, Handler handler) override {
    std::size_t n = 0;
    for (const auto& b : buffers) n += b.size();
    boost::asio::post(io_, [h = std::move(handler), n]() mutable {
      std::move(h)(boost::system::error_code(), n);
    });
  }

 private:
  boost::asio::io_context& io_;
  std::string_view peer_;
  std::size_t chunk_;
};

}  // namespace urlprobe::fuzz
