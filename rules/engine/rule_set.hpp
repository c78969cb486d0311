#pragma once
// The rules engine: policy over findings, kept out of the probes so the compliance office can
// change severities, thresholds and exceptions without a rebuild. One engine, used by the
// agent's one-shot scan (its output already reflects the rules) and by the collector, whose
// verdict is the authoritative one.
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "edusight/core/finding.hpp"

namespace edusight::rules {

using TimePoint = std::chrono::system_clock::time_point;

struct Text {
  std::string en;
  std::string zh;
};

// A test over one field of a finding. Fields are `kind`, `subject`, `severity`, `agent`,
// `scan`, `title`, `title_zh` and `evidence.<path>` (dots between object keys).
struct Condition {
  enum class Type { all, any, none, test };
  enum class Op { equals, not_equals, in, not_in, lt, lte, gt, gte, contains, matches, exists };

  Type type = Type::test;
  std::vector<Condition> children;  // all / any / none

  std::string field;              // as written, for messages
  std::vector<std::string> path;  // field split at the dots
  Op op = Op::equals;
  std::vector<std::string> operands;  // one, or the list of `in`
  std::shared_ptr<const std::regex> regex;
  std::string origin;  // file:line, for `rules test` output
};

struct Rule {
  std::string id;
  // Exact kinds, or a prefix ending in ".*" (`tls.*`).
  std::vector<std::string> kinds;
  Text title;
  Text description;
  Text remediation;
  std::optional<Severity> severity;  // overrides the probe's default while the rule matches
  std::optional<Condition> when;     // absent: every finding of the kinds
  std::vector<std::string> tags;     // notice clauses served, e.g. 第14条
  bool alert = false;
  std::chrono::seconds renotify{24 * 3600};  // reminder interval while firing, unacknowledged
  std::string origin;                        // file:line of the rule
};

// Suppresses a subject (exact, or `*.zone` for everything under it) for one rule or all.
// Stops suppressing by itself once expired.
struct Exception {
  std::string subject;
  std::string rule;  // empty: every rule
  std::string reason;
  std::string owner;
  TimePoint expires{};
  std::string expires_text;  // as written
  std::string origin;
};

// An alert the finding raises: one per (rule, subject) in the collector's alerts table.
struct AlertIntent {
  std::string rule;
  std::string subject;
  std::string finding_id;
  Severity severity = Severity::info;
  Text title;
  Text remediation;
  std::vector<std::string> tags;
  std::chrono::seconds renotify{};
};

class RuleSet {
 public:
  RuleSet() = default;
  RuleSet(std::vector<Rule> rules, std::vector<Exception> exceptions);

  // Applies every matching rule: sets the finding's severity (the highest the matching,
  // unsuppressed rules give; the probe's default when none sets one) and its policy, and
  // appends the alerts it raises. Suppressed rules are recorded, never alerted.
  void apply(Finding& f, TimePoint now, std::vector<AlertIntent>* alerts = nullptr) const;

  // Whether `c` holds for `f` (exposed for tests and for `rules test`).
  static bool holds(const Condition& c, const Finding& f);

  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<Exception>& exceptions() const { return exceptions_; }
  const Rule* find(const std::string& id) const;
  // Every kind some rule names exactly (for coverage checks).
  std::vector<std::string> kinds() const;

 private:
  const Exception* suppression(const Rule& r, const std::string& subject, TimePoint now) const;
  std::vector<Rule> rules_;
  std::vector<Exception> exceptions_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_kind_;  // exact kind -> rules
  std::vector<std::size_t> by_prefix_;                                 // rules with `x.*`
};

// Loads rule files (YAML with `rules:` and/or `exceptions:`); a directory means its *.yaml
// and *.yml files in name order. Throws ConfigError (file:line:column: what is wrong); rule
// ids must be unique over all files.
RuleSet load_rule_files(const std::vector<std::string>& paths);
// One file's text, for tests.
RuleSet parse_rules(const std::string& yaml_text, const std::string& origin);

// The shipped campus rule set: the installed copy (share/edusight/rules beside the running
// executable's bin/, then under the configured install prefix), or the source tree's when
// running from a build tree.
std::string shipped_rules_dir();

}  // namespace edusight::rules
