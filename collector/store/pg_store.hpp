#pragma once
// The collector's Store on PostgreSQL (libpq): the same behaviour as SqliteStore, for several
// collectors on one database. Each PgStore owns one connection; its calls are serialised by
// a mutex, so one store may be shared by threads, and any number of stores (in one process
// or many) may work on the same database at once. See docs/postgresql.md.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

struct pg_conn;
struct pg_result;

namespace edusight::collector {

// The schema version this build writes; see kPgMigrations in pg_store.cpp.
inline constexpr int kPgSchemaVersion = 4;

struct PgStoreOptions {
  // Set on the session: no statement may hold the collector's writer longer than this.
  std::chrono::milliseconds statement_timeout{30'000};
  // A transaction that fails on a serialisation failure or deadlock (SQLSTATE 40001 or
  // 40P01) is run again from the start, at most this many more times.
  int max_retries = 5;
  // Seconds libpq waits for a connection, unless the connection string says otherwise.
  int connect_timeout_s = 10;
};

class PgStore final : public Store {
 public:
  // `conninfo`: a libpq connection string, "postgresql://user@host:port/db?..." or
  // "host=... dbname=...". Connects and migrates (under an advisory lock, so collectors
  // starting together do not race). Never throws: check status(); when it is not ok every
  // call returns that error.
  PgStore(std::string conninfo, const Clock& clock, PgStoreOptions options = {});
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

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
  // A session-level advisory lock on this store's connection: released when the collector
  // stops or dies (its connection closes), then another collector's notifier takes it.
  bool hold_notifier_lease() override;

  SeverityCounts open_findings_by_severity() override;
  SeverityCounts active_alerts_by_severity() override;
  Result record_posture(const PostureDay& day) override;
  PostureHistory posture_history(std::size_t days) override;
  // Changes whenever any transaction on the server committed since the last call (read from
  // the server's snapshot, so commits by other collectors count too).
  std::int64_t data_version() override;

  // Transactions run again after a serialisation failure or deadlock, since construction.
  std::int64_t retries() const { return retries_; }

 private:
  struct ResultDeleter {
    void operator()(pg_result* r) const;
  };
  using Res = std::unique_ptr<pg_result, ResultDeleter>;
  using Params = std::vector<std::optional<std::string>>;

  Result connect();
  Result setup_session();
  Result migrate();
  Result ready();
  // Runs one statement; null (and `error`) unless it ended as expected (rows or command).
  Res exec(const std::string& sql, const Params& params, std::string& error, const char* what);
  Result command(const std::string& sql, const Params& params, const char* what,
                 std::int64_t* changed = nullptr);
  Result simple(const char* sql, const char* what);
  Result copy_in(const std::string& sql, const std::string& data, const char* what);
  Result error_of(pg_result* r, const char* what);
  template <typename Row, typename Read>
  bool select(const std::string& sql, const Params& params, Read&& read, std::vector<Row>& rows,
              std::string& error, const char* what);
  template <typename Body>
  Result transaction(Body&& body);
  std::vector<Result> commit_group(std::span<const Batch> batches);
  Result apply(const Batch& batch);
  Result revoke(const char* sql, const std::string& key, const char* what, std::string missing);
  // After a commit: moves data_changes on (a failure only costs a late snapshot rebuild).
  void note_change();

  std::string conninfo_;
  const Clock& clock_;
  PgStoreOptions options_;
  std::recursive_mutex mutex_;
  pg_conn* conn_ = nullptr;
  Result status_;
  // Set when a statement failed with a retryable SQLSTATE; the transaction is run again.
  bool retryable_ = false;
  std::int64_t retries_ = 0;
  bool notifier_lease_ = false;  // a new session (connect, reset) holds no advisory locks
};

}  // namespace edusight::collector
