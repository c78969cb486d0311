#pragma once
// A Lookup that keeps to a queries-per-second budget (limits.dns_queries_per_second) in
// front of another Lookup, so a scan never floods the campus resolvers.
#include "edusight/core/politeness.hpp"
#include "probes/dns/dns.hpp"

namespace edusight::dns {

class PacedLookup final : public Lookup {
 public:
  PacedLookup(Lookup& inner, double queries_per_second)
      : inner_(inner), limiter_(queries_per_second) {}

  boost::asio::awaitable<Response> query(std::string name, RType type) override {
    co_await limiter_.acquire();
    co_return co_await inner_.query(std::move(name), type);
  }
  boost::asio::awaitable<Response> query_server(Server server, std::string name, RType type,
                                                QueryOptions options) override {
    co_await limiter_.acquire();
    co_return co_await inner_.query_server(server, std::move(name), type, options);
  }
  // A and AAAA at least; CNAME chains may add a few more.
  boost::asio::awaitable<AddressLookup> addresses(std::string host) override {
    co_await limiter_.acquire(2);
    co_return co_await inner_.addresses(std::move(host));
  }
  boost::asio::awaitable<AxfrResult> axfr(Server server, std::string zone) override {
    co_await limiter_.acquire();
    co_return co_await inner_.axfr(server, std::move(zone));
  }

 private:
  Lookup& inner_;
  RateLimiter limiter_;
};

}  // namespace edusight::dns
