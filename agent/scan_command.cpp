#include "agent/scan_command.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <deque>

#include "edusight/core/names.hpp"
#include "probes/dns/resolver.hpp"
#include "probes/ipv6/scan_state.hpp"
#include "probes/ipv6/selfcheck.hpp"
#include "probes/ipv6/web_host.hpp"
#include "probes/ipv6/zone.hpp"
#include "probes/web/curl_fetcher.hpp"

namespace edusight::agent {
namespace {

namespace asio = boost::asio;

struct Target {
  std::string text;
  std::string host;  // canonical, when a name
};

bool in_own_domains(const ScanConfig& c, const std::string& host) {
  for (const auto& z : c.institution.own_domains) {
    if (is_within_zone(host, z)) return true;
  }
  return false;
}

std::vector<dns::Server> resolver_servers(const ScanConfig& c) {
  std::vector<dns::Server> out;
  for (const auto& text : c.resolvers) {
    const auto hash = text.find('#');
    const auto addr = parse_address(text.substr(0, hash));
    if (!addr) continue;  // validated at configuration time
    out.push_back({*addr, static_cast<std::uint16_t>(hash == std::string::npos ? 53 : std::stoi(text.substr(hash + 1)))});
  }
  return out;
}

class Progress {
 public:
  explicit Progress(bool on, std::size_t total) : on_(on), total_(total) {}
  void step(const ipv6::Reporter& r) {
    ++done_;
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K[scan] %zu/%zu targets, %zu findings", done_, total_, r.emitted());
    std::fflush(stderr);
  }
  void finish() {
    if (on_) std::fputs("\n", stderr);
  }

 private:
  bool on_;
  std::size_t total_;
  std::size_t done_ = 0;
};

}  // namespace

ScanOutcome run_scan(const ScanConfig& config, FindingSink& sink, const Clock& clock, const ScanRunOptions& options) {
  ScanOutcome outcome;

  // Scope first: a target outside the institution's zones and prefixes gets no packet.
  std::vector<Target> targets;
  for (const auto& text : config.targets) {
    if (const auto addr = parse_address(text); addr || text.find('/') != std::string::npos) {
      spdlog::warn("target '{}': address and prefix targets are swept by discovery, which this build does not "
                   "include yet; skipped",
                   text);
      ++outcome.targets_refused;
      continue;
    }
    const auto host = canonical_host(text);
    if (!host) {
      spdlog::error("target '{}' is not a host name, zone, address or prefix; skipped", text);
      ++outcome.targets_refused;
      continue;
    }
    if (!in_own_domains(config, *host)) {
      spdlog::error("target '{}' is outside the configured scope (own domains: {}); refused, nothing sent", text,
                    fmt::join(config.institution.own_domains, ", "));
      ++outcome.targets_refused;
      continue;
    }
    targets.push_back({text, *host});
  }

  asio::io_context io;
  dns::ResolverOptions ropt;
  ropt.servers = resolver_servers(config);
  ropt.query.timeout = config.timeouts.dns;
  ropt.query.tries = config.timeouts.dns_tries;
  dns::Resolver resolver(io.get_executor(), ropt);
  web::CurlFetcherOptions fopt;
  fopt.max_in_flight = static_cast<std::size_t>(config.limits.max_concurrent_connections);
  web::CurlFetcher fetcher(fopt);
  HostPacer pacer(config.limits.requests_per_second_per_host);
  ipv6::Reporter reporter(sink, clock, config.agent_id, options.scan_id);
  ipv6::CheckContext ctx{resolver, fetcher, config, reporter, pacer};
  ipv6::ScanState state(ctx);
  Progress progress(options.progress, targets.size());

  // Ctrl-C ends the scan cleanly: in-flight work is abandoned, what was found is kept.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::warn("signal {}: stopping the scan", sig);
    io.stop();
  });

  std::deque<Target> queue(targets.begin(), targets.end());
  int workers_left = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    for (std::size_t guard = 0; !queue.empty() && guard < 1'000'000; ++guard) {
      const auto t = queue.front();
      queue.pop_front();
      if (co_await ipv6::is_zone_apex(state, t.host)) co_await ipv6::check_zone(state, t.host);
      co_await ipv6::check_web_host(state, t.host);
      ++outcome.targets_scanned;
      progress.step(reporter);
    }
  };

  auto main_task = [&]() -> asio::awaitable<void> {
    ipv6::ProcVantageSource vantage(options.proc_root);
    const bool trustworthy = co_await ipv6::run_selfcheck(ctx, vantage, config.agent_id);
    reporter.set_ipv6_trustworthy(trustworthy);
    if (!trustworthy) spdlog::warn("the agent has no working IPv6: IPv6 findings are marked untrustworthy");
    const int n = std::max(1, std::min<int>(config.limits.max_concurrent_hosts, static_cast<int>(targets.size())));
    for (int i = 0; i < n; ++i) {
      ++workers_left;
      asio::co_spawn(io, worker(), [&, i](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("scan worker {} failed: {}", i, ex.what());
          }
        } else {
          spdlog::debug("scan worker {} done", i);
        }
        if (--workers_left == 0) signals.cancel();
      });
    }
    if (n == 0) signals.cancel();
  };
  asio::co_spawn(io, main_task(), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("scan failed: {}", ex.what());
    }
    signals.cancel();
  });
  io.run();
  progress.finish();
  outcome.findings = reporter.emitted();
  return outcome;
}

}  // namespace edusight::agent
