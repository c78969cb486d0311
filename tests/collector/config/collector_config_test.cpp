#include "collector/config/collector_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace edusight::collector {
namespace {

TEST(CollectorConfig, EmptyFileGivesWorkingDefaults) {
  CollectorConfig c = parse_collector_config("", "c.yaml");
  c.data_dir = "/tmp/es";
  resolve_defaults(c);
  EXPECT_EQ(c.database, "/tmp/es/edusight.db");
  EXPECT_TRUE(c.forward.tls.enabled);
  EXPECT_EQ(c.forward.tls.cert_file, "/tmp/es/tls/collector.crt");
  EXPECT_FALSE(c.api.tls.enabled);
  EXPECT_FALSE(c.hostname.empty());
  EXPECT_EQ(c.forward.listen.size(), 2u);
}

TEST(CollectorConfig, ReadsEverySection) {
  CollectorConfig c = parse_collector_config(R"(
data_dir: /srv/es
hostname: collector.demo-univ.edu.cn
certificate_names: [192.0.2.10]
forward:
  listen: ["127.0.0.1:0"]
  tls: {enabled: false}
  handshake_timeout: 500ms
  idle_timeout: 2m
  max_connections: 10
api:
  listen: "[::1]:8443"
  agent_online_window: 45s
max_group_findings: 1000
log_level: debug
)",
                                             "c.yaml");
  EXPECT_EQ(c.hostname, "collector.demo-univ.edu.cn");
  EXPECT_FALSE(c.forward.tls.enabled);
  EXPECT_EQ(c.forward.handshake_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.forward.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.forward.max_connections, 10u);
  EXPECT_EQ(c.api.listen, std::vector<std::string>{"[::1]:8443"});
  EXPECT_EQ(c.api.agent_online_window, std::chrono::seconds(45));
  EXPECT_EQ(c.max_group_findings, 1000u);
}

TEST(CollectorConfig, EnrollmentListener) {
  CollectorConfig c = parse_collector_config("", "c.yaml");
  EXPECT_EQ(c.enroll.listen, (std::vector<std::string>{"0.0.0.0:24225", "[::]:24225"}));
  EXPECT_EQ(c.enroll.max_failures, 10u);
  c = parse_collector_config(R"(
enroll:
  listen: ["127.0.0.1:0"]
  max_failures: 3
  failure_window: 1m
)",
                             "c.yaml");
  EXPECT_EQ(c.enroll.listen, std::vector<std::string>{"127.0.0.1:0"});
  EXPECT_EQ(c.enroll.max_failures, 3u);
  EXPECT_EQ(c.enroll.failure_window, std::chrono::minutes(1));
  // An empty list turns enrollment off.
  EXPECT_TRUE(parse_collector_config("enroll: {listen: []}\n", "c.yaml").enroll.listen.empty());
  EXPECT_THROW(parse_collector_config("enroll: {listn: []}\n", "c.yaml"), ConfigError);
  EXPECT_THROW(parse_collector_config("enroll: {max_failures: 0}\n", "c.yaml"), ConfigError);
  EXPECT_THROW(parse_collector_config("enroll: {listen: [\"nowhere\"]}\n", "c.yaml"), ConfigError);
}

TEST(CollectorConfig, RulesAlertsNotificationsAndReports) {
  CollectorConfig c = parse_collector_config(R"(
institution: 示范大学
rules: [/etc/edusight/rules, local.yaml]
alerts: {poll_interval: 500ms, link_base: https://edusight.demo-univ.edu.cn}
notifications:
  - {name: security-center, type: webhook, url: "https://hooks.demo-univ.edu.cn/es"}
reports:
  - {name: weekly, schedule: "0 0 * * 1", formats: [csv]}
  - {name: monthly, schedule: "@monthly", dir: /srv/reports, keep: 12}
api: {dashboard_dir: none, posture_refresh: 5s}
)",
                                             "c.yaml");
  c.data_dir = "/srv/es";
  resolve_defaults(c);
  EXPECT_EQ(c.institution, "示范大学");
  EXPECT_EQ(c.rules, (std::vector<std::string>{"/etc/edusight/rules", "local.yaml"}));
  EXPECT_EQ(c.alerts.poll_interval, std::chrono::milliseconds(500));
  ASSERT_EQ(c.notifications.size(), 1u);
  EXPECT_EQ(c.notifications[0].name, "security-center");
  ASSERT_EQ(c.reports.size(), 2u);
  EXPECT_TRUE(c.reports[0].csv);
  EXPECT_FALSE(c.reports[0].html);
  EXPECT_EQ(c.reports[0].dir, "/srv/es/reports");
  EXPECT_EQ(c.reports[1].dir, "/srv/reports");
  EXPECT_EQ(c.reports[1].keep, 12u);
  EXPECT_TRUE(c.api.dashboard_dir.empty());  // "none": no dashboard
  EXPECT_EQ(c.api.posture_refresh, std::chrono::seconds(5));
  // Without rules configured, the shipped set.
  CollectorConfig d = parse_collector_config("", "c.yaml");
  resolve_defaults(d);
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_NE(d.rules[0].find("rules"), std::string::npos);
}

TEST(CollectorConfig, DashboardNoneInAFileIsAWordNotAPath) {
  const auto path = std::filesystem::temp_directory_path() / "edusight-collector-none.yaml";
  std::ofstream(path) << "api: {dashboard_dir: none}\n";
  CollectorConfig c = load_collector_config(path.string());
  resolve_defaults(c);
  EXPECT_TRUE(c.api.dashboard_dir.empty());
  std::filesystem::remove(path);
}

TEST(CollectorConfig, DatabaseIsSqlitePathOrPostgresqlConnectionString) {
  EXPECT_TRUE(is_postgresql("postgresql://edusight@db1.demo-univ.edu.cn/edusight"));
  EXPECT_TRUE(is_postgresql("postgres://db1/edusight?sslmode=verify-full"));
  EXPECT_TRUE(is_postgresql("host=db1 dbname=edusight user=edusight"));
  EXPECT_TRUE(is_postgresql("dbname=edusight"));
  EXPECT_FALSE(is_postgresql("/var/lib/edusight-collector/edusight.db"));
  EXPECT_FALSE(is_postgresql("edusight.db"));
  EXPECT_FALSE(is_postgresql("data/a=b.db"));  // a file name with '=' in it stays a file

  // A PostgreSQL string in a file is not a path relative to the file.
  const auto path = std::filesystem::temp_directory_path() / "edusight-collector-pg.yaml";
  std::ofstream(path) << "database: \"host=/run/postgresql dbname=edusight\"\n";
  CollectorConfig c = load_collector_config(path.string());
  EXPECT_EQ(c.database, "host=/run/postgresql dbname=edusight");
  std::ofstream(path) << "database: local.db\n";
  c = load_collector_config(path.string());
  EXPECT_EQ(c.database, (std::filesystem::temp_directory_path() / "local.db").string());
  std::filesystem::remove(path);
}

TEST(CollectorConfig, PasswordsNeverReachTheLogs) {
  EXPECT_EQ(redact_database("postgresql://edusight:s3cret@db1:5432/edusight"),
            "postgresql://edusight:***@db1:5432/edusight");
  EXPECT_EQ(redact_database("postgresql://db1/edusight?user=es&password=s3cret&sslmode=require"),
            "postgresql://db1/edusight?user=es&password=***&sslmode=require");
  EXPECT_EQ(redact_database("host=db1 password=s3cret dbname=edusight"),
            "host=db1 password=*** dbname=edusight");
  EXPECT_EQ(redact_database("host=db1 password='a b\\' c' dbname=edusight"),
            "host=db1 password=*** dbname=edusight");
  EXPECT_EQ(redact_database("postgresql://edusight@db1/edusight"),
            "postgresql://edusight@db1/edusight");
  EXPECT_EQ(redact_database("/var/lib/x.db"), "/var/lib/x.db");
}

TEST(CollectorConfig, ErrorsNameFileLineAndProblem) {
  struct Case {
    const char* yaml;
    const char* where;
    const char* what;
  };
  for (const Case& c : {
           Case{"forward:\n  listen: [\"localhost:24224\"]\n", "c.yaml:2:", "not an IP address"},
           Case{"forward:\n  listn: []\n", "c.yaml:2:3", "unknown key 'listn'"},
           Case{"api:\n  agent_online_window: soon\n", "c.yaml:2:", "must be a duration"},
           Case{"forward:\n  tls: {cert_file: a.crt}\n", "c.yaml:2:", "needs both cert_file"},
           Case{"log_level: loud\n", "c.yaml:1:", "log_level must be"},
           Case{"forward: [\n", "c.yaml:", ""},
           Case{"reports:\n  - {name: w, schedule: \"61 * * * *\"}\n", "c.yaml:2:", "schedule:"},
           Case{"reports:\n  - {name: ../w, schedule: \"@daily\"}\n", "c.yaml:2:", "file name"},
           Case{"reports:\n  - {name: w, schedule: \"@daily\", formats: [pdf]}\n",
                "c.yaml:2:", "formats are csv and html"},
           Case{"notifications:\n  - {name: x, type: fax}\n", "c.yaml:2:", ""},
       }) {
    try {
      parse_collector_config(c.yaml, "c.yaml");
      ADD_FAILURE() << "accepted: " << c.yaml;
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(c.where, 0), 0u) << msg;
      EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
    }
  }
}

TEST(CollectorConfig, UpstreamMakesACampusCollector) {
  CollectorConfig c = parse_collector_config(R"(
institution: 示范大学
upstream:
  address: province.example.edu.cn
  pin_sha256: "AB:CD:ef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
  agent_id: campus-a
  key: esk_secret
  spool_max_chunks: 500
  max_chunk_findings: 100
  ack_timeout: 10s
)",
                                             "c.yaml");
  c.data_dir = "/tmp/es";
  resolve_defaults(c);
  const auto& u = c.upstream;
  EXPECT_TRUE(u.enabled);
  EXPECT_EQ(u.host, "province.example.edu.cn");
  EXPECT_EQ(u.port, 24224);
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.pin_sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(u.server_name, "province.example.edu.cn");
  EXPECT_EQ(u.agent_id, "campus-a");
  EXPECT_EQ(upstream_key(u), "esk_secret");
  EXPECT_EQ(u.campus, "示范大学");  // the institution, unless upstream.campus says otherwise
  EXPECT_EQ(u.spool_dir, "/tmp/es/upstream-spool");
  EXPECT_EQ(u.spool_max_chunks, 500u);
  EXPECT_EQ(u.max_chunk_findings, 100u);
  EXPECT_EQ(u.ack_timeout, std::chrono::seconds(10));

  CollectorConfig plain = parse_collector_config(R"(
upstream:
  address: "[2001:db8::7]:24300"
  tls: false
  agent_id: campus-b
  key_file: campus-b.key
  campus: B
  spool_dir: spool
)",
                                                 "c.yaml");
  EXPECT_FALSE(plain.upstream.tls);
  EXPECT_EQ(plain.upstream.host, "2001:db8::7");
  EXPECT_EQ(plain.upstream.port, 24300);
  EXPECT_EQ(plain.upstream.campus, "B");
  EXPECT_EQ(plain.upstream.key_file, "campus-b.key");
  EXPECT_THROW(upstream_key(plain.upstream), ConfigError);  // no such file

  CollectorConfig none = parse_collector_config("", "c.yaml");
  EXPECT_FALSE(none.upstream.enabled);
}

TEST(CollectorConfig, UpstreamMistakesNameTheLine) {
  struct Case {
    const char* yaml;
    const char* where;
    const char* what;
  };
  const std::string head = "institution: x\nupstream:\n";
  for (const Case& c : {
           Case{"  address: p:24224\n  agent_id: a\n  key: k\n",
                "c.yaml:3:", "give upstream.ca_file or upstream.pin_sha256"},
           Case{"  address: p\n  tls: false\n  agent_id: a\n  key: k\n  spool: x\n", "c.yaml:7:3",
                "unknown key 'spool'"},
           Case{"  address: p\n  tls: false\n  key: k\n", "c.yaml:3:", "agent_id is required"},
           Case{"  address: p\n  tls: false\n  agent_id: a\n",
                "c.yaml:3:", "upstream.key_file (or upstream.key) is required"},
           Case{"  address: \"p:x\"\n  tls: false\n  agent_id: a\n  key: k\n",
                "c.yaml:3:", "must be host[:port]"},
           Case{"  address: p\n  pin_sha256: abc\n  agent_id: a\n  key: k\n",
                "c.yaml:4:", "64 hex digits"},
           Case{"  address: p\n  tls: false\n  agent_id: a\n  key: k\n  key_file: f\n",
                "c.yaml:6:", "not both"},
       }) {
    const std::string yaml = head + c.yaml;
    try {
      parse_collector_config(yaml, "c.yaml");
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(c.where, 0), 0u) << msg;
      EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
    }
  }
}

TEST(CollectorConfig, ListenAddresses) {
  auto a = parse_listen_address("[2001:db8::1]:24224", "x");
  EXPECT_EQ(a.host, "2001:db8::1");
  EXPECT_EQ(a.port, 24224);
  EXPECT_THROW(parse_listen_address("2001:db8::1:24224", "x"), ConfigError);
  EXPECT_THROW(parse_listen_address("127.0.0.1:99999", "x"), ConfigError);
  EXPECT_THROW(parse_listen_address("127.0.0.1", "x"), ConfigError);
}

}  // namespace
}  // namespace edusight::collector
