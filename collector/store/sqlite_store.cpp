#include "collector/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <utility>

#include "collector/store/micros.hpp"
#include "collector/store/redeem.hpp"

namespace edusight::collector {

FindingStore::~FindingStore() = default;
AlertStore::~AlertStore() = default;
PostureStore::~PostureStore() = default;
AgentStore::~AgentStore() = default;
TokenStore::~TokenStore() = default;
ScanStore::~ScanStore() = default;
EnrollmentStore::~EnrollmentStore() = default;

std::string_view to_string(RedeemOutcome o) {
  switch (o) {
    case RedeemOutcome::enrolled:
      return "enrolled";
    case RedeemOutcome::unknown:
      return "unknown";
    case RedeemOutcome::revoked:
      return "revoked";
    case RedeemOutcome::expired:
      return "expired";
    case RedeemOutcome::used:
      return "used";
    case RedeemOutcome::wrong_agent:
      return "wrong_agent";
    case RedeemOutcome::no_agent_id:
      return "no_agent_id";
    case RedeemOutcome::agent_exists:
      return "agent_exists";
  }
  return "unknown";
}

std::string_view to_string(Role r) {
  return r == Role::admin ? "admin" : "viewer";
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "admin") return Role::admin;
  if (s == "viewer") return Role::viewer;
  return std::nullopt;
}

std::string_view to_string(AlertState s) {
  switch (s) {
    case AlertState::firing:
      return "firing";
    case AlertState::acknowledged:
      return "acknowledged";
    case AlertState::resolved:
      return "resolved";
  }
  return "firing";
}

std::optional<AlertState> parse_alert_state(std::string_view s) {
  for (auto v : {AlertState::firing, AlertState::acknowledged, AlertState::resolved}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

AlertEvent due_event(const AlertRecord& a) {
  return a.state == AlertState::resolved ? AlertEvent::resolved
         : a.notifications == 0          ? AlertEvent::firing
                                         : AlertEvent::reminder;
}

std::string_view to_string(AlertEvent e) {
  switch (e) {
    case AlertEvent::firing:
      return "firing";
    case AlertEvent::reminder:
      return "reminder";
    case AlertEvent::resolved:
      return "resolved";
  }
  return "firing";
}

std::string_view to_string(FindingState s) {
  return s == FindingState::resolved ? "resolved" : "open";
}

std::optional<FindingState> parse_finding_state(std::string_view s) {
  if (s == "open") return FindingState::open;
  if (s == "resolved") return FindingState::resolved;
  return std::nullopt;
}

namespace {

using TimePoint = std::chrono::system_clock::time_point;

// Version 1. Each later version appends a step to kMigrations; never edit a shipped step.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE chunks (
  agent TEXT NOT NULL,
  chunk_id TEXT NOT NULL,
  scan TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  finding_count INTEGER NOT NULL,
  PRIMARY KEY (agent, chunk_id)
) WITHOUT ROWID;
CREATE TABLE findings (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  severity INTEGER NOT NULL,
  subject TEXT NOT NULL,
  title TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  evidence TEXT NOT NULL,
  observed_at INTEGER NOT NULL,
  agent TEXT NOT NULL,
  scan TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  resolved_at INTEGER
);
-- Query paths: each filter plus the newest-first order.
CREATE INDEX findings_by_last_seen ON findings (last_seen);
CREATE INDEX findings_by_kind ON findings (kind, last_seen);
CREATE INDEX findings_by_severity ON findings (severity, last_seen);
CREATE INDEX findings_by_subject ON findings (subject, last_seen);
CREATE INDEX findings_by_state ON findings (state, last_seen);
-- Lifecycle: the open findings of one agent, by subject, without touching resolved ones.
CREATE INDEX findings_open_by_agent ON findings (agent, subject) WHERE state = 'open';
)sql";

// Version 2: jobs (what "a later scan of the same subject" means), findings keyed by id alone
// (WITHOUT ROWID), agents with their keys and heartbeats, API tokens (hashes only), scans.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE findings_v2 (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  severity INTEGER NOT NULL,
  subject TEXT NOT NULL,
  title TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  evidence TEXT NOT NULL,
  observed_at INTEGER NOT NULL,
  agent TEXT NOT NULL,
  scan TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  resolved_at INTEGER,
  job TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO findings_v2 (id, kind, severity, subject, title, title_zh, evidence, observed_at,
  agent, scan, first_seen, last_seen, state, resolved_at)
  SELECT id, kind, severity, subject, title, title_zh, evidence, observed_at, agent, scan,
  first_seen, last_seen, state, resolved_at FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v2 RENAME TO findings;
-- Fewer b-trees per row than v1 (no rowid, no severity or state index): ingest touches each
-- on every upsert. Severity and state filters ride on the newest-first scan.
CREATE INDEX findings_by_last_seen ON findings (last_seen);
CREATE INDEX findings_by_kind ON findings (kind, last_seen);
CREATE INDEX findings_by_subject ON findings (subject, last_seen);
CREATE INDEX findings_open_by_agent_job ON findings (agent, job, subject) WHERE state = 'open';
CREATE TABLE agents (
  id TEXT PRIMARY KEY NOT NULL,
  key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  last_heartbeat INTEGER,
  status TEXT NOT NULL DEFAULT '{}',
  address TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE tokens (
  name TEXT PRIMARY KEY NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
  sha256 TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
CREATE TABLE scans (
  agent TEXT NOT NULL,
  scan TEXT NOT NULL,
  job TEXT NOT NULL,
  first_chunk_at INTEGER NOT NULL,
  last_chunk_at INTEGER NOT NULL,
  finding_count INTEGER NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (agent, scan)
) WITHOUT ROWID;
CREATE INDEX scans_by_last_chunk ON scans (last_chunk_at);
)sql";

// Version 3: findings in a rowid table again, keyed for lookups by a unique index on id. Rows
// are several hundred bytes; in a WITHOUT ROWID table keyed by a random id every insert
// lands on a random full-size leaf page, so each group commit rewrote most of the table into
// the WAL. Appended by rowid, only the narrow indexes take random inserts.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE findings_v3 (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  severity INTEGER NOT NULL,
  subject TEXT NOT NULL,
  title TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  evidence TEXT NOT NULL,
  observed_at INTEGER NOT NULL,
  agent TEXT NOT NULL,
  scan TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  resolved_at INTEGER,
  job TEXT NOT NULL DEFAULT ''
);
INSERT INTO findings_v3 (id, kind, severity, subject, title, title_zh, evidence, observed_at,
  agent, scan, first_seen, last_seen, state, resolved_at, job)
  SELECT id, kind, severity, subject, title, title_zh, evidence, observed_at, agent, scan,
  first_seen, last_seen, state, resolved_at, job FROM findings ORDER BY first_seen;
DROP TABLE findings;
ALTER TABLE findings_v3 RENAME TO findings;
CREATE INDEX findings_by_last_seen ON findings (last_seen);
CREATE INDEX findings_by_kind ON findings (kind, last_seen);
CREATE INDEX findings_by_subject ON findings (subject, last_seen);
CREATE INDEX findings_open_by_agent_job ON findings (agent, job, subject) WHERE state = 'open';
)sql";

// Version 4: what the rules made of each finding (policy, and the alerting rules as
// " id id " so a LIKE-free instr() finds them), and the alerts it raised. At most one open
// alert per (rule, subject); a resolved one stays as history.
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE findings ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN alerting TEXT NOT NULL DEFAULT '';
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  severity INTEGER NOT NULL,
  title TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  tags TEXT NOT NULL,
  remediation TEXT NOT NULL,
  remediation_zh TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
  first_fired INTEGER NOT NULL,
  last_fired INTEGER NOT NULL,
  repeats INTEGER NOT NULL,
  finding_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  acknowledged_at INTEGER,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  ack_comment TEXT NOT NULL DEFAULT '',
  resolved_at INTEGER,
  renotify_s INTEGER NOT NULL,
  last_notified INTEGER,
  notifications INTEGER NOT NULL DEFAULT 0,
  resolved_notified INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX alerts_open ON alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_by_last_fired ON alerts (last_fired);
CREATE INDEX alerts_pending ON alerts (id) WHERE resolved_notified = 0;
)sql";

// Version 5: the daily posture figures behind the dashboards' trends, and an index that
// lets the open-findings-by-severity count read only the open rows.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE posture_history (
  date TEXT PRIMARY KEY,
  figures TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX findings_open_by_severity ON findings (severity) WHERE state = 'open';
)sql";

// Version 6: enrollment tokens (hashes only), each redeemable max_uses times before it expires.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE enrollments (
  name TEXT PRIMARY KEY NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  comment TEXT NOT NULL DEFAULT '',
  agent_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_uses INTEGER NOT NULL CHECK (max_uses >= 1),
  uses INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER,
  used_by TEXT NOT NULL DEFAULT '',
  revoked_at INTEGER
) WITHOUT ROWID;
)sql";

// Version 7: federation (docs/federation.md). Findings forwarded by a campus collector carry
// their campus; an agent identity with a campus is such a collector.
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE findings ADD COLUMN campus TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN campus TEXT NOT NULL DEFAULT '';
CREATE INDEX findings_by_campus ON findings (campus, last_seen);
)sql";

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4,
                                       kSchemaV5, kSchemaV6, kSchemaV7};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

constexpr const char* kColumns =
    "id, kind, severity, subject, title, title_zh, evidence, observed_at, agent, scan, "
    "first_seen, last_seen, state, resolved_at, job, policy, campus";

// Query filter bits; the mask selects the cached statement.
enum : unsigned {
  kByKind = 1u << 0,
  kBySeverity = 1u << 1,
  kBySubject = 1u << 2,
  kByState = 1u << 3,
  kBySince = 1u << 4,
  kByBefore = 1u << 5,
  kById = 1u << 6,
  kByCampus = 1u << 7,
};

// Statements are reset whatever way a use ends, so none holds a read lock or stale binding.
class ResetGuard {
 public:
  explicit ResetGuard(sqlite3_stmt* s) : s_(s) {}
  ~ResetGuard() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  sqlite3_stmt* s_;
};

// SQLITE_STATIC: every bound string outlives the step that reads it.
void bind_text(sqlite3_stmt* s, int index, std::string_view v) {
  sqlite3_bind_text(s, index, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

void bind_named_text(sqlite3_stmt* s, const char* name, std::string_view v) {
  bind_text(s, sqlite3_bind_parameter_index(s, name), v);
}

void bind_named_int(sqlite3_stmt* s, const char* name, std::int64_t v) {
  sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, name), v);
}

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

}  // namespace

void SqliteStore::DbCloser::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}
void SqliteStore::StmtFinalizer::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}

SqliteStore::SqliteStore(std::string path, const Clock& clock)
    : path_(std::move(path)), clock_(clock) {
  status_ = open();
}

// Members go in reverse order: the statements are finalized before the connection closes.
SqliteStore::~SqliteStore() = default;

Result SqliteStore::sqlite_error(std::string_view what) const {
  std::string message(what);
  message += ": ";
  message += db_ ? sqlite3_errmsg(db_.get()) : "no database connection";
  message += " (";
  message += path_;
  message += ")";
  return Result::failure(std::move(message));
}

Result SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : sqlite3_errmsg(db_.get());
    sqlite3_free(err);
    return Result::failure(message + " (" + path_ + ")");
  }
  return Result::success();
}

Result SqliteStore::prepare(Stmt& out, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  // PERSISTENT: these statements live as long as the store and are reused for every batch.
  if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    return sqlite_error("prepare");
  }
  out.reset(s);
  return Result::success();
}

Result SqliteStore::step_done(sqlite3_stmt* s, const char* what) {
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite_error(what);
  return Result::success();
}

Result SqliteStore::open() {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_.reset(raw);  // Even a failed open returns a handle that must be closed.
  if (rc != SQLITE_OK) return sqlite_error("open");
  sqlite3_extended_result_codes(db_.get(), 1);
  // Readers (dashboards, reports) in other processes may briefly hold locks.
  sqlite3_busy_timeout(db_.get(), 5000);

  // WAL: readers never block the writer and a commit is one sequential append. A file that
  // is not a database fails here, on the first read of its header.
  {
    Stmt wal;
    if (auto r = prepare(wal, "PRAGMA journal_mode=WAL"); !r.ok) return r;
    if (sqlite3_step(wal.get()) != SQLITE_ROW) return sqlite_error("enable WAL");
    std::string mode = column_text(wal.get(), 0);
    if (mode != "wal" && mode != "memory") {
      return Result::failure("cannot enable WAL, journal mode is " + mode + " (" + path_ + ")");
    }
  }
  // FULL, not NORMAL: the collector acknowledges a chunk as soon as commit_batch returns and
  // the agent then forgets it. Under NORMAL a power cut can roll back the last commits,
  // losing acknowledged findings for good. The price is one fsync per batch, which is small
  // for batches of hundreds of findings.
  if (auto r = exec("PRAGMA synchronous=FULL"); !r.ok) return r;
  // Room for the indexes' hot pages (32 MiB) and fewer, larger checkpoints under ingest. No
  // mmap: the page cache is the bound on what the database costs the collector's memory.
  if (auto r = exec("PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; "
                    "PRAGMA wal_autocheckpoint=10000");
      !r.ok) {
    return r;
  }
  if (auto r = migrate(); !r.ok) return r;

  // Per-connection scratch for the lifecycle step; temp, so never part of the schema.
  if (auto r = exec("CREATE TEMP TABLE IF NOT EXISTS scanned_subjects "
                    "(subject TEXT PRIMARY KEY) WITHOUT ROWID");
      !r.ok) {
    return r;
  }

  // IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock
  // upgrade.
  if (auto r = prepare(begin_, "BEGIN IMMEDIATE"); !r.ok) return r;
  if (auto r = prepare(commit_, "COMMIT"); !r.ok) return r;
  if (auto r = prepare(rollback_, "ROLLBACK"); !r.ok) return r;
  if (auto r = prepare(insert_chunk_,
                       "INSERT INTO chunks (agent, chunk_id, scan, received_at, finding_count) "
                       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
      !r.ok) {
    return r;
  }
  // Re-reporting re-opens a resolved finding and refreshes what may change; first_seen stays.
  if (auto r = prepare(upsert_finding_,
                       "INSERT INTO findings (id, kind, severity, subject, title, title_zh, "
                       "evidence, observed_at, agent, scan, first_seen, last_seen, state, "
                       "resolved_at, job, policy, alerting, campus) VALUES (?1, ?2, ?3, ?4, ?5, "
                       "?6, ?7, ?8, ?9, ?10, ?11, ?11, 'open', NULL, ?12, ?13, ?14, ?15) "
                       "ON CONFLICT (id) DO UPDATE SET "
                       "kind = excluded.kind, severity = excluded.severity, "
                       "subject = excluded.subject, title = excluded.title, "
                       "title_zh = excluded.title_zh, evidence = excluded.evidence, "
                       "observed_at = excluded.observed_at, agent = excluded.agent, "
                       "scan = excluded.scan, last_seen = excluded.last_seen, "
                       "state = 'open', resolved_at = NULL, job = excluded.job, "
                       "policy = excluded.policy, alerting = excluded.alerting, "
                       "campus = excluded.campus");
      !r.ok) {
    return r;
  }
  if (auto r = prepare(upsert_scan_,
                       "INSERT INTO scans (agent, scan, job, first_chunk_at, last_chunk_at, "
                       "finding_count, complete) VALUES (?1, ?2, ?3, ?4, ?4, ?5, 0) "
                       "ON CONFLICT (agent, scan) DO UPDATE SET "
                       "last_chunk_at = excluded.last_chunk_at, "
                       "finding_count = finding_count + excluded.finding_count");
      !r.ok) {
    return r;
  }
  if (auto r =
          prepare(complete_scan_, "UPDATE scans SET complete = 1 WHERE agent = ?1 AND scan = ?2");
      !r.ok) {
    return r;
  }
  if (auto r = prepare(clear_scanned_, "DELETE FROM temp.scanned_subjects"); !r.ok) return r;
  if (auto r = prepare(insert_scanned_,
                       "INSERT OR IGNORE INTO temp.scanned_subjects (subject) VALUES (?1)");
      !r.ok) {
    return r;
  }
  // Open findings of this agent's job that this scan did not report (their scan column still
  // names an older scan) are gone; with a subject list, only those on the listed subjects.
  if (auto r = prepare(resolve_,
                       "UPDATE findings SET state = 'resolved', resolved_at = ?1 "
                       "WHERE state = 'open' AND agent = ?2 AND job = ?4 AND scan <> ?3");
      !r.ok) {
    return r;
  }
  if (auto r = prepare(resolve_listed_,
                       "UPDATE findings SET state = 'resolved', resolved_at = ?1 "
                       "WHERE state = 'open' AND agent = ?2 AND job = ?4 AND scan <> ?3 "
                       "AND subject IN (SELECT subject FROM temp.scanned_subjects)");
      !r.ok) {
    return r;
  }
  // A repeat while open counts and refreshes; the title and advice follow the rules in force.
  if (auto r = prepare(upsert_alert_,
                       "INSERT INTO alerts (rule, subject, severity, title, title_zh, tags, "
                       "remediation, remediation_zh, state, first_fired, last_fired, repeats, "
                       "finding_id, agent, renotify_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                       "'firing', ?9, ?9, 1, ?10, ?11, ?12) "
                       "ON CONFLICT (rule, subject) WHERE state <> 'resolved' DO UPDATE SET "
                       "severity = excluded.severity, title = excluded.title, "
                       "title_zh = excluded.title_zh, tags = excluded.tags, "
                       "remediation = excluded.remediation, "
                       "remediation_zh = excluded.remediation_zh, "
                       "last_fired = excluded.last_fired, repeats = repeats + 1, "
                       "finding_id = excluded.finding_id, agent = excluded.agent, "
                       "renotify_s = excluded.renotify_s");
      !r.ok) {
    return r;
  }
  // An alert resolves when no open finding on its subject still raises it (the finding went
  // away, or an exception or a rule change stopped it alerting). Only announced alerts need
  // a resolution notice.
  if (auto r = prepare(resolve_alerts_,
                       "UPDATE alerts SET state = 'resolved', resolved_at = ?1, "
                       "resolved_notified = (notifications = 0) "
                       "WHERE state <> 'resolved' AND NOT EXISTS (SELECT 1 FROM findings f "
                       "WHERE f.subject = alerts.subject AND f.state = 'open' "
                       "AND instr(f.alerting, ' ' || alerts.rule || ' ') > 0)");
      !r.ok) {
    return r;
  }
  return Result::success();
}

Result SqliteStore::migrate() {
  int version = 0;
  {
    Stmt s;
    if (auto r = prepare(s, "PRAGMA user_version"); !r.ok) return r;
    if (sqlite3_step(s.get()) != SQLITE_ROW) return sqlite_error("read schema version");
    version = sqlite3_column_int(s.get(), 0);
  }
  if (version == kSqliteSchemaVersion) return Result::success();
  if (version < 0 || version > kSqliteSchemaVersion) {
    return Result::failure("database schema version " + std::to_string(version) +
                           " is not one this build knows (it writes " +
                           std::to_string(kSqliteSchemaVersion) + "): " + path_);
  }
  // Each step and its version bump commit together, so a crash leaves a whole version.
  for (int v = version; v < kSqliteSchemaVersion; ++v) {
    if (auto r = exec("BEGIN IMMEDIATE"); !r.ok) return r;
    std::string step = kMigrations[v];
    step += "PRAGMA user_version = " + std::to_string(v + 1) + ";";
    if (auto r = exec(step.c_str()); !r.ok) {
      exec("ROLLBACK");
      return Result::failure("migrate to schema version " + std::to_string(v + 1) + ": " + r.error);
    }
    if (auto r = exec("COMMIT"); !r.ok) {
      exec("ROLLBACK");
      return r;
    }
  }
  return Result::success();
}

Result SqliteStore::begin() {
  ResetGuard g(begin_.get());
  return step_done(begin_.get(), "begin");
}

Result SqliteStore::commit() {
  ResetGuard g(commit_.get());
  return step_done(commit_.get(), "commit");
}

// A failed COMMIT may leave the transaction open; make sure nothing half-done remains.
void SqliteStore::rollback() {
  if (!sqlite3_get_autocommit(db_.get())) {
    ResetGuard g(rollback_.get());
    sqlite3_step(rollback_.get());
  }
}

namespace {
Result check_batch(const Batch& batch) {
  if (batch.agent.empty()) return Result::failure("batch has no agent");
  if (batch.chunk_id.empty()) return Result::failure("batch has no chunk id");
  if (batch.scan.empty()) return Result::failure("batch has no scan");
  return Result::success();
}
}  // namespace

Result SqliteStore::commit_batch(const Batch& batch) {
  if (!status_.ok) return status_;
  if (auto r = check_batch(batch); !r.ok) return r;
  if (auto r = begin(); !r.ok) return r;
  Result result = apply(batch);
  if (result.ok && !result.duplicate) result = commit();
  if (!result.ok || result.duplicate) rollback();
  return result;
}

std::vector<Result> FindingStore::commit_batches(std::span<const Batch> batches) {
  std::vector<Result> out;
  out.reserve(batches.size());
  for (const Batch& b : batches) out.push_back(commit_batch(b));
  return out;
}

// One transaction and one fsync for the whole group. Each batch sits in a savepoint, so a bad
// batch is rolled back alone and the others still commit; only a failed COMMIT fails all.
std::vector<Result> SqliteStore::commit_batches(std::span<const Batch> batches) {
  std::vector<Result> out(batches.size());
  if (!status_.ok) {
    for (Result& r : out) r = status_;
    return out;
  }
  if (auto r = begin(); !r.ok) {
    for (Result& each : out) each = r;
    return out;
  }
  bool any_written = false;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (out[i] = check_batch(batches[i]); !out[i].ok) continue;
    if (auto r = exec("SAVEPOINT batch"); !r.ok) {
      out[i] = r;
      continue;
    }
    out[i] = apply(batches[i]);
    if (out[i].ok && !out[i].duplicate) {
      exec("RELEASE batch");
      any_written = true;
    } else {
      exec("ROLLBACK TO batch");
      exec("RELEASE batch");
    }
  }
  if (!any_written) {
    rollback();
    return out;
  }
  if (auto r = commit(); !r.ok) {
    rollback();
    for (Result& each : out) {
      if (each.ok && !each.duplicate) each = r;
    }
  }
  return out;
}

Result SqliteStore::apply(const Batch& batch) {
  const std::int64_t now = to_micros(clock_.now());
  {
    sqlite3_stmt* s = insert_chunk_.get();
    ResetGuard g(s);
    bind_text(s, 1, batch.agent);
    bind_text(s, 2, batch.chunk_id);
    bind_text(s, 3, batch.scan);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(batch.findings.size()));
    if (auto r = step_done(s, "record chunk"); !r.ok) return r;
    if (sqlite3_changes(db_.get()) == 0) return Result::already_stored();
  }

  std::string evidence, policy, alerting;
  for (const Finding& f : batch.findings) {
    if (f.id.empty() || f.kind.empty()) {
      return Result::failure("finding without id or kind in chunk " + batch.chunk_id);
    }
    evidence = boost::json::serialize(f.evidence);
    sqlite3_stmt* s = upsert_finding_.get();
    ResetGuard g(s);
    bind_text(s, 1, f.id);
    bind_text(s, 2, f.kind);
    sqlite3_bind_int(s, 3, static_cast<int>(f.severity));
    bind_text(s, 4, f.subject);
    bind_text(s, 5, f.title);
    bind_text(s, 6, f.title_zh);
    bind_text(s, 7, evidence);
    sqlite3_bind_int64(s, 8, to_micros(f.observed_at));
    bind_text(s, 9, batch.agent);
    bind_text(s, 10, batch.scan);
    sqlite3_bind_int64(s, 11, now);
    bind_text(s, 12, batch.job);
    policy = f.policy.empty() ? std::string() : boost::json::serialize(to_json(f.policy));
    alerting.clear();
    for (const auto& rule : f.policy.alerting) alerting += " " + rule;
    if (!alerting.empty()) alerting += " ";
    bind_text(s, 13, policy);
    bind_text(s, 14, alerting);
    bind_text(s, 15, f.campus);
    if (auto r = step_done(s, "store finding"); !r.ok) return r;
  }
  std::string tags;
  for (const rules::AlertIntent& a : batch.alerts) {
    tags = boost::json::serialize(to_json_array(a.tags));
    sqlite3_stmt* s = upsert_alert_.get();
    ResetGuard g(s);
    bind_text(s, 1, a.rule);
    bind_text(s, 2, a.subject);
    sqlite3_bind_int(s, 3, static_cast<int>(a.severity));
    bind_text(s, 4, a.title.en);
    bind_text(s, 5, a.title.zh);
    bind_text(s, 6, tags);
    bind_text(s, 7, a.remediation.en);
    bind_text(s, 8, a.remediation.zh);
    sqlite3_bind_int64(s, 9, now);
    bind_text(s, 10, a.finding_id);
    bind_text(s, 11, batch.agent);
    sqlite3_bind_int64(s, 12, a.renotify.count());
    if (auto r = step_done(s, "raise alert"); !r.ok) return r;
  }
  {
    sqlite3_stmt* s = upsert_scan_.get();
    ResetGuard g(s);
    bind_text(s, 1, batch.agent);
    bind_text(s, 2, batch.scan);
    bind_text(s, 3, batch.job);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(batch.findings.size()));
    if (auto r = step_done(s, "record scan"); !r.ok) return r;
  }

  if (batch.scan_complete) {
    {
      sqlite3_stmt* s = complete_scan_.get();
      ResetGuard g(s);
      bind_text(s, 1, batch.agent);
      bind_text(s, 2, batch.scan);
      if (auto r = step_done(s, "complete scan"); !r.ok) return r;
    }
    const bool listed = !batch.scanned_subjects.empty();
    if (listed) {
      {
        ResetGuard g(clear_scanned_.get());
        if (auto r = step_done(clear_scanned_.get(), "clear scanned subjects"); !r.ok) return r;
      }
      for (const std::string& subject : batch.scanned_subjects) {
        sqlite3_stmt* s = insert_scanned_.get();
        ResetGuard g(s);
        bind_text(s, 1, subject);
        if (auto r = step_done(s, "note scanned subject"); !r.ok) return r;
      }
    }
    sqlite3_stmt* s = listed ? resolve_listed_.get() : resolve_.get();
    ResetGuard g(s);
    sqlite3_bind_int64(s, 1, now);
    bind_text(s, 2, batch.agent);
    bind_text(s, 3, batch.scan);
    bind_text(s, 4, batch.job);
    if (auto r = step_done(s, "resolve findings"); !r.ok) return r;
    sqlite3_stmt* a = resolve_alerts_.get();
    ResetGuard ga(a);
    sqlite3_bind_int64(a, 1, now);
    if (auto r = step_done(a, "resolve alerts"); !r.ok) return r;
  }
  return Result::success();
}

sqlite3_stmt* SqliteStore::query_statement(unsigned mask, bool count, Result& error) {
  auto& statements = count ? count_statements_ : query_statements_;
  if (auto it = statements.find(mask); it != statements.end()) {
    return it->second.get();
  }
  std::string sql = "SELECT ";
  sql += count ? "count(*)" : kColumns;
  sql += " FROM findings WHERE 1";
  if (mask & kById) sql += " AND id = :id";
  if (mask & kByKind) sql += " AND kind = :kind";
  if (mask & kBySeverity) sql += " AND severity >= :severity";
  if (mask & kBySubject) sql += " AND subject = :subject";
  if (mask & kByState) sql += " AND state = :state";
  if (mask & kByCampus) sql += " AND campus = :campus";
  if (mask & kBySince) sql += " AND last_seen >= :since";
  if (mask & kByBefore) sql += " AND last_seen < :before";
  // id breaks ties so that pages neither repeat nor skip rows seen at the same instant.
  if (!count) sql += " ORDER BY last_seen DESC, id LIMIT :limit OFFSET :offset";
  Stmt s;
  error = prepare(s, sql);
  if (!error.ok) return nullptr;
  return statements.emplace(mask, std::move(s)).first->second.get();
}

QueryResult SqliteStore::query(const FindingQuery& q) {
  QueryResult out;
  if (!status_.ok) {
    out.error = status_.error;
    return out;
  }
  unsigned mask = 0;
  if (q.id) mask |= kById;
  if (q.kind) mask |= kByKind;
  if (q.min_severity) mask |= kBySeverity;
  if (q.subject) mask |= kBySubject;
  if (q.state) mask |= kByState;
  if (q.campus) mask |= kByCampus;
  if (q.seen_since) mask |= kBySince;
  if (q.seen_before) mask |= kByBefore;

  auto bind_filters = [&q](sqlite3_stmt* s) {
    if (q.id) bind_named_text(s, ":id", *q.id);
    if (q.kind) bind_named_text(s, ":kind", *q.kind);
    if (q.min_severity) bind_named_int(s, ":severity", static_cast<int>(*q.min_severity));
    if (q.subject) bind_named_text(s, ":subject", *q.subject);
    if (q.state) bind_named_text(s, ":state", to_string(*q.state));
    if (q.campus) bind_named_text(s, ":campus", *q.campus);
    if (q.seen_since) bind_named_int(s, ":since", to_micros(*q.seen_since));
    if (q.seen_before) bind_named_int(s, ":before", to_micros(*q.seen_before));
  };
  Result prepared;
  if (q.count_total) {
    sqlite3_stmt* c = query_statement(mask, true, prepared);
    if (!c) {
      out.error = prepared.error;
      return out;
    }
    ResetGuard g(c);
    bind_filters(c);
    if (sqlite3_step(c) != SQLITE_ROW) {
      out.error = sqlite_error("count").error;
      return out;
    }
    out.total = static_cast<std::size_t>(sqlite3_column_int64(c, 0));
  }
  sqlite3_stmt* s = query_statement(mask, false, prepared);
  if (!s) {
    out.error = prepared.error;
    return out;
  }
  ResetGuard g(s);
  bind_filters(s);
  bind_named_int(s, ":limit", q.limit == 0 ? -1 : static_cast<std::int64_t>(q.limit));
  bind_named_int(s, ":offset", static_cast<std::int64_t>(q.offset));

  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    StoredFinding row;
    Finding& f = row.finding;
    f.id = column_text(s, 0);
    f.kind = column_text(s, 1);
    int severity = sqlite3_column_int(s, 2);
    if (severity < static_cast<int>(Severity::info) ||
        severity > static_cast<int>(Severity::critical)) {
      out.error = "finding " + f.id + " has an unknown severity " + std::to_string(severity);
      out.findings.clear();
      return out;
    }
    f.severity = static_cast<Severity>(severity);
    f.subject = column_text(s, 3);
    f.title = column_text(s, 4);
    f.title_zh = column_text(s, 5);
    boost::system::error_code ec;
    boost::json::value evidence = boost::json::parse(column_text(s, 6), ec);
    if (ec || !evidence.is_object()) {
      out.error = "finding " + f.id + " has unreadable evidence";
      out.findings.clear();
      return out;
    }
    f.evidence = std::move(evidence.get_object());
    f.observed_at = from_micros(sqlite3_column_int64(s, 7));
    f.agent = column_text(s, 8);
    f.scan = column_text(s, 9);
    row.first_seen = from_micros(sqlite3_column_int64(s, 10));
    row.last_seen = from_micros(sqlite3_column_int64(s, 11));
    auto state = parse_finding_state(column_text(s, 12));
    if (!state) {
      out.error = "finding " + f.id + " has an unknown state";
      out.findings.clear();
      return out;
    }
    row.state = *state;
    if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
      row.resolved_at = from_micros(sqlite3_column_int64(s, 13));
    }
    row.job = column_text(s, 14);
    if (const std::string policy = column_text(s, 15); !policy.empty()) {
      boost::json::value v = boost::json::parse(policy, ec);
      std::string why;
      if (ec || !policy_from_json(v, f.policy, &why)) {
        out.error = "finding " + f.id + " has an unreadable policy";
        out.findings.clear();
        return out;
      }
    }
    f.campus = column_text(s, 16);
    out.findings.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    out.error = sqlite_error("query").error;
    out.findings.clear();
    return out;
  }
  out.ok = true;
  return out;
}

// ---- small statements, prepared once and kept by their SQL text ----

sqlite3_stmt* SqliteStore::cached(const char* sql, Result& error) {
  if (auto it = cached_.find(std::string_view(sql)); it != cached_.end()) return it->second.get();
  Stmt s;
  error = prepare(s, sql);
  if (!error.ok) return nullptr;
  return cached_.emplace(sql, std::move(s)).first->second.get();
}

template <typename Bind>
Result SqliteStore::run(const char* sql, Bind&& bind, const char* what, std::string if_unchanged) {
  if (!status_.ok) return status_;
  Result error;
  sqlite3_stmt* s = cached(sql, error);
  if (!s) return error;
  ResetGuard g(s);
  bind(s);
  Result r = step_done(s, what);
  if (r.ok && !if_unchanged.empty() && sqlite3_changes(db_.get()) == 0) {
    return Result::failure(std::move(if_unchanged));
  }
  return r;
}

Result SqliteStore::revoke(const char* sql, const std::string& key, const char* what,
                           std::string missing) {
  return run(
      sql,
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, key);
        sqlite3_bind_int64(s, 2, to_micros(clock_.now()));
      },
      what, std::move(missing));
}

template <typename Row, typename Bind, typename Read>
bool SqliteStore::select(const char* sql, Bind&& bind, Read&& read, std::vector<Row>& rows,
                         std::string& error, const char* what) {
  if (!status_.ok) {
    error = status_.error;
    return false;
  }
  Result prepared;
  sqlite3_stmt* s = cached(sql, prepared);
  if (!s) {
    error = prepared.error;
    return false;
  }
  ResetGuard g(s);
  bind(s);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Row row;
    if (std::string why = read(s, row); !why.empty()) {
      error = std::move(why);
      rows.clear();
      return false;
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    error = sqlite_error(what).error;
    rows.clear();
    return false;
  }
  return true;
}

// ---- agents ----

Result SqliteStore::add_agent(const std::string& id, const std::string& key,
                              const std::string& campus) {
  if (id.empty() || key.empty()) return Result::failure("an agent needs an id and a key");
  return run(
      "INSERT INTO agents (id, key, created_at, campus) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT DO NOTHING",
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, id);
        bind_text(s, 2, key);
        sqlite3_bind_int64(s, 3, to_micros(clock_.now()));
        bind_text(s, 4, campus);
      },
      "add agent", "agent exists: " + id);
}

Result SqliteStore::revoke_agent(const std::string& id) {
  return revoke("UPDATE agents SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1", id,
                "revoke agent", "no such agent: " + id);
}

namespace {
constexpr const char* kAgentColumns =
    "id, key, created_at, revoked_at, last_heartbeat, status, address, campus";

// Empty, or why the row cannot be read.
std::string read_agent(sqlite3_stmt* s, AgentRecord& a) {
  a.id = column_text(s, 0);
  a.key = column_text(s, 1);
  a.created_at = from_micros(sqlite3_column_int64(s, 2));
  a.revoked = sqlite3_column_type(s, 3) != SQLITE_NULL;
  if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
    a.last_heartbeat = from_micros(sqlite3_column_int64(s, 4));
  }
  boost::system::error_code ec;
  boost::json::value status = boost::json::parse(column_text(s, 5), ec);
  if (ec || !status.is_object()) return "agent " + a.id + " has an unreadable status";
  a.status = std::move(status.get_object());
  a.address = column_text(s, 6);
  a.campus = column_text(s, 7);
  return {};
}
}  // namespace

AgentLookup SqliteStore::find_agent(const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kAgentColumns + " FROM agents WHERE id = ?1";
  AgentLookup out;
  std::vector<AgentRecord> rows;
  out.ok = select(
      sql.c_str(), [&](sqlite3_stmt* s) { bind_text(s, 1, id); }, read_agent, rows, out.error,
      "find agent");
  if (out.ok && !rows.empty()) out.agent = std::move(rows.front());
  return out;
}

AgentList SqliteStore::list_agents() {
  static const std::string sql =
      std::string("SELECT ") + kAgentColumns + " FROM agents ORDER BY id";
  AgentList out;
  out.ok = select(
      sql.c_str(), [](sqlite3_stmt*) {}, read_agent, out.agents, out.error, "list agents");
  return out;
}

// Heartbeats are status, not evidence: they share one transaction, and a lost last one
// only makes an agent look offline a little early.
Result SqliteStore::record_heartbeats(std::span<const Heartbeat> heartbeats) {
  if (!status_.ok) return status_;
  if (heartbeats.empty()) return Result::success();
  if (auto r = begin(); !r.ok) return r;
  const std::int64_t now = to_micros(clock_.now());
  std::string status;
  for (const Heartbeat& h : heartbeats) {
    status = boost::json::serialize(h.status);
    auto r = run(
        "UPDATE agents SET last_heartbeat = ?2, status = ?3, address = ?4 WHERE id = ?1",
        [&](sqlite3_stmt* s) {
          bind_text(s, 1, h.agent);
          sqlite3_bind_int64(s, 2, now);
          bind_text(s, 3, status);
          bind_text(s, 4, h.address);
        },
        "record heartbeat");
    if (!r.ok) {
      rollback();
      return r;
    }
  }
  if (auto r = commit(); !r.ok) {
    rollback();
    return r;
  }
  return Result::success();
}

// ---- tokens ----

Result SqliteStore::add_token(const std::string& name, Role role, const std::string& sha256) {
  if (name.empty() || sha256.empty()) return Result::failure("a token needs a name and a hash");
  return run(
      "INSERT INTO tokens (name, role, sha256, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT DO NOTHING",
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, name);
        bind_text(s, 2, to_string(role));
        bind_text(s, 3, sha256);
        sqlite3_bind_int64(s, 4, to_micros(clock_.now()));
      },
      "add token", "token exists: " + name);
}

Result SqliteStore::revoke_token(const std::string& name) {
  return revoke("UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1", name,
                "revoke token", "no such token: " + name);
}

namespace {
std::string read_token(sqlite3_stmt* s, TokenRecord& t) {
  t.name = column_text(s, 0);
  auto role = parse_role(column_text(s, 1));
  if (!role) return "token " + t.name + " has an unknown role";
  t.role = *role;
  t.sha256 = column_text(s, 2);
  t.created_at = from_micros(sqlite3_column_int64(s, 3));
  t.revoked = sqlite3_column_type(s, 4) != SQLITE_NULL;
  return {};
}
}  // namespace

TokenLookup SqliteStore::find_token(const std::string& sha256) {
  TokenLookup out;
  std::vector<TokenRecord> rows;
  out.ok = select(
      "SELECT name, role, sha256, created_at, revoked_at FROM tokens WHERE sha256 = ?1",
      [&](sqlite3_stmt* s) { bind_text(s, 1, sha256); }, read_token, rows, out.error, "find token");
  if (out.ok && !rows.empty()) out.token = std::move(rows.front());
  return out;
}

TokenList SqliteStore::list_tokens() {
  TokenList out;
  out.ok = select(
      "SELECT name, role, sha256, created_at, revoked_at FROM tokens ORDER BY name",
      [](sqlite3_stmt*) {}, read_token, out.tokens, out.error, "list tokens");
  return out;
}

// ---- enrollment tokens ----

Result SqliteStore::add_enrollment(const EnrollmentRecord& e) {
  if (e.name.empty() || e.sha256.empty()) {
    return Result::failure("an enrollment token needs a name and a hash");
  }
  if (e.max_uses < 1) return Result::failure("an enrollment token needs at least one use");
  return run(
      "INSERT INTO enrollments (name, sha256, comment, agent_id, created_at, expires_at, "
      "max_uses) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, e.name);
        bind_text(s, 2, e.sha256);
        bind_text(s, 3, e.comment);
        bind_text(s, 4, e.agent_id);
        sqlite3_bind_int64(s, 5, to_micros(e.created_at));
        sqlite3_bind_int64(s, 6, to_micros(e.expires_at));
        sqlite3_bind_int64(s, 7, e.max_uses);
      },
      "add enrollment", "enrollment token exists: " + e.name);
}

Result SqliteStore::revoke_enrollment(const std::string& name) {
  return revoke("UPDATE enrollments SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1",
                name, "revoke enrollment", "no such enrollment token: " + name);
}

namespace {
constexpr const char* kEnrollmentColumns =
    "SELECT name, sha256, comment, agent_id, created_at, expires_at, max_uses, uses, used_at, "
    "used_by, revoked_at FROM enrollments ";

std::string read_enrollment(sqlite3_stmt* s, EnrollmentRecord& e) {
  e.name = column_text(s, 0);
  e.sha256 = column_text(s, 1);
  e.comment = column_text(s, 2);
  e.agent_id = column_text(s, 3);
  e.created_at = from_micros(sqlite3_column_int64(s, 4));
  e.expires_at = from_micros(sqlite3_column_int64(s, 5));
  e.max_uses = sqlite3_column_int64(s, 6);
  e.uses = sqlite3_column_int64(s, 7);
  if (sqlite3_column_type(s, 8) != SQLITE_NULL) e.used_at = from_micros(sqlite3_column_int64(s, 8));
  e.used_by = column_text(s, 9);
  e.revoked = sqlite3_column_type(s, 10) != SQLITE_NULL;
  return {};
}

}  // namespace

EnrollmentList SqliteStore::list_enrollments() {
  static const std::string sql = std::string(kEnrollmentColumns) + "ORDER BY name";
  EnrollmentList out;
  out.ok = select(
      sql.c_str(), [](sqlite3_stmt*) {}, read_enrollment, out.enrollments, out.error,
      "list enrollments");
  return out;
}

Redemption SqliteStore::redeem_enrollment(const std::string& sha256, const std::string& agent_id,
                                          const std::string& key, TimePoint now) {
  static const std::string sql = std::string(kEnrollmentColumns) + "WHERE sha256 = ?1";
  Redemption out;
  if (!status_.ok) {
    out.error = status_.error;
    return out;
  }
  if (auto r = begin(); !r.ok) {
    out.error = r.error;
    return out;
  }
  // BEGIN IMMEDIATE holds the write lock from here to the end: no other connection can
  // redeem the same token in between.
  auto refuse = [&](RedeemOutcome o) {
    rollback();
    out.ok = true;
    out.outcome = o;
    return out;
  };
  auto fail = [&](std::string error) {
    rollback();
    out.ok = false;
    out.error = std::move(error);
    return out;
  };
  std::vector<EnrollmentRecord> rows;
  std::string error;
  if (!select(
          sql.c_str(), [&](sqlite3_stmt* s) { bind_text(s, 1, sha256); }, read_enrollment, rows,
          error, "find enrollment")) {
    return fail(error);
  }
  if (rows.empty()) return refuse(RedeemOutcome::unknown);
  const EnrollmentRecord& e = rows.front();
  out.enrollment = e.name;
  std::string id;
  if (const auto o = judge_redemption(e, agent_id, now, id); o != RedeemOutcome::enrolled)
    return refuse(o);
  if (id.empty() || key.empty()) return fail("an agent needs an id and a key");
  const std::int64_t at = to_micros(now);
  if (auto r = run(
          "INSERT INTO agents (id, key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
          [&](sqlite3_stmt* s) {
            bind_text(s, 1, id);
            bind_text(s, 2, key);
            sqlite3_bind_int64(s, 3, at);
          },
          "add agent");
      !r.ok) {
    return fail(r.error);
  }
  if (sqlite3_changes(db_.get()) == 0) return refuse(RedeemOutcome::agent_exists);
  if (auto r = run(
          "UPDATE enrollments SET uses = uses + 1, used_at = ?2, used_by = ?3 WHERE name = ?1",
          [&](sqlite3_stmt* s) {
            bind_text(s, 1, e.name);
            sqlite3_bind_int64(s, 2, at);
            bind_text(s, 3, id);
          },
          "count the enrollment");
      !r.ok) {
    return fail(r.error);
  }
  if (auto r = commit(); !r.ok) return fail(r.error);
  AgentRecord a;
  a.id = id;
  a.key = key;
  a.created_at = from_micros(at);
  out.ok = true;
  out.outcome = RedeemOutcome::enrolled;
  out.agent = std::move(a);
  return out;
}

// ---- scans ----

ScanList SqliteStore::list_scans(const ScanQuery& q) {
  ScanList out;
  if (!status_.ok) {
    out.error = status_.error;
    return out;
  }
  Result error;
  sqlite3_stmt* c = cached("SELECT count(*) FROM scans WHERE (?1 IS NULL OR agent = ?1)", error);
  sqlite3_stmt* s = c ? cached(
                            "SELECT agent, scan, job, first_chunk_at, last_chunk_at, "
                            "finding_count, complete FROM scans "
                            "WHERE (?1 IS NULL OR agent = ?1) "
                            "ORDER BY last_chunk_at DESC, agent, scan LIMIT ?2 OFFSET ?3",
                            error)
                      : nullptr;
  if (!s) {
    out.error = error.error;
    return out;
  }
  {
    ResetGuard g(c);
    if (q.agent) bind_text(c, 1, *q.agent);
    if (sqlite3_step(c) != SQLITE_ROW) {
      out.error = sqlite_error("count scans").error;
      return out;
    }
    out.total = static_cast<std::size_t>(sqlite3_column_int64(c, 0));
  }
  ResetGuard g(s);
  if (q.agent) bind_text(s, 1, *q.agent);
  sqlite3_bind_int64(s, 2, q.limit == 0 ? -1 : static_cast<std::int64_t>(q.limit));
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(q.offset));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    ScanRecord r;
    r.agent = column_text(s, 0);
    r.scan = column_text(s, 1);
    r.job = column_text(s, 2);
    r.first_chunk_at = from_micros(sqlite3_column_int64(s, 3));
    r.last_chunk_at = from_micros(sqlite3_column_int64(s, 4));
    r.finding_count = static_cast<std::size_t>(sqlite3_column_int64(s, 5));
    r.complete = sqlite3_column_int(s, 6) != 0;
    out.scans.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    out.error = sqlite_error("list scans").error;
    out.scans.clear();
    return out;
  }
  out.ok = true;
  return out;
}

// ---- alerts ----

namespace {
constexpr const char* kAlertColumns =
    "id, rule, subject, severity, title, title_zh, tags, remediation, remediation_zh, state, "
    "first_fired, last_fired, repeats, finding_id, agent, acknowledged_at, acknowledged_by, "
    "ack_comment, resolved_at, renotify_s, last_notified, notifications";

std::optional<TimePoint> optional_time(sqlite3_stmt* s, int column) {
  if (sqlite3_column_type(s, column) == SQLITE_NULL) return std::nullopt;
  return from_micros(sqlite3_column_int64(s, column));
}

std::string read_alert(sqlite3_stmt* s, AlertRecord& a) {
  a.id = sqlite3_column_int64(s, 0);
  a.rule = column_text(s, 1);
  a.subject = column_text(s, 2);
  const int severity = sqlite3_column_int(s, 3);
  if (severity < static_cast<int>(Severity::info) ||
      severity > static_cast<int>(Severity::critical)) {
    return "alert " + std::to_string(a.id) + " has an unknown severity";
  }
  a.severity = static_cast<Severity>(severity);
  a.title = column_text(s, 4);
  a.title_zh = column_text(s, 5);
  boost::system::error_code ec;
  const boost::json::value tags = boost::json::parse(column_text(s, 6), ec);
  if (ec || !tags.is_array()) return "alert " + std::to_string(a.id) + " has unreadable tags";
  for (const auto& t : tags.get_array()) {
    if (t.is_string()) a.tags.emplace_back(t.get_string());
  }
  a.remediation = column_text(s, 7);
  a.remediation_zh = column_text(s, 8);
  auto state = parse_alert_state(column_text(s, 9));
  if (!state) return "alert " + std::to_string(a.id) + " has an unknown state";
  a.state = *state;
  a.first_fired = from_micros(sqlite3_column_int64(s, 10));
  a.last_fired = from_micros(sqlite3_column_int64(s, 11));
  a.repeats = sqlite3_column_int64(s, 12);
  a.finding_id = column_text(s, 13);
  a.agent = column_text(s, 14);
  a.acknowledged_at = optional_time(s, 15);
  a.acknowledged_by = column_text(s, 16);
  a.ack_comment = column_text(s, 17);
  a.resolved_at = optional_time(s, 18);
  a.renotify = std::chrono::seconds(sqlite3_column_int64(s, 19));
  a.last_notified = optional_time(s, 20);
  a.notifications = sqlite3_column_int64(s, 21);
  return {};
}
}  // namespace

AlertList SqliteStore::list_alerts(const AlertQuery& q) {
  // One statement for every filter combination: NULL parameters switch a filter off. The
  // alerts table is small next to findings, so one plan serves.
  static const std::string where =
      " FROM alerts WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR state = ?2) "
      "AND (?3 = 0 OR state <> 'resolved') AND (?4 IS NULL OR rule = ?4) "
      "AND (?5 IS NULL OR subject = ?5) AND (?6 IS NULL OR severity >= ?6)";
  static const std::string count_sql = "SELECT count(*)" + where;
  static const std::string rows_sql = std::string("SELECT ") + kAlertColumns + where +
                                      " ORDER BY last_fired DESC, id DESC LIMIT ?7 OFFSET ?8";
  auto bind = [&q](sqlite3_stmt* s) {
    if (q.id) sqlite3_bind_int64(s, 1, *q.id);
    const std::string_view state = q.state ? to_string(*q.state) : std::string_view();
    if (q.state) bind_text(s, 2, state);
    sqlite3_bind_int(s, 3, q.active ? 1 : 0);
    if (q.rule) bind_text(s, 4, *q.rule);
    if (q.subject) bind_text(s, 5, *q.subject);
    if (q.min_severity) sqlite3_bind_int(s, 6, static_cast<int>(*q.min_severity));
  };
  AlertList out;
  std::vector<std::int64_t> count;
  if (!select(
          count_sql.c_str(), bind,
          [](sqlite3_stmt* s, std::int64_t& n) {
            n = sqlite3_column_int64(s, 0);
            return std::string();
          },
          count, out.error, "count alerts")) {
    return out;
  }
  out.total = count.empty() ? 0 : static_cast<std::size_t>(count.front());
  out.ok = select(
      rows_sql.c_str(),
      [&](sqlite3_stmt* s) {
        bind(s);
        sqlite3_bind_int64(s, 7, q.limit == 0 ? -1 : static_cast<std::int64_t>(q.limit));
        sqlite3_bind_int64(s, 8, static_cast<std::int64_t>(q.offset));
      },
      read_alert, out.alerts, out.error, "list alerts");
  return out;
}

Result SqliteStore::acknowledge_alert(std::int64_t id, const std::string& by,
                                      const std::string& comment) {
  if (by.empty()) return Result::failure("an acknowledgement needs who made it");
  Result r = run(
      "UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?2, acknowledged_by = ?3, "
      "ack_comment = ?4 WHERE id = ?1 AND state <> 'resolved'",
      [&](sqlite3_stmt* s) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, to_micros(clock_.now()));
        bind_text(s, 3, by);
        bind_text(s, 4, comment);
      },
      "acknowledge alert", "unchanged");
  if (r.ok || r.error != "unchanged") return r;
  AlertQuery q;
  q.id = id;
  const AlertList found = list_alerts(q);
  if (!found.ok) return Result::failure(found.error);
  return Result::failure(found.alerts.empty() ? "no such alert" : "alert is resolved");
}

DueList SqliteStore::due_notifications(std::size_t limit) {
  static const std::string sql =
      std::string("SELECT ") + kAlertColumns +
      " FROM alerts WHERE resolved_notified = 0 AND ("
      "(state = 'firing' AND notifications = 0) OR "
      "(state = 'firing' AND last_notified + renotify_s * 1000000 <= ?1) OR "
      "state = 'resolved') ORDER BY id LIMIT ?2";
  DueList out;
  std::vector<AlertRecord> rows;
  out.ok = select(
      sql.c_str(),
      [&](sqlite3_stmt* s) {
        sqlite3_bind_int64(s, 1, to_micros(clock_.now()));
        sqlite3_bind_int64(s, 2, limit == 0 ? -1 : static_cast<std::int64_t>(limit));
      },
      read_alert, rows, out.error, "due notifications");
  for (auto& a : rows) {
    DueNotification d;
    d.event = due_event(a);
    d.alert = std::move(a);
    out.due.push_back(std::move(d));
  }
  return out;
}

Result SqliteStore::mark_notified(std::span<const NotifiedMark> marks) {
  if (!status_.ok) return status_;
  if (marks.empty()) return Result::success();
  if (auto r = begin(); !r.ok) return r;
  const std::int64_t now = to_micros(clock_.now());
  for (const NotifiedMark& m : marks) {
    Result r = m.event == AlertEvent::resolved
                   ? run(
                         "UPDATE alerts SET resolved_notified = 1 WHERE id = ?1",
                         [&](sqlite3_stmt* s) { sqlite3_bind_int64(s, 1, m.alert); },
                         "mark resolution notified")
                   : run(
                         "UPDATE alerts SET notifications = notifications + 1, "
                         "last_notified = ?2 WHERE id = ?1",
                         [&](sqlite3_stmt* s) {
                           sqlite3_bind_int64(s, 1, m.alert);
                           sqlite3_bind_int64(s, 2, now);
                         },
                         "mark notified");
    if (!r.ok) {
      rollback();
      return r;
    }
  }
  if (auto r = commit(); !r.ok) {
    rollback();
    return r;
  }
  return Result::success();
}

// ---- posture ----

namespace {
std::string read_count(sqlite3_stmt* s, std::pair<int, std::int64_t>& row) {
  row = {sqlite3_column_int(s, 0), sqlite3_column_int64(s, 1)};
  return {};
}
}  // namespace

SeverityCounts SqliteStore::count_by_severity(const char* sql, const char* what) {
  SeverityCounts out;
  std::vector<std::pair<int, std::int64_t>> rows;
  out.ok = select(
      sql, [](sqlite3_stmt*) {}, read_count, rows, out.error, what);
  for (const auto& [severity, n] : rows) {
    if (severity >= 0 && severity < 5) out.by_severity[static_cast<std::size_t>(severity)] = n;
  }
  return out;
}

SeverityCounts SqliteStore::open_findings_by_severity() {
  return count_by_severity(
      "SELECT severity, count(*) FROM findings WHERE state = 'open' GROUP BY severity",
      "count open findings");
}

SeverityCounts SqliteStore::active_alerts_by_severity() {
  return count_by_severity(
      "SELECT severity, count(*) FROM alerts WHERE state <> 'resolved' GROUP BY severity",
      "count active alerts");
}

Result SqliteStore::record_posture(const PostureDay& day) {
  const std::string figures = boost::json::serialize(day.figures);
  const std::int64_t before = db_ ? sqlite3_total_changes64(db_.get()) : 0;
  // Left out of data_version: recording figures is not a change to the figures' data.
  struct Count {
    SqliteStore& store;
    std::int64_t before;
    ~Count() {
      if (store.db_) store.posture_changes_ += sqlite3_total_changes64(store.db_.get()) - before;
    }
  } count{*this, before};
  return run(
      "INSERT INTO posture_history (date, figures) VALUES (?1, ?2) "
      "ON CONFLICT (date) DO UPDATE SET figures = excluded.figures",
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, day.date);
        bind_text(s, 2, figures);
      },
      "record posture");
}

PostureHistory SqliteStore::posture_history(std::size_t days) {
  PostureHistory out;
  out.ok = select(
      "SELECT date, figures FROM (SELECT date, figures FROM posture_history "
      "ORDER BY date DESC LIMIT ?1) ORDER BY date",
      [&](sqlite3_stmt* s) { sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(days)); },
      [](sqlite3_stmt* s, PostureDay& d) -> std::string {
        d.date = column_text(s, 0);
        boost::system::error_code ec;
        auto v = boost::json::parse(column_text(s, 1), ec);
        if (ec || !v.is_object()) return "posture of " + d.date + " is unreadable";
        d.figures = std::move(v.get_object());
        return {};
      },
      out.days, out.error, "posture history");
  return out;
}

// SQLite's data_version changes when another connection commits; our own commits are
// counted on top (but for record_posture's), so both kinds of change are seen.
std::int64_t SqliteStore::data_version() {
  std::vector<std::int64_t> rows;
  std::string error;
  if (!select(
          "PRAGMA data_version", [](sqlite3_stmt*) {},
          [](sqlite3_stmt* s, std::int64_t& v) {
            v = sqlite3_column_int64(s, 0);
            return std::string();
          },
          rows, error, "data version") ||
      rows.empty()) {
    return -1;
  }
  return rows.front() + static_cast<std::int64_t>(sqlite3_total_changes64(db_.get())) -
         posture_changes_;
}

}  // namespace edusight::collector
