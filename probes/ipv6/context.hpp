#pragma once
// What every IPv6 check gets: the engines, the configuration, the clock, and a reporter
// that turns measured facts into catalog findings.
#include <boost/json/object.hpp>
#include <functional>
#include <string>

#include "edusight/core/clock.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/finding.hpp"
#include "edusight/core/politeness.hpp"
#include "edusight/core/sink.hpp"
#include "probes/dns/dns.hpp"
#include "probes/web/web.hpp"

namespace edusight::ipv6 {

// Makes findings with stable ids, the scan's identity and time; marks IPv6 findings as
// untrustworthy when the agent's own vantage has no working IPv6.
class Reporter {
 public:
  Reporter(FindingSink& sink, const Clock& clock, std::string agent, std::string scan)
      : sink_(sink), clock_(clock), agent_(std::move(agent)), scan_(std::move(scan)) {}

  void set_ipv6_trustworthy(bool v) { ipv6_trustworthy_ = v; }
  bool ipv6_trustworthy() const { return ipv6_trustworthy_; }

  void emit(std::string kind, Severity severity, std::string subject,
            std::string_view discriminator, std::string title, std::string title_zh,
            boost::json::object evidence);

  std::size_t emitted() const { return emitted_; }

 private:
  FindingSink& sink_;
  const Clock& clock_;
  std::string agent_;
  std::string scan_;
  bool ipv6_trustworthy_ = true;
  std::size_t emitted_ = 0;
};

struct CheckContext {
  dns::Lookup& dns;
  web::Fetcher& web;
  const ScanConfig& config;
  Reporter& report;
  HostPacer& pacer;
  RateLimiter* new_requests = nullptr;  // global new-request rate; none in unit tests
};

}  // namespace edusight::ipv6
