#include "net/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "net/detail/certificate.hpp"
#include "net/detail/x509_text.hpp"

namespace urlprobe::net {

namespace ssl = boost::asio::ssl;

namespace {

void free_certificate(void*, void* cert, CRYPTO_EX_DATA*, int, long, void*) {
  X509_free(static_cast<X509*>(cert));
}

// OpenSSL drops the peer's certificate when verification fails the handshake, which is exactly
// when the user needs its names and dates: keep our own reference to the leaf.
int leaf_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_certificate);
  return slot;
}

// And the certificate verification failed at: for an unknown CA, the top of the chain as far as
// it could be built, whose issuer is where the chain really ends (the leaf's issuer is only that
// when the server sent no intermediate).
int failed_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_certificate);
  return slot;
}

void keep(SSL* ssl, int slot, X509* cert) {
  if (!cert || SSL_get_ex_data(ssl, slot)) return;
  X509_up_ref(cert);
  SSL_set_ex_data(ssl, slot, cert);
}

int remember_leaf(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl) return preverify_ok;
  keep(ssl, leaf_slot(), X509_STORE_CTX_get0_cert(store));
  if (!preverify_ok) keep(ssl, failed_slot(), X509_STORE_CTX_get_current_cert(store));
  return preverify_ok;
}

X509* peer_leaf(SSL* ssl) {
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) return leaf;
  return static_cast<X509*>(SSL_get_ex_data(ssl, leaf_slot()));
}

}  // namespace

namespace {

std::vector<std::string> leaf_names(X509* leaf) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (!sans) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      const auto* s = gn->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD &&
               (gn->d.iPAddress->length == 4 || gn->d.iPAddress->length == 16)) {
      const auto* bytes = ASN1_STRING_get0_data(gn->d.iPAddress);
      if (gn->d.iPAddress->length == 4) {
        names.push_back(fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]));
      } else {
        boost::asio::ip::address_v6::bytes_type b;
        std::copy(bytes, bytes + 16, b.begin());
        names.push_back(boost::asio::ip::address_v6(b).to_string());
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string key_text(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (!key) return {};
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return fmt::format("RSA {}", bits);
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) {
        const std::string g(group, len);
        if (g == "prime256v1") return "EC P-256";
        if (g == "secp384r1") return "EC P-384";
        if (g == "secp521r1") return "EC P-521";
        return "EC " + g;
      }
      return fmt::format("EC {}", bits);
    }
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default:
      return fmt::format("{} {}", OBJ_nid2sn(EVP_PKEY_get_base_id(key)), bits);
  }
}

std::string sig_alg_text(X509* cert) {
  const int nid = X509_get_signature_nid(cert);
  return nid == NID_undef ? std::string() : OBJ_nid2ln(nid);
}

// A leaf the agent would refuse whatever its chain: SHA-1/MD5 signatures, RSA below 2048 bits.
std::string weakness(X509* leaf) {
  int digest = NID_undef, pkey = NID_undef;
  if (X509_get_signature_info(leaf, &digest, &pkey, nullptr, nullptr) == 1 &&
      (digest == NID_sha1 || digest == NID_md5 || digest == NID_md5_sha1))
    return fmt::format("weak signature algorithm ({})", sig_alg_text(leaf));
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < 2048)
    return fmt::format("weak key (RSA {})", EVP_PKEY_get_bits(key));
  return {};
}

std::string root_key(X509* cert) {
  unsigned char subject[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
  unsigned int subject_len = 0, key_len = 0;
  if (X509_NAME_digest(X509_get_subject_name(cert), EVP_sha256(), subject, &subject_len) != 1 ||
      X509_pubkey_digest(cert, EVP_sha256(), key, &key_len) != 1)
    return {};
  return std::string(reinterpret_cast<char*>(subject), subject_len) +
         std::string(reinterpret_cast<char*>(key), key_len);
}

void load_roots(const std::string& file, std::unordered_set<std::string>& into) {
  const auto text = read_certificate_file(file);
  if (!text) return;
  for (const auto& der : pem_certificates(*text))
    if (const auto fields = certificate_fields(der))
      if (auto identity = root_identity(*fields); !identity.empty())
        into.insert(std::move(identity));
}

// SSL_CERT_FILE / SSL_CERT_DIR as OpenSSL reads them, else its compiled-in defaults.
std::string cert_location(const char* variable, const char* fallback) {
  const char* value = secure_getenv(variable);
  return value ? value : fallback;
}

// The system store as SSL_CTX_set_default_verify_paths builds it (the bundle file and the
// hashed directory, each overridable by SSL_CERT_FILE / SSL_CERT_DIR), minus the OSSL_STORE
// lookup that OpenSSL 3.0 adds on the same directory: for every issuer not already in memory
// (the intermediate of every server that sends one) it lists the whole directory and runs the
// decoders, about a tenth of a probe's CPU. The hashed-directory lookup finds the same files.
// Then --ca-file.
void add_trust_lookups(X509_STORE* store, bool load_bundle, const std::string& ca_file) {
  X509_LOOKUP* by_file = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  X509_LOOKUP* by_dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
  if (!by_file || !by_dir) throw std::runtime_error("cannot load the system trust store");
  // Missing defaults are not an error (as in set_default_verify_paths): --ca-file may be all.
  if (load_bundle) X509_LOOKUP_load_file(by_file, nullptr, X509_FILETYPE_DEFAULT);
  X509_LOOKUP_add_dir(by_dir, nullptr, X509_FILETYPE_DEFAULT);
  ERR_clear_error();
  if (!ca_file.empty() && X509_STORE_load_file(store, ca_file.c_str()) != 1)
    throw std::runtime_error(
        fmt::format("{}: cannot load CA certificates (PEM expected)", ca_file));
}

std::string pin_names_text(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : " or ") + name;
  return out;
}

// The stapled OCSP response's status for the leaf: good, revoked, unknown; empty: none stapled.
// The response's own signature is not checked: it only ever makes a result worse, never better.
std::string stapled_status(SSL* ssl, X509* leaf) {
  const unsigned char* data = nullptr;
  const long len = SSL_get_tlsext_status_ocsp_resp(ssl, &data);
  if (len <= 0 || !data || !leaf) return {};
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &data, len);
  if (!response) return "unknown";
  std::string status = "unknown";
  if (OCSP_response_status(response) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    if (OCSP_BASICRESP* basic = OCSP_response_get1_basic(response)) {
      for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        OCSP_SINGLERESP* single = OCSP_resp_get0(basic, i);
        const OCSP_CERTID* id = OCSP_SINGLERESP_get0_id(single);
        ASN1_INTEGER* serial = nullptr;
        if (OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, const_cast<OCSP_CERTID*>(id)) !=
                1 ||
            !serial)
          continue;
        if (ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) != 0) continue;
        const int s = OCSP_single_get0_status(single, nullptr, nullptr, nullptr, nullptr);
        status = s == V_OCSP_CERTSTATUS_GOOD      ? "good"
                 : s == V_OCSP_CERTSTATUS_REVOKED ? "revoked"
                                                  : "unknown";
        break;
      }
      OCSP_BASICRESP_free(basic);
    }
  }
  OCSP_RESPONSE_free(response);
  return status;
}

}  // namespace

TlsClientContext::TlsClientContext(const TlsConfig& config)
    : context_(ssl::context::tls_client),
      verify_(config.verify),
      ca_file_(config.ca_file),
      pins_(config.pins),
      pinned_(std::make_unique<PinnedStores>()) {
  SSL_CTX* ctx = context_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // The bundle is parsed up front only when the hashed directory does not hold all of it (on
  // Debian it does): parsing its 140 roots cost 235 M instructions, the directory lookup parses
  // the one root a chain needs, once.
  load_bundle_ = !bundle_in_hashed_dirs(
      cert_location(X509_get_default_cert_file_env(), X509_get_default_cert_file()),
      cert_location(X509_get_default_cert_dir_env(), X509_get_default_cert_dir()));
  add_trust_lookups(SSL_CTX_get_cert_store(ctx), load_bundle_, ca_file_);
  // Probes never resume: each measures a full handshake, as a fresh agent would.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  leaf_slot();  // created before threads share the context
  failed_slot();
  SSL_CTX_set_verify(ctx, config.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, &remember_leaf);

  if (!config.public_roots.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(config.public_roots, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(config.public_roots, ec))
        if (entry.is_regular_file(ec)) load_roots(entry.path().string(), public_roots_);
    } else if (std::filesystem::exists(config.public_roots, ec)) {
      load_roots(config.public_roots, public_roots_);
    }
    if (public_roots_.empty())
      throw std::runtime_error(
          fmt::format("{}: no PEM certificates to use as public roots", config.public_roots));
  }
}

bool TlsClientContext::is_public_root(X509* anchor) const {
  return anchor && public_roots_.contains(root_key(anchor));
}

// Stores by their sorted, comma-joined pin names. X509_STORE lookups lock internally, so one
// store serves every thread once it is built.
struct TlsClientContext::PinnedStores {
  std::mutex mutex;
  std::map<std::string, X509_STORE*> stores;
  ~PinnedStores() {
    for (auto& [key, store] : stores) X509_STORE_free(store);
  }
};

TlsClientContext::~TlsClientContext() = default;
TlsClientContext::TlsClientContext(TlsClientContext&&) = default;
TlsClientContext& TlsClientContext::operator=(TlsClientContext&&) = default;

X509_STORE* TlsClientContext::pinned_store(const std::vector<std::string>& names) {
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string key;
  for (const auto& name : sorted) {
    if (!find_pin(pins_, name)) throw std::runtime_error(fmt::format("unknown pin {}", name));
    key += (key.empty() ? "" : ",") + name;
  }
  std::lock_guard lock(pinned_->mutex);
  if (auto it = pinned_->stores.find(key); it != pinned_->stores.end()) return it->second;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  if (!store) throw std::runtime_error("cannot make a certificate store");
  add_trust_lookups(store.get(), load_bundle_, ca_file_);
  for (const auto& name : sorted) {
    for (const auto& root : find_pin(pins_, name)->roots) {
      const auto* p = reinterpret_cast<const unsigned char*>(root.der.data());
      std::unique_ptr<X509, decltype(&X509_free)> cert(
          d2i_X509(nullptr, &p, static_cast<long>(root.der.size())), &X509_free);
      // A root the system store also holds is added again without complaint (OpenSSL 3).
      if (!cert || X509_STORE_add_cert(store.get(), cert.get()) != 1)
        throw std::runtime_error(
            fmt::format("pin {}: cannot add {} to a certificate store", name, root.subject));
    }
  }
  X509_STORE* built = store.release();
  pinned_->stores.emplace(std::move(key), built);
  return built;
}

std::string TlsClientContext::pin_of(X509* cert, const std::vector<std::string>& names) const {
  if (!cert) return {};
  const std::string identity = root_key(cert);
  for (const auto& name : names)
    if (const Pin* pin = find_pin(pins_, name))
      for (const auto& root : pin->roots)
        if (const auto fields = certificate_fields(root.der);
            fields && root_identity(*fields) == identity)
          return name;
  return {};
}

std::string prepare_client_session(SSL* ssl, const std::string& host, bool verify,
                                   X509_STORE* verify_store) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  // RFC 6066: SNI carries host names only, never IP literals.
  if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return "cannot set SNI";
  SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
  if (verify_store && SSL_set1_verify_cert_store(ssl, verify_store) != 1)
    return "cannot set the pinned certificate store";
  if (verify) {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                         : SSL_set1_host(ssl, host.c_str());
    if (ok != 1) return "cannot set the host name to verify";
  }
  return {};
}

std::optional<TlsFacts> read_tls_facts(SSL* ssl) {
  X509* leaf = peer_leaf(ssl);
  if (!leaf) return std::nullopt;
  TlsFacts facts;
  const bool finished = SSL_is_init_finished(ssl);
  if (finished) {
    facts.version = SSL_get_version(ssl);
    facts.cipher = SSL_get_cipher_name(ssl);
    if (const char* group = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl)))
      facts.group = group;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len) facts.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  }
  facts.issuer = name_text(X509_get_issuer_name(leaf));
  facts.subject = name_text(X509_get_subject_name(leaf));
  facts.sans = leaf_names(leaf);
  facts.not_before = time_text(X509_get0_notBefore(leaf));
  facts.not_after = time_text(X509_get0_notAfter(leaf));
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf)) == 1)
    facts.days_left = days;
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      facts.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  facts.sig_alg = sig_alg_text(leaf);
  facts.key = key_text(leaf);
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl)) facts.chain_len = sk_X509_num(sent);
  if (facts.chain_len == 0) facts.chain_len = 1;
  const bool verifying = SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;
  facts.verified = verifying && finished && SSL_get_verify_result(ssl) == X509_V_OK;
  if (facts.verified) {
    if (STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl); chain && sk_X509_num(chain) > 0)
      facts.root = name_text(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)));
  }
  if (finished) facts.ocsp = stapled_status(ssl, leaf);
  return facts;
}

TlsFailure explain_handshake_failure(SSL* ssl, const std::string& host,
                                     const std::string& error_text,
                                     const std::vector<std::string>& pins) {
  const long verify = SSL_get_verify_result(ssl);
  X509* leaf = peer_leaf(ssl);
  if (verify == X509_V_OK || SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE)
    return {false, {}, error_text};
  if (!leaf)
    return {true, "unknown_ca",
            fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify))};

  const std::string issuer = name_text(X509_get_issuer_name(leaf));
  // The pinned store holds the system roots, --ca-file and the pins: a chain that ends at a root
  // it lacks was not issued under any of them, and no public CA would have issued it.
  if (!pins.empty() && (verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                        verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                        verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                        verify == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)) {
    auto* failed = static_cast<X509*>(SSL_get_ex_data(ssl, failed_slot()));
    return {true, "pin_mismatch",
            fmt::format("pin {} not matched: chain ends at {}, which is neither a pinned nor a "
                        "public root: HTTPS inspection in the path",
                        pin_names_text(pins),
                        failed ? name_text(X509_get_issuer_name(failed)) : issuer),
            true};
  }
  switch (verify) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return {true, "expired",
              fmt::format("certificate expired on {}", time_text(X509_get0_notAfter(leaf)))};
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {true, "not_yet_valid",
              fmt::format("certificate not valid before {}", time_text(X509_get0_notBefore(leaf)))};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {true, "hostname_mismatch",
              fmt::format("host name mismatch: certificate is for [{}], not {}",
                          join(leaf_names(leaf)), host)};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return {true, "self_signed",
              fmt::format("self-signed certificate ({})", name_text(X509_get_subject_name(leaf)))};
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return {
          true, "unknown_ca",
          fmt::format("unknown CA: self-signed root in chain is not trusted (issuer {})", issuer)};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return {true, "unknown_ca",
              fmt::format("unknown CA: unable to get issuer certificate ({})", issuer)};
    case X509_V_ERR_CERT_REVOKED:
      return {true, "revoked", "certificate revoked"};
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: {
      auto why = weakness(leaf);
      return {true, "weak", why.empty() ? X509_verify_cert_error_string(verify) : why};
    }
    default:
      return {true, "unknown_ca",
              fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify))};
  }
}

namespace {

// The anchor is the usual match; any certificate of the verified chain will do, since each one
// above the leaf signed the one below it: a pinned intermediate (with its root trusted) counts.
TlsVerdict judge_pinned(SSL* ssl, const TlsClientContext& context,
                        const std::vector<std::string>& pins) {
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  const int length = chain ? sk_X509_num(chain) : 0;
  for (int i = length - 1; i >= 0; --i)
    if (auto pin = context.pin_of(sk_X509_value(chain, i), pins); !pin.empty())
      return {TlsVerdict::Kind::trusted, {}, {}, std::move(pin)};
  X509* anchor = length > 0 ? sk_X509_value(chain, length - 1) : nullptr;
  const std::string end = anchor ? name_text(X509_get_subject_name(anchor)) : "an unknown root";
  const std::string names = pin_names_text(pins);
  const std::string replace = pins.size() == 1 ? pins.front() : "NAME";
  if (context.is_public_root(anchor))
    return {TlsVerdict::Kind::untrusted,
            "pin_mismatch",
            fmt::format("pin {} not matched: chain ends at public root {}; nobody is inspecting: "
                        "the vendor changed CAs or this pin is out of date (check with openssl "
                        "s_client -showcerts; replace it with --pin {}=FILE)",
                        names, end, replace),
            {}};
  // Without a list of public roots there is no telling a vendor's change from inspection.
  if (!context.checks_public_roots())
    return {
        TlsVerdict::Kind::untrusted,
        "pin_mismatch",
        fmt::format("pin {} not matched: chain ends at {} (public roots not checked)", names, end),
        {}};
  return {TlsVerdict::Kind::intercepted,
          "pin_mismatch",
          fmt::format("pin {} not matched: chain ends at {} (not a public root): HTTPS inspection "
                      "in the path",
                      names, end),
          {}};
}

}  // namespace

TlsVerdict judge_session(SSL* ssl, const TlsClientContext& context,
                         const std::vector<std::string>& pins) {
  if (!context.verify()) return {};
  X509* leaf = peer_leaf(ssl);
  if (!leaf) return {};
  if (auto why = weakness(leaf); !why.empty())
    return {TlsVerdict::Kind::untrusted, "weak", why, {}};
  if (stapled_status(ssl, leaf) == "revoked")
    return {
        TlsVerdict::Kind::untrusted, "revoked", "certificate revoked (stapled OCSP response)", {}};
  if (!pins.empty()) return judge_pinned(ssl, context, pins);
  if (!context.checks_public_roots()) return {};
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (!chain || sk_X509_num(chain) == 0) return {};
  X509* anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
  if (context.is_public_root(anchor)) return {};
  // Its first words are how report/read.cpp knows inspection in a v1 record read back.
  return {
      TlsVerdict::Kind::intercepted,
      {},
      fmt::format("TLS intercepted: the chain is anchored in {} (issuer {}), not a public root: "
                  "HTTPS inspection "
                  "in the path",
                  name_text(X509_get_subject_name(anchor)), name_text(X509_get_issuer_name(leaf))),
      {}};
}

}  // namespace urlprobe::net
