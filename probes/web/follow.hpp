#pragma once
// Redirect following pinned to one address family. The first hop goes to the given address;
// a redirect to another host uses that host's first address of the SAME family, so an IPv6
// probe that is redirected to an IPv4-only host fails (dns_failed) instead of silently
// succeeding over IPv4.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "probes/dns/dns.hpp"
#include "probes/web/web.hpp"

namespace edusight::web {

struct FollowOptions {
  int max_redirects = 5;
  std::chrono::milliseconds connect_timeout{4000};
  std::chrono::milliseconds total_timeout{10000};
  std::size_t max_body = 500 * 1024;
  bool head_only = false;
};

// One request of the chain.
struct Hop {
  std::string url;
  boost::asio::ip::address address;
  long http_status = 0;  // 0 when no response arrived
  Status status = Status::other;
};

struct ProbeResult {
  FetchResult final;      // the last response, or the reason the chain stopped
  std::string final_url;  // the URL `final` belongs to (or the redirect target that failed)
  std::vector<Hop> hops;  // every request made, in order
};

// True for 301, 302, 303, 307 and 308.
bool is_redirect(long http_status);

boost::asio::awaitable<ProbeResult> fetch_following(Fetcher& fetcher, dns::Lookup& dns,
                                                    std::string url,
                                                    boost::asio::ip::address first_address,
                                                    FollowOptions options = {});

}  // namespace edusight::web
