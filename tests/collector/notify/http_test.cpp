#include "collector/notify/http.hpp"

#include <gtest/gtest.h>

#include "collector/notify/format.hpp"
#include "tests/collector/notify/sample.hpp"

namespace edusight::collector::notify {
namespace {

using test::at;
using test::sample;

class FakePoster final : public HttpPoster {
 public:
  explicit FakePoster(std::vector<HttpRequest>& seen, HttpResponse reply)
      : seen_(seen), reply_(std::move(reply)) {}
  HttpResponse post(const HttpRequest& r) override {
    seen_.push_back(r);
    return reply_;
  }

 private:
  std::vector<HttpRequest>& seen_;
  HttpResponse reply_;
};

HttpResponse reply(long status, std::string body = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(NotifyHttp, StatusClassification) {
  EXPECT_TRUE(classify_http(reply(200)).ok);
  EXPECT_TRUE(classify_http(reply(204)).ok);
  for (long s : {500L, 502L, 503L, 429L, 408L}) {
    const auto d = classify_http(reply(s, "busy"));
    EXPECT_FALSE(d.ok);
    EXPECT_TRUE(d.retryable) << s;
  }
  for (long s : {400L, 401L, 403L, 404L, 301L, 302L}) {
    const auto d = classify_http(reply(s));
    EXPECT_FALSE(d.ok);
    EXPECT_FALSE(d.retryable) << s;
  }
  EXPECT_EQ(classify_http(reply(503, "busy")).error, "HTTP 503: busy");

  HttpResponse timeout;
  timeout.error = "Operation timed out after 100 milliseconds";
  EXPECT_TRUE(classify_http(timeout).retryable);
  timeout.transport_retryable = false;
  EXPECT_FALSE(classify_http(timeout).retryable);
}

TEST(NotifyHttp, RobotReplies) {
  EXPECT_TRUE(classify_reply(Vendor::wecom, reply(200, R"({"errcode":0,"errmsg":"ok"})")).ok);
  EXPECT_TRUE(classify_reply(Vendor::dingtalk, reply(200, R"({"errcode":0,"errmsg":"ok"})")).ok);
  EXPECT_TRUE(
      classify_reply(Vendor::feishu, reply(200, R"({"code":0,"msg":"success","data":{}})")).ok);
  // The generic webhook's body is not looked at.
  EXPECT_TRUE(classify_reply(Vendor::webhook, reply(200, "whatever")).ok);

  auto d = classify_reply(Vendor::wecom,
                          reply(200, R"({"errcode":93000,"errmsg":"invalid webhook url"})"));
  EXPECT_FALSE(d.ok);
  EXPECT_FALSE(d.retryable);
  EXPECT_EQ(d.error, "errcode 93000: invalid webhook url");
  d = classify_reply(Vendor::wecom,
                     reply(200, R"({"errcode":45009,"errmsg":"api freq out of limit"})"));
  EXPECT_TRUE(d.retryable);
  d = classify_reply(Vendor::dingtalk,
                     reply(200, R"({"errcode":130101,"errmsg":"send too fast"})"));
  EXPECT_TRUE(d.retryable);
  d = classify_reply(Vendor::dingtalk,
                     reply(200, R"({"errcode":310000,"errmsg":"sign not match"})"));
  EXPECT_FALSE(d.retryable);
  d = classify_reply(Vendor::feishu, reply(200, R"({"code":19021,"msg":"sign match fail"})"));
  EXPECT_FALSE(d.ok);
  EXPECT_FALSE(d.retryable);
  d = classify_reply(Vendor::feishu, reply(200, R"({"code":11232,"msg":"frequency limited"})"));
  EXPECT_TRUE(d.retryable);
  // Feishu's code, not WeCom's errcode.
  EXPECT_FALSE(classify_reply(Vendor::feishu, reply(200, R"({"errcode":0})")).ok);
  EXPECT_FALSE(classify_reply(Vendor::wecom, reply(200, "<html>proxy</html>")).ok);
  // HTTP failures come first.
  EXPECT_TRUE(classify_reply(Vendor::wecom, reply(502, "bad gateway")).retryable);
}

TEST(NotifyHttp, ChannelRequests) {
  ManualClock clock(at("2023-11-14T22:13:20Z"));  // 1700000000 s
  std::vector<HttpRequest> seen;

  HttpChannelOptions webhook{"soc",
                             Vendor::webhook,
                             "https://hooks.example.edu.cn/edusight",
                             {{"Authorization", "Bearer t"}},
                             {}};
  HttpChannel w(webhook, std::make_unique<FakePoster>(seen, reply(202)), clock);
  EXPECT_EQ(w.name(), "soc");
  EXPECT_TRUE(w.send(sample()).ok);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "https://hooks.example.edu.cn/edusight");
  EXPECT_EQ(seen[0].content_type, "application/json; charset=utf-8");
  ASSERT_EQ(seen[0].headers.size(), 1u);
  EXPECT_EQ(seen[0].headers[0].second, "Bearer t");
  EXPECT_EQ(seen[0].body, webhook_json(sample()));

  HttpChannelOptions ding{"ding",
                          Vendor::dingtalk,
                          "https://oapi.dingtalk.com/robot/send?access_token=abc",
                          {},
                          "SEC0123456789abcdef"};
  HttpChannel d(ding, std::make_unique<FakePoster>(seen, reply(200, R"({"errcode":0})")), clock);
  EXPECT_TRUE(d.send(sample()).ok);
  EXPECT_EQ(seen[1].url, dingtalk_signed_url(ding.url, 1700000000000, ding.secret));
  EXPECT_EQ(seen[1].body, dingtalk_body(sample()));
  EXPECT_TRUE(seen[1].headers.empty());

  HttpChannelOptions feishu{"lark",
                            Vendor::feishu,
                            "https://open.feishu.cn/open-apis/bot/v2/hook/x",
                            {},
                            "SEC0123456789abcdef"};
  HttpChannel f(feishu, std::make_unique<FakePoster>(seen, reply(200, R"({"code":19021})")), clock);
  const auto fd = f.send(sample());
  EXPECT_FALSE(fd.ok);
  EXPECT_FALSE(fd.retryable);
  EXPECT_EQ(seen[2].url, feishu.url);
  EXPECT_EQ(seen[2].body, feishu_body(sample(), feishu.secret, 1700000000));

  HttpChannelOptions wecom{
      "wx", Vendor::wecom, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", {}, {}};
  HttpChannel x(wecom, std::make_unique<FakePoster>(seen, reply(200, R"({"errcode":0})")), clock);
  EXPECT_TRUE(x.send(sample()).ok);
  EXPECT_EQ(seen[3].body, wecom_body(sample()));
}

}  // namespace
}  // namespace edusight::collector::notify
