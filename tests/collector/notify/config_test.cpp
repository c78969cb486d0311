#include "collector/notify/config.hpp"

#include <gtest/gtest.h>

namespace edusight::collector::notify {
namespace {

using namespace std::chrono_literals;

std::vector<ChannelConfig> parse(const std::string& yaml) {
  Reader r("collector.yaml");
  const auto root = load_yaml(yaml, "collector.yaml");
  return parse_channels(r, root["notifications"]);
}

// The ConfigError's "line:column: message" for a bad configuration.
std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return std::to_string(e.line()) + ":" + std::to_string(e.column()) + " " + e.what();
  }
  return "no error";
}

TEST(NotifyConfig, ParsesEveryKind) {
  const auto c = parse(R"(notifications:
  - name: security-center
    type: webhook
    url: https://hooks.example.edu.cn/edusight
    headers: {Authorization: "Bearer abc", X-Campus: demo}
    min_severity: medium
    events: [firing, resolved]
    timeout: 10s
    ca_file: /etc/ssl/certs/campus-ca.pem
  - name: wecom-soc
    type: wecom
    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k
  - name: ding
    type: dingtalk
    url: https://oapi.dingtalk.com/robot/send?access_token=t
    secret: SECabc
    min_severity: high
  - name: lark
    type: feishu
    url: https://open.feishu.cn/open-apis/bot/v2/hook/x
    secret: s
    events: reminder
  - name: siem
    type: syslog
    address: 192.0.2.10:6514
    transport: tls
    ca_file: /etc/edusight/siem-ca.pem
    server_name: siem.example.edu.cn
    facility: local3
    timeout: 3s
  - name: siem6
    type: syslog
    address: "[2001:db8::10]"
    transport: tcp
)");
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].name, "security-center");
  EXPECT_EQ(c[0].type, ChannelType::webhook);
  EXPECT_EQ(c[0].url, "https://hooks.example.edu.cn/edusight");
  ASSERT_EQ(c[0].headers.size(), 2u);
  EXPECT_EQ(c[0].headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer abc"}));
  EXPECT_EQ(c[0].filter.min_severity, Severity::medium);
  EXPECT_EQ(c[0].filter.events, (std::set<Event>{Event::firing, Event::resolved}));
  EXPECT_EQ(c[0].timeout, 10s);
  EXPECT_EQ(c[0].ca_file, "/etc/ssl/certs/campus-ca.pem");
  EXPECT_EQ(c[1].type, ChannelType::wecom);
  EXPECT_EQ(c[1].filter.min_severity, Severity::info);
  EXPECT_EQ(c[1].filter.events.size(), 3u);
  EXPECT_EQ(c[2].secret, "SECabc");
  EXPECT_EQ(c[3].type, ChannelType::feishu);
  EXPECT_EQ(c[3].filter.events, (std::set<Event>{Event::reminder}));
  EXPECT_EQ(c[4].type, ChannelType::syslog);
  EXPECT_EQ(c[4].host, "192.0.2.10");
  EXPECT_EQ(c[4].port, 6514);
  EXPECT_EQ(c[4].transport, SyslogTransport::tls);
  EXPECT_EQ(c[4].server_name, "siem.example.edu.cn");
  EXPECT_EQ(c[4].facility, Facility::local3);
  EXPECT_EQ(c[4].timeout, 3s);
  EXPECT_EQ(c[5].host, "2001:db8::10");
  EXPECT_EQ(c[5].port, 514);  // tcp's default
  EXPECT_EQ(c[5].transport, SyslogTransport::tcp);

  EXPECT_TRUE(parse("notifications:\n").empty());
  EXPECT_TRUE(parse("other: 1\n").empty());
}

TEST(NotifyConfig, ErrorsPointAtTheLine) {
  EXPECT_EQ(error_of("notifications:\n  - name: a\n    type: webhook\n    url: https://x\n    "
                     "colour: red\n"),
            "5:5 collector.yaml:5:5: unknown key 'colour' in notifications[0] (known: address, "
            "ca_file, events, facility, headers, min_severity, name, secret, server_name, "
            "timeout, transport, type, url)");
  EXPECT_EQ(error_of("notifications:\n  - name: a\n    type: slack\n    url: https://x\n"),
            "3:11 collector.yaml:3:11: notification channel 'a': type must be webhook, wecom, "
            "dingtalk, feishu or syslog, not 'slack'");
  EXPECT_EQ(error_of("notifications: {name: a}\n"),
            "1:16 collector.yaml:1:16: notifications must be a list of channels");
}

TEST(NotifyConfig, RefusesWhatDoesNotFit) {
  const auto line = [](const std::string& yaml) {
    const auto e = error_of(yaml);
    return e.substr(0, e.find(' '));
  };
  const auto has = [](const std::string& yaml, const std::string& what) {
    const auto e = error_of(yaml);
    return e.find(what) != std::string::npos ? std::string("ok") : e;
  };
  const std::string head = "notifications:\n  - name: a\n";
  EXPECT_EQ(has(head + "    url: https://x\n", "needs a type"), "ok");
  EXPECT_EQ(has(head + "    type: webhook\n", "needs a url"), "ok");
  EXPECT_EQ(has(head + "    type: webhook\n    url: ftp://x\n", "http:// or https://"), "ok");
  EXPECT_EQ(line(head + "    type: wecom\n    url: https://x\n    headers: {A: b}\n"), "5:14");
  EXPECT_EQ(has(head + "    type: wecom\n    url: https://x\n    secret: s\n",
                "dingtalk and feishu channels only"),
            "ok");
  EXPECT_EQ(has(head + "    type: webhook\n    url: https://x\n    address: 1.2.3.4:514\n",
                "syslog channels only"),
            "ok");
  EXPECT_EQ(has(head + "    type: syslog\n    url: https://x\n", "'url' is not for syslog"), "ok");
  EXPECT_EQ(has(head + "    type: syslog\n", "needs an address"), "ok");
  EXPECT_EQ(line(head + "    type: syslog\n    address: 2001:db8::1:514\n"), "4:14");
  EXPECT_EQ(has(head + "    type: syslog\n    address: host:70000\n", "not a port number"), "ok");
  EXPECT_EQ(has(head + "    type: syslog\n    address: h:514\n    transport: udp\n", "tcp or tls"),
            "ok");
  EXPECT_EQ(has(head + "    type: syslog\n    address: h:514\n    transport: tcp\n    "
                       "server_name: x\n",
                "server_name needs transport tls"),
            "ok");
  EXPECT_EQ(
      has(head + "    type: syslog\n    address: h\n    facility: local9\n", "syslog facility"),
      "ok");
  EXPECT_EQ(line(head + "    type: webhook\n    url: https://x\n    min_severity: urgent\n"),
            "5:19");
  EXPECT_EQ(line(head + "    type: webhook\n    url: https://x\n    events: [firing, paged]\n"),
            "5:13");
  EXPECT_EQ(line(head + "    type: webhook\n    url: https://x\n    timeout: 10 minutes\n"),
            "5:14");
  EXPECT_EQ(line(head + "    type: webhook\n    url: https://x\n    timeout: 10m\n"), "5:14");
  EXPECT_EQ(has("notifications:\n  - name: bad name\n    type: webhook\n    url: https://x\n",
                "letters, digits"),
            "ok");
  EXPECT_EQ(line("notifications:\n  - {name: a, type: webhook, url: \"https://x\"}\n  - {name: "
                 "a, type: wecom, url: \"https://y\"}\n"),
            "3:12");
  EXPECT_EQ(has(head + "    type: webhook\n    url: https://x\n    headers: {\"Bad Header\": x}\n",
                "not a header name"),
            "ok");
}

TEST(NotifyConfig, MakesChannelsAndRoutes) {
  const auto configs = parse(R"(notifications:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/x", min_severity: high}
  - {name: siem, type: syslog, address: "127.0.0.1:9", transport: tcp})");
  const auto channels = make_channels(configs);
  ASSERT_EQ(channels.size(), 2u);
  EXPECT_EQ(channels[0]->name(), "hook");
  EXPECT_EQ(channels[1]->name(), "siem");
  const auto routes = make_routes(configs, system_clock());
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].filter.min_severity, Severity::high);

  // A CA file that cannot be read is a start-up error, not a silent failure later.
  const auto bad = parse(R"(notifications:
  - {name: siem, type: syslog, address: "127.0.0.1:6514", ca_file: /nonexistent/ca.pem})");
  EXPECT_THROW(make_channels(bad), ConfigError);
}

}  // namespace
}  // namespace edusight::collector::notify
