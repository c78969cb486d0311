#include "edusight/core/politeness.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace edusight {
namespace {

template <class F>
std::chrono::steady_clock::duration time_of(F f) {
  boost::asio::io_context io;
  const auto start = std::chrono::steady_clock::now();
  boost::asio::co_spawn(io, f(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return std::chrono::steady_clock::now() - start;
}

TEST(RateLimiter, KeepsTheAverageRate) {
  RateLimiter limiter(200, 1);
  // 41 acquisitions at 200/s span at least 40 intervals of 5 ms (a lower bound only).
  const auto took = time_of([&]() -> boost::asio::awaitable<void> {
    for (int i = 0; i < 41; ++i) co_await limiter.acquire();
  });
  EXPECT_GE(took, std::chrono::milliseconds(190));
}

TEST(HostPacer, SpacesRequestsToOneHost) {
  HostPacer pacer(50);
  const auto same = time_of([&]() -> boost::asio::awaitable<void> {
    for (int i = 0; i < 6; ++i) co_await pacer.wait("a.example");
  });
  EXPECT_GE(same, std::chrono::milliseconds(95));
}

}  // namespace
}  // namespace edusight
