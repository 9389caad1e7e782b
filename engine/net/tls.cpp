#include "net/tls.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace urlprobe::net {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL drops the peer's certificate when verification fails the handshake, which is exactly
// when the user needs its names and dates: keep our own reference to the leaf.
int leaf_slot() {
  static const int slot = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* leaf, CRYPTO_EX_DATA*, int, long, void*) {
        X509_free(static_cast<X509*>(leaf));
      });
  return slot;
}

int remember_leaf(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl && leaf && !SSL_get_ex_data(ssl, leaf_slot())) {
    X509_up_ref(leaf);
    SSL_set_ex_data(ssl, leaf_slot(), leaf);
  }
  return preverify_ok;
}

X509* peer_leaf(SSL* ssl) {
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) return leaf;
  return static_cast<X509*>(SSL_get_ex_data(ssl, leaf_slot()));
}

}  // namespace

TlsClientContext::TlsClientContext(const TlsConfig& config)
    : context_(ssl::context::tls_client), verify_(config.verify) {
  SSL_CTX* ctx = context_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_set_default_verify_paths(ctx) != 1)
    throw std::runtime_error("cannot load the system trust store");
  if (!config.ca_file.empty() && SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error(fmt::format("{}: cannot load CA certificates (PEM expected)", config.ca_file));
  // Probes never resume: each measures a full handshake, as a fresh agent would.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  leaf_slot();  // created before threads share the context
  SSL_CTX_set_verify(ctx, config.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, &remember_leaf);
}

std::string prepare_client_session(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  // RFC 6066: SNI carries host names only, never IP literals.
  if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return "cannot set SNI";
  if (verify) {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                         : SSL_set1_host(ssl, host.c_str());
    if (ok != 1) return "cannot set the host name to verify";
  }
  return {};
}

namespace {

std::string name_text(const X509_NAME* name) {
  if (!name) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return text;
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string leaf_names(X509* leaf) {
  std::string names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (!sans) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    const auto* s = gn->d.dNSName;
    if (!names.empty()) names += ", ";
    names.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

}  // namespace

std::optional<TlsFacts> read_tls_facts(SSL* ssl) {
  X509* leaf = peer_leaf(ssl);
  if (!leaf) return std::nullopt;
  TlsFacts facts;
  if (SSL_is_init_finished(ssl)) {
    facts.version = SSL_get_version(ssl);
    facts.cipher = SSL_get_cipher_name(ssl);
  }
  facts.issuer = name_text(X509_get_issuer_name(leaf));
  facts.subject = name_text(X509_get_subject_name(leaf));
  facts.not_after = time_text(X509_get0_notAfter(leaf));
  facts.verified = SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && SSL_get_verify_result(ssl) == X509_V_OK &&
                   SSL_is_init_finished(ssl);
  return facts;
}

TlsFailure explain_handshake_failure(SSL* ssl, const std::string& host, const std::string& error_text) {
  const long verify = SSL_get_verify_result(ssl);
  X509* leaf = peer_leaf(ssl);
  if (verify == X509_V_OK || SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE) return {false, error_text};
  if (!leaf) return {true, fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify))};

  const std::string issuer = name_text(X509_get_issuer_name(leaf));
  switch (verify) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return {true, fmt::format("certificate expired on {}", time_text(X509_get0_notAfter(leaf)))};
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {true, fmt::format("certificate not valid before {}", time_text(X509_get0_notBefore(leaf)))};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return {true, fmt::format("host name mismatch: certificate is for [{}], not {}", leaf_names(leaf), host)};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return {true, fmt::format("self-signed certificate ({})", name_text(X509_get_subject_name(leaf)))};
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return {true, fmt::format("unknown CA: self-signed root in chain is not trusted (issuer {})", issuer)};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return {true, fmt::format("unknown CA: unable to get issuer certificate ({})", issuer)};
    case X509_V_ERR_CERT_REVOKED:
      return {true, "certificate revoked"};
    default:
      return {true, fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify))};
  }
}

}  // namespace urlprobe::net
