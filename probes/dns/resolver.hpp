#pragma once
// The asynchronous resolver behind dns::Lookup. One Resolver multiplexes thousands of queries
// over a few UDP sockets per server, connected to it (demultiplexed by random id + question;
// past 16 servers, a few shared unconnected sockets per address family), reads answers in
// batches (recvmmsg), sends the queries of one round together (sendmmsg), falls back to TCP
// on truncation and uses TCP for AXFR.
//
// Threading: all calls must come from one implicitly serialised executor (a single-threaded
// io_context or a strand); the Resolver uses that executor for its sockets and timers.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "dns.hpp"

namespace edusight::dns {

struct ResolverOptions {
  std::vector<Server> servers;  // for query() and addresses(); tried in order, rotating
  QueryOptions query;
  std::size_t max_in_flight = 2000;  // queries waiting for an answer at once
  int max_cname_depth = 8;
  // Advertised EDNS UDP payload size; 0 sends no OPT record (answers > 512 bytes truncate).
  std::uint16_t edns_udp_size = 1232;
  std::size_t sockets_per_family = 4;  // UDP sockets per server (and per family when shared)
  std::chrono::milliseconds axfr_timeout{30000};  // whole transfer
  std::size_t axfr_max_records = 100000;
};

class Resolver final : public Lookup {
 public:
  Resolver(boost::asio::any_io_executor executor, ResolverOptions options);
  ~Resolver() override;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  boost::asio::awaitable<Response> query(std::string name, RType type) override;
  boost::asio::awaitable<Response> query_server(Server server, std::string name, RType type,
                                                QueryOptions options) override;
  boost::asio::awaitable<AddressLookup> addresses(std::string host) override;
  boost::asio::awaitable<AxfrResult> axfr(Server server, std::string zone) override;

  const ResolverOptions& options() const { return options_; }

  struct Impl;  // public so that helpers in resolver.cpp can name it

 private:
  ResolverOptions options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace edusight::dns
