#include "edusight/core/x509.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace edusight {
namespace {

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
  std::string out;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return out;
  // RFC 2253 order and escaping, but UTF-8 kept as is (not \XX-escaped).
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0 && data != nullptr) out.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return out;
}

// The first entry of `nid` as UTF-8, whatever ASN.1 string type it was sent in.
std::string name_entry_utf8(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return {};
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0 || utf8 == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

X509Facts read_x509(X509* x) {
  X509Facts f;
  if (x == nullptr) return f;
  f.not_before = to_time_point(X509_get0_notBefore(x));
  f.not_after = to_time_point(X509_get0_notAfter(x));
  f.subject = name_text(X509_get_subject_name(x));
  f.issuer = name_text(X509_get_issuer_name(x));
  f.subject_cn = name_entry_utf8(X509_get_subject_name(x), NID_commonName);
  f.subject_o = name_entry_utf8(X509_get_subject_name(x), NID_organizationName);
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    const int n = std::min(sk_GENERAL_NAME_num(sans), 1000);
    for (int i = 0; i < n; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const auto* s = g->d.dNSName;
      std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      f.dns_names.push_back(std::move(name));
    }
    sk_GENERAL_NAME_pop_free(sans, GENERAL_NAME_free);
  }
  return f;
}

}  // namespace edusight
