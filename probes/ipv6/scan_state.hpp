#pragma once
// Per-scan memo of DNS and fetch results, so a link seen from several pages or sites is
// resolved and fetched once per family. Used from one io_context thread only.
#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "probes/dns/dns.hpp"
#include "probes/ipv6/context.hpp"
#include "probes/web/follow.hpp"

namespace edusight::ipv6 {

enum class Family { v4, v6 };
inline const char* family_name(Family f) {
  return f == Family::v4 ? "ipv4" : "ipv6";
}

// A compact verdict on one URL over one family.
struct UrlVerdict {
  bool works = false;  // final status 200-399
  long http_status = 0;
  std::string error;  // why not, when it does not
  std::string final_url;
  std::string address;  // the first hop's address
};

class ScanState {
 public:
  explicit ScanState(CheckContext& ctx) : ctx_(ctx) {}

  boost::asio::awaitable<dns::AddressLookup> addresses(const std::string& host);

  // Fetches `url`, following redirects within the family, from the host's first address of
  // that family. Paced per host.
  boost::asio::awaitable<web::ProbeResult> fetch(const std::string& url,
                                                 const boost::asio::ip::address& first,
                                                 std::size_t max_body);

  // Memoised: does `url` work over `family`?
  boost::asio::awaitable<UrlVerdict> url_works(const std::string& url, Family family);

  CheckContext& ctx() { return ctx_; }

 private:
  CheckContext& ctx_;
  std::unordered_map<std::string, dns::AddressLookup> addresses_;
  std::map<std::pair<std::string, Family>, UrlVerdict> verdicts_;
};

// The host part of an absolute URL, canonical; nullopt when it has none.
std::optional<std::string> url_host(const std::string& url);
bool works_status(long status);

}  // namespace edusight::ipv6
