#include "net/pins.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "net/detail/builtin_pins.hpp"
#include "net/detail/certificate.hpp"
#include "net/detail/x509_text.hpp"
#include "net/tls.hpp"

namespace urlprobe::net {

namespace {

// A pin file is a handful of certificates; the limit keeps /dev/zero from being read whole.
constexpr std::size_t kMaxPinFileBytes = 1024 * 1024;

std::string hex_sha256(std::string_view der) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::optional<PinRoot> read_root(std::string der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())), &X509_free);
  // Trailing bytes after the certificate would make `der` (and its SHA-256) something else.
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return std::nullopt;
  PinRoot root;
  root.subject = name_text(X509_get_subject_name(cert.get()));
  root.not_after = time_text(X509_get0_notAfter(cert.get()));
  root.expired = X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0;
  root.sha256 = hex_sha256(der);
  root.der = std::move(der);
  return root;
}

std::size_t count_blocks(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  std::size_t n = 0;
  for (auto at = pem.find(kBegin); at != std::string_view::npos; at = pem.find(kBegin, at + 1)) ++n;
  return n;
}

// Throws with `what` in front of every message (the file, or the embedded pin's name).
std::vector<PinRoot> read_roots(std::string_view pem, const std::string& what) {
  const std::size_t blocks = count_blocks(pem);
  if (blocks == 0)
    throw std::runtime_error(
        fmt::format("{}: no PEM certificate (-----BEGIN CERTIFICATE----- expected)", what));
  auto ders = pem_certificates(pem);
  if (ders.size() != blocks)
    throw std::runtime_error(fmt::format(
        "{}: not a certificate: a CERTIFICATE block is not valid base64 or is not closed", what));
  std::vector<PinRoot> roots;
  for (std::size_t i = 0; i < ders.size(); ++i) {
    auto root = read_root(std::move(ders[i]));
    if (!root)
      throw std::runtime_error(
          fmt::format("{}: not a certificate: CERTIFICATE block {} of {} does not decode as X.509",
                      what, i + 1, blocks));
    roots.push_back(std::move(*root));
  }
  return roots;
}

}  // namespace

bool Pin::all_expired() const {
  return std::all_of(roots.begin(), roots.end(), [](const PinRoot& r) { return r.expired; });
}

std::vector<Pin> builtin_pins() {
  // Parsed once per process: the CLI and every TlsConfig start from these.
  static const std::vector<Pin> pins = [] {
    std::vector<Pin> out;
    for (const auto& builtin : builtin_pin_pems())
      out.push_back(Pin{std::string(builtin.name), "embedded",
                        read_roots(builtin.pem, "embedded pin " + std::string(builtin.name))});
    return out;
  }();
  return pins;
}

bool valid_pin_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "system") return false;
  const auto plain = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!plain(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return plain(c) || c == '.' || c == '_' || c == '-'; });
}

Pin read_pin_file(std::string name, const std::string& path) {
  if (!valid_pin_name(name))
    throw std::runtime_error(fmt::format(
        "pin name \"{}\" is not valid: [a-z0-9][a-z0-9._-]{{0,63}}, and not \"system\"", name));
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error(fmt::format("{}: cannot open (a directory)", path));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  // Read one byte past the limit instead of trusting the file's size (a pipe, /dev/zero).
  std::string text(kMaxPinFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw std::runtime_error(fmt::format("{}: cannot read", path));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPinFileBytes)
    throw std::runtime_error(fmt::format("{}: too big for a pin file (over 1 MiB)", path));
  return Pin{std::move(name), path, read_roots(text, path)};
}

void set_pin(std::vector<Pin>& pins, Pin pin) {
  const auto same =
      std::find_if(pins.begin(), pins.end(), [&](const Pin& p) { return p.name == pin.name; });
  if (same != pins.end())
    *same = std::move(pin);
  else
    pins.push_back(std::move(pin));
}

const Pin* find_pin(const std::vector<Pin>& pins, std::string_view name) {
  const auto it =
      std::find_if(pins.begin(), pins.end(), [&](const Pin& p) { return p.name == name; });
  return it == pins.end() ? nullptr : &*it;
}

}  // namespace urlprobe::net
