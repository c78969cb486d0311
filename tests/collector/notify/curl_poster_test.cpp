// The libcurl poster and the HTTP channels against an in-test HTTP listener on loopback.
#include <gtest/gtest.h>

#include "collector/notify/dispatcher.hpp"
#include "collector/notify/format.hpp"
#include "collector/notify/http.hpp"
#include "tests/collector/notify/loopback.hpp"
#include "tests/collector/notify/sample.hpp"

namespace edusight::collector::notify {
namespace {

using namespace std::chrono_literals;
using test::sample;

class NoWait final : public Sleeper {
 public:
  bool sleep_for(std::chrono::milliseconds) override { return true; }
  void interrupt() override {}
};

CurlOptions quick() {
  CurlOptions o;
  o.connect_timeout = 2000ms;
  o.timeout = 3000ms;
  return o;
}

TEST(NotifyCurlPoster, PostsJsonWithHeaders) {
  test::HttpListener server;
  CurlPoster poster(quick());
  HttpRequest req;
  req.url = server.url("/hook?x=1");
  req.headers = {{"Authorization", "Bearer abc"}};
  req.body = webhook_json(sample());
  const auto r = poster.post(req);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  const auto got = server.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hook?x=1");
  EXPECT_EQ(got[0].header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(got[0].header("Authorization"), "Bearer abc");
  EXPECT_EQ(got[0].header("User-Agent"), "edusight-collector");
  EXPECT_EQ(got[0].body, req.body);

  // The same handle again: the connection is reused.
  EXPECT_EQ(poster.post(req).status, 200);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(NotifyCurlPoster, RetriesA500ThenDelivers) {
  test::HttpListener server;
  server.answer({500, "oops", 0ms, {}});
  server.answer({200, "{}", 0ms, {}});
  metrics::Registry registry;
  ManualClock clock(test::at("2026-11-25T15:00:00Z"));
  NoWait sleeper;
  SeededRandom random(1);
  std::vector<Route> routes;
  routes.push_back(Route{std::make_unique<HttpChannel>(
                             HttpChannelOptions{"hook", Vendor::webhook, server.url("/h"), {}, {}},
                             std::make_unique<CurlPoster>(quick()), clock),
                         {}});
  Dispatcher d(std::move(routes), registry, {}, clock, sleeper, random);
  d.offer(sample());
  for (int i = 0; i < 500 && server.requests().size() < 2; ++i) std::this_thread::sleep_for(10ms);
  d.stop();
  const auto got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);
  const auto text = registry.render();
  EXPECT_NE(text.find("edusight_notifications_sent_total{channel=\"hook\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("edusight_notification_attempts_total{channel=\"hook\"} 2"),
            std::string::npos)
      << text;
}

TEST(NotifyCurlPoster, ClientErrorsAndRedirectsAreNotRetried) {
  test::HttpListener server;
  server.answer({404, "no such hook", 0ms, {}});
  server.answer({302, "", 0ms, "Location: " + server.url("/elsewhere") + "\r\n"});
  ManualClock clock(test::at("2026-11-25T15:00:00Z"));
  HttpChannel c({"hook", Vendor::webhook, server.url("/h"), {}, {}},
                std::make_unique<CurlPoster>(quick()), clock);
  auto d = c.send(sample());
  EXPECT_FALSE(d.ok);
  EXPECT_FALSE(d.retryable);
  EXPECT_EQ(d.error, "HTTP 404: no such hook");
  d = c.send(sample());
  EXPECT_FALSE(d.ok);
  EXPECT_FALSE(d.retryable);
  EXPECT_EQ(server.requests().size(), 2u);  // the redirect was not followed
}

TEST(NotifyCurlPoster, RobotErrorCodeInA200IsAFailure) {
  test::HttpListener server;
  server.answer({200, R"({"errcode":93000,"errmsg":"invalid webhook url"})", 0ms, {}});
  server.answer({200, R"({"errcode":0,"errmsg":"ok"})", 0ms, {}});
  ManualClock clock(test::at("2026-11-25T15:00:00Z"));
  HttpChannel c({"wx", Vendor::wecom, server.url("/cgi-bin/webhook/send?key=k"), {}, {}},
                std::make_unique<CurlPoster>(quick()), clock);
  const auto bad = c.send(sample());
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.retryable);
  EXPECT_EQ(bad.error, "errcode 93000: invalid webhook url");
  EXPECT_TRUE(c.send(sample()).ok);
  EXPECT_EQ(server.requests().at(1).body, wecom_body(sample()));
}

TEST(NotifyCurlPoster, SlowServerTimesOutAndIsRetryable) {
  test::HttpListener server;
  server.answer({200, "{}", 3000ms, {}});
  CurlOptions o;
  o.connect_timeout = 1000ms;
  o.timeout = 300ms;
  CurlPoster poster(o);
  HttpRequest req;
  req.url = server.url("/slow");
  req.body = "{}";
  const auto start = std::chrono::steady_clock::now();
  const auto r = poster.post(req);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("imed out"), std::string::npos) << r.error;
  const auto d = classify_http(r);
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(d.retryable);
}

TEST(NotifyCurlPoster, RefusedAndBadUrls) {
  std::uint16_t port = 0;
  const int fd = test::listen_loopback(port);
  ::close(fd);  // nothing listens there now
  CurlPoster poster(quick());
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto r = poster.post(req);
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(classify_http(r).retryable);
  req.url = "ftp://127.0.0.1/";
  r = poster.post(req);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(classify_http(r).retryable);
}

}  // namespace
}  // namespace edusight::collector::notify
