// edusight-agent: the campus agent. `scan` runs one scan and prints findings (and, with
// --collector, delivers them through the spool); `run` is the scheduled agent.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "agent/daemon.hpp"
#include "agent/daemon_config.hpp"
#include "agent/enroll_command.hpp"
#include "agent/passive_command.hpp"
#include "agent/scan_command.hpp"
#include "collector/forward/spool.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/finding.hpp"
#include "edusight/core/logging.hpp"
#include "edusight/core/names.hpp"
#include "edusight/core/sink.hpp"
#include "rules/engine/rule_set.hpp"
#include "rules/engine/rules_sink.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUndelivered = 3;  // the scan ran, the collector has not acknowledged it all

struct ScanFlags {
  std::string config;
  std::vector<std::string> own_domains, own_prefixes, unit_names, resolvers, targets;
  std::string registry, ports, format, agent_id, log_level = "info";
  bool no_progress = false;
  bool no_discovery = false;
  std::vector<std::string> rules;
  bool no_rules = false;
  // Delivery to a collector (optional).
  std::string collector, agent_key_file, agent_key, collector_ca, collector_pin,
      collector_server_name, spool_dir;
  bool collector_plaintext = false;
  std::size_t batch_max_findings = 0;  // 0: the default
};

struct RunFlags {
  std::string config, log_level = "info";
};

// Shows findings and spools them for the collector.
class TeeSink final : public edusight::FindingSink {
 public:
  TeeSink(edusight::FindingSink& a, edusight::FindingSink& b) : a_(a), b_(b) {}
  void write(const edusight::Finding& f) override {
    a_.write(f);
    b_.write(f);
  }
  void close() override {
    a_.close();
    b_.close();
  }

 private:
  edusight::FindingSink& a_;
  edusight::FindingSink& b_;
};

// Collector settings of `scan --collector`; ConfigError when inconsistent.
edusight::agent::CollectorConfig collector_from_flags(const ScanFlags& f, std::string* key) {
  using edusight::ConfigError;
  edusight::agent::CollectorConfig c;
  if (!edusight::agent::parse_host_port(f.collector, &c.host, &c.port))
    throw ConfigError("--collector", 0, 0, "'" + f.collector + "' must be host:port or [v6]:port");
  if (!f.agent_key_file.empty() && !f.agent_key.empty())
    throw ConfigError("--agent-key", 0, 0, "give --agent-key-file or --agent-key, not both");
  if (!f.agent_key_file.empty())
    *key = edusight::agent::read_key_file(f.agent_key_file, "--agent-key-file");
  else
    *key = f.agent_key;
  if (key->empty())
    throw ConfigError("--collector", 0, 0,
                      "the collector needs this agent's key: --agent-key-file FILE");
  c.tls = !f.collector_plaintext;
  c.ca_file = f.collector_ca;
  c.pin_sha256 = f.collector_pin;
  if (c.tls && c.ca_file.empty() && c.pin_sha256.empty())
    throw ConfigError("--collector", 0, 0,
                      "TLS needs --collector-ca FILE or --collector-pin SHA256 (or "
                      "--collector-plaintext)");
  c.server_name = f.collector_server_name.empty() ? c.host : f.collector_server_name;
  return c;
}

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
  if (!f.rules.empty()) c.rules = f.rules;
  if (f.no_rules) c.rules = std::vector<std::string>{};
  if (c.agent_id.empty()) c.agent_id = default_agent_id();
  validate_scan_config(c);
  return c;
}

// Makes `dir` (or a temporary directory when empty) the spool; nullopt after printing why.
std::unique_ptr<edusight::agent::Spool> open_spool(std::string dir, bool* temporary) {
  *temporary = false;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edusight-spool-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "edusight-agent: cannot create a spool directory in %s\n",
                   std::filesystem::temp_directory_path().c_str());
      return nullptr;
    }
    dir = tmpl;
    *temporary = true;
  }
  try {
    return std::make_unique<edusight::agent::Spool>(dir, edusight::agent::SpoolLimits{});
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "edusight-agent: %s\n", e.what());
    return nullptr;
  }
}

// Sends the spool until everything is acknowledged, giving up when no ack came for the ack
// timeout. The spool keeps what was not acknowledged.
int deliver(const edusight::agent::CollectorConfig& collector, const std::string& agent_id,
            const std::string& key, edusight::agent::Spool& spool, bool temporary_spool,
            const edusight::Clock& clock, edusight::Random& random) {
  namespace asio = boost::asio;
  asio::io_context io;
  edusight::agent::SenderOptions so;
  so.client = edusight::agent::client_options(collector, agent_id, key);
  so.backoff_max = std::chrono::seconds(5);
  edusight::agent::Sender sender(io.get_executor(), spool, so, clock, random);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::warn("signal {}: stopping delivery", sig);
    sender.stop();
  });
  bool delivered = false;
  spdlog::info("sending {} chunk(s) to collector {}:{}", spool.size_chunks(), collector.host,
               collector.port);
  asio::co_spawn(io, sender.drain(collector.ack_timeout), [&](std::exception_ptr e, bool ok) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("delivery failed: {}", ex.what());
      }
    } else {
      spdlog::debug("delivery ended: {}", ok ? "all acknowledged" : "incomplete");
    }
    delivered = ok && !e;
    signals.cancel();
  });
  io.run();
  if (delivered) {
    spdlog::info("collector {}:{} acknowledged all {} chunk(s)", collector.host, collector.port,
                 sender.delivered_chunks());
    std::error_code ec;
    if (temporary_spool) std::filesystem::remove_all(spool.dir(), ec);
    return kExitOk;
  }
  std::fprintf(stderr,
               "edusight-agent: collector %s:%u did not acknowledge everything (no ack for %lld "
               "ms); %llu chunk(s) are kept in %s: run again with --spool-dir %s to resend them\n",
               collector.host.c_str(), static_cast<unsigned>(collector.port),
               static_cast<long long>(collector.ack_timeout.count()),
               static_cast<unsigned long long>(spool.size_chunks()), spool.dir().c_str(),
               spool.dir().c_str());
  return kExitUndelivered;
}

int run_scan_command(const ScanFlags& flags) {
  edusight::ScanConfig config;
  edusight::agent::ScanInputs inputs;
  std::optional<edusight::agent::CollectorConfig> collector;
  std::string key;
  std::optional<edusight::rules::RuleSet> rules;
  try {
    config = merge(flags);
    inputs = edusight::agent::prepare_scan(config);
    const auto rule_paths =
        config.rules.value_or(std::vector<std::string>{edusight::rules::shipped_rules_dir()});
    if (!rule_paths.empty()) rules = edusight::rules::load_rule_files(rule_paths);
    if (!flags.collector.empty()) collector = collector_from_flags(flags, &key);
  } catch (const edusight::ConfigError& e) {
    std::fprintf(stderr, "edusight-agent: configuration error: %s\n", e.what());
    return kExitUsage;
  }
  const auto level = spdlog::level::from_str(flags.log_level);
  spdlog::set_level(level);

  // With a collector, findings are on disk before anything is sent (the same path as `run`).
  std::unique_ptr<edusight::agent::Spool> spool;
  bool temporary_spool = false;
  if (collector) {
    spool = open_spool(flags.spool_dir, &temporary_spool);
    if (!spool) return kExitUsage;
  }

  const bool to_terminal = isatty(STDOUT_FILENO) == 1;
  const auto format = config.format.value_or(to_terminal ? edusight::OutputFormat::table
                                                         : edusight::OutputFormat::jsonl);
  edusight::JsonlSink jsonl(stdout);
  edusight::TableSink table(stdout);
  edusight::FindingSink& display = format == edusight::OutputFormat::jsonl
                                       ? static_cast<edusight::FindingSink&>(jsonl)
                                       : static_cast<edusight::FindingSink&>(table);
  edusight::SystemClock clock;
  edusight::SeededRandom random(std::random_device{}() ^
                                (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  std::optional<edusight::agent::SpoolingSink> spooling;
  std::optional<TeeSink> tee;
  if (spool) {
    spooling.emplace(*spool, clock, random.below(UINT64_MAX), "", collector->batch_max_findings,
                     collector->batch_max_delay);
    tee.emplace(display, *spooling);
  }
  edusight::FindingSink& output = tee ? static_cast<edusight::FindingSink&>(*tee) : display;
  // The rules judge every finding before it is shown or spooled.
  std::optional<edusight::rules::RulesSink> judged;
  if (rules) judged.emplace(*rules, clock, output);
  edusight::FindingSink& sink = judged ? static_cast<edusight::FindingSink&>(*judged) : output;

  // Told apart from a scan that ran to its end: asio hands the signal to every signal set,
  // run_scan's own included.
  boost::asio::io_context signal_io;
  boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) interrupted = true;
  });

  edusight::agent::ScanRunOptions opt;
  opt.scan_id = new_scan_id(clock);
  opt.progress = !flags.no_progress && isatty(STDERR_FILENO) == 1;
  spdlog::info("scan {} of {} target(s) as agent {}", opt.scan_id, config.targets.size(),
               config.agent_id);
  const auto outcome = edusight::agent::run_scan(config, inputs, sink, clock, opt);
  sink.close();
  signal_io.poll();
  spdlog::info("scan {} done: {} target(s) scanned, {} refused, {} system(s), {} finding(s)",
               opt.scan_id, outcome.targets_scanned, outcome.targets_refused, outcome.assets,
               outcome.findings);
  if (!spool) return kExitOk;
  if (interrupted) {
    spdlog::warn("scan {} was interrupted: no completion event is sent", opt.scan_id);
  } else {
    edusight::agent::spool_record(
        *spool, clock, random, edusight::agent::kScanTag,
        edusight::agent::scan_completed_record(opt.scan_id, "", spooling->findings()));
  }
  if (interrupted) return kExitOk;
  return deliver(*collector, config.agent_id, key, *spool, temporary_spool, clock, random);
}

// Every line must be a finding: a bad line stops everything before anything is spooled, so
// a file is sent whole or not at all.
bool read_findings(const std::string& path, std::vector<edusight::Finding>& out) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "edusight-agent: %s: cannot open the file\n", path.c_str());
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    std::string error = ec ? "not JSON: " + ec.message() : "";
    if (!ec && !v.is_object()) error = "not a JSON object";
    std::optional<edusight::Finding> f;
    if (error.empty()) f = edusight::from_json(v.get_object(), &error);
    if (!f) {
      std::fprintf(stderr, "edusight-agent: %s:%d: %s\n", path.c_str(), number, error.c_str());
      return false;
    }
    if (f->scan.empty()) f->scan = "import";
    out.push_back(std::move(*f));
  }
  return true;
}

int run_send_command(const ScanFlags& flags, const std::vector<std::string>& files,
                     const std::string& job, bool scans_complete) {
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  std::string key;
  edusight::agent::CollectorConfig collector;
  try {
    collector = collector_from_flags(flags, &key);
  } catch (const edusight::ConfigError& e) {
    std::fprintf(stderr, "edusight-agent: configuration error: %s\n", e.what());
    return kExitUsage;
  }
  if (flags.batch_max_findings > 0) collector.batch_max_findings = flags.batch_max_findings;
  if (files.empty() && flags.spool_dir.empty()) {
    std::fprintf(stderr, "edusight-agent: send needs files, or --spool-dir to resend\n");
    return kExitUsage;
  }
  std::vector<edusight::Finding> findings;
  for (const std::string& file : files) {
    if (!read_findings(file, findings)) return kExitUsage;
  }
  bool temporary = false;
  auto spool = open_spool(flags.spool_dir, &temporary);
  if (!spool) return kExitUsage;

  edusight::SystemClock clock;
  edusight::SeededRandom random(std::random_device{}() ^
                                (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  if (!findings.empty()) {
    edusight::agent::SpoolingSink sink(*spool, clock, random.below(UINT64_MAX), job,
                                       collector.batch_max_findings, collector.batch_max_delay);
    std::map<std::string, std::size_t> per_scan;
    for (const edusight::Finding& f : findings) {
      sink.write(f);
      ++per_scan[f.scan];
    }
    sink.close();
    if (sink.spool_failures() > 0) {
      std::fprintf(stderr, "edusight-agent: the spool in %s refused %zu finding(s)\n",
                   spool->dir().c_str(), sink.spool_failures());
      return kExitInternal;
    }
    if (scans_complete) {
      for (const auto& [scan, n] : per_scan) {
        edusight::agent::spool_record(*spool, clock, random, edusight::agent::kScanTag,
                                      edusight::agent::scan_completed_record(scan, job, n));
      }
    }
    spdlog::info("spooled {} finding(s) from {} file(s) in {}", findings.size(), files.size(),
                 spool->dir().c_str());
  }
  return deliver(collector, flags.agent_id, key, *spool, temporary, clock, random);
}

int run_daemon_command(const RunFlags& flags) {
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  edusight::agent::DaemonConfig config;
  try {
    config = edusight::agent::load_daemon_config(flags.config);
  } catch (const edusight::ConfigError& e) {
    std::fprintf(stderr, "edusight-agent: configuration error: %s\n", e.what());
    return kExitUsage;
  }
  edusight::SystemClock clock;
  edusight::SeededRandom random(std::random_device{}() ^
                                (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  edusight::agent::DaemonOptions options;
  options.version = EDUSIGHT_VERSION;
  std::optional<edusight::agent::Daemon> daemon;
  try {
    daemon.emplace(std::move(config), clock, random, options);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "edusight-agent: %s\n", e.what());
    return kExitUsage;
  }
  const int status = daemon->run();
  if (daemon->abandoned_scans()) {
    // A scan thread still uses the daemon's objects: end here instead of destroying them.
    spdlog::shutdown();
    std::fflush(stdout);
    std::_Exit(status);
  }
  return status;
}

void add_collector_options(CLI::App& app, ScanFlags& flags, const std::string& what) {
  app.add_option("--collector", flags.collector, what + " (host:port or [v6]:port)");
  app.add_option("--agent-key-file", flags.agent_key_file,
                 "File with this agent's key for the collector");
  app.add_option("--agent-key", flags.agent_key, "This agent's key (prefer --agent-key-file)");
  app.add_option("--collector-ca", flags.collector_ca,
                 "CA certificate (PEM) that the collector's certificate must chain to");
  app.add_option("--collector-pin", flags.collector_pin,
                 "SHA-256 (hex) of the collector's certificate, instead of or besides a CA");
  app.add_option("--collector-server-name", flags.collector_server_name,
                 "Name the collector's certificate must carry (default: its host)");
  app.add_flag("--collector-plaintext", flags.collector_plaintext,
               "Send to the collector without TLS (only on a trusted network)");
  app.add_option("--spool-dir", flags.spool_dir,
                 "Spool directory for findings bound for the collector (default: a new "
                 "temporary directory, removed once everything is acknowledged)");
}

}  // namespace

int main(int argc, char** argv) {
  // stdout carries findings; logs go to stderr (the journal, under systemd).
  edusight::setup_logging(edusight::LogStream::err, "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

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
  scan->add_option("--rules", flags.rules,
                   "Rule file or directory to judge findings by (repeatable; default: the "
                   "shipped rule set)");
  scan->add_flag("--no-rules", flags.no_rules,
                 "Report the probes' own severities, without rules or exceptions");
  add_collector_options(*scan, flags, "Also send the findings to this collector");

  ScanFlags send_flags;
  std::vector<std::string> send_files;
  std::string send_job = "import";
  bool send_complete = false;
  auto* send = app.add_subcommand(
      "send",
      "Send findings (JSONL files written by `scan`, e.g. on a network without a collector) "
      "and whatever an earlier run left in --spool-dir; exits when all are acknowledged");
  send->add_option("files", send_files, "JSONL files of findings (none: only the spool)");
  send->add_option("--agent-id", send_flags.agent_id, "This agent's id at the collector")
      ->required();
  send->add_option("--job", send_job, "Job name the findings are filed under (default import)");
  send->add_option("--batch-max-findings", send_flags.batch_max_findings,
                   "Findings per chunk (default 500)")
      ->check(CLI::Range(1, 100000));
  send->add_flag("--scan-complete", send_complete,
                 "Each file holds whole scans: mark them complete, so the collector resolves "
                 "that job's findings they no longer contain");
  send->add_option("--log-level", send_flags.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  add_collector_options(*send, send_flags, "The collector to send to");
  send->get_option("--collector")->required();

  RunFlags run_flags;
  auto* run = app.add_subcommand(
      "run", "Run as the scheduled agent: jobs on their schedules, findings to the collector");
  run->add_option("--config", run_flags.config, "The agent's YAML file (agent, collector, jobs)")
      ->required();
  run->add_option("--log-level", run_flags.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  edusight::agent::add_passive_command(app);
  edusight::agent::add_enroll_command(app);

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
    if (run->parsed()) return run_daemon_command(run_flags);
    if (send->parsed()) {
      return run_send_command(send_flags, send_files, send_job, send_complete);
    }
  } catch (const std::exception& e) {
    spdlog::critical("internal failure: {}", e.what());
    return kExitInternal;
  }
  return kExitUsage;
}
