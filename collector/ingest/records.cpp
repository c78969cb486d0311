#include "collector/ingest/records.hpp"

#include <charconv>
#include <ctime>
#include <map>
#include <utility>

namespace edusight::collector {

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

const boost::json::string* string_field(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return nullptr;
  return &it->value().get_string();
}

std::string optional_string(const boost::json::object& o, std::string_view key) {
  const auto* s = string_field(o, key);
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

std::optional<Finding> finding_from_record(const forward::Entry& entry, std::string* error) {
  const boost::json::object& r = entry.record;
  Finding f;
  const auto* kind = string_field(r, "kind");
  const auto* subject = string_field(r, "subject");
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
  f.observed_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(entry.time.seconds) +
          std::chrono::nanoseconds(entry.time.nanoseconds)));
  if (const auto* observed = string_field(r, "observed_at")) {
    auto t = parse_rfc3339(*observed);
    if (!t) {
      *error = "finding " + f.id + " has an unreadable observed_at";
      return std::nullopt;
    }
    f.observed_at = *t;
  }
  f.scan = optional_string(r, "scan");
  return f;
}

Conversion convert(const forward::EventMessage& message, const std::string& agent,
                   const std::string& chunk_id, const std::string& peer) {
  Conversion out;
  if (message.tag == kFindingTag) {
    // (scan, job) -> index in out.batches, in order of first appearance.
    std::map<std::pair<std::string, std::string>, std::size_t> by_scan;
    for (std::size_t i = 0; i < message.entries.size(); ++i) {
      std::string error;
      auto f = finding_from_record(message.entries[i], &error);
      if (!f) {
        out.problems.push_back({i, std::move(error)});
        continue;
      }
      // Forward clients that are not agents (Fluent Bit relaying JSONL) may leave scan out.
      if (f->scan.empty()) f->scan = "unscanned";
      std::string job = optional_string(message.entries[i].record, "job");
      auto key = std::make_pair(f->scan, job);
      auto [it, added] = by_scan.emplace(key, out.batches.size());
      if (added) {
        Batch& b = out.batches.emplace_back();
        b.agent = agent;
        b.scan = f->scan;
        b.job = std::move(job);
      }
      f->agent = agent;
      out.batches[it->second].findings.push_back(std::move(*f));
    }
  } else if (message.tag == kScanTag) {
    for (std::size_t i = 0; i < message.entries.size(); ++i) {
      const auto& r = message.entries[i].record;
      const std::string event = optional_string(r, "event");
      const std::string scan = optional_string(r, "scan");
      if (event != "completed" || scan.empty()) {
        out.problems.push_back({i, "scan record needs event \"completed\" and a scan id"});
        continue;
      }
      Batch& b = out.batches.emplace_back();
      b.agent = agent;
      b.scan = scan;
      b.job = optional_string(r, "job");
      b.scan_complete = true;
    }
  } else if (message.tag == kHeartbeatTag) {
    for (const auto& e : message.entries) {
      out.heartbeats.push_back({agent, e.record, peer});
    }
  } else {
    out.foreign_events = message.entries.size();
  }
  // The chunk id is what makes a re-send recognisable; split messages keep it stable.
  for (std::size_t i = 0; i < out.batches.size(); ++i) {
    out.batches[i].chunk_id =
        out.batches.size() == 1 ? chunk_id : chunk_id + "#" + std::to_string(i);
  }
  return out;
}

}  // namespace edusight::collector
