#include "collector/ingest/records.hpp"

#include <charconv>
#include <ctime>
#include <map>
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
  f->agent.clear();  // the handshake says who sent it, not the record
  if (!has_time) {
    f->observed_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(entry.time.seconds) +
            std::chrono::nanoseconds(entry.time.nanoseconds)));
  }
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
