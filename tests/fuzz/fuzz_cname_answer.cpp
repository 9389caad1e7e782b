// The CNAME reader the resolver runs on the raw answer of a failed lookup (NXDOMAIN or NODATA
// after a CNAME chain): any bytes a server sends must give records or nothing, never a read
// past the message, and following them from any name must end within the chain cap.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/detail/cname_answer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A heap copy of exactly `size` bytes, so a read one past the end shows under ASan.
  const std::vector<unsigned char> message(data, data + size);
  const auto records = urlprobe::net::detail::cname_records(message.data(), message.size());
  // The resolver follows from the name asked; every owner is one such name.
  for (const auto& record : records) {
    const auto chain = urlprobe::net::detail::follow_cnames(record.first, records);
    if (chain.empty() || chain.size() > urlprobe::net::detail::kMaxCnameChain) __builtin_trap();
  }
  return 0;
}
