#include "collector/api/posture.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <cstdio>
#include <map>

namespace edusight::collector::api {

namespace {

double rate(const Ratio& r) {
  return r.total == 0 ? 0.0 : static_cast<double>(r.ipv6) / static_cast<double>(r.total);
}

boost::json::object ratio_json(const Ratio& r) {
  return {{"total", r.total}, {"ipv6", r.ipv6}, {"rate", rate(r)}};
}

constexpr const char* kSeverityNames[] = {"info", "low", "medium", "high", "critical"};

boost::json::object severity_json(const std::array<std::size_t, 5>& counts) {
  boost::json::object o;
  for (std::size_t i = 0; i < 5; ++i) o[kSeverityNames[i]] = counts[i];
  return o;
}

std::size_t total(const std::array<std::size_t, 5>& counts) {
  std::size_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

CampusFigures campus_figures(const std::vector<AssetView>& assets) {
  CampusFigures c;
  for (const auto cls : kOwnershipClasses) c.by_ownership[std::string(cls)] = 0;
  for (const char* s : {"ready", "partial", "unreachable", "none", "unknown"}) c.by_status[s] = 0;
  for (const auto& a : assets) {
    ++c.by_ownership[a.ownership];
    if (!counts_as_system(a)) continue;
    ++c.systems;
    if (a.registered && !a.unregistered) ++c.registered;
    if (a.unregistered) ++c.unregistered;
    if (a.zombie) ++c.zombie;
    ++c.by_status[a.ipv6_status];
    if (a.ipv6_status != "unknown") {
      ++c.checked.total;
      if (supports_ipv6(a)) ++c.checked.ipv6;
    }
    c.level2.total += a.level2_total;
    c.level2.ipv6 += a.level2_ipv6;
    c.level3.total += a.level3_total;
    c.level3.ipv6 += a.level3_ipv6;
  }
  return c;
}

std::string percent(const Ratio& r) {
  if (r.total == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * rate(r));
  return buf;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unit_name(const UnitReport& u) {
  return u.owner_unit.empty() ? "（未填写责任单位）" : u.owner_unit;
}

}  // namespace

const std::vector<std::string>& posture_kinds() {
  static const std::vector<std::string> kinds = {
      "asset.discovered",       "asset.non_own_ip",
      "asset.non_own_domain",   "asset.dual_non_own",
      "asset.unregistered",     "asset.zombie",
      "ipv6.readiness",         "exposure.ipv6_only_open_port",
      "exposure.risky_service", "tls.cert_expired",
      "tls.cert_expiring",      "tls.hostname_mismatch",
      "tls.weak_protocol"};
  return kinds;
}

bool counts_as_system(const AssetView& a) {
  return a.ownership != "external";
}

bool supports_ipv6(const AssetView& a) {
  return a.ipv6_status == "ready" || a.ipv6_status == "partial";
}

std::optional<Posture> load_posture(Store& store, std::chrono::system_clock::time_point now,
                                    std::string* error) {
  // One indexed query per kind (kind, last_seen), rather than a pass over every finding.
  std::vector<StoredFinding> open;
  for (const auto& kind : posture_kinds()) {
    FindingQuery q;
    q.kind = kind;
    q.state = FindingState::open;
    q.limit = 0;
    auto r = store.query(q);
    if (!r.ok) {
      *error = r.error;
      return std::nullopt;
    }
    std::move(r.findings.begin(), r.findings.end(), std::back_inserter(open));
  }
  const auto counts = store.open_findings_by_severity();
  if (!counts.ok) {
    *error = counts.error;
    return std::nullopt;
  }
  return build_posture(build_assets(open), counts.by_severity, now);
}

Posture build_posture(std::vector<AssetView> assets, const std::array<std::size_t, 5>& open,
                      std::chrono::system_clock::time_point now) {
  Posture p;
  p.as_of = now;
  p.assets = std::move(assets);
  p.open_findings = open;
  p.campus = campus_figures(p.assets);
  std::map<std::string, UnitReport> units;
  for (const auto& a : p.assets) {
    if (!counts_as_system(a)) continue;
    auto& u = units[a.owner_unit];
    u.owner_unit = a.owner_unit;
    ++u.systems;
    if (a.ipv6_status != "unknown") {
      ++u.homepage.total;
      if (supports_ipv6(a)) ++u.homepage.ipv6;
    }
    u.level2.total += a.level2_total;
    u.level2.ipv6 += a.level2_ipv6;
    u.level3.total += a.level3_total;
    u.level3.ipv6 += a.level3_ipv6;
    if (a.ownership == "dual_non_own") u.dual_non_own.push_back(a.name);
    if (a.unregistered) u.unregistered.push_back(a.name);
    if (a.zombie) u.zombie.push_back(a.name);
    u.exposure += a.exposure_count;
  }
  for (auto& [name, u] : units) {
    if (!name.empty()) p.units.push_back(std::move(u));
  }
  if (auto it = units.find(""); it != units.end()) p.units.push_back(std::move(it->second));
  return p;
}

boost::json::object overview_json(const Posture& p, const LiveCounts& live,
                                  const PostureHistory& history) {
  const auto& c = p.campus;
  boost::json::object by_ownership, by_status;
  for (const auto& [k, v] : c.by_ownership) by_ownership[k] = v;
  for (const auto& [k, v] : c.by_status) by_status[k] = v;
  boost::json::object o;
  o["as_of"] = format_rfc3339(p.as_of);
  o["systems"] = {{"total", c.systems},
                  {"by_ownership", std::move(by_ownership)},
                  {"registered", c.registered},
                  {"unregistered", c.unregistered},
                  {"zombie", c.zombie}};
  const std::size_t ready = c.by_status.at("ready");
  o["ipv6"] = {{"systems_checked", c.checked.total},
               {"by_status", std::move(by_status)},
               {"support_rate", rate(c.checked)},
               {"ready_rate", c.checked.total ? static_cast<double>(ready) / c.checked.total : 0.0},
               {"links", {{"level2", ratio_json(c.level2)}, {"level3", ratio_json(c.level3)}}}};
  o["alerts"] = {{"open", total(live.alerts.by_severity)},
                 {"by_severity", severity_json(live.alerts.by_severity)}};
  o["findings"] = {{"open", total(p.open_findings)},
                   {"by_severity", severity_json(p.open_findings)}};
  o["agents"] = {{"total", live.agents_total}, {"online", live.agents_online}};
  boost::json::array trend;
  for (const auto& day : history.days) {
    boost::json::object d = day.figures;
    d["date"] = day.date;
    trend.push_back(std::move(d));
  }
  o["trend"] = std::move(trend);
  return o;
}

boost::json::object day_figures(const Posture& p, std::size_t open_alerts) {
  const auto& c = p.campus;
  return {{"systems", c.systems},
          {"ipv6_support_rate", rate(c.checked)},
          {"dual_non_own", c.by_ownership.at("dual_non_own")},
          {"unregistered", c.unregistered},
          {"zombie", c.zombie},
          {"open_alerts", open_alerts}};
}

boost::json::object units_json(const Posture& p) {
  boost::json::array units;
  for (const auto& u : p.units) {
    units.push_back(boost::json::object{
        {"owner_unit", u.owner_unit},
        {"systems", u.systems},
        {"homepage",
         {{"checked", u.homepage.total}, {"ipv6", u.homepage.ipv6}, {"rate", rate(u.homepage)}}},
        {"level2", ratio_json(u.level2)},
        {"level3", ratio_json(u.level3)},
        {"dual_non_own", to_json_array(u.dual_non_own)},
        {"unregistered", to_json_array(u.unregistered)},
        {"zombie", to_json_array(u.zombie)},
        {"exposure", u.exposure}});
  }
  return {{"as_of", format_rfc3339(p.as_of)}, {"units", std::move(units)}};
}

std::string units_csv(const Posture& p) {
  std::string out = "\xEF\xBB\xBF";
  out +=
      "责任单位,系统数,首页IPv6支持率,二级链接IPv6支持率,三级链接IPv6支持率,双非系统,"
      "未登记系统,僵尸系统,暴露问题数\r\n";
  for (const auto& u : p.units) {
    const std::string row[] = {unit_name(u),
                               std::to_string(u.systems),
                               percent(u.homepage),
                               percent(u.level2),
                               percent(u.level3),
                               join(u.dual_non_own, " "),
                               join(u.unregistered, " "),
                               join(u.zombie, " "),
                               std::to_string(u.exposure)};
    for (std::size_t i = 0; i < std::size(row); ++i) out += (i ? "," : "") + csv_cell(row[i]);
    out += "\r\n";
  }
  return out;
}

std::string compliance_html(const Posture& p, const std::string& institution) {
  const auto& c = p.campus;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
      "<title>信息系统合规报表</title><style>"
      "body{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;width:100%;margin:1em 0}"
      "th,td{border:1px solid #999;padding:4px 8px;font-size:13px;text-align:left}"
      "th{background:#eee}h1{font-size:22px}h2{font-size:17px;margin-top:1.5em}"
      ".num{text-align:right}@media print{body{margin:0}h2{page-break-after:avoid}"
      "table{page-break-inside:auto}tr{page-break-inside:avoid}}</style></head><body>\n";
  h += "<h1>" + (institution.empty() ? "" : html_escape(institution) + " ") +
       "信息系统合规报表</h1>\n";
  h += "<p>数据截至 " + html_escape(format_rfc3339(p.as_of)) +
       "（UTC）。依据《教育部关于加强新时代教育管理信息化工作的通知》第3、4、14、16、17条。</p>\n";
  h +=
      "<h2>全校概况</h2><table><tr><th>信息系统</th><th>已登记</th><th>未登记</th><th>僵尸系统</th>"
      "<th>双非系统</th><th>首页IPv6支持率</th><th>二级链接IPv6支持率</th><th>三级链接IPv6支持率</"
      "th>"
      "</tr><tr>";
  Ratio homepage = c.checked;
  for (const std::string& cell :
       {std::to_string(c.systems), std::to_string(c.registered), std::to_string(c.unregistered),
        std::to_string(c.zombie), std::to_string(c.by_ownership.at("dual_non_own")),
        percent(homepage), percent(c.level2), percent(c.level3)}) {
    h += "<td class=\"num\">" + html_escape(cell) + "</td>";
  }
  h += "</tr></table>\n<h2>各责任单位</h2><table><tr><th>责任单位</th><th>系统数</th>"
       "<th>首页IPv6支持率</th><th>二级链接</th><th>三级链接</th><th>双非系统</th><th>未登记系统</"
       "th>"
       "<th>僵尸系统</th><th>暴露问题</th></tr>\n";
  for (const auto& u : p.units) {
    h += "<tr><td>" + html_escape(unit_name(u)) + "</td><td class=\"num\">" +
         std::to_string(u.systems) + "</td><td class=\"num\">" + percent(u.homepage) +
         "</td><td class=\"num\">" + percent(u.level2) + "</td><td class=\"num\">" +
         percent(u.level3) + "</td><td>" + html_escape(join(u.dual_non_own, "、")) + "</td><td>" +
         html_escape(join(u.unregistered, "、")) + "</td><td>" + html_escape(join(u.zombie, "、")) +
         "</td><td class=\"num\">" + std::to_string(u.exposure) + "</td></tr>\n";
  }
  h += "</table>\n<h2>信息系统名录（实测）</h2><table><tr><th>系统</th><th>责任单位</th><th>归属</"
       "th>"
       "<th>IPv6</th><th>登记</th><th>暴露问题</th></tr>\n";
  static const std::map<std::string, std::string> ownership_zh = {
      {"own", "本单位"},
      {"non_own_ip", "双非（校外地址）"},
      {"non_own_domain", "双非（非本校域名）"},
      {"dual_non_own", "双非"},
      {"external", "外部"},
      {"unknown", "未知"}};
  static const std::map<std::string, std::string> status_zh = {{"ready", "支持"},
                                                               {"partial", "部分支持"},
                                                               {"unreachable", "不可达"},
                                                               {"none", "不支持"},
                                                               {"unknown", "未检测"}};
  for (const auto& a : p.assets) {
    if (!counts_as_system(a)) continue;
    h += "<tr><td>" + html_escape(a.name) + "</td><td>" + html_escape(a.owner_unit) + "</td><td>" +
         ownership_zh.at(a.ownership) + "</td><td>" + status_zh.at(a.ipv6_status) + "</td><td>" +
         (a.unregistered ? "未登记"
          : a.zombie     ? "僵尸"
                         : "已登记") +
         "</td><td class=\"num\">" + std::to_string(a.exposure_count) + "</td></tr>\n";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

std::string campus_date(std::chrono::system_clock::time_point t) {
  const auto day = std::chrono::floor<std::chrono::days>(t + std::chrono::hours(8));
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// ---- the cache ----

PostureCache::PostureCache(Store& store, const Clock& clock, metrics::Registry& metrics,
                           std::chrono::milliseconds refresh)
    : store_(store),
      clock_(clock),
      refresh_(refresh),
      builds_(metrics.counter("edusight_posture_builds_total", "Posture snapshots built.").with()),
      build_ms_(metrics
                    .gauge("edusight_posture_build_milliseconds",
                           "How long the last posture snapshot took to build.")
                    .with()),
      failures_(metrics
                    .counter("edusight_posture_build_failures_total",
                             "Posture snapshots that could not be built (the last one stays).")
                    .with()),
      thread_(refresh_, [this] { refresh_once(); }) {}

PostureCache::~PostureCache() {
  stop();
}

void PostureCache::start() {
  thread_.start();
}

void PostureCache::stop() {
  thread_.stop();
}

bool PostureCache::refresh_once() {
  const std::int64_t version = store_.data_version();
  if (version != -1 && version == built_version_) return false;
  const auto started = clock_.steady_now();
  std::string error;
  auto posture = load_posture(store_, clock_.now(), &error);
  if (!posture) {
    failures_.add();
    spdlog::error("api: posture snapshot failed, keeping the last one: {}", error);
    return false;
  }
  const auto alerts = store_.active_alerts_by_severity();
  const auto open_alerts = alerts.ok ? total(alerts.by_severity) : 0;
  // The day's figures, for the trend; the last build of a day stands for it.
  if (const auto r =
          store_.record_posture({campus_date(posture->as_of), day_figures(*posture, open_alerts)});
      !r.ok) {
    spdlog::warn("api: cannot record the day's posture: {}", r.error);
  }
  current_.store(std::make_shared<const Posture>(std::move(*posture)));
  // The version read before the build: anything committed while it ran (by this collector's
  // writer or by another collector) shows as a change at the next pass. Our own
  // record_posture does not count (store.hpp).
  built_version_ = version;
  builds_.add();
  build_ms_.set(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started).count());
  return true;
}

}  // namespace edusight::collector::api
