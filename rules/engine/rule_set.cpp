#include "rules/engine/rule_set.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace edusight::rules {

namespace {

// Long evidence strings are cut before a regex sees them: libstdc++'s matcher recurses per
// character and a page title must not be able to exhaust the stack.
constexpr std::size_t kRegexInputLimit = 4096;

std::optional<double> as_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The value a field names, as JSON; null when absent.
const boost::json::value* lookup(const Finding& f, const std::vector<std::string>& path,
                                 boost::json::value& scratch) {
  if (path.empty()) return nullptr;
  const std::string& head = path.front();
  if (head == "evidence") {
    const boost::json::object* o = &f.evidence;
    const boost::json::value* v = nullptr;
    for (std::size_t i = 1; i < path.size(); ++i) {
      if (!o) return nullptr;
      auto it = o->find(path[i]);
      if (it == o->end()) return nullptr;
      v = &it->value();
      o = v->if_object();
    }
    return v;
  }
  if (path.size() != 1) return nullptr;
  if (head == "kind")
    scratch = f.kind;
  else if (head == "subject")
    scratch = f.subject;
  else if (head == "severity")
    scratch = to_string(f.severity);
  else if (head == "agent")
    scratch = f.agent;
  else if (head == "scan")
    scratch = f.scan;
  else if (head == "title")
    scratch = f.title;
  else if (head == "title_zh")
    scratch = f.title_zh;
  else
    return nullptr;
  return &scratch;
}

std::optional<double> number_of(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// Severities compare by rank, so `severity: {gte: medium}` means what it says.
std::optional<double> severity_rank(std::string_view s) {
  if (auto sev = parse_severity(s)) return static_cast<double>(*sev);
  return std::nullopt;
}

bool equal(const boost::json::value& v, const std::string& operand) {
  if (v.is_string()) return v.get_string() == operand;
  if (v.is_bool())
    return (operand == "true") == v.get_bool() && (operand == "true" || operand == "false");
  if (auto n = number_of(v)) {
    auto o = as_number(operand);
    return o && *o == *n;
  }
  if (v.is_null()) return operand == "null" || operand == "~";
  return false;
}

// Numeric comparison; severities by rank. False when either side is not a number.
bool compare(const boost::json::value& v, const std::string& operand, Condition::Op op,
             bool is_severity) {
  std::optional<double> lhs, rhs;
  if (is_severity && v.is_string()) {
    lhs = severity_rank(v.get_string());
    rhs = severity_rank(operand);
  } else {
    lhs = number_of(v);
    rhs = as_number(operand);
  }
  if (!lhs || !rhs) return false;
  switch (op) {
    case Condition::Op::lt:
      return *lhs < *rhs;
    case Condition::Op::lte:
      return *lhs <= *rhs;
    case Condition::Op::gt:
      return *lhs > *rhs;
    case Condition::Op::gte:
      return *lhs >= *rhs;
    default:
      return false;
  }
}

bool in_list(const boost::json::value& v, const std::vector<std::string>& list) {
  auto one = [&](const boost::json::value& x) {
    return std::any_of(list.begin(), list.end(), [&](const auto& o) { return equal(x, o); });
  };
  // A list field is in the set when any of its elements is.
  if (v.is_array()) {
    const auto& a = v.get_array();
    return std::any_of(a.begin(), a.end(), one);
  }
  return one(v);
}

bool contains(const boost::json::value& v, const std::string& operand) {
  if (v.is_string()) return v.get_string().find(operand) != boost::json::string::npos;
  if (v.is_array()) {
    const auto& a = v.get_array();
    return std::any_of(a.begin(), a.end(), [&](const auto& x) { return equal(x, operand); });
  }
  return false;
}

bool matches(const boost::json::value& v, const std::regex& re) {
  auto one = [&](const boost::json::value& x) {
    if (!x.is_string()) return false;
    const auto& s = x.get_string();
    const std::size_t n = std::min<std::size_t>(s.size(), kRegexInputLimit);
    return std::regex_search(s.data(), s.data() + n, re);
  };
  if (v.is_array()) {
    const auto& a = v.get_array();
    return std::any_of(a.begin(), a.end(), one);
  }
  return one(v);
}

bool kind_matches(const std::string& pattern, const std::string& kind) {
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0) {
    return kind.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0 &&
           kind.size() > pattern.size() - 1;
  }
  return pattern == kind;
}

bool subject_matches(const std::string& pattern, const std::string& subject) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    // `*.zone` covers names under the zone, and host:port subjects of those names.
    std::string_view s = subject;
    if (auto colon = s.rfind(':');
        colon != std::string_view::npos && s.find(':') == colon) {  // one colon: host:port
      s = s.substr(0, colon);
    }
    const std::string_view suffix = std::string_view(pattern).substr(1);
    return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
  }
  return pattern == subject;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

RuleSet::RuleSet(std::vector<Rule> rules, std::vector<Exception> exceptions)
    : rules_(std::move(rules)), exceptions_(std::move(exceptions)) {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& k : rules_[i].kinds) {
      if (k.size() >= 2 && k.compare(k.size() - 2, 2, ".*") == 0) {
        if (std::find(by_prefix_.begin(), by_prefix_.end(), i) == by_prefix_.end())
          by_prefix_.push_back(i);
      } else {
        auto& list = by_kind_[k];
        if (std::find(list.begin(), list.end(), i) == list.end()) list.push_back(i);
      }
    }
  }
}

bool RuleSet::holds(const Condition& c, const Finding& f) {
  switch (c.type) {
    case Condition::Type::all:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return holds(x, f); });
    case Condition::Type::any:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return holds(x, f); });
    case Condition::Type::none:
      return std::none_of(c.children.begin(), c.children.end(),
                          [&](const Condition& x) { return holds(x, f); });
    case Condition::Type::test:
      break;
  }
  boost::json::value scratch;
  const boost::json::value* v = lookup(f, c.path, scratch);
  if (c.op == Condition::Op::exists) {
    const bool want = c.operands.empty() || c.operands.front() == "true";
    return (v != nullptr && !v->is_null()) == want;
  }
  // An absent field satisfies only the negative tests.
  if (!v) return c.op == Condition::Op::not_equals || c.op == Condition::Op::not_in;
  const std::string& operand = c.operands.empty() ? std::string() : c.operands.front();
  switch (c.op) {
    case Condition::Op::equals:
      return equal(*v, operand);
    case Condition::Op::not_equals:
      return !equal(*v, operand);
    case Condition::Op::in:
      return in_list(*v, c.operands);
    case Condition::Op::not_in:
      return !in_list(*v, c.operands);
    case Condition::Op::lt:
    case Condition::Op::lte:
    case Condition::Op::gt:
    case Condition::Op::gte:
      return compare(*v, operand, c.op, c.path.size() == 1 && c.path[0] == "severity");
    case Condition::Op::contains:
      return contains(*v, operand);
    case Condition::Op::matches:
      return c.regex && matches(*v, *c.regex);
    case Condition::Op::exists:
      break;
  }
  return false;
}

const Exception* RuleSet::suppression(const Rule& r, const std::string& subject,
                                      TimePoint now) const {
  for (const auto& e : exceptions_) {
    if (now >= e.expires) continue;  // expired: suppresses nothing any more
    if (!e.rule.empty() && e.rule != r.id) continue;
    if (subject_matches(e.subject, subject)) return &e;
  }
  return nullptr;
}

void RuleSet::apply(Finding& f, TimePoint now, std::vector<AlertIntent>* alerts) const {
  f.policy = Policy{};
  std::vector<std::size_t> candidates;
  if (auto it = by_kind_.find(f.kind); it != by_kind_.end()) candidates = it->second;
  for (std::size_t i : by_prefix_) {
    for (const auto& k : rules_[i].kinds) {
      if (kind_matches(k, f.kind)) {
        candidates.push_back(i);
        break;
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

  // Conditions see the finding as the probe reported it, whatever earlier rules decided.
  const Severity reported = f.severity;
  std::optional<Severity> decided;
  for (std::size_t i : candidates) {
    const Rule& r = rules_[i];
    if (r.when && !holds(*r.when, f)) continue;
    f.policy.rules.push_back(r.id);
    for (const auto& t : r.tags) add_unique(f.policy.tags, t);
    if (f.policy.remediation.empty() && f.policy.remediation_zh.empty()) {
      f.policy.remediation = r.remediation.en;
      f.policy.remediation_zh = r.remediation.zh;
    }
    if (const Exception* e = suppression(r, f.subject, now)) {
      f.policy.suppressed.push_back({r.id, e->reason, e->owner, e->expires_text});
      continue;
    }
    if (r.severity) decided = std::max(decided.value_or(Severity::info), *r.severity);
    if (!r.alert) continue;
    f.policy.alerting.push_back(r.id);
    if (alerts) {
      alerts->push_back(AlertIntent{r.id, f.subject, f.id, r.severity.value_or(reported), r.title,
                                    r.remediation, r.tags, r.renotify});
    }
  }
  if (decided) f.severity = *decided;
}

const Rule* RuleSet::find(const std::string& id) const {
  for (const auto& r : rules_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::vector<std::string> RuleSet::kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : by_kind_) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace edusight::rules
