#pragma once
// The HTTP channels (generic webhook, WeCom, DingTalk, Feishu/Lark) over one small poster
// interface, so formats and reply handling are tested with a fake and the libcurl poster is
// tested once against a loopback listener.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collector/notify/notification.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::notify {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
};

struct HttpResponse {
  long status = 0;                  // 0 when no response arrived
  std::string body;                 // at most the poster's response limit
  std::string error;                // transport failure (connect, TLS, timeout); empty otherwise
  bool transport_retryable = true;  // false for errors a retry cannot fix (bad URL)
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  virtual HttpResponse post(const HttpRequest& request) = 0;  // blocking, bounded
};

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // the whole request
  std::string ca_file;                       // empty: the system's trust store
  std::size_t max_response_bytes = 64 * 1024;
};

// libcurl, one easy handle reused (keep-alive) under a mutex. HTTP and HTTPS only, no
// redirects followed, TLS peers and names always verified.
class CurlPoster final : public HttpPoster {
 public:
  explicit CurlPoster(CurlOptions options);
  ~CurlPoster() override;
  CurlPoster(const CurlPoster&) = delete;
  CurlPoster& operator=(const CurlPoster&) = delete;
  HttpResponse post(const HttpRequest& request) override;

 private:
  CurlOptions options_;
  std::mutex mutex_;
  void* handle_ = nullptr;  // CURL*
};

// Transport and HTTP status: 2xx ok; no response, 408, 429 and 5xx retryable; any other
// status (including 3xx: redirects are not followed) a failure a retry will not fix.
Delivery classify_http(const HttpResponse& response);

enum class Vendor { webhook, wecom, dingtalk, feishu };
std::string_view to_string(Vendor v);
// The robots answer 200 with a code in JSON: errcode (WeCom, DingTalk) or code (Feishu) not 0
// is a failure, retryable only for the rate-limit codes (WeCom 45009, DingTalk 130101,
// Feishu 11232). The generic webhook's body is not looked at.
Delivery classify_reply(Vendor vendor, const HttpResponse& response);

struct HttpChannelOptions {
  std::string name;
  Vendor vendor = Vendor::webhook;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // webhook only
  std::string secret;  // DingTalk / Feishu signing; empty: unsigned
};

class HttpChannel final : public Channel {
 public:
  // `clock` (signing timestamps) must outlive the channel.
  HttpChannel(HttpChannelOptions options, std::unique_ptr<HttpPoster> poster, const Clock& clock);
  const std::string& name() const override { return options_.name; }
  Delivery send(const Notification& n) override;
  // The request send() would post now; for tests and --check-config style previews.
  HttpRequest request_for(const Notification& n) const;

 private:
  HttpChannelOptions options_;
  std::unique_ptr<HttpPoster> poster_;
  const Clock& clock_;
};

}  // namespace edusight::collector::notify
