#pragma once
// The web prober's interface. A fetch is pinned to one address of one family, so every A
// and every AAAA address of a host is tested on its own. Results are values.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace edusight::web {

enum class Status {
  ok,              // an HTTP response arrived (any status code)
  connect_failed,  // refused / unreachable
  timeout,         // connect (4 s) or total (10 s) timeout
  tls_error,       // handshake failed (certificate problems do not count: we do not verify)
  http_error,      // malformed HTTP
  bad_url,
  dns_failed,      // (redirects) the next host has no address in the pinned family
  too_many_redirects,
  other,
};
std::string_view to_string(Status s);

struct Certificate {
  std::chrono::system_clock::time_point not_before{};
  std::chrono::system_clock::time_point not_after{};
  std::string subject;              // RFC 2253 text
  std::string issuer;
  std::vector<std::string> names;   // subjectAltName DNS names, lower case
  bool verified = false;            // chains to a trusted root (informational)
};

// One HTTP exchange with one address; no redirect following at this level.
struct FetchRequest {
  std::string url;
  boost::asio::ip::address address;  // connect only here
  std::chrono::milliseconds connect_timeout{4000};
  std::chrono::milliseconds total_timeout{10000};
  std::size_t max_body = 500 * 1024;
  bool head_only = false;
};

struct FetchResult {
  Status status = Status::other;
  long http_status = 0;
  std::string location;      // absolute, when the response is a redirect
  std::string content_type;
  std::string last_modified;
  std::string server_header;
  std::string body;          // at most max_body bytes
  bool body_truncated = false;
  std::chrono::microseconds connect_time{0};
  std::chrono::microseconds first_byte_time{0};
  std::chrono::microseconds total_time{0};
  std::optional<Certificate> certificate;  // https only
  std::string error;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  virtual boost::asio::awaitable<FetchResult> fetch(FetchRequest request) = 0;
};

// What an HTML page says, parsed with a real HTML5 parser (gumbo).
struct Page {
  std::string title;
  std::string text;                 // visible text, normalised (see normalise_text)
  std::vector<std::string> links;   // absolute http(s) URLs, fragment removed, in order, distinct
};

}  // namespace edusight::web
