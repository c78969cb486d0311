#include "collector/notify/format.hpp"

#include <gtest/gtest.h>

#include "edusight/core/crypto.hpp"
#include "tests/collector/notify/sample.hpp"

namespace edusight::collector::notify {
namespace {

using test::at;
using test::sample;

// Expected signatures computed independently with Python:
//   base64.b64encode(hmac.new(secret, f"{ts}\n{secret}", sha256).digest())      (DingTalk)
//   base64.b64encode(hmac.new(f"{ts}\n{secret}", b"", sha256).digest())          (Feishu)
constexpr const char* secret = "SEC0123456789abcdef";

TEST(NotifyFormat, DingTalkSignatureMatchesAnIndependentComputation) {
  EXPECT_EQ(dingtalk_sign(1700000000000, secret), "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk=");
  EXPECT_EQ(dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc",
                                1700000000000, secret),
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000"
            "&sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D");
  // '+' must be encoded too, or the robot reads it as a space.
  EXPECT_EQ(dingtalk_signed_url("http://127.0.0.1/robot", 1700000000000, "SECk0"),
            "http://127.0.0.1/robot?timestamp=1700000000000"
            "&sign=5UK%2F%2FmYyIM45SCJ5ygl7P7oNVUARcnU%2BMgdQsgNGZsc%3D");
}

TEST(NotifyFormat, FeishuSignatureMatchesAnIndependentComputation) {
  EXPECT_EQ(feishu_sign(1700000000, secret), "PiO7POLlSx/DM2qf8Dy/XCWeJK3exVnevp5G99LEN2M=");
}

TEST(NotifyFormat, Helpers) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(url_encode("a b+c/=~._-"), "a%20b%2Bc%2F%3D~._-");
  EXPECT_EQ(to_hex(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("网站不可达", 9), "网站…");  // never half a character
  EXPECT_EQ(truncate_utf8("abcdef", 5), "ab…");
  EXPECT_EQ(severity_zh(Severity::critical), "严重");
  EXPECT_EQ(severity_zh(Severity::info), "信息");
}

TEST(NotifyFormat, WebhookJson) {
  EXPECT_EQ(
      webhook_json(sample()),
      R"({"version":1,"event":"firing","collector":"collector.demo-univ.edu.cn",)"
      R"("link":"https://collector.demo-univ.edu.cn/api/v1/alerts/42","alert":{"id":42,)"
      R"("rule":"ipv6-web-unreachable","subject":"www.demo-univ.edu.cn","severity":"high",)"
      R"("severity_zh":"高","title":"Website unreachable over IPv6","title_zh":"网站 IPv6 不可达",)"
      R"("tags":["第14条","第15条"],"remediation":"Fix the AAAA record or the IPv6 route.",)"
      R"("remediation_zh":"修正 AAAA 记录或 IPv6 路由。","state":"firing",)"
      R"("first_fired":"2026-11-25T13:53:17Z","last_fired":"2026-11-25T15:00:00Z",)"
      R"("resolved_at":null,"repeats":3,"acknowledged_by":"","finding_id":"f-0123abcd",)"
      R"("agent":"campus-a"}})");

  auto n = sample(Event::resolved);
  n.alert.state = "resolved";
  n.alert.resolved_at = at("2026-11-26T08:00:00Z");
  n.alert.acknowledged_by = "soc \"duty\"";
  const auto body = webhook_json(n);
  EXPECT_NE(body.find(R"("event":"resolved")"), std::string::npos);
  EXPECT_NE(body.find(R"("resolved_at":"2026-11-26T08:00:00Z")"), std::string::npos);
  EXPECT_NE(body.find(R"("acknowledged_by":"soc \"duty\"")"), std::string::npos);
}

const char* const markdown_lines =
    "**级别**：高\n"
    "**对象**：www.demo-univ.edu.cn\n"
    "**规则**：ipv6-web-unreachable\n"
    "**条款**：第14条、第15条\n"
    "**状态**：告警中\n"
    "**首次告警**：2026-11-25T13:53:17Z\n"
    "**最近告警**：2026-11-25T15:00:00Z（共 3 次）\n"
    "**处置建议**：修正 AAAA 记录或 IPv6 路由。\n"
    "**English**：Website unreachable over IPv6\n"
    "**采集器**：collector.demo-univ.edu.cn\n"
    "**告警编号**：42\n"
    "[查看告警](https://collector.demo-univ.edu.cn/api/v1/alerts/42)";

// JSON string escaping of the markdown lines.
std::string json_lines(const std::string& sep) {
  std::string out;
  for (char c : std::string(markdown_lines)) {
    if (c == '\n') {
      out += sep;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

TEST(NotifyFormat, WeComMarkdown) {
  EXPECT_EQ(markdown_text(sample()),
            std::string("### 【告警】网站 IPv6 不可达\n") + markdown_lines);
  EXPECT_EQ(wecom_body(sample()),
            R"({"msgtype":"markdown","markdown":{"content":"### 【告警】网站 IPv6 不可达\n)" +
                json_lines("\\n") + R"("}})");
}

TEST(NotifyFormat, DingTalkMarkdown) {
  // DingTalk needs a blank line to break a line.
  EXPECT_EQ(dingtalk_body(sample(Event::reminder)),
            R"({"msgtype":"markdown","markdown":{"title":"【提醒】网站 IPv6 不可达",)"
            R"("text":"### 【提醒】网站 IPv6 不可达\n\n)" +
                json_lines("\\n\\n") + R"("}})");
}

TEST(NotifyFormat, FeishuCard) {
  const std::string content = json_lines("\\n");
  EXPECT_EQ(feishu_body(sample()),
            R"({"msg_type":"interactive","card":{"config":{"wide_screen_mode":true},)"
            R"("header":{"template":"orange","title":{"tag":"plain_text",)"
            R"("content":"【告警】网站 IPv6 不可达"}},"elements":[{"tag":"div","text":)"
            R"({"tag":"lark_md","content":")" +
                content + R"("}}]}})");
  const auto signed_body = feishu_body(sample(), secret, 1700000000);
  EXPECT_EQ(
      signed_body.rfind(
          R"({"timestamp":"1700000000","sign":"PiO7POLlSx/DM2qf8Dy/XCWeJK3exVnevp5G99LEN2M=","msg_type":"interactive",)",
          0),
      0u);
}

TEST(NotifyFormat, ResolvedAndAcknowledgedWording) {
  auto n = sample(Event::resolved);
  n.alert.state = "resolved";
  n.alert.resolved_at = at("2026-11-26T08:00:00Z");
  const auto text = markdown_text(n);
  EXPECT_EQ(text.rfind("### 【恢复】网站 IPv6 不可达\n", 0), 0u);
  EXPECT_NE(text.find("**状态**：已恢复\n"), std::string::npos);
  EXPECT_NE(text.find("**恢复时间**：2026-11-26T08:00:00Z\n"), std::string::npos);
  EXPECT_NE(feishu_body(n).find(R"("template":"green")"), std::string::npos);

  n = sample(Event::reminder);
  n.alert.state = "acknowledged";
  n.alert.acknowledged_by = "soc";
  n.alert.tags.clear();
  n.link.clear();
  const auto reminder = markdown_text(n);
  EXPECT_NE(reminder.find("**状态**：已确认（soc）\n"), std::string::npos);
  EXPECT_EQ(reminder.find("条款"), std::string::npos);
  EXPECT_EQ(reminder.find("查看告警"), std::string::npos);
}

TEST(NotifyFormat, LongTextIsCutButKeepsTheLink) {
  auto n = sample();
  n.alert.remediation_zh.clear();
  for (int i = 0; i < 2000; ++i) n.alert.remediation_zh += "修";
  const auto text = markdown_text(n);
  EXPECT_LE(text.size(), 4096u);
  EXPECT_NE(text.find("…"), std::string::npos);
  EXPECT_NE(text.find("[查看告警](https://collector.demo-univ.edu.cn/api/v1/alerts/42)"),
            std::string::npos);
}

TEST(NotifyFormat, SyslogMessage) {
  const auto now = at("2026-11-25T15:00:01Z");
  const std::string expected =
      "<131>1 2026-11-25T15:00:01Z collector.demo-univ.edu.cn edusight-collector - firing "
      "[edusight@32473 id=\"42\" event=\"firing\" rule=\"ipv6-web-unreachable\" "
      "subject=\"www.demo-univ.edu.cn\" severity=\"high\" state=\"firing\" repeats=\"3\" "
      "first_fired=\"2026-11-25T13:53:17Z\" last_fired=\"2026-11-25T15:00:00Z\" "
      "tags=\"第14条,第15条\" finding_id=\"f-0123abcd\" agent=\"campus-a\" "
      "link=\"https://collector.demo-univ.edu.cn/api/v1/alerts/42\"] "
      "\xEF\xBB\xBF【告警】网站 IPv6 不可达 | 级别：高 | 对象：www.demo-univ.edu.cn | "
      "规则：ipv6-web-unreachable | 条款：第14条、第15条 | Website unreachable over IPv6";
  // local0 (16) * 8 + err (3) = 131
  EXPECT_EQ(syslog_message(sample(), Facility::local0, now), expected);
  EXPECT_EQ(octet_frame(expected), std::to_string(expected.size()) + " " + expected);

  auto n = sample(Event::resolved);
  n.alert.subject = "a\"b\\c]d";
  n.alert.severity = Severity::critical;
  n.collector = "bad host";
  const auto m = syslog_message(n, Facility::authpriv, now);
  EXPECT_EQ(m.rfind("<85>1 2026-11-25T15:00:01Z bad-host edusight-collector - resolved ", 0), 0u)
      << m;  // authpriv (10) * 8 + notice (5): resolved is a notice whatever the severity
  EXPECT_NE(m.find(R"(subject="a\"b\\c\]d")"), std::string::npos) << m;
  n.alert.severity = Severity::critical;
  n.event = Event::firing;
  EXPECT_EQ(syslog_message(n, Facility::kern, now).rfind("<2>1 ", 0), 0u);
}

TEST(NotifyFormat, Facilities) {
  EXPECT_EQ(parse_facility("local0"), Facility::local0);
  EXPECT_EQ(static_cast<int>(*parse_facility("local7")), 23);
  EXPECT_EQ(static_cast<int>(*parse_facility("authpriv")), 10);
  EXPECT_FALSE(parse_facility("local8"));
}

}  // namespace
}  // namespace edusight::collector::notify
