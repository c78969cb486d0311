#pragma once
// The finding record of ../shared/finding-catalog.md: the one model that probes produce and
// that sinks, rules, the collector and reports consume.
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace edusight {

enum class Severity { info = 0, low, medium, high, critical };

std::string_view to_string(Severity s);
std::optional<Severity> parse_severity(std::string_view s);

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
};

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
