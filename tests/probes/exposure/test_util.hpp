#pragma once
// Shared by the exposure tests: running a coroutine to completion with a guard, finding
// binaries, free loopback ports.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/local_nginx.hpp"

namespace edusight::exposure::test {

namespace asio = boost::asio;

// Runs `make()`'s awaitable on a fresh io_context; throws if it does not finish in `limit`.
template <typename Make>
auto run_coro(Make make, std::chrono::seconds limit = std::chrono::seconds(60)) {
  asio::io_context io(1);
  using T = typename decltype(make())::value_type;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, make(), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out = std::move(value);
  });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("coroutine did not finish in time");
  return std::move(*out);
}

using testsupport::find_binary;
using testsupport::free_port;

inline bool ipv6_loopback_available() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io);
  boost::system::error_code ec;
  a.open(asio::ip::tcp::v6(), ec);
  if (!ec) a.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

}  // namespace edusight::exposure::test
