#include "agent/scan_command.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <random>
#include <set>

#include "edusight/core/names.hpp"
#include "edusight/core/ownership.hpp"
#include "edusight/core/parallel.hpp"
#include "probes/discovery/classify.hpp"
#include "probes/discovery/sources.hpp"
#include "probes/dns/paced_lookup.hpp"
#include "probes/dns/resolver.hpp"
#include "probes/exposure/port_scan.hpp"
#include "probes/exposure/tls_inspect.hpp"
#include "probes/ipv6/scan_state.hpp"
#include "probes/ipv6/selfcheck.hpp"
#include "probes/ipv6/web_host.hpp"
#include "probes/ipv6/zone.hpp"
#include "probes/posture/posture.hpp"
#include "probes/web/curl_fetcher.hpp"

namespace edusight::agent {
namespace {

namespace asio = boost::asio;
using discovery::Asset;
using discovery::Source;

constexpr int kMaxLinkRounds = 3;  // hosts found by links of hosts found by links...
constexpr std::size_t kMaxLinkedFrom = 8;

std::vector<dns::Server> resolver_servers(const ScanConfig& c) {
  std::vector<dns::Server> out;
  for (const auto& e : c.resolvers) out.push_back({e.address, e.port});
  return out;
}

// Where active scanning (sweeps, port scans, brute force) may go: the own domains and
// prefixes, plus the explicit scope. Anything else gets no packet.
class Scope {
 public:
  Scope(const ScanConfig& c, const OwnershipClassifier& own) : own_(own) {
    for (const auto& p : c.discovery.scope) extra_.add(p);
  }
  bool name(std::string_view host) const { return own_.own_domain(host); }
  bool address(const asio::ip::address& a) const {
    return own_.own_address(a) || extra_.contains(a);
  }
  // The whole prefix lies inside one own or scope prefix.
  bool prefix(const Prefix& p) const {
    const auto first = parse_address(p.to_string().substr(0, p.to_string().find('/')));
    if (!first) return false;
    for (const auto& m : {own_.own_prefix(*first), extra_.match(*first)}) {
      if (m && m->length() <= p.length()) return true;
    }
    return false;
  }

 private:
  const OwnershipClassifier& own_;
  PrefixSet extra_;
};

class Progress {
 public:
  explicit Progress(bool on) : on_(on) {}
  void phase(const std::string& what, const ipv6::Reporter& r) {
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K[scan] %s (%zu findings so far)", what.c_str(), r.emitted());
    std::fflush(stderr);
  }
  void finish() {
    if (on_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool on_;
};

// One scan: the phases in order, sharing the inventory.
class Scan {
 public:
  Scan(const ScanConfig& config, const ScanInputs& inputs, ipv6::CheckContext& ctx,
       ipv6::ScanState& state, const Clock& clock, Random& random, Progress& progress)
      : cfg_(config),
        inputs_(inputs),
        ctx_(ctx),
        state_(state),
        clock_(clock),
        random_(random),
        progress_(progress),
        own_(config.institution),
        scope_(config, own_) {}

  ScanOutcome& outcome() { return outcome_; }

  // Sorts the targets into names, zones and address ranges; refuses what is out of scope.
  void take_targets() {
    for (const auto& text : cfg_.targets) {
      if (text.find('/') != std::string::npos || parse_address(text)) {
        std::string why;
        const auto p = Prefix::parse(text, &why);
        if (!p) {
          spdlog::error("target '{}': {}; skipped", text, why);
          ++outcome_.targets_refused;
        } else if (!scope_.prefix(*p)) {
          spdlog::error(
              "target '{}' is outside the own prefixes and the scan scope; refused, nothing sent",
              text);
          ++outcome_.targets_refused;
        } else {
          target_prefixes_.push_back(*p);
          ++outcome_.targets_scanned;
        }
        continue;
      }
      const auto host = canonical_host(text);
      if (!host) {
        spdlog::error("target '{}' is not a host name, zone, address or prefix; skipped", text);
        ++outcome_.targets_refused;
        continue;
      }
      if (!scope_.name(*host)) {
        spdlog::error(
            "target '{}' is outside the configured scope (own domains: {}); refused, nothing sent",
            text, fmt::join(cfg_.institution.own_domains, ", "));
        ++outcome_.targets_refused;
        continue;
      }
      target_hosts_.push_back(*host);
      ++outcome_.targets_scanned;
    }
  }

  asio::awaitable<void> run(const ipv6::VantageSource& vantage) {
    progress_.phase("self-check", ctx_.report);
    const bool trustworthy = co_await ipv6::run_selfcheck(ctx_, vantage, cfg_.agent_id);
    ctx_.report.set_ipv6_trustworthy(trustworthy);
    if (!trustworthy)
      spdlog::warn("the agent has no working IPv6: IPv6 findings are marked untrustworthy");

    const bool discover = cfg_.discovery.enabled;
    for (const auto& h : target_hosts_) inventory_.touch(h, Source::target);
    if (discover && inputs_.registry) {
      for (const auto& s : inputs_.registry->systems()) {
        if (auto* a = inventory_.touch(s.domain, Source::registry)) a->registered = &s;
      }
    }

    progress_.phase("zones", ctx_.report);
    co_await zones(discover);
    if (discover) {
      progress_.phase("address sweep", ctx_.report);
      co_await sweep();
    }
    progress_.phase("resolving", ctx_.report);
    co_await resolve_all();
    if (discover && cfg_.discovery.port_scan) {
      progress_.phase("port scan", ctx_.report);
      co_await port_scan();
      if (cfg_.discovery.certificates) co_await certificate_names();
    }
    progress_.phase("web and IPv6 checks", ctx_.report);
    co_await web(discover);
    if (discover) {
      progress_.phase("exposure and TLS", ctx_.report);
      co_await posture();
      co_await open_resolvers();
      mark_registry();
      discovery::ClassifyInput in{cfg_, own_, inputs_.registry.get(), open_ports_, clock_.now()};
      discovery::classify_and_report(inventory_, in, ctx_.report);
      if (inventory_.dropped() > 0)
        spdlog::warn("inventory full: {} names not kept", inventory_.dropped());
    }
    outcome_.assets = inventory_.all().size();
  }

 private:
  asio::awaitable<void> zones(bool discover) {
    // Zone targets get the IPv6 zone checks; every own zone is also a discovery source.
    std::set<std::string> zones;
    for (const auto& h : target_hosts_) {
      if (co_await ipv6::is_zone_apex(state_, h)) {
        co_await ipv6::check_zone(state_, h);
        zones.insert(h);
      }
    }
    if (!discover) co_return;
    for (const auto& z : cfg_.institution.own_domains) zones.insert(z);
    for (const auto& z : zones) {
      // Name and mail servers of own zones are infrastructure, found here and named so.
      for (const auto& [type, role] : {std::pair{dns::RType::NS, "name_server"},
                                       std::pair{dns::RType::MX, "mail_exchanger"}}) {
        const auto r = co_await ctx_.dns.query(z, type);
        for (const auto& rec : r.answers) {
          if (rec.type != type || rec.data.empty() || !scope_.name(rec.data)) continue;
          if (auto* a = inventory_.touch(rec.data, Source::dns_infrastructure)) a->role = role;
        }
      }
      if (cfg_.discovery.axfr) co_await discovery::discover_by_axfr(state_, z, inventory_);
      if (cfg_.discovery.wordlist) {
        const auto& words =
            inputs_.wordlist.empty() ? discovery::builtin_wordlist() : inputs_.wordlist;
        co_await discovery::discover_by_wordlist(state_, z, words, random_, inventory_);
      }
    }
  }

  asio::awaitable<void> sweep() {
    std::size_t budget = static_cast<std::size_t>(cfg_.discovery.max_sweep_addresses);
    std::vector<Prefix> prefixes = cfg_.institution.own_prefixes;
    prefixes.insert(prefixes.end(), cfg_.discovery.scope.begin(), cfg_.discovery.scope.end());
    prefixes.insert(prefixes.end(), target_prefixes_.begin(), target_prefixes_.end());
    std::set<std::string> seen;
    for (const auto& p : prefixes) {
      if (p.is_v6()) {
        if (p.length() == 128)
          add_sweep(parse_address(p.to_string().substr(0, p.to_string().find('/'))).value(), seen);
        continue;  // nobody sweeps an IPv6 prefix: known addresses only
      }
      const std::uint64_t size = std::uint64_t{1} << (32 - p.length());
      if (size > budget) {
        spdlog::warn(
            "prefix {} has {} addresses, more than the sweep budget left ({}); not swept "
            "(raise discovery.max_sweep_addresses)",
            p.to_string(), size, budget);
        continue;
      }
      for (const auto& a : discovery::expand_ipv4(p, budget)) add_sweep(a, seen);
      budget -= std::min<std::size_t>(budget, size);
    }
    if (cfg_.discovery.ptr_sweep) co_await discovery::discover_by_ptr(state_, sweep_, inventory_);
  }

  void add_sweep(const asio::ip::address& a, std::set<std::string>& seen) {
    if (seen.insert(canonical_address(a)).second) sweep_.push_back(a);
  }

  // Resolves every asset not resolved yet; the own names that CNAMEs point at join too (an
  // alias is measured under its canonical name). Two rounds: chains were followed already.
  asio::awaitable<void> resolve_all() {
    for (int round = 0; round < 2; ++round) {
      std::vector<Asset*> todo;
      for (auto& [host, a] : inventory_.all()) {
        if (!a.dns) todo.push_back(&a);
      }
      if (todo.empty()) break;
      co_await for_each_bounded(
          todo.size(), 64,
          [&](std::size_t i) -> asio::awaitable<void> {
            todo[i]->dns = co_await state_.addresses(todo[i]->host);
          },
          "resolve");
      if (!cfg_.discovery.enabled) break;
      for (auto* a : todo) {
        const auto& chain = a->dns->cname_chain;
        if (!chain.empty() && scope_.name(chain.back()) && !a->addresses().empty()) {
          inventory_.touch(chain.back(), Source::cname);
        }
      }
    }
  }

  std::vector<asio::ip::address> own_addresses_of_assets() const {
    std::vector<asio::ip::address> out;
    for (const auto& [host, a] : inventory_.all()) {
      for (const auto& addr : a.addresses()) {
        if (scope_.address(addr)) out.push_back(addr);
      }
    }
    return out;
  }

  asio::awaitable<void> scan_ports(std::vector<asio::ip::address> addrs) {
    std::vector<asio::ip::address> todo;
    for (const auto& a : addrs) {
      if (!scope_.address(a)) continue;  // belt and braces: never scan outside the scope
      if (port_scanned_.insert(canonical_address(a)).second) todo.push_back(a);
    }
    if (todo.empty()) co_return;
    exposure::ScanOptions o;
    o.max_concurrent = cfg_.limits.max_concurrent_connections * 4;
    o.new_connections_per_second = cfg_.limits.new_connections_per_second;
    o.timeout = cfg_.exposure.connect_timeout;
    exposure::PortScanner scanner(co_await asio::this_coro::executor, o);
    const auto results = co_await scanner.scan(todo, cfg_.ports);
    for (const auto& r : results) {
      if (r.state == exposure::PortState::open)
        open_ports_[canonical_address(r.address)].insert(r.port);
    }
  }

  asio::awaitable<void> port_scan() {
    auto addrs = sweep_;
    const auto more = own_addresses_of_assets();
    addrs.insert(addrs.end(), more.begin(), more.end());
    co_await scan_ports(std::move(addrs));
  }

  // Names in the certificates served on own addresses (443 open).
  asio::awaitable<void> certificate_names() {
    std::vector<asio::ip::address> tls_addrs;
    for (const auto& [addr, ports] : open_ports_) {
      if (ports.count(443)) tls_addrs.push_back(*parse_address(addr));
    }
    co_await for_each_bounded(
        tls_addrs.size(), 16,
        [&](std::size_t i) -> asio::awaitable<void> {
          const auto r = co_await exposure::inspect_tls(tls_addrs[i], 443, "",
                                                        cfg_.exposure.connect_timeout * 4);
          if (!r.certificate) co_return;
          int n = 0;
          for (const auto& name : r.certificate->dns_names) {
            if (name.find('*') != std::string::npos || ++n > 32) continue;
            const auto c = canonical_host(name);
            if (!c) continue;
            if (auto* a = inventory_.touch(*c, Source::certificate)) {
              if (a->certificate_at.size() < 8)
                a->certificate_at.push_back(canonical_address(tls_addrs[i]));
            }
          }
        },
        "certificates");
    co_await resolve_all();
    co_await scan_ports(own_addresses_of_assets());
  }

  // Own-domain hosts: the full IPv6 readiness checks (which also give the home page);
  // others: DNS and one page fetch, as a browser following a link would.
  asio::awaitable<void> web(bool discover) {
    std::set<std::string> done;
    for (int round = 0; round < kMaxLinkRounds; ++round) {
      std::vector<Asset*> todo;
      for (auto& [host, a] : inventory_.all()) {
        if (done.insert(host).second && a.dns && !a.addresses().empty()) todo.push_back(&a);
      }
      if (todo.empty()) break;
      co_await for_each_bounded(
          todo.size(), cfg_.limits.max_concurrent_hosts,
          [&](std::size_t i) -> asio::awaitable<void> {
            Asset& a = *todo[i];
            if (scope_.name(a.host)) {
              auto summary = co_await ipv6::check_web_host(state_, a.host);
              a.web_answered = summary.web;
              a.home = std::move(summary.home);
            } else if (discover) {
              co_await browse(a);
            }
          },
          "web");
      if (!discover || !cfg_.discovery.follow_links) break;
      // Hosts linked from own home pages join the inventory for the next round.
      for (auto* a : todo) {
        if (!a->home || !scope_.name(a->host)) continue;
        for (const auto& link : a->home->page.links) {
          const auto host = ipv6::url_host(link);
          if (!host || parse_address(*host)) continue;
          Asset* t = inventory_.find(*host);
          if (!t) {
            t = inventory_.touch(*host, Source::link);
            if (!t) continue;
            first_link_[*host] = link;
          } else {
            t->sources.insert(Source::link);
          }
          if (t->linked_from.size() < kMaxLinkedFrom &&
              std::find(t->linked_from.begin(), t->linked_from.end(), a->home->url) ==
                  t->linked_from.end()) {
            t->linked_from.push_back(a->home->url);
          }
        }
      }
      co_await resolve_all();
    }
  }

  // One fetch of the page a link pointed at (or the host's root), IPv4 first.
  asio::awaitable<void> browse(Asset& a) {
    const auto& v4 = a.dns->ipv4;
    const auto& v6 = a.dns->ipv6;
    const auto first = !v4.empty() ? v4.front() : v6.front();
    const auto it = first_link_.find(a.host);
    const std::string url = it != first_link_.end() ? it->second : "http://" + a.host + "/";
    const auto r = co_await state_.fetch(url, first, 500 * 1024);
    if (r.final.status != web::Status::ok) co_return;
    a.web_answered = true;
    a.home = ipv6::home_page_of(r);
  }

  asio::awaitable<void> posture() {
    std::vector<Asset*> own;
    for (auto& [host, a] : inventory_.all()) {
      if (!a.dns || a.addresses().empty()) continue;
      bool own_addr = false;
      for (const auto& addr : a.addresses()) own_addr = own_addr || scope_.address(addr);
      if (own_addr || scope_.name(host)) own.push_back(&a);
    }
    for (auto* a : own)
      posture::report_exposure(*a, open_ports_, cfg_.ports, cfg_.exposure, ctx_.report);

    // TLS of every own host that serves https (port scan or the web checks saw it).
    co_await for_each_bounded(
        own.size(), 16,
        [&](std::size_t i) -> asio::awaitable<void> {
          Asset& a = *own[i];
          std::optional<asio::ip::address> target;
          for (const auto& addr : a.addresses()) {
            const auto it = open_ports_.find(canonical_address(addr));
            if (it != open_ports_.end() && it->second.count(443)) {
              target = addr;
              break;
            }
          }
          const bool https_home = a.home && a.home->url.rfind("https://", 0) == 0;
          if (!target && https_home && scope_.name(a.host)) target = a.addresses().front();
          if (!target) co_return;
          const auto r = co_await exposure::inspect_tls(*target, 443, a.host,
                                                        cfg_.exposure.connect_timeout * 4);
          if (!r.handshake_ok) co_return;
          posture::report_tls(a.host, 443, canonical_address(*target), r, cfg_.exposure,
                              clock_.now(), ctx_.report);
        },
        "tls");
  }

  // An own address that recurses for anyone: answers with recursion available for a name
  // it is not authoritative for. The configured resolvers are the agent's own and skipped.
  asio::awaitable<void> open_resolvers() {
    std::set<std::string> configured;
    for (const auto& s : resolver_servers(cfg_)) configured.insert(canonical_address(s.address));
    std::vector<asio::ip::address> candidates;
    for (const auto& [addr, ports] : open_ports_) {
      if (ports.count(53) && !configured.count(addr)) candidates.push_back(*parse_address(addr));
    }
    for (const auto& addr : candidates) {
      dns::QueryOptions o;
      o.recursion_desired = true;
      o.timeout = cfg_.timeouts.dns;
      o.tries = 2;
      const std::string probe = "www.example.com";
      const auto r = co_await ctx_.dns.query_server({addr, 53}, probe, dns::RType::A, o);
      const bool answered = r.status == dns::Status::ok || r.status == dns::Status::nxdomain;
      if (!answered || !r.recursion_available || r.authoritative) continue;
      boost::json::object ev;
      ev["query"] = probe;
      ev["rcode"] = r.rcode;
      ev["answers"] = r.answers.size();
      ev["recursion_available"] = true;
      ev["vantage"] = "agent";
      ctx_.report.emit(
          "dns.open_resolver", Severity::high, canonical_address(addr), "",
          "A resolver on the institution's address answers recursive queries for any name",
          "本单位地址上的 DNS 服务器对任意域名提供递归解析（开放解析器）", std::move(ev));
    }
  }

  // Registry entries keep their pointer even when found again by another source.
  void mark_registry() {
    if (!inputs_.registry) return;
    for (auto& [host, a] : inventory_.all()) {
      if (!a.registered) a.registered = inputs_.registry->find(host);
    }
  }

  const ScanConfig& cfg_;
  const ScanInputs& inputs_;
  ipv6::CheckContext& ctx_;
  ipv6::ScanState& state_;
  const Clock& clock_;
  Random& random_;
  Progress& progress_;
  OwnershipClassifier own_;
  Scope scope_;
  ScanOutcome outcome_;
  std::vector<std::string> target_hosts_;
  std::vector<Prefix> target_prefixes_;
  std::vector<asio::ip::address> sweep_;
  discovery::Inventory inventory_;
  discovery::OpenPorts open_ports_;
  std::set<std::string> port_scanned_;
  std::map<std::string, std::string> first_link_;
};

}  // namespace

ScanInputs prepare_scan(const ScanConfig& config) {
  ScanInputs in;
  if (!config.registry.empty()) {
    in.registry = std::make_unique<Registry>(Registry::load(config.registry));
    for (const int line : in.registry->duplicate_lines()) {
      spdlog::warn("{}:{}: the same domain is registered again; the first entry is kept",
                   config.registry, line);
    }
  }
  if (!config.discovery.wordlist_file.empty())
    in.wordlist = discovery::load_wordlist(config.discovery.wordlist_file);
  return in;
}

ScanOutcome run_scan(const ScanConfig& config, const ScanInputs& inputs, FindingSink& sink,
                     const Clock& clock, const ScanRunOptions& options) {
  asio::io_context io;
  dns::ResolverOptions ropt;
  ropt.servers = resolver_servers(config);
  ropt.query.timeout = config.timeouts.dns;
  ropt.query.tries = config.timeouts.dns_tries;
  dns::Resolver resolver(io.get_executor(), ropt);
  dns::PacedLookup paced_dns(resolver, config.limits.dns_queries_per_second);
  web::CurlFetcherOptions fopt;
  fopt.max_in_flight = static_cast<std::size_t>(config.limits.max_concurrent_connections);
  web::CurlFetcher fetcher(fopt);
  HostPacer pacer(config.limits.requests_per_second_per_host);
  ipv6::Reporter reporter(sink, clock, config.agent_id, options.scan_id);
  RateLimiter new_requests(config.limits.new_connections_per_second);
  ipv6::CheckContext ctx{paced_dns, fetcher, config, reporter, pacer, &new_requests};
  ipv6::ScanState state(ctx);
  Progress progress(options.progress);
  SeededRandom random(options.seed != 0 ? options.seed : std::random_device{}());
  ipv6::ProcVantageSource vantage(options.proc_root);

  Scan scan(config, inputs, ctx, state, clock, random, progress);
  scan.take_targets();

  // Ctrl-C ends the scan cleanly: in-flight work is abandoned, what was found is kept.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::warn("signal {}: stopping the scan", sig);
    io.stop();
  });
  asio::co_spawn(io, scan.run(vantage), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("scan failed: {}", ex.what());
      }
    } else {
      spdlog::debug("scan coroutine done");
    }
    // The resolver keeps its sockets listening; the scan is over, so end the loop here.
    io.stop();
  });
  io.run();
  progress.finish();
  auto outcome = scan.outcome();
  outcome.findings = reporter.emitted();
  return outcome;
}

}  // namespace edusight::agent
