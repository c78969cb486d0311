#pragma once
// Message bodies for every channel, as pure functions of a Notification (and, for the signed
// robots, a timestamp and secret), so each format is tested byte for byte. Chinese first,
// the English title after. docs/notifications.md describes the formats.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collector/notify/notification.hpp"

namespace edusight::collector::notify {

// 严重 / 高 / 中 / 低 / 信息
std::string_view severity_zh(Severity s);
// 告警 / 提醒 / 恢复: the headline's tag.
std::string_view event_zh(Event e);

// The generic webhook's JSON (schema version 1, see docs/notifications.md).
inline constexpr int webhook_schema_version = 1;
std::string webhook_json(const Notification& n);

// The shared markdown text of the robots (WeCom and DingTalk render the same subset).
std::string markdown_text(const Notification& n);
// WeCom group robot: {"msgtype":"markdown","markdown":{"content":...}}, content at most 4096
// bytes (the robot's limit).
std::string wecom_body(const Notification& n);
// DingTalk custom robot: {"msgtype":"markdown","markdown":{"title":...,"text":...}}.
std::string dingtalk_body(const Notification& n);
// DingTalk 加签: base64(HMAC-SHA256(key = secret, data = "<timestamp_ms>\n<secret>")), not
// yet URL-encoded.
std::string dingtalk_sign(std::int64_t timestamp_ms, std::string_view secret);
// The webhook URL with &timestamp=<ms>&sign=<url-encoded sign> appended.
std::string dingtalk_signed_url(std::string_view url, std::int64_t timestamp_ms,
                                std::string_view secret);
// Feishu/Lark signature: base64(HMAC-SHA256(key = "<timestamp_s>\n<secret>", data = "")).
std::string feishu_sign(std::int64_t timestamp_s, std::string_view secret);
// Feishu/Lark custom bot interactive card; with a secret, "timestamp" (seconds, as a string)
// and "sign" lead the body.
std::string feishu_body(const Notification& n, std::string_view secret = {},
                        std::int64_t timestamp_s = 0);

// RFC 5424 syslog.
enum class Facility : int {
  kern = 0,
  user,
  mail,
  daemon,
  auth,
  syslog,
  lpr,
  news,
  uucp,
  cron,
  authpriv,
  ftp,
  ntp,
  audit,
  alert,
  clock,
  local0,
  local1,
  local2,
  local3,
  local4,
  local5,
  local6,
  local7
};
std::optional<Facility> parse_facility(std::string_view name);
// critical 2 (crit), high 3 (err), medium 4 (warning), low 5 (notice), info 6 (info); a
// resolved event is 5 (notice) whatever the alert's severity.
int syslog_severity(const Notification& n);
// The SD-ID of our structured data element (32473 is the example enterprise number of RFC 5612).
inline constexpr std::string_view sd_id = "edusight@32473";
// Escapes '"', '\' and ']' in a PARAM-VALUE (RFC 5424 section 6.3.3).
std::string sd_escape(std::string_view value);
// One RFC 5424 message without framing: <PRI>1 TIMESTAMP HOSTNAME edusight-collector - MSGID
// [edusight@32473 ...] BOM MSG. HOSTNAME is the collector name ("-" when empty).
std::string syslog_message(const Notification& n, Facility facility,
                           std::chrono::system_clock::time_point now);
// Octet-counting framing (RFC 6587 3.4.1, RFC 5425 4.3): "<length> <message>".
std::string octet_frame(std::string_view message);

// Helpers, exposed for the tests.
std::string base64(std::string_view bytes);
std::string url_encode(std::string_view s);  // every byte but A-Z a-z 0-9 - . _ ~ as %XX
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
// At most max_bytes, cut at a UTF-8 character boundary, "…" appended when cut.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

}  // namespace edusight::collector::notify
