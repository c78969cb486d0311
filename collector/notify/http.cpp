#include "collector/notify/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "collector/notify/format.hpp"

namespace edusight::collector::notify {

namespace {

std::once_flag g_curl_init;

struct Sink {
  std::string* out;
  std::size_t limit;
};

// Keeps the first `limit` bytes and discards the rest (a robot's reply is small; a huge one
// must not grow memory).
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->out->size() < sink->limit) {
    sink->out->append(data, std::min(n, sink->limit - sink->out->size()));
  }
  return n;
}

bool fatal_transport(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      return false;
  }
}

std::string first_bytes(const std::string& s) {
  return truncate_utf8(s, 200);
}

}  // namespace

CurlPoster::CurlPoster(CurlOptions options) : options_(std::move(options)) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  handle_ = curl_easy_init();
}

CurlPoster::~CurlPoster() {
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

HttpResponse CurlPoster::post(const HttpRequest& request) {
  HttpResponse out;
  std::lock_guard lock(mutex_);
  auto* e = static_cast<CURL*>(handle_);
  if (!e) {
    out.error = "libcurl could not make a handle";
    return out;
  }
  curl_easy_reset(e);  // keeps the connection cache, drops the previous request's options
  char errbuf[CURL_ERROR_SIZE] = {};
  Sink sink{&out.body, options_.max_response_bytes};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
  for (const auto& [k, v] : request.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_USERAGENT, "edusight-collector");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(e);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // The error buffer names the host, never the URL's query (robot keys live there).
    out.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    out.transport_retryable = !fatal_transport(rc);
    out.status = 0;
    return out;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

Delivery classify_http(const HttpResponse& r) {
  if (!r.error.empty() || r.status == 0) {
    const std::string why = r.error.empty() ? "no response" : r.error;
    return r.transport_retryable ? Delivery::retry(why) : Delivery::fatal(why);
  }
  if (r.status >= 200 && r.status < 300) return Delivery::success();
  const std::string why =
      "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + first_bytes(r.body));
  if (r.status == 408 || r.status == 429 || r.status >= 500) return Delivery::retry(why);
  return Delivery::fatal(why);
}

std::string_view to_string(Vendor v) {
  switch (v) {
    case Vendor::webhook:
      return "webhook";
    case Vendor::wecom:
      return "wecom";
    case Vendor::dingtalk:
      return "dingtalk";
    case Vendor::feishu:
      return "feishu";
  }
  return "webhook";
}

Delivery classify_reply(Vendor vendor, const HttpResponse& r) {
  Delivery d = classify_http(r);
  if (!d.ok || vendor == Vendor::webhook) return d;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    return Delivery::fatal("unexpected reply from the " + std::string(to_string(vendor)) +
                           " robot: " + first_bytes(r.body));
  }
  const auto& o = v.as_object();
  const char* key = vendor == Vendor::feishu ? "code" : "errcode";
  const auto* code = o.if_contains(key);
  if (!code || !(code->is_int64() || code->is_uint64())) {
    return Delivery::fatal("reply without " + std::string(key) + ": " + first_bytes(r.body));
  }
  const std::int64_t c =
      code->is_int64() ? code->as_int64() : static_cast<std::int64_t>(code->as_uint64());
  if (c == 0) return Delivery::success();
  std::string msg;
  for (const char* m : {"errmsg", "msg"}) {
    if (const auto* s = o.if_contains(m); s && s->is_string()) msg = std::string(s->as_string());
  }
  const std::string why =
      std::string(key) + " " + std::to_string(c) + (msg.empty() ? "" : ": " + msg);
  const bool rate_limited = (vendor == Vendor::wecom && c == 45009) ||
                            (vendor == Vendor::dingtalk && c == 130101) ||
                            (vendor == Vendor::feishu && c == 11232);
  return rate_limited ? Delivery::retry(why) : Delivery::fatal(why);
}

HttpChannel::HttpChannel(HttpChannelOptions options, std::unique_ptr<HttpPoster> poster,
                         const Clock& clock)
    : options_(std::move(options)), poster_(std::move(poster)), clock_(clock) {}

HttpRequest HttpChannel::request_for(const Notification& n) const {
  using std::chrono::duration_cast;
  const auto since_epoch = clock_.now().time_since_epoch();
  HttpRequest req;
  req.url = options_.url;
  switch (options_.vendor) {
    case Vendor::webhook:
      req.headers = options_.headers;
      req.body = webhook_json(n);
      break;
    case Vendor::wecom:
      req.body = wecom_body(n);
      break;
    case Vendor::dingtalk:
      req.body = dingtalk_body(n);
      if (!options_.secret.empty()) {
        const auto ms = duration_cast<std::chrono::milliseconds>(since_epoch).count();
        req.url = dingtalk_signed_url(options_.url, ms, options_.secret);
      }
      break;
    case Vendor::feishu: {
      const auto s = duration_cast<std::chrono::seconds>(since_epoch).count();
      req.body = feishu_body(n, options_.secret, s);
      break;
    }
  }
  return req;
}

Delivery HttpChannel::send(const Notification& n) {
  // Signed per attempt: the robots refuse timestamps older than about an hour.
  return classify_reply(options_.vendor, poster_->post(request_for(n)));
}

}  // namespace edusight::collector::notify
