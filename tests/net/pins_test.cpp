// Certificate pins (net/pins.hpp) and pinned sessions (net/tls.hpp): the embedded pins, --pin
// files, and real handshakes on loopback against a runtime-made root, intermediate and leaf.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/detail/certificate.hpp"
#include "net/pins.hpp"
#include "net/tls.hpp"
#include "tests/probe/test_servers.hpp"

namespace urlprobe::net {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A folder of its own per test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/urlprobe-pins-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// --- a root, an intermediate and a leaf for 127.0.0.1, made at runtime ------------------------

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

struct Issued {
  Key key{nullptr, &EVP_PKEY_free};
  Cert cert{nullptr, &X509_free};
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1)
    throw std::runtime_error(std::string("cannot add extension ") + value);
  X509_EXTENSION_free(ext);
}

// Signed by `issuer` (self-signed when null). A CA unless `san` is given.
Issued issue(const std::string& common_name, const Issued* issuer, const char* san = nullptr) {
  static long serial = 0;
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  if (!out.key || !out.cert) throw std::runtime_error("cannot make a key or a certificate");
  X509* cert = out.cert.get();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(::getpid()) * 1000 + ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("urlprobe pin tests"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  if (san) {
    add_extension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, signer, NID_subject_alt_name, san);
  } else {
    add_extension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  add_extension(cert, signer, NID_subject_key_identifier, "hash");
  if (issuer) add_extension(cert, signer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("X509_sign failed");
  return out;
}

std::string pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return text;
}

// Root -> intermediate -> leaf (IP 127.0.0.1). The server sends leaf and intermediate, as
// servers do; the root's PEM is in a file, to be trusted, pinned or declared public.
class LabPki {
 public:
  explicit LabPki(const std::string& root_name)
      : root_(issue(root_name, nullptr)),
        intermediate_(issue(root_name + " Issuing CA", &root_)),
        leaf_(issue("pinned origin", &intermediate_, "IP:127.0.0.1")) {
    root_file_ = dir_.write("root.pem", pem_of(root_.cert.get()));
  }
  const std::string& root_file() const { return root_file_; }
  std::unique_ptr<asio::ssl::context> server_context() const {
    auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    SSL_CTX* ctx = context->native_handle();
    if (SSL_CTX_use_certificate(ctx, leaf_.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, leaf_.key.get()) != 1 ||
        SSL_CTX_add1_chain_cert(ctx, intermediate_.cert.get()) != 1)
      throw std::runtime_error("cannot set up the lab server context");
    return context;
  }

 private:
  TempDir dir_;
  Issued root_, intermediate_, leaf_;
  std::string root_file_;
};

// --- one real client handshake on loopback ----------------------------------------------------

struct Handshake {
  boost::system::error_code ec;
  TlsVerdict verdict;  // after a handshake that succeeded
  TlsFailure failure;  // after one that failed
  std::optional<TlsFacts> facts;
};

Handshake handshake(TlsClientContext& client, const LabPki& pki,
                    const std::vector<std::string>& pins, const std::string& host = "127.0.0.1") {
  auto server_tls = pki.server_context();
  asio::io_context io{1};
  test::TestServer server(io, [&](tcp::socket& socket) -> asio::awaitable<void> {
    asio::ssl::stream<tcp::socket&> tls(socket, *server_tls);
    co_await tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    co_await test::drain(tls);
  });
  Handshake out;
  std::exception_ptr failed;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto socket = co_await test::connect_loopback(io.get_executor(), server.port());
        asio::ssl::stream<tcp::socket> tls(std::move(socket), client.native());
        SSL* ssl = tls.native_handle();
        X509_STORE* store = pins.empty() ? nullptr : client.pinned_store(pins);
        if (auto error = prepare_client_session(ssl, host, client.verify(), store); !error.empty())
          throw std::runtime_error(error);
        auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client,
                                                 asio::as_tuple(asio::use_awaitable));
        out.ec = ec;
        out.facts = read_tls_facts(ssl);
        if (ec)
          out.failure = explain_handshake_failure(ssl, host, ec.message(), pins);
        else
          out.verdict = judge_session(ssl, client, pins);
        server.stop();
      },
      [&](std::exception_ptr e) {
        failed = e;
        server.stop();
      });
  io.run();
  if (failed) std::rethrow_exception(failed);
  return out;
}

std::vector<Pin> pins_with(std::initializer_list<std::pair<std::string, std::string>> files) {
  std::vector<Pin> pins = builtin_pins();
  for (const auto& [name, file] : files) set_pin(pins, read_pin_file(name, file));
  return pins;
}

// --- the embedded pins ------------------------------------------------------------------------

TEST(BuiltinPins, AreMicrosoft2011ThenDigiCertG2WithTheirSubjectsAndDates) {
  const auto pins = builtin_pins();
  ASSERT_EQ(pins.size(), 2u);
  EXPECT_EQ(pins[0].name, "microsoft-2011");
  EXPECT_EQ(pins[1].name, "digicert-global-root-g2");
  for (const auto& pin : pins) {
    EXPECT_EQ(pin.origin, "embedded");
    ASSERT_EQ(pin.roots.size(), 1u) << pin.name;
    EXPECT_FALSE(pin.all_expired()) << pin.name;
    EXPECT_FALSE(pin.roots[0].expired) << pin.name;
    EXPECT_TRUE(valid_pin_name(pin.name));
  }
  const PinRoot& microsoft = pins[0].roots[0];
  EXPECT_EQ(microsoft.subject,
            "CN=Microsoft Root Certificate Authority 2011,O=Microsoft Corporation,L=Redmond,"
            "ST=Washington,C=US");
  EXPECT_EQ(microsoft.not_after, "2036-03-22T22:13:04Z");
  EXPECT_EQ(microsoft.sha256, "847df6a78497943f27fc72eb93f9a637320a02b561d0a91b09e87a7807ed7c61");
  const PinRoot& digicert = pins[1].roots[0];
  EXPECT_EQ(digicert.subject, "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US");
  EXPECT_EQ(digicert.not_after, "2038-01-15T12:00:00Z");
  EXPECT_EQ(digicert.sha256, "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f");
  // The DER is the certificate itself: what the fingerprint above was computed from.
  const auto from_tree = pem_certificates(
      slurp(fs::path(URLPROBE_TESTS_DIR) / "../third_party/pins/microsoft-root-ca-2011.pem"));
  ASSERT_EQ(from_tree.size(), 1u);
  EXPECT_EQ(microsoft.der, from_tree[0]);
}

TEST(BuiltinPins, AnExpiredRootIsToldApart) {
  Pin pin{"old", "embedded", std::vector<PinRoot>(2)};
  pin.roots[0].expired = true;
  EXPECT_FALSE(pin.all_expired());
  pin.roots[1].expired = true;
  EXPECT_TRUE(pin.all_expired());
}

TEST(PinNames, FollowTheSyntaxAndSystemIsNotOne) {
  for (const std::string& good :
       std::vector<std::string>{"a", "0", "microsoft-2011", "lab.ca_2", std::string(64, 'x')})
    EXPECT_TRUE(valid_pin_name(good)) << good;
  for (const std::string& bad :
       std::vector<std::string>{"", "system", "-lead", ".lead", "_lead", "Upper", "with space",
                                "a/b", "a=b", std::string(65, 'x')})
    EXPECT_FALSE(valid_pin_name(bad)) << bad;
}

// --- --pin NAME=FILE --------------------------------------------------------------------------

std::string error_of(const std::string& name, const std::string& path) {
  try {
    read_pin_file(name, path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(PinFile, EachErrorNamesTheFileAndWhatIsWrong) {
  TempDir dir;
  const auto missing = dir.path("missing.pem");
  EXPECT_THAT(error_of("lab", missing), StartsWith(missing + ": cannot open"));
  EXPECT_THAT(error_of("lab", dir.path("")), HasSubstr("cannot open"));
  const auto empty = dir.write("empty.pem", "");
  EXPECT_THAT(error_of("lab", empty), StartsWith(empty + ": no PEM certificate"));
  const auto text = dir.write("text.pem", "this is not a certificate\n");
  EXPECT_THAT(error_of("lab", text), StartsWith(text + ": no PEM certificate"));
  const auto key =
      dir.write("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  EXPECT_THAT(error_of("lab", key), StartsWith(key + ": no PEM certificate"));
  // Base64 that decodes, to bytes that are no certificate.
  const auto garbage = dir.write(
      "garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_THAT(error_of("lab", garbage), StartsWith(garbage + ": not a certificate"));
  const auto bad_base64 =
      dir.write("bad64.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
  EXPECT_THAT(error_of("lab", bad_base64), StartsWith(bad_base64 + ": not a certificate"));
  // A good certificate does not excuse a bad one after it.
  const auto mixed = dir.write("mixed.pem", slurp(test::test_cert().ca_file()) + slurp(garbage));
  EXPECT_THAT(error_of("lab", mixed), StartsWith(mixed + ": not a certificate"));
  const auto big =
      dir.write("big.pem", slurp(test::test_cert().ca_file()) + std::string(1024 * 1024, '\n'));
  EXPECT_THAT(error_of("lab", big), StartsWith(big + ": too big"));
  EXPECT_THAT(error_of("system", test::test_cert().ca_file()), HasSubstr("not valid"));
}

TEST(PinFile, ReadsEveryCertificateOfTheFile) {
  TempDir dir;
  const test::SelfSignedCert other(test::CertSpec{.common_name = "second pin root"});
  const auto file =
      dir.write("two.pem", slurp(test::test_cert().ca_file()) + "\n" + slurp(other.ca_file()));
  const Pin pin = read_pin_file("lab", file);
  EXPECT_EQ(pin.name, "lab");
  EXPECT_EQ(pin.origin, file);
  ASSERT_EQ(pin.roots.size(), 2u);
  EXPECT_EQ(pin.roots[0].subject, "CN=urlprobe test origin,O=urlprobe tests");
  EXPECT_EQ(pin.roots[1].subject, "CN=second pin root,O=urlprobe tests");
  EXPECT_NE(pin.roots[0].sha256, pin.roots[1].sha256);
  EXPECT_EQ(pin.roots[0].sha256.size(), 64u);
  EXPECT_FALSE(pin.all_expired());
  EXPECT_EQ(pin.roots[1].der, pem_certificates(slurp(other.ca_file())).at(0));
}

TEST(PinList, SetPinReplacesInPlaceOrAdds) {
  TempDir dir;
  auto pins = builtin_pins();
  set_pin(pins, read_pin_file("microsoft-2011", test::test_cert().ca_file()));
  ASSERT_EQ(pins.size(), 2u);
  EXPECT_EQ(pins[0].name, "microsoft-2011");
  EXPECT_EQ(pins[0].origin, test::test_cert().ca_file());
  EXPECT_EQ(pins[0].roots.at(0).subject, "CN=urlprobe test origin,O=urlprobe tests");
  set_pin(pins, read_pin_file("lab", test::test_cert().ca_file()));
  ASSERT_EQ(pins.size(), 3u);
  EXPECT_EQ(pins[2].name, "lab");
  EXPECT_EQ(find_pin(pins, "lab"), &pins[2]);
  EXPECT_EQ(find_pin(pins, "digicert-global-root-g2"), &pins[1]);
  EXPECT_EQ(find_pin(pins, "system"), nullptr);
  EXPECT_EQ(builtin_pins()[0].origin, "embedded") << "the built-in list is a copy";
}

// --- pinned sessions --------------------------------------------------------------------------

class PinnedSession : public ::testing::Test {
 protected:
  LabPki lab{"Lab Inspection CA"};
  LabPki elsewhere{"Elsewhere Root"};
};

TEST_F(PinnedSession, ChainToThePinnedRootIsTrustedWithoutCaFile) {
  TlsClientContext client(TlsConfig{.ca_file = "", .pins = pins_with({{"lab", lab.root_file()}})});
  const auto pinned = handshake(client, lab, {"lab"});
  ASSERT_FALSE(pinned.ec) << pinned.ec.message() << ": " << pinned.failure.detail;
  EXPECT_EQ(pinned.verdict.kind, TlsVerdict::Kind::trusted) << pinned.verdict.detail;
  EXPECT_EQ(pinned.verdict.pin, "lab");
  ASSERT_TRUE(pinned.facts.has_value());
  EXPECT_TRUE(pinned.facts->verified);
  EXPECT_EQ(pinned.facts->root, "CN=Lab Inspection CA,O=urlprobe pin tests");
  // The same context, unpinned, does not trust the lab root: the pin's store did.
  const auto unpinned = handshake(client, lab, {});
  EXPECT_TRUE(unpinned.ec);
  EXPECT_EQ(unpinned.failure.code, "unknown_ca");
  EXPECT_FALSE(unpinned.failure.intercepted);
}

TEST_F(PinnedSession, OneOfTwoPinsIsEnough) {
  TlsClientContext client(TlsConfig{
      .ca_file = "",
      .pins = pins_with({{"lab", lab.root_file()}, {"elsewhere", elsewhere.root_file()}})});
  const auto result = handshake(client, lab, {"elsewhere", "lab"});
  ASSERT_FALSE(result.ec) << result.failure.detail;
  EXPECT_EQ(result.verdict.kind, TlsVerdict::Kind::trusted) << result.verdict.detail;
  EXPECT_EQ(result.verdict.pin, "lab");
}

TEST_F(PinnedSession, MatchedPinIsNotCalledInspectionThoughItsRootIsNotPublic) {
  // A pinned root that is also --ca-file, with public roots from the system: still trusted.
  TlsClientContext client(
      TlsConfig{.ca_file = lab.root_file(), .pins = pins_with({{"lab", lab.root_file()}})});
  const auto pinned = handshake(client, lab, {"lab"});
  ASSERT_FALSE(pinned.ec) << pinned.failure.detail;
  EXPECT_EQ(pinned.verdict.kind, TlsVerdict::Kind::trusted) << pinned.verdict.detail;
  EXPECT_EQ(pinned.verdict.pin, "lab");
  // Unpinned, the same chain is what inspection looks like.
  const auto unpinned = handshake(client, lab, {});
  ASSERT_FALSE(unpinned.ec);
  EXPECT_EQ(unpinned.verdict.kind, TlsVerdict::Kind::intercepted);
  EXPECT_EQ(unpinned.verdict.code, "");
  EXPECT_EQ(unpinned.verdict.pin, "");
}

TEST_F(PinnedSession, ChainEndingAtAnotherTrustedRootThatIsNotPublicIsInterception) {
  TlsClientContext client(TlsConfig{.ca_file = lab.root_file(),
                                    .pins = pins_with({{"elsewhere", elsewhere.root_file()}})});
  const auto result = handshake(client, lab, {"elsewhere"});
  ASSERT_FALSE(result.ec) << result.failure.detail;
  EXPECT_EQ(result.verdict.kind, TlsVerdict::Kind::intercepted);
  EXPECT_EQ(result.verdict.code, "pin_mismatch");
  EXPECT_EQ(result.verdict.pin, "");
  EXPECT_EQ(result.verdict.detail,
            "pin elsewhere not matched: chain ends at CN=Lab Inspection CA,O=urlprobe pin tests "
            "(not a public root): HTTPS inspection in the path");
}

TEST_F(PinnedSession, ChainEndingAtAPublicRootIsAnOutdatedPinNotInspection) {
  TlsClientContext client(TlsConfig{
      .ca_file = lab.root_file(),
      .public_roots = lab.root_file(),
      .pins = pins_with({{"elsewhere", elsewhere.root_file()}, {"other", elsewhere.root_file()}})});
  const auto result = handshake(client, lab, {"elsewhere"});
  ASSERT_FALSE(result.ec) << result.failure.detail;
  EXPECT_EQ(result.verdict.kind, TlsVerdict::Kind::untrusted);
  EXPECT_EQ(result.verdict.code, "pin_mismatch");
  EXPECT_EQ(result.verdict.detail,
            "pin elsewhere not matched: chain ends at public root CN=Lab Inspection CA,"
            "O=urlprobe pin tests; nobody is inspecting: the vendor changed CAs or this pin is out "
            "of date (check with openssl s_client -showcerts; replace it with --pin "
            "elsewhere=FILE)");
  const auto two = handshake(client, lab, {"elsewhere", "other"});
  ASSERT_FALSE(two.ec) << two.failure.detail;
  EXPECT_EQ(two.verdict.kind, TlsVerdict::Kind::untrusted);
  EXPECT_THAT(two.verdict.detail, StartsWith("pin elsewhere or other not matched: chain ends at "
                                             "public root CN=Lab Inspection CA"));
  EXPECT_THAT(two.verdict.detail, Not(HasSubstr("inspection in the path")));
}

TEST_F(PinnedSession, UntrustedChainIsInterceptionNamingTheRootNotTheIntermediate) {
  TlsClientContext client(
      TlsConfig{.ca_file = "", .pins = pins_with({{"elsewhere", elsewhere.root_file()}})});
  const auto result = handshake(client, lab, {"elsewhere"});
  ASSERT_TRUE(result.ec);
  EXPECT_TRUE(result.failure.untrusted);
  EXPECT_TRUE(result.failure.intercepted);
  EXPECT_EQ(result.failure.code, "pin_mismatch");
  EXPECT_EQ(result.failure.detail,
            "pin elsewhere not matched: chain ends at CN=Lab Inspection CA,O=urlprobe pin tests, "
            "which is neither a pinned nor a public root: HTTPS inspection in the path");
  ASSERT_TRUE(result.facts.has_value());
  EXPECT_FALSE(result.facts->verified);
  EXPECT_EQ(result.facts->subject, "CN=pinned origin,O=urlprobe pin tests");
}

TEST_F(PinnedSession, OtherFailuresAreExplainedAsBefore) {
  TlsClientContext client(TlsConfig{.ca_file = "", .pins = pins_with({{"lab", lab.root_file()}})});
  const auto result = handshake(client, lab, {"lab"}, "pinned.example");
  ASSERT_TRUE(result.ec);
  EXPECT_EQ(result.failure.code, "hostname_mismatch");
  EXPECT_FALSE(result.failure.intercepted);
}

TEST_F(PinnedSession, InsecureSessionsAreNotJudged) {
  TlsClientContext client(TlsConfig{
      .ca_file = "", .verify = false, .pins = pins_with({{"elsewhere", elsewhere.root_file()}})});
  const auto result = handshake(client, lab, {"elsewhere"});
  ASSERT_FALSE(result.ec);
  EXPECT_EQ(result.verdict.kind, TlsVerdict::Kind::trusted);
  EXPECT_EQ(result.verdict.code, "");
}

TEST_F(PinnedSession, OneStorePerSetOfNamesSharedByThreads) {
  TlsClientContext client(TlsConfig{
      .ca_file = "",
      .pins = pins_with({{"lab", lab.root_file()}, {"elsewhere", elsewhere.root_file()}})});
  X509_STORE* both = client.pinned_store({"lab", "elsewhere"});
  ASSERT_NE(both, nullptr);
  EXPECT_EQ(client.pinned_store({"elsewhere", "lab", "lab"}), both);
  EXPECT_NE(client.pinned_store({"lab"}), both);
  std::vector<X509_STORE*> seen(4, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&, i] { seen[i] = client.pinned_store({"microsoft-2011"}); });
  for (auto& thread : threads) thread.join();
  for (X509_STORE* store : seen) EXPECT_EQ(store, seen[0]);
  EXPECT_NE(seen[0], nullptr);
  EXPECT_THROW(client.pinned_store({"lab", "nonexistent"}), std::runtime_error);
}

TEST_F(PinnedSession, BuiltinPinsDoNotTrustTheLab) {
  // The default TlsConfig carries the built-in pins: a lab server is no Microsoft host.
  TlsClientContext client(TlsConfig{.ca_file = lab.root_file()});
  const auto result = handshake(client, lab, {"microsoft-2011", "digicert-global-root-g2"});
  ASSERT_FALSE(result.ec) << result.failure.detail;
  EXPECT_EQ(result.verdict.kind, TlsVerdict::Kind::intercepted);
  EXPECT_THAT(result.verdict.detail,
              StartsWith("pin microsoft-2011 or digicert-global-root-g2 not matched: chain ends at "
                         "CN=Lab Inspection CA"));
}

}  // namespace
}  // namespace urlprobe::net
