// Rule files: every mistake is refused with its file, line and what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "edusight/core/config.hpp"
#include "edusight/core/finding.hpp"
#include "rules/engine/rule_set.hpp"
#include "rules/engine/rule_tests.hpp"

namespace edusight::rules {
namespace {

// The message of the ConfigError the text raises ("" when it loads).
std::string error_of(const std::string& yaml) {
  try {
    parse_rules(yaml, "bad.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const std::string kHead =
    "rules:\n  - id: r1\n    kind: tls.cert_expired\n    title: {zh: 过期, en: Expired}\n";

TEST(RuleLoader, AValidFileLoads) {
  EXPECT_EQ(error_of(kHead + "    severity: high\n    alert: true\n    renotify: 12h\n"), "");
  EXPECT_EQ(error_of(""), "");  // an empty file holds no rules
}

TEST(RuleLoader, MistakesNameFileLineAndProblem) {
  EXPECT_EQ(error_of(kHead + "    severity: urgent\n"),
            "bad.yaml:5:15: rule r1: severity 'urgent' is not one of info, low, medium, high, "
            "critical");
  EXPECT_EQ(error_of(kHead + "    sevrity: high\n"),
            "bad.yaml:5:5: unknown key 'sevrity' in a rule (known: alert, description, id, kind, "
            "kinds, remediation, renotify, severity, tags, title, when)");
  EXPECT_EQ(error_of(kHead + "    when:\n      evidence.days: {lte: soon}\n"),
            "bad.yaml:6:28: the test of evidence.days: lte needs a number, not 'soon'");
  EXPECT_EQ(error_of(kHead + "    when:\n      evidence.x: {like: y}\n"),
            "bad.yaml:6:20: unknown operator 'like' (known: equals, not_equals, in, not_in, lt, "
            "lte, gt, gte, contains, matches, exists)");
  EXPECT_EQ(error_of(kHead + "    when:\n      owner: x\n"),
            "bad.yaml:6:7: unknown field 'owner' (known: kind, subject, severity, agent, scan, "
            "title, title_zh, evidence.<key>[.<key>...])");
  EXPECT_NE(error_of(kHead + "    when:\n      subject: {matches: '(['}\n")
                .find("bad.yaml:6:26: the test of subject: '([' is not a valid regular expression"),
            std::string::npos);
  EXPECT_EQ(error_of("rules:\n  - id: r1\n    kind: tls.cert_expired\n    title: {zh: 过期}\n"),
            "bad.yaml:4:12: rule r1 title needs both zh and en");
  EXPECT_EQ(error_of(kHead + "    renotify: 1h\n"),
            "bad.yaml:5:15: rule r1: renotify needs alert: true");
  EXPECT_EQ(error_of("rules:\n  - id: R1\n"),
            "bad.yaml:2:9: rule id 'R1' must be lower case letters, digits, '-', '_' or '.' (at "
            "most 100)");
  EXPECT_EQ(error_of("rules:\n  - id: r1\n    kind: TLS\n    title: {zh: a, en: b}\n"),
            "bad.yaml:3:11: rule r1: 'TLS' is not a finding kind (dotted lower case, or prefix.*)");
  EXPECT_EQ(error_of("rules: [\n"), "bad.yaml:2:1: end of sequence flow not found");
}

TEST(RuleLoader, DuplicateIdsAndUnknownExceptionRulesAreRefused) {
  EXPECT_EQ(
      error_of(kHead + "  - id: r1\n    kind: tls.cert_expiring\n    title: {zh: a, en: b}\n"),
      "bad.yaml:5: rule id 'r1' is already defined at bad.yaml:2");
  EXPECT_EQ(error_of(kHead + "exceptions:\n  - subject: a\n    rule: r2\n    reason: x\n    owner: "
                             "y\n    expires: 2027-01-01\n"),
            "bad.yaml:7:11: the exception names rule 'r2', which no rule file defines");
}

TEST(RuleLoader, ExceptionsNeedReasonOwnerAndAReadableExpiry) {
  EXPECT_EQ(
      error_of(kHead + "exceptions:\n  - subject: a\n    reason: x\n    expires: 2027-01-01\n"),
      "bad.yaml:6:5: an exception needs owner (subject, reason, owner and expires are all "
      "required)");
  EXPECT_EQ(
      error_of(kHead + "exceptions:\n  - subject: a\n    reason: x\n    owner: y\n    "
                       "expires: next year\n"),
      "bad.yaml:9:14: exception expiry 'next year' must be a date (2027-01-31) or an RFC 3339 "
      "time");
  EXPECT_EQ(
      error_of(kHead + "exceptions:\n  - subject: a.*.edu.cn\n    reason: x\n    owner: y\n    "
                       "expires: 2027-01-01\n"),
      "bad.yaml:6:14: exception subject 'a.*.edu.cn': a wildcard is only allowed as a "
      "leading '*.' (*.zone)");
}

TEST(RuleLoader, DirectoriesLoadInNameOrderAndIdsAreUniqueAcrossFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("edusight-rules-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.yaml") << kHead;
  std::ofstream(dir / "a.yml")
      << "rules:\n  - id: r0\n    kind: dns.*\n    title: {zh: a, en: b}\n";
  std::ofstream(dir / "notes.txt") << "not rules";
  const auto set = load_rule_files({dir.string()});
  ASSERT_EQ(set.rules().size(), 2u);
  EXPECT_EQ(set.rules()[0].id, "r0");
  EXPECT_EQ(set.rules()[1].id, "r1");
  std::ofstream(dir / "c.yaml") << kHead;
  try {
    load_rule_files({dir.string()});
    ADD_FAILURE() << "duplicate id accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "c.yaml").string() +
                                         ":2: rule id 'r1' is already defined at " +
                                         (dir / "b.yaml").string() + ":2");
  }
  fs::remove_all(dir);
}

TEST(RuleLoader, YamlToJsonKeepsQuotedScalarsAsStrings) {
  const auto v = yaml_to_json(YAML::Load("{a: 1, b: '1', c: 0.5, d: true, e: ~, f: [x, 2]}"));
  const auto& o = v.as_object();
  EXPECT_TRUE(o.at("a").is_int64());
  EXPECT_TRUE(o.at("b").is_string());
  EXPECT_TRUE(o.at("c").is_double());
  EXPECT_TRUE(o.at("d").is_bool());
  EXPECT_TRUE(o.at("e").is_null());
  EXPECT_EQ(o.at("f").as_array().size(), 2u);
}

}  // namespace
}  // namespace edusight::rules
