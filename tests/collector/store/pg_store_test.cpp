#include "collector/store/pg_store.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

// PgStore against a real PostgreSQL 15 server that this executable starts once (initdb and
// pg_ctl in a temporary directory, as the postgres user when run as root: the server refuses
// root) and stops at exit, tests passing or not. Each test gets a database of its own.

namespace edusight::collector {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kStart = TimePoint(std::chrono::seconds(1'790'000'000));
const char* const kPgBin = "/usr/lib/postgresql/15/bin";

// ---- the server ----

int run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

class PgServer : public ::testing::Environment {
 public:
  void SetUp() override {
    const auto started = std::chrono::steady_clock::now();
    if (!fs::exists(fs::path(kPgBin) / "initdb")) {
      error_ = std::string("no PostgreSQL 15 server binaries in ") + kPgBin;
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "edusight-pg-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    // The server refuses to run as root: as root, run it as the postgres user.
    as_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (!as_.empty() && run("chown postgres: " + dir_.string()) != 0) {
      error_ = "cannot hand " + dir_.string() + " to the postgres user";
      return;
    }
    port_ = free_port();
    const std::string data = (dir_ / "data").string();
    if (run(as_ + kPgBin + "/initdb -D " + data +
            " -U edusight --auth=trust --no-locale -E UTF8 --no-sync >" +
            (dir_ / "initdb.log").string() + " 2>&1") != 0) {
      error_ = "initdb failed; see " + (dir_ / "initdb.log").string();
      return;
    }
    // fsync off: a test server holds nothing worth a crash guarantee.
    if (run(as_ + kPgBin + "/pg_ctl -D " + data + " -l " + (dir_ / "server.log").string() +
            " -w -t 60 -o \"-k " + dir_.string() + " -p " + std::to_string(port_) +
            " -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=50 -c autovacuum=off\" start >/dev/null") != 0) {
      error_ = "the server did not start; see " + (dir_ / "server.log").string();
      return;
    }
    running_ = true;
    startup_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::fprintf(stderr, "[pg] PostgreSQL up in %lld ms (socket %s, port %d)\n",
                 static_cast<long long>(startup_.count()), dir_.c_str(), port_);
  }

  void TearDown() override {
    if (running_) {
      run(as_ + kPgBin + "/pg_ctl -D " + (dir_ / "data").string() +
          " -m immediate -w stop >/dev/null 2>&1");
      running_ = false;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  const std::string& error() const { return error_; }
  // Over the Unix socket in the temporary directory.
  std::string conninfo(const std::string& db) const {
    return "host=" + dir_.string() + " port=" + std::to_string(port_) +
           " user=edusight dbname=" + db;
  }
  // Over TCP, as a URI.
  std::string uri(const std::string& db) const {
    return "postgresql://edusight@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new, empty database.
  std::string create_database() {
    const std::string name = "t" + std::to_string(++databases_);
    if (!sql("postgres", "CREATE DATABASE " + name)) return {};
    return name;
  }

  // Runs SQL on a database of the server; false (and a test failure) on an error.
  bool sql(const std::string& db, const std::string& statement,
           std::string* first_value = nullptr) {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    bool ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
      PGresult* r = PQexec(c, statement.c_str());
      const auto st = PQresultStatus(r);
      ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
      if (!ok) ADD_FAILURE() << statement << ": " << PQresultErrorMessage(r);
      if (ok && first_value && PQntuples(r) > 0) *first_value = PQgetvalue(r, 0, 0);
      PQclear(r);
    } else {
      ADD_FAILURE() << PQerrorMessage(c);
    }
    PQfinish(c);
    return ok;
  }

 private:
  fs::path dir_;
  std::string as_;
  int port_ = 0;
  bool running_ = false;
  std::string error_;
  int databases_ = 0;
  std::chrono::milliseconds startup_{};
};

PgServer* server = nullptr;

// ---- the data ----

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

std::vector<AlertRecord> alerts_of(Store& store, AlertQuery q = {}) {
  q.limit = 0;
  auto r = store.list_alerts(q);
  EXPECT_TRUE(r.ok) << r.error;
  return r.alerts;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server->error().empty()) GTEST_SKIP() << server->error();
    db_ = server->create_database();
    ASSERT_FALSE(db_.empty());
  }

  // The store under test, on this test's database; more calls, more "collectors".
  PgStore& open() {
    stores_.push_back(std::make_unique<PgStore>(server->conninfo(db_), clock_));
    PgStore& s = *stores_.back();
    EXPECT_TRUE(s.status().ok) << s.status().error;
    return s;
  }

  std::vector<StoredFinding> all(Store& store, FindingQuery q = {}) {
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

  std::string db_;
  ManualClock clock_{kStart};
  std::vector<std::unique_ptr<PgStore>> stores_;
};

// ---- the behaviour every store has (as sqlite_store_test.cpp) ----

TEST_F(PgStoreTest, CommitAndQueryRoundTrips) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, CampusesAreKeptFilteredAndOnAgents) {
  PgStore& store = open();
  ASSERT_TRUE(store.status().ok);
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

TEST_F(PgStoreTest, FiltersByKindSeveritySubjectStateAndTime) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, UpsertKeepsFirstSeenAndUpdatesTheRest) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, DuplicateChunkIsNotStoredTwice) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, CompletedScanResolvesUnreportedFindingsAndReportReopens) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, ScanSpreadOverChunksResolvesOnlyWhatNoChunkReported) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, PagesNewestFirstWithoutOverlap) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, InvalidBatchIsRolledBackWhole) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, TenThousandFindingBatchCommits) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, GroupCommitKeepsEachBatchAllOrNothing) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, CompletedScanResolvesOnlyItsOwnJob) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, AgentsKeysRevocationAndHeartbeats) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, TokensAreFoundByHashAndRevoked) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, QueryByIdAndTotals) {
  PgStore& store = open();
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

// One batch reporting a subject three times: as if applied in turn, three repeats and the
// last report's finding; an open alert counts them on top.
TEST_F(PgStoreTest, RepeatsWithinOneBatchCountEach) {
  PgStore& store = open();
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  Batch first = alert_batch("c1", "s1", {a, a, a}, false);
  first.alerts.back().finding_id = "last-of-three";
  ASSERT_TRUE(store.commit_batch(first).ok);
  auto rows = alerts_of(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].repeats, 3);
  EXPECT_EQ(rows[0].finding_id, "last-of-three");
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s1", {a, a}, false)).ok);
  rows = alerts_of(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].repeats, 5);
}

TEST_F(PgStoreTest, AlertsFireRepeatAndResolveWithTheirFindings) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, AFindingThatStopsAlertingResolvesItsAlert) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, AcknowledgedAlertsKeepCountingAndGetNoReminders) {
  PgStore& store = open();
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

TEST_F(PgStoreTest, AnAlertResolvedBeforeItWasAnnouncedIsNotAnnounced) {
  PgStore& store = open();
  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(store.commit_batch(alert_batch("c1", "s1", {a}, true)).ok);
  ASSERT_TRUE(store.commit_batch(alert_batch("c2", "s2", {}, true)).ok);
  EXPECT_EQ(alerts_of(store)[0].state, AlertState::resolved);
  EXPECT_TRUE(store.due_notifications(10).due.empty());
}

TEST_F(PgStoreTest, AlertFiltersAndTotals) {
  PgStore& store = open();
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

// ---- PostgreSQL's own ----

TEST_F(PgStoreTest, ReconnectingOverTcpKeepsEverythingAndTheSchemaVersion) {
  Finding f = make_finding("net.rogue_ra", "fe80::1");
  {
    PgStore store(server->conninfo(db_), clock_);
    ASSERT_TRUE(store.status().ok) << store.status().error;
    ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {f})).ok);
  }
  PgStore store(server->uri(db_), clock_);
  ASSERT_TRUE(store.status().ok) << store.status().error;
  auto rows = all(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.title_zh, f.title_zh);
  Result again = store.commit_batch(make_batch("ag", "c1", "s1", {f}));
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.duplicate);
  std::string version, steps;
  ASSERT_TRUE(server->sql(db_, "SELECT max(version) FROM schema_migrations", &version));
  EXPECT_EQ(version, std::to_string(kPgSchemaVersion));
  ASSERT_TRUE(server->sql(db_, "SELECT count(*) FROM schema_migrations", &steps));
  EXPECT_EQ(steps, std::to_string(kPgSchemaVersion));
}

TEST_F(PgStoreTest, NewerSchemaVersionIsRefused) {
  open();
  ASSERT_TRUE(server->sql(db_, "INSERT INTO schema_migrations (version) VALUES (99)"));
  PgStore store(server->conninfo(db_), clock_);
  EXPECT_FALSE(store.status().ok);
  EXPECT_NE(store.status().error.find("99"), std::string::npos) << store.status().error;
  EXPECT_FALSE(store.commit_batch(make_batch("ag", "c1", "s1", {make_finding("k", "x")})).ok);
}

TEST_F(PgStoreTest, UnreachableServerIsAnErrorValue) {
  PgStore store("host=/nonexistent-edusight port=1 dbname=x connect_timeout=2", clock_);
  EXPECT_FALSE(store.status().ok);
  EXPECT_NE(store.status().error.find("connect"), std::string::npos) << store.status().error;
  EXPECT_FALSE(store.commit_batch(make_batch("ag", "c1", "s1", {make_finding("k", "x")})).ok);
  EXPECT_FALSE(store.query({}).ok);
  EXPECT_FALSE(store.list_agents().ok);
  EXPECT_EQ(store.data_version(), -1);
}

// COPY's text format escapes; the subject list is an array literal with its own quoting.
TEST_F(PgStoreTest, AwkwardTextSurvivesCopyAndSubjectLists) {
  PgStore& store = open();
  Finding f = make_finding("web.odd", "a\"b\\c,{d} e", Severity::low);
  f.title = "tab\there\nnewline\rreturn \\N backslash";
  f.evidence["raw"] = "\\x00 \t \" 引号";
  Finding g = make_finding("web.odd", "plain", Severity::low);
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {f, g})).ok);
  FindingQuery by_id;
  by_id.id = f.id;
  auto rows = all(store, by_id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.subject, f.subject);
  EXPECT_EQ(rows[0].finding.title, f.title);
  EXPECT_EQ(rows[0].finding.evidence, f.evidence);

  clock_.advance(1h);
  Batch done = make_batch("ag", "c2", "s2", {});
  done.scan_complete = true;
  done.scanned_subjects = {f.subject};
  ASSERT_TRUE(store.commit_batch(done).ok);
  rows = all(store);
  EXPECT_EQ(find(rows, f.id)->state, FindingState::resolved);
  EXPECT_EQ(find(rows, g.id)->state, FindingState::open);  // not listed
}

TEST_F(PgStoreTest, SameFindingTwiceInOneBatchKeepsTheLast) {
  PgStore& store = open();
  Finding f = make_finding("k", "x", Severity::low);
  Finding again = f;
  again.severity = Severity::critical;
  ASSERT_TRUE(store.commit_batch(make_batch("ag", "c1", "s1", {f, again})).ok);
  auto rows = all(store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].finding.severity, Severity::critical);
  ScanList scans = store.list_scans({});
  ASSERT_EQ(scans.scans.size(), 1u);
  EXPECT_EQ(scans.scans[0].finding_count, 2u);  // as reported, like SQLite
}

TEST_F(PgStoreTest, PostureHistoryAndCounts) {
  PgStore& store = open();
  for (int day = 1; day <= 4; ++day) {
    PostureDay d{"2026-09-0" + std::to_string(day), {{"open", day}}};
    ASSERT_TRUE(store.record_posture(d).ok);
  }
  ASSERT_TRUE(store.record_posture({"2026-09-04", {{"open", 40}}}).ok);  // the day's last wins
  PostureHistory h = store.posture_history(3);
  ASSERT_TRUE(h.ok) << h.error;
  ASSERT_EQ(h.days.size(), 3u);
  EXPECT_EQ(h.days[0].date, "2026-09-02");
  EXPECT_EQ(h.days[2].date, "2026-09-04");
  EXPECT_EQ(h.days[2].figures.at("open").as_int64(), 40);

  const Finding a = alerting_finding("tls-cert-expired", "a.edu.cn:443");
  ASSERT_TRUE(
      store.commit_batch(alert_batch("c1", "s1", {a, make_finding("k", "y", Severity::low)}, false))
          .ok);
  SeverityCounts open = store.open_findings_by_severity();
  ASSERT_TRUE(open.ok) << open.error;
  EXPECT_EQ(open.by_severity[static_cast<std::size_t>(Severity::high)], 1u);
  EXPECT_EQ(open.by_severity[static_cast<std::size_t>(Severity::low)], 1u);
  SeverityCounts alerts = store.active_alerts_by_severity();
  ASSERT_TRUE(alerts.ok) << alerts.error;
  EXPECT_EQ(alerts.by_severity[static_cast<std::size_t>(Severity::high)], 1u);
}

// data_version sees commits by any collector, and stays put without them.
TEST_F(PgStoreTest, DataVersionMovesWithCommitsFromAnyCollector) {
  PgStore& reader = open();
  PgStore& writer = open();
  const auto v1 = reader.data_version();
  ASSERT_NE(v1, -1);
  EXPECT_EQ(reader.data_version(), v1);
  ASSERT_TRUE(writer.commit_batch(make_batch("ag", "c1", "s1", {make_finding("k", "x")})).ok);
  const auto v2 = reader.data_version();
  EXPECT_NE(v2, v1);
  EXPECT_EQ(reader.data_version(), v2);
  ASSERT_TRUE(writer.add_agent("campus-a", "key").ok);
  const auto v3 = reader.data_version();
  EXPECT_NE(v3, v2);
  // Recording the day's figures is not a change to rebuild a snapshot for.
  ASSERT_TRUE(reader.record_posture({"2026-09-04", {{"open", 1}}}).ok);
  ASSERT_TRUE(writer.record_posture({"2026-09-05", {{"open", 2}}}).ok);
  EXPECT_EQ(reader.data_version(), v3);
  ASSERT_TRUE(writer.acknowledge_alert(1, "x", "").ok == false);  // no alert: no change
  EXPECT_EQ(reader.data_version(), v3);
}

// Two collectors on one database, starting at once on an empty one: one migrates, the other
// waits on the advisory lock and finds the schema done.
TEST_F(PgStoreTest, TwoCollectorsMigrateAnEmptyDatabaseAtOnce) {
  for (int round = 0; round < 3; ++round) {
    const std::string db = server->create_database();
    ASSERT_FALSE(db.empty());
    std::unique_ptr<PgStore> a, b;
    std::atomic<int> ready{0};
    auto start = [&](std::unique_ptr<PgStore>& out) {
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      out = std::make_unique<PgStore>(server->conninfo(db), clock_);
    };
    std::thread ta(start, std::ref(a));
    std::thread tb(start, std::ref(b));
    ta.join();
    tb.join();
    ASSERT_TRUE(a->status().ok) << a->status().error;
    ASSERT_TRUE(b->status().ok) << b->status().error;
    std::string steps;
    ASSERT_TRUE(server->sql(db, "SELECT count(*) FROM schema_migrations", &steps));
    EXPECT_EQ(steps, std::to_string(kPgSchemaVersion));
    ASSERT_TRUE(a->commit_batch(make_batch("ag", "c1", "s1", {make_finding("k", "x")})).ok);
    EXPECT_EQ(all(*b).size(), 1u);
  }
}

// Two collectors committing groups at once from two threads: every chunk is stored exactly
// once (a chunk both receive, as after an agent's reconnect, is a duplicate on one of them),
// findings both report are one row, and both collectors answer alike.
TEST_F(PgStoreTest, TwoCollectorsCommittingConcurrentlyStoreTheUnionOnce) {
  PgStore& one = open();
  PgStore& two = open();
  constexpr int kGroups = 40, kPerGroup = 4, kPerBatch = 25;
  auto chunk_of = [](int agent, int g, int b) {
    return make_batch("agent-" + std::to_string(agent),
                      "chunk-" + std::to_string(g) + "-" + std::to_string(b), "scan-1", {});
  };
  auto fill = [&](Batch batch, int agent, int g, int b) {
    for (int i = 0; i < kPerBatch; ++i) {
      const int n = (g * kPerGroup + b) * kPerBatch + i;
      // Every third finding is on a subject both agents report (one row, shared).
      const std::string subject = n % 3 == 0
                                      ? "shared-" + std::to_string(n)
                                      : "a" + std::to_string(agent) + "-" + std::to_string(n);
      batch.findings.push_back(make_finding("asset.discovered", subject, Severity::info));
    }
    Finding alerting = alerting_finding("tls-cert-expired", "shared-alert-" + std::to_string(g));
    batch.findings.push_back(alerting);
    batch.alerts.push_back(intent("tls-cert-expired", alerting));
    return batch;
  };
  // Collector t gets agent t's chunks, and also every group of the other agent whose number
  // is a multiple of 4 (resent to it while the first was committing).
  std::map<std::string, int> stored;  // chunk -> non-duplicate commits
  std::mutex m;
  std::atomic<int> failures{0};
  auto collector = [&](PgStore& store, int agent) {
    for (int g = 0; g < kGroups; ++g) {
      std::vector<Batch> group;
      for (int b = 0; b < kPerGroup; ++b) group.push_back(fill(chunk_of(agent, g, b), agent, g, b));
      if (g % 4 == 0) {
        for (int b = 0; b < kPerGroup; ++b)
          group.push_back(fill(chunk_of(1 - agent, g, b), 1 - agent, g, b));
      }
      const auto results = store.commit_batches(group);
      std::lock_guard lock(m);
      for (std::size_t i = 0; i < results.size(); ++i) {
        if (!results[i].ok) {
          ++failures;
          ADD_FAILURE() << results[i].error;
        } else if (!results[i].duplicate) {
          ++stored[group[i].agent + "/" + group[i].chunk_id];
        }
      }
    }
  };
  std::thread t1(collector, std::ref(one), 0);
  std::thread t2(collector, std::ref(two), 1);
  t1.join();
  t2.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(stored.size(), static_cast<std::size_t>(2 * kGroups * kPerGroup));
  for (const auto& [chunk, n] : stored) EXPECT_EQ(n, 1) << chunk;

  // The union: each agent's own subjects, the shared ones once, one alerting finding a group.
  std::set<std::string> expected;
  for (int agent = 0; agent < 2; ++agent) {
    for (int g = 0; g < kGroups; ++g) {
      for (int b = 0; b < kPerGroup; ++b) {
        for (const Finding& f : fill(chunk_of(agent, g, b), agent, g, b).findings) {
          expected.insert(f.id);
        }
      }
    }
  }
  const auto rows_one = all(one);
  const auto rows_two = all(two);
  std::set<std::string> got;
  for (const auto& r : rows_one) got.insert(r.finding.id);
  EXPECT_EQ(rows_one.size(), got.size());  // no id twice
  EXPECT_EQ(got, expected);
  ASSERT_EQ(rows_one.size(), rows_two.size());
  for (std::size_t i = 0; i < rows_one.size(); ++i) {
    EXPECT_EQ(rows_one[i].finding.id, rows_two[i].finding.id);
    EXPECT_EQ(rows_one[i].last_seen, rows_two[i].last_seen);
    EXPECT_EQ(rows_one[i].finding.agent, rows_two[i].finding.agent);
  }
  // One alert per shared subject, its repeats the times it was reported.
  const auto alerts_one = alerts_of(one);
  ASSERT_EQ(alerts_one.size(), static_cast<std::size_t>(kGroups));
  for (const auto& a : alerts_one) EXPECT_EQ(a.repeats, 2 * kPerGroup) << a.subject;
  const auto alerts_two = alerts_of(two);
  ASSERT_EQ(alerts_two.size(), alerts_one.size());
  ScanList s1 = one.list_scans({}), s2 = two.list_scans({});
  ASSERT_TRUE(s1.ok && s2.ok);
  ASSERT_EQ(s1.scans.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(s1.scans[i].finding_count, s2.scans[i].finding_count);
    EXPECT_EQ(s1.scans[i].finding_count,
              static_cast<std::size_t>(kGroups * kPerGroup * (kPerBatch + 1)));
  }
  std::fprintf(stderr, "[pg] transactions retried: %lld + %lld\n",
               static_cast<long long>(one.retries()), static_cast<long long>(two.retries()));
}

// ---- enrollment tokens ----

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

TEST_F(PgStoreTest, EnrollmentTokenIsRedeemedOnceAndRefusalsChangeNothing) {
  PgStore& store = open();
  ASSERT_TRUE(store.add_enrollment(enrollment("lab-3", "aa11")).ok);
  EXPECT_FALSE(store.add_enrollment(enrollment("lab-3", "bb22")).ok);
  EXPECT_FALSE(store.add_enrollment(enrollment("other", "aa11")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("b", "h-b")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("c", "h-c", 1, "lab-pc-7")).ok);
  ASSERT_TRUE(store.add_enrollment(enrollment("d", "h-d", 2)).ok);
  ASSERT_TRUE(store.revoke_enrollment("b").ok);
  EXPECT_FALSE(store.revoke_enrollment("nobody").ok);
  ASSERT_TRUE(store.add_agent("taken", "k").ok);

  auto outcome = [&](const std::string& hash, const std::string& id, TimePoint at) {
    const Redemption r = store.redeem_enrollment(hash, id, "esk_" + id, at);
    EXPECT_TRUE(r.ok) << r.error;
    return r.outcome;
  };
  EXPECT_EQ(outcome("nope", "x", kStart), RedeemOutcome::unknown);
  EXPECT_EQ(outcome("h-b", "x", kStart), RedeemOutcome::revoked);
  EXPECT_EQ(outcome("aa11", "x", kStart + 1h), RedeemOutcome::expired);
  EXPECT_EQ(outcome("aa11", "taken", kStart), RedeemOutcome::agent_exists);
  EXPECT_EQ(outcome("aa11", "", kStart), RedeemOutcome::no_agent_id);
  EXPECT_EQ(outcome("h-c", "someone-else", kStart), RedeemOutcome::wrong_agent);
  for (const auto& e : store.list_enrollments().enrollments) EXPECT_EQ(e.uses, 0) << e.name;
  EXPECT_EQ(store.list_agents().agents.size(), 1u);

  const Redemption r = store.redeem_enrollment("aa11", "pc-1", "esk_one", kStart + 1min);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.outcome, RedeemOutcome::enrolled);
  EXPECT_EQ(r.enrollment, "lab-3");
  ASSERT_TRUE(r.agent);
  EXPECT_EQ(store.find_agent("pc-1").agent->key, "esk_one");
  EXPECT_EQ(outcome("aa11", "pc-2", kStart + 2min), RedeemOutcome::used);
  EXPECT_FALSE(store.find_agent("pc-2").agent);
  EXPECT_EQ(outcome("h-c", "", kStart), RedeemOutcome::enrolled);
  EXPECT_TRUE(store.find_agent("lab-pc-7").agent);
  EXPECT_EQ(outcome("h-d", "m1", kStart), RedeemOutcome::enrolled);
  EXPECT_EQ(outcome("h-d", "m2", kStart), RedeemOutcome::enrolled);
  EXPECT_EQ(outcome("h-d", "m3", kStart), RedeemOutcome::used);

  const auto list = store.list_enrollments();
  ASSERT_TRUE(list.ok) << list.error;
  ASSERT_EQ(list.enrollments.size(), 4u);
  const auto& e = list.enrollments[3];  // "lab-3", by name in byte order
  EXPECT_EQ(e.name, "lab-3");
  EXPECT_EQ(e.uses, 1);
  EXPECT_EQ(e.used_by, "pc-1");
  EXPECT_EQ(e.used_at, kStart + 1min);
  EXPECT_EQ(e.comment, "lab 3");
  EXPECT_TRUE(list.enrollments[0].revoked);  // "b"
}

// Two collectors, two connections, one single-use token, at the same moment: SELECT ... FOR
// UPDATE makes the second wait and then see the use, so exactly one agent is enrolled.
TEST_F(PgStoreTest, TwoCollectorsRedeemingOneTokenAtOnceEnrollOneAgent) {
  PgStore& one = open();
  PgStore& two = open();
  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i) {
    const std::string hash = "h-" + std::to_string(i);
    ASSERT_TRUE(one.add_enrollment(enrollment("once-" + std::to_string(i), hash)).ok);
  }
  std::atomic<int> ready{0};
  std::vector<Redemption> a(kRounds), b(kRounds);
  auto redeem = [&](PgStore& store, std::vector<Redemption>& out, const char* who) {
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();
    for (int i = 0; i < kRounds; ++i) {
      const std::string id = std::string(who) + "-" + std::to_string(i);
      out[i] = store.redeem_enrollment("h-" + std::to_string(i), id, "esk_" + id, kStart);
    }
  };
  std::thread ta(redeem, std::ref(one), std::ref(a), "a");
  std::thread tb(redeem, std::ref(two), std::ref(b), "b");
  ta.join();
  tb.join();
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(a[i].ok) << a[i].error;
    ASSERT_TRUE(b[i].ok) << b[i].error;
    EXPECT_EQ((a[i].outcome == RedeemOutcome::enrolled) + (b[i].outcome == RedeemOutcome::enrolled),
              1)
        << i;
    EXPECT_EQ((a[i].outcome == RedeemOutcome::used) + (b[i].outcome == RedeemOutcome::used), 1)
        << i;
  }
  EXPECT_EQ(one.list_agents().agents.size(), static_cast<std::size_t>(kRounds));
  for (const auto& e : two.list_enrollments().enrollments) EXPECT_EQ(e.uses, 1) << e.name;
}

const auto* const kServer = ::testing::AddGlobalTestEnvironment(server = new PgServer);

}  // namespace
}  // namespace edusight::collector
