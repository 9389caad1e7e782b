#include "net/detail/certificate.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <memory>

namespace urlprobe::net {

namespace {

// One DER element from the front of `in` (definite lengths, low tag numbers: all a certificate's
// outline uses), which is then consumed.
struct Tlv {
  std::string_view content, whole;
};

std::optional<Tlv> take(std::string_view& in, unsigned char tag) {
  if (in.size() < 2 || static_cast<unsigned char>(in[0]) != tag) return std::nullopt;
  std::size_t length = static_cast<unsigned char>(in[1]), header = 2;
  if (length & 0x80) {
    const std::size_t bytes = length & 0x7f;
    if (bytes == 0 || bytes > 4 || in.size() < 2 + bytes) return std::nullopt;
    length = 0;
    for (std::size_t i = 0; i < bytes; ++i)
      length = length << 8 | static_cast<unsigned char>(in[2 + i]);
    header += bytes;
  }
  if (in.size() - header < length) return std::nullopt;
  Tlv tlv{in.substr(header, length), in.substr(0, header + length)};
  in.remove_prefix(header + length);
  return tlv;
}

constexpr unsigned char kSequence = 0x30, kInteger = 0x02, kBitString = 0x03, kVersion = 0xa0;

}  // namespace

// Trust-store files are small; a limit keeps /dev/zero or a huge file from being read whole.
constexpr std::uintmax_t kMaxCertificateFileBytes = 16 * 1024 * 1024;

std::optional<std::string> read_certificate_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxCertificateFileBytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::vector<std::string> pem_certificates(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> decoder(EVP_ENCODE_CTX_new(),
                                                                          &EVP_ENCODE_CTX_free);
  if (!decoder) return out;
  for (std::size_t at = pem.find(kBegin); at != std::string_view::npos; at = pem.find(kBegin, at)) {
    const std::size_t body = at + kBegin.size();
    const std::size_t end = pem.find(kEnd, body);
    if (end == std::string_view::npos || end - body > static_cast<std::size_t>(INT_MAX) / 2) break;
    at = end + kEnd.size();
    std::string der(((end - body) / 4 + 1) * 3, '\0');
    auto* to = reinterpret_cast<unsigned char*>(der.data());
    int decoded = 0, last = 0;
    EVP_DecodeInit(decoder.get());
    if (EVP_DecodeUpdate(decoder.get(), to, &decoded,
                         reinterpret_cast<const unsigned char*>(pem.data() + body),
                         static_cast<int>(end - body)) < 0 ||
        EVP_DecodeFinal(decoder.get(), to + decoded, &last) != 1)
      continue;
    der.resize(static_cast<std::size_t>(decoded + last));
    if (!der.empty()) out.push_back(std::move(der));
  }
  return out;
}

std::optional<CertificateFields> certificate_fields(std::string_view der) {
  const auto certificate = take(der, kSequence);
  if (!certificate) return std::nullopt;
  std::string_view outer = certificate->content;
  const auto tbs = take(outer, kSequence);
  if (!tbs) return std::nullopt;
  std::string_view fields = tbs->content;
  if (!fields.empty() && static_cast<unsigned char>(fields[0]) == kVersion &&
      !take(fields, kVersion))
    return std::nullopt;
  // serialNumber, signature, issuer, validity: skipped; then subject, subjectPublicKeyInfo.
  if (!take(fields, kInteger) || !take(fields, kSequence) || !take(fields, kSequence) ||
      !take(fields, kSequence))
    return std::nullopt;
  const auto subject = take(fields, kSequence);
  const auto key_info = take(fields, kSequence);
  if (!subject || !key_info) return std::nullopt;
  std::string_view key_parts = key_info->content;
  if (!take(key_parts, kSequence)) return std::nullopt;  // the algorithm
  const auto key = take(key_parts, kBitString);
  if (!key || key->content.empty()) return std::nullopt;
  return CertificateFields{subject->whole, key->content.substr(1)};  // after the unused-bits byte
}

std::string root_identity(const CertificateFields& fields) {
  unsigned char subject[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
  unsigned int subject_len = 0, key_len = 0;
  if (EVP_Digest(fields.subject.data(), fields.subject.size(), subject, &subject_len, EVP_sha256(),
                 nullptr) != 1 ||
      EVP_Digest(fields.public_key.data(), fields.public_key.size(), key, &key_len, EVP_sha256(),
                 nullptr) != 1)
    return {};
  return std::string(reinterpret_cast<char*>(subject), subject_len) +
         std::string(reinterpret_cast<char*>(key), key_len);
}

bool bundle_in_hashed_dirs(const std::string& bundle, const std::string& dirs) {
  const auto text = read_certificate_file(bundle);
  if (!text) return !std::filesystem::exists(bundle);  // nothing to load either way
  const auto certificates = pem_certificates(*text);
  // Anything but plain certificates (TRUSTED CERTIFICATE with trust settings, CRLs, a block
  // that does not decode): let OpenSSL load the file as it always did.
  std::size_t blocks = 0;
  for (auto at = text->find("-----BEGIN "); at != std::string::npos;
       at = text->find("-----BEGIN ", at + 1))
    ++blocks;
  if (blocks != certificates.size()) return false;
  std::vector<std::string> directories;
  for (std::size_t from = 0; from <= dirs.size();) {
    const auto colon = std::min(dirs.find(':', from), dirs.size());
    if (colon > from) directories.push_back(dirs.substr(from, colon - from));
    from = colon + 1;
  }
  for (const auto& der : certificates) {
    const auto fields = certificate_fields(der);
    if (!fields) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(fields->subject.data());
    X509_NAME* name = d2i_X509_NAME(nullptr, &p, static_cast<long>(fields->subject.size()));
    if (!name) return false;
    int ok = 0;
    const unsigned long hash = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
    X509_NAME_free(name);
    if (!ok) return false;
    bool found = false;
    for (const auto& directory : directories) {
      // <hash>.0, .1, ... as the hashed-directory lookup tries them, until one is missing.
      for (int n = 0; !found; ++n) {
        const auto file = read_certificate_file(fmt::format("{}/{:08x}.{}", directory, hash, n));
        if (!file) break;
        const auto in_file = pem_certificates(*file);
        found = std::find(in_file.begin(), in_file.end(), der) != in_file.end();
      }
      if (found) break;
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace urlprobe::net
