#pragma once
// A TLS service, inspected rather than trusted: one ordinary handshake (no chain
// verification) for the protocol and the leaf certificate, then one handshake per legacy
// protocol version to learn whether the server still accepts it. Pinned to one address,
// with SNI. Results are values: an inspection never throws for network or TLS reasons.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edusight::exposure {

struct CertificateInfo {
  std::chrono::system_clock::time_point not_before{}, not_after{};
  std::string subject, issuer;         // RFC 2253 text, UTF-8 kept as is
  std::vector<std::string> dns_names;  // SAN DNS, lower case
  std::string subject_cn;
  std::string subject_o;  // organisation, UTF-8
};

struct TlsReport {
  bool handshake_ok = false;        // with a modern client (OpenSSL defaults: TLS 1.2 and up)
  std::string negotiated_protocol;  // "TLSv1.3"
  // The leaf; from a legacy handshake when only a legacy one succeeded.
  std::optional<CertificateInfo> certificate;
  // Subset of "SSLv3", "TLSv1", "TLSv1.1". SSLv3 is only tried when OpenSSL was built with it
  // (Debian's is not), so its absence there means "not tested".
  std::vector<std::string> legacy_protocols_accepted;
  std::string error;  // why the ordinary handshake failed, when it did
};

// Every step (connect, handshake) of every handshake has `timeout`.
boost::asio::awaitable<TlsReport> inspect_tls(boost::asio::ip::address address, std::uint16_t port,
                                              std::string sni_host,
                                              std::chrono::milliseconds timeout);

// RFC 6125: SAN dNSName entries (a wildcard only as the whole left-most label, never in a
// partial label, and covering exactly one label); the subject CN only when there are no SAN
// DNS names. `host` may be a U-label IDN: it is compared in A-label form. IP literals never
// match (CertificateInfo holds no IP SANs).
bool certificate_matches_host(const CertificateInfo& certificate, std::string_view host);

}  // namespace edusight::exposure
