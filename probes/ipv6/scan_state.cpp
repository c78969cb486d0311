#include "probes/ipv6/scan_state.hpp"

#include <boost/url/parse.hpp>

#include "edusight/core/names.hpp"

namespace edusight::ipv6 {

std::optional<std::string> url_host(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return std::nullopt;
  std::string host(u->encoded_host());
  if (host.size() > 2 && host.front() == '[') return host.substr(1, host.size() - 2);
  return canonical_host(host);
}

bool works_status(long status) {
  return status >= 200 && status < 400;
}

boost::asio::awaitable<dns::AddressLookup> ScanState::addresses(const std::string& host) {
  auto it = addresses_.find(host);
  if (it == addresses_.end()) {
    auto r = co_await ctx_.dns.addresses(host);
    it = addresses_.emplace(host, std::move(r)).first;
  }
  co_return it->second;
}

boost::asio::awaitable<web::ProbeResult> ScanState::fetch(const std::string& url,
                                                          const boost::asio::ip::address& first,
                                                          std::size_t max_body) {
  if (const auto host = url_host(url)) co_await ctx_.pacer.wait(*host);
  if (ctx_.new_requests) co_await ctx_.new_requests->acquire();
  web::FollowOptions opt;
  opt.connect_timeout = ctx_.config.timeouts.connect;
  opt.total_timeout = ctx_.config.timeouts.total;
  opt.max_body = max_body;
  co_return co_await web::fetch_following(ctx_.web, ctx_.dns, url, first, opt);
}

boost::asio::awaitable<UrlVerdict> ScanState::url_works(const std::string& url, Family family) {
  const auto key = std::make_pair(url, family);
  if (auto it = verdicts_.find(key); it != verdicts_.end()) co_return it->second;

  UrlVerdict v;
  const auto host = url_host(url);
  if (!host) {
    v.error = "not an http(s) URL";
  } else {
    const auto a = co_await addresses(*host);
    const auto& list = family == Family::v4 ? a.ipv4 : a.ipv6;
    if (list.empty()) {
      v.error = family == Family::v6 ? (a.ipv4_mapped.empty() ? "no AAAA" : "only IPv4-mapped AAAA")
                                     : "no A";
    } else {
      // Link checks need the status, not the page.
      const auto r = co_await fetch(url, list.front(), 16 * 1024);
      v.address = canonical_address(list.front());
      v.http_status = r.final.http_status;
      v.final_url = r.final_url;
      v.works = r.final.status == web::Status::ok && works_status(r.final.http_status);
      if (!v.works) {
        v.error = r.final.status == web::Status::ok
                      ? "HTTP " + std::to_string(r.final.http_status)
                      : std::string(web::to_string(r.final.status)) +
                            (r.final.error.empty() ? "" : ": " + r.final.error);
      }
    }
  }
  verdicts_.emplace(key, v);
  co_return v;
}

}  // namespace edusight::ipv6
