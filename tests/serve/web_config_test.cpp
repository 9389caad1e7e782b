// --web-config: exporter-toolkit's file format read strictly, its TLS context, bcrypt basic auth.
#include "serve/web_config.hpp"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

namespace urlprobe::serve {
namespace {

using ::testing::HasSubstr;

std::string error_of(std::string_view yaml, std::string_view source = "web.yml") {
  try {
    (void)parse_web_config(yaml, source);
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string bcrypt(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof setting), nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), setting, &data, sizeof data);
  EXPECT_NE(hash, nullptr);
  return hash;
}

std::string basic(std::string_view user_colon_password) {
  std::string out(4 * ((user_colon_password.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(user_colon_password.data()),
                                static_cast<int>(user_colon_password.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

// ----------------------------------------------------------------------------- good files

TEST(WebConfigParse, EmptyFileIsPlainHttpWithoutAuth) {
  for (const char* text : {"", "# nothing\n", "---\n", "\n\n  # indented comment\n"}) {
    const WebConfig c = parse_web_config(text, "web.yml");
    EXPECT_FALSE(c.tls()) << text;
    EXPECT_FALSE(c.auth()) << text;
  }
}

TEST(WebConfigParse, TlsOnly) {
  const WebConfig c = parse_web_config(
      "tls_server_config:\n"
      "  cert_file: /etc/urlprobe/cert.pem\n"
      "  key_file: /etc/urlprobe/key.pem\n"
      "  min_version: TLS13\n",
      "/etc/urlprobe/web.yml");
  EXPECT_TRUE(c.tls());
  EXPECT_FALSE(c.auth());
  EXPECT_EQ(c.cert_file, "/etc/urlprobe/cert.pem");
  EXPECT_EQ(c.key_file, "/etc/urlprobe/key.pem");
  EXPECT_EQ(c.min_version, "TLS13");
  EXPECT_EQ(c.cert_file_at, "/etc/urlprobe/web.yml:2:14");
  EXPECT_EQ(c.key_file_at, "/etc/urlprobe/web.yml:3:13");
}

TEST(WebConfigParse, AuthOnly) {
  const std::string hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
  const WebConfig c = parse_web_config(
      "basic_auth_users:\n  prometheus: " + hash + "\n  'ops team': \"" + hash + "\"\n", "web.yml");
  EXPECT_FALSE(c.tls());
  ASSERT_EQ(c.basic_auth_users.size(), 2u);
  EXPECT_EQ(c.basic_auth_users[0], std::make_pair(std::string("prometheus"), hash));
  EXPECT_EQ(c.basic_auth_users[1], std::make_pair(std::string("ops team"), hash));
}

TEST(WebConfigParse, BothWithCommentsQuotesAndDocumentMarker) {
  const WebConfig c = parse_web_config(
      "--- # exporter web config\n"
      "# TLS first\n"
      "tls_server_config:   # trailing comment\n"
      "    cert_file: 'it''s.pem'\n"
      "    key_file: \"key\\u00e9.pem\"   # é\n"
      "    client_auth_type: RequireAndVerifyClientCert\n"
      "    client_ca_file: ca#1.pem\n"
      "    cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "
      "'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']\n"
      "    curve_preferences:\n"
      "    - X25519\n"
      "    - CurveP256\n"
      "    prefer_server_cipher_suites: false\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Content-Security-Policy: \"default-src 'self'\"\n"
      "basic_auth_users:\n"
      "  alice: $2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n",
      "web.yml");
  EXPECT_EQ(c.cert_file, "it's.pem");
  EXPECT_EQ(c.key_file, "key\xC3\xA9.pem");
  EXPECT_EQ(c.client_ca_file, "ca#1.pem");  // '#' starts a comment only after a blank
  EXPECT_EQ(c.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(c.cipher_suites, (std::vector<std::string>{"ECDHE-ECDSA-AES128-GCM-SHA256",
                                                       "ECDHE-RSA-AES256-GCM-SHA384"}));
  EXPECT_EQ(c.curve_preferences, (std::vector<std::string>{"X25519", "P-256"}));
  EXPECT_FALSE(c.prefer_server_cipher_suites);
  ASSERT_EQ(c.headers.size(), 2u);
  EXPECT_EQ(c.headers[1].second, "default-src 'self'");
  ASSERT_EQ(c.basic_auth_users.size(), 1u);
  EXPECT_EQ(c.basic_auth_users[0].first, "alice");
}

TEST(WebConfigParse, RelativePathsAreResolvedAgainstTheConfigFolder) {
  const WebConfig c = parse_web_config(
      "tls_server_config:\n  cert_file: tls/cert.pem\n  key_file: /abs/key.pem\n"
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
      "/srv/conf/web.yml");
  EXPECT_EQ(c.cert_file, "/srv/conf/tls/cert.pem");
  EXPECT_EQ(c.key_file, "/abs/key.pem");
  EXPECT_EQ(c.client_ca_file, "/srv/conf/ca.pem");
  // A config named without a folder leaves them relative to the working directory.
  EXPECT_EQ(
      parse_web_config("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n", "web.yml")
          .cert_file,
      "c.pem");
}

// exporter-toolkit's own examples: TLS 1.3 suites listed (Go ignores them), and a verifying
// client policy without client_ca_file (Go then verifies against the host's roots).
TEST(WebConfigParse, AcceptsWhatExporterToolkitAccepts) {
  const WebConfig c = parse_web_config(
      "tls_server_config:\n"
      "  cert_file: \"server.crt\"\n"
      "  key_file: \"server.key\"\n"
      "  client_auth_type: \"VerifyClientCertIfGiven\"\n"
      "  cipher_suites:\n"
      "  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
      "  - TLS_AES_128_GCM_SHA256\n"
      "  - TLS_CHACHA20_POLY1305_SHA256\n",
      "web.yml");
  EXPECT_EQ(c.client_auth_type, "VerifyClientCertIfGiven");
  EXPECT_EQ(c.cipher_suites, std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
}

TEST(WebConfigParse, CrlfLineEndsAndEmptySectionsAreAccepted) {
  const WebConfig c = parse_web_config(
      "tls_server_config:\r\nbasic_auth_users: ~\r\nhttp_server_config:\r\n", "web.yml");
  EXPECT_FALSE(c.tls());
  EXPECT_FALSE(c.auth());
}

// ----------------------------------------------------------------------------- errors

TEST(WebConfigErrors, EachProblemIsNamedWithItsLineAndColumn) {
  const std::string hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tls_server_config:\n  cert_fil: a\n",
       "web.yml:2:3: unknown key 'cert_fil' in tls_server_config"},
      {"basic_auth_user:\n", "web.yml:1:1: unknown key 'basic_auth_user' in the top level"},
      {"basic_auth_users:\n  a: " + hash + "\n  a: " + hash + "\n",
       "web.yml:3:3: duplicate key 'a' (first on line 2)"},
      {"tls_server_config:\n  cert_file: a\n   key_file: b\n", "web.yml:3:4: bad indentation"},
      {"tls_server_config:\n    cert_file: a\n  key_file: b\n", "web.yml:3:3: bad indentation"},
      {"tls_server_config:\n\tcert_file: a\n", "web.yml:2:1: tab in indentation"},
      {"basic_auth_users:\n  bob: secret\n",
       "web.yml:2:8: basic_auth_users: the value for 'bob' is not a bcrypt hash"},
      {"basic_auth_users:\n  bob:\n",
       "web.yml:2:3: basic_auth_users: the value for 'bob' is not a bcrypt hash"},
      {"tls_server_config:\n  cert_file: a.pem\n",
       "web.yml:2:3: cert_file is set but key_file is not"},
      {"tls_server_config:\n  key_file: a.pem\n",
       "web.yml:2:3: key_file is set but cert_file is not"},
      {"tls_server_config:\n  min_version: TLS12\n",
       "web.yml:2:3: tls_server_config needs cert_file and key_file"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: SSL3\n",
       "web.yml:4:16: min_version: 'SSL3' is not TLS10, TLS11, TLS12 or TLS13"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  max_version: "
       "TLS12\n",
       "web.yml:4:16: min_version is above max_version"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Maybe\n",
       "web.yml:4:21: client_auth_type: 'Maybe' is not"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
       "web.yml:4:3: client_ca_file is set but client_auth_type does not ask"},
      {"tls_server_config:\n  cert: abc\n",
       "web.yml:2:3: cert: inline PEM is not supported; use cert_file"},
      {"tls_server_config:\n  client_allowed_sans: [a]\n",
       "web.yml:2:3: client_allowed_sans is not supported"},
      {"tls_server_config:\n  cipher_suites: [TLS_NOPE]\n",
       "web.yml:2:19: cipher_suites: 'TLS_NOPE' is not a TLS 1.2"},
      {"tls_server_config:\n  curve_preferences: [P-256]\n",
       "web.yml:2:23: curve_preferences: 'P-256' is not"},
      {"http_server_config:\n  http2: true\n",
       "web.yml:2:10: http2: urlprobe serve speaks HTTP/1.1 only"},
      {"http_server_config:\n  http2: yes please\n", "web.yml:2:10: http2: expected true or false"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "web.yml:3:22: X-Frame-Options: expected deny or sameorigin"},
      {"http_server_config:\n  headers:\n    Server: x\n",
       "web.yml:3:5: unknown key 'Server' in http_server_config.headers"},
      {"rate_limit:\n  burst: 1\n", "web.yml:1:1: rate_limit is not supported"},
      {"tls_server_config: {cert_file: a}\n",
       "web.yml:1:20: flow mappings ('{...}') are not supported"},
      {"a: &x 1\n", "web.yml:1:4: anchors ('&') are not supported"},
      {"a: *x\n", "web.yml:1:4: aliases ('*') are not supported"},
      {"a: !!str 1\n", "web.yml:1:4: tags ('!') are not supported"},
      {"tls_server_config:\n  cert_file: >\n", "web.yml:2:14: block scalars"},
      {"tls_server_config:\n  cert: |\n", "web.yml:2:9: block scalars"},
      {"tls_server_config:\n  cipher_suites: [a, b,\n", "web.yml:2:18: unterminated '['"},
      {"tls_server_config:\n  cipher_suites: [a b] c\n",
       "web.yml:2:24: unexpected text after the value"},
      {"tls_server_config:\n  cert_file: 'a\n", "web.yml:2:14: unterminated quoted string"},
      {"tls_server_config:\n  cert_file: \"a\\q\"\n", "web.yml:2:16: unsupported escape '\\q'"},
      {"tls_server_config:\n  cert_file: \"a\" b\n",
       "web.yml:2:18: unexpected text after the value"},
      {"tls_server_config:\n  cert_file: a: b\n", "web.yml:2:15: unexpected ':' in a plain value"},
      {"tls_server_config:\n  cert_file: a\n    b\n",
       "web.yml:3:5: bad indentation (a value continued"},
      {"tls_server_config:\n  cipher_suites: [a, b\n", "web.yml:2:18: unterminated '['"},
      {"tls_server_config:\n  cipher_suites:\n  - a: b\n",
       "web.yml:3:5: a sequence entry must be a scalar, not a mapping"},
      {"tls_server_config\n", "web.yml:1:1: expected 'key: value'"},
      {"tls_server_config:\n  cipher_suites: [a, , b]\n",
       "web.yml:2:22: empty entry in a flow sequence"},
      {"- a\n", "web.yml:1:1: expected a mapping at the top level"},
      {"tls_server_config: x\n", "web.yml:1:20: tls_server_config: expected a mapping"},
      {"tls_server_config:\n  cipher_suites: x\n", "web.yml:2:18: cipher_suites: expected a list"},
      {"a:b\n", "web.yml:1:1: expected 'key: value'"},
      {"---\na: 1\n---\n", "web.yml:3:1: more than one YAML document"},
      {"a: 1\x01\n", "web.yml:1:5: control character in the file"},
      {"basic_auth_users:\n  'a:b': " + hash + "\n",
       "web.yml:2:3: basic_auth_users: a user name cannot contain ':'"},
  };
  for (const auto& [yaml, expected] : cases)
    EXPECT_THAT(error_of(yaml), ::testing::StartsWith(expected)) << yaml;
}

TEST(WebConfigErrors, DeepNestingIsRefusedNotRecursedInto) {
  std::string yaml;
  for (int level = 0; level < 40; ++level) yaml += std::string(level, ' ') + "a:\n";
  EXPECT_THAT(error_of(yaml), ::testing::StartsWith("web.yml:17:17: nested deeper than 16 levels"));
}

TEST(WebConfigErrors, ABadHashIsNeverQuotedItMayBeAPastedPassword) {
  const std::string e = error_of("basic_auth_users:\n  bob: hunter2-is-my-password\n");
  EXPECT_THAT(e, HasSubstr("web.yml:2:8"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("hunter2")));
}

TEST(WebConfigErrors, AnUnreadableFileIsNamed) {
  try {
    (void)read_web_config("/nonexistent/urlprobe/web.yml");
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/urlprobe/web.yml: cannot read: No such file"));
  }
}

// ----------------------------------------------------------------------------- basic auth

TEST(BasicAuth, AcceptsTheRightPasswordAndRefusesOthers) {
  const BasicAuth auth({{"alice", bcrypt("s3cret")}, {"bob", bcrypt("other")}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.allows(basic("alice:s3cret")));
  EXPECT_TRUE(auth.allows(basic("bob:other")));
  EXPECT_FALSE(auth.allows(basic("alice:other")));
  EXPECT_FALSE(auth.allows(basic("alice:s3cre")));
  EXPECT_FALSE(auth.allows(basic("carol:s3cret")));  // unknown user, checked against the dummy
  EXPECT_FALSE(auth.allows(basic("alice:")));
}

TEST(BasicAuth, ACachedSuccessStillChecksThePassword) {
  const BasicAuth auth({{"alice", bcrypt("s3cret")}});
  EXPECT_TRUE(auth.allows(basic("alice:s3cret")));
  EXPECT_TRUE(auth.allows(basic("alice:s3cret")));  // from the cache
  EXPECT_FALSE(auth.allows(basic("alice:wrong")));
  EXPECT_FALSE(auth.allows(basic("alice:s3cret ")));
  EXPECT_TRUE(auth.allows(basic("alice:s3cret")));
}

TEST(BasicAuth, CopiesShareTheirUsers) {
  const BasicAuth auth({{"alice", bcrypt("pw")}});
  const BasicAuth copy = auth;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(copy.allows(basic("alice:pw")));
  EXPECT_FALSE(copy.allows(basic("alice:px")));
}

TEST(BasicAuth, MalformedHeadersAreRefused) {
  const BasicAuth auth({{"alice", bcrypt("pw")}});
  const std::string good = basic("alice:pw");
  const std::string b64 = good.substr(6);
  EXPECT_TRUE(auth.allows("basic " + b64));  // the scheme is case-insensitive
  EXPECT_TRUE(auth.allows("  Basic   " + b64 + " "));
  for (const std::string& bad :
       {std::string(""), std::string("Basic"), std::string("Basic "), "Bearer " + b64,
        "Basic" + b64, b64, "Basic " + b64.substr(1), "Basic " + b64 + "=",
        "Basic " + b64.substr(0, b64.size() - 1) + "!",
        std::string("Basic YWxpY2U="),  // "alice", no colon
        std::string("Basic Og=="),      // ":"
        basic(std::string("alice\0x:pw", 10)), basic(std::string("alice:pw\0", 9)),
        basic("alice:pw" + std::string(80, 'x'))}) {
    EXPECT_FALSE(auth.allows(bad)) << bad;
  }
}

TEST(BasicAuth, LongerPasswordsThanBcryptReadAreRefusedNotTruncated) {
  const std::string password(72, 'p');
  const BasicAuth auth({{"alice", bcrypt(password)}});
  EXPECT_TRUE(auth.allows(basic("alice:" + password)));
  EXPECT_FALSE(auth.allows(basic("alice:" + password + "extra")));
}

TEST(BasicAuth, ConcurrentChecksAgreeWithSerialOnes) {
  const BasicAuth auth({{"alice", bcrypt("pw")}});
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0}, refused{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        (auth.allows(basic((i + t) % 2 ? "alice:pw" : "alice:nope")) ? allowed : refused)++;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 40);
  EXPECT_EQ(refused.load(), 40);
}

// More verified pairs than the cache holds: the oldest are forgotten, never confused.
TEST(BasicAuth, EveryUserStillWorksPastTheCacheBound) {
  // One hash for all: bcrypt does not bind the user name, and each hash made costs a bcrypt.
  const std::string hash = bcrypt("pw");
  std::vector<std::pair<std::string, std::string>> users;
  for (int i = 0; i < 260; ++i) users.emplace_back("user" + std::to_string(i), hash);
  const BasicAuth auth(users);
  for (int i = 0; i < 260; ++i)
    ASSERT_TRUE(auth.allows(basic("user" + std::to_string(i) + ":pw"))) << i;
  for (int i : {0, 1, 259}) {
    EXPECT_TRUE(auth.allows(basic("user" + std::to_string(i) + ":pw"))) << i;
    EXPECT_FALSE(auth.allows(basic("user" + std::to_string(i) + ":pw2"))) << i;
  }
}

TEST(BasicAuth, NoUsersMeansDisabled) {
  const BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
}

TEST(BasicAuth, ParsedHashesWork) {
  const std::string hash = bcrypt("from-yaml");
  const WebConfig c = parse_web_config("basic_auth_users:\n  prom: '" + hash + "'\n", "web.yml");
  const BasicAuth auth(c.basic_auth_users);
  EXPECT_TRUE(auth.allows(basic("prom:from-yaml")));
  EXPECT_FALSE(auth.allows(basic("prom:from-yam1")));
}

// ----------------------------------------------------------------------------- TLS

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Pkey new_key() {
  return Pkey(EVP_EC_gen("P-256"), &EVP_PKEY_free);
}

// A certificate for KEY named CN, signed by ISSUER_KEY as ISSUER (itself when null).
Cert new_cert(EVP_PKEY* key, const char* cn, EVP_PKEY* issuer_key = nullptr, X509* issuer = nullptr,
              bool ca = false) {
  static long serial = 0;
  Cert cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (ca) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    static int count = 0;
    dir = std::filesystem::temp_directory_path() /
          ("urlprobe-webconfig-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

struct Pki {
  Pkey ca_key = new_key(), server_key = new_key(), other_key = new_key(), client_key = new_key();
  Cert ca = new_cert(ca_key.get(), "urlprobe test CA", nullptr, nullptr, true);
  Cert server = new_cert(server_key.get(), "localhost");
  Cert client = new_cert(client_key.get(), "prometheus", ca_key.get(), ca.get());
};

std::string tls_error_of(const WebConfig& config) {
  try {
    (void)make_server_tls(config);
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ServerTls, LoadsAMatchingPairFromPathsRelativeToTheConfig) {
  TempDir tmp;
  Pki pki;
  tmp.write("cert.pem", pem(pki.server.get()));
  tmp.write("key.pem", pem(pki.server_key.get()));
  const std::string path =
      tmp.write("web.yml", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n");
  const WebConfig config = read_web_config(path);
  EXPECT_EQ(config.cert_file, (tmp.dir / "cert.pem").string());
  auto ctx = make_server_tls(config);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.native_handle()), TLS1_2_VERSION);
}

TEST(ServerTls, AMismatchedPairIsRefusedNamingTheKeyLine) {
  TempDir tmp;
  Pki pki;
  tmp.write("cert.pem", pem(pki.server.get()));
  tmp.write("key.pem", pem(pki.other_key.get()));
  const std::string path =
      tmp.write("web.yml", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n");
  EXPECT_THAT(tls_error_of(read_web_config(path)),
              HasSubstr(path + ":3:13: key_file " + (tmp.dir / "key.pem").string() +
                        " does not match cert_file"));
}

TEST(ServerTls, MissingAndNonPemFilesAreNamedWithTheirConfigLine) {
  TempDir tmp;
  Pki pki;
  tmp.write("key.pem", pem(pki.server_key.get()));
  tmp.write("junk.pem", "not a certificate\n");
  const std::string missing =
      tmp.write("a.yml", "tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n");
  EXPECT_THAT(tls_error_of(read_web_config(missing)),
              HasSubstr(missing + ":2:14: cert_file " + (tmp.dir / "nope.pem").string() +
                        ": No such file or directory"));
  const std::string junk =
      tmp.write("b.yml", "tls_server_config:\n  cert_file: junk.pem\n  key_file: key.pem\n");
  EXPECT_THAT(tls_error_of(read_web_config(junk)), HasSubstr(junk + ":2:14: cert_file "));
  EXPECT_THAT(tls_error_of(read_web_config(junk)), HasSubstr("not a PEM certificate"));
}

// A handshake over a socket pair (no network): the server asks for and verifies a client
// certificate under RequireAndVerifyClientCert, and refuses a client without one.
bool handshake(boost::asio::ssl::context& server_ctx, boost::asio::ssl::context& client_ctx) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::local::stream_protocol::socket a(io), b(io);
  asio::local::connect_pair(a, b);
  asio::ssl::stream<asio::local::stream_protocol::socket&> server(a, server_ctx),
      client(b, client_ctx);
  boost::system::error_code server_ec, client_ec;
  server.async_handshake(asio::ssl::stream_base::server, [&](auto ec) {
    server_ec = ec;
    if (ec) a.close();
  });
  client.async_handshake(asio::ssl::stream_base::client, [&](auto ec) {
    client_ec = ec;
    if (ec) b.close();
  });
  io.run();
  return !server_ec && !client_ec;
}

TEST(ServerTls, RequireAndVerifyClientCertChecksTheClientAgainstTheCa) {
  TempDir tmp;
  Pki pki;
  tmp.write("cert.pem", pem(pki.server.get()));
  tmp.write("key.pem", pem(pki.server_key.get()));
  tmp.write("ca.pem", pem(pki.ca.get()));
  const std::string path =
      tmp.write("web.yml",
                "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                "  client_ca_file: ca.pem\n"
                "  client_auth_type: RequireAndVerifyClientCert\n");
  auto server = make_server_tls(read_web_config(path));

  namespace ssl = boost::asio::ssl;
  ssl::context with_cert(ssl::context::tls_client);
  const std::string client_cert = pem(pki.client.get()), client_key = pem(pki.client_key.get());
  with_cert.use_certificate(boost::asio::buffer(client_cert), ssl::context::pem);
  with_cert.use_private_key(boost::asio::buffer(client_key), ssl::context::pem);
  EXPECT_TRUE(handshake(server, with_cert));

  ssl::context without(ssl::context::tls_client);
  EXPECT_FALSE(handshake(server, without));

  // A certificate from another issuer is refused too.
  ssl::context stranger(ssl::context::tls_client);
  const std::string self_cert = pem(pki.server.get()), self_key = pem(pki.server_key.get());
  stranger.use_certificate(boost::asio::buffer(self_cert), ssl::context::pem);
  stranger.use_private_key(boost::asio::buffer(self_key), ssl::context::pem);
  EXPECT_FALSE(handshake(server, stranger));
}

TEST(ServerTls, MaxVersionIsApplied) {
  TempDir tmp;
  Pki pki;
  tmp.write("cert.pem", pem(pki.server.get()));
  tmp.write("key.pem", pem(pki.server_key.get()));
  const std::string path =
      tmp.write("web.yml",
                "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                "  max_version: TLS12\n");
  auto server = make_server_tls(read_web_config(path));
  EXPECT_EQ(SSL_CTX_get_max_proto_version(server.native_handle()), TLS1_2_VERSION);
  namespace ssl = boost::asio::ssl;
  ssl::context tls13_only(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls13_only.native_handle(), TLS1_3_VERSION);
  EXPECT_FALSE(handshake(server, tls13_only));
  ssl::context any(ssl::context::tls_client);
  EXPECT_TRUE(handshake(server, any));
}

}  // namespace
}  // namespace urlprobe::serve
