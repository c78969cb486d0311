#include "probes/posture/posture.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/value_from.hpp>

#include "edusight/core/finding.hpp"
#include "edusight/core/names.hpp"

namespace edusight::posture {
namespace {

bool open_on(const discovery::OpenPorts& open, const boost::asio::ip::address& a,
             std::uint16_t port) {
  const auto it = open.find(canonical_address(a));
  return it != open.end() && it->second.count(port) > 0;
}

}  // namespace

void report_exposure(const discovery::Asset& asset, const discovery::OpenPorts& open_ports,
                     const std::vector<std::uint16_t>& scanned_ports, const ExposureConfig& config,
                     ipv6::Reporter& report) {
  if (!asset.dns) return;
  const auto& v4 = asset.dns->ipv4;
  const auto& v6 = asset.dns->ipv6;
  for (const auto port : scanned_ports) {
    boost::json::array open4, open6;
    for (const auto& a : v4) {
      if (open_on(open_ports, a, port)) open4.emplace_back(canonical_address(a));
    }
    for (const auto& a : v6) {
      if (open_on(open_ports, a, port)) open6.emplace_back(canonical_address(a));
    }
    const std::string subject = asset.host + ":" + std::to_string(port);
    if (!open6.empty() && open4.empty() && !v4.empty()) {
      boost::json::object ev;
      ev["port"] = port;
      ev["open_over_ipv6"] = open6;
      boost::json::array closed4;
      for (const auto& a : v4) closed4.emplace_back(canonical_address(a));
      ev["closed_or_filtered_over_ipv4"] = std::move(closed4);
      report.emit(
          "exposure.ipv6_only_open_port", Severity::high, subject, "",
          "Port open over IPv6 but closed over IPv4: the IPv6 firewall does not match the IPv4 one",
          "端口仅在 IPv6 上开放（IPv4 关闭）：IPv6 防火墙策略与 IPv4 不一致", std::move(ev));
    }
    const auto risky = std::find_if(config.risky_ports.begin(), config.risky_ports.end(),
                                    [&](const auto& p) { return p.first == port; });
    if (risky != config.risky_ports.end() && (!open4.empty() || !open6.empty())) {
      boost::json::object ev;
      ev["port"] = port;
      ev["service"] = risky->second;
      ev["open_over_ipv4"] = open4;
      ev["open_over_ipv6"] = open6;
      report.emit("exposure.risky_service", Severity::high, subject, "",
                  "High-risk service reachable: " + risky->second,
                  "高危服务对外开放：" + risky->second, std::move(ev));
    }
  }
}

void report_tls(const std::string& host, std::uint16_t port, const std::string& address,
                const exposure::TlsReport& tls, const ExposureConfig& config,
                std::chrono::system_clock::time_point now, ipv6::Reporter& report) {
  const std::string subject = host + ":" + std::to_string(port);
  if (tls.certificate) {
    const auto& c = *tls.certificate;
    auto cert_json = [&] {
      boost::json::object o;
      o["address"] = address;
      o["subject"] = c.subject;
      o["issuer"] = c.issuer;
      o["names"] = boost::json::value_from(c.dns_names);
      o["not_before"] = format_rfc3339(c.not_before);
      o["not_after"] = format_rfc3339(c.not_after);
      return o;
    };
    const auto left =
        std::chrono::duration_cast<std::chrono::hours>(c.not_after - now).count() / 24;
    if (c.not_after <= now) {
      auto ev = cert_json();
      ev["days_since_expiry"] = -left;
      report.emit("tls.cert_expired", Severity::high, subject, "", "TLS certificate has expired",
                  "TLS 证书已过期", std::move(ev));
    } else if (left < config.tls_expiring_days) {
      auto ev = cert_json();
      ev["days_left"] = left;
      ev["window_days"] = config.tls_expiring_days;
      report.emit("tls.cert_expiring", Severity::medium, subject, "",
                  "TLS certificate expires in " + std::to_string(left) + " days",
                  "TLS 证书将在 " + std::to_string(left) + " 天内过期", std::move(ev));
    }
    if (!exposure::certificate_matches_host(c, host)) {
      report.emit("tls.hostname_mismatch", Severity::medium, subject, "",
                  "TLS certificate does not name the host", "TLS 证书与主机名不匹配", cert_json());
    }
  }
  if (!tls.legacy_protocols_accepted.empty()) {
    boost::json::object ev;
    ev["address"] = address;
    ev["accepted"] = boost::json::value_from(tls.legacy_protocols_accepted);
    ev["negotiated_by_default"] = tls.negotiated_protocol;
    report.emit("tls.weak_protocol", Severity::medium, subject, "",
                "Server still accepts outdated TLS versions", "服务器仍接受过时的 TLS/SSL 协议版本",
                std::move(ev));
  }
}

}  // namespace edusight::posture
