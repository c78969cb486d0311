#include "collector/api/router.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>

#include "fake_store.hpp"
#include "test_findings.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using testing::FakeStore;
using testing::kBase;
using testing::stored;

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.add_token("alice", Role::viewer, sha256_hex("es_viewer"));
    store_.add_token("root", Role::admin, sha256_hex("es_admin"));
    store_.add_token("gone", Role::admin, sha256_hex("es_gone"));
    store_.revoke_token("gone");
  }

  Routed call(http::verb method, std::string target, std::string token = "es_admin",
              std::string body = {}) {
    Request req{method, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
    }
    return router_.handle(req);
  }
  static boost::json::value json(const Routed& r) { return boost::json::parse(r.response.body()); }

  ManualClock clock_{kBase};
  FakeStore store_{clock_};
  SeededRandom random_{42};
  std::vector<std::string> revoked_;
  Router router_{store_, clock_, random_, options()};

  RouterOptions options() {
    RouterOptions o;
    o.agent_online_window = 90s;
    o.token_cache_ttl = 0ms;
    o.on_agent_revoked = [this](const std::string& id) { revoked_.push_back(id); };
    return o;
  }
};

TEST_F(RouterTest, HealthzAnswersWithoutTokenAndReportsStoreTrouble) {
  auto r = call(http::verb::get, "/healthz", "");
  EXPECT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(json(r).at("status"), "ok");
  EXPECT_EQ(r.route, "/healthz");
  store_.fail = true;
  r = call(http::verb::get, "/healthz", "");
  EXPECT_EQ(r.response.result(), http::status::service_unavailable);
  EXPECT_EQ(call(http::verb::post, "/healthz", "").response.result(),
            http::status::method_not_allowed);
}

TEST_F(RouterTest, ApiNeedsAValidToken) {
  for (const auto* token : {"", "es_unknown", "es_gone"}) {
    const auto r = call(http::verb::get, "/api/v1/findings", token);
    EXPECT_EQ(r.response.result(), http::status::unauthorized) << token;
    EXPECT_EQ(std::string(r.response[http::field::www_authenticate]).rfind("Bearer", 0), 0u);
    EXPECT_TRUE(json(r).as_object().contains("error"));
  }
  // Unknown paths under /api/v1 are not revealed without a token either.
  EXPECT_EQ(call(http::verb::get, "/api/v1/secret", "").response.result(),
            http::status::unauthorized);
  Request req{http::verb::get, "/api/v1/whoami", 11};
  req.set(http::field::authorization, "Basic YWRtaW46YWRtaW4=");
  EXPECT_EQ(router_.handle(req).response.result(), http::status::unauthorized);
}

TEST_F(RouterTest, StoreFailureDuringAuthIs503) {
  store_.fail = true;
  EXPECT_EQ(call(http::verb::get, "/api/v1/whoami").response.result(),
            http::status::service_unavailable);
}

TEST_F(RouterTest, WhoamiNamesTheToken) {
  auto r = call(http::verb::get, "/api/v1/whoami", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(json(r), boost::json::parse(R"({"name":"alice","role":"viewer"})"));
}

TEST_F(RouterTest, ViewerMayNotChangeState) {
  for (const auto method :
       {http::verb::post, http::verb::put, http::verb::patch, http::verb::delete_}) {
    const auto r = call(method, "/api/v1/agents", "es_viewer", R"({"id":"a1"})");
    EXPECT_EQ(r.response.result(), http::status::forbidden);
  }
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/agents/a1", "es_viewer").response.result(),
            http::status::forbidden);
  EXPECT_TRUE(store_.agents.empty());
}

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405) {
  EXPECT_EQ(call(http::verb::get, "/api/v1/nothing").response.result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/api/v1/findings/a/b").response.result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/elsewhere", "").response.result(), http::status::not_found);
  const auto r = call(http::verb::post, "/api/v1/findings");
  EXPECT_EQ(r.response.result(), http::status::method_not_allowed);
  EXPECT_EQ(r.response[http::field::allow], "GET");
  EXPECT_EQ(call(http::verb::put, "/api/v1/agents").response[http::field::allow], "GET, POST");
  EXPECT_EQ(call(http::verb::get, "/api/v1/findings?x=%zz").response.result(),
            http::status::bad_request);
}

TEST_F(RouterTest, AdminCreatesListsAndRevokesAgents) {
  auto r = call(http::verb::post, "/api/v1/agents", "es_admin", R"({"id":"lib-agent.1"})");
  ASSERT_EQ(r.response.result(), http::status::created) << r.response.body();
  const auto created = json(r).as_object();
  EXPECT_EQ(created.at("id"), "lib-agent.1");
  const std::string key(created.at("key").as_string());
  EXPECT_EQ(key.rfind("esk_", 0), 0u);
  EXPECT_EQ(store_.agents.at("lib-agent.1").key, key);
  EXPECT_EQ(r.response[http::field::location], "/api/v1/agents/lib-agent.1");

  EXPECT_EQ(call(http::verb::post, "/api/v1/agents", "es_admin", R"({"id":"lib-agent.1"})")
                .response.result(),
            http::status::conflict);
  for (const auto* bad :
       {R"({"id":""})", R"({"id":"a b"})", R"({"id":7})", R"({})", "[1]", "not json"}) {
    EXPECT_EQ(call(http::verb::post, "/api/v1/agents", "es_admin", bad).response.result(),
              http::status::bad_request)
        << bad;
  }

  // Online while the last heartbeat is within the window.
  const Heartbeat hb{"lib-agent.1", boost::json::parse(R"({"version":"0.1.0"})").as_object(),
                     "192.0.2.7"};
  store_.record_heartbeats(std::span<const Heartbeat>(&hb, 1));
  clock_.advance(60s);
  r = call(http::verb::get, "/api/v1/agents", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  auto items = json(r).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  const auto& a = items[0].as_object();
  EXPECT_EQ(a.at("id"), "lib-agent.1");
  EXPECT_EQ(a.at("online"), true);
  EXPECT_EQ(a.at("revoked"), false);
  EXPECT_EQ(a.at("address"), "192.0.2.7");
  EXPECT_EQ(a.at("status").at("version"), "0.1.0");
  EXPECT_EQ(a.at("last_heartbeat"), boost::json::value(format_rfc3339(kBase)));
  EXPECT_EQ(a.at("created_at"), boost::json::value(format_rfc3339(kBase)));
  EXPECT_FALSE(a.contains("key"));
  clock_.advance(31s);
  r = call(http::verb::get, "/api/v1/agents/lib-agent.1", "es_viewer");
  EXPECT_EQ(json(r).at("online"), false);

  r = call(http::verb::delete_, "/api/v1/agents/lib-agent.1");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_TRUE(store_.agents.at("lib-agent.1").revoked);
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/agents/lib-agent.1").response.result(),
            http::status::ok);  // idempotent
  // The ingest side is told once, so the agent's open connections close.
  EXPECT_EQ(revoked_, std::vector<std::string>{"lib-agent.1"});
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/agents/nobody").response.result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/api/v1/agents/nobody").response.result(),
            http::status::not_found);
}

TEST_F(RouterTest, FindingsFilterPageAndCount) {
  for (int i = 0; i < 30; ++i) {
    auto f = stored("ipv6.dns.no_aaaa", "h" + std::to_string(i) + ".demo-univ.edu.cn", "{}",
                    i % 3 == 0 ? Severity::high : Severity::low, std::chrono::seconds(i));
    store_.findings.push_back(f);
  }
  store_.findings.push_back(stored("tls.cert_expired", "www.demo-univ.edu.cn:443", "{}",
                                   Severity::high, 100s, FindingState::resolved));

  auto r = call(http::verb::get, "/api/v1/findings?limit=10&offset=5", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  auto body = json(r).as_object();
  EXPECT_EQ(body.at("total"), 31);
  EXPECT_EQ(body.at("limit"), 10);
  EXPECT_EQ(body.at("offset"), 5);
  auto items = body.at("items").as_array();
  ASSERT_EQ(items.size(), 10u);
  EXPECT_EQ(items[0].at("subject"), "h5.demo-univ.edu.cn");  // newest first
  EXPECT_EQ(items[0].at("state"), "open");
  EXPECT_TRUE(items[0].at("resolved_at").is_null());
  EXPECT_EQ(items[0].at("last_seen"), boost::json::value(format_rfc3339(kBase - 5s)));
  EXPECT_TRUE(items[0].as_object().contains("first_seen"));
  EXPECT_TRUE(items[0].as_object().contains("evidence"));
  EXPECT_EQ(items[0].at("kind"), "ipv6.dns.no_aaaa");

  r = call(http::verb::get, "/api/v1/findings?severity=high&kind=ipv6.dns.no_aaaa");
  EXPECT_EQ(json(r).at("total"), 10);
  r = call(http::verb::get, "/api/v1/findings?state=resolved");
  ASSERT_EQ(json(r).at("total"), 1);
  EXPECT_EQ(json(r).at("items").at(0).at("resolved_at"),
            boost::json::value(format_rfc3339(kBase - 100s)));
  r = call(http::verb::get, "/api/v1/findings?subject=h7.demo-univ.edu.cn");
  EXPECT_EQ(json(r).at("total"), 1);
  const auto since = format_rfc3339(kBase - 9s);
  r = call(http::verb::get, "/api/v1/findings?since=" + since);
  EXPECT_EQ(json(r).at("total"), 10);  // ages 0..9
  r = call(http::verb::get, "/api/v1/findings?before=" + since);
  EXPECT_EQ(json(r).at("total"), 21);

  r = call(http::verb::get, "/api/v1/findings?limit=5000");
  EXPECT_EQ(r.response.result(), http::status::bad_request);
  EXPECT_EQ(json(r).at("parameter"), "limit");
  EXPECT_NE(std::string(json(r).at("error").as_string()).find("limit"), std::string::npos);
  r = call(http::verb::get, "/api/v1/findings?since=last-week");
  EXPECT_EQ(json(r).at("parameter"), "since");

  store_.fail = true;
  // A valid token is cached by nothing here (ttl 0), so auth fails first: 503.
  EXPECT_EQ(call(http::verb::get, "/api/v1/findings").response.result(),
            http::status::service_unavailable);
}

TEST_F(RouterTest, OneFindingById) {
  const auto f = stored("dns.axfr_allowed", "demo-univ.edu.cn", R"({"records":12})");
  store_.findings.push_back(f);
  auto r = call(http::verb::get, "/api/v1/findings/" + f.finding.id, "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(json(r).at("id"), boost::json::value(f.finding.id));
  EXPECT_EQ(json(r).at("evidence").at("records"), 12);
  EXPECT_EQ(r.route, "/api/v1/findings/{id}");
  EXPECT_EQ(call(http::verb::get, "/api/v1/findings/0000").response.result(),
            http::status::not_found);
}

TEST_F(RouterTest, AssetsView) {
  store_.findings.push_back(stored("asset.discovered", "www.demo-univ.edu.cn",
                                   testing::discovery_evidence(true, true, true, "信息中心")));
  store_.findings.push_back(stored("asset.dual_non_own", "shadow.example.org",
                                   testing::discovery_evidence(false, false, false)));
  store_.findings.push_back(stored("asset.discovered", "gone.demo-univ.edu.cn",
                                   testing::discovery_evidence(true, true, true), Severity::info,
                                   0s, FindingState::resolved));
  auto r = call(http::verb::get, "/api/v1/assets", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok) << r.response.body();
  EXPECT_EQ(json(r).at("total"), 2);
  EXPECT_EQ(json(r).at("items").at(0).at("name"), "shadow.example.org");
  r = call(http::verb::get, "/api/v1/assets?class=own");
  ASSERT_EQ(json(r).at("total"), 1);
  EXPECT_EQ(json(r).at("items").at(0).at("owner_unit"), "信息中心");
  r = call(http::verb::get, "/api/v1/assets?search=SHADOW");
  EXPECT_EQ(json(r).at("total"), 1);
  r = call(http::verb::get, "/api/v1/assets?class=bogus");
  EXPECT_EQ(r.response.result(), http::status::bad_request);
  EXPECT_EQ(json(r).at("parameter"), "class");
}

TEST_F(RouterTest, ScansPage) {
  for (int i = 0; i < 5; ++i) {
    ScanRecord s;
    s.agent = i < 3 ? "a1" : "a2";
    s.scan = "scan-" + std::to_string(i);
    s.job = "daily";
    s.first_chunk_at = kBase + std::chrono::minutes(i);
    s.last_chunk_at = kBase + std::chrono::minutes(i) + 30s;
    s.finding_count = static_cast<std::size_t>(i * 10);
    s.complete = i != 4;
    store_.scans.push_back(s);
  }
  auto r = call(http::verb::get, "/api/v1/scans?agent=a1&limit=2", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  auto body = json(r).as_object();
  EXPECT_EQ(body.at("total"), 3);
  ASSERT_EQ(body.at("items").as_array().size(), 2u);
  const auto& s = body.at("items").at(0).as_object();
  EXPECT_EQ(s.at("scan"), "scan-2");
  EXPECT_EQ(s.at("finding_count"), 20);
  EXPECT_EQ(s.at("complete"), true);
  EXPECT_EQ(s.at("last_chunk_at"), boost::json::value(format_rfc3339(kBase + 2min + 30s)));
  EXPECT_EQ(call(http::verb::get, "/api/v1/scans?offset=x").response.result(),
            http::status::bad_request);
}

AlertRecord alert_record(std::int64_t id, std::string rule, std::string subject, AlertState state,
                         Severity severity, std::chrono::seconds age) {
  AlertRecord a;
  a.id = id;
  a.rule = std::move(rule);
  a.subject = std::move(subject);
  a.state = state;
  a.severity = severity;
  a.title = "Open recursive resolver";
  a.title_zh = "开放递归DNS解析器";
  a.tags = {"第17条"};
  a.first_fired = kBase - age;
  a.last_fired = kBase - age;
  a.renotify = 24h;
  return a;
}

TEST_F(RouterTest, AlertsListFilterAndAcknowledge) {
  store_.alerts.push_back(
      alert_record(1, "dns-open-resolver", "192.0.2.54", AlertState::firing, Severity::high, 1h));
  store_.alerts.push_back(
      alert_record(2, "tls-weak-protocol", "legacy:443", AlertState::firing, Severity::medium, 2h));
  store_.alerts.push_back(
      alert_record(3, "dns-open-resolver", "192.0.2.55", AlertState::resolved, Severity::high, 3h));

  auto r = call(http::verb::get, "/api/v1/alerts?state=active", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.route, "/api/v1/alerts");
  auto body = json(r).as_object();
  EXPECT_EQ(body.at("total"), 2);
  EXPECT_EQ(body.at("items").as_array()[0].at("id"), 1);  // newest first
  EXPECT_EQ(body.at("items").as_array()[0].at("title_zh"), "开放递归DNS解析器");
  EXPECT_EQ(json(call(http::verb::get, "/api/v1/alerts?severity=high", "es_viewer")).at("total"),
            2);
  EXPECT_EQ(json(call(http::verb::get, "/api/v1/alerts?rule=tls-weak-protocol")).at("total"), 1);
  EXPECT_EQ(call(http::verb::get, "/api/v1/alerts?state=burning").response.result(),
            http::status::bad_request);

  // A viewer may read but not acknowledge.
  EXPECT_EQ(call(http::verb::post, "/api/v1/alerts/1/acknowledge", "es_viewer").response.result(),
            http::status::forbidden);
  r = call(http::verb::post, "/api/v1/alerts/1/acknowledge", "es_admin",
           R"({"comment": "ACL fixed tonight"})");
  ASSERT_EQ(r.response.result(), http::status::ok) << r.response.body();
  EXPECT_EQ(r.route, "/api/v1/alerts/{id}/acknowledge");
  body = json(r).as_object();
  EXPECT_EQ(body.at("state"), "acknowledged");
  EXPECT_EQ(body.at("acknowledged_by"), "root");  // the token's name
  EXPECT_EQ(body.at("ack_comment"), "ACL fixed tonight");
  EXPECT_EQ(body.at("acknowledged_at").as_string(), format_rfc3339(kBase));

  EXPECT_EQ(call(http::verb::post, "/api/v1/alerts/3/acknowledge").response.result(),
            http::status::conflict);
  EXPECT_EQ(call(http::verb::post, "/api/v1/alerts/99/acknowledge").response.result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::post, "/api/v1/alerts/x/acknowledge").response.result(),
            http::status::not_found);
  EXPECT_EQ(
      call(http::verb::post, "/api/v1/alerts/2/acknowledge", "es_admin", "[1]").response.result(),
      http::status::bad_request);
  EXPECT_EQ(call(http::verb::get, "/api/v1/alerts/2").response.result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/api/v1/alerts/2/acknowledge").response.result(),
            http::status::method_not_allowed);
}

TEST_F(RouterTest, RulesAreListedAndReloadedByAdminsOnly) {
  namespace fs = std::filesystem;
  const fs::path file =
      fs::temp_directory_path() / ("edusight-router-rules-" + std::to_string(::getpid()) + ".yaml");
  const std::string good =
      "rules:\n  - id: r1\n    kind: dns.open_resolver\n    title: {zh: 开放解析, en: Open}\n"
      "exceptions:\n  - subject: 192.0.2.54\n    reason: 测试\n    owner: 网络中心\n"
      "    expires: 2020-01-01\n";
  std::ofstream(file) << good;
  metrics::Registry registry;
  ActiveRules rules({file.string()}, clock_, registry);
  RouterOptions options;
  options.token_cache_ttl = 0ms;
  options.rules = &rules;
  Router router(store_, clock_, random_, options);
  auto call_with = [&](http::verb method, std::string target, std::string token) {
    Request req{method, target, 11};
    req.set(http::field::authorization, "Bearer " + token);
    return router.handle(req);
  };

  auto r = call_with(http::verb::get, "/api/v1/rules", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  auto body = json(r).as_object();
  EXPECT_EQ(body.at("rules").as_array()[0].at("id"), "r1");
  EXPECT_EQ(body.at("exceptions").as_array()[0].at("expired"), true);

  EXPECT_EQ(call_with(http::verb::post, "/api/v1/rules/reload", "es_viewer").response.result(),
            http::status::forbidden);
  std::ofstream(file, std::ios::trunc) << "rules:\n  - id: r1\n    kind: dns.open_resolver\n";
  r = call_with(http::verb::post, "/api/v1/rules/reload", "es_admin");
  EXPECT_EQ(r.response.result(), http::status::unprocessable_entity);
  EXPECT_EQ(json(r).at("error").as_string(),
            file.string() + ":2:5: rule r1 needs a title with zh and en");
  EXPECT_EQ(rules.current()->rules().size(), 1u);  // still the old ones

  std::ofstream(file, std::ios::trunc)
      << good << "  - subject: 192.0.2.55\n    reason: x\n    owner: y\n    expires: 2030-01-01\n";
  r = call_with(http::verb::post, "/api/v1/rules/reload", "es_admin");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(json(r).at("exceptions"), 2);
  fs::remove(file);

  // Without rules configured, the routes do not exist.
  EXPECT_EQ(call(http::verb::get, "/api/v1/rules").response.result(), http::status::not_found);
}

TEST_F(RouterTest, OverviewAndReports) {
  store_.findings.push_back(stored("asset.discovered", "www.demo-univ.edu.cn",
                                   testing::discovery_evidence(true, true, true, "信息化办公室")));
  store_.findings.push_back(stored("asset.unregistered", "lab.demo-univ.edu.cn",
                                   testing::discovery_evidence(true, true, false)));
  auto r = call(http::verb::get, "/api/v1/overview", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok) << r.response.body();
  EXPECT_EQ(r.route, "/api/v1/overview");
  EXPECT_EQ(json(r).at("systems").at("total"), 2);
  EXPECT_EQ(json(r).at("systems").at("unregistered"), 1);

  r = call(http::verb::get, "/api/v1/reports/units", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(json(r).at("units").as_array().size(), 2u);

  r = call(http::verb::get, "/api/v1/reports/units.csv", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/csv; charset=utf-8");
  EXPECT_EQ(r.response[http::field::content_disposition],
            "attachment; filename=\"edusight-units-" + campus_date(kBase) + ".csv\"");
  EXPECT_EQ(r.response.body().rfind("\xEF\xBB\xBF", 0), 0u);

  r = call(http::verb::get, "/api/v1/reports/compliance.html", "es_viewer");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(call(http::verb::get, "/api/v1/reports/units.csv", "").response.result(),
            http::status::unauthorized);
  EXPECT_EQ(call(http::verb::get, "/api/v1/reports/units?x=1").response.result(),
            http::status::bad_request);
}

TEST_F(RouterTest, ServesTheDashboardConfinedToItsDirectory) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("edusight-dashboard-" + std::to_string(::getpid()));
  fs::create_directories(dir / "assets");
  std::ofstream(dir / "index.html") << "<!doctype html><title>edusight</title>";
  std::ofstream(dir / "assets" / "app-1a2b.js") << "console.log(1)";
  std::ofstream(dir.parent_path() / "secret.txt") << "no";
  RouterOptions options;
  options.token_cache_ttl = 0ms;
  options.dashboard_dir = dir.string();
  Router router(store_, clock_, random_, options);
  auto get = [&](std::string target, http::verb method = http::verb::get) {
    Request req{method, target, 11};
    return router.handle(req);
  };
  auto r = get("/");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(r.response[http::field::cache_control], "no-cache");
  EXPECT_EQ(r.route, "dashboard");
  r = get("/assets/app-1a2b.js");
  ASSERT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(r.response.body(), "console.log(1)");
  // The app's own routes get index.html; nothing outside the directory is reachable.
  EXPECT_EQ(get("/alerts").response.body(), "<!doctype html><title>edusight</title>");
  EXPECT_EQ(get("/../secret.txt").response.result(), http::status::not_found);
  EXPECT_EQ(get("/%2e%2e/secret.txt").response.result(), http::status::not_found);
  EXPECT_EQ(get("/assets/missing.js").response.result(), http::status::not_found);
  EXPECT_EQ(get("/", http::verb::post).response.result(), http::status::method_not_allowed);
  r = get("/", http::verb::head);
  EXPECT_EQ(r.response.result(), http::status::ok);
  EXPECT_TRUE(r.response.body().empty());
  // The API still needs its token.
  EXPECT_EQ(get("/api/v1/overview").response.result(), http::status::unauthorized);
  fs::remove_all(dir);
  fs::remove(dir.parent_path() / "secret.txt");
}

TEST(RouteOf, Templates) {
  EXPECT_EQ(route_of("/api/v1/findings/abc?x=1"), "/api/v1/findings/{id}");
  EXPECT_EQ(route_of("/api/v1/agents"), "/api/v1/agents");
  EXPECT_EQ(route_of("/metrics"), "/metrics");
  EXPECT_EQ(route_of("/api/v1/x/y/z"), "other");
  EXPECT_EQ(route_of("%zz"), "other");
}

TEST(AgentIds, Validation) {
  EXPECT_TRUE(valid_agent_id("campus-edge_01.demo"));
  EXPECT_FALSE(valid_agent_id(""));
  EXPECT_FALSE(valid_agent_id("a/b"));
  EXPECT_FALSE(valid_agent_id(std::string(254, 'a')));
}

TEST_F(RouterTest, EnrollmentTokensAreMadeListedAndRevokedByAdministrators) {
  // Viewers may not even look: the list tells who may enroll.
  for (auto method : {http::verb::get, http::verb::post}) {
    EXPECT_EQ(call(method, "/api/v1/enrollments", "es_viewer").response.result(),
              http::status::forbidden);
  }
  auto made = call(http::verb::post, "/api/v1/enrollments", "es_admin",
                   R"({"name": "lab-3", "ttl": "2h", "uses": 2, "comment": "room 301"})");
  ASSERT_EQ(made.response.result(), http::status::created) << made.response.body();
  EXPECT_EQ(made.route, "/api/v1/enrollments");
  const auto body = json(made).as_object();
  const std::string token(body.at("token").as_string());
  EXPECT_EQ(token.rfind("ese_", 0), 0u);
  EXPECT_EQ(body.at("name"), "lab-3");
  EXPECT_EQ(body.at("max_uses"), 2);
  EXPECT_EQ(std::string(body.at("expires_at").as_string()), format_rfc3339(kBase + 2h));
  EXPECT_EQ(body.at("state"), "active");
  EXPECT_EQ(made.response[http::field::location], "/api/v1/enrollments/lab-3");
  // Only the hash is kept.
  ASSERT_EQ(store_.enrollments.count("lab-3"), 1u);
  EXPECT_EQ(store_.enrollments["lab-3"].sha256, sha256_hex(token));

  // A default name; a name that exists; bad input.
  auto unnamed = call(http::verb::post, "/api/v1/enrollments", "es_admin", "");
  ASSERT_EQ(unnamed.response.result(), http::status::created);
  EXPECT_EQ(std::string(json(unnamed).at("name").as_string()).rfind("enroll-", 0), 0u);
  EXPECT_EQ(json(unnamed).at("max_uses"), 1);
  EXPECT_EQ(call(http::verb::post, "/api/v1/enrollments", "es_admin", R"({"name": "lab-3"})")
                .response.result(),
            http::status::conflict);
  for (const auto* bad : {R"({"ttl": "soon"})", R"({"uses": 0})", R"({"uses": "2"})",
                          R"({"name": "a b"})", R"({"agent_id": "x/y"})", "[]"}) {
    EXPECT_EQ(call(http::verb::post, "/api/v1/enrollments", "es_admin", bad).response.result(),
              http::status::bad_request)
        << bad;
  }

  auto list = call(http::verb::get, "/api/v1/enrollments");
  ASSERT_EQ(list.response.result(), http::status::ok);
  const auto listed = json(list);
  EXPECT_EQ(listed.at("total"), 2);
  for (const auto& item : listed.at("items").as_array()) {
    EXPECT_FALSE(item.as_object().contains("token"));
    EXPECT_FALSE(item.as_object().contains("sha256"));
  }

  auto revoked = call(http::verb::delete_, "/api/v1/enrollments/lab-3");
  ASSERT_EQ(revoked.response.result(), http::status::ok);
  EXPECT_EQ(revoked.route, "/api/v1/enrollments/{name}");
  EXPECT_TRUE(store_.enrollments["lab-3"].revoked);
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/enrollments/nobody").response.result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/enrollments/lab-3", "es_viewer").response.result(),
            http::status::forbidden);
  EXPECT_EQ(call(http::verb::put, "/api/v1/enrollments").response.result(),
            http::status::method_not_allowed);
  store_.fail = true;
  EXPECT_EQ(call(http::verb::get, "/api/v1/enrollments").response.result(),
            http::status::service_unavailable);
}

}  // namespace
}  // namespace edusight::collector::api
