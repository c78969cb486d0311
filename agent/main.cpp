// edusight-agent: the campus agent. `scan` runs one scan and prints findings.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>

#include "agent/scan_command.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/finding.hpp"
#include "edusight/core/names.hpp"
#include "edusight/core/sink.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;

struct ScanFlags {
  std::string config;
  std::vector<std::string> own_domains, own_prefixes, unit_names, resolvers, targets;
  std::string registry, ports, format, agent_id, log_level = "info";
  bool no_progress = false;
  bool no_discovery = false;
};

std::string default_agent_id() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "agent";
  return buf;
}

std::string new_scan_id(const edusight::Clock& clock) {
  std::random_device rd;
  const auto t = edusight::format_rfc3339(clock.now());
  std::string compact;
  for (char c : t) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return "scan-" + compact + "-" + suffix;
}

// Flags add to the file's lists and override its scalars.
edusight::ScanConfig merge(const ScanFlags& f) {
  using namespace edusight;
  ScanConfig c = f.config.empty() ? ScanConfig{} : load_scan_config(f.config);
  for (const auto& d : f.own_domains)
    c.institution.own_domains.push_back(parse_domain_or_throw(d, "--own-domain"));
  for (const auto& p : f.own_prefixes)
    c.institution.own_prefixes.push_back(parse_prefix_or_throw(p, "--own-prefix"));
  for (const auto& n : f.unit_names) c.institution.unit_names.push_back(n);
  for (const auto& r : f.resolvers) {
    const auto e = parse_endpoint(r);
    if (!e)
      throw ConfigError("--resolver", 0, 0,
                        "'" + r + "' is not a resolver address (addr or addr#port)");
    c.resolvers.push_back(*e);
  }
  for (const auto& t : f.targets) c.targets.push_back(t);
  if (!f.registry.empty()) c.registry = f.registry;
  if (!f.ports.empty()) c.ports = parse_ports_or_throw(f.ports, "--ports");
  if (!f.format.empty()) {
    if (f.format == "jsonl")
      c.format = OutputFormat::jsonl;
    else if (f.format == "table")
      c.format = OutputFormat::table;
    else
      throw ConfigError("--format", 0, 0, "'" + f.format + "' must be jsonl or table");
  }
  if (!f.agent_id.empty()) c.agent_id = f.agent_id;
  if (f.no_discovery) c.discovery.enabled = false;
  if (c.agent_id.empty()) c.agent_id = default_agent_id();
  validate_scan_config(c);
  return c;
}

int run_scan_command(const ScanFlags& flags) {
  edusight::ScanConfig config;
  edusight::agent::ScanInputs inputs;
  try {
    config = merge(flags);
    inputs = edusight::agent::prepare_scan(config);
  } catch (const edusight::ConfigError& e) {
    std::fprintf(stderr, "edusight-agent: configuration error: %s\n", e.what());
    return kExitUsage;
  }
  const auto level = spdlog::level::from_str(flags.log_level);
  spdlog::set_level(level);

  const bool to_terminal = isatty(STDOUT_FILENO) == 1;
  const auto format = config.format.value_or(to_terminal ? edusight::OutputFormat::table
                                                         : edusight::OutputFormat::jsonl);
  edusight::JsonlSink jsonl(stdout);
  edusight::TableSink table(stdout);
  edusight::FindingSink& sink = format == edusight::OutputFormat::jsonl
                                    ? static_cast<edusight::FindingSink&>(jsonl)
                                    : static_cast<edusight::FindingSink&>(table);
  edusight::SystemClock clock;
  edusight::agent::ScanRunOptions opt;
  opt.scan_id = new_scan_id(clock);
  opt.progress = !flags.no_progress && isatty(STDERR_FILENO) == 1;
  spdlog::info("scan {} of {} target(s) as agent {}", opt.scan_id, config.targets.size(),
               config.agent_id);
  const auto outcome = edusight::agent::run_scan(config, inputs, sink, clock, opt);
  sink.close();
  spdlog::info("scan {} done: {} target(s) scanned, {} refused, {} system(s), {} finding(s)",
               opt.scan_id, outcome.targets_scanned, outcome.targets_refused, outcome.assets,
               outcome.findings);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("edusight");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{
      "edusight-agent: IPv6 readiness, discovery and security posture of a campus network"};
  app.set_version_flag("--version", std::string("edusight-agent ") + EDUSIGHT_VERSION);
  app.require_subcommand(1);

  ScanFlags flags;
  auto* scan =
      app.add_subcommand("scan", "Scan the configured targets once; findings as JSONL on stdout");
  scan->add_option("--config", flags.config,
                   "YAML file with the institution profile and scan settings");
  scan->add_option("--own-domain", flags.own_domains, "The institution's zone (repeatable)");
  scan->add_option("--own-prefix", flags.own_prefixes,
                   "The institution's IPv4/IPv6 prefix (repeatable)");
  scan->add_option("--unit-name", flags.unit_names,
                   "A name that ties a system to the unit (repeatable)");
  scan->add_option("--resolver", flags.resolvers,
                   "DNS resolver address, optionally addr#port (repeatable)");
  scan->add_option("--registry", flags.registry, "The registry of information systems (CSV)");
  scan->add_option("--target", flags.targets,
                   "Host, zone, address or CIDR to start from (repeatable)");
  scan->add_option("--ports", flags.ports, "Ports for exposure checks, e.g. 80,443,22");
  scan->add_option("--format", flags.format,
                   "jsonl (default when stdout is not a terminal) or table");
  scan->add_option("--agent-id", flags.agent_id,
                   "This agent's name in findings (default: host name)");
  scan->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  scan->add_flag("--no-progress", flags.no_progress, "No progress line on stderr");
  scan->add_flag(
      "--no-discovery", flags.no_discovery,
      "Check only the targets: no zone transfer, wordlist, sweeps, port scan or classification");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  try {
    if (scan->parsed()) return run_scan_command(flags);
  } catch (const std::exception& e) {
    spdlog::critical("internal failure: {}", e.what());
    return kExitInternal;
  }
  return kExitUsage;
}
