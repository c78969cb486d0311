#pragma once
// An in-memory Store for unit tests: findings are placed directly, filters behave as the
// interface documents, and `fail` turns every call into a storage error.
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "collector/store/redeem.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::api::testing {

class FakeStore final : public Store {
 public:
  explicit FakeStore(const Clock& clock) : clock_(clock) {}

  bool fail = false;
  std::vector<StoredFinding> findings;
  std::map<std::string, AgentRecord> agents;
  std::vector<TokenRecord> tokens;
  std::map<std::string, EnrollmentRecord> enrollments;  // by name
  std::vector<ScanRecord> scans;
  std::vector<AlertRecord> alerts;
  int calls = 0;

  Result commit_batch(const Batch&) override { return Result::failure("not in the fake"); }

  QueryResult query(const FindingQuery& q) override {
    ++calls;
    if (during_query) during_query();
    QueryResult r;
    if (fail) return failed(r);
    std::vector<StoredFinding> rows;
    for (const auto& f : findings) {
      if (q.id && f.finding.id != *q.id) continue;
      if (q.kind && f.finding.kind != *q.kind) continue;
      if (q.campus && f.finding.campus != *q.campus) continue;
      if (q.min_severity && f.finding.severity < *q.min_severity) continue;
      if (q.subject && f.finding.subject != *q.subject) continue;
      if (q.state && f.state != *q.state) continue;
      if (q.seen_since && f.last_seen < *q.seen_since) continue;
      if (q.seen_before && f.last_seen >= *q.seen_before) continue;
      rows.push_back(f);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.last_seen > b.last_seen; });
    if (q.count_total) r.total = rows.size();
    const auto begin = std::min(q.offset, rows.size());
    const auto end = q.limit == 0 ? rows.size() : std::min(rows.size(), begin + q.limit);
    r.findings.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                      rows.begin() + static_cast<std::ptrdiff_t>(end));
    r.ok = true;
    return r;
  }

  Result add_agent(const std::string& id, const std::string& key,
                   const std::string& campus = {}) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    if (agents.count(id)) return Result::failure("agent exists: " + id);
    AgentRecord a;
    a.id = id;
    a.key = key;
    a.campus = campus;
    a.created_at = clock_.now();
    agents[id] = a;
    return Result::success();
  }
  Result revoke_agent(const std::string& id) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    auto it = agents.find(id);
    if (it == agents.end()) return Result::failure("no such agent: " + id);
    it->second.revoked = true;
    return Result::success();
  }
  AgentLookup find_agent(const std::string& id) override {
    ++calls;
    AgentLookup r;
    if (fail) return failed(r);
    r.ok = true;
    if (auto it = agents.find(id); it != agents.end()) r.agent = it->second;
    return r;
  }
  AgentList list_agents() override {
    ++calls;
    AgentList r;
    if (fail) return failed(r);
    r.ok = true;
    for (const auto& [id, a] : agents) r.agents.push_back(a);
    return r;
  }
  Result record_heartbeats(std::span<const Heartbeat> heartbeats) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    for (const auto& h : heartbeats) {
      auto it = agents.find(h.agent);
      if (it == agents.end()) continue;
      it->second.last_heartbeat = clock_.now();
      it->second.status = h.status;
      it->second.address = h.address;
    }
    return Result::success();
  }

  Result add_token(const std::string& name, Role role, const std::string& sha256) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    for (const auto& t : tokens) {
      if (t.name == name) return Result::failure("token exists: " + name);
    }
    tokens.push_back(TokenRecord{name, role, sha256, clock_.now(), false});
    return Result::success();
  }
  Result revoke_token(const std::string& name) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    for (auto& t : tokens) {
      if (t.name == name) {
        t.revoked = true;
        return Result::success();
      }
    }
    return Result::failure("no such token: " + name);
  }
  TokenLookup find_token(const std::string& sha256) override {
    ++calls;
    TokenLookup r;
    if (fail) return failed(r);
    r.ok = true;
    for (const auto& t : tokens) {
      if (t.sha256 == sha256) r.token = t;
    }
    return r;
  }
  TokenList list_tokens() override {
    ++calls;
    TokenList r;
    if (fail) return failed(r);
    r.ok = true;
    r.tokens = tokens;
    return r;
  }

  Result add_enrollment(const EnrollmentRecord& e) override {
    ++calls;
    if (fail) return Result::failure("store down");
    for (const auto& [name, x] : enrollments) {
      if (name == e.name || x.sha256 == e.sha256) {
        return Result::failure("enrollment token exists: " + e.name);
      }
    }
    enrollments[e.name] = e;
    return Result::success();
  }
  Result revoke_enrollment(const std::string& name) override {
    ++calls;
    if (fail) return Result::failure("store down");
    auto it = enrollments.find(name);
    if (it == enrollments.end()) return Result::failure("no such enrollment token: " + name);
    it->second.revoked = true;
    return Result::success();
  }
  EnrollmentList list_enrollments() override {
    ++calls;
    EnrollmentList r;
    if (fail) return failed(r);
    r.ok = true;
    for (const auto& [name, e] : enrollments) r.enrollments.push_back(e);
    return r;
  }
  Redemption redeem_enrollment(const std::string& sha256, const std::string& agent_id,
                               const std::string& key, TimePoint now) override {
    ++calls;
    Redemption r;
    if (fail) return failed(r);
    r.ok = true;
    for (auto& [name, e] : enrollments) {
      if (e.sha256 != sha256) continue;
      r.enrollment = name;
      std::string id;
      r.outcome = judge_redemption(e, agent_id, now, id);
      if (r.outcome != RedeemOutcome::enrolled) return r;
      if (agents.count(id)) {
        r.outcome = RedeemOutcome::agent_exists;
        return r;
      }
      AgentRecord a;
      a.id = id;
      a.key = key;
      a.created_at = now;
      agents[id] = a;
      ++e.uses;
      e.used_at = now;
      e.used_by = id;
      r.agent = a;
      return r;
    }
    r.outcome = RedeemOutcome::unknown;
    return r;
  }

  ScanList list_scans(const ScanQuery& q) override {
    ++calls;
    ScanList r;
    if (fail) return failed(r);
    std::vector<ScanRecord> rows;
    for (const auto& s : scans) {
      if (!q.agent || s.agent == *q.agent) rows.push_back(s);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return a.last_chunk_at > b.last_chunk_at;
    });
    r.total = rows.size();
    const auto begin = std::min(q.offset, rows.size());
    const auto end = q.limit == 0 ? rows.size() : std::min(rows.size(), begin + q.limit);
    r.scans.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                   rows.begin() + static_cast<std::ptrdiff_t>(end));
    r.ok = true;
    return r;
  }

  AlertList list_alerts(const AlertQuery& q) override {
    ++calls;
    AlertList r;
    if (fail) return failed(r);
    std::vector<AlertRecord> rows;
    for (const auto& a : alerts) {
      if (q.id && a.id != *q.id) continue;
      if (q.state && a.state != *q.state) continue;
      if (q.active && a.state == AlertState::resolved) continue;
      if (q.rule && a.rule != *q.rule) continue;
      if (q.subject && a.subject != *q.subject) continue;
      if (q.min_severity && a.severity < *q.min_severity) continue;
      rows.push_back(a);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.last_fired > b.last_fired; });
    r.total = rows.size();
    const auto begin = std::min(q.offset, rows.size());
    const auto end = q.limit == 0 ? rows.size() : std::min(rows.size(), begin + q.limit);
    r.alerts.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                    rows.begin() + static_cast<std::ptrdiff_t>(end));
    r.ok = true;
    return r;
  }

  Result acknowledge_alert(std::int64_t id, const std::string& by,
                           const std::string& comment) override {
    ++calls;
    if (fail) return Result::failure("fake failure");
    for (auto& a : alerts) {
      if (a.id != id) continue;
      if (a.state == AlertState::resolved) return Result::failure("alert is resolved");
      a.state = AlertState::acknowledged;
      a.acknowledged_by = by;
      a.ack_comment = comment;
      a.acknowledged_at = clock_.now();
      return Result::success();
    }
    return Result::failure("no such alert");
  }

  DueList due_notifications(std::size_t) override { return DueList{true, {}, {}}; }

  std::vector<PostureDay> history;
  SeverityCounts open_findings_by_severity() override {
    SeverityCounts c;
    c.ok = !fail;
    for (const auto& f : findings) {
      if (f.state == FindingState::open)
        ++c.by_severity[static_cast<std::size_t>(f.finding.severity)];
    }
    return c;
  }
  SeverityCounts active_alerts_by_severity() override {
    SeverityCounts c;
    c.ok = !fail;
    for (const auto& a : alerts) {
      if (a.state != AlertState::resolved) ++c.by_severity[static_cast<std::size_t>(a.severity)];
    }
    return c;
  }
  Result record_posture(const PostureDay& day) override {
    for (auto& d : history) {
      if (d.date == day.date) {
        d = day;
        return Result::success();
      }
    }
    history.push_back(day);
    return Result::success();
  }
  PostureHistory posture_history(std::size_t days) override {
    PostureHistory h;
    h.ok = true;
    h.days = history;
    if (h.days.size() > days)
      h.days.erase(h.days.begin(), h.days.end() - static_cast<std::ptrdiff_t>(days));
    return h;
  }
  std::int64_t data_version() override { return version; }
  std::int64_t version = 0;
  // Runs inside query(): stands for another connection committing meanwhile.
  std::function<void()> during_query;
  Result mark_notified(std::span<const NotifiedMark>) override { return Result::success(); }

 private:
  template <typename R>
  R& failed(R& r) {
    r.ok = false;
    r.error = "fake failure";
    return r;
  }
  const Clock& clock_;
};

}  // namespace edusight::collector::api::testing
