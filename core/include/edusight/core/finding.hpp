#pragma once
// The finding record of ../shared/finding-catalog.md: the one model that probes produce and
// that sinks, rules, the collector and reports consume.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edusight {

enum class Severity { info = 0, low, medium, high, critical };

std::string_view to_string(Severity s);
std::optional<Severity> parse_severity(std::string_view s);

// An exception that keeps a rule from alerting on a subject (see rules/).
struct Suppression {
  std::string rule;  // empty: every rule
  std::string reason;
  std::string owner;
  std::string expires;  // as the exception wrote it
};

// What the rules made of a finding; empty until a rule set ran over it. Policy, not measured
// fact, so it is kept apart from the evidence.
struct Policy {
  std::vector<std::string> rules;     // every matching rule, in load order
  std::vector<std::string> alerting;  // those that raise an alert (not suppressed)
  std::vector<std::string> tags;      // notice clauses the matching rules serve
  std::string remediation;
  std::string remediation_zh;
  std::vector<Suppression> suppressed;
  bool empty() const { return rules.empty(); }
};

struct Finding {
  std::string id;
  std::string kind;
  Severity severity = Severity::info;
  std::string subject;
  std::string title;     // English
  std::string title_zh;  // Chinese
  boost::json::object evidence;
  std::chrono::system_clock::time_point observed_at{};
  std::string agent;
  std::string scan;
  // Optional: the campus a federated collector forwarded it from (docs/federation.md); empty
  // for findings of the collector's own agents.
  std::string campus;
  Policy policy;
};

boost::json::object to_json(const Policy& p);
// A list of strings as a JSON array (names, tags, addresses...).
boost::json::array to_json_array(const std::vector<std::string>& v);
// Reads what to_json(Policy) wrote; false (and `error`) on a malformed object.
bool policy_from_json(const boost::json::value& v, Policy& out, std::string* error);

// Stable id: a hash of kind, canonical subject and a stable discriminator (port, family,
// URL). Never a timestamp, so the same problem found again has the same id.
std::string finding_id(std::string_view kind, std::string_view subject,
                       std::string_view discriminator = {});

// RFC 3339 UTC with second precision, e.g. 2026-11-25T13:53:17Z.
std::string format_rfc3339(std::chrono::system_clock::time_point t);

// "2026-11-25T13:53:17Z", with an optional fraction and numeric offset; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

boost::json::object to_json(const Finding& f);
// The reverse, checking every field (records come from files and from the network); the
// error says which field is wrong. A missing id is computed from kind and subject; a missing
// observed_at stays at the epoch for the caller to fill in.
std::optional<Finding> from_json(const boost::json::object& record, std::string* error);
// One line of JSONL, without the newline.
std::string to_jsonl(const Finding& f);

}  // namespace edusight
