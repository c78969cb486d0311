#pragma once
// Zone-level IPv6 checks: ipv6.dns.ns_no_ipv6 and ipv6.mail.mx_no_aaaa.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "probes/ipv6/scan_state.hpp"

namespace edusight::ipv6 {

// True when `name` is a zone apex (it has its own SOA).
boost::asio::awaitable<bool> is_zone_apex(ScanState& state, const std::string& name);

boost::asio::awaitable<void> check_zone(ScanState& state, std::string zone);

}  // namespace edusight::ipv6
