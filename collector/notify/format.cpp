#include "collector/notify/format.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <utility>
#include <vector>

namespace edusight::collector::notify {

namespace {

// The robots' markdown and card texts are capped well under every vendor's limit (WeCom's
// 4096 bytes is the smallest); long free text is cut first so the link survives.
constexpr std::size_t max_text_bytes = 4096;
constexpr std::size_t max_title_bytes = 300;
constexpr std::size_t max_remediation_bytes = 1500;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// One line of text: newlines and other control characters become spaces.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string state_zh(const Alert& a) {
  if (a.state == "firing") return "告警中";
  if (a.state == "acknowledged") {
    return a.acknowledged_by.empty() ? "已确认" : "已确认（" + a.acknowledged_by + "）";
  }
  if (a.state == "resolved") return "已恢复";
  return a.state;
}

std::string headline(const Notification& n) {
  return "【" + std::string(event_zh(n.event)) + "】" +
         truncate_utf8(one_line(n.alert.title_zh.empty() ? n.alert.title : n.alert.title_zh),
                       max_title_bytes);
}

// The labelled lines every robot shows, Chinese first, in this order.
std::vector<std::pair<std::string, std::string>> fields(const Notification& n) {
  const Alert& a = n.alert;
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("级别", std::string(severity_zh(a.severity)));
  out.emplace_back("对象", one_line(a.subject));
  out.emplace_back("规则", one_line(a.rule));
  if (!a.tags.empty()) out.emplace_back("条款", one_line(join(a.tags, "、")));
  out.emplace_back("状态", state_zh(a));
  out.emplace_back("首次告警", format_rfc3339(a.first_fired));
  out.emplace_back("最近告警",
                   format_rfc3339(a.last_fired) + "（共 " + std::to_string(a.repeats) + " 次）");
  if (a.resolved_at) out.emplace_back("恢复时间", format_rfc3339(*a.resolved_at));
  if (!a.remediation_zh.empty()) {
    out.emplace_back("处置建议", truncate_utf8(a.remediation_zh, max_remediation_bytes));
  }
  if (!a.title.empty())
    out.emplace_back("English", truncate_utf8(one_line(a.title), max_title_bytes));
  out.emplace_back("采集器", one_line(n.collector));
  out.emplace_back("告警编号", std::to_string(a.id));
  return out;
}

// Markdown lines joined by `sep`: WeCom breaks lines at "\n", DingTalk needs a blank line.
std::string render_markdown(const Notification& n, std::string_view heading, std::string_view sep) {
  std::string text = std::string(heading) + headline(n);
  for (const auto& [label, value] : fields(n)) {
    text += sep;
    text += "**" + label + "**：" + value;
  }
  std::string link;
  if (!n.link.empty()) link = std::string(sep) + "[查看告警](" + one_line(n.link) + ")";
  const std::size_t room = max_text_bytes > link.size() ? max_text_bytes - link.size() : 0;
  return truncate_utf8(text, room) + link;
}

std::string feishu_template(const Notification& n) {
  if (n.event == Event::resolved) return "green";
  switch (n.alert.severity) {
    case Severity::critical:
      return "red";
    case Severity::high:
      return "orange";
    case Severity::medium:
      return "yellow";
    case Severity::low:
      return "blue";
    case Severity::info:
      return "grey";
  }
  return "grey";
}

}  // namespace

std::string_view severity_zh(Severity s) {
  switch (s) {
    case Severity::critical:
      return "严重";
    case Severity::high:
      return "高";
    case Severity::medium:
      return "中";
    case Severity::low:
      return "低";
    case Severity::info:
      return "信息";
  }
  return "信息";
}

std::string_view event_zh(Event e) {
  switch (e) {
    case Event::firing:
      return "告警";
    case Event::reminder:
      return "提醒";
    case Event::resolved:
      return "恢复";
  }
  return "告警";
}

std::string webhook_json(const Notification& n) {
  const Alert& a = n.alert;
  boost::json::object alert;
  alert["id"] = a.id;
  alert["rule"] = a.rule;
  alert["subject"] = a.subject;
  alert["severity"] = to_string(a.severity);
  alert["severity_zh"] = severity_zh(a.severity);
  alert["title"] = a.title;
  alert["title_zh"] = a.title_zh;
  alert["tags"] = to_json_array(a.tags);
  alert["remediation"] = a.remediation;
  alert["remediation_zh"] = a.remediation_zh;
  alert["state"] = a.state;
  alert["first_fired"] = format_rfc3339(a.first_fired);
  alert["last_fired"] = format_rfc3339(a.last_fired);
  if (a.resolved_at) {
    alert["resolved_at"] = format_rfc3339(*a.resolved_at);
  } else {
    alert["resolved_at"] = nullptr;
  }
  alert["repeats"] = a.repeats;
  alert["acknowledged_by"] = a.acknowledged_by;
  alert["finding_id"] = a.finding_id;
  alert["agent"] = a.agent;
  boost::json::object root;
  root["version"] = webhook_schema_version;
  root["event"] = to_string(n.event);
  root["collector"] = n.collector;
  root["link"] = n.link;
  root["alert"] = std::move(alert);
  return boost::json::serialize(root);
}

std::string markdown_text(const Notification& n) {
  return render_markdown(n, "### ", "\n");
}

std::string wecom_body(const Notification& n) {
  boost::json::object md;
  md["content"] = render_markdown(n, "### ", "\n");
  boost::json::object root;
  root["msgtype"] = "markdown";
  root["markdown"] = std::move(md);
  return boost::json::serialize(root);
}

std::string dingtalk_body(const Notification& n) {
  boost::json::object md;
  md["title"] = headline(n);  // what the chat list shows
  md["text"] = render_markdown(n, "### ", "\n\n");
  boost::json::object root;
  root["msgtype"] = "markdown";
  root["markdown"] = std::move(md);
  return boost::json::serialize(root);
}

std::string dingtalk_sign(std::int64_t timestamp_ms, std::string_view secret) {
  const std::string to_sign = std::to_string(timestamp_ms) + "\n" + std::string(secret);
  return base64(hmac_sha256(secret, to_sign));
}

std::string dingtalk_signed_url(std::string_view url, std::int64_t timestamp_ms,
                                std::string_view secret) {
  std::string out(url);
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += "timestamp=" + std::to_string(timestamp_ms) +
         "&sign=" + url_encode(dingtalk_sign(timestamp_ms, secret));
  return out;
}

std::string feishu_sign(std::int64_t timestamp_s, std::string_view secret) {
  const std::string key = std::to_string(timestamp_s) + "\n" + std::string(secret);
  return base64(hmac_sha256(key, ""));
}

std::string feishu_body(const Notification& n, std::string_view secret, std::int64_t timestamp_s) {
  std::string content;
  for (const auto& [label, value] : fields(n)) {
    if (!content.empty()) content += "\n";
    content += "**" + label + "**：" + value;
  }
  std::string link;
  if (!n.link.empty()) link = "\n[查看告警](" + one_line(n.link) + ")";
  const std::size_t room = max_text_bytes > link.size() ? max_text_bytes - link.size() : 0;
  content = truncate_utf8(content, room) + link;

  boost::json::object text{{"tag", "lark_md"}, {"content", content}};
  boost::json::object div{{"tag", "div"}, {"text", std::move(text)}};
  boost::json::object title{{"tag", "plain_text"}, {"content", headline(n)}};
  boost::json::object header;
  header["template"] = feishu_template(n);
  header["title"] = std::move(title);
  boost::json::object card;
  card["config"] = boost::json::object{{"wide_screen_mode", true}};
  card["header"] = std::move(header);
  card["elements"] = boost::json::array{std::move(div)};
  boost::json::object root;
  if (!secret.empty()) {
    root["timestamp"] = std::to_string(timestamp_s);
    root["sign"] = feishu_sign(timestamp_s, secret);
  }
  root["msg_type"] = "interactive";
  root["card"] = std::move(card);
  return boost::json::serialize(root);
}

std::optional<Facility> parse_facility(std::string_view name) {
  static constexpr std::array<std::string_view, 24> names{
      "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
      "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
      "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Facility>(i);
  }
  return std::nullopt;
}

int syslog_severity(const Notification& n) {
  if (n.event == Event::resolved) return 5;
  switch (n.alert.severity) {
    case Severity::critical:
      return 2;
    case Severity::high:
      return 3;
    case Severity::medium:
      return 4;
    case Severity::low:
      return 5;
    case Severity::info:
      return 6;
  }
  return 6;
}

std::string sd_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string syslog_message(const Notification& n, Facility facility,
                           std::chrono::system_clock::time_point now) {
  const Alert& a = n.alert;
  const int pri = static_cast<int>(facility) * 8 + syslog_severity(n);
  // HOSTNAME is 1*255 PRINTUSASCII (RFC 5424 6.2.4).
  std::string host = n.collector.substr(0, 255);
  for (auto& c : host) {
    if (c < 33 || c > 126) c = '-';
  }
  if (host.empty()) host = "-";

  std::string sd = "[" + std::string(sd_id);
  const auto param = [&](std::string_view name, std::string_view value) {
    sd += " " + std::string(name) + "=\"" + sd_escape(value) + "\"";
  };
  param("id", std::to_string(a.id));
  param("event", to_string(n.event));
  param("rule", a.rule);
  param("subject", a.subject);
  param("severity", to_string(a.severity));
  param("state", a.state);
  param("repeats", std::to_string(a.repeats));
  param("first_fired", format_rfc3339(a.first_fired));
  param("last_fired", format_rfc3339(a.last_fired));
  if (a.resolved_at) param("resolved_at", format_rfc3339(*a.resolved_at));
  if (!a.acknowledged_by.empty()) param("acknowledged_by", a.acknowledged_by);
  if (!a.tags.empty()) param("tags", join(a.tags, ","));
  if (!a.finding_id.empty()) param("finding_id", a.finding_id);
  if (!a.agent.empty()) param("agent", a.agent);
  if (!n.link.empty()) param("link", n.link);
  sd += "]";

  std::string msg = headline(n) + " | 级别：" + std::string(severity_zh(a.severity)) + " | 对象：" +
                    one_line(a.subject) + " | 规则：" + one_line(a.rule);
  if (!a.tags.empty()) msg += " | 条款：" + one_line(join(a.tags, "、"));
  if (!a.title.empty()) msg += " | " + truncate_utf8(one_line(a.title), max_title_bytes);

  return "<" + std::to_string(pri) + ">1 " + format_rfc3339(now) + " " + host +
         " edusight-collector - " + std::string(to_string(n.event)) + " " + sd + " \xEF\xBB\xBF" +
         msg;
}

std::string octet_frame(std::string_view message) {
  return std::to_string(message.size()) + " " + std::string(message);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // A zero-length key still needs a valid pointer.
  static const unsigned char empty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&empty) : key.data();
  const auto* d = data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data());
  if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), md, &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string truncate_utf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  static constexpr std::string_view ellipsis = "…";  // 3 bytes
  if (max_bytes < ellipsis.size()) return {};
  std::size_t cut = max_bytes - ellipsis.size();
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + std::string(ellipsis);
}

}  // namespace edusight::collector::notify
