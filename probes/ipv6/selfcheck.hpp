#pragma once
// agent.selfcheck: does the agent's own vantage have working IPv6? Without it, every IPv6
// result of the scan would be red for the wrong reason.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "probes/ipv6/context.hpp"

namespace edusight::ipv6 {

struct VantageFacts {
  std::vector<std::string> global_ipv6;  // usable (not tentative, not link-local) addresses
  bool ipv6_default_route = false;
  std::vector<std::string> interfaces_with_ipv6;
};

// Where the facts come from: /proc on a real host, a fake in unit tests.
class VantageSource {
 public:
  virtual ~VantageSource() = default;
  virtual VantageFacts read() const = 0;
};

// Reads /proc/net/if_inet6 and /proc/net/ipv6_route under `proc_root`.
class ProcVantageSource final : public VantageSource {
 public:
  explicit ProcVantageSource(std::string proc_root = "/proc") : root_(std::move(proc_root)) {}
  VantageFacts read() const override;

 private:
  std::string root_;
};

// Parsers, exposed for tests.
VantageFacts parse_proc_ipv6(const std::string& if_inet6, const std::string& ipv6_route);

// Checks the vantage and the resolvers, emits agent.selfcheck and returns whether IPv6
// results are trustworthy.
boost::asio::awaitable<bool> run_selfcheck(CheckContext& ctx, const VantageSource& source,
                                           const std::string& agent_id);

}  // namespace edusight::ipv6
