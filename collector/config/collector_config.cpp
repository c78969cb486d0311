#include "collector/config/collector_config.hpp"

#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

#include "edusight/core/install_dirs.hpp"
#include "edusight/core/schedule.hpp"
#include "edusight/core/yaml_reader.hpp"
#include "rules/engine/rule_set.hpp"

namespace edusight::collector {

namespace {

void read_tls(const Reader& r, const YAML::Node& n, const std::string& where, ListenerTls& t) {
  r.expect_map(n, where);
  r.only_keys(n, where, {"enabled", "cert_file", "key_file"});
  if (n["enabled"]) t.enabled = r.boolean(n["enabled"], where + ".enabled");
  if (n["cert_file"]) t.cert_file = r.scalar(n["cert_file"], where + ".cert_file");
  if (n["key_file"]) t.key_file = r.scalar(n["key_file"], where + ".key_file");
  if (t.cert_file.empty() != t.key_file.empty()) {
    r.fail(n, where + " needs both cert_file and key_file, or neither");
  }
}

std::vector<std::string> read_listen(const Reader& r, const YAML::Node& n,
                                     const std::string& what) {
  auto list = r.list(n, what);
  if (list.empty()) r.fail(n, what + " needs at least one address");
  for (const auto& item : list) r.at(n, [&] { return parse_listen_address(item, what); });
  return list;
}

void read_upstream(const Reader& r, const YAML::Node& n, UpstreamSettings& u) {
  using std::chrono::milliseconds;
  r.expect_map(n, "upstream");
  r.only_keys(
      n, "upstream",
      {"address", "tls", "ca_file", "pin_sha256", "server_name", "agent_id", "key", "key_file",
       "campus", "spool_dir", "spool_max_bytes", "spool_max_chunks", "max_chunk_findings",
       "connect_timeout", "ack_timeout", "heartbeat_interval", "backoff_max"});
  u.enabled = true;
  if (!n["address"]) r.fail(n, "upstream.address is required (host[:port])");
  const auto address = r.nonempty(n["address"], "upstream.address");
  if (!parse_host_port(address, &u.host, &u.port))
    r.fail(n["address"], "upstream.address '" + address + "' must be host[:port] or [v6]:port");
  if (n["tls"]) u.tls = r.boolean(n["tls"], "upstream.tls");
  if (n["ca_file"]) u.ca_file = r.nonempty(n["ca_file"], "upstream.ca_file");
  if (n["pin_sha256"]) {
    std::string pin;
    for (char ch : r.nonempty(n["pin_sha256"], "upstream.pin_sha256")) {
      if (ch == ':') continue;
      if (!std::isxdigit(static_cast<unsigned char>(ch)))
        r.fail(n["pin_sha256"], "upstream.pin_sha256 must be hex (SHA-256 of the certificate)");
      pin.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
    if (pin.size() != 64)
      r.fail(n["pin_sha256"],
             "upstream.pin_sha256 must have 64 hex digits, not " + std::to_string(pin.size()));
    u.pin_sha256 = pin;
  }
  if (n["server_name"]) u.server_name = r.nonempty(n["server_name"], "upstream.server_name");
  if (!n["agent_id"])
    r.fail(n, "upstream.agent_id is required: this collector's identity upstream");
  u.agent_id = r.nonempty(n["agent_id"], "upstream.agent_id");
  if (n["key"] && n["key_file"])
    r.fail(n["key"], "give upstream.key or upstream.key_file, not both");
  if (n["key"]) u.key = r.nonempty(n["key"], "upstream.key");
  if (n["key_file"]) u.key_file = r.nonempty(n["key_file"], "upstream.key_file");
  if (u.key.empty() && u.key_file.empty())
    r.fail(n,
           "upstream.key_file (or upstream.key) is required: the key the provincial "
           "collector gave this identity");
  if (n["campus"]) u.campus = r.nonempty(n["campus"], "upstream.campus");
  if (n["spool_dir"]) u.spool_dir = r.nonempty(n["spool_dir"], "upstream.spool_dir");
  if (n["spool_max_bytes"])
    u.spool_max_bytes =
        r.uint64(n["spool_max_bytes"], "upstream.spool_max_bytes", 1024 * 1024, 1ull << 40);
  if (n["spool_max_chunks"])
    u.spool_max_chunks =
        r.uint64(n["spool_max_chunks"], "upstream.spool_max_chunks", 1, 100'000'000);
  if (n["max_chunk_findings"])
    u.max_chunk_findings = static_cast<std::size_t>(
        r.uint64(n["max_chunk_findings"], "upstream.max_chunk_findings", 1, 1'000'000));
  if (n["connect_timeout"])
    u.connect_timeout = r.duration(n["connect_timeout"], "upstream.connect_timeout",
                                   milliseconds(100), milliseconds(600'000));
  if (n["ack_timeout"])
    u.ack_timeout = r.duration(n["ack_timeout"], "upstream.ack_timeout", milliseconds(100),
                               milliseconds(3'600'000));
  if (n["heartbeat_interval"])
    u.heartbeat_interval = r.duration(n["heartbeat_interval"], "upstream.heartbeat_interval",
                                      milliseconds(100), milliseconds(3'600'000));
  if (n["backoff_max"])
    u.backoff_max = r.duration(n["backoff_max"], "upstream.backoff_max", milliseconds(100),
                               milliseconds(3'600'000));
  if (u.tls && u.ca_file.empty() && u.pin_sha256.empty())
    r.fail(n,
           "upstream.tls is on: give upstream.ca_file or upstream.pin_sha256 (or tls: false "
           "for plaintext, on a trusted network only)");
}

}  // namespace

ListenAddress parse_listen_address(const std::string& text, const std::string& origin) {
  ListenAddress out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw ConfigError(origin, 0, 0, "'" + text + "' is not [address]:port");
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      throw ConfigError(origin, 0, 0,
                        "'" + text + "' is not address:port (IPv6 as [address]:port)");
    }
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(out.host, ec);
  if (ec) throw ConfigError(origin, 0, 0, "'" + out.host + "' is not an IP address");
  unsigned v = 0;
  const auto [p, perr] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || perr != std::errc{} || p != port.data() + port.size() || v > 65535) {
    throw ConfigError(origin, 0, 0, "'" + port + "' is not a port number");
  }
  out.port = static_cast<std::uint16_t>(v);
  return out;
}

CollectorConfig parse_collector_config(const std::string& yaml_text, const std::string& origin) {
  Reader r(origin);
  const YAML::Node root = load_yaml(yaml_text, origin);
  CollectorConfig c;
  if (root.IsNull()) return c;
  r.expect_map(root, "the collector configuration");
  r.only_keys(root, "the collector configuration",
              {"data_dir", "hostname", "certificate_names", "database", "forward", "api", "enroll",
               "max_group_findings", "log_level", "rules", "alerts", "notifications", "institution",
               "reports", "upstream"});
  if (root["upstream"]) read_upstream(r, root["upstream"], c.upstream);
  if (root["institution"]) c.institution = r.scalar(root["institution"], "institution");
  if (const auto list = root["reports"]) {
    if (!list.IsSequence()) r.fail(list, "reports must be a list of report jobs");
    for (const auto& n : list) {
      r.expect_map(n, "each report job");
      r.only_keys(n, "a report job", {"name", "schedule", "formats", "dir", "keep"});
      ReportJobSettings job;
      if (!n["name"] || !n["schedule"]) r.fail(n, "a report job needs a name and a schedule");
      job.name = r.nonempty(n["name"], "the report job's name");
      if (job.name.find_first_of("/\\") != std::string::npos || job.name.front() == '.')
        r.fail(n["name"], "a report job's name becomes a file name: no '/', '\\' or leading '.'");
      job.schedule = r.nonempty(n["schedule"], "the report job's schedule");
      try {
        Schedule::parse(job.schedule);
      } catch (const std::invalid_argument& e) {
        r.fail(n["schedule"], std::string("schedule: ") + e.what());
      }
      if (n["formats"]) {
        const auto formats = r.list(n["formats"], "formats");
        job.csv = job.html = false;
        for (const auto& f : formats) {
          if (f == "csv")
            job.csv = true;
          else if (f == "html")
            job.html = true;
          else
            r.fail(n["formats"], "formats are csv and html, not '" + f + "'");
        }
      }
      if (n["dir"]) job.dir = r.nonempty(n["dir"], "the report job's dir");
      if (n["keep"]) job.keep = static_cast<std::size_t>(r.integer(n["keep"], "keep", 1, 100000));
      for (const auto& other : c.reports) {
        if (other.name == job.name)
          r.fail(n["name"], "report job '" + job.name + "' is defined twice");
      }
      c.reports.push_back(std::move(job));
    }
  }
  if (root["data_dir"]) c.data_dir = r.scalar(root["data_dir"], "data_dir");
  if (root["hostname"]) c.hostname = r.scalar(root["hostname"], "hostname");
  if (root["certificate_names"]) {
    c.certificate_names = r.list(root["certificate_names"], "certificate_names");
  }
  if (root["database"]) c.database = r.scalar(root["database"], "database");
  if (root["max_group_findings"]) {
    c.max_group_findings = static_cast<std::size_t>(
        r.integer(root["max_group_findings"], "max_group_findings", 1, 1'000'000));
  }
  if (root["log_level"]) {
    c.log_level = r.scalar(root["log_level"], "log_level");
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
    if (!levels.count(c.log_level)) {
      r.fail(root["log_level"], "log_level must be trace, debug, info, warn or error");
    }
  }
  using std::chrono::milliseconds;
  if (const auto f = root["forward"]) {
    r.expect_map(f, "forward");
    r.only_keys(f, "forward",
                {"listen", "tls", "handshake_timeout", "idle_timeout", "write_timeout",
                 "max_connections", "max_message_bytes", "max_messages_in_flight"});
    auto& s = c.forward;
    if (f["listen"]) s.listen = read_listen(r, f["listen"], "forward.listen");
    if (f["tls"]) read_tls(r, f["tls"], "forward.tls", s.tls);
    if (f["handshake_timeout"]) {
      s.handshake_timeout = r.duration(f["handshake_timeout"], "forward.handshake_timeout",
                                       milliseconds(100), milliseconds(600'000));
    }
    if (f["idle_timeout"]) {
      s.idle_timeout = r.duration(f["idle_timeout"], "forward.idle_timeout", milliseconds(1000),
                                  milliseconds(86'400'000));
    }
    if (f["write_timeout"]) {
      s.write_timeout = r.duration(f["write_timeout"], "forward.write_timeout", milliseconds(100),
                                   milliseconds(600'000));
    }
    if (f["max_connections"]) {
      s.max_connections = static_cast<std::size_t>(
          r.integer(f["max_connections"], "forward.max_connections", 1, 1'000'000));
    }
    if (f["max_messages_in_flight"]) {
      s.max_messages_in_flight = static_cast<std::size_t>(
          r.integer(f["max_messages_in_flight"], "forward.max_messages_in_flight", 1, 100'000));
    }
    if (f["max_message_bytes"]) {
      s.max_message_bytes = static_cast<std::size_t>(
          r.integer(f["max_message_bytes"], "forward.max_message_bytes", 1024, 1 << 30));
    }
  }
  if (root["rules"]) c.rules = r.list(root["rules"], "rules");
  if (root["notifications"]) c.notifications = notify::parse_channels(r, root["notifications"]);
  if (const auto a = root["alerts"]) {
    r.expect_map(a, "alerts");
    r.only_keys(a, "alerts", {"poll_interval", "link_base"});
    if (a["poll_interval"]) {
      c.alerts.poll_interval = r.duration(a["poll_interval"], "alerts.poll_interval",
                                          milliseconds(100), milliseconds(600'000));
    }
    if (a["link_base"]) c.alerts.link_base = r.scalar(a["link_base"], "alerts.link_base");
  }
  if (const auto e = root["enroll"]) {
    r.expect_map(e, "enroll");
    r.only_keys(e, "enroll", {"listen", "max_failures", "failure_window"});
    // An empty list turns enrollment off (identities then come from `agent add` alone).
    if (e["listen"] && e["listen"].IsSequence() && e["listen"].size() == 0) {
      c.enroll.listen.clear();
    } else if (e["listen"]) {
      c.enroll.listen = read_listen(r, e["listen"], "enroll.listen");
    }
    if (e["max_failures"]) {
      c.enroll.max_failures =
          static_cast<std::size_t>(r.integer(e["max_failures"], "enroll.max_failures", 1, 100'000));
    }
    if (e["failure_window"]) {
      c.enroll.failure_window = r.duration(e["failure_window"], "enroll.failure_window",
                                           milliseconds(1000), milliseconds(86'400'000));
    }
  }
  if (const auto a = root["api"]) {
    r.expect_map(a, "api");
    r.only_keys(a, "api",
                {"listen", "tls", "agent_online_window", "dashboard_dir", "posture_refresh"});
    if (a["dashboard_dir"]) c.api.dashboard_dir = r.scalar(a["dashboard_dir"], "api.dashboard_dir");
    if (a["posture_refresh"]) {
      c.api.posture_refresh = r.duration(a["posture_refresh"], "api.posture_refresh",
                                         milliseconds(100), milliseconds(3'600'000));
    }
    if (a["listen"]) c.api.listen = read_listen(r, a["listen"], "api.listen");
    if (a["tls"]) read_tls(r, a["tls"], "api.tls", c.api.tls);
    if (a["agent_online_window"]) {
      c.api.agent_online_window = r.duration(a["agent_online_window"], "api.agent_online_window",
                                             milliseconds(1000), milliseconds(86'400'000));
    }
  }
  return c;
}

bool is_postgresql(const std::string& database) {
  if (database.starts_with("postgresql://") || database.starts_with("postgres://")) return true;
  // libpq's keyword form starts with one of its connection keywords, e.g. "host=db1 ...".
  static const std::set<std::string, std::less<>> keywords{"host",
                                                           "hostaddr",
                                                           "port",
                                                           "dbname",
                                                           "user",
                                                           "password",
                                                           "passfile",
                                                           "service",
                                                           "sslmode",
                                                           "application_name",
                                                           "connect_timeout",
                                                           "options",
                                                           "target_session_attrs"};
  const auto eq = database.find('=');
  if (eq == std::string::npos) return false;
  std::string_view key(database.data(), eq);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  return keywords.contains(key);
}

std::string redact_database(const std::string& database) {
  if (!is_postgresql(database)) return database;
  std::string out = database;
  // URI: scheme://user:password@host...
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto at = out.find('@', scheme + 3);
    const auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... as a keyword or a URI parameter, quoted or not.
  for (std::size_t pos = 0; (pos = out.find("password=", pos)) != std::string::npos;) {
    const std::size_t start = pos + 9;
    std::size_t end = start;
    if (end < out.size() && out[end] == '\'') {
      for (++end; end < out.size() && out[end] != '\''; ++end) {
        if (out[end] == '\\') ++end;
      }
      if (end < out.size()) ++end;
    } else {
      while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
    }
    out.replace(start, end - start, "***");
    pos = start + 3;
  }
  return out;
}

CollectorConfig load_collector_config(const std::string& path) {
  CollectorConfig c = parse_collector_config(read_config_text(path), path);
  // Paths in the file are relative to it, not to wherever the collector was started.
  const auto dir = std::filesystem::path(path).parent_path();
  for (std::string* p : {&c.data_dir, &c.forward.tls.cert_file, &c.forward.tls.key_file,
                         &c.api.tls.cert_file, &c.api.tls.key_file, &c.api.dashboard_dir,
                         &c.upstream.ca_file, &c.upstream.key_file, &c.upstream.spool_dir}) {
    if (p == &c.api.dashboard_dir && *p == "none") continue;  // a word, not a path
    if (!p->empty() && std::filesystem::path(*p).is_relative()) *p = (dir / *p).string();
  }
  if (!c.database.empty() && !is_postgresql(c.database) &&
      std::filesystem::path(c.database).is_relative()) {
    c.database = (dir / c.database).string();
  }
  for (auto& p : c.rules) {
    if (std::filesystem::path(p).is_relative()) p = (dir / p).string();
  }
  for (auto& job : c.reports) {
    if (!job.dir.empty() && std::filesystem::path(job.dir).is_relative())
      job.dir = (dir / job.dir).string();
  }
  for (auto& n : c.notifications) {
    if (!n.ca_file.empty() && std::filesystem::path(n.ca_file).is_relative())
      n.ca_file = (dir / n.ca_file).string();
  }
  return c;
}

void resolve_defaults(CollectorConfig& c) {
  namespace fs = std::filesystem;
  if (c.rules.empty()) c.rules.push_back(rules::shipped_rules_dir());
  for (auto& job : c.reports) {
    if (job.dir.empty()) job.dir = (fs::path(c.data_dir) / "reports").string();
  }
  if (c.api.dashboard_dir.empty()) {
    // Beside the running executable (a package), under the configured prefix, the source tree.
    std::vector<std::string> candidates;
    if (auto dir = installed_data_dir("dashboard")) candidates.push_back(dir->string());
    candidates.push_back(EDUSIGHT_INSTALLED_DASHBOARD_DIR);
    candidates.push_back(EDUSIGHT_SOURCE_DASHBOARD_DIR);
    std::error_code ec;
    for (const auto& dir : candidates) {
      if (fs::is_regular_file(fs::path(dir) / "index.html", ec)) {
        c.api.dashboard_dir = dir;
        break;
      }
    }
  } else if (c.api.dashboard_dir == "none") {
    c.api.dashboard_dir.clear();
  }
  const fs::path data(c.data_dir);
  if (c.database.empty()) c.database = (data / "edusight.db").string();
  if (c.hostname.empty()) {
    char name[256] = {};
    c.hostname = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "edusight-collector";
  }
  if (c.upstream.enabled) {
    if (c.upstream.campus.empty()) c.upstream.campus = c.institution;
    if (c.upstream.spool_dir.empty()) c.upstream.spool_dir = (data / "upstream-spool").string();
    if (c.upstream.server_name.empty()) c.upstream.server_name = c.upstream.host;
  }
  for (ListenerTls* t : {&c.forward.tls, &c.api.tls}) {
    if (t->enabled && t->cert_file.empty()) {
      t->cert_file = (data / "tls" / "collector.crt").string();
      t->key_file = (data / "tls" / "collector.key").string();
    }
  }
}

std::string upstream_key(const UpstreamSettings& u) {
  return u.key.empty() ? read_key_file(u.key_file, "upstream.key_file") : u.key;
}

}  // namespace edusight::collector
