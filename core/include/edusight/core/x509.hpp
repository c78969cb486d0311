#pragma once
// What a certificate says, read once for every part that inspects TLS (the web prober and
// the TLS inspector).
#include <openssl/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace edusight {

struct X509Facts {
  std::chrono::system_clock::time_point not_before{};
  std::chrono::system_clock::time_point not_after{};
  std::string subject;  // RFC 2253 order, UTF-8 kept as is
  std::string issuer;
  std::string subject_cn;              // UTF-8
  std::string subject_o;               // organisation, UTF-8
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, lower case (at most 1000)
};

X509Facts read_x509(X509* certificate);

}  // namespace edusight
