// The trust store's own certificate reading (net/tls.hpp): what it reads from DER must be what
// OpenSSL's X.509 decoder reads, and the bundle may be left unparsed only when the hashed
// directory really holds every certificate of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/detail/certificate.hpp"
#include "net/tls.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::net {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// OpenSSL's answer for the same certificate: subject DER digest, then key bits digest.
std::string identity_by_openssl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())), &X509_free);
  if (!cert) return "not a certificate";
  unsigned char subject[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
  unsigned int subject_len = 0, key_len = 0;
  X509_NAME_digest(X509_get_subject_name(cert.get()), EVP_sha256(), subject, &subject_len);
  X509_pubkey_digest(cert.get(), EVP_sha256(), key, &key_len);
  return std::string(reinterpret_cast<char*>(subject), subject_len) +
         std::string(reinterpret_cast<char*>(key), key_len);
}

std::string name_hash_file(const std::string& der, int n) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())), &X509_free);
  char name[32];
  std::snprintf(name, sizeof name, "%08lx.%d", X509_subject_name_hash(cert.get()), n);
  return name;
}

TEST(TrustStore, FieldsAreWhatOpenSslReadsForEveryRootOnThisMachine) {
  std::vector<std::string> ders = pem_certificates(slurp(test::test_cert().ca_file()));
  ASSERT_EQ(ders.size(), 1u);
  const fs::path mozilla = "/usr/share/ca-certificates/mozilla";
  std::size_t files = 0;
  if (fs::is_directory(mozilla))
    for (const auto& entry : fs::directory_iterator(mozilla)) {
      auto found = pem_certificates(slurp(entry.path()));
      EXPECT_EQ(found.size(), 1u) << entry.path();
      ders.insert(ders.end(), found.begin(), found.end());
      ++files;
    }
  RecordProperty("system_roots", static_cast<int>(files));
  for (const auto& der : ders) {
    const auto fields = certificate_fields(der);
    ASSERT_TRUE(fields.has_value());
    EXPECT_EQ(root_identity(*fields), identity_by_openssl(der));
  }
}

TEST(TrustStore, MalformedInputIsNoCertificateAndNoCrash) {
  const auto der = pem_certificates(slurp(test::test_cert().ca_file())).at(0);
  for (std::size_t cut = 0; cut < der.size(); cut += 7)
    EXPECT_FALSE(certificate_fields(der.substr(0, cut)).has_value()) << "cut at " << cut;
  EXPECT_FALSE(certificate_fields("").has_value());
  EXPECT_FALSE(certificate_fields(std::string("\x30\x84\xff\xff\xff\xff", 6)).has_value());
  EXPECT_TRUE(
      pem_certificates("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").empty());
  EXPECT_TRUE(pem_certificates("-----BEGIN CERTIFICATE-----\nMIIB").empty());
}

class HashedDirectory : public ::testing::Test {
 protected:
  HashedDirectory() {
    char pattern[] = "/tmp/urlprobe-trust-XXXXXX";
    root_ = mkdtemp(pattern);
    fs::create_directory(root_ / "certs");
    pem_ = slurp(test::test_cert().ca_file());
    der_ = pem_certificates(pem_).at(0);
  }
  ~HashedDirectory() override { fs::remove_all(root_); }
  void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  std::string bundle() const { return (root_ / "bundle.pem").string(); }
  std::string dirs() const { return "/nonexistent:" + (root_ / "certs").string(); }

  fs::path root_;
  std::string pem_, der_;
};

TEST_F(HashedDirectory, BundleIsCoveredOnlyWhenEveryCertificateIsInTheDirectory) {
  write(bundle(), pem_);
  EXPECT_FALSE(bundle_in_hashed_dirs(bundle(), dirs())) << "empty directory";
  // Another certificate under the same hash name is not this one.
  const test::SelfSignedCert other;  // the same subject, so the same hash, another key
  write(root_ / "certs" / name_hash_file(der_, 0), slurp(other.ca_file()));
  EXPECT_FALSE(bundle_in_hashed_dirs(bundle(), dirs()));
  // The hashed-directory lookup goes on to .1: so does the check.
  write(root_ / "certs" / name_hash_file(der_, 1), pem_);
  EXPECT_TRUE(bundle_in_hashed_dirs(bundle(), dirs()));
  // A third certificate in the bundle that the directory lacks.
  const test::SelfSignedCert third;
  write(bundle(), pem_ + slurp(other.ca_file()) + slurp(third.ca_file()));
  EXPECT_FALSE(bundle_in_hashed_dirs(bundle(), dirs()));
}

TEST_F(HashedDirectory, AnythingButPlainCertificatesIsLeftToOpenSsl) {
  write(root_ / "certs" / name_hash_file(der_, 0), pem_);
  write(bundle(), pem_);
  EXPECT_TRUE(bundle_in_hashed_dirs(bundle(), dirs()));
  write(bundle(),
        pem_ + "-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n");
  EXPECT_FALSE(bundle_in_hashed_dirs(bundle(), dirs()));
  write(bundle(), pem_ + "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  EXPECT_FALSE(bundle_in_hashed_dirs(bundle(), dirs()));
  EXPECT_TRUE(bundle_in_hashed_dirs((root_ / "missing.pem").string(), dirs()))
      << "no bundle: nothing to load either way";
}

}  // namespace
}  // namespace urlprobe::net
