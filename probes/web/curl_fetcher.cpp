#include "probes/web/curl_fetcher.hpp"

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "edusight/core/names.hpp"
#include "edusight/core/x509.hpp"

namespace edusight::web {
namespace {

std::once_flag g_curl_init;

struct Transfer {
  FetchRequest req;
  FetchResult res;
  std::unique_ptr<detail::Completion> done;
  CURL* easy = nullptr;
  curl_slist* connect_to = nullptr;
  bool capped = false;
  bool cert_checked = false;
  char errbuf[CURL_ERROR_SIZE] = {};
};

Certificate certificate_of(X509* x, bool verified) {
  auto f = read_x509(x);
  Certificate c;
  c.not_before = f.not_before;
  c.not_after = f.not_after;
  c.subject = std::move(f.subject);
  c.issuer = std::move(f.issuer);
  c.names = std::move(f.dns_names);
  c.verified = verified;
  return c;
}

// The leaf certificate of the connection this transfer runs on. Asked during the transfer
// (first header) because the connection may be gone at completion, and because a reused
// connection never shows a new handshake.
void capture_certificate(Transfer& t) {
  t.cert_checked = true;
  const curl_tlssessioninfo* info = nullptr;
  if (curl_easy_getinfo(t.easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == nullptr ||
      info->backend != CURLSSLBACKEND_OPENSSL || info->internals == nullptr) {
    return;
  }
  auto* ssl = static_cast<SSL*>(info->internals);
  X509* leaf = SSL_get1_peer_certificate(ssl);
  if (leaf == nullptr) return;
  // We do not verify (VERIFYPEER off), but OpenSSL still checks the chain against the CA
  // bundle curl loaded and keeps the outcome: informational only.
  t.res.certificate = certificate_of(leaf, SSL_get_verify_result(ssl) == X509_V_OK);
  X509_free(leaf);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->cert_checked) capture_certificate(*t);
  (void)data;
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  const size_t room = t->req.max_body - std::min(t->req.max_body, t->res.body.size());
  if (len <= room) {
    t->res.body.append(data, len);
    return len;
  }
  // Cap reached: keep what fits and abort; the short return ends the transfer with
  // CURLE_WRITE_ERROR, which completion turns back into success.
  t->res.body.append(data, room);
  t->capped = true;
  return room;  // anything but len aborts
}

Status status_of(CURLcode rc) {
  switch (rc) {
    case CURLE_OK:
      return Status::ok;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Status::connect_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return Status::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return Status::tls_error;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_TOO_MANY_REDIRECTS:
      return Status::http_error;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::bad_url;
    default:
      return Status::other;
  }
}

std::chrono::microseconds micros(CURL* easy, CURLINFO what) {
  curl_off_t v = 0;
  if (curl_easy_getinfo(easy, what, &v) != CURLE_OK) return {};
  return std::chrono::microseconds(v);
}

std::string header_value(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
    return {};
  }
  return h->value ? std::string(h->value) : std::string();
}

FetchResult error_result(Status s, std::string error) {
  FetchResult r;
  r.status = s;
  r.error = std::move(error);
  return r;
}

}  // namespace

struct CurlFetcher::Impl {
  CurlFetcherOptions opts;
  CURLM* multi = nullptr;
  std::thread thread;

  mutable std::mutex mu;
  std::deque<std::unique_ptr<Transfer>> queue;  // guarded by mu
  bool stopping = false;                        // guarded by mu
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> completed{0};

  // Owned by the curl thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;
  std::vector<CURL*> idle;  // easy handles kept for reuse (bounded by max_in_flight)

  void run();
  void start(std::unique_ptr<Transfer> t);
  void finish(CURL* easy, CURLcode rc);
  void deliver(std::unique_ptr<Transfer> t);
  void release(CURL* easy);
};

void CurlFetcher::Impl::deliver(std::unique_ptr<Transfer> t) {
  if (t->connect_to != nullptr) curl_slist_free_all(t->connect_to);
  t->connect_to = nullptr;
  completed.fetch_add(1, std::memory_order_relaxed);
  t->done->complete(std::move(t->res));
}

void CurlFetcher::Impl::release(CURL* easy) {
  if (idle.size() < opts.max_in_flight) {
    curl_easy_reset(easy);
    idle.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

void CurlFetcher::Impl::start(std::unique_ptr<Transfer> t) {
  const auto& a = t->req.address;
  if (a.is_unspecified()) {
    t->res = error_result(Status::bad_url, "no address to connect to");
    deliver(std::move(t));
    return;
  }
  // "::ADDR:" = any URL host, any port -> ADDR, same port. Only ADDR is ever contacted.
  const std::string text = canonical_address(a);
  const std::string rule = a.is_v6() ? "::[" + text + "]:" : "::" + text + ":";
  t->connect_to = curl_slist_append(nullptr, rule.c_str());

  CURL* e = nullptr;
  if (!idle.empty()) {
    e = idle.back();
    idle.pop_back();
  } else {
    e = curl_easy_init();
  }
  if (e == nullptr || t->connect_to == nullptr) {
    if (e != nullptr) release(e);
    t->res = error_result(Status::other, "out of memory");
    deliver(std::move(t));
    return;
  }
  t->easy = e;
  const auto ms = [](std::chrono::milliseconds d) {
    return static_cast<long>(std::max<long long>(1, d.count()));
  };
  curl_easy_setopt(e, CURLOPT_URL, t->req.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through a proxy from the environment
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms(t->req.connect_timeout));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms(t->req.total_timeout));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  // We inspect certificates, we do not trust them.
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  if (t->req.head_only) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);

  active.emplace(e, std::move(t));
  in_flight.store(active.size(), std::memory_order_relaxed);
  if (const CURLMcode mc = curl_multi_add_handle(multi, e); mc != CURLM_OK) {
    auto owned = std::move(active[e]);
    active.erase(e);
    in_flight.store(active.size(), std::memory_order_relaxed);
    release(e);
    owned->res = error_result(Status::other, curl_multi_strerror(mc));
    deliver(std::move(owned));
  }
}

void CurlFetcher::Impl::finish(CURL* easy, CURLcode rc) {
  auto it = active.find(easy);
  if (it == active.end()) return;
  auto t = std::move(it->second);
  active.erase(it);
  in_flight.store(active.size(), std::memory_order_relaxed);
  curl_multi_remove_handle(multi, easy);

  FetchResult& r = t->res;
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  r.http_status = code;
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t->capped)) {
    r.status = Status::ok;
    r.body_truncated = t->capped;
  } else {
    r.status = status_of(rc);
    r.error = t->errbuf[0] != '\0' ? std::string(t->errbuf) : std::string(curl_easy_strerror(rc));
  }
  r.connect_time = micros(easy, CURLINFO_CONNECT_TIME_T);
  r.first_byte_time = micros(easy, CURLINFO_STARTTRANSFER_TIME_T);
  r.total_time = micros(easy, CURLINFO_TOTAL_TIME_T);
  if (code > 0) {
    const char* s = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &s) == CURLE_OK && s) r.location = s;
    if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s) r.content_type = s;
    r.last_modified = header_value(easy, "Last-Modified");
    r.server_header = header_value(easy, "Server");
  }
  release(easy);
  deliver(std::move(t));
}

void CurlFetcher::Impl::run() {
  // Runs until the destructor sets `stopping`; every iteration blocks at most 1 s in poll.
  for (;;) {
    std::vector<std::unique_ptr<Transfer>> fresh;
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      while (!queue.empty() && active.size() + fresh.size() < opts.max_in_flight) {
        fresh.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    for (auto& t : fresh) start(std::move(t));

    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    // Bounded: curl hands out each finished transfer once.
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg == CURLMSG_DONE) finish(m->easy_handle, m->data.result);
    }
    bool more_waiting = false;
    {
      std::lock_guard lock(mu);
      more_waiting = !queue.empty() && active.size() < opts.max_in_flight;
    }
    if (!more_waiting) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }

  // Shutdown: whatever is left completes with an error.
  for (auto& [easy, t] : active) {
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    t->res = error_result(Status::other, "fetcher shut down");
    deliver(std::move(t));
  }
  active.clear();
  in_flight.store(0);
  std::deque<std::unique_ptr<Transfer>> rest;
  {
    std::lock_guard lock(mu);
    rest.swap(queue);
  }
  for (auto& t : rest) {
    t->res = error_result(Status::other, "fetcher shut down");
    deliver(std::move(t));
  }
  for (CURL* e : idle) curl_easy_cleanup(e);
  idle.clear();
}

CurlFetcher::CurlFetcher(CurlFetcherOptions opts) : impl_(std::make_unique<Impl>()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (opts.max_in_flight == 0) opts.max_in_flight = 1;
  impl_->opts = std::move(opts);
  impl_->multi = curl_multi_init();
  const long cache = impl_->opts.max_cached_connections > 0
                         ? impl_->opts.max_cached_connections
                         : static_cast<long>(impl_->opts.max_in_flight);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, cache);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, impl_->opts.max_host_connections);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

CurlFetcher::~CurlFetcher() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable()) impl_->thread.join();
  curl_multi_cleanup(impl_->multi);
}

void CurlFetcher::submit(FetchRequest request, std::unique_ptr<detail::Completion> done) {
  auto t = std::make_unique<Transfer>();
  t->req = std::move(request);
  t->done = std::move(done);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->queue.push_back(std::move(t));
    }
  }
  if (t) {  // refused: the fetcher is shutting down
    t->done->complete(error_result(Status::other, "fetcher shut down"));
    return;
  }
  curl_multi_wakeup(impl_->multi);
}

boost::asio::awaitable<FetchResult> CurlFetcher::fetch(FetchRequest request) {
  co_return co_await async_fetch(std::move(request), boost::asio::use_awaitable);
}

CurlFetcher::Stats CurlFetcher::stats() const {
  Stats s;
  {
    std::lock_guard lock(impl_->mu);
    s.queued = impl_->queue.size();
  }
  s.in_flight = impl_->in_flight.load(std::memory_order_relaxed);
  s.completed = impl_->completed.load(std::memory_order_relaxed);
  return s;
}

}  // namespace edusight::web
