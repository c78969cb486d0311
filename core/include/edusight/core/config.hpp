#pragma once
// The scan configuration: the institution profile plus limits, timeouts and thresholds.
// Read from a YAML file (--config) and from the catalog's scan flags; flags add to lists
// and override scalars. Configuration is start-up: errors are exceptions with a location.
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "edusight/core/prefix.hpp"

namespace edusight {

// "file:line:column: what is wrong". line/column are 1-based; 0 when not known.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, int column, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  std::string file_;
  int line_;
  int column_;
};

// "host:port", "[v6]:port", "host" (port 24224); false when malformed. For the addresses of
// collectors (the agent's, and a campus collector's upstream).
bool parse_host_port(const std::string& text, std::string* host, std::uint16_t* port);
// Reads a key file: its content without trailing white space. Throws ConfigError.
std::string read_key_file(const std::string& path, const std::string& origin);

enum class OutputFormat { jsonl, table };

// A server address with its port, written "192.0.2.53", "192.0.2.53#5353" or
// "2001:db8::53#53" (the '#' keeps IPv6 colons unambiguous, as in dig and unbound).
struct Endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 53;
  std::string text() const;
};
std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port = 53);

struct InstitutionProfile {
  std::string name;
  std::vector<std::string> own_domains;  // canonical zones
  std::vector<Prefix> own_prefixes;
  std::vector<std::string> unit_names;
};

struct Limits {
  double dns_queries_per_second = 2000;
  double new_connections_per_second = 200;
  int max_concurrent_connections = 64;
  int max_concurrent_hosts = 32;
  double requests_per_second_per_host = 10;
};

struct Timeouts {
  std::chrono::milliseconds dns{2000};
  int dns_tries = 3;
  std::chrono::milliseconds connect{4000};
  std::chrono::milliseconds total{10000};
};

struct Thresholds {
  double content_similarity = 0.90;
  double link_support = 0.95;
  std::chrono::milliseconds slow{250};
  int slow_tries = 3;
};

struct CrawlLimits {
  int max_depth = 3;
  int max_links_per_level = 200;
  int max_pages_per_level = 30;  // pages fetched to find the next level's links
};

struct DiscoveryConfig {
  bool enabled = true;
  bool axfr = true;
  bool wordlist = true;
  std::string wordlist_file;  // empty: the built-in list of common campus names
  bool ptr_sweep = true;
  bool port_scan = true;
  bool certificates = true;
  bool follow_links = true;
  int max_sweep_addresses = 4096;  // per scan, over all prefixes swept
  // Extra prefixes where active scanning is allowed besides the own prefixes.
  std::vector<Prefix> scope;
};

struct ExposureConfig {
  // Port -> service name of services that should not face the network.
  std::vector<std::pair<std::uint16_t, std::string>> risky_ports{
      {21, "ftp"},     {23, "telnet"},          {135, "msrpc"},       {139, "netbios"},
      {445, "smb"},    {1433, "mssql"},         {1521, "oracle"},     {2375, "docker-api"},
      {3306, "mysql"}, {3389, "rdp"},           {5432, "postgresql"}, {5900, "vnc"},
      {6379, "redis"}, {9200, "elasticsearch"}, {11211, "memcached"}, {27017, "mongodb"}};
  int tls_expiring_days = 30;
  std::chrono::milliseconds connect_timeout{1000};
};

struct ZombieConfig {
  int expired_certificate_days = 90;  // a certificate expired this long ago is abandonment
  int stale_years = 3;                // copyright year or Last-Modified this old
};

struct ScanConfig {
  InstitutionProfile institution;
  std::vector<Endpoint> resolvers;
  std::string registry;  // path to the registry CSV, may be empty
  std::vector<std::string> targets;
  std::vector<std::uint16_t> ports{80, 443};
  std::optional<OutputFormat> format;  // unset: jsonl unless stdout is a terminal
  std::string agent_id;
  Limits limits;
  Timeouts timeouts;
  Thresholds thresholds;
  CrawlLimits crawl;
  DiscoveryConfig discovery;
  ExposureConfig exposure;
  ZombieConfig zombie;
  // Rule files and directories the scan's findings are judged by; unset: the shipped rule
  // set; empty: no rules (the probes' own severities).
  std::optional<std::vector<std::string>> rules;
};

// Loads and validates a YAML file. Unknown keys are errors (a typo must not pass silently).
ScanConfig load_scan_config(const std::string& path);
// Same, from text; `origin` names the source in errors.
ScanConfig parse_scan_config(const std::string& yaml_text, const std::string& origin);

// Validates values that may come from flags; `origin` is e.g. "--own-prefix".
std::string parse_domain_or_throw(const std::string& text, const std::string& origin);
Prefix parse_prefix_or_throw(const std::string& text, const std::string& origin);
std::vector<std::uint16_t> parse_ports_or_throw(const std::string& text, const std::string& origin);
// Final checks once file and flags are merged (e.g. at least one resolver and target).
void validate_scan_config(const ScanConfig& c);

}  // namespace edusight
