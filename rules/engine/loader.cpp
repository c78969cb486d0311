// Rule files: YAML read with the shared Reader, so every mistake is reported with its file,
// line and column, and unknown keys are refused rather than silently ignored.
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "edusight/core/install_dirs.hpp"
#include "edusight/core/yaml_reader.hpp"
#include "rules/engine/rule_set.hpp"

namespace edusight::rules {

namespace {

const std::set<std::string> kFinding = {"kind", "subject", "severity", "agent",
                                        "scan", "title",   "title_zh"};
const std::map<std::string, Condition::Op> kOps = {{"equals", Condition::Op::equals},
                                                   {"not_equals", Condition::Op::not_equals},
                                                   {"in", Condition::Op::in},
                                                   {"not_in", Condition::Op::not_in},
                                                   {"lt", Condition::Op::lt},
                                                   {"lte", Condition::Op::lte},
                                                   {"gt", Condition::Op::gt},
                                                   {"gte", Condition::Op::gte},
                                                   {"contains", Condition::Op::contains},
                                                   {"matches", Condition::Op::matches},
                                                   {"exists", Condition::Op::exists}};

std::string origin_of(const Reader& r, const YAML::Node& n) {
  const auto m = n.Mark();
  return m.is_null() ? r.origin() : r.origin() + ":" + std::to_string(m.line + 1);
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  if (!std::islower(static_cast<unsigned char>(id[0])) &&
      !std::isdigit(static_cast<unsigned char>(id[0])))
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool valid_kind_pattern(const std::string& k) {
  std::string body = k;
  if (body.size() > 2 && body.compare(body.size() - 2, 2, ".*") == 0) body.resize(body.size() - 2);
  if (body.empty() || body.front() == '.' || body.back() == '.') return false;
  return std::all_of(body.begin(), body.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_';
  });
}

Text read_text(const Reader& r, const YAML::Node& n, const std::string& what) {
  r.expect_map(n, what);
  r.only_keys(n, what, {"zh", "en"});
  if (!n["zh"] || !n["en"]) r.fail(n, what + " needs both zh and en");
  return Text{r.nonempty(n["en"], what + ".en"), r.nonempty(n["zh"], what + ".zh")};
}

std::vector<std::string> split_path(const std::string& field) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto dot = field.find('.', start);
    out.push_back(field.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

Condition read_condition(const Reader& r, const YAML::Node& n, const std::string& where);

Condition read_group(const Reader& r, const YAML::Node& n, Condition::Type type,
                     const std::string& what) {
  Condition c;
  c.type = type;
  c.origin = origin_of(r, n);
  if (n.IsMap()) {
    c.children.push_back(read_condition(r, n, what));
    return c;
  }
  if (!n.IsSequence() || n.size() == 0) r.fail(n, what + " must be a non-empty list of conditions");
  for (const auto& item : n) c.children.push_back(read_condition(r, item, what));
  return c;
}

Condition read_test(const Reader& r, const YAML::Node& key, const YAML::Node& value) {
  Condition c;
  c.type = Condition::Type::test;
  c.field = key.as<std::string>();
  c.origin = origin_of(r, key);
  c.path = split_path(c.field);
  const bool evidence =
      c.path.size() >= 2 && c.path[0] == "evidence" &&
      std::none_of(c.path.begin(), c.path.end(), [](const std::string& p) { return p.empty(); });
  if (!evidence && !(c.path.size() == 1 && kFinding.count(c.field))) {
    r.fail(key, "unknown field '" + c.field +
                    "' (known: kind, subject, severity, agent, scan, title, title_zh, "
                    "evidence.<key>[.<key>...])");
  }
  const bool is_severity = c.field == "severity";
  const std::string what = "the test of " + c.field;

  // `field: value` is equals; `field: [a, b]` is in.
  if (value.IsScalar()) {
    c.op = Condition::Op::equals;
    c.operands.push_back(value.Scalar());
  } else if (value.IsSequence()) {
    c.op = Condition::Op::in;
    c.operands = r.list(value, what);
  } else if (value.IsMap()) {
    if (value.size() != 1) {
      r.fail(value, what +
                        " must have exactly one operator (equals, not_equals, in, not_in, lt, "
                        "lte, gt, gte, contains, matches, exists)");
    }
    const auto op_key = value.begin()->first;
    const auto operand = value.begin()->second;
    const auto name = op_key.as<std::string>();
    auto it = kOps.find(name);
    if (it == kOps.end()) {
      r.fail(op_key, "unknown operator '" + name +
                         "' (known: equals, not_equals, in, not_in, lt, lte, gt, gte, contains, "
                         "matches, exists)");
    }
    c.op = it->second;
    if (c.op == Condition::Op::in || c.op == Condition::Op::not_in) {
      c.operands = r.list(operand, what);
      if (c.operands.empty()) r.fail(operand, what + ": the list must not be empty");
    } else if (c.op == Condition::Op::exists) {
      c.operands.push_back(r.boolean(operand, what) ? "true" : "false");
    } else {
      c.operands.push_back(r.scalar(operand, what));
    }
    const std::string& first = c.operands.front();
    switch (c.op) {
      case Condition::Op::lt:
      case Condition::Op::lte:
      case Condition::Op::gt:
      case Condition::Op::gte: {
        if (is_severity) {
          if (!parse_severity(first))
            r.fail(operand, what + ": '" + first +
                                "' is not a severity (info, low, medium, high, critical)");
        } else {
          double v = 0;
          const auto [p, ec] = std::from_chars(first.data(), first.data() + first.size(), v);
          if (first.empty() || ec != std::errc{} || p != first.data() + first.size())
            r.fail(operand, what + ": " + name + " needs a number, not '" + first + "'");
        }
        break;
      }
      case Condition::Op::matches:
        try {
          c.regex = std::make_shared<const std::regex>(first, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          r.fail(operand,
                 what + ": '" + first + "' is not a valid regular expression (" + e.what() + ")");
        }
        break;
      default:
        break;
    }
  } else {
    r.fail(value, what + " must be a value, a list or {operator: value}");
  }
  if (is_severity && c.op != Condition::Op::exists) {
    for (const auto& o : c.operands) {
      if (!parse_severity(o))
        r.fail(value, what + ": '" + o + "' is not a severity (info, low, medium, high, critical)");
    }
  }
  return c;
}

// A mapping: `all`/`any`/`not` groups and field tests; several keys must all hold.
Condition read_condition(const Reader& r, const YAML::Node& n, const std::string& where) {
  if (!n.IsMap() || n.size() == 0) r.fail(n, where + " must be a non-empty mapping of conditions");
  Condition all;
  all.type = Condition::Type::all;
  all.origin = origin_of(r, n);
  for (const auto& kv : n) {
    const auto key = kv.first.as<std::string>();
    if (key == "all")
      all.children.push_back(read_group(r, kv.second, Condition::Type::all, "all"));
    else if (key == "any")
      all.children.push_back(read_group(r, kv.second, Condition::Type::any, "any"));
    else if (key == "not")
      all.children.push_back(read_group(r, kv.second, Condition::Type::none, "not"));
    else
      all.children.push_back(read_test(r, kv.first, kv.second));
  }
  if (all.children.size() == 1) return std::move(all.children.front());
  return all;
}

Rule read_rule(const Reader& r, const YAML::Node& n) {
  r.expect_map(n, "each rule");
  r.only_keys(n, "a rule",
              {"id", "kind", "kinds", "title", "description", "severity", "when", "tags",
               "remediation", "alert", "renotify"});
  Rule rule;
  rule.origin = origin_of(r, n);
  if (!n["id"]) r.fail(n, "a rule needs an id");
  rule.id = r.nonempty(n["id"], "the rule id");
  if (!valid_id(rule.id))
    r.fail(n["id"], "rule id '" + rule.id +
                        "' must be lower case letters, digits, '-', '_' or '.' (at most 100)");
  const std::string what = "rule " + rule.id;
  if (n["kind"] && n["kinds"]) r.fail(n, what + ": give kind or kinds, not both");
  const YAML::Node kinds = n["kind"] ? n["kind"] : n["kinds"];
  if (!kinds) r.fail(n, what + " needs kind (a finding kind such as tls.cert_expired, or tls.*)");
  rule.kinds = r.list(kinds, what + " kinds");
  if (rule.kinds.empty()) r.fail(kinds, what + " needs at least one kind");
  for (const auto& k : rule.kinds) {
    if (!valid_kind_pattern(k))
      r.fail(kinds, what + ": '" + k + "' is not a finding kind (dotted lower case, or prefix.*)");
  }
  if (!n["title"]) r.fail(n, what + " needs a title with zh and en");
  rule.title = read_text(r, n["title"], what + " title");
  if (n["description"]) rule.description = read_text(r, n["description"], what + " description");
  if (n["remediation"]) rule.remediation = read_text(r, n["remediation"], what + " remediation");
  if (n["severity"]) {
    const auto s = r.scalar(n["severity"], what + " severity");
    rule.severity = parse_severity(s);
    if (!rule.severity)
      r.fail(n["severity"],
             what + ": severity '" + s + "' is not one of info, low, medium, high, critical");
  }
  if (n["when"]) rule.when = read_condition(r, n["when"], what + " when");
  if (n["tags"]) rule.tags = r.list(n["tags"], what + " tags");
  if (n["alert"]) rule.alert = r.boolean(n["alert"], what + " alert");
  if (n["renotify"]) {
    if (!rule.alert) r.fail(n["renotify"], what + ": renotify needs alert: true");
    rule.renotify = std::chrono::duration_cast<std::chrono::seconds>(r.duration(
        n["renotify"], what + " renotify", std::chrono::minutes(1), std::chrono::hours(24 * 90)));
  }
  return rule;
}

// "2027-01-31" holds through that day in China Standard Time (UTC+8), where the campus is;
// an RFC 3339 time is taken as written.
std::optional<TimePoint> parse_expiry(const std::string& s) {
  if (s.size() == 10) {
    auto t = parse_rfc3339(s + "T00:00:00+08:00");
    if (!t) return std::nullopt;
    return *t + std::chrono::hours(24);
  }
  return parse_rfc3339(s);
}

Exception read_exception(const Reader& r, const YAML::Node& n) {
  r.expect_map(n, "each exception");
  r.only_keys(n, "an exception", {"subject", "rule", "reason", "owner", "expires"});
  Exception e;
  e.origin = origin_of(r, n);
  for (const char* key : {"subject", "reason", "owner", "expires"}) {
    if (!n[key])
      r.fail(n, std::string("an exception needs ") + key +
                    " (subject, reason, owner and expires are all required)");
  }
  e.subject = r.nonempty(n["subject"], "the exception's subject");
  if (e.subject.find('*') != std::string::npos &&
      (e.subject.rfind("*.", 0) != 0 || e.subject.find('*', 1) != std::string::npos)) {
    r.fail(n["subject"], "exception subject '" + e.subject +
                             "': a wildcard is only allowed as a leading '*.' (*.zone)");
  }
  if (n["rule"]) e.rule = r.nonempty(n["rule"], "the exception's rule");
  e.reason = r.nonempty(n["reason"], "the exception's reason");
  e.owner = r.nonempty(n["owner"], "the exception's owner");
  e.expires_text = r.nonempty(n["expires"], "the exception's expiry");
  auto t = parse_expiry(e.expires_text);
  if (!t)
    r.fail(n["expires"], "exception expiry '" + e.expires_text +
                             "' must be a date (2027-01-31) or an RFC 3339 time");
  e.expires = *t;
  return e;
}

struct Parsed {
  std::vector<Rule> rules;
  std::vector<Exception> exceptions;
  std::vector<YAML::Node> exception_rule_nodes;  // for the "no such rule" check
  std::vector<Reader> readers;
};

void parse_into(const std::string& text, const std::string& origin, Parsed& out) {
  const Reader r(origin);
  const YAML::Node root = load_yaml(text, origin);
  if (!root || root.IsNull()) return;  // an empty file holds no rules; not an error
  r.expect_map(root, "a rule file");
  r.only_keys(root, "a rule file", {"rules", "exceptions"});
  if (auto list = root["rules"]) {
    if (!list.IsSequence()) r.fail(list, "rules must be a list");
    for (const auto& item : list) out.rules.push_back(read_rule(r, item));
  }
  if (auto list = root["exceptions"]) {
    if (!list.IsSequence()) r.fail(list, "exceptions must be a list");
    for (const auto& item : list) {
      out.exceptions.push_back(read_exception(r, item));
      out.exception_rule_nodes.push_back(item["rule"]);
      out.readers.push_back(r);
    }
  }
}

RuleSet finish(Parsed p) {
  std::map<std::string, const Rule*> seen;
  for (const auto& rule : p.rules) {
    auto [it, fresh] = seen.emplace(rule.id, &rule);
    if (!fresh) {
      const auto colon = rule.origin.rfind(':');
      throw ConfigError(rule.origin.substr(0, colon),
                        colon == std::string::npos ? 0 : std::stoi(rule.origin.substr(colon + 1)),
                        0, "rule id '" + rule.id + "' is already defined at " + it->second->origin);
    }
  }
  for (std::size_t i = 0; i < p.exceptions.size(); ++i) {
    const auto& e = p.exceptions[i];
    if (!e.rule.empty() && !seen.count(e.rule))
      p.readers[i].fail(p.exception_rule_nodes[i],
                        "the exception names rule '" + e.rule + "', which no rule file defines");
  }
  return RuleSet(std::move(p.rules), std::move(p.exceptions));
}

}  // namespace

std::string shipped_rules_dir() {
  return find_data_dir("rules", EDUSIGHT_INSTALLED_RULES_DIR, EDUSIGHT_SOURCE_RULES_DIR);
}

RuleSet parse_rules(const std::string& yaml_text, const std::string& origin) {
  Parsed p;
  parse_into(yaml_text, origin, p);
  return finish(std::move(p));
}

RuleSet load_rule_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        const auto ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml"))
          found.push_back(entry.path().string());
      }
      if (ec) throw ConfigError(path, 0, 0, "cannot list the directory: " + ec.message());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else {
      throw ConfigError(path, 0, 0, "no such rule file or directory");
    }
  }
  Parsed p;
  for (const auto& file : files) parse_into(read_config_text(file), file, p);
  return finish(std::move(p));
}

}  // namespace edusight::rules
