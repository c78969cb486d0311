#pragma once
// A fixed notification shared by the notify tests.
#include "collector/notify/notification.hpp"

namespace edusight::collector::notify::test {

inline std::chrono::system_clock::time_point at(const char* rfc3339) {
  return *edusight::parse_rfc3339(rfc3339);
}

inline Notification sample(Event event = Event::firing) {
  Notification n;
  n.event = event;
  n.collector = "collector.demo-univ.edu.cn";
  n.link = "https://collector.demo-univ.edu.cn/api/v1/alerts/42";
  Alert& a = n.alert;
  a.id = 42;
  a.rule = "ipv6-web-unreachable";
  a.subject = "www.demo-univ.edu.cn";
  a.severity = Severity::high;
  a.title = "Website unreachable over IPv6";
  a.title_zh = "网站 IPv6 不可达";
  a.tags = {"第14条", "第15条"};
  a.remediation = "Fix the AAAA record or the IPv6 route.";
  a.remediation_zh = "修正 AAAA 记录或 IPv6 路由。";
  a.state = "firing";
  a.first_fired = at("2026-11-25T13:53:17Z");
  a.last_fired = at("2026-11-25T15:00:00Z");
  a.repeats = 3;
  a.finding_id = "f-0123abcd";
  a.agent = "campus-a";
  return n;
}

}  // namespace edusight::collector::notify::test
