#pragma once
// The collector's storage layer: where findings from many agents land, deduplicated by chunk
// and tracked through their open/resolved lifecycle. Errors are values on this path: a bad
// batch or a broken database must not take the collector down with an exception.
#include <array>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edusight/core/finding.hpp"
#include "rules/engine/rule_set.hpp"  // AlertIntent

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
  // The agent's job (schedule entry) that ran the scan; a scan of the same job covers the
  // same ground, so it is what "a later scan of the same subject" means. May be empty.
  std::string job;
  // The last chunk of a scan sets this. With scanned_subjects empty, every open finding of
  // (agent, job) that this scan did not report is resolved; otherwise only those among the
  // listed subjects (same subject strings as the findings).
  bool scan_complete = false;
  std::vector<std::string> scanned_subjects;
  // What the rules raised for these findings (the collector's verdict, not the agent's):
  // each opens an alert for (rule, subject) or counts a repeat of the open one.
  std::vector<rules::AlertIntent> alerts;
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
  std::string job;  // the agent job that last reported it
};

// Every set field narrows the result; results are newest (last_seen) first.
struct FindingQuery {
  std::optional<std::string> id;
  std::optional<std::string> kind;
  std::optional<Severity> min_severity;
  std::optional<std::string> subject;
  std::optional<FindingState> state;
  // A federated campus ("" : the collector's own agents' findings); see docs/federation.md.
  std::optional<std::string> campus;
  std::optional<std::chrono::system_clock::time_point> seen_since;   // last_seen >= since
  std::optional<std::chrono::system_clock::time_point> seen_before;  // last_seen < before
  std::size_t limit = 100;                                           // 0: no limit
  std::size_t offset = 0;
  // Also count every matching row (QueryResult::total); costs a second pass over the index.
  bool count_total = false;
};

struct QueryResult {
  bool ok = false;
  std::string error;
  std::vector<StoredFinding> findings;
  // Rows matching the filters, ignoring limit/offset; only with FindingQuery::count_total.
  std::size_t total = 0;
};

class FindingStore {
 public:
  virtual ~FindingStore();
  // All or nothing: either the whole batch (findings, chunk record, lifecycle changes) is
  // stored, or none of it is and the error says why.
  virtual Result commit_batch(const Batch& batch) = 0;
  // Group commit: the batches go into as few transactions (and fsyncs) as possible; each
  // result says what happened to the batch at the same index, with the same all-or-nothing
  // meaning per batch. The default commits them one by one.
  virtual std::vector<Result> commit_batches(std::span<const Batch> batches);
  virtual QueryResult query(const FindingQuery& q) = 0;
};

// ---- Agents: identity, key, heartbeat ----

using TimePoint = std::chrono::system_clock::time_point;

struct AgentRecord {
  std::string id;
  std::string key;  // the Forward shared key; kept in clear because the handshake needs it
  TimePoint created_at{};
  bool revoked = false;
  std::optional<TimePoint> last_heartbeat;  // collector's clock
  // The agent's last reported status (version, uptime_s, last_scan, spool_bytes, ...).
  boost::json::object status;
  std::string address;  // peer address of the last heartbeat
  // Non-empty: a campus collector forwarding its agents' findings (docs/federation.md); the
  // collector tags what it sends with this campus and trusts the records' agent names.
  std::string campus;
};

struct AgentLookup {
  bool ok = false;  // false: storage error (error says why); found false: no such agent
  std::string error;
  std::optional<AgentRecord> agent;
};

struct AgentList {
  bool ok = false;
  std::string error;
  std::vector<AgentRecord> agents;  // by id
};

struct Heartbeat {
  std::string agent;
  boost::json::object status;
  std::string address;
};

class AgentStore {
 public:
  virtual ~AgentStore();
  // Fails if the id exists. A non-empty campus makes it a federated campus collector.
  virtual Result add_agent(const std::string& id, const std::string& key,
                           const std::string& campus = {}) = 0;
  virtual Result revoke_agent(const std::string& id) = 0;
  virtual AgentLookup find_agent(const std::string& id) = 0;
  virtual AgentList list_agents() = 0;
  // Many heartbeats in one transaction; unknown agents are skipped (they were revoked or
  // removed after connecting), not an error.
  virtual Result record_heartbeats(std::span<const Heartbeat> heartbeats) = 0;
};

// ---- API tokens ----

enum class Role { viewer, admin };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

struct TokenRecord {
  std::string name;
  Role role = Role::viewer;
  std::string sha256;  // hex of the token's SHA-256; the token itself is never stored
  TimePoint created_at{};
  bool revoked = false;
};

struct TokenLookup {
  bool ok = false;
  std::string error;
  std::optional<TokenRecord> token;
};

struct TokenList {
  bool ok = false;
  std::string error;
  std::vector<TokenRecord> tokens;
};

class TokenStore {
 public:
  virtual ~TokenStore();
  // Fails if the name exists.
  virtual Result add_token(const std::string& name, Role role, const std::string& sha256) = 0;
  virtual Result revoke_token(const std::string& name) = 0;
  // By hash; revoked tokens are returned with revoked = true.
  virtual TokenLookup find_token(const std::string& sha256) = 0;
  virtual TokenList list_tokens() = 0;
};

// ---- Enrollment tokens: how a new agent gets its identity (docs/enrollment.md) ----

struct EnrollmentRecord {
  std::string name;
  std::string sha256;  // hex of the token's SHA-256; the token itself is never stored
  std::string comment;
  std::string agent_id;  // when set, the only agent id this token enrolls
  TimePoint created_at{};
  TimePoint expires_at{};
  std::int64_t max_uses = 1;
  std::int64_t uses = 0;
  std::optional<TimePoint> used_at;  // the last redemption
  std::string used_by;               // the agent the last redemption created
  bool revoked = false;
};

struct EnrollmentList {
  bool ok = false;
  std::string error;
  std::vector<EnrollmentRecord> enrollments;  // by name
};

// What a redemption came to; every value but `enrolled` is a refusal that changed nothing.
enum class RedeemOutcome {
  enrolled,
  unknown,
  revoked,
  expired,
  used,
  wrong_agent,   // the token is for another agent id
  no_agent_id,   // neither the request nor the token names the agent
  agent_exists,  // that agent id is taken
};
std::string_view to_string(RedeemOutcome o);

struct Redemption {
  bool ok = false;  // false: storage error (error says why); otherwise see outcome
  std::string error;
  RedeemOutcome outcome = RedeemOutcome::unknown;
  std::string enrollment;            // the token's name, when the hash was known
  std::optional<AgentRecord> agent;  // the new identity, when enrolled
};

class EnrollmentStore {
 public:
  virtual ~EnrollmentStore();
  // Fails if the name or the hash exists.
  virtual Result add_enrollment(const EnrollmentRecord& e) = 0;
  virtual Result revoke_enrollment(const std::string& name) = 0;
  virtual EnrollmentList list_enrollments() = 0;
  // One transaction: the token must exist, not be revoked, not be expired at `now` and have
  // uses left; the agent id is `agent_id`, or when that is empty the token's own (a token
  // made for one agent id enrolls no other), and must be new. Then the agent is created with `key`
  // and the use counted.
  virtual Redemption redeem_enrollment(const std::string& sha256, const std::string& agent_id,
                                       const std::string& key, TimePoint now) = 0;
};

// ---- Scans ----

struct ScanRecord {
  std::string agent;
  std::string scan;
  std::string job;
  TimePoint first_chunk_at{};  // collector's clock
  TimePoint last_chunk_at{};
  std::size_t finding_count = 0;
  bool complete = false;
};

struct ScanQuery {
  std::optional<std::string> agent;
  std::size_t limit = 100;  // 0: no limit
  std::size_t offset = 0;
};

struct ScanList {
  bool ok = false;
  std::string error;
  std::vector<ScanRecord> scans;  // newest (last_chunk_at) first
  std::size_t total = 0;
};

class ScanStore {
 public:
  virtual ~ScanStore();
  virtual ScanList list_scans(const ScanQuery& q) = 0;
};

// ---- Alerts ----

// firing -> acknowledged (someone took it) -> resolved (its findings went away); an alert
// that fires again after resolving is a new alert.
enum class AlertState { firing, acknowledged, resolved };
std::string_view to_string(AlertState s);
std::optional<AlertState> parse_alert_state(std::string_view s);

struct AlertRecord {
  std::int64_t id = 0;
  std::string rule;
  std::string subject;
  Severity severity = Severity::info;
  std::string title, title_zh;
  std::vector<std::string> tags;
  std::string remediation, remediation_zh;
  AlertState state = AlertState::firing;
  TimePoint first_fired{};
  TimePoint last_fired{};
  std::int64_t repeats = 1;  // findings that raised it while it was open
  std::string finding_id;    // the latest of them
  std::string agent;         // and who reported it
  std::optional<TimePoint> acknowledged_at;
  std::string acknowledged_by;
  std::string ack_comment;
  std::optional<TimePoint> resolved_at;
  std::chrono::seconds renotify{};
  std::optional<TimePoint> last_notified;
  std::int64_t notifications = 0;  // firing and reminder notifications handed out
};

struct AlertQuery {
  std::optional<std::int64_t> id;
  std::optional<AlertState> state;
  bool active = false;  // firing or acknowledged
  std::optional<std::string> rule;
  std::optional<std::string> subject;
  std::optional<Severity> min_severity;
  std::size_t limit = 100;  // 0: no limit
  std::size_t offset = 0;
};

struct AlertList {
  bool ok = false;
  std::string error;
  std::vector<AlertRecord> alerts;  // newest (last_fired) first
  std::size_t total = 0;            // matching rows, ignoring limit/offset
};

enum class AlertEvent { firing, reminder, resolved };
std::string_view to_string(AlertEvent e);

// What notice a due alert gets: resolved ones their resolution, never-announced ones their
// first notice, the others a reminder.
AlertEvent due_event(const AlertRecord& a);

struct DueNotification {
  AlertEvent event = AlertEvent::firing;
  AlertRecord alert;
};

struct DueList {
  bool ok = false;
  std::string error;
  std::vector<DueNotification> due;
};

struct NotifiedMark {
  std::int64_t alert = 0;
  AlertEvent event = AlertEvent::firing;
};

class AlertStore {
 public:
  virtual ~AlertStore();
  virtual AlertList list_alerts(const AlertQuery& q) = 0;
  // Fails with "no such alert" or "alert is resolved".
  virtual Result acknowledge_alert(std::int64_t id, const std::string& by,
                                   const std::string& comment) = 0;
  // What should be announced now: new firing alerts, reminders of firing ones whose interval
  // has passed, resolutions of announced ones. Acknowledged alerts get no reminders.
  virtual DueList due_notifications(std::size_t limit) = 0;
  // Records that these were handed to the notifier, so they are not due again.
  virtual Result mark_notified(std::span<const NotifiedMark> marks) = 0;
  // Several collectors on one database must not each announce every alert: only the holder
  // of this lease reads due notices. Kept until the connection ends; asking again while
  // holding it is cheap. One collector per database (SQLite) always holds it.
  virtual bool hold_notifier_lease() { return true; }
};

// ---- Posture: the figures dashboards and reports show ----

struct SeverityCounts {
  bool ok = false;
  std::string error;
  std::array<std::size_t, 5> by_severity{};  // indexed by Severity
};

struct PostureDay {
  std::string date;  // YYYY-MM-DD
  boost::json::object figures;
};

struct PostureHistory {
  bool ok = false;
  std::string error;
  std::vector<PostureDay> days;  // oldest first
};

class PostureStore {
 public:
  virtual ~PostureStore();
  virtual SeverityCounts open_findings_by_severity() = 0;
  virtual SeverityCounts active_alerts_by_severity() = 0;
  // One row a day; a later call the same day replaces it (the day's last figures stay).
  virtual Result record_posture(const PostureDay& day) = 0;
  virtual PostureHistory posture_history(std::size_t days) = 0;
  // Changes whenever anything was committed since the last call, by any connection, except
  // record_posture's own writes (so a snapshot that records its figures does not count as
  // a change to rebuild for); -1: unknown (assume so). A caller reads it BEFORE reading the
  // data: a commit during the reads then shows as a change at the next call.
  virtual std::int64_t data_version() = 0;
};

// Everything the collector keeps, behind one object (SQLite now, PostgreSQL later).
class Store : public FindingStore,
              public AgentStore,
              public TokenStore,
              public EnrollmentStore,
              public ScanStore,
              public AlertStore,
              public PostureStore {};

}  // namespace edusight::collector
