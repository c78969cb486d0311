#pragma once
// The IPv6 checks of one web host: ipv6.dns.no_aaaa, ipv6.web.unreachable,
// ipv6.web.content_mismatch, ipv6.web.slow, ipv6.links.low_support and ipv6.readiness.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "probes/ipv6/scan_state.hpp"

namespace edusight::ipv6 {

// What the home page showed, for discovery and classification (ties, abandonment signs).
struct HomePage {
  std::string url;  // after redirects
  long http_status = 0;
  web::Page page;  // title, normalised text, links (all hosts)
  std::string last_modified;
  std::string server_header;
  std::optional<web::Certificate> certificate;
};

struct WebHostSummary {
  bool web = false;  // something answered HTTP on 80 or 443
  int score = 0;
  std::optional<HomePage> home;
};

// The home page facts of a fetch (parsed with the HTML parser).
HomePage home_page_of(const web::ProbeResult& r);

boost::asio::awaitable<WebHostSummary> check_web_host(ScanState& state, std::string host);

}  // namespace edusight::ipv6
