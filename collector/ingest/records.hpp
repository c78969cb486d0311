#pragma once
// Forward event records -> the store's batches. The wire is open to any Forward client, so
// every field is checked; a bad record is reported and skipped, never fatal.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec.hpp"
#include "collector/store/store.hpp"
#include "edusight_tags.hpp"

namespace edusight::collector {

using forward::kFindingTag;
using forward::kHeartbeatTag;
using forward::kScanTag;

// A finding from its record; the error says which field is wrong. A missing id is computed
// from kind and subject (as the agent would); a missing observed_at takes the event time.
std::optional<Finding> finding_from_record(const forward::Entry& entry, std::string* error);

struct RecordProblem {
  std::size_t index = 0;  // entry index in the message
  std::string error;
};

// What one event message asks of the store. Findings of different scans or jobs in one
// message become separate batches (chunk ids suffixed "#n"), since a batch has one scan.
struct Conversion {
  std::vector<Batch> batches;
  std::vector<Heartbeat> heartbeats;
  std::vector<RecordProblem> problems;
  std::size_t foreign_events = 0;  // other tags: acknowledged, not stored
};

// `agent` is the identity proven in the handshake; `chunk_id` is the message's chunk option
// or one made up by the caller when the sender asked for no ack. `campus` is that identity's
// campus when it is a federated campus collector (docs/federation.md), else empty. Only then
// are the records' own agent names trusted: a batch's agent becomes "<identity>/<record agent>",
// each finding is tagged with `campus` and keyed upstream by federated_finding_id. From any
// other sender a record's agent and campus are ignored.
Conversion convert(const forward::EventMessage& message, const std::string& agent,
                   const std::string& chunk_id, const std::string& peer,
                   const std::string& campus = {});

// A forwarded finding's id at the provincial collector: the same problem reported by two
// campuses stays two findings. A hash of the campus and the campus's id (finding_id form).
std::string federated_finding_id(std::string_view campus, std::string_view id);

}  // namespace edusight::collector
