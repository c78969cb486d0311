#include "tls_trust.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cctype>

#include "edusight/core/crypto.hpp"

namespace edusight::forward {

namespace ssl = boost::asio::ssl;

namespace {

bool is_address_literal(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

std::string der_sha256_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

}  // namespace

std::string normalize_pin(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ':' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Error prepare_client_context(ssl::context& ctx, const TlsTrust& trust) {
  if (trust.ca_file.empty() && trust.pin_sha256.empty())
    return Error{Errc::bad_options, "TLS needs a CA file or a certificate pin"};
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (!trust.ca_file.empty()) {
    boost::system::error_code ec;
    ctx.load_verify_file(trust.ca_file, ec);
    if (ec)
      return Error{Errc::bad_options, "cannot load CA file " + trust.ca_file + ": " + ec.message()};
    ctx.set_verify_mode(ssl::verify_peer);
  } else {
    ctx.set_verify_mode(ssl::verify_none);  // the pin, checked after the handshake, decides
  }
  return Error{};
}

Error prepare_client_connection(SSL* native, const TlsTrust& trust) {
  const bool literal = is_address_literal(trust.server_name);
  // RFC 6066: SNI carries host names only, never address literals.
  if (!literal) SSL_set_tlsext_host_name(native, trust.server_name.c_str());
  if (!trust.ca_file.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    const int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, trust.server_name.c_str())
                           : SSL_set1_host(native, trust.server_name.c_str());
    if (ok != 1) return Error{Errc::bad_options, "cannot verify against name " + trust.server_name};
  }
  return Error{};
}

std::string handshake_failure(SSL* native, const boost::system::error_code& ec) {
  std::string why = ec.message();
  const long verify = SSL_get_verify_result(native);
  if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  return why;
}

Error check_pin(SSL* native, const TlsTrust& trust) {
  if (trust.pin_sha256.empty()) return Error{};
  X509* peer = SSL_get1_peer_certificate(native);
  if (!peer) return Error{Errc::pin_mismatch, "server sent no certificate"};
  const auto got = der_sha256_hex(peer);
  X509_free(peer);
  if (got != normalize_pin(trust.pin_sha256))
    return Error{Errc::pin_mismatch, "server certificate sha256 " + got};
  return Error{};
}

}  // namespace edusight::forward
