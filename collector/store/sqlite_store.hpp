#pragma once
// FindingStore on one SQLite file (WAL). Not thread-safe: the collector gives it one writer
// thread, or guards it with a mutex; other processes may read the file concurrently.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace edusight::collector {

// The schema version this build writes; see migrate() in sqlite_store.cpp.
inline constexpr int kSqliteSchemaVersion = 7;

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) and migrates the database. Never throws for a bad file:
  // check status(); when it is not ok every call returns that error.
  SqliteStore(std::string path, const Clock& clock);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const Result& status() const { return status_; }

  Result commit_batch(const Batch& batch) override;
  std::vector<Result> commit_batches(std::span<const Batch> batches) override;
  QueryResult query(const FindingQuery& q) override;

  Result add_agent(const std::string& id, const std::string& key,
                   const std::string& campus = {}) override;
  Result revoke_agent(const std::string& id) override;
  AgentLookup find_agent(const std::string& id) override;
  AgentList list_agents() override;
  Result record_heartbeats(std::span<const Heartbeat> heartbeats) override;

  Result add_token(const std::string& name, Role role, const std::string& sha256) override;
  Result revoke_token(const std::string& name) override;
  TokenLookup find_token(const std::string& sha256) override;
  TokenList list_tokens() override;

  Result add_enrollment(const EnrollmentRecord& e) override;
  Result revoke_enrollment(const std::string& name) override;
  EnrollmentList list_enrollments() override;
  Redemption redeem_enrollment(const std::string& sha256, const std::string& agent_id,
                               const std::string& key, TimePoint now) override;

  ScanList list_scans(const ScanQuery& q) override;

  AlertList list_alerts(const AlertQuery& q) override;
  Result acknowledge_alert(std::int64_t id, const std::string& by,
                           const std::string& comment) override;
  DueList due_notifications(std::size_t limit) override;
  Result mark_notified(std::span<const NotifiedMark> marks) override;

  SeverityCounts open_findings_by_severity() override;
  SeverityCounts active_alerts_by_severity() override;
  Result record_posture(const PostureDay& day) override;
  PostureHistory posture_history(std::size_t days) override;
  std::int64_t data_version() override;

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StmtFinalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

  Result open();
  Result migrate();
  Result exec(const char* sql);
  Result prepare(Stmt& out, const std::string& sql);
  Result step_done(sqlite3_stmt* s, const char* what);
  Result apply(const Batch& batch);
  Result begin();
  Result commit();
  void rollback();
  // Runs one statement with `bind` applied; for the small, rarely used statements.
  // `if_unchanged`: the error when the statement changed no row (e.g. "no such agent: x").
  template <typename Bind>
  Result run(const char* sql, Bind&& bind, const char* what, std::string if_unchanged = {});
  // Marks the row revoked (first revocation time kept); an error when there is no such row.
  Result revoke(const char* sql, const std::string& key, const char* what, std::string missing);
  // Runs a SELECT, each row read by `read` (which returns why a row is unreadable, or "");
  // false with `error` set on any failure, and then `rows` is empty.
  template <typename Row, typename Bind, typename Read>
  bool select(const char* sql, Bind&& bind, Read&& read, std::vector<Row>& rows, std::string& error,
              const char* what);
  Result sqlite_error(std::string_view what) const;
  sqlite3_stmt* query_statement(unsigned mask, bool count, Result& error);
  sqlite3_stmt* cached(const char* sql, Result& error);
  SeverityCounts count_by_severity(const char* sql, const char* what);

  std::string path_;
  const Clock& clock_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  Result status_;
  // Rows record_posture changed on this connection: left out of data_version.
  std::int64_t posture_changes_ = 0;
  Stmt begin_, commit_, rollback_;
  Stmt insert_chunk_, upsert_finding_, upsert_scan_, complete_scan_, clear_scanned_,
      insert_scanned_, resolve_, resolve_listed_, upsert_alert_, resolve_alerts_;
  // One prepared statement per combination of query filters, built on first use, so each
  // shape keeps a plan that can use its index.
  std::map<unsigned, Stmt> query_statements_;
  std::map<unsigned, Stmt> count_statements_;
  std::map<std::string, Stmt, std::less<>> cached_;  // run()'s statements, by SQL text
};

}  // namespace edusight::collector
