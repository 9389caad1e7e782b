// Certificates as the trust store reads them (tls.cpp, pins.cpp). Net's own: other stages go
// through TlsClientContext and pins.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::net {

// Certificates read without OpenSSL's X.509 decoder, which in OpenSSL 3.0 costs about 1.5 M
// instructions per certificate (it sets up a public-key decoder each time): loading the 140
// system roots and 140 public roots that way was 97 % of a small run's CPU. Enough for what a
// trust store is first asked: which subject, which key.
// The DER of every "CERTIFICATE" block in `pem`, in order; malformed blocks are skipped.
std::vector<std::string> pem_certificates(std::string_view pem);
struct CertificateFields {
  std::string_view subject;     // the subject Name, its whole DER (tag and length included)
  std::string_view public_key;  // the subjectPublicKey BIT STRING's bits
};
// Views into `der`; nullopt when it is not a certificate's outline.
std::optional<CertificateFields> certificate_fields(std::string_view der);
// What identifies a root across re-issues: SHA-256 of the subject DER, then of the key bits
// (as X509_NAME_digest and X509_pubkey_digest would give for the parsed certificate).
std::string root_identity(const CertificateFields& fields);
// True when every certificate of the PEM bundle `bundle` is also a file in one of the hashed
// directories `dirs` (":"-separated, as SSL_CERT_DIR), as c_rehash / update-ca-certificates
// leave them. Then the directory lookup finds each root when a chain needs it, and the bundle
// need not be parsed up front.
bool bundle_in_hashed_dirs(const std::string& bundle, const std::string& dirs);

// The whole of a trust-store file, or nullopt when it is missing, unreadable or too large to be
// one (a limit keeps /dev/zero or a huge file from being read whole).
std::optional<std::string> read_certificate_file(const std::string& path);

}  // namespace urlprobe::net
