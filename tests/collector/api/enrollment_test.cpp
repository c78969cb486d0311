#include "collector/api/enrollment.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "fake_store.hpp"
#include "test_findings.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using testing::FakeStore;
using testing::kBase;

class EnrollerTest : public ::testing::Test {
 protected:
  // A token made as the CLI makes them.
  std::string make(EnrollmentRequest request = {}) {
    auto made = create_enrollment(store_, random_, clock_, request);
    EXPECT_TRUE(made.result.ok) << made.result.error;
    return made.token;
  }

  Response post(const std::string& body, const std::string& peer = "192.0.2.10",
                std::string target = "/api/v1/enroll") {
    Request req{http::verb::post, target, 11};
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return enroller_.handle(req, peer);
  }
  static boost::json::object json(const Response& r) {
    return boost::json::parse(r.body()).as_object();
  }
  std::string metric(const std::string& result) {
    const std::string text = registry_.render();
    const std::string line = "edusight_enrollments_total{result=\"" + result + "\"} ";
    const auto at = text.find(line);
    if (at == std::string::npos) return "absent";
    return text.substr(at + line.size(), text.find('\n', at) - at - line.size());
  }

  ManualClock clock_{kBase};
  FakeStore store_{clock_};
  SeededRandom random_{7};
  metrics::Registry registry_;
  Enroller enroller_{store_, clock_, random_, registry_, options()};

  static EnrollerOptions options() {
    EnrollerOptions o;
    o.forward_port = 24224;
    o.server_name = "collector.example.edu.cn";
    o.certificate_sha256 = std::string(64, 'a');
    o.max_failures = 3;
    o.failure_window = 10min;
    return o;
  }
};

TEST_F(EnrollerTest, ATokenBuysOneIdentityWithItsForwardDetails) {
  const auto token = make();
  auto res = post(R"({"token": ")" + token + R"(", "hostname": "pc-301"})");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  const auto o = json(res);
  EXPECT_EQ(o.at("agent_id"), "pc-301");  // the host name, as nobody chose another
  const std::string key(o.at("key").as_string());
  EXPECT_EQ(key.rfind("esk_", 0), 0u);
  EXPECT_EQ(o.at("forward").at("port"), 24224);
  EXPECT_EQ(o.at("forward").at("server_name"), "collector.example.edu.cn");
  EXPECT_EQ(std::string(o.at("certificate_sha256").as_string()), std::string(64, 'a'));
  ASSERT_EQ(store_.agents.count("pc-301"), 1u);
  EXPECT_EQ(store_.agents["pc-301"].key, key);
  EXPECT_EQ(metric("enrolled"), "1");

  // The same token again: used.
  res = post(R"({"token": ")" + token + R"(", "agent_id": "pc-302"})");
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(json(res).at("reason"), "used");
  EXPECT_EQ(metric("used"), "1");
  EXPECT_EQ(store_.agents.count("pc-302"), 0u);
}

TEST_F(EnrollerTest, AnExplicitAgentIdWinsAndATokensOwnIdIsUsedWithoutOne) {
  const auto any = make();
  auto res = post(R"({"token": ")" + any + R"(", "agent_id": "lab-1", "hostname": "pc"})");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res).at("agent_id"), "lab-1");
  EnrollmentRequest fixed;
  fixed.agent_id = "lab-2";
  const auto own = make(fixed);
  res = post(R"({"token": ")" + own + R"(", "hostname": "pc"})");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(json(res).at("agent_id"), "lab-2");
  const auto third = make();
  res = post(R"({"token": ")" + third + R"(", "agent_id": "lab-1"})");
  EXPECT_EQ(res.result(), http::status::conflict);
  EXPECT_EQ(json(res).at("reason"), "agent_exists");
}

TEST_F(EnrollerTest, ExpiredRevokedAndUnknownTokensAreRefusedWithTheirReason) {
  EnrollmentRequest shortlived;
  shortlived.name = "short";
  shortlived.ttl = 2s;
  const auto expiring = make(shortlived);
  EnrollmentRequest named;
  named.name = "gone";
  const auto revoked = make(named);
  ASSERT_TRUE(store_.revoke_enrollment("gone").ok);
  clock_.advance(3s);
  auto res = post(R"({"token": ")" + expiring + R"(", "hostname": "a"})");
  EXPECT_EQ(json(res).at("reason"), "expired");
  res = post(R"({"token": ")" + revoked + R"(", "hostname": "a"})", "192.0.2.11");
  EXPECT_EQ(json(res).at("reason"), "revoked");
  res = post(R"({"token": "ese_nothing", "hostname": "a"})", "192.0.2.12");
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(json(res).at("reason"), "unknown");
  EXPECT_TRUE(store_.agents.empty());
}

TEST_F(EnrollerTest, MalformedRequestsAreRefused) {
  int peer = 0;  // one address each: this test is not about the failure limit
  for (const auto* body : {"", "[]", R"({"hostname": "a"})", R"({"token": 5})",
                           R"({"token": "x", "agent_id": "a/b"})"}) {
    const auto res = post(body, "198.51.100." + std::to_string(++peer));
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
  }
  EXPECT_EQ(metric("bad_request"), "5");
  Request get{http::verb::get, "/api/v1/enroll", 11};
  EXPECT_EQ(enroller_.handle(get, "198.51.100.20").result(), http::status::method_not_allowed);
  EXPECT_EQ(post("{}", "198.51.100.21", "/api/v1/findings").result(), http::status::not_found);
}

TEST_F(EnrollerTest, FailedAttemptsFromOnePeerAreLimited) {
  const auto token = make();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        post(R"({"token": "ese_guess)" + std::to_string(i) + R"(", "hostname": "a"})").result(),
        http::status::forbidden);
  }
  // Blocked now, even with the right token; other peers are not.
  auto res = post(R"({"token": ")" + token + R"(", "hostname": "a"})");
  EXPECT_EQ(res.result(), http::status::too_many_requests);
  EXPECT_EQ(json(res).at("reason"), "rate_limited");
  EXPECT_FALSE(res[http::field::retry_after].empty());
  EXPECT_EQ(metric("rate_limited"), "1");
  EXPECT_TRUE(store_.agents.empty());
  // Once the failures leave the window, the peer may try again.
  clock_.advance(10min);
  res = post(R"({"token": ")" + token + R"(", "hostname": "a"})");
  EXPECT_EQ(res.result(), http::status::ok) << res.body();
}

TEST(FailureLimiterTest, KeepsAtMostItsPeers) {
  FailureLimiter limiter(2, std::chrono::minutes(1), 3);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) {
    const std::string peer = "203.0.113." + std::to_string(i);
    limiter.failed(peer, t0 + std::chrono::seconds(i));
    limiter.failed(peer, t0 + std::chrono::seconds(i));
    EXPECT_TRUE(limiter.blocked(peer, t0 + std::chrono::seconds(i)));
  }
  // The oldest made room for the newest.
  EXPECT_FALSE(limiter.blocked("203.0.113.0", t0 + std::chrono::seconds(10)));
  EXPECT_TRUE(limiter.blocked("203.0.113.9", t0 + std::chrono::seconds(10)));
  EXPECT_FALSE(limiter.blocked("203.0.113.9", t0 + std::chrono::seconds(80)));
}

TEST(CreateEnrollmentTest, RefusesBadRequestsAndStoresOnlyTheHash) {
  ManualClock clock{kBase};
  FakeStore store{clock};
  SeededRandom random{1};
  EnrollmentRequest r;
  r.ttl = 0s;
  EXPECT_FALSE(create_enrollment(store, random, clock, r).result.ok);
  r.ttl = 1h;
  r.max_uses = 0;
  EXPECT_FALSE(create_enrollment(store, random, clock, r).result.ok);
  r.max_uses = 1;
  r.name = "bad name";
  EXPECT_FALSE(create_enrollment(store, random, clock, r).result.ok);
  r.name = "ok";
  const auto made = create_enrollment(store, random, clock, r);
  ASSERT_TRUE(made.result.ok);
  EXPECT_EQ(store.enrollments["ok"].sha256, sha256_hex(made.token));
  EXPECT_EQ(store.enrollments["ok"].expires_at, kBase + 1h);
  EXPECT_EQ(enrollment_state(store.enrollments["ok"], kBase), "active");
  EXPECT_EQ(enrollment_state(store.enrollments["ok"], kBase + 1h), "expired");
}

}  // namespace
}  // namespace edusight::collector::api
