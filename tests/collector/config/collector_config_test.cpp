#include "collector/config/collector_config.hpp"

#include <gtest/gtest.h>

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
