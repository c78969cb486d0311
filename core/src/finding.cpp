#include "edusight/core/finding.hpp"

#include <openssl/evp.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <ctime>

namespace edusight {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (auto v :
       {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

std::string finding_id(std::string_view kind, std::string_view subject,
                       std::string_view discriminator) {
  // NUL separators keep ("a","bc") and ("ab","c") apart.
  std::string input;
  input.reserve(kind.size() + subject.size() + discriminator.size() + 2);
  input.append(kind).push_back('\0');
  input.append(subject).push_back('\0');
  input.append(discriminator);

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr);

  // 128 bits are plenty to keep distinct findings apart and short enough to read.
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned i = 0; i < 16 && i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf.data(), n);
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

const boost::json::string* string_field_of(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return nullptr;
  return &it->value().get_string();
}

std::string optional_string(const boost::json::object& o, std::string_view key) {
  const auto* s = string_field_of(o, key);
  return s ? std::string(*s) : std::string();
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::int64_t ns = 0;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        ns = ns * 10 + (s[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) ns *= 10;
    fraction = std::chrono::nanoseconds(ns);
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year(year),
                           std::chrono::month(static_cast<unsigned>(month)),
                           std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto t =
      sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) - minutes(offset_minutes);
  return time_point_cast<system_clock::duration>(t + fraction);
}

std::optional<Finding> from_json(const boost::json::object& r, std::string* error) {
  Finding f;
  const auto* kind = string_field_of(r, "kind");
  const auto* subject = string_field_of(r, "subject");
  if (!kind || kind->empty()) {
    *error = "finding has no kind";
    return std::nullopt;
  }
  if (!subject || subject->empty()) {
    *error = "finding has no subject";
    return std::nullopt;
  }
  f.kind = *kind;
  f.subject = *subject;
  f.id = optional_string(r, "id");
  if (f.id.empty()) f.id = finding_id(f.kind, f.subject);
  if (auto it = r.find("severity"); it != r.end()) {
    std::optional<Severity> s;
    if (it->value().is_string()) s = parse_severity(it->value().get_string());
    if (!s) {
      *error = "finding " + f.id + " has an unknown severity";
      return std::nullopt;
    }
    f.severity = *s;
  }
  f.title = optional_string(r, "title");
  f.title_zh = optional_string(r, "title_zh");
  if (auto it = r.find("evidence"); it != r.end()) {
    if (!it->value().is_object()) {
      *error = "finding " + f.id + " has evidence that is not an object";
      return std::nullopt;
    }
    f.evidence = it->value().get_object();
  }
  if (const auto* observed = string_field_of(r, "observed_at")) {
    auto t = parse_rfc3339(*observed);
    if (!t) {
      *error = "finding " + f.id + " has an unreadable observed_at";
      return std::nullopt;
    }
    f.observed_at = *t;
  }
  f.agent = optional_string(r, "agent");
  f.scan = optional_string(r, "scan");
  f.campus = optional_string(r, "campus");
  if (auto it = r.find("policy"); it != r.end()) {
    if (!policy_from_json(it->value(), f.policy, error)) {
      *error = "finding " + f.id + ": " + *error;
      return std::nullopt;
    }
  }
  return f;
}

namespace {

bool read_strings(const boost::json::object& o, std::string_view key,
                  std::vector<std::string>& out) {
  auto it = o.find(key);
  if (it == o.end()) return true;
  if (!it->value().is_array()) return false;
  for (const auto& v : it->value().get_array()) {
    if (!v.is_string()) return false;
    out.emplace_back(v.get_string());
  }
  return true;
}
}  // namespace

boost::json::array to_json_array(const std::vector<std::string>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

boost::json::object to_json(const Policy& p) {
  boost::json::object o;
  o["rules"] = to_json_array(p.rules);
  o["alerting"] = to_json_array(p.alerting);
  o["tags"] = to_json_array(p.tags);
  if (!p.remediation.empty() || !p.remediation_zh.empty()) {
    o["remediation"] = {{"en", p.remediation}, {"zh", p.remediation_zh}};
  }
  if (!p.suppressed.empty()) {
    boost::json::array a;
    for (const auto& s : p.suppressed) {
      a.push_back(boost::json::object{
          {"rule", s.rule}, {"reason", s.reason}, {"owner", s.owner}, {"expires", s.expires}});
    }
    o["suppressed"] = std::move(a);
  }
  return o;
}

bool policy_from_json(const boost::json::value& v, Policy& out, std::string* error) {
  out = Policy{};
  if (!v.is_object()) {
    *error = "policy is not an object";
    return false;
  }
  const auto& o = v.get_object();
  if (!read_strings(o, "rules", out.rules) || !read_strings(o, "alerting", out.alerting) ||
      !read_strings(o, "tags", out.tags)) {
    *error = "policy rules, alerting and tags must be lists of strings";
    return false;
  }
  if (auto it = o.find("remediation"); it != o.end()) {
    if (!it->value().is_object()) {
      *error = "policy remediation is not an object";
      return false;
    }
    out.remediation = optional_string(it->value().get_object(), "en");
    out.remediation_zh = optional_string(it->value().get_object(), "zh");
  }
  if (auto it = o.find("suppressed"); it != o.end()) {
    if (!it->value().is_array()) {
      *error = "policy suppressed is not a list";
      return false;
    }
    for (const auto& e : it->value().get_array()) {
      if (!e.is_object()) {
        *error = "policy suppressed entries must be objects";
        return false;
      }
      const auto& eo = e.get_object();
      out.suppressed.push_back({optional_string(eo, "rule"), optional_string(eo, "reason"),
                                optional_string(eo, "owner"), optional_string(eo, "expires")});
    }
  }
  return true;
}

boost::json::object to_json(const Finding& f) {
  boost::json::object o;
  o["id"] = f.id;
  o["kind"] = f.kind;
  o["severity"] = to_string(f.severity);
  o["subject"] = f.subject;
  o["title"] = f.title;
  o["title_zh"] = f.title_zh;
  o["evidence"] = f.evidence;
  o["observed_at"] = format_rfc3339(f.observed_at);
  o["agent"] = f.agent;
  o["scan"] = f.scan;
  if (!f.campus.empty()) o["campus"] = f.campus;
  if (!f.policy.empty()) o["policy"] = to_json(f.policy);
  return o;
}

std::string to_jsonl(const Finding& f) {
  return boost::json::serialize(to_json(f));
}

}  // namespace edusight
