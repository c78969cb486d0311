#include "probes/exposure/tls_inspect.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <ctime>
#include <memory>
#include <tuple>
#include <utility>

#include "edusight/core/names.hpp"
#include "edusight/core/x509.hpp"

namespace edusight::exposure {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

CertificateInfo certificate_of(X509* x) {
  auto f = read_x509(x);
  CertificateInfo c;
  c.not_before = f.not_before;
  c.not_after = f.not_after;
  c.subject = std::move(f.subject);
  c.issuer = std::move(f.issuer);
  c.subject_cn = std::move(f.subject_cn);
  c.subject_o = std::move(f.subject_o);
  c.dns_names = std::move(f.dns_names);
  return c;
}

struct Handshake {
  bool connected = false;
  bool ok = false;
  std::string protocol;
  std::optional<CertificateInfo> certificate;
  std::string error;
};

// `version` 0 means OpenSSL's defaults (a modern client); otherwise exactly that protocol
// version, with everything old servers need allowed. Null when this OpenSSL cannot.
std::unique_ptr<ssl::context> client_context(int version) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native_ctx = ctx->native_handle();
  ctx->set_verify_mode(ssl::verify_none);  // we inspect, we do not trust
  if (version == 0) return ctx;
  // Debian's OpenSSL 3 refuses TLS 1.0/1.1 at the default security level before a byte is
  // sent; level 0 and @SECLEVEL=0 ciphers make the attempt real.
  SSL_CTX_set_security_level(native_ctx, 0);
  if (SSL_CTX_set_min_proto_version(native_ctx, version) != 1 ||
      SSL_CTX_set_max_proto_version(native_ctx, version) != 1 ||
      SSL_CTX_set_cipher_list(native_ctx, "DEFAULT:@SECLEVEL=0") != 1) {
    return nullptr;
  }
  return ctx;
}

// One TLS connection. Shared with its deadline's handler, which may outlive the coroutine
// by a moment (a cancelled wait still completes later).
struct Connection {
  Connection(const asio::any_io_executor& ex, std::unique_ptr<ssl::context> c)
      : ctx(std::move(c)), stream(ex, *ctx) {}
  std::unique_ptr<ssl::context> ctx;
  ssl::stream<tcp::socket> stream;
  bool expired = false;
};

// (Re)starts the deadline for the next step: on expiry the socket is closed under the
// pending operation, which then ends with an error.
void arm(asio::steady_timer& deadline, const std::shared_ptr<Connection>& c,
         std::chrono::milliseconds timeout) {
  deadline.expires_after(timeout);
  deadline.async_wait([c](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the step finished in time
    c->expired = true;
    c->stream.next_layer().close(ec);
  });
}

// One connection, one handshake.
asio::awaitable<Handshake> handshake_once(std::unique_ptr<ssl::context> ctx,
                                          asio::ip::address address, std::uint16_t port,
                                          std::string sni_host, std::chrono::milliseconds timeout) {
  Handshake h;
  const auto ex = co_await asio::this_coro::executor;
  auto c = std::make_shared<Connection>(ex, std::move(ctx));
  asio::steady_timer deadline(ex);
  // RFC 6066: SNI carries host names only, never address literals.
  if (!sni_host.empty() && !parse_address(sni_host)) {
    SSL_set_tlsext_host_name(c->stream.native_handle(), sni_host.c_str());
  }
  arm(deadline, c, timeout);
  auto [ec] = co_await c->stream.next_layer().async_connect({address, port}, use_tuple);
  if (ec || c->expired) {
    h.error = c->expired ? "connect: timeout" : "connect: " + ec.message();
  } else {
    h.connected = true;
    arm(deadline, c, timeout);
    std::tie(ec) = co_await c->stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (ec || c->expired) {
      h.error = c->expired ? "handshake: timeout" : "handshake: " + ec.message();
    } else {
      h.ok = true;
      h.protocol = SSL_get_version(c->stream.native_handle());
      if (X509* leaf = SSL_get1_peer_certificate(c->stream.native_handle())) {
        h.certificate = certificate_of(leaf);
        X509_free(leaf);
      }
    }
  }
  deadline.cancel();
  // No close_notify exchange: waiting for the peer's would only cost time.
  boost::system::error_code ignored;
  c->stream.next_layer().close(ignored);
  co_return h;
}

// A presented identifier (SAN dNSName or CN) against a canonical host name.
bool name_matches(std::string_view pattern, const std::string& host) {
  while (!pattern.empty() && pattern.back() == '.') pattern.remove_suffix(1);
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    // The wildcard is the whole left-most label and stands for exactly one label; what
    // follows must be at least two labels ("*.com" is too broad) without more wildcards.
    const auto rest = canonical_host(pattern.substr(2));
    if (!rest || rest->find('*') != std::string::npos) return false;
    if (rest->find('.') == std::string::npos) return false;
    const auto dot = host.find('.');
    return dot != std::string::npos && dot > 0 &&
           host.compare(dot + 1, std::string::npos, *rest) == 0;
  }
  if (pattern.find('*') != std::string_view::npos) return false;  // partial-label wildcards
  const auto canonical = canonical_host(pattern);
  return canonical && *canonical == host;
}

}  // namespace

asio::awaitable<TlsReport> inspect_tls(asio::ip::address address, std::uint16_t port,
                                       std::string sni_host, std::chrono::milliseconds timeout) {
  TlsReport report;
  auto modern = co_await handshake_once(client_context(0), address, port, sni_host, timeout);
  report.handshake_ok = modern.ok;
  report.negotiated_protocol = modern.protocol;
  report.certificate = std::move(modern.certificate);
  report.error = std::move(modern.error);
  if (!modern.connected) co_return report;  // nothing listens; legacy tries would only wait

  struct Legacy {
    int version;
    const char* name;
  };
  static constexpr Legacy kLegacy[] = {
#ifndef OPENSSL_NO_SSL3
      {SSL3_VERSION, "SSLv3"},
#endif
      {TLS1_VERSION, "TLSv1"},
      {TLS1_1_VERSION, "TLSv1.1"},
  };
  for (const auto& legacy : kLegacy) {
    auto ctx = client_context(legacy.version);
    if (!ctx) continue;  // this OpenSSL cannot even offer it
    auto h = co_await handshake_once(std::move(ctx), address, port, sni_host, timeout);
    if (!h.ok) {
      spdlog::debug("tls {}#{} {}: {}", address.to_string(), port, legacy.name, h.error);
      continue;
    }
    report.legacy_protocols_accepted.emplace_back(legacy.name);
    if (!report.certificate) report.certificate = std::move(h.certificate);
    if (report.negotiated_protocol.empty()) report.negotiated_protocol = h.protocol;
  }
  co_return report;
}

bool certificate_matches_host(const CertificateInfo& certificate, std::string_view host) {
  if (!host.empty() && host.front() == '[' && host.back() == ']') return false;
  if (parse_address(host)) return false;
  const auto canonical = canonical_host(host);
  if (!canonical || canonical->find('*') != std::string::npos) return false;
  if (!certificate.dns_names.empty()) {
    return std::any_of(certificate.dns_names.begin(), certificate.dns_names.end(),
                       [&](const std::string& name) { return name_matches(name, *canonical); });
  }
  return !certificate.subject_cn.empty() && name_matches(certificate.subject_cn, *canonical);
}

}  // namespace edusight::exposure
