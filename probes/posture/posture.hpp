#pragma once
// Security posture of the institution's systems: exposure.ipv6_only_open_port,
// exposure.risky_service, the tls.* kinds and dns.open_resolver.
#include <chrono>
#include <string>
#include <vector>

#include "edusight/core/config.hpp"
#include "probes/discovery/classify.hpp"
#include "probes/exposure/tls_inspect.hpp"
#include "probes/ipv6/context.hpp"

namespace edusight::posture {

// A port open on an IPv6 address of the host and on none of its IPv4 addresses means the
// IPv6 firewall does not match the IPv4 one; a risky service answers on any address.
void report_exposure(const discovery::Asset& asset, const discovery::OpenPorts& open_ports,
                     const std::vector<std::uint16_t>& scanned_ports, const ExposureConfig& config,
                     ipv6::Reporter& report);

void report_tls(const std::string& host, std::uint16_t port, const std::string& address,
                const exposure::TlsReport& tls, const ExposureConfig& config,
                std::chrono::system_clock::time_point now, ipv6::Reporter& report);

}  // namespace edusight::posture
