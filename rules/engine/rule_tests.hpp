#pragma once
// `rules test`: runs rule files against fixture findings with expected outcomes, the way
// promtool tests Prometheus rules, so a policy change is checked before it is deployed.
#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>
#include <iosfwd>
#include <string>
#include <vector>

namespace edusight::rules {

struct RuleTestOptions {
  // Fail when a loaded rule is matched by no test (every shipped rule must have one).
  bool require_coverage = true;
};

// Exit status: 0 every test passed, 1 a test failed (or a rule is untested), 2 a fixture or
// rule file is malformed. Progress and failures go to `out`.
int run_rule_tests(const std::vector<std::string>& fixture_files, std::ostream& out,
                   const RuleTestOptions& options = {});

// YAML to JSON: plain scalars become numbers, booleans or null when they read as such;
// quoted scalars stay strings.
boost::json::value yaml_to_json(const YAML::Node& n);

}  // namespace edusight::rules
