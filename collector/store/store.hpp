#pragma once
// The collector's storage layer: where findings from many agents land, deduplicated by chunk
// and tracked through their open/resolved lifecycle. Errors are values on this path: a bad
// batch or a broken database must not take the collector down with an exception.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edusight/core/finding.hpp"

namespace edusight::collector {

// One upload from an agent. The agent re-sends a chunk until it is acknowledged, so the
// same (agent, chunk_id) may arrive more than once.
struct Batch {
  // Authoritative for every finding in the batch (the transport knows who sent it), so the
  // agent/scan fields inside the findings are not trusted.
  std::string agent;
  std::string chunk_id;
  std::vector<Finding> findings;
  std::string scan;
  // The last chunk of a scan sets this and lists every subject the scan looked at, using the
  // same subject strings as the findings (e.g. both "host" and "host:443" where relevant).
  bool scan_complete = false;
  std::vector<std::string> scanned_subjects;
};

struct Result {
  bool ok = false;
  // The chunk was already stored; nothing was written. Still ok: the agent may drop it.
  bool duplicate = false;
  std::string error;

  static Result success() { return {true, false, {}}; }
  static Result already_stored() { return {true, true, {}}; }
  static Result failure(std::string message) { return {false, false, std::move(message)}; }
};

enum class FindingState { open, resolved };

std::string_view to_string(FindingState s);
std::optional<FindingState> parse_finding_state(std::string_view s);

// A finding as the collector knows it. The times are the collector's clock, not the agent's
// (agents' clocks drift); finding.observed_at keeps what the agent said.
struct StoredFinding {
  Finding finding;
  std::chrono::system_clock::time_point first_seen{};
  std::chrono::system_clock::time_point last_seen{};
  FindingState state = FindingState::open;
  std::optional<std::chrono::system_clock::time_point> resolved_at;
};

// Every set field narrows the result; results are newest (last_seen) first.
struct FindingQuery {
  std::optional<std::string> kind;
  std::optional<Severity> min_severity;
  std::optional<std::string> subject;
  std::optional<FindingState> state;
  std::optional<std::chrono::system_clock::time_point> seen_since;   // last_seen >= since
  std::optional<std::chrono::system_clock::time_point> seen_before;  // last_seen < before
  std::size_t limit = 100;                                           // 0: no limit
  std::size_t offset = 0;
};

struct QueryResult {
  bool ok = false;
  std::string error;
  std::vector<StoredFinding> findings;
};

class FindingStore {
 public:
  virtual ~FindingStore();
  // All or nothing: either the whole batch (findings, chunk record, lifecycle changes) is
  // stored, or none of it is and the error says why.
  virtual Result commit_batch(const Batch& batch) = 0;
  virtual QueryResult query(const FindingQuery& q) = 0;
};

}  // namespace edusight::collector
