#pragma once
// Politeness: a global rate and spacing of requests per host. Awaited from coroutines on
// one thread (the scan's io_context), so no locks.
#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <unordered_map>

namespace edusight {

// At most `rate` request starts per second to any one host.
class HostPacer {
 public:
  explicit HostPacer(double rate_per_second)
      : interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(1.0 / rate_per_second))) {}

  boost::asio::awaitable<void> wait(const std::string& host) {
    const auto now = std::chrono::steady_clock::now();
    auto& next = next_[host];
    const auto start = next > now ? next : now;
    next = start + interval_;
    if (start > now) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, start);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> next_;
};

// A token bucket: at most `rate` acquisitions per second on average, bursts of up to
// `burst`. Waiters are served in the order they asked.
class RateLimiter {
 public:
  explicit RateLimiter(double rate_per_second, double burst = 0)
      : rate_(rate_per_second), burst_(burst > 0 ? burst : std::max(1.0, rate_per_second / 100)) {}

  boost::asio::awaitable<void> acquire(double tokens = 1) {
    const auto now = std::chrono::steady_clock::now();
    // The slot after the last one handed out, or now when the bucket has refilled.
    const auto earliest = now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(burst_ / rate_));
    if (next_ < earliest) next_ = earliest;
    const auto start = next_;
    next_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(tokens / rate_));
    if (start > now) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, start);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
  }

 private:
  double rate_;
  double burst_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace edusight
