#include "collector/store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace edusight::collector {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kStart = TimePoint(std::chrono::seconds(1'790'000'000));

Finding make_finding(std::string kind, std::string subject, Severity severity = Severity::medium,
                     std::string discriminator = {}) {
  Finding f;
  f.id = finding_id(kind, subject, discriminator);
  f.kind = std::move(kind);
  f.subject = std::move(subject);
  f.severity = severity;
  f.title = "title for " + f.subject;
  f.title_zh = "问题：" + f.subject;
  f.evidence["subject"] = f.subject;
  f.observed_at = kStart - 1h;
  return f;
}

Batch make_batch(std::string agent, std::string chunk, std::string scan,
                 std::vector<Finding> findings) {
  Batch b;
  b.agent = std::move(agent);
  b.chunk_id = std::move(chunk);
  b.scan = std::move(scan);
  b.findings = std::move(findings);
  return b;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("edusight-store-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "findings.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<StoredFinding> all(SqliteStore& store, FindingQuery q = {}) {
    q.limit = 0;
    QueryResult r = store.query(q);
    EXPECT_TRUE(r.ok) << r.error;
    return r.findings;
  }

  static const StoredFinding* find(const std::vector<StoredFinding>& rows, const std::string& id) {
    for (const auto& r : rows) {
      if (r.finding.id == id) return &r;
    }
    return nullptr;
  }

  fs::path dir_;
  std::string path_;
  ManualClock clock_{kStart};
};

// data_version moves with commits on this connection and on others, but not with
// record_posture: a snapshot recording its figures is no reason to build it again.
TEST_F(SqliteStoreTest, DataVersionMovesWithCommitsButNotWithRecordedPosture) {
  SqliteStore reader(path_, clock_);
  SqliteStore writer(path_, clock_);
  const auto v1 = reader.data_version();
  ASSERT_NE(v1, -1);
  ASSERT_TRUE(reader.record_posture({"2026-09-04", {{"open", 1}}}).ok);
  EXPECT_EQ(reader.data_version(), v1);
  ASSERT_TRUE(writer.commit_batch(make_batch("ag", "c1", "s1", {make_finding("k", "x")})).ok);
  const auto v2 = reader.data_version();
  EXPECT_NE(v2, v1);
  ASSERT_TRUE(reader.add_agent("campus-a", "key").ok);
  EXPECT_NE(reader.data_version(), v2);
}

TEST_F(SqliteStoreTest, CommitAndQueryRoundTrips) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;

  Finding a = make_finding("ipv6.dns.no_aaaa", "www.demo-univ.edu.cn", Severity::high);
  a.evidence["addresses"] = boost::json::array{"192.0.2.10"};
  Finding b = make_finding("tls.cert_expired", "mail.demo-univ.edu.cn:443", Severity::critical);
  Result r = store.commit_batch(make_batch("agent-1", "c1", "s1", {a, b}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.duplicate);

  auto rows = all(store);
  ASSERT_EQ(rows.size(), 2u);
  const StoredFinding* got = find(rows, a.id);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->finding.kind, a.kind);
  EXPECT_EQ(got->finding.severity, Severity::high);
  EXPECT_EQ(got->finding.subject, a.subject);
  EXPECT_EQ(got->finding.title, a.title);
  EXPECT_EQ(got->finding.title_zh, a.title_zh);
  EXPECT_EQ(got->finding.evidence, a.evidence);
  EXPECT_EQ(got->finding.observed_at, a.observed_at);
  EXPECT_EQ(got->finding.agent, "agent-1");
  EXPECT_EQ(got->finding.scan, "s1");
  EXPECT_EQ(got->first_seen, kStart);
  EXPECT_EQ(got->last_seen, kStart);
  EXPECT_EQ(got->state, FindingState::open);
  EXPECT_FALSE(got->resolved_at.has_value());
}

TEST_F(SqliteStoreTest, FiltersByKindSeveritySubjectStateAndTime) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok);
  Finding info = make_finding("ipv6.readiness", "a.edu.cn", Severity::info);
  Finding high = make_finding("ipv6.dns.no_aaaa", "a.edu.cn", Severity::high);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {info, high})).ok);
  clock_.advance(10min);
  Finding later = make_finding("ipv6.dns.no_aaaa", "b.edu.cn", Severity::low);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c2", "s1", {later})).ok);

  FindingQuery by_kind;
  by_kind.kind = "ipv6.dns.no_aaaa";
  auto rows = all(store, by_kind);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].finding.id, later.id);  // newest first

  FindingQuery by_severity;
  by_severity.min_severity = Severity::low;
  EXPECT_EQ(all(store, by_severity).size(), 2u);
  by_severity.min_severity = Severity::high;
  rows = all(store, by_severity);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.id, high.id);

  FindingQuery by_subject;
  by_subject.subject = "a.edu.cn";
  EXPECT_EQ(all(store, by_subject).size(), 2u);
  by_subject.kind = "ipv6.readiness";
  EXPECT_EQ(all(store, by_subject).size(), 1u);

  FindingQuery by_state;
  by_state.state = FindingState::resolved;
  EXPECT_TRUE(all(store, by_state).empty());
  by_state.state = FindingState::open;
  EXPECT_EQ(all(store, by_state).size(), 3u);

  FindingQuery by_time;
  by_time.seen_since = kStart + 5min;
  rows = all(store, by_time);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.id, later.id);
  by_time.seen_since.reset();
  by_time.seen_before = kStart + 5min;
  EXPECT_EQ(all(store, by_time).size(), 2u);
}

TEST_F(SqliteStoreTest, UpsertKeepsFirstSeenAndUpdatesTheRest) {
  SqliteStore store(path_, clock_);
  Finding f = make_finding("tls.cert_expiring", "www.edu.cn:443", Severity::low);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {f})).ok);
  clock_.advance(1h);
  f.severity = Severity::high;
  f.evidence["days_left"] = 3;
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c2", "s2", {f})).ok);

  auto rows = all(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first_seen, kStart);
  EXPECT_EQ(rows[0].last_seen, kStart + 1h);
  EXPECT_EQ(rows[0].finding.severity, Severity::high);
  EXPECT_EQ(rows[0].finding.evidence, f.evidence);
  EXPECT_EQ(rows[0].finding.scan, "s2");
}

TEST_F(SqliteStoreTest, DuplicateChunkIsNotStoredTwice) {
  SqliteStore store(path_, clock_);
  Finding f = make_finding("dns.axfr_allowed", "edu.cn");
  Batch b = make_batch("ag", "chunk-7", "s1", {f});
  ASSERT_TRUE(store.commit_batch(b).ok);

  clock_.advance(1h);
  b.findings[0].evidence["changed"] = true;
  Result again = store.commit_batch(b);
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.duplicate);

  auto rows = all(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].last_seen, kStart);  // the resent chunk changed nothing
  EXPECT_FALSE(rows[0].finding.evidence.contains("changed"));

  // Chunk ids are per agent: another agent's chunk-7 is new.
  Result other = store.commit_batch(make_batch("ag-2", "chunk-7", "s9", {f}));
  EXPECT_TRUE(other.ok);
  EXPECT_FALSE(other.duplicate);
}

TEST_F(SqliteStoreTest, CompletedScanResolvesUnreportedFindingsAndReportReopens) {
  SqliteStore store(path_, clock_);
  Finding a = make_finding("ipv6.dns.no_aaaa", "h1.edu.cn");
  Finding b = make_finding("ipv6.dns.no_aaaa", "h2.edu.cn");
  Finding c = make_finding("ipv6.dns.no_aaaa", "h3.edu.cn");
  Finding other_agent = make_finding("ipv6.web.slow", "h2.edu.cn");
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {a, b, c})).ok);
  ASSERT_TRUE(store.commit_batch(make_batch("ag-2", "x1", "t1", {other_agent})).ok);

  // Scan s2 looked at h1 and h2 and only found a: b is fixed; c was not looked at.
  clock_.advance(1h);
  Batch s2 = make_batch("ag", "c2", "s2", {a});
  s2.scan_complete = true;
  s2.scanned_subjects = {"h1.edu.cn", "h2.edu.cn"};
  ASSERT_TRUE(store.commit_batch(s2).ok);

  auto rows = all(store);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(find(rows, a.id)->state, FindingState::open);
  EXPECT_EQ(find(rows, b.id)->state, FindingState::resolved);
  EXPECT_EQ(find(rows, b.id)->resolved_at, kStart + 1h);
  EXPECT_EQ(find(rows, c.id)->state, FindingState::open);
  EXPECT_EQ(find(rows, other_agent.id)->state, FindingState::open);

  FindingQuery resolved;
  resolved.state = FindingState::resolved;
  ASSERT_EQ(all(store, resolved).size(), 1u);

  // b comes back in a later scan: open again, first_seen unchanged.
  clock_.advance(1h);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c3", "s3", {b})).ok);
  rows = all(store);
  const StoredFinding* back = find(rows, b.id);
  EXPECT_EQ(back->state, FindingState::open);
  EXPECT_FALSE(back->resolved_at.has_value());
  EXPECT_EQ(back->first_seen, kStart);
  EXPECT_EQ(back->last_seen, kStart + 2h);
}

TEST_F(SqliteStoreTest, ScanSpreadOverChunksResolvesOnlyWhatNoChunkReported) {
  SqliteStore store(path_, clock_);
  Finding a = make_finding("exposure.risky_service", "h1.edu.cn:6379");
  Finding b = make_finding("exposure.risky_service", "h2.edu.cn:3389");
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {a, b})).ok);

  clock_.advance(1h);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c2", "s2", {b})).ok);
  Batch last = make_batch("ag", "c3", "s2", {});
  last.scan_complete = true;
  last.scanned_subjects = {"h1.edu.cn:6379", "h2.edu.cn:3389"};
  ASSERT_TRUE(store.commit_batch(last).ok);

  auto rows = all(store);
  EXPECT_EQ(find(rows, a.id)->state, FindingState::resolved);
  EXPECT_EQ(find(rows, b.id)->state, FindingState::open);
}

TEST_F(SqliteStoreTest, PagesNewestFirstWithoutOverlap) {
  SqliteStore store(path_, clock_);
  for (int i = 0; i < 25; ++i) {
    Finding f = make_finding("asset.discovered", "h" + std::to_string(i) + ".edu.cn");
    ASSERT_TRUE(store.commit_batch(make_batch("ag", "c" + std::to_string(i), "s1", {f})).ok);
    clock_.advance(1s);
  }
  std::vector<std::string> seen;
  for (std::size_t offset : {0u, 10u, 20u, 30u}) {
    FindingQuery q;
    q.limit = 10;
    q.offset = offset;
    QueryResult r = store.query(q);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.findings.size(), offset < 20 ? 10u : offset == 20 ? 5u : 0u);
    for (const auto& row : r.findings) seen.push_back(row.finding.subject);
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], "h" + std::to_string(24 - i) + ".edu.cn");
}

TEST_F(SqliteStoreTest, ReopeningTheFileKeepsEverything) {
  Finding f = make_finding("net.rogue_ra", "fe80::1");
  {
    SqliteStore store(path_, clock_);
    ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {f})).ok);
  }
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;
  auto rows = all(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.id, f.id);
  EXPECT_EQ(rows[0].finding.title_zh, f.title_zh);
  // The chunk record survived too.
  Result again = store.commit_batch(make_batch("ag", "c1", "s1", {f}));
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.duplicate);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), kSqliteSchemaVersion);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, NonSqliteFileIsAnErrorValue) {
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7 + 3);
  {
    std::ofstream out(path_, std::ios::binary);
    out << "this is not a database\n" << garbage;
  }
  auto size_before = fs::file_size(path_);

  SqliteStore store(path_, clock_);
  EXPECT_FALSE(store.status().ok);
  EXPECT_FALSE(store.status().error.empty());
  Result r = store.commit_batch(make_batch("ag", "c1", "s1", {make_finding("k.k", "x")}));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(store.query({}).ok);
  EXPECT_EQ(fs::file_size(path_), size_before);  // left untouched
}

TEST_F(SqliteStoreTest, ShortTextFileIsAnErrorValue) {
  {
    std::ofstream out(path_);
    out << "hello\n";
  }
  SqliteStore store(path_, clock_);
  EXPECT_FALSE(store.status().ok);
}

TEST_F(SqliteStoreTest, DirectoryPathIsAnErrorValue) {
  SqliteStore store(dir_.string(), clock_);
  EXPECT_FALSE(store.status().ok);
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  SqliteStore store(path_, clock_);
  EXPECT_FALSE(store.status().ok);
  EXPECT_NE(store.status().error.find("99"), std::string::npos) << store.status().error;
}

TEST_F(SqliteStoreTest, InvalidBatchIsRolledBackWhole) {
  SqliteStore store(path_, clock_);
  Finding good = make_finding("dns.open_resolver", "192.0.2.53");
  Finding bad = make_finding("dns.open_resolver", "192.0.2.54");
  bad.id.clear();
  Result r = store.commit_batch(make_batch("ag", "c1", "s1", {good, bad}));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(all(store).empty());

  // The chunk was not recorded, so the agent's corrected resend is accepted.
  r = store.commit_batch(make_batch("ag", "c1", "s1", {good}));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(all(store).size(), 1u);

  EXPECT_FALSE(store.commit_batch(make_batch("", "c2", "s1", {good})).ok);
  EXPECT_FALSE(store.commit_batch(make_batch("ag", "", "s1", {good})).ok);
}

TEST_F(SqliteStoreTest, TenThousandFindingBatchCommits) {
  SqliteStore store(path_, clock_);
  std::vector<Finding> findings;
  findings.reserve(10'000);
  for (int i = 0; i < 10'000; ++i) {
    findings.push_back(
        make_finding("asset.discovered", "h" + std::to_string(i) + ".edu.cn", Severity::info));
  }
  Result r = store.commit_batch(make_batch("ag", "big", "s1", std::move(findings)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(all(store).size(), 10'000u);
  FindingQuery one;
  one.subject = "h9999.edu.cn";
  EXPECT_EQ(all(store, one).size(), 1u);
}

// The collector's writer: one transaction for many chunks, each judged on its own.
TEST_F(SqliteStoreTest, GroupCommitKeepsEachBatchAllOrNothing) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;
  ASSERT_TRUE(store.commit_batch(make_batch("a1", "old", "s0", {make_finding("k", "x")})).ok);

  Finding broken = make_finding("k", "y");
  broken.id.clear();  // refused by the store
  std::vector<Batch> group{
      make_batch("a1", "c1", "s1", {make_finding("k", "a"), make_finding("k", "b")}),
      make_batch("a1", "c2", "s1", {make_finding("k", "c"), broken}),
      make_batch("a1", "old", "s0", {make_finding("k", "x")}),  // sent again
      make_batch("a2", "c1", "s9", {make_finding("k", "d")})};  // same chunk id, other agent
  std::vector<Result> r = store.commit_batches(group);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(r[0].ok && !r[0].duplicate);
  EXPECT_FALSE(r[1].ok);
  EXPECT_NE(r[1].error.find("without id"), std::string::npos) << r[1].error;
  EXPECT_TRUE(r[2].ok && r[2].duplicate);
  EXPECT_TRUE(r[3].ok && !r[3].duplicate);

  auto rows = all(store);
  EXPECT_EQ(rows.size(), 4u);  // x, a, b, d; nothing of the broken batch, not even c
  EXPECT_EQ(find(rows, finding_id("k", "c")), nullptr);
  ScanList scans = store.list_scans({});
  ASSERT_TRUE(scans.ok) << scans.error;
  EXPECT_EQ(scans.total, 3u);
}

// A completed scan resolves what its job no longer reports, and nothing of other jobs.
TEST_F(SqliteStoreTest, CompletedScanResolvesOnlyItsOwnJob) {
  SqliteStore store(path_, clock_);
  auto batch = [](std::string chunk, std::string scan, std::string job, std::vector<Finding> f) {
    Batch b = make_batch("a1", std::move(chunk), std::move(scan), std::move(f));
    b.job = std::move(job);
    return b;
  };
  auto done = [&](std::string chunk, std::string scan, std::string job) {
    Batch b = batch(std::move(chunk), std::move(scan), std::move(job), {});
    b.scan_complete = true;
    return b;
  };
  ASSERT_TRUE(
      store
          .commit_batch(batch("1", "s1", "daily", {make_finding("k", "a"), make_finding("k", "b")}))
          .ok);
  ASSERT_TRUE(store.commit_batch(batch("2", "w1", "weekly", {make_finding("k", "w")})).ok);
  ASSERT_TRUE(store.commit_batch(done("3", "s1", "daily")).ok);
  clock_.advance(1h);
  ASSERT_TRUE(store.commit_batch(batch("4", "s2", "daily", {make_finding("k", "a")})).ok);
  ASSERT_TRUE(store.commit_batch(done("5", "s2", "daily")).ok);

  auto rows = all(store);
  EXPECT_EQ(find(rows, finding_id("k", "a"))->state, FindingState::open);
  EXPECT_EQ(find(rows, finding_id("k", "b"))->state, FindingState::resolved);
  EXPECT_EQ(find(rows, finding_id("k", "b"))->resolved_at, kStart + 1h);
  EXPECT_EQ(find(rows, finding_id("k", "w"))->state, FindingState::open);  // other job
  EXPECT_EQ(find(rows, finding_id("k", "a"))->job, "daily");
  ScanList scans = store.list_scans({});
  ASSERT_EQ(scans.scans.size(), 3u);
  EXPECT_EQ(scans.scans[0].scan, "s2");
  EXPECT_TRUE(scans.scans[0].complete);
  EXPECT_EQ(scans.scans[0].finding_count, 1u);
}

TEST_F(SqliteStoreTest, AgentsKeysRevocationAndHeartbeats) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.add_agent("campus-a", "key-a").ok);
  EXPECT_FALSE(store.add_agent("campus-a", "other").ok);
  EXPECT_FALSE(store.add_agent("", "k").ok);
  AgentLookup a = store.find_agent("campus-a");
  ASSERT_TRUE(a.ok && a.agent);
  EXPECT_EQ(a.agent->key, "key-a");
  EXPECT_FALSE(a.agent->revoked);
  EXPECT_FALSE(a.agent->last_heartbeat);
  AgentLookup none = store.find_agent("nobody");
  EXPECT_TRUE(none.ok);
  EXPECT_FALSE(none.agent);

  clock_.advance(5s);
  std::vector<Heartbeat> beats{
      {"campus-a", {{"version", "0.1.0"}, {"spool_chunks", 2}}, "[2001:db8::2]:4000"},
      {"unknown-agent", {}, "x"}};
  ASSERT_TRUE(store.record_heartbeats(beats).ok);
  a = store.find_agent("campus-a");
  EXPECT_EQ(a.agent->last_heartbeat, kStart + 5s);
  EXPECT_EQ(a.agent->status.at("spool_chunks").as_int64(), 2);
  EXPECT_EQ(a.agent->address, "[2001:db8::2]:4000");

  ASSERT_TRUE(store.revoke_agent("campus-a").ok);
  EXPECT_FALSE(store.revoke_agent("nobody").ok);
  EXPECT_TRUE(store.find_agent("campus-a").agent->revoked);
  AgentList list = store.list_agents();
  ASSERT_TRUE(list.ok);
  ASSERT_EQ(list.agents.size(), 1u);
}

TEST_F(SqliteStoreTest, TokensAreFoundByHashAndRevoked) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.add_token("soc", Role::viewer, "aa11").ok);
  ASSERT_TRUE(store.add_token("ops", Role::admin, "bb22").ok);
  EXPECT_FALSE(store.add_token("soc", Role::admin, "cc33").ok);
  TokenLookup t = store.find_token("bb22");
  ASSERT_TRUE(t.ok && t.token);
  EXPECT_EQ(t.token->name, "ops");
  EXPECT_EQ(t.token->role, Role::admin);
  EXPECT_FALSE(store.find_token("ffff").token);
  ASSERT_TRUE(store.revoke_token("soc").ok);
  EXPECT_TRUE(store.find_token("aa11").token->revoked);
  TokenList list = store.list_tokens();
  ASSERT_EQ(list.tokens.size(), 2u);
  EXPECT_EQ(list.tokens[0].name, "ops");
}

TEST_F(SqliteStoreTest, QueryByIdAndTotals) {
  SqliteStore store(path_, clock_);
  std::vector<Finding> many;
  for (int i = 0; i < 30; ++i) many.push_back(make_finding("k", "h" + std::to_string(i)));
  ASSERT_TRUE(store.commit_batch(make_batch("a1", "c", "s", many)).ok);
  FindingQuery q;
  q.limit = 10;
  q.count_total = true;
  QueryResult r = store.query(q);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.findings.size(), 10u);
  EXPECT_EQ(r.total, 30u);
  FindingQuery by_id;
  by_id.id = finding_id("k", "h7");
  r = store.query(by_id);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].finding.subject, "h7");
}

// ---- alerts ----

// A finding judged by a rule that alerts, as the collector's rules would leave it.
Finding alerting_finding(const std::string& rule, const std::string& subject) {
  Finding f = make_finding("tls.cert_expired", subject, Severity::high);
  f.policy.rules = {rule};
  f.policy.alerting = {rule};
  f.policy.tags = {"第16条"};
  return f;
}

rules::AlertIntent intent(const std::string& rule, const Finding& f,
                          std::chrono::seconds renotify = std::chrono::hours(1)) {
  rules::AlertIntent a;
  a.rule = rule;
  a.subject = f.subject;
  a.finding_id = f.id;
  a.severity = f.severity;
  a.title = {"Certificate expired", "证书已过期"};
  a.remediation = {"Renew it", "更换证书"};
  a.tags = {"第16条"};
  a.renotify = renotify;
  return a;
}

Batch alert_batch(const std::string& chunk, const std::string& scan, std::vector<Finding> findings,
                  bool complete) {
  Batch b = make_batch("agent-1", chunk, scan, findings);
  b.job = "nightly";
  b.scan_complete = complete;
  for (const auto& f : findings) {
    for (const auto& rule : f.policy.alerting) b.alerts.push_back(intent(rule, f));
  }
  return b;
}

std::vector<AlertRecord> alerts_of(SqliteStore& store, AlertQuery q = {}) {
  q.limit = 0;
  auto r = store.list_alerts(q);
  EXPECT_TRUE(r.ok) << r.error;
  return r.alerts;
}

TEST_F(SqliteStoreTest, AlertsFireRepeatAndResolveWithTheirFindings) {
  SqliteStore store(path_, clock_);
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  const Finding b = alerting_finding("tls-cert-expired", "b.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c1", "s1", {a, b}, true)).ok);
  auto rows = alerts_of(store);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.state, AlertState::firing);
    EXPECT_EQ(r.repeats, 1);
    EXPECT_EQ(r.title_zh, "证书已过期");
    EXPECT_EQ(r.tags, std::vector<std::string>{"第16条"});
    EXPECT_EQ(r.agent, "agent-1");
  }
  // The stored finding keeps its policy.
  const auto stored = all(store);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].finding.policy.alerting, std::vector<std::string>{"tls-cert-expired"});

  // The next scan finds only a: its alert counts a repeat, b's alert resolves.
  clock_.advance(1h);
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s2", {a}, true)).ok);
  AlertQuery qa;
  qa.subject = "a.edu.cn:443";
  auto ra = alerts_of(store, qa);
  ASSERT_EQ(ra.size(), 1u);
  EXPECT_EQ(ra[0].repeats, 2);
  EXPECT_EQ(ra[0].state, AlertState::firing);
  EXPECT_EQ(ra[0].last_fired, kStart + 1h);
  EXPECT_EQ(ra[0].first_fired, kStart);
  AlertQuery qb;
  qb.subject = "b.edu.cn:443";
  auto rb = alerts_of(store, qb);
  ASSERT_EQ(rb.size(), 1u);
  EXPECT_EQ(rb[0].state, AlertState::resolved);
  EXPECT_EQ(rb[0].resolved_at, kStart + 1h);

  // b comes back: a new alert; the resolved one stays as history.
  clock_.advance(1h);
  ASSERT_TRUE(store.commit_batch(alert_batch("c3", "s3", {a, b}, true)).ok);
  rb = alerts_of(store, qb);
  ASSERT_EQ(rb.size(), 2u);
  EXPECT_EQ(rb[0].state, AlertState::firing);
  EXPECT_EQ(rb[1].state, AlertState::resolved);
  AlertQuery active;
  active.active = true;
  EXPECT_EQ(alerts_of(store, active).size(), 2u);
}

TEST_F(SqliteStoreTest, AFindingThatStopsAlertingResolvesItsAlert) {
  SqliteStore store(path_, clock_);
  Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c1", "s1", {a}, true)).ok);
  // An exception now suppresses the rule: the finding is still open, but raises nothing.
  a.policy.alerting.clear();
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s2", {a}, true)).ok);
  const auto rows = alerts_of(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, AlertState::resolved);
  EXPECT_EQ(all(store)[0].state, FindingState::open);
}

TEST_F(SqliteStoreTest, AcknowledgedAlertsKeepCountingAndGetNoReminders) {
  SqliteStore store(path_, clock_);
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c1", "s1", {a}, false)).ok);
  const auto id = alerts_of(store)[0].id;

  // New: due as "firing" until handed out.
  auto due = store.due_notifications(10);
  ASSERT_TRUE(due.ok) << due.error;
  ASSERT_EQ(due.due.size(), 1u);
  EXPECT_EQ(due.due[0].event, AlertEvent::firing);
  const NotifiedMark fired[] = {{id, AlertEvent::firing}};
  ASSERT_TRUE(store.mark_notified(fired).ok);
  EXPECT_TRUE(store.due_notifications(10).due.empty());

  // The reminder interval (1 h) passes: due as a reminder.
  clock_.advance(1h);
  due = store.due_notifications(10);
  ASSERT_EQ(due.due.size(), 1u);
  EXPECT_EQ(due.due[0].event, AlertEvent::reminder);

  clock_.advance(1min);
  ASSERT_TRUE(store.acknowledge_alert(id, "security-center", "ticket 42").ok);
  auto rows = alerts_of(store);
  EXPECT_EQ(rows[0].state, AlertState::acknowledged);
  EXPECT_EQ(rows[0].acknowledged_by, "security-center");
  EXPECT_EQ(rows[0].ack_comment, "ticket 42");
  EXPECT_EQ(rows[0].acknowledged_at, kStart + 1h + 1min);
  EXPECT_TRUE(store.due_notifications(10).due.empty());  // acknowledged: no reminders

  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s1", {a}, false)).ok);
  rows = alerts_of(store);
  EXPECT_EQ(rows[0].repeats, 2);
  EXPECT_EQ(rows[0].state, AlertState::acknowledged);

  // Resolution of an announced alert is due once.
  ASSERT_TRUE(store.commit_batch(alert_batch("c3", "s2", {}, true)).ok);
  due = store.due_notifications(10);
  ASSERT_EQ(due.due.size(), 1u);
  EXPECT_EQ(due.due[0].event, AlertEvent::resolved);
  const NotifiedMark resolved[] = {{id, AlertEvent::resolved}};
  ASSERT_TRUE(store.mark_notified(resolved).ok);
  EXPECT_TRUE(store.due_notifications(10).due.empty());

  EXPECT_EQ(store.acknowledge_alert(id, "x", "").error, "alert is resolved");
  EXPECT_EQ(store.acknowledge_alert(id + 100, "x", "").error, "no such alert");
}

TEST_F(SqliteStoreTest, AnAlertResolvedBeforeItWasAnnouncedIsNotAnnounced) {
  SqliteStore store(path_, clock_);
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c1", "s1", {a}, true)).ok);
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s2", {}, true)).ok);
  EXPECT_EQ(alerts_of(store)[0].state, AlertState::resolved);
  EXPECT_TRUE(store.due_notifications(10).due.empty());
}

TEST_F(SqliteStoreTest, AlertFiltersAndTotals) {
  SqliteStore store(path_, clock_);
  std::vector<Finding> fs;
  for (int i = 0; i < 5; ++i)
    fs.push_back(alerting_finding("tls-cert-expired", "h" + std::to_string(i)));
  Finding low = alerting_finding("tls-weak-protocol", "h0");
  low.severity = Severity::low;
  fs.push_back(low);
  Batch b = alert_batch("c1", "s1", fs, false);
  b.alerts.back().rule = "tls-weak-protocol";
  ASSERT_TRUE(store.commit_batch(b).ok);
  AlertQuery q;
  q.rule = "tls-cert-expired";
  q.limit = 2;
  auto r = store.list_alerts(q);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.total, 5u);
  EXPECT_EQ(r.alerts.size(), 2u);
  AlertQuery high;
  high.min_severity = Severity::high;
  EXPECT_EQ(alerts_of(store, high).size(), 5u);
  AlertQuery by_subject;
  by_subject.subject = "h0";
  EXPECT_EQ(alerts_of(store, by_subject).size(), 2u);
  AlertQuery firing;
  firing.state = AlertState::firing;
  EXPECT_EQ(alerts_of(store, firing).size(), 6u);
}

TEST_F(SqliteStoreTest, VersionThreeDatabasesMigrateKeepingTheirFindings) {
  // A v3 file: the current schema minus the additions of v4 and later, with one finding.
  {
    SqliteStore store(path_, clock_);
    ASSERT_TRUE(store
                    .commit_batch(make_batch("agent-1", "c1", "s1",
                                             {make_finding("dns.open_resolver", "192.0.2.1")}))
                    .ok);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE enrollments; "
                         "DROP INDEX findings_by_campus; ALTER TABLE findings DROP COLUMN campus; "
                         "ALTER TABLE agents DROP COLUMN campus; "
                         "DROP TABLE posture_history; DROP INDEX findings_open_by_severity; "
                         "DROP TABLE alerts; ALTER TABLE findings DROP COLUMN policy; "
                         "ALTER TABLE findings DROP COLUMN alerting; PRAGMA user_version = 3",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;
  EXPECT_EQ(all(store).size(), 1u);
  EXPECT_TRUE(all(store)[0].finding.policy.empty());
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s2", {a}, false)).ok);
  EXPECT_EQ(alerts_of(store).size(), 1u);
}

TEST_F(SqliteStoreTest, CampusesAreKeptFilteredAndOnAgents) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;
  Finding own = make_finding("ipv6.no_aaaa", "www.demo-univ.edu.cn");
  Finding forwarded = make_finding("ipv6.no_aaaa", "www.other-univ.edu.cn");
  forwarded.campus = "示范大学";
  ASSERT_TRUE(store.commit_batch(make_batch("agent-1", "c1", "s1", {own})).ok);
  ASSERT_TRUE(store.commit_batch(make_batch("campus-a/agent-1", "c1", "s1", {forwarded})).ok);
  FindingQuery q;
  q.campus = "示范大学";
  const auto rows = all(store, q);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.campus, "示范大学");
  EXPECT_EQ(rows[0].finding.agent, "campus-a/agent-1");
  EXPECT_EQ(find(all(store), own.id)->finding.campus, "");

  ASSERT_TRUE(store.add_agent("campus-a", "k1", "示范大学").ok);
  ASSERT_TRUE(store.add_agent("agent-1", "k2").ok);
  EXPECT_EQ(store.find_agent("campus-a").agent->campus, "示范大学");
  EXPECT_EQ(store.find_agent("agent-1").agent->campus, "");
}

}  // namespace
}  // namespace edusight::collector

// ---- enrollment tokens ----

namespace edusight::collector {
namespace {

EnrollmentRecord enrollment(std::string name, std::string sha256, std::int64_t uses = 1,
                            std::string agent_id = {}) {
  EnrollmentRecord e;
  e.name = std::move(name);
  e.sha256 = std::move(sha256);
  e.comment = "lab 3";
  e.agent_id = std::move(agent_id);
  e.created_at = kStart;
  e.expires_at = kStart + 1h;
  e.max_uses = uses;
  return e;
}

TEST_F(SqliteStoreTest, EnrollmentTokenIsRedeemedOnceAndCreatesTheAgent) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.add_enrollment(enrollment("lab-3", "aa11")).ok);
  EXPECT_FALSE(store.add_enrollment(enrollment("lab-3", "bb22")).ok);  // name taken
  EXPECT_FALSE(store.add_enrollment(enrollment("other", "aa11")).ok);  // hash taken

  Redemption r = store.redeem_enrollment("aa11", "pc-1", "esk_one", kStart + 1min);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.outcome, RedeemOutcome::enrolled);
  EXPECT_EQ(r.enrollment, "lab-3");
  ASSERT_TRUE(r.agent);
  EXPECT_EQ(r.agent->id, "pc-1");
  const auto agent = store.find_agent("pc-1");
  ASSERT_TRUE(agent.agent);
  EXPECT_EQ(agent.agent->key, "esk_one");
  EXPECT_FALSE(agent.agent->revoked);

  // Used: refused, and nothing is created.
  r = store.redeem_enrollment("aa11", "pc-2", "esk_two", kStart + 2min);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.outcome, RedeemOutcome::used);
  EXPECT_FALSE(r.agent);
  EXPECT_FALSE(store.find_agent("pc-2").agent);

  const auto list = store.list_enrollments();
  ASSERT_TRUE(list.ok);
  ASSERT_EQ(list.enrollments.size(), 1u);
  const auto& e = list.enrollments[0];
  EXPECT_EQ(e.uses, 1);
  EXPECT_EQ(e.used_by, "pc-1");
  EXPECT_EQ(e.used_at, kStart + 1min);
  EXPECT_EQ(e.comment, "lab 3");
  EXPECT_EQ(e.expires_at, kStart + 1h);
}

TEST_F(SqliteStoreTest, EnrollmentRefusalsChangeNothing) {
  SqliteStore store(path_, clock_);
  ASSERT_TRUE(store.add_enrollment(enrollment("a", "h-a")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("b", "h-b")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("c", "h-c", 1, "lab-pc-7")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("d", "h-d", 3)).ok);
  ASSERT_TRUE(store.revoke_enrollment("b").ok);
  EXPECT_FALSE(store.revoke_enrollment("nobody").ok);
  ASSERT_TRUE(store.add_agent("taken", "k").ok);

  auto outcome = [&](const std::string& hash, const std::string& id, TimePoint at) {
    const Redemption r = store.redeem_enrollment(hash, id, "esk_x", at);
    EXPECT_TRUE(r.ok) << r.error;
    return r.outcome;
  };
  EXPECT_EQ(outcome("nope", "x", kStart), RedeemOutcome::unknown);
  EXPECT_EQ(outcome("h-b", "x", kStart), RedeemOutcome::revoked);
  EXPECT_EQ(outcome("h-a", "x", kStart + 1h), RedeemOutcome::expired);
  EXPECT_EQ(outcome("h-a", "taken", kStart), RedeemOutcome::agent_exists);
  EXPECT_EQ(outcome("h-a", "", kStart), RedeemOutcome::no_agent_id);
  EXPECT_EQ(outcome("h-c", "someone-else", kStart), RedeemOutcome::wrong_agent);
  for (const auto& e : store.list_enrollments().enrollments) EXPECT_EQ(e.uses, 0) << e.name;
  EXPECT_EQ(store.list_agents().agents.size(), 1u);

  // The token's own agent id, when the request names none.
  EXPECT_EQ(outcome("h-c", "", kStart), RedeemOutcome::enrolled);
  EXPECT_TRUE(store.find_agent("lab-pc-7").agent);
  // Three uses: three agents, then used.
  EXPECT_EQ(outcome("h-d", "m1", kStart), RedeemOutcome::enrolled);
  EXPECT_EQ(outcome("h-d", "m2", kStart), RedeemOutcome::enrolled);
  EXPECT_EQ(outcome("h-d", "m3", kStart), RedeemOutcome::enrolled);
  EXPECT_EQ(outcome("h-d", "m4", kStart), RedeemOutcome::used);
}

TEST_F(SqliteStoreTest, TwoConnectionsRedeemingOneTokenAtOnceEnrollOneAgent) {
  {
    SqliteStore setup(path_, clock_);
    ASSERT_TRUE(setup.add_enrollment(enrollment("once", "h-once")).ok);
  }
  SqliteStore one(path_, clock_);
  SqliteStore two(path_, clock_);
  Redemption a, b;
  std::thread ta([&] { a = one.redeem_enrollment("h-once", "agent-a", "esk_a", kStart); });
  std::thread tb([&] { b = two.redeem_enrollment("h-once", "agent-b", "esk_b", kStart); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok) << a.error;
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ((a.outcome == RedeemOutcome::enrolled) + (b.outcome == RedeemOutcome::enrolled), 1);
  EXPECT_EQ((a.outcome == RedeemOutcome::used) + (b.outcome == RedeemOutcome::used), 1);
  EXPECT_EQ(one.list_agents().agents.size(), 1u);
}

}  // namespace
}  // namespace edusight::collector
