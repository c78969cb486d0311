#include "rules/engine/rule_tests.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>

#include "edusight/core/yaml_reader.hpp"
#include "rules/engine/rule_set.hpp"

namespace edusight::rules {

boost::json::value yaml_to_json(const YAML::Node& n) {
  if (!n || n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    boost::json::array a;
    for (const auto& item : n) a.push_back(yaml_to_json(item));
    return a;
  }
  if (n.IsMap()) {
    boost::json::object o;
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return boost::json::string(s);  // quoted: a string whatever it reads as
  if (s == "true") return true;
  if (s == "false") return false;
  if (s == "null" || s == "~") return nullptr;
  std::int64_t i = 0;
  if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      !s.empty() && ec == std::errc{} && p == s.data() + s.size()) {
    return i;
  }
  double d = 0;
  if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      !s.empty() && ec == std::errc{} && p == s.data() + s.size()) {
    return d;
  }
  return boost::json::string(s);
}

namespace {

struct Expectation {
  std::optional<Severity> severity;
  std::optional<std::vector<std::string>> rules, alerts, suppressed, tags;
};

struct TestCase {
  std::string name;
  std::string origin;
  Finding finding;
  Expectation expect;
};

struct Fixture {
  std::vector<std::string> rule_files;
  TimePoint evaluation_time{};
  std::vector<TestCase> tests;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

Fixture read_fixture(const std::string& path) {
  namespace fs = std::filesystem;
  const Reader r(path);
  const YAML::Node root = load_yaml(read_config_text(path), path);
  r.expect_map(root, "a rule test file");
  r.only_keys(root, "a rule test file", {"rule_files", "evaluation_time", "tests"});
  Fixture fx;
  if (!root["rule_files"]) r.fail(root, "a rule test file needs rule_files");
  const fs::path base = fs::path(path).parent_path();
  for (const auto& f : r.list(root["rule_files"], "rule_files")) {
    // Relative to the test file, so the fixtures run from anywhere.
    fx.rule_files.push_back(fs::path(f).is_absolute() ? f : (base / f).lexically_normal().string());
  }
  if (root["evaluation_time"]) {
    const auto text = r.scalar(root["evaluation_time"], "evaluation_time");
    auto t = parse_rfc3339(text);
    if (!t) r.fail(root["evaluation_time"], "evaluation_time must be an RFC 3339 time");
    fx.evaluation_time = *t;
  } else {
    fx.evaluation_time = std::chrono::system_clock::now();
  }
  const YAML::Node tests = root["tests"];
  if (!tests || !tests.IsSequence() || tests.size() == 0)
    r.fail(root, "a rule test file needs a non-empty list of tests");
  for (const auto& t : tests) {
    r.expect_map(t, "each test");
    r.only_keys(t, "a test", {"name", "finding", "expect"});
    TestCase tc;
    tc.origin = path + ":" + std::to_string(t.Mark().line + 1);
    if (!t["name"] || !t["finding"] || !t["expect"])
      r.fail(t, "a test needs name, finding and expect");
    tc.name = r.nonempty(t["name"], "the test name");
    r.expect_map(t["finding"], "the test's finding");
    const auto record = yaml_to_json(t["finding"]);
    std::string error;
    auto f = from_json(record.as_object(), &error);
    if (!f) r.fail(t["finding"], "the test's finding: " + error);
    tc.finding = std::move(*f);
    const YAML::Node e = t["expect"];
    r.expect_map(e, "the test's expect");
    r.only_keys(e, "expect", {"severity", "rules", "alerts", "suppressed", "tags"});
    if (e["severity"]) {
      const auto s = r.scalar(e["severity"], "expect.severity");
      tc.expect.severity = parse_severity(s);
      if (!tc.expect.severity) r.fail(e["severity"], "'" + s + "' is not a severity");
    }
    if (e["rules"]) tc.expect.rules = r.list(e["rules"], "expect.rules");
    if (e["alerts"]) tc.expect.alerts = r.list(e["alerts"], "expect.alerts");
    if (e["suppressed"]) tc.expect.suppressed = r.list(e["suppressed"], "expect.suppressed");
    if (e["tags"]) tc.expect.tags = r.list(e["tags"], "expect.tags");
    fx.tests.push_back(std::move(tc));
  }
  return fx;
}

// Empty when the outcome is as expected; otherwise what differs.
std::vector<std::string> check(const TestCase& tc, const Finding& got,
                               const std::vector<AlertIntent>& alerts) {
  std::vector<std::string> diffs;
  auto compare = [&](const char* what, const std::optional<std::vector<std::string>>& want,
                     std::vector<std::string> have) {
    if (want && sorted(*want) != sorted(have)) {
      diffs.push_back(std::string(what) + ": expected " + join(sorted(*want)) + ", got " +
                      join(sorted(have)));
    }
  };
  if (tc.expect.severity && *tc.expect.severity != got.severity) {
    diffs.push_back("severity: expected " + std::string(to_string(*tc.expect.severity)) + ", got " +
                    std::string(to_string(got.severity)));
  }
  compare("rules", tc.expect.rules, got.policy.rules);
  std::vector<std::string> alerting;
  for (const auto& a : alerts) alerting.push_back(a.rule);
  compare("alerts", tc.expect.alerts, alerting);
  std::vector<std::string> suppressed;
  for (const auto& s : got.policy.suppressed) suppressed.push_back(s.rule);
  compare("suppressed", tc.expect.suppressed, suppressed);
  compare("tags", tc.expect.tags, got.policy.tags);
  return diffs;
}

}  // namespace

int run_rule_tests(const std::vector<std::string>& fixture_files, std::ostream& out,
                   const RuleTestOptions& options) {
  std::map<std::string, std::string> loaded;  // rule id -> where defined
  std::set<std::string> exercised;
  int total = 0, failed = 0;
  for (const auto& path : fixture_files) {
    Fixture fx;
    RuleSet rules;
    try {
      fx = read_fixture(path);
      rules = load_rule_files(fx.rule_files);
    } catch (const ConfigError& e) {
      out << "FAILED to load: " << e.what() << "\n";
      return 2;
    }
    for (const auto& r : rules.rules()) loaded.emplace(r.id, r.origin);
    int file_failed = 0;
    for (const auto& tc : fx.tests) {
      ++total;
      Finding f = tc.finding;
      std::vector<AlertIntent> alerts;
      rules.apply(f, fx.evaluation_time, &alerts);
      for (const auto& id : f.policy.rules) exercised.insert(id);
      const auto diffs = check(tc, f, alerts);
      if (!diffs.empty()) {
        ++failed;
        ++file_failed;
        out << "  FAILED " << tc.origin << " " << tc.name << "\n";
        for (const auto& d : diffs) out << "    " << d << "\n";
      }
    }
    out << path << ": " << fx.tests.size() - file_failed << " of " << fx.tests.size()
        << " tests passed\n";
  }
  std::vector<std::string> untested;
  for (const auto& [id, origin] : loaded) {
    if (!exercised.count(id)) untested.push_back(id + " (" + origin + ")");
  }
  for (const auto& u : untested) out << "  UNTESTED rule " << u << ": no test matches it\n";
  out << "rules test: " << total - failed << " of " << total << " tests passed, " << loaded.size()
      << " rules, " << loaded.size() - untested.size() << " exercised\n";
  if (failed > 0) return 1;
  if (options.require_coverage && !untested.empty()) return 1;
  return 0;
}

}  // namespace edusight::rules
