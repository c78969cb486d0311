#pragma once
// FindingStore on one SQLite file (WAL). Not thread-safe: the collector gives it one writer
// thread, or guards it with a mutex; other processes may read the file concurrently.
#include <map>
#include <memory>
#include <string>

#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace edusight::collector {

// The schema version this build writes; see migrate() in sqlite_store.cpp.
inline constexpr int kSqliteSchemaVersion = 1;

class SqliteStore final : public FindingStore {
 public:
  // Opens (creating if needed) and migrates the database. Never throws for a bad file:
  // check status(); when it is not ok every call returns that error.
  SqliteStore(std::string path, const Clock& clock);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const Result& status() const { return status_; }

  Result commit_batch(const Batch& batch) override;
  QueryResult query(const FindingQuery& q) override;

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
  Result sqlite_error(std::string_view what) const;
  sqlite3_stmt* query_statement(unsigned mask, Result& error);

  std::string path_;
  const Clock& clock_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  Result status_;
  Stmt begin_, commit_, rollback_;
  Stmt insert_chunk_, upsert_finding_, clear_scanned_, insert_scanned_, resolve_;
  // One prepared statement per combination of query filters, built on first use, so each
  // shape keeps a plan that can use its index.
  std::map<unsigned, Stmt> query_statements_;
};

}  // namespace edusight::collector
