#include "agent/daemon_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace edusight::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kScanConfig = R"(institution:
  own_domains: [demo-univ.edu.cn]
dns:
  resolvers: [192.0.2.53]
targets: [www.demo-univ.edu.cn]
)";

constexpr const char* kGood = R"(agent:
  id: campus-a
  key_file: agent.key
  spool_dir: spool
  spool_max_bytes: 268435456
  spool_max_chunks: 100000
  heartbeat_interval: 30s
collector:
  address: collector.example.edu.cn:24224
  tls: true
  ca_file: collector.crt
  connect_timeout: 5s
  ack_timeout: 30s
  batch_max_findings: 500
  batch_max_delay: 1s
jobs:
  - name: ipv6-daily
    scan_config: demo-campus.yaml
    schedule: "0 3 * * *"
    jitter: 10m
    run_at_start: false
  - name: hourly
    scan_config: demo-campus.yaml
    schedule: "@every 1h"
    run_at_start: yes
)";

class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/daemon-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "agent.key") << "the-key\n";
    std::ofstream(dir_ / "demo-campus.yaml") << kScanConfig;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  DaemonConfig parse(const std::string& text) {
    // Never the machine's own identity file: the tests stay hermetic.
    return parse_daemon_config(text, "agent.yaml", dir_.string(),
                               (dir_ / "default-identity.yaml").string());
  }
  // Replaces the first occurrence of `from` in the good file.
  std::string good_with(const std::string& from, const std::string& to) {
    std::string s = kGood;
    const auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
  }
  // Expects a ConfigError at `line` whose message contains `fragment`.
  void expect_error(const std::string& text, int line, const std::string& fragment) {
    try {
      parse(text);
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.file(), "agent.yaml");
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(DaemonConfigTest, GoodFile) {
  const auto c = parse(kGood);
  EXPECT_EQ(c.agent_id, "campus-a");
  EXPECT_EQ(c.key, "the-key");
  EXPECT_EQ(c.spool_dir, (dir_ / "spool").string());
  EXPECT_EQ(c.spool_max_bytes, 268435456u);
  EXPECT_EQ(c.spool_max_chunks, 100000u);
  EXPECT_EQ(c.heartbeat_interval, 30s);
  EXPECT_EQ(c.collector.host, "collector.example.edu.cn");
  EXPECT_EQ(c.collector.port, 24224);
  EXPECT_TRUE(c.collector.tls);
  EXPECT_EQ(c.collector.ca_file, (dir_ / "collector.crt").string());
  EXPECT_EQ(c.collector.server_name, "collector.example.edu.cn");
  EXPECT_EQ(c.collector.ack_timeout, 30s);
  EXPECT_EQ(c.collector.batch_max_findings, 500u);
  EXPECT_EQ(c.collector.batch_max_delay, 1s);
  ASSERT_EQ(c.jobs.size(), 2u);
  EXPECT_EQ(c.jobs[0].name, "ipv6-daily");
  EXPECT_EQ(c.jobs[0].schedule.text(), "0 3 * * *");
  EXPECT_EQ(c.jobs[0].jitter, 10min);
  EXPECT_FALSE(c.jobs[0].run_at_start);
  EXPECT_EQ(c.jobs[0].scan.agent_id, "campus-a");  // the daemon's identity, not the file's
  EXPECT_EQ(c.jobs[0].scan.targets, std::vector<std::string>{"www.demo-univ.edu.cn"});
  EXPECT_TRUE(c.jobs[1].schedule.is_interval());
  EXPECT_TRUE(c.jobs[1].run_at_start);
}

TEST_F(DaemonConfigTest, LoadResolvesFilesAgainstTheConfigFile) {
  std::ofstream(dir_ / "agent.yaml") << kGood;
  const auto c = load_daemon_config((dir_ / "agent.yaml").string());
  EXPECT_EQ(c.jobs[0].scan_config_file, (dir_ / "demo-campus.yaml").string());
  EXPECT_EQ(c.key, "the-key");
}

TEST_F(DaemonConfigTest, InlineKeyPinAndIpv6Address) {
  const auto c = parse(R"(agent:
  id: a
  key: k
collector:
  address: "[2001:db8::1]:24225"
  pin_sha256: "AB:CD:ef:0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
)");
  EXPECT_EQ(c.key, "k");
  EXPECT_EQ(c.collector.host, "2001:db8::1");
  EXPECT_EQ(c.collector.port, 24225);
  EXPECT_EQ(c.collector.pin_sha256,
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_TRUE(c.jobs.empty());
}

TEST_F(DaemonConfigTest, PlaintextNeedsNoCa) {
  const auto c = parse(R"(agent: {id: a, key: k}
collector: {address: 127.0.0.1:24224, tls: false}
)");
  EXPECT_FALSE(c.collector.tls);
}

TEST_F(DaemonConfigTest, Errors) {
  expect_error(good_with("  id: campus-a\n", "  idd: campus-a\n"), 2, "unknown key 'idd'");
  expect_error(good_with("  id: campus-a\n", ""), 2, "not enrolled");
  expect_error(good_with("key_file: agent.key", "key_file: missing.key"), 3, "cannot read key");
  expect_error(good_with("spool_max_chunks: 100000", "spool_max_chunks: lots"), 6, "whole number");
  expect_error(good_with("heartbeat_interval: 30s", "heartbeat_interval: 30"), 7, "not a duration");
  expect_error(good_with("collector.example.edu.cn:24224", "collector:99999"), 9, "host:port");
  expect_error(good_with("  tls: true", "  tls: maybe"), 10, "true or false");
  expect_error(good_with("  ca_file: collector.crt\n", ""), 9, "ca_file or collector.pin_sha256");
  expect_error(good_with("batch_max_findings: 500", "batch_max_findings: 0"), 14, "between 1 and");
  expect_error(good_with("schedule: \"0 3 * * *\"", "schedule: \"0 25 * * *\""), 19, "hour");
  expect_error(good_with("jitter: 10m", "jiter: 10m"), 20, "unknown key 'jiter'");
  expect_error(good_with("scan_config: demo-campus.yaml", "scan_config: nope.yaml"), 18,
               "cannot open");
  expect_error(good_with("  - name: hourly", "  - name: ipv6-daily"), 22, "used twice");
  expect_error(good_with("jobs:", "jobz:"), 16, "unknown key 'jobz'");
  expect_error("agent: [1, 2]\n", 1, "must be a mapping");
}

TEST_F(DaemonConfigTest, YamlSyntaxErrorsHaveALine) {
  try {
    parse("agent:\n  id: a\n  key: k\ncollector:\n  address: [oops\n");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_GT(e.line(), 0) << e.what();
  }
}

TEST_F(DaemonConfigTest, ScanConfigErrorsNameTheJob) {
  std::ofstream(dir_ / "bad.yaml") << "targets: [x.demo-univ.edu.cn]\n";  // no resolver
  expect_error(good_with("scan_config: demo-campus.yaml", "scan_config: bad.yaml"), 18,
               "job 'ipv6-daily'");
}

// ---- the identity file written by `edusight-agent enroll` ----

constexpr const char* kIdentity = R"(# written by edusight-agent enroll
agent_id: "lab-pc-7"
key: "esk_secret"
collector:
  host: "collector.example.edu.cn"
  port: 24224
  tls: true
  pin_sha256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
)";

TEST_F(DaemonConfigTest, TheDefaultIdentityFileSuppliesWhatTheConfigLeavesOut) {
  std::ofstream(dir_ / "default-identity.yaml") << kIdentity;
  const auto c = parse("agent:\n  spool_dir: spool\n");
  EXPECT_EQ(c.agent_id, "lab-pc-7");
  EXPECT_EQ(c.key, "esk_secret");
  EXPECT_EQ(c.identity_file, (dir_ / "default-identity.yaml").string());
  EXPECT_EQ(c.collector.host, "collector.example.edu.cn");
  EXPECT_EQ(c.collector.port, 24224);
  EXPECT_TRUE(c.collector.tls);
  EXPECT_EQ(c.collector.pin_sha256,
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(c.collector.server_name, "collector.example.edu.cn");
  // Not even an agent section is needed.
  EXPECT_EQ(parse("jobs: []\n").agent_id, "lab-pc-7");
}

TEST_F(DaemonConfigTest, TheConfigWinsOverTheIdentityFile) {
  std::ofstream(dir_ / "id.yaml") << kIdentity;
  const auto c = parse(R"(agent:
  id: renamed
  identity_file: id.yaml
collector:
  address: 192.0.2.7:24300
  ca_file: collector.crt
  batch_max_findings: 20
)");
  EXPECT_EQ(c.agent_id, "renamed");
  EXPECT_EQ(c.key, "esk_secret");  // not set in the file: the identity's
  EXPECT_EQ(c.identity_file, (dir_ / "id.yaml").string());
  EXPECT_EQ(c.collector.host, "192.0.2.7");
  EXPECT_EQ(c.collector.port, 24300);
  // Trust is one decision: the file's CA, not the identity's pin beside it.
  EXPECT_EQ(c.collector.ca_file, (dir_ / "collector.crt").string());
  EXPECT_TRUE(c.collector.pin_sha256.empty());
  EXPECT_EQ(c.collector.batch_max_findings, 20u);
}

TEST_F(DaemonConfigTest, AnIdentityInTheConfigNeedsNoFile) {
  // agent.id and agent.key both given: the default identity file is not looked for.
  const auto c = parse("agent: {id: a, key: k}\ncollector: {address: h:1, tls: false}\n");
  EXPECT_EQ(c.agent_id, "a");
  EXPECT_TRUE(c.identity_file.empty());
}

TEST_F(DaemonConfigTest, NotEnrolledIsAClearError) {
  expect_error("agent:\n  spool_dir: spool\n", 2, "not enrolled");
  expect_error("agent:\n  spool_dir: spool\n", 2, "edusight-agent enroll");
  expect_error("agent:\n  identity_file: nope.yaml\n", 2, "no identity file");
  expect_error("agent:\n  id: a\n", 2, "not enrolled");
  // A broken identity file is reported at its own line.
  std::ofstream(dir_ / "broken.yaml") << "agent_id: a\nkey: k\ncolector: {}\n";
  try {
    parse("agent:\n  identity_file: broken.yaml\n");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), (dir_ / "broken.yaml").string());
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("unknown key 'colector'"), std::string::npos);
  }
}

TEST_F(DaemonConfigTest, IdentityFilesAreWrittenAtomicallyPrivateAndNotReplaced) {
  Identity id;
  id.agent_id = "pc-1";
  id.key = "esk_\"quoted\"";
  id.host = "2001:db8::10";
  id.port = 24300;
  id.ca_file = "/etc/ssl/campus ca.pem";
  id.server_name = "collector.example.edu.cn";
  const auto path = (dir_ / "sub" / "identity.yaml").string();
  write_identity(path, id, false);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const Identity back = load_identity(path);
  EXPECT_EQ(back.agent_id, "pc-1");
  EXPECT_EQ(back.key, "esk_\"quoted\"");
  EXPECT_EQ(back.host, "2001:db8::10");
  EXPECT_EQ(back.port, 24300);
  EXPECT_EQ(back.ca_file, "/etc/ssl/campus ca.pem");
  EXPECT_EQ(back.server_name, "collector.example.edu.cn");
  EXPECT_TRUE(back.pin_sha256.empty());
  id.agent_id = "pc-2";
  EXPECT_THROW(write_identity(path, id, false), std::runtime_error);
  EXPECT_EQ(load_identity(path).agent_id, "pc-1");
  write_identity(path, id, true);
  EXPECT_EQ(load_identity(path).agent_id, "pc-2");
  // No temporary files are left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "sub")) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(HostPort, Forms) {
  std::string h;
  std::uint16_t p = 0;
  EXPECT_TRUE(parse_host_port("c.example:1234", &h, &p));
  EXPECT_EQ(h, "c.example");
  EXPECT_EQ(p, 1234);
  EXPECT_TRUE(parse_host_port("c.example", &h, &p));
  EXPECT_EQ(p, 24224);
  EXPECT_TRUE(parse_host_port("[::1]:9", &h, &p));
  EXPECT_EQ(h, "::1");
  EXPECT_FALSE(parse_host_port("::1", &h, &p));
  EXPECT_FALSE(parse_host_port("[nothex]:1", &h, &p));
  EXPECT_FALSE(parse_host_port("host:", &h, &p));
  EXPECT_FALSE(parse_host_port("host:0", &h, &p));
  EXPECT_FALSE(parse_host_port(":1", &h, &p));
}

}  // namespace
}  // namespace edusight::agent
