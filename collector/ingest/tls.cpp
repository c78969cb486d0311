#include "collector/ingest/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "edusight/core/crypto.hpp"

namespace edusight::collector {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

}  // namespace

void ensure_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                    const std::vector<std::string>& names, const Clock& clock,
                                    int days) {
  namespace fs = std::filesystem;
  if (fs::exists(cert_path) && fs::exists(key_path)) return;
  if (names.empty()) fail("a certificate needs at least one name");
  fs::create_directories(fs::path(cert_path).parent_path());
  fs::create_directories(fs::path(key_path).parent_path());

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) fail("cannot generate a P-256 key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  // A random serial: two collectors' certificates must never look like the same one.
  CryptoRandom random;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  const std::string serial_hex = "1" + random_hex(random, 15);
  BIGNUM* raw_serial = serial.get();
  BN_hex2bn(&raw_serial, serial_hex.c_str());
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  auto now = std::chrono::system_clock::to_time_t(clock.now());
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -300, &now);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("EduSight collector"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);

  std::string san;
  for (const std::string& n : names) {
    if (!san.empty()) san += ",";
    boost::system::error_code ec;
    boost::asio::ip::make_address(n, ec);
    san += (ec ? "DNS:" : "IP:") + n;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // Its own trust anchor: agents load this very file as their CA.
  const std::pair<int, std::string> extensions[] = {
      {NID_subject_alt_name, san},
      {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
      {NID_key_usage, "critical,digitalSignature,keyCertSign"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) fail("cannot build certificate extension " + value);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign the certificate");

  // Key first, 0600 from creation; temp names and renames so a crash leaves no half files.
  const std::string key_tmp = key_path + ".tmp";
  {
    const mode_t old = umask(077);
    File f(std::fopen(key_tmp.c_str(), "w"));
    umask(old);
    if (!f || !PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
      fail("cannot write " + key_tmp);
    }
  }
  const std::string cert_tmp = cert_path + ".tmp";
  {
    File f(std::fopen(cert_tmp.c_str(), "w"));
    if (!f || !PEM_write_X509(f.get(), cert.get())) fail("cannot write " + cert_tmp);
  }
  fs::rename(key_tmp, key_path);
  fs::rename(cert_tmp, cert_path);
}

std::string certificate_sha256(const std::string& cert_path) {
  std::string out = certificate_sha256_hex(cert_path);
  if (out.empty()) fail("cannot read a certificate from " + cert_path);
  return out;
}

boost::asio::ssl::context make_server_tls(const std::string& cert_path,
                                          const std::string& key_path) {
  namespace ssl = boost::asio::ssl;
  ssl::context tls(ssl::context::tls_server);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  // Idle connections give their read and write buffers back (about 34 KiB each).
  SSL_CTX_set_mode(tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  tls.use_certificate_chain_file(cert_path, ec);
  if (ec) fail("cannot load certificate " + cert_path + ": " + ec.message());
  tls.use_private_key_file(key_path, ssl::context::pem, ec);
  if (ec) fail("cannot load key " + key_path + ": " + ec.message());
  return tls;
}

}  // namespace edusight::collector
