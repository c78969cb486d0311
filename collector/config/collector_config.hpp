#pragma once
// `edusight-collector` configuration. Every key has a working default: a collector needs only
// a data directory (the SQLite database and its self-signed certificate live there).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "collector/notify/config.hpp"
#include "edusight/core/config.hpp"  // ConfigError

namespace edusight::collector {

struct ListenerTls {
  bool enabled = true;
  // Empty: <data_dir>/tls/collector.{crt,key}, created self-signed on first start.
  std::string cert_file;
  std::string key_file;
};

struct ForwardSettings {
  std::vector<std::string> listen{"0.0.0.0:24224", "[::]:24224"};
  ListenerTls tls;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 4096;
  std::size_t max_message_bytes = 16u * 1024u * 1024u;
  // Messages decoded and waiting for the store at once, over all connections: bounds memory.
  std::size_t max_messages_in_flight = 32;
};

struct ApiSettings {
  std::vector<std::string> listen{"127.0.0.1:8080"};
  ListenerTls tls{false, {}, {}};
  std::chrono::milliseconds agent_online_window{90'000};
  // The built web dashboard served at /; empty: the installed or the source tree's build,
  // if there is one. "none" serves no dashboard.
  std::string dashboard_dir;
  // How often the posture snapshot (overview, systems, reports) may be rebuilt.
  std::chrono::milliseconds posture_refresh{2'000};
};

// The enrollment listener (docs/enrollment.md): always TLS, with the Forward certificate.
struct EnrollSettings {
  std::vector<std::string> listen{"0.0.0.0:24225", "[::]:24225"};  // empty: no enrollment
  std::size_t max_failures = 10;  // failed attempts per peer address within failure_window
  std::chrono::milliseconds failure_window{600'000};
};

struct AlertSettings {
  // How often due notifications (new, reminders, resolved) are looked for.
  std::chrono::milliseconds poll_interval{2'000};
  // Base of the links in notifications, e.g. https://edusight.demo-univ.edu.cn; empty: the
  // first API listener.
  std::string link_base;
};

// A scheduled compliance report (collector/api/report_jobs.hpp).
struct ReportJobSettings {
  std::string name;
  std::string schedule;  // cron or @every, UTC (core/schedule.hpp)
  bool csv = true;
  bool html = true;
  std::string dir;  // empty: <data_dir>/reports
  std::size_t keep = 60;
};

// A campus collector's link to the provincial collector (docs/federation.md): every batch its
// agents deliver is also spooled and forwarded there, tagged with the campus.
struct UpstreamSettings {
  bool enabled = false;  // an `upstream:` section was given
  std::string host;
  std::uint16_t port = 24224;
  // TLS unless `tls: false`; with TLS, ca_file and/or pin_sha256 are required.
  bool tls = true;
  std::string ca_file;
  std::string pin_sha256;
  std::string server_name;  // empty: host
  // This collector's identity at the provincial collector (`edusight-collector agent add ID
  // --campus NAME` there). key_file is read at start-up.
  std::string agent_id;
  std::string key;
  std::string key_file;
  std::string campus;     // empty: `institution`
  std::string spool_dir;  // empty: <data_dir>/upstream-spool
  std::uint64_t spool_max_bytes = 1024ull * 1024 * 1024;
  std::uint64_t spool_max_chunks = 1'000'000;
  // A batch with more findings goes upstream as several chunks.
  std::size_t max_chunk_findings = 5000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds ack_timeout{30'000};
  std::chrono::milliseconds heartbeat_interval{30'000};
  std::chrono::milliseconds backoff_max{60'000};
};

struct CollectorConfig {
  std::string data_dir = "/var/lib/edusight-collector";
  // Our name in the Forward handshake and in the self-signed certificate.
  std::string hostname;  // empty: the machine's host name
  // Extra names and addresses for the self-signed certificate (agents verify one of them).
  std::vector<std::string> certificate_names;
  // A SQLite file (empty: <data_dir>/edusight.db) or a PostgreSQL connection string
  // ("postgresql://user@host/db", "host=... dbname=..."); see docs/postgresql.md.
  std::string database;
  ForwardSettings forward;
  ApiSettings api;
  EnrollSettings enroll;
  // Rule files and directories (the engine's *.yaml); empty: the shipped rule set.
  std::vector<std::string> rules;
  AlertSettings alerts;
  // Where alerts are announced (webhook, WeCom, DingTalk, Feishu, syslog); docs/notifications.md.
  std::vector<notify::ChannelConfig> notifications;
  std::size_t max_group_findings = 50'000;
  std::string log_level = "info";
  // The institution's name, in report titles.
  std::string institution;
  std::vector<ReportJobSettings> reports;
  UpstreamSettings upstream;
};

// Throws ConfigError (file:line:column: what is wrong); unknown keys are refused.
CollectorConfig load_collector_config(const std::string& path);
CollectorConfig parse_collector_config(const std::string& yaml_text, const std::string& origin);

// "0.0.0.0:24224", "[::]:24224", "127.0.0.1:0"; throws ConfigError naming `origin`.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
ListenAddress parse_listen_address(const std::string& text, const std::string& origin);

// True when `database` names a PostgreSQL database (a postgresql:// or postgres:// URI, or
// libpq's keyword form "host=... dbname=..."), false for a SQLite file.
bool is_postgresql(const std::string& database);
// The same with any password replaced by "***", for logs and error messages.
std::string redact_database(const std::string& database);

// Fills the defaults that depend on others (paths under data_dir, hostname, rules).
void resolve_defaults(CollectorConfig& c);

// The upstream key: `key`, or the content of `key_file`. Throws ConfigError.
std::string upstream_key(const UpstreamSettings& u);

}  // namespace edusight::collector
