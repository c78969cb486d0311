#pragma once
// The production Fetcher: one libcurl multi handle driven by one dedicated thread.
// Requests reach that thread through a locked queue (plus curl_multi_wakeup); each result
// goes back to the awaiting operation's executor. Every request is pinned to its address
// with CURLOPT_CONNECT_TO, so name resolution never picks another one.
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "probes/web/web.hpp"

namespace edusight::web {

struct CurlFetcherOptions {
  std::size_t max_in_flight = 256;  // transfers inside curl at once; the rest wait in a queue
  std::string user_agent = "edusight/0.1 (+IPv6 readiness check)";
  long max_host_connections = 8;    // per host name and port; 0 = no limit
  long max_cached_connections = 0;  // idle connection cache; 0 = max_in_flight
};

namespace detail {

// A type-erased completion that can be invoked once from the curl thread.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void complete(FetchResult result) = 0;
};

template <class Handler>
class HandlerCompletion final : public Completion {
 public:
  explicit HandlerCompletion(Handler h)
      : work_(boost::asio::make_work_guard(boost::asio::get_associated_executor(h))),
        handler_(std::move(h)) {}
  // Runs the handler on its own executor, never on the curl thread.
  void complete(FetchResult result) override {
    auto ex = work_.get_executor();
    boost::asio::post(ex, boost::asio::append(std::move(handler_), std::move(result)));
    work_.reset();
  }

 private:
  // Keeps the caller's io_context from running out of work while curl has the request.
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
  Handler handler_;
};

}  // namespace detail

class CurlFetcher final : public Fetcher {
 public:
  explicit CurlFetcher(CurlFetcherOptions opts = {});
  // Stops the curl thread; fetches still queued or in flight complete with Status::other.
  ~CurlFetcher() override;
  CurlFetcher(const CurlFetcher&) = delete;
  CurlFetcher& operator=(const CurlFetcher&) = delete;

  boost::asio::awaitable<FetchResult> fetch(FetchRequest request) override;

  // Any completion token: use_awaitable, a callback, deferred, ... Signature void(FetchResult).
  template <class CompletionToken>
  auto async_fetch(FetchRequest request, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(FetchResult)>(
        [this](auto handler, FetchRequest req) {
          using H = std::decay_t<decltype(handler)>;
          submit(std::move(req),
                 std::make_unique<detail::HandlerCompletion<H>>(std::move(handler)));
        },
        token, std::move(request));
  }

  struct Stats {
    std::size_t queued = 0;
    std::size_t in_flight = 0;
    std::size_t completed = 0;
  };
  Stats stats() const;

 private:
  void submit(FetchRequest request, std::unique_ptr<detail::Completion> done);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edusight::web
