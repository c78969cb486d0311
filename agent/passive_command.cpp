#include "agent/passive_command.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "edusight/core/clock.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/duration.hpp"
#include "edusight/core/names.hpp"
#include "edusight/core/ownership.hpp"
#include "edusight/core/sink.hpp"
#include "probes/passive/capture.hpp"
#include "probes/passive/decode.hpp"
#include "probes/passive/monitor.hpp"

namespace edusight::agent {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) {
  g_stop = 1;
}

// SIGINT/SIGTERM end the capture; without SA_RESTART they also cut the wait for packets short.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "agent";
  return buf;
}

std::string run_id(const Clock& clock) {
  std::string compact;
  for (const char c : format_rfc3339(clock.now())) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", std::random_device{}());
  return "passive-" + compact + "-" + suffix;
}

std::vector<boost::asio::ip::address> addresses_or_throw(const std::vector<std::string>& texts,
                                                         const std::string& origin) {
  std::vector<boost::asio::ip::address> out;
  for (const auto& t : texts) {
    const auto a = parse_address(t);
    if (!a) throw ConfigError(origin, 0, 0, "'" + t + "' is not an IPv4 or IPv6 address");
    out.push_back(*a);
  }
  return out;
}

// Decodes each packet into one reused Facts and hands it to the monitor.
class Pipeline final : public passive::PacketConsumer {
 public:
  Pipeline(passive::LinkType link, passive::Monitor& monitor) : link_(link), monitor_(monitor) {}
  void on_packet(const passive::Packet& p) override {
    const bool ok = passive::decode(link_, p.data, p.caplen, facts_);
    monitor_.packet(facts_, ok, p.length, p.timestamp);
  }

 private:
  passive::LinkType link_;
  passive::Monitor& monitor_;
  passive::Facts facts_;
};

void print_stats(const passive::MonitorStats& s, const passive::CaptureCounters& c) {
  std::string reasons;
  for (std::size_t i = 1; i < passive::kMalformedReasons; ++i) {
    if (s.by_reason[i] == 0) continue;
    reasons += reasons.empty() ? "" : ",";
    reasons += std::string(passive::to_string(static_cast<passive::Malformed>(i))) + ":" +
               std::to_string(s.by_reason[i]);
  }
  const auto evicted = s.names_dropped + s.routers_dropped + s.servers_dropped + s.tunnels_dropped +
                       s.addresses_dropped;
  std::fprintf(
      stderr,
      "edusight-agent passive: packets=%llu bytes=%llu decoded=%llu not_ip=%llu "
      "fragments=%llu malformed=%llu reasons={%s} evicted=%llu (names=%llu routers=%llu "
      "dhcpv6_servers=%llu tunnels=%llu ipv6_addresses=%llu) kernel_received=%llu "
      "kernel_dropped=%llu intervals=%llu findings=%llu\n",
      static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.bytes),
      static_cast<unsigned long long>(s.decoded), static_cast<unsigned long long>(s.not_ip),
      static_cast<unsigned long long>(s.fragments), static_cast<unsigned long long>(s.malformed),
      reasons.c_str(), static_cast<unsigned long long>(evicted),
      static_cast<unsigned long long>(s.names_dropped),
      static_cast<unsigned long long>(s.routers_dropped),
      static_cast<unsigned long long>(s.servers_dropped),
      static_cast<unsigned long long>(s.tunnels_dropped),
      static_cast<unsigned long long>(s.addresses_dropped),
      static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.dropped),
      static_cast<unsigned long long>(s.intervals), static_cast<unsigned long long>(s.findings));
}

}  // namespace

int run_passive_command(const PassiveFlags& flags) {
  InstitutionProfile institution;
  passive::MonitorOptions options;
  std::optional<std::chrono::milliseconds> duration;
  OutputFormat format = isatty(STDOUT_FILENO) == 1 ? OutputFormat::table : OutputFormat::jsonl;
  try {
    if (flags.interface.empty() == flags.read.empty())
      throw ConfigError("passive", 0, 0, "give exactly one of --interface IF and --read FILE");
    for (const auto& d : flags.own_domains)
      institution.own_domains.push_back(parse_domain_or_throw(d, "--own-domain"));
    for (const auto& p : flags.own_prefixes)
      institution.own_prefixes.push_back(parse_prefix_or_throw(p, "--own-prefix"));
    options.allowed_routers = addresses_or_throw(flags.allowed_routers, "--allowed-router");
    options.allowed_dhcpv6_servers =
        addresses_or_throw(flags.allowed_dhcpv6_servers, "--allowed-dhcpv6-server");
    const auto interval = edusight::parse_duration(flags.interval, true);
    if (!interval || *interval < std::chrono::seconds(1))
      throw ConfigError(
          "--interval", 0, 0,
          "'" + flags.interval + "' must be a duration of at least 1s such as 30s, 5m");
    options.interval = std::chrono::duration_cast<std::chrono::seconds>(*interval);
    if (!flags.duration.empty()) {
      duration = edusight::parse_duration(flags.duration, true);
      if (!duration || duration->count() <= 0)
        throw ConfigError("--duration", 0, 0,
                          "'" + flags.duration + "' must be a duration such as 500ms, 30s, 5m");
    }
    if (flags.format == "jsonl")
      format = OutputFormat::jsonl;
    else if (flags.format == "table")
      format = OutputFormat::table;
    else if (!flags.format.empty())
      throw ConfigError("--format", 0, 0, "'" + flags.format + "' must be jsonl or table");
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "edusight-agent: configuration error: %s\n", e.what());
    return kExitUsage;
  }

  // Open first (needs privileges), then drop them before the first packet is decoded.
  std::unique_ptr<passive::PacketSource> source;
  try {
    if (!flags.interface.empty()) {
      passive::LiveOptions live;
      live.interface = flags.interface;
      live.filter = flags.filter;
      source = passive::open_live(live);
    } else {
      source = passive::open_file(flags.read, flags.filter);
    }
    spdlog::info("passive: {}", passive::drop_privileges(flags.user));
  } catch (const passive::CaptureError& e) {
    std::fprintf(stderr, "edusight-agent: %s\n", e.what());
    return kExitUsage;
  }

  SystemClock clock;
  const bool live = !flags.interface.empty();
  options.packet_time = !live;
  options.max_names = flags.max_names;
  options.interface =
      live ? flags.interface : std::filesystem::path(flags.read).filename().string();
  options.agent = flags.agent_id.empty() ? host_name() : flags.agent_id;
  options.scan = run_id(clock);

  JsonlSink jsonl(stdout);
  TableSink table(stdout);
  FindingSink& sink = format == OutputFormat::jsonl ? static_cast<FindingSink&>(jsonl)
                                                    : static_cast<FindingSink&>(table);
  const OwnershipClassifier ownership(institution);
  passive::Monitor monitor(options, ownership, sink, clock);
  Pipeline pipeline(source->link_type(), monitor);

  g_stop = 0;
  install_stop_handlers();
  const auto started = clock.steady_now();
  int status = kExitOk;
  // Bounded by the file's end, --duration or a signal; each round hands over a bounded batch.
  while (g_stop == 0) {
    auto wait = std::chrono::milliseconds(100);
    if (duration) {
      const auto left = *duration - std::chrono::duration_cast<std::chrono::milliseconds>(
                                        clock.steady_now() - started);
      if (left <= std::chrono::milliseconds(0)) break;
      wait = std::min(wait, left);
    }
    const auto st = source->dispatch(live ? 512 : 4096, wait, pipeline);
    monitor.poll();
    if (st == passive::PacketSource::Status::end) break;
    if (st == passive::PacketSource::Status::error) {
      std::fprintf(stderr, "edusight-agent: capture failed: %s\n", source->error().c_str());
      status = kExitInternal;
      break;
    }
  }
  if (g_stop != 0) spdlog::info("passive: stopped by a signal; reporting the last interval");
  monitor.finish();
  sink.close();
  print_stats(monitor.stats(), source->counters());
  return status;
}

void add_passive_command(CLI::App& app) {
  auto flags = std::make_shared<PassiveFlags>();
  auto* cmd = app.add_subcommand(
      "passive",
      "Watch an interface or read a pcap/pcapng file: passive DNS, TLS SNI and HTTP Host names, "
      "rogue Router Advertisements and DHCPv6 servers, IPv6 tunnels and the IPv6 share per "
      "interval; JSONL findings on stdout");
  cmd->add_option("--interface", flags->interface, "Capture live from this interface");
  cmd->add_option("--read", flags->read, "Read this pcap or pcapng file");
  cmd->add_option("--filter", flags->filter, "BPF filter, e.g. 'not port 22'");
  cmd->add_option("--interval", flags->interval, "Aggregation interval (default 5m)");
  cmd->add_option("--duration", flags->duration,
                  "Stop a live capture after this long (default: until SIGINT/SIGTERM)");
  cmd->add_option("--user", flags->user,
                  "Unprivileged user to switch to once the capture is open (default nobody)");
  cmd->add_option("--allowed-router", flags->allowed_routers,
                  "Address of a router allowed to send Router Advertisements (repeatable)");
  cmd->add_option("--allowed-dhcpv6-server", flags->allowed_dhcpv6_servers,
                  "Address of an allowed DHCPv6 server (repeatable)");
  cmd->add_option("--own-domain", flags->own_domains, "The institution's zone (repeatable)");
  cmd->add_option("--own-prefix", flags->own_prefixes,
                  "The institution's IPv4/IPv6 prefix (repeatable)");
  cmd->add_option("--max-names", flags->max_names, "Names kept per interval (default 50000)")
      ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(10'000'000)));
  cmd->add_option("--format", flags->format,
                  "jsonl (default when stdout is not a terminal) or table");
  cmd->add_option("--agent-id", flags->agent_id,
                  "This agent's name in findings (default: host name)");
  cmd->callback([flags] {
    int status = kExitInternal;
    try {
      status = run_passive_command(*flags);
    } catch (const std::exception& e) {
      spdlog::critical("internal failure: {}", e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    std::exit(status);
  });
}

}  // namespace edusight::agent
