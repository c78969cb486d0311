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

inline std::optional<std::filesystem::path> find_binary(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::size_t start = 0;
  for (int guard = 0; guard < 64 && start <= path.size(); ++guard) {
    const auto end = std::min(path.find(':', start), path.size());
    const std::filesystem::path p = std::filesystem::path(path.substr(start, end - start)) / name;
    if (!p.parent_path().empty() && ::access(p.c_str(), X_OK) == 0) return p;
    start = end + 1;
  }
  return std::nullopt;
}

// A port free on both 127.0.0.1 and ::1 (0 when none was found).
inline unsigned short free_port() {
  asio::io_context io;
  for (int attempt = 0; attempt < 50; ++attempt) {
    boost::system::error_code ec;
    asio::ip::tcp::acceptor a4(io);
    a4.open(asio::ip::tcp::v4());
    a4.bind({asio::ip::make_address("127.0.0.1"), 0}, ec);
    if (ec) continue;
    const auto port = a4.local_endpoint().port();
    asio::ip::tcp::acceptor a6(io);
    a6.open(asio::ip::tcp::v6(), ec);
    if (ec) return port;  // no IPv6 here: the IPv6 cases skip themselves
    a6.set_option(asio::ip::v6_only(true));
    a6.bind({asio::ip::make_address("::1"), port}, ec);
    if (!ec) return port;
  }
  return 0;
}

inline bool ipv6_loopback_available() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io);
  boost::system::error_code ec;
  a.open(asio::ip::tcp::v6(), ec);
  if (!ec) a.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

}  // namespace edusight::exposure::test
