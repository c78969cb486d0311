#include "collector/ingest/records.hpp"

#include <charconv>
#include <ctime>
#include <map>
#include <tuple>
#include <utility>

namespace edusight::collector {

namespace {

std::string optional_string(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                  : std::string();
}

}  // namespace

std::optional<Finding> finding_from_record(const forward::Entry& entry, std::string* error) {
  const bool has_time = entry.record.contains("observed_at");
  auto f = from_json(entry.record, error);
  if (!f) return f;
  f->agent.clear();   // the handshake says who sent it, not the record
  f->campus.clear();  // and so does the identity's record at this collector
  if (!has_time) {
    f->observed_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(entry.time.seconds) +
            std::chrono::nanoseconds(entry.time.nanoseconds)));
  }
  return f;
}

std::string federated_finding_id(std::string_view campus, std::string_view id) {
  return finding_id("edusight.federated", campus, id);
}

Conversion convert(const forward::EventMessage& message, const std::string& agent,
                   const std::string& chunk_id, const std::string& peer,
                   const std::string& campus) {
  Conversion out;
  // Who a record speaks for: the sender itself, or for a campus collector the agent it names.
  auto origin = [&](const boost::json::object& record) {
    if (campus.empty()) return agent;
    const std::string named = optional_string(record, "agent");
    return named.empty() ? agent : agent + "/" + named;
  };
  if (message.tag == kFindingTag) {
    // (agent, scan, job) -> index in out.batches, in order of first appearance.
    std::map<std::tuple<std::string, std::string, std::string>, std::size_t> by_scan;
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
      std::string from = origin(message.entries[i].record);
      f->campus = campus;  // never what a record claims
      if (!campus.empty()) f->id = federated_finding_id(campus, f->id);
      auto key = std::make_tuple(from, f->scan, job);
      auto [it, added] = by_scan.emplace(key, out.batches.size());
      if (added) {
        Batch& b = out.batches.emplace_back();
        b.agent = from;
        b.scan = f->scan;
        b.job = std::move(job);
      }
      f->agent = std::move(from);
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
      std::vector<std::string> subjects;
      if (auto it = r.find("scanned_subjects"); it != r.end()) {
        bool ok = it->value().is_array();
        if (ok) {
          for (const auto& v : it->value().get_array()) {
            if (!v.is_string()) {
              ok = false;
              break;
            }
            subjects.emplace_back(v.get_string());
          }
        }
        if (!ok) {
          out.problems.push_back({i, "scanned_subjects must be a list of strings"});
          continue;
        }
      }
      Batch& b = out.batches.emplace_back();
      b.agent = origin(r);
      b.scan = scan;
      b.job = optional_string(r, "job");
      b.scan_complete = true;
      b.scanned_subjects = std::move(subjects);
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
