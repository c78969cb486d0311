#pragma once
// A TCP connect scanner: one non-blocking connect per (address, port) with a deadline, new
// connections paced by a token bucket, a bounded number in flight. Results are values: a
// scan never throws for network reasons, every pair gets exactly one result.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace edusight::exposure {

enum class PortState {
  open,      // the handshake completed
  closed,    // RST (ECONNREFUSED)
  filtered,  // no answer before the deadline, or ICMP unreachable / prohibited
};
std::string_view to_string(PortState s);

struct PortResult {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  PortState state = PortState::filtered;
  std::chrono::microseconds rtt{0};  // of the last attempt; about the timeout when filtered
};

struct ScanOptions {
  int max_concurrent = 1000;                  // connects in flight at once
  double new_connections_per_second = 20000;  // <= 0: unpaced
  std::chrono::milliseconds timeout{1000};    // per attempt
  int tries = 1;                              // attempts for a pair that stays filtered
};

// One per io_context thread: the scanner's state is not synchronised, so `ex` must not run
// handlers on several threads at once (a single-threaded io_context or a strand).
class PortScanner {
 public:
  PortScanner(boost::asio::any_io_executor ex, ScanOptions o);

  // Scans every (address, port) pair; results in any order, one per pair.
  boost::asio::awaitable<std::vector<PortResult>> scan(
      std::vector<boost::asio::ip::address> addresses, std::vector<std::uint16_t> ports);

  // Connects actually allowed in flight: max_concurrent, capped by the descriptor limit.
  int concurrency() const { return concurrency_; }

 private:
  boost::asio::any_io_executor ex_;
  ScanOptions options_;
  int concurrency_ = 1;
};

}  // namespace edusight::exposure
