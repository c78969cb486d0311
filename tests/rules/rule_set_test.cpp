// The engine's verdicts: operators, groups, severities, alerts and exceptions.
#include "rules/engine/rule_set.hpp"

#include <gtest/gtest.h>

#include "edusight/core/finding.hpp"

namespace edusight::rules {
namespace {

const TimePoint kNow = *parse_rfc3339("2026-11-25T00:00:00Z");

Finding finding(std::string kind, std::string subject, boost::json::object evidence = {}) {
  Finding f;
  f.kind = std::move(kind);
  f.subject = std::move(subject);
  f.id = finding_id(f.kind, f.subject);
  f.severity = Severity::medium;
  f.evidence = std::move(evidence);
  return f;
}

bool holds(const std::string& when_yaml, const Finding& f) {
  const auto set = parse_rules("rules:\n  - id: r\n    kind: " + f.kind +
                                   "\n    title: {zh: t, en: t}\n    when:\n" + when_yaml,
                               "test.yaml");
  Finding copy = f;
  set.apply(copy, kNow);
  return copy.policy.rules.size() == 1;
}

TEST(RuleSet, NumericComparisonsOnEvidence) {
  const auto f = finding("tls.cert_expiring", "a:443", {{"days_left", 7}});
  EXPECT_TRUE(holds("      evidence.days_left: {lte: 7}\n", f));
  EXPECT_FALSE(holds("      evidence.days_left: {lt: 7}\n", f));
  EXPECT_TRUE(holds("      evidence.days_left: {gt: 6.5}\n", f));
  EXPECT_FALSE(holds("      evidence.days_left: {gte: 8}\n", f));
  // A string is not a number: no comparison holds.
  const auto g = finding("tls.cert_expiring", "a:443", {{"days_left", "7"}});
  EXPECT_FALSE(holds("      evidence.days_left: {lte: 7}\n", g));
}

TEST(RuleSet, EqualsInContainsMatchesExists) {
  const auto f = finding("exposure.risky_service", "db:6379",
                         {{"service", "redis"},
                          {"port", 6379},
                          {"open", boost::json::array{"192.0.2.1", "2001:db8::1"}},
                          {"nested", {{"ok", true}}}});
  EXPECT_TRUE(holds("      evidence.service: redis\n", f));
  EXPECT_TRUE(holds("      evidence.port: 6379\n", f));
  EXPECT_TRUE(holds("      evidence.service: [mysql, redis]\n", f));
  EXPECT_FALSE(holds("      evidence.service: {not_in: [mysql, redis]}\n", f));
  EXPECT_TRUE(holds("      evidence.open: {contains: 2001:db8::1}\n", f));
  EXPECT_TRUE(holds("      evidence.service: {contains: edi}\n", f));
  EXPECT_TRUE(holds("      subject: {matches: ':6379$'}\n", f));
  EXPECT_TRUE(holds("      evidence.open: {matches: '^2001:db8:'}\n", f));
  EXPECT_TRUE(holds("      evidence.nested.ok: true\n", f));
  EXPECT_FALSE(holds("      evidence.nested.ok: false\n", f));
  EXPECT_TRUE(holds("      evidence.missing: {exists: false}\n", f));
  EXPECT_FALSE(holds("      evidence.missing: {exists: true}\n", f));
  // An absent field satisfies only the negative tests.
  EXPECT_TRUE(holds("      evidence.missing: {not_equals: x}\n", f));
  EXPECT_FALSE(holds("      evidence.missing: x\n", f));
}

TEST(RuleSet, SeverityComparesByRank) {
  auto f = finding("dns.open_resolver", "192.0.2.54");
  f.severity = Severity::high;
  EXPECT_TRUE(holds("      severity: {gte: medium}\n", f));
  EXPECT_FALSE(holds("      severity: {gt: high}\n", f));
  EXPECT_TRUE(holds("      severity: high\n", f));
}

TEST(RuleSet, AllAnyNot) {
  const auto f = finding("asset.zombie", "x.edu.cn", {{"live", false}, {"registered", true}});
  EXPECT_TRUE(holds(
      "      all:\n        - evidence.live: false\n        - evidence.registered: true\n", f));
  EXPECT_FALSE(
      holds("      all:\n        - evidence.live: true\n        - evidence.registered: true\n", f));
  EXPECT_TRUE(
      holds("      any:\n        - evidence.live: true\n        - evidence.registered: true\n", f));
  EXPECT_FALSE(holds("      not:\n        evidence.live: false\n", f));
  // Several keys in one mapping must all hold.
  EXPECT_FALSE(holds("      evidence.live: false\n      evidence.registered: false\n", f));
}

TEST(RuleSet, LongStringsAreCutBeforeTheRegex) {
  // A megabyte of evidence must neither crash the matcher nor take long.
  const auto f = finding("asset.discovered", "x", {{"title", std::string(1'000'000, 'a') + "END"}});
  EXPECT_FALSE(holds("      evidence.title: {matches: 'END$'}\n", f));
  EXPECT_TRUE(holds("      evidence.title: {matches: '^a+'}\n", f));
}

const char* kPolicy = R"(
rules:
  - id: expiring
    kind: tls.cert_expiring
    title: {zh: 即将过期, en: Expiring}
    severity: low
    tags: [第16条]
    remediation: {zh: 续期, en: Renew}
    alert: true
    renotify: 2h
  - id: expiring-soon
    kind: tls.*
    title: {zh: 很快过期, en: Expiring soon}
    severity: high
    when:
      evidence.days_left: {lte: 7}
    tags: [第16条, 第17条]
    alert: true
exceptions:
  - subject: "*.lab.edu.cn"
    rule: expiring-soon
    reason: 实验环境
    owner: 网络实验室
    expires: 2026-12-31
  - subject: old.edu.cn:443
    reason: 即将下线
    owner: 信息办
    expires: 2026-11-24
)";

TEST(RuleSet, HighestUnsuppressedSeverityWinsAndAlertsCarryTheRule) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("tls.cert_expiring", "www.edu.cn:443", {{"days_left", 3}});
  std::vector<AlertIntent> alerts;
  set.apply(f, kNow, &alerts);
  EXPECT_EQ(f.severity, Severity::high);
  EXPECT_EQ(f.policy.rules, (std::vector<std::string>{"expiring", "expiring-soon"}));
  EXPECT_EQ(f.policy.alerting, f.policy.rules);
  EXPECT_EQ(f.policy.tags, (std::vector<std::string>{"第16条", "第17条"}));
  EXPECT_EQ(f.policy.remediation_zh, "续期");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].rule, "expiring");
  EXPECT_EQ(alerts[0].severity, Severity::low);
  EXPECT_EQ(alerts[0].renotify, std::chrono::hours(2));
  EXPECT_EQ(alerts[0].finding_id, f.id);
  EXPECT_EQ(alerts[1].severity, Severity::high);
  EXPECT_EQ(alerts[1].renotify, std::chrono::hours(24));  // the default
}

TEST(RuleSet, RulesCanLowerTheProbesSeverity) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("tls.cert_expiring", "www.edu.cn:443", {{"days_left", 20}});
  f.severity = Severity::medium;
  set.apply(f, kNow);
  EXPECT_EQ(f.severity, Severity::low);
}

TEST(RuleSet, ExceptionsSuppressUntilTheyExpire) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("tls.cert_expiring", "db.lab.edu.cn:443", {{"days_left", 3}});
  std::vector<AlertIntent> alerts;
  set.apply(f, kNow, &alerts);
  EXPECT_EQ(f.policy.alerting, (std::vector<std::string>{"expiring"}));
  ASSERT_EQ(f.policy.suppressed.size(), 1u);
  EXPECT_EQ(f.policy.suppressed[0].rule, "expiring-soon");
  EXPECT_EQ(f.policy.suppressed[0].owner, "网络实验室");
  EXPECT_EQ(f.severity, Severity::low);  // the suppressed rule's severity does not count
  ASSERT_EQ(alerts.size(), 1u);

  // "2026-12-31" holds through that day in UTC+8: until 2026-12-31T16:00Z.
  auto later = finding("tls.cert_expiring", "db.lab.edu.cn:443", {{"days_left", 3}});
  alerts.clear();
  set.apply(later, *parse_rfc3339("2026-12-31T15:59:59Z"), &alerts);
  EXPECT_EQ(alerts.size(), 1u);
  set.apply(later, *parse_rfc3339("2026-12-31T16:00:00Z"), &alerts);
  EXPECT_EQ(alerts.size(), 3u);  // expired: both rules alert again
  EXPECT_TRUE(later.policy.suppressed.empty());
}

TEST(RuleSet, AnExpiredExceptionForEveryRuleSuppressesNothing) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("tls.cert_expiring", "old.edu.cn:443", {{"days_left", 3}});
  std::vector<AlertIntent> alerts;
  set.apply(f, kNow, &alerts);
  EXPECT_EQ(alerts.size(), 2u);
  EXPECT_TRUE(f.policy.suppressed.empty());
  set.apply(f, *parse_rfc3339("2026-11-23T00:00:00Z"), &alerts);
  EXPECT_EQ(f.policy.suppressed.size(), 2u);
}

TEST(RuleSet, ApplyReplacesWhatTheAgentSaid) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("dns.open_resolver", "192.0.2.1");
  f.policy.rules = {"forged"};
  f.policy.alerting = {"forged"};
  set.apply(f, kNow);
  EXPECT_TRUE(f.policy.empty());
  EXPECT_TRUE(f.policy.alerting.empty());
  EXPECT_EQ(f.severity, Severity::medium);
}

TEST(RuleSet, PolicyRoundTripsThroughJson) {
  const auto set = parse_rules(kPolicy, "policy.yaml");
  auto f = finding("tls.cert_expiring", "db.lab.edu.cn:443", {{"days_left", 3}});
  set.apply(f, kNow);
  std::string error;
  const auto back = from_json(to_json(f), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->policy.rules, f.policy.rules);
  EXPECT_EQ(back->policy.alerting, f.policy.alerting);
  EXPECT_EQ(back->policy.tags, f.policy.tags);
  ASSERT_EQ(back->policy.suppressed.size(), 1u);
  EXPECT_EQ(back->policy.suppressed[0].expires, "2026-12-31");
  EXPECT_EQ(back->policy.remediation, "Renew");
}

}  // namespace
}  // namespace edusight::rules
