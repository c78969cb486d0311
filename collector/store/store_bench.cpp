// Findings/s through SqliteStore (batches of 1,000) against raw SQLite inserts of the same
// rows into the same schema, in the same run, so the store's own overhead is visible.
// Usage: store_bench [findings] [directory]
#include <sqlite3.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "collector/store/sqlite_store.hpp"

namespace {

using namespace edusight;
using namespace edusight::collector;
namespace fs = std::filesystem;

constexpr std::size_t kBatch = 1000;
constexpr std::size_t kGroup = 32;
constexpr std::size_t kRawTransaction = kBatch * kGroup;

std::vector<Finding> make_findings(std::size_t n) {
  std::vector<Finding> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Finding f;
    f.kind = "asset.discovered";
    f.subject = "h" + std::to_string(i) + ".demo-univ.edu.cn";
    f.id = finding_id(f.kind, f.subject);
    f.title = "Asset discovered";
    f.title_zh = "发现资产";
    f.evidence["addresses"] = boost::json::array{"192.0.2.1", "2001:db8::1"};
    f.evidence["how"] = "zone transfer";
    f.observed_at = std::chrono::system_clock::now();
    out.push_back(std::move(f));
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

// Plain prepared INSERTs, one transaction per group, same pragmas as the store: the limit
// SQLite itself sets for these rows on this machine.
bool raw_insert(const std::string& path, const std::vector<Finding>& findings) {
  sqlite3* db = nullptr;
  bool ok = check(sqlite3_open(path.c_str(), &db), db, "open") &&
            check(sqlite3_exec(db,
                               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                               "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; "
                               "PRAGMA wal_autocheckpoint=10000",
                               nullptr, nullptr, nullptr),
                  db, "pragmas");
  sqlite3_stmt* s = nullptr;
  ok = ok && check(sqlite3_prepare_v2(db,
                                      "INSERT INTO findings (id, kind, severity, subject, title, "
                                      "title_zh, evidence, observed_at, agent, scan, first_seen, "
                                      "last_seen, state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'open')",
                                      -1, &s, nullptr),
                   db, "prepare");
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (std::size_t i = 0; ok && i < findings.size(); ++i) {
    // SQLite's best case for the same rows: the store's pragmas and its group size.
    if (i % kRawTransaction == 0) {
      ok = check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "b");
    }
    const Finding& f = findings[i];
    std::string evidence = boost::json::serialize(f.evidence);
    sqlite3_bind_text(s, 1, f.id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f.kind.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, static_cast<int>(f.severity));
    sqlite3_bind_text(s, 4, f.subject.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, f.title.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, f.title_zh.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, evidence.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, now);
    sqlite3_bind_text(s, 9, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, "s1", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 11, now);
    sqlite3_bind_int64(s, 12, now);
    ok = check(sqlite3_step(s), db, "insert");
    sqlite3_reset(s);
    if (ok && (i % kRawTransaction == kRawTransaction - 1 || i + 1 == findings.size())) {
      ok = check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const fs::path dir =
      argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "edusight-store-bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<Finding> findings = make_findings(n);
  SystemClock clock;

  const std::string store_path = (dir / "store.db").string();
  double store_s = 0;
  {
    SqliteStore store(store_path, clock);
    if (!store.status().ok) {
      std::fprintf(stderr, "%s\n", store.status().error.c_str());
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; i += kBatch) {
      Batch b;
      b.agent = "bench";
      b.chunk_id = "c" + std::to_string(i);
      b.scan = "s1";
      b.findings.assign(findings.begin() + static_cast<std::ptrdiff_t>(i),
                        findings.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + kBatch)));
      if (Result r = store.commit_batch(b); !r.ok) {
        std::fprintf(stderr, "%s\n", r.error.c_str());
        return 1;
      }
    }
    store_s = seconds_since(t0);
  }

  // The collector's writer: many agents' batches in one transaction (one fsync per group).
  double group_s = 0;
  {
    const std::string group_path = (dir / "group.db").string();
    SqliteStore store(group_path, clock);
    std::vector<Batch> group;
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; i += kBatch) {
      Batch& b = group.emplace_back();
      b.agent = "bench";
      b.chunk_id = "c" + std::to_string(i);
      b.scan = "s1";
      b.findings.assign(findings.begin() + static_cast<std::ptrdiff_t>(i),
                        findings.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + kBatch)));
      if (group.size() == kGroup || i + kBatch >= n) {
        for (const Result& r : store.commit_batches(group)) {
          if (!r.ok) {
            std::fprintf(stderr, "%s\n", r.error.c_str());
            return 1;
          }
        }
        group.clear();
      }
    }
    group_s = seconds_since(t0);
  }

  // Same schema (created by the store), then plain inserts.
  const std::string raw_path = (dir / "raw.db").string();
  { SqliteStore schema_only(raw_path, clock); }
  auto t0 = std::chrono::steady_clock::now();
  if (!raw_insert(raw_path, findings)) return 1;
  double raw_s = seconds_since(t0);

  std::printf("findings: %zu, batches of %zu, synchronous=FULL, WAL, dir %s\n", n, kBatch,
              dir.c_str());
  std::printf("SqliteStore::commit_batch  %10.0f findings/s  (%.3f s)\n", n / store_s, store_s);
  std::printf("SqliteStore::commit_batches %8.0f findings/s  (%.3f s, %zu batches a commit)\n",
              n / group_s, group_s, kGroup);
  std::printf("raw sqlite3 INSERT         %10.0f findings/s  (%.3f s, %zu rows a commit)\n",
              n / raw_s, raw_s, kRawTransaction);
  fs::remove_all(dir);
  return 0;
}
