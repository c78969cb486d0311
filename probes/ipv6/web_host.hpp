#pragma once
// The IPv6 checks of one web host: ipv6.dns.no_aaaa, ipv6.web.unreachable,
// ipv6.web.content_mismatch, ipv6.web.slow, ipv6.links.low_support and ipv6.readiness.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "probes/ipv6/scan_state.hpp"

namespace edusight::ipv6 {

struct WebHostSummary {
  bool web = false;  // something answered HTTP on 80 or 443
  int score = 0;
};

boost::asio::awaitable<WebHostSummary> check_web_host(ScanState& state, std::string host);

}  // namespace edusight::ipv6
