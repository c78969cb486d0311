#pragma once
// TLS for the collector's listeners. A collector with no certificate configured makes its own
// self-signed one on first start (kept in the data directory), so TLS is on from the first
// minute; agents trust it by its file (ca_file) or by its fingerprint (pin_sha256).
#include <boost/asio/ssl/context.hpp>
#include <string>
#include <vector>

#include "edusight/core/clock.hpp"

namespace edusight::collector {

// Creates cert_path/key_path (ECDSA P-256, valid `days`, subjectAltName = names: DNS names
// or IP addresses) unless both exist. The key file is 0600. Throws std::runtime_error.
void ensure_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                    const std::vector<std::string>& names, const Clock& clock,
                                    int days = 825);

// SHA-256 of the certificate's DER, lower-case hex. Throws if it cannot be read.
std::string certificate_sha256(const std::string& cert_path);

// TLS 1.2 or newer with the given chain and key. Throws on a bad file.
boost::asio::ssl::context make_server_tls(const std::string& cert_path,
                                          const std::string& key_path);

}  // namespace edusight::collector
