#pragma once
// Link-level IPv6 support, the way national assessments measure it: the distinct links of
// the site's own hosts at the second and third level, and the share that work over IPv6.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "probes/ipv6/scan_state.hpp"
#include "probes/web/web.hpp"

namespace edusight::ipv6 {

struct LevelCount {
  int total = 0;  // distinct links that work over IPv4 or IPv6 (dead links are not counted)
  int ipv6 = 0;   // of those, the ones that work over IPv6
  int dead = 0;   // fail on both families: the site's problem, not IPv6's
  std::vector<std::pair<std::string, std::string>> failing;  // url, why (IPv6 only)
};

struct LinkSupport {
  LevelCount level2;
  LevelCount level3;
  int total() const { return level2.total + level3.total; }
  int ipv6() const { return level2.ipv6 + level3.ipv6; }
};

// `home` is the start page as fetched over IPv4 (or IPv6 when the host has no IPv4).
boost::asio::awaitable<LinkSupport> measure_link_support(ScanState& state,
                                                         const std::string& home_url,
                                                         const web::Page& home);

}  // namespace edusight::ipv6
