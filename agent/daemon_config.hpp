#pragma once
// The configuration of `edusight-agent run --config FILE`: who the agent is, where its spool
// lives, how to reach the collector and which scans to run when. YAML; errors are
// edusight::ConfigError with file:line:column, unknown keys are refused. Files named in it
// (key_file, ca_file, each job's scan_config) are relative to the file itself.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/identity.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/schedule.hpp"

namespace edusight::agent {

struct CollectorConfig {
  std::string host;  // without brackets
  std::uint16_t port = 24224;
  bool tls = true;
  std::string ca_file;
  std::string pin_sha256;   // lower-case hex, 64 digits
  std::string server_name;  // default: host
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds ack_timeout{30000};
  std::size_t batch_max_findings = 500;
  std::chrono::milliseconds batch_max_delay{1000};
};

struct JobConfig {
  std::string name;
  std::string scan_config_file;
  ScanConfig scan;  // loaded and validated at start-up, agent id set to the daemon's
  Schedule schedule;
  std::chrono::milliseconds jitter{0};
  bool run_at_start = false;
};

struct DaemonConfig {
  std::string agent_id;
  std::string key;  // the agent's shared key (from key_file or key)
  // The identity file that supplied what the configuration does not set (empty: none).
  std::string identity_file;
  std::string spool_dir = "/var/lib/edusight-agent/spool";
  std::uint64_t spool_max_bytes = 256ull * 1024 * 1024;
  std::uint64_t spool_max_chunks = 100000;
  std::chrono::milliseconds heartbeat_interval{30000};
  CollectorConfig collector;
  std::vector<JobConfig> jobs;
};

// The identity (agent id, key, collector) comes from the configuration's agent and collector
// sections and, for whatever they leave unset, from agent.identity_file (written by
// `edusight-agent enroll`; read by default from `default_identity_file` unless agent.id and
// agent.key are both given). Neither: ConfigError "not enrolled".
DaemonConfig load_daemon_config(const std::string& path,
                                const std::string& default_identity_file = kDefaultIdentityFile);
// `base_dir` resolves relative file names; `origin` names the source in errors.
DaemonConfig parse_daemon_config(const std::string& yaml_text, const std::string& origin,
                                 const std::string& base_dir,
                                 const std::string& default_identity_file = kDefaultIdentityFile);

// In core (edusight/core/config.hpp), shared with the collector's upstream link.
using edusight::parse_host_port;
using edusight::read_key_file;

}  // namespace edusight::agent
