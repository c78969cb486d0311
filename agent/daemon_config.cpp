#include "agent/daemon_config.hpp"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "edusight/core/yaml_reader.hpp"

namespace edusight::agent {

namespace {

// Durations as the schedules write them (core/schedule.hpp), located like other errors.
std::chrono::milliseconds duration(const Reader& r, const YAML::Node& n, const std::string& what,
                                   std::chrono::milliseconds lo) {
  const auto s = r.scalar(n, what);
  std::chrono::milliseconds d{};
  try {
    d = duration_or_throw(s);
  } catch (const std::invalid_argument& e) {
    r.fail(n, what + ": " + e.what());
  }
  if (d < lo) r.fail(n, what + " must be at least " + std::to_string(lo.count()) + "ms");
  return d;
}

std::string resolve(const std::string& base_dir, const std::string& file) {
  if (file.empty() || std::filesystem::path(file).is_absolute() || base_dir.empty()) return file;
  return (std::filesystem::path(base_dir) / file).string();
}

void read_agent(const Reader& r, const YAML::Node& n, const std::string& base_dir,
                DaemonConfig& c) {
  r.expect_map(n, "agent");
  r.only_keys(n, "agent",
              {"id", "key_file", "key", "identity_file", "spool_dir", "spool_max_bytes",
               "spool_max_chunks", "heartbeat_interval"});
  if (n["id"]) c.agent_id = r.nonempty(n["id"], "agent.id");
  if (n["key_file"] && n["key"]) r.fail(n["key"], "give agent.key_file or agent.key, not both");
  if (n["key_file"]) {
    const auto file = resolve(base_dir, r.nonempty(n["key_file"], "agent.key_file"));
    try {
      c.key = read_key_file(file, "agent.key_file");
    } catch (const ConfigError& e) {
      r.fail(n["key_file"], e.what());
    }
  } else if (n["key"]) {
    c.key = r.nonempty(n["key"], "agent.key");
  }
  if (n["identity_file"])
    c.identity_file = resolve(base_dir, r.nonempty(n["identity_file"], "agent.identity_file"));
  if (n["spool_dir"])
    c.spool_dir = resolve(base_dir, r.nonempty(n["spool_dir"], "agent.spool_dir"));
  if (n["spool_max_bytes"])
    c.spool_max_bytes =
        r.uint64(n["spool_max_bytes"], "agent.spool_max_bytes", 64 * 1024, 1ull << 40);
  if (n["spool_max_chunks"])
    c.spool_max_chunks = r.uint64(n["spool_max_chunks"], "agent.spool_max_chunks", 1, 100'000'000);
  if (n["heartbeat_interval"])
    c.heartbeat_interval = duration(r, n["heartbeat_interval"], "agent.heartbeat_interval",
                                    std::chrono::milliseconds(100));
}

// `id`: the identity file's values, for what the section does not set (null: none).
void read_collector(const Reader& r, const YAML::Node& n, const std::string& base_dir,
                    const Identity* id, CollectorConfig& c) {
  r.expect_map(n, "collector");
  r.only_keys(n, "collector",
              {"address", "tls", "ca_file", "pin_sha256", "server_name", "connect_timeout",
               "ack_timeout", "batch_max_findings", "batch_max_delay"});
  if (n["address"]) {
    const auto address = r.nonempty(n["address"], "collector.address");
    if (!parse_host_port(address, &c.host, &c.port))
      r.fail(n["address"], "collector.address '" + address + "' must be host:port or [v6]:port");
  } else if (id && !id->host.empty()) {
    c.host = id->host;
    c.port = id->port;
  } else {
    r.fail(n, "collector.address is required (host:port)");
  }
  if (n["tls"])
    c.tls = r.boolean(n["tls"], "collector.tls");
  else if (id && !n["address"])
    c.tls = id->tls;
  // How the collector is trusted is one decision: the section's, or else the identity's.
  if (id && !n["ca_file"] && !n["pin_sha256"]) {
    c.ca_file = id->ca_file;
    c.pin_sha256 = id->pin_sha256;
    if (!n["server_name"]) c.server_name = id->server_name;
  }
  if (n["ca_file"]) c.ca_file = resolve(base_dir, r.nonempty(n["ca_file"], "collector.ca_file"));
  if (n["pin_sha256"]) {
    std::string pin;
    for (char ch : r.nonempty(n["pin_sha256"], "collector.pin_sha256")) {
      if (ch == ':') continue;
      if (!std::isxdigit(static_cast<unsigned char>(ch)))
        r.fail(n["pin_sha256"], "collector.pin_sha256 must be hex (SHA-256 of the certificate)");
      pin.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
    if (pin.size() != 64)
      r.fail(n["pin_sha256"],
             "collector.pin_sha256 must have 64 hex digits, not " + std::to_string(pin.size()));
    c.pin_sha256 = pin;
  }
  if (n["server_name"]) c.server_name = r.nonempty(n["server_name"], "collector.server_name");
  if (n["connect_timeout"])
    c.connect_timeout = duration(r, n["connect_timeout"], "collector.connect_timeout",
                                 std::chrono::milliseconds(10));
  if (n["ack_timeout"])
    c.ack_timeout =
        duration(r, n["ack_timeout"], "collector.ack_timeout", std::chrono::milliseconds(10));
  if (n["batch_max_findings"])
    c.batch_max_findings = static_cast<std::size_t>(
        r.uint64(n["batch_max_findings"], "collector.batch_max_findings", 1, 100000));
  if (n["batch_max_delay"])
    c.batch_max_delay = duration(r, n["batch_max_delay"], "collector.batch_max_delay",
                                 std::chrono::milliseconds(1));
  if (c.tls && c.ca_file.empty() && c.pin_sha256.empty())
    r.fail(n,
           "collector.tls is on: give collector.ca_file or collector.pin_sha256 (or tls: false "
           "to send in plain text)");
  if (c.server_name.empty()) c.server_name = c.host;
}

JobConfig read_job(const Reader& r, const YAML::Node& n, const std::string& base_dir,
                   const std::string& agent_id) {
  r.expect_map(n, "each job");
  r.only_keys(n, "a job", {"name", "scan_config", "schedule", "jitter", "run_at_start"});
  JobConfig j;
  if (!n["name"]) r.fail(n, "a job needs a name");
  j.name = r.nonempty(n["name"], "job name");
  const std::string where = "job '" + j.name + "': ";
  if (!n["scan_config"]) r.fail(n, where + "scan_config is required");
  if (!n["schedule"]) r.fail(n, where + "schedule is required (cron, @daily, @every 6h)");
  j.scan_config_file = resolve(base_dir, r.nonempty(n["scan_config"], "scan_config"));
  try {
    j.schedule = Schedule::parse(r.scalar(n["schedule"], "schedule"));
  } catch (const std::invalid_argument& e) {
    r.fail(n["schedule"], where + "schedule: " + e.what());
  }
  if (n["jitter"]) j.jitter = duration(r, n["jitter"], "jitter", std::chrono::milliseconds(0));
  if (n["run_at_start"]) j.run_at_start = r.boolean(n["run_at_start"], "run_at_start");
  // Loaded now, so a broken scan configuration stops the agent at start, not at 03:00.
  try {
    j.scan = load_scan_config(j.scan_config_file);
    j.scan.agent_id = agent_id;
    validate_scan_config(j.scan);
  } catch (const ConfigError& e) {
    r.fail(n["scan_config"], where + e.what());
  }
  return j;
}

}  // namespace

DaemonConfig parse_daemon_config(const std::string& yaml_text, const std::string& origin,
                                 const std::string& base_dir,
                                 const std::string& default_identity_file) {
  const YAML::Node root = load_yaml(yaml_text, origin);
  Reader r(origin);
  if (!root || root.IsNull()) throw ConfigError(origin, 0, 0, "the file is empty");
  r.expect_map(root, "the configuration");
  r.only_keys(root, "the configuration", {"agent", "collector", "jobs"});
  DaemonConfig c;
  if (root["agent"]) read_agent(r, root["agent"], base_dir, c);

  // The identity file fills in what the configuration leaves unset.
  std::optional<Identity> identity;
  const bool named = !c.identity_file.empty();
  if (named || c.agent_id.empty() || c.key.empty()) {
    const std::string path = named ? c.identity_file : default_identity_file;
    const YAML::Node at = named           ? root["agent"]["identity_file"]
                          : root["agent"] ? root["agent"]
                                          : root;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      r.fail(at, "not enrolled: " +
                     std::string(named ? "" : "agent.id and agent.key are not both set and ") +
                     "there is no identity file " + path +
                     ": run `edusight-agent enroll --collector HOST --token TOKEN --pin SHA256" +
                     (named || path != kDefaultIdentityFile ? " --identity-file " + path : "") +
                     "` first");
    }
    identity = load_identity(path);
    c.identity_file = path;
    if (c.agent_id.empty()) c.agent_id = identity->agent_id;
    if (c.key.empty()) c.key = identity->key;
  }
  if (root["collector"]) {
    read_collector(r, root["collector"], base_dir, identity ? &*identity : nullptr, c.collector);
  } else if (identity && !identity->host.empty()) {
    read_collector(r, YAML::Node(YAML::NodeType::Map), base_dir, &*identity, c.collector);
  } else {
    r.fail(root, "the collector section is required");
  }
  if (const auto jobs = root["jobs"]) {
    if (!jobs.IsSequence()) r.fail(jobs, "jobs must be a list");
    std::set<std::string> names;
    for (const auto& item : jobs) {
      auto job = read_job(r, item, base_dir, c.agent_id);
      if (!names.insert(job.name).second)
        r.fail(item["name"], "job name '" + job.name + "' is used twice");
      c.jobs.push_back(std::move(job));
    }
  }
  return c;
}

DaemonConfig load_daemon_config(const std::string& path, const std::string& default_identity_file) {
  return parse_daemon_config(read_config_text(path), path,
                             std::filesystem::path(path).parent_path().string(),
                             default_identity_file);
}

}  // namespace edusight::agent
