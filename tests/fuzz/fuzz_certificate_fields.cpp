// The trust store's own certificate reading (net/tls.hpp): PEM blocks to DER, and the DER
// outline walk to the subject and the key bits, as run on the system bundle, the hashed
// directory's files and --public-roots. The input is tried both as DER and as PEM text; every
// view returned must lie inside what it was read from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/detail/certificate.hpp"
#include "net/tls.hpp"

using namespace urlprobe;

namespace {

void check(std::string_view der) {
  const auto fields = net::certificate_fields(der);
  if (!fields) return;
  const auto inside = [&](std::string_view part) {
    return part.data() >= der.data() && part.data() + part.size() <= der.data() + der.size();
  };
  if (!inside(fields->subject) || !inside(fields->public_key) || fields->subject.empty())
    __builtin_trap();
  if (net::root_identity(*fields).size() != 64) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);
  for (const auto& der : net::pem_certificates(input)) {
    if (der.empty() || der.size() > size) __builtin_trap();  // base64 only ever shrinks
    check(der);
  }
  return 0;
}
