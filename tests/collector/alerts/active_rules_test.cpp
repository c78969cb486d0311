// The collector's rules in force: a reload that fails keeps the previous rules.
#include "collector/alerts/active_rules.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "edusight/core/config.hpp"

namespace edusight::collector {
namespace {

namespace fs = std::filesystem;

const char* kGood = R"(rules:
  - id: expired
    kind: tls.cert_expired
    title: {zh: 证书已过期, en: Certificate expired}
    severity: high
    alert: true
)";

class ActiveRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edusight-active-rules-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = (dir_ / "campus.yaml").string();
    write(kGood);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(file_, std::ios::trunc) << text; }

  Batch batch_with_expired_certificate() {
    Batch b;
    b.agent = "a";
    b.chunk_id = "c";
    b.scan = "s";
    Finding f;
    f.kind = "tls.cert_expired";
    f.subject = "www.edu.cn:443";
    f.id = finding_id(f.kind, f.subject);
    f.severity = Severity::medium;
    f.policy.rules = {"forged-by-agent"};
    b.findings.push_back(f);
    return b;
  }

  fs::path dir_;
  std::string file_;
  ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000))};
  metrics::Registry metrics_;
};

TEST_F(ActiveRulesTest, AppliesTheRulesToEveryFindingOfABatch) {
  ActiveRules rules({file_}, clock_, metrics_);
  Batch b = batch_with_expired_certificate();
  rules.apply(b);
  EXPECT_EQ(b.findings[0].severity, Severity::high);
  EXPECT_EQ(b.findings[0].policy.rules, std::vector<std::string>{"expired"});
  ASSERT_EQ(b.alerts.size(), 1u);
  EXPECT_EQ(b.alerts[0].rule, "expired");
  EXPECT_EQ(b.alerts[0].subject, "www.edu.cn:443");
}

TEST_F(ActiveRulesTest, ABrokenFileOnReloadKeepsThePreviousRules) {
  ActiveRules rules({file_}, clock_, metrics_);
  const auto before = rules.current();
  write(std::string(kGood) + "    renotify: often\n");
  const auto outcome = rules.reload();
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, file_ +
                               ":7:15: rule expired renotify must be a duration such as "
                               "500ms, 30s, 5m, 2h or 1d, not 'often'");
  EXPECT_EQ(rules.current(), before);  // the very same rule set stays in force
  Batch b = batch_with_expired_certificate();
  rules.apply(b);
  EXPECT_EQ(b.alerts.size(), 1u);
  const auto text = metrics_.render();
  EXPECT_NE(text.find("edusight_rules_reloads_total{outcome=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(text.find("edusight_rules_last_reload_successful 0"), std::string::npos);

  // Fixed: the new rules take over.
  write(std::string(kGood) +
        "    renotify: 4h\n  - id: weak\n    kind: tls.weak_protocol\n"
        "    title: {zh: 弱协议, en: Weak protocol}\n");
  const auto fixed = rules.reload();
  ASSERT_TRUE(fixed.ok) << fixed.error;
  EXPECT_EQ(fixed.rules, 2u);
  EXPECT_NE(rules.current(), before);
  EXPECT_NE(metrics_.render().find("edusight_rules_last_reload_successful 1"), std::string::npos);
}

TEST_F(ActiveRulesTest, AMissingFileAtStartUpIsAConfigError) {
  EXPECT_THROW(ActiveRules({(dir_ / "nope.yaml").string()}, clock_, metrics_), ConfigError);
}

}  // namespace
}  // namespace edusight::collector
