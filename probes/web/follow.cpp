#include "probes/web/follow.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <optional>
#include <set>

#include "edusight/core/names.hpp"

namespace edusight::web {
namespace {

namespace asio = boost::asio;

struct Target {
  std::string host;                          // lower case, no brackets
  std::optional<asio::ip::address> literal;  // when the host is an IP literal
};

std::optional<Target> http_target(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return std::nullopt;
  const auto scheme = u->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return std::nullopt;
  }
  if (!u->has_authority() || u->encoded_host().empty()) return std::nullopt;
  Target t;
  switch (u->host_type()) {
    case boost::urls::host_type::ipv4:
      t.literal = asio::ip::address(asio::ip::make_address_v4(u->host_ipv4_address().to_bytes()));
      break;
    case boost::urls::host_type::ipv6:
      t.literal = asio::ip::address(asio::ip::make_address_v6(u->host_ipv6_address().to_bytes()));
      break;
    default:
      break;
  }
  if (t.literal) {
    t.host = canonical_address(*t.literal);
  } else {
    // Percent-decoded, lower case; canonical_host also turns IDNs into A-labels.
    // canonical_host also turns IDNs into A-labels; names it rejects (e.g. with '_') are still
    // fetchable when pinned, so they fall back to plain lower case.
    const std::string raw = u->host();
    if (auto c = canonical_host(raw)) {
      t.host = std::move(*c);
    } else {
      t.host = raw;
      for (auto& ch : t.host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
  }
  return t;
}

// IPv4-mapped IPv6 is IPv4 on the wire: it belongs to the IPv4 family here.
bool is_v6_family(const asio::ip::address& a) {
  return a.is_v6() && !is_ipv4_mapped(a);
}

// Local text for dns::Status: the web library uses only the DNS interface, not its library.
std::string dns_status_text(dns::Status s) {
  switch (s) {
    case dns::Status::ok:
      return "ok";
    case dns::Status::nxdomain:
      return "nxdomain";
    case dns::Status::servfail:
      return "servfail";
    case dns::Status::refused:
      return "refused";
    case dns::Status::other_rcode:
      return "other rcode";
    case dns::Status::timeout:
      return "timeout";
    case dns::Status::network_error:
      return "network error";
    case dns::Status::malformed:
      return "malformed";
  }
  return "unknown";
}

FetchResult failure(Status s, std::string error) {
  FetchResult r;
  r.status = s;
  r.error = std::move(error);
  return r;
}

}  // namespace

bool is_redirect(long s) {
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

asio::awaitable<ProbeResult> fetch_following(Fetcher& fetcher, dns::Lookup& dns, std::string url,
                                             asio::ip::address first_address,
                                             FollowOptions options) {
  ProbeResult out;
  const bool v6 = is_v6_family(first_address);
  const int max_redirects = std::max(0, options.max_redirects);
  auto target = http_target(url);
  if (!target) {
    out.final = failure(Status::bad_url, "not an http(s) URL: " + url);
    out.final_url = url;
    co_return out;
  }
  asio::ip::address address = first_address;
  std::set<std::string> visited;

  // One iteration per request; bounded by max_redirects + 1.
  for (int hop = 0; hop <= max_redirects; ++hop) {
    visited.insert(url);
    FetchRequest req;
    req.url = url;
    req.address = address;
    req.connect_timeout = options.connect_timeout;
    req.total_timeout = options.total_timeout;
    req.max_body = options.max_body;
    req.head_only = options.head_only;
    FetchResult r = co_await fetcher.fetch(std::move(req));
    out.hops.push_back({url, address, r.http_status, r.status});

    if (r.status != Status::ok || !is_redirect(r.http_status) || r.location.empty()) {
      out.final = std::move(r);
      out.final_url = std::move(url);
      co_return out;
    }
    auto next = http_target(r.location);
    if (!next) {
      // A redirect to something we cannot fetch (mailto:, ftp:, garbage): the chain ends here.
      out.final = std::move(r);
      out.final_url = std::move(url);
      co_return out;
    }
    if (visited.count(r.location) != 0) {
      out.final_url = r.location;
      out.final = std::move(r);
      out.final.status = Status::too_many_redirects;
      out.final.error = "redirect loop at " + out.final_url;
      co_return out;
    }
    if (hop == max_redirects) {
      out.final_url = r.location;
      out.final = std::move(r);
      out.final.status = Status::too_many_redirects;
      out.final.error = "more than " + std::to_string(max_redirects) + " redirects";
      co_return out;
    }

    const std::string family = v6 ? "IPv6" : "IPv4";
    if (next->host != target->host) {
      if (next->literal) {
        if (is_v6_family(*next->literal) != v6) {
          out.final = failure(Status::dns_failed,
                              "redirect to address " + next->host + " outside " + family);
          out.final_url = r.location;
          co_return out;
        }
        address = *next->literal;
      } else {
        const dns::AddressLookup a = co_await dns.addresses(next->host);
        const auto& same = v6 ? a.ipv6 : a.ipv4;
        if (same.empty()) {
          const auto& other = v6 ? a.ipv4 : a.ipv6;
          std::string why;
          if (!other.empty() || (v6 && !a.ipv4_mapped.empty())) {
            why = "redirect to " + std::string(v6 ? "IPv4" : "IPv6") + "-only host " + next->host;
          } else if (a.status != dns::Status::ok) {
            why = "redirect to host " + next->host + " that does not resolve (" +
                  dns_status_text(a.status) + (a.error.empty() ? "" : ": " + a.error) + ")";
          } else {
            why = "redirect to host " + next->host + " without " + family + " address";
          }
          out.final = failure(Status::dns_failed, std::move(why));
          out.final_url = r.location;
          co_return out;
        }
        address = same.front();
      }
    }
    // Same host (any scheme or port): keep the pinned address.
    url = r.location;
    target = std::move(next);
  }
  // Not reached: the loop returns on its last iteration.
  out.final = failure(Status::too_many_redirects,
                      "more than " + std::to_string(max_redirects) + " redirects");
  out.final_url = url;
  co_return out;
}

}  // namespace edusight::web
