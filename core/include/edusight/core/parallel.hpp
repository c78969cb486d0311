#pragma once
// Bounded parallelism for coroutines: at most `workers` calls of fn(i) in flight, i over
// [0, count). Every spawned worker's completion is observed (errors logged), and the call
// returns only when all are done.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>

namespace edusight {

template <class F>
boost::asio::awaitable<void> for_each_bounded(std::size_t count, int workers, F fn,
                                              const char* what = "task") {
  auto ex = co_await boost::asio::this_coro::executor;
  std::size_t next = 0;
  int running = 0;
  // Never expires by itself; the last worker cancels it to wake us.
  boost::asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (next < count) {
      const std::size_t i = next++;
      co_await fn(i);
    }
  };
  const int n = static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(std::max(workers, 1)), count));
  for (int w = 0; w < n; ++w) {
    ++running;
    boost::asio::co_spawn(ex, worker(), [&, w](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex2) {
          spdlog::error("{} worker {} failed: {}", what, w, ex2.what());
        }
      }
      if (--running == 0) done.cancel();
    });
  }
  while (running > 0) {
    boost::system::error_code ec;
    co_await done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

}  // namespace edusight
