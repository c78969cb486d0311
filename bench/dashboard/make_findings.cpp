// edusight-bench-dashboard-findings: a collector database with N stored findings (default
// 1,000,000) shaped like a large campus's, written through SqliteStore::commit_batches (the
// collector's own writer path: group commit, chunks of 500 findings as agents send them).
//
//   edusight-bench-dashboard-findings DB_PATH [--findings N] [--hosts H] [--seed S]
//
// What is in it (all deterministic for a given N and seed):
//   - H hosts (default 15 % of N, 150,000 at 1M) under <svc><n>.<dept>.demo-univ.edu.cn, 42
//     owner units with Chinese names; a few percent non-own names (shifan-edu.cn,
//     alumni-shifan.org, partner CDNs). Addresses only in 192.0.2.0/24 and 2001:db8::/32: the
//     "own" prefixes are 192.0.2.0/25 and 2001:db8::/40, the rest stands for others' addresses.
//   - agent campus-a, job nightly: asset.discovered for every host (the discovery probe's
//     evidence: ipv4, ipv6, sources, own_domain, own_address, own_zone/own_prefix,
//     registrable_domain, title/url/http_status, open_ports, registered, registry_name,
//     owner_unit, live), asset.non_own_ip / non_own_domain / dual_non_own / unregistered /
//     zombie for a share of them, and tls.* and exposure.* on host:port subjects.
//   - agent campus-b, job ipv6-nightly: ipv6.readiness (score, score_parts, links levels) for
//     85 % of hosts and the ipv6.* problems that go with it.
//   - agent campus-c, job deep-weekly: per-URL and per-address web checks, mail, name server
//     and passive net.* findings, as many as it takes to reach N rows.
//   - agent campus-d, job legacy-sweep: an old scan (6 % of N) whose next scan re-reported a
//     tenth of it with scan_complete, so the rest is resolved (and its alerts too).
//   - a few hundred open alerts (Batch.alerts with rules::AlertIntent) on tls.cert_expired,
//     tls.cert_expiring and exposure.risky_service findings, whose policy says they alert.
// Collector-side times (first/last seen) spread over the 13 days before now, one instant per
// chunk, as a collector receiving nightly scans would record them.
//
// Prints "key: value" lines (bench/dashboard/run.sh reads them). Exit 0 on success, 1 on a
// store error, 2 on bad arguments.
#include <algorithm>
#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/sqlite_store.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/finding.hpp"

namespace {

using namespace edusight;
using namespace edusight::collector;
namespace json = boost::json;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::size_t kChunk = 500;  // the agent's batch_max_findings default
constexpr std::size_t kGroup = 64;   // chunks a transaction (the collector groups up to this)

// ---- deterministic randomness: a hash of (host, salt) ----
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
std::uint64_t g_seed = 1;
// Uniform in [0, 1) for (h, salt).
double unit(std::uint64_t h, std::uint64_t salt) {
  return static_cast<double>(mix(mix(h * 1315423911ULL + salt) ^ g_seed) >> 11) * 0x1.0p-53;
}
std::uint64_t pick(std::uint64_t h, std::uint64_t salt, std::uint64_t n) {
  return mix(mix(h * 2654435761ULL + salt) ^ g_seed) % n;
}

// ---- the campus ----
struct Unit {
  const char* code;
  const char* name;
};
constexpr Unit kUnits[] = {
    {"cs", "计算机学院"},
    {"ee", "电子工程学院"},
    {"math", "数学科学学院"},
    {"phy", "物理学院"},
    {"chem", "化学学院"},
    {"bio", "生命科学学院"},
    {"sem", "经济管理学院"},
    {"law", "法学院"},
    {"sfl", "外国语学院"},
    {"chinese", "文学院"},
    {"history", "历史学院"},
    {"philo", "哲学系"},
    {"journal", "新闻与传播学院"},
    {"marx", "马克思主义学院"},
    {"edu", "教育学院"},
    {"psy", "心理学院"},
    {"med", "医学院"},
    {"pharm", "药学院"},
    {"sph", "公共卫生学院"},
    {"env", "环境学院"},
    {"mse", "材料科学与工程学院"},
    {"me", "机械工程学院"},
    {"civil", "土木工程学院"},
    {"arch", "建筑学院"},
    {"aero", "航天学院"},
    {"energy", "能源与动力学院"},
    {"auto", "自动化学院"},
    {"ss", "软件学院"},
    {"art", "艺术学院"},
    {"pe", "体育部"},
    {"lib", "图书馆"},
    {"its", "信息化办公室"},
    {"jwc", "教务处"},
    {"grs", "研究生院"},
    {"xsc", "学生工作部"},
    {"rsc", "人事处"},
    {"cwc", "财务处"},
    {"kyc", "科学技术研究院"},
    {"oir", "国际合作与交流处"},
    {"hq", "后勤保障部"},
    {"hospital", "校医院"},
    {"zsb", "招生办公室"},
};
constexpr std::size_t kUnitCount = std::size(kUnits);

constexpr const char* kServices[] = {
    "www",  "lab",     "mail", "oa",     "vpn",     "portal", "jw",    "cms",
    "news", "ftp",     "git",  "wiki",   "course",  "exam",   "id",    "pay",
    "card", "hr",      "yjs",  "bbs",    "blog",    "db",     "dev",   "test",
    "api",  "cloud",   "hpc",  "gpu",    "meeting", "video",  "open",  "alumni",
    "job",  "seminar", "data", "office", "print",   "survey", "ehall", "mirror"};
constexpr std::size_t kServiceCount = std::size(kServices);

constexpr const char* kSources[][3] = {
    {"registry", "axfr", nullptr},      {"registry", "wordlist", nullptr},
    {"axfr", nullptr, nullptr},         {"wordlist", "certificate", nullptr},
    {"ptr", nullptr, nullptr},          {"link", "wordlist", nullptr},
    {"registry", "axfr", "certificate"}};

struct RiskyPort {
  int port;
  const char* service;
};
constexpr RiskyPort kRisky[] = {{22, "ssh"},
                                {23, "telnet"},
                                {445, "smb"},
                                {3306, "mysql"},
                                {3389, "rdp"},
                                {6379, "redis"},
                                {9200, "elasticsearch"},
                                {27017, "mongodb"},
                                {11211, "memcached"}};

enum class Cls { own, non_own_ip, non_own_domain, dual_non_own, external };

// Everything about host h that its findings are made from.
struct Host {
  std::uint64_t h = 0;
  std::string name;
  std::size_t unit = 0;
  Cls cls = Cls::own;
  std::string registrable;
  std::string ipv4, ipv6;  // ipv6 empty: no AAAA
  bool registered = true, unregistered = false, zombie = false, web = true;
  std::size_t sources = 0;
};

std::string hex(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

Host host(std::uint64_t h) {
  Host x;
  x.h = h;
  x.unit = h % kUnitCount;
  const auto svc = kServices[(h / kUnitCount) % kServiceCount];
  const auto n = h / (kUnitCount * kServiceCount);
  const std::string label = std::string(svc) + (n ? std::to_string(n) : "");
  const std::string dept = kUnits[x.unit].code;
  const double c = unit(h, 1);
  x.cls = c < 0.04    ? Cls::non_own_ip
          : c < 0.06  ? Cls::non_own_domain
          : c < 0.07  ? Cls::dual_non_own
          : c < 0.085 ? Cls::external
                      : Cls::own;
  switch (x.cls) {
    case Cls::own:
    case Cls::non_own_ip:
      x.registrable = "demo-univ.edu.cn";
      x.name = label + "." + dept + ".demo-univ.edu.cn";
      break;
    case Cls::non_own_domain:
      x.registrable = "shifan-edu.cn";
      x.name = label + "-" + dept + ".shifan-edu.cn";
      break;
    case Cls::dual_non_own:
      x.registrable = "alumni-shifan.org";
      x.name = label + "." + dept + ".alumni-shifan.org";
      break;
    case Cls::external:
      x.registrable = "partner-cdn.net";
      x.name = label + "-" + dept + ".partner-cdn.net";
      break;
  }
  const bool own_addr = x.cls == Cls::own || x.cls == Cls::non_own_domain;
  // Own: 192.0.2.0/25 and 2001:db8::/40; others': 192.0.2.128/25 and 2001:db8:ff00::/40.
  x.ipv4 = "192.0.2." + std::to_string(own_addr ? 1 + h % 126 : 129 + h % 125);
  if (unit(h, 2) < 0.72) {
    x.ipv6 = own_addr ? "2001:db8:" + hex(x.unit + 1) + ":" + hex((h >> 16) & 0xffff) +
                            "::" + hex(h & 0xffff)
                      : "2001:db8:ff" + hex(0x10 + x.unit) + "::" + hex(h & 0xffff);
  }
  const bool own_name = x.cls == Cls::own || x.cls == Cls::non_own_ip;
  x.registered = own_name && unit(h, 3) < 0.88;
  x.unregistered = own_name && !x.registered && unit(h, 4) < 0.3;  // live, missing
  x.zombie = x.registered && unit(h, 5) < 0.025;
  x.web = unit(h, 6) < 0.85;
  x.sources = pick(h, 7, std::size(kSources));
  return x;
}

// ---- findings ----
const TimePoint kObservedBase = std::chrono::system_clock::now();

Finding make(std::string kind, Severity sev, std::string subject, std::string discriminator,
             std::string title, std::string title_zh, json::object ev) {
  Finding f;
  f.id = finding_id(kind, subject, discriminator);
  f.kind = std::move(kind);
  f.severity = sev;
  f.subject = std::move(subject);
  f.title = std::move(title);
  f.title_zh = std::move(title_zh);
  f.evidence = std::move(ev);
  f.observed_at = kObservedBase;
  return f;
}

// What the shipped rules make of it (policy is stored with the finding).
void with_policy(Finding& f, const char* rule, const char* tag, bool alerting) {
  f.policy.rules = {rule};
  if (alerting) f.policy.alerting = {rule};
  f.policy.tags = {tag};
}

json::object discovery_base(const Host& x) {
  json::object b;
  b["ipv4"] = json::array{json::value(x.ipv4)};
  b["ipv6"] = x.ipv6.empty() ? json::array{} : json::array{json::value(x.ipv6)};
  json::array sources;
  for (const char* s : kSources[x.sources]) {
    if (s) sources.emplace_back(s);
  }
  b["sources"] = std::move(sources);
  const bool own_domain = x.cls == Cls::own || x.cls == Cls::non_own_ip;
  const bool own_address = x.cls == Cls::own || x.cls == Cls::non_own_domain;
  b["own_domain"] = own_domain;
  b["own_address"] = own_address;
  if (own_domain) b["own_zone"] = "demo-univ.edu.cn";
  if (own_address) b["own_prefix"] = x.ipv6.empty() ? "192.0.2.0/25" : "2001:db8::/40";
  b["registrable_domain"] = x.registrable;
  if (x.web) {
    b["title"] =
        std::string(kUnits[x.unit].name) + " - " + kServices[(x.h / kUnitCount) % kServiceCount];
    b["url"] = "https://" + x.name + "/";
    b["http_status"] = 200;
  }
  if (x.cls == Cls::dual_non_own || x.cls == Cls::external) {
    b["linked_from"] = json::array{
        json::value("https://www." + std::string(kUnits[x.unit].code) + ".demo-univ.edu.cn/")};
  }
  if (x.web) {
    b["open_ports"] = json::array{json::object{{"address", x.ipv4}, {"port", 443}},
                                  json::object{{"address", x.ipv4}, {"port", 80}}};
  }
  b["registered"] = x.registered;
  if (x.registered) {
    b["registry_name"] = std::string(kUnits[x.unit].name) + "信息系统" + std::to_string(x.h % 97);
    b["owner_unit"] = kUnits[x.unit].name;
  }
  b["live"] = x.web || !x.zombie;
  return b;
}

json::object cert(const Host& x, int port, int days_from_now) {
  const auto not_after = kObservedBase + std::chrono::hours(24) * days_from_now;
  return {{"address", x.ipv4},
          {"port", port},
          {"subject", "CN=" + x.name},
          {"issuer", "CN=GlobalSign RSA OV SSL CA 2018,O=GlobalSign nv-sa,C=BE"},
          {"names", json::array{json::value(x.name)}},
          {"not_before", format_rfc3339(not_after - std::chrono::hours(24 * 365))},
          {"not_after", format_rfc3339(not_after)}};
}

// Agent campus-a: discovery and posture of host h.
void discovery_findings(const Host& x, std::vector<Finding>& out) {
  const auto base = discovery_base(x);
  out.push_back(make("asset.discovered", Severity::info, x.name, "", "System discovered",
                     "发现信息系统", base));
  with_policy(out.back(), "asset-discovered", "第9条", false);
  if (x.cls == Cls::non_own_ip) {
    auto ev = base;
    ev["hosted_by"] = "aliyuncs.com";
    out.push_back(make("asset.non_own_ip", Severity::medium, x.name, "",
                       "Own domain resolves to addresses outside the institution's prefixes",
                       "本单位域名解析到非本单位 IP 地址", std::move(ev)));
    with_policy(out.back(), "asset-non-own-ip", "第10条", false);
  } else if (x.cls == Cls::non_own_domain) {
    out.push_back(make("asset.non_own_domain", Severity::medium, x.name, "",
                       "A system on the institution's addresses runs under a domain that is not "
                       "the institution's",
                       "本单位 IP 地址上运行非本单位域名的系统", base));
    with_policy(out.back(), "asset-non-own-domain", "第10条", false);
  } else if (x.cls == Cls::dual_non_own) {
    auto ev = base;
    ev["ties"] = json::object{{"registry", false},
                              {"unit_name_in_title", true},
                              {"unit_name_in_text", true},
                              {"unit_in_certificate", false},
                              {"linked_from_own_site", true},
                              {"unit_names_seen", json::array{json::value(kUnits[x.unit].name)}}};
    out.push_back(make("asset.dual_non_own", Severity::high, x.name, "",
                       "System on neither the institution's domain nor its addresses, yet tied "
                       "to the institution (双非)",
                       "双非系统：既非本单位域名也非本单位 IP 地址，但与本单位相关",
                       std::move(ev)));
    with_policy(out.back(), "asset-dual-non-own", "第10条", false);
  }
  if (x.unregistered) {
    out.push_back(make("asset.unregistered", Severity::low, x.name, "",
                       "Live system missing from the registry of information systems",
                       "在用信息系统未登记在信息系统名录中", base));
    with_policy(out.back(), "asset-unregistered", "第9条", false);
  }
  if (x.zombie) {
    auto ev = base;
    ev["reasons"] = json::array{"certificate expired 412 days ago", "page unchanged since 2021"};
    ev["registry_line"] = static_cast<std::int64_t>(x.h % 5000 + 2);
    ev["admin"] = "张老师";
    out.push_back(make("asset.zombie", Severity::medium, x.name, "",
                       "Registered system shows no life or signs of abandonment (zombie)",
                       "僵尸系统：名录中的系统无法访问或长期无人维护", std::move(ev)));
    with_policy(out.back(), "asset-zombie", "第9条", false);
  }
  // TLS on 443 (web hosts) and 8443 (some), risky services, IPv6-only open ports.
  for (const int port : {443, 8443}) {
    if (!x.web || (port == 8443 && unit(x.h, 10) >= 0.12)) continue;
    const std::string subject = x.name + ":" + std::to_string(port);
    const auto salt = static_cast<std::uint64_t>(port);
    const double e = unit(x.h, 20 + salt);
    if (e < 0.03) {
      const int days = -static_cast<int>(1 + pick(x.h, 21 + salt, 400));
      auto ev = cert(x, port, days);
      ev["days_since_expiry"] = -days;
      out.push_back(make("tls.cert_expired", Severity::high, subject, "",
                         "TLS certificate has expired", "TLS 证书已过期", std::move(ev)));
      with_policy(out.back(), "tls-cert-expired", "第16条", false);
    } else if (e < 0.08) {
      const int days = static_cast<int>(1 + pick(x.h, 22 + salt, 29));
      auto ev = cert(x, port, days);
      ev["days_left"] = days;
      ev["window_days"] = 30;
      out.push_back(make("tls.cert_expiring", Severity::medium, subject, "",
                         "TLS certificate expires in " + std::to_string(days) + " days",
                         "TLS 证书将在 " + std::to_string(days) + " 天内过期", std::move(ev)));
      with_policy(out.back(), "tls-cert-expiring", "第16条", false);
    }
    if (unit(x.h, 23 + salt) < 0.06) {
      out.push_back(make("tls.hostname_mismatch", Severity::medium, subject, "",
                         "TLS certificate does not name the host", "TLS 证书与主机名不匹配",
                         cert(x, port, 200)));
      with_policy(out.back(), "tls-hostname-mismatch", "第16条", false);
    }
    if (unit(x.h, 24 + salt) < 0.15) {
      out.push_back(make(
          "tls.weak_protocol", Severity::medium, subject, "",
          "Server still accepts outdated TLS versions", "服务器仍接受过时的 TLS/SSL 协议版本",
          {{"address", x.ipv4}, {"port", port}, {"accepted", json::array{"TLSv1", "TLSv1.1"}}}));
      with_policy(out.back(), "tls-weak-protocol", "第16条", false);
    }
  }
  if (unit(x.h, 30) < 0.12) {
    const auto n = 1 + pick(x.h, 31, 3);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto& r = kRisky[(pick(x.h, 32, std::size(kRisky)) + i * 4) % std::size(kRisky)];
      json::object ev{
          {"port", r.port},
          {"service", r.service},
          {"open_over_ipv4", json::array{json::value(x.ipv4)}},
          {"open_over_ipv6", x.ipv6.empty() ? json::array{} : json::array{json::value(x.ipv6)}}};
      out.push_back(make("exposure.risky_service", Severity::high,
                         x.name + ":" + std::to_string(r.port), "",
                         std::string("High-risk service reachable: ") + r.service,
                         std::string("高危服务对外开放：") + r.service, std::move(ev)));
      with_policy(out.back(), "exposure-risky-service", "第15条", false);
    }
  }
  if (!x.ipv6.empty() && unit(x.h, 33) < 0.05) {
    const int port = unit(x.h, 34) < 0.5 ? 22 : 8080;
    out.push_back(make("exposure.ipv6_only_open_port", Severity::high,
                       x.name + ":" + std::to_string(port), "",
                       "Port open over IPv6 but closed over IPv4: the IPv6 firewall does not match "
                       "the IPv4 one",
                       "端口仅在 IPv6 上开放（IPv4 关闭）：IPv6 防火墙策略与 IPv4 不一致",
                       {{"port", port},
                        {"open_over_ipv6", json::array{json::value(x.ipv6)}},
                        {"closed_or_filtered_over_ipv4", json::array{json::value(x.ipv4)}}}));
    with_policy(out.back(), "exposure-ipv6-only-open-port", "第15条", false);
  }
}

json::object level(std::uint64_t total, std::uint64_t ipv6) {
  return {{"total", total},
          {"ipv6", ipv6},
          {"dead", total > ipv6 ? (total - ipv6) / 4 : 0},
          {"share", total ? static_cast<double>(ipv6 * 1000 / total) / 1000 : 1.0}};
}

// Agent campus-b: IPv6 readiness of host h.
void ipv6_findings(const Host& x, std::vector<Finding>& out) {
  if (!x.web || x.cls == Cls::external) return;
  const bool aaaa = !x.ipv6.empty();
  const double reach = !aaaa ? 0.0 : unit(x.h, 40) < 0.1 ? 0.0 : unit(x.h, 41) < 0.15 ? 0.5 : 1.0;
  const bool same = reach > 0 && unit(x.h, 42) >= 0.12;
  const bool slow = reach > 0 && unit(x.h, 43) < 0.1;
  const int dns = aaaa ? 30 : 0;
  const int r = static_cast<int>(reach * 30);
  const int content = same ? 20 : 0;
  const int speed = reach > 0 && !slow ? 10 : 0;
  json::object readiness;
  int links_part = 0;
  if (reach > 0 && unit(x.h, 44) < 0.6) {
    const auto l2 = 5 + pick(x.h, 45, 40);
    const auto l3 = 10 + pick(x.h, 46, 120);
    const double share = 0.4 + 0.6 * unit(x.h, 47);
    const auto l2v6 = static_cast<std::uint64_t>(static_cast<double>(l2) * share);
    const auto l3v6 = static_cast<std::uint64_t>(static_cast<double>(l3) * share);
    const double s = static_cast<double>(l2v6 + l3v6) / static_cast<double>(l2 + l3);
    readiness["links"] = {{"level2", level(l2, l2v6)},
                          {"level3", level(l3, l3v6)},
                          {"share", static_cast<double>(static_cast<int>(s * 1000)) / 1000}};
    links_part = static_cast<int>(10 * s);
    if (s < 0.9) {
      out.push_back(make("ipv6.links.low_support", Severity::medium, x.name, "",
                         "Second- and third-level links of the site work over IPv6 below the "
                         "threshold",
                         "网站二、三级链接的 IPv6 支持率低于阈值",
                         {{"level2", level(l2, l2v6)},
                          {"level3", level(l3, l3v6)},
                          {"share", static_cast<double>(static_cast<int>(s * 1000)) / 1000},
                          {"threshold", 0.9},
                          {"failing", json::array{json::object{
                                          {"url", "https://" + x.name + "/info/1024/3071.htm"},
                                          {"level", 3},
                                          {"error", "no AAAA"}}}}}));
      with_policy(out.back(), "ipv6-links-low-support", "第5条", false);
    }
  } else if (reach > 0) {
    links_part = 10;
  }
  const int score = std::min(100, dns + r + content + speed + links_part);
  readiness["aaaa"] = aaaa;
  readiness["reachable_share"] = reach;
  readiness["same_content"] = same;
  readiness["slow"] = slow;
  readiness["score"] = score;
  readiness["score_parts"] = {
      {"dns", dns}, {"reach", r}, {"content", content}, {"links", links_part}, {"speed", speed}};
  out.push_back(make("ipv6.readiness", Severity::info, x.name, "",
                     "IPv6 readiness " + std::to_string(score) + "/100",
                     "IPv6 支持度 " + std::to_string(score) + "/100", std::move(readiness)));
  with_policy(out.back(), "ipv6-readiness", "第5条", false);
  if (!aaaa) {
    out.push_back(make("ipv6.dns.no_aaaa", Severity::medium, x.name, "", "No AAAA record",
                       "无 AAAA 记录",
                       {{"ipv4", json::array{json::value(x.ipv4)}},
                        {"resolver", "2001:db8::53"},
                        {"rcode", "NOERROR"}}));
    with_policy(out.back(), "ipv6-dns-no-aaaa", "第5条", false);
  } else if (reach == 0) {
    out.push_back(make("ipv6.web.unreachable", Severity::high, x.name, x.ipv6,
                       "Site does not answer over IPv6", "网站无法通过 IPv6 访问",
                       {{"address", x.ipv6}, {"error", "connect timeout after 5000 ms"}}));
    with_policy(out.back(), "ipv6-web-unreachable", "第5条", false);
  } else if (!same) {
    out.push_back(make("ipv6.web.content_mismatch", Severity::medium, x.name, "/",
                       "Different content over IPv6", "IPv6 与 IPv4 内容不一致",
                       {{"url", "https://" + x.name + "/"},
                        {"similarity", 0.41},
                        {"status_v4", 200},
                        {"status_v6", 200}}));
    with_policy(out.back(), "ipv6-web-content-mismatch", "第5条", false);
  }
  if (slow) {
    out.push_back(make("ipv6.web.slow", Severity::low, x.name, "/", "Slow over IPv6",
                       "IPv6 访问较慢",
                       {{"url", "https://" + x.name + "/"}, {"ms_v4", 120}, {"ms_v6", 2300}}));
    with_policy(out.back(), "ipv6-web-slow", "第5条", false);
  }
}

// Agent campus-c (and the legacy sweep): finding number i of the per-URL, per-address and
// passive checks, on host i % hosts. Kinds outside the posture.
Finding deep_finding(std::uint64_t i, std::uint64_t hosts) {
  const Host x = host(i % hosts);
  const std::uint64_t j = i / hosts;  // several per host: a different URL / address each
  const auto path = "/info/" + std::to_string(1000 + j) + "/" + std::to_string(i % 9973) + ".htm";
  switch (pick(i, 50, 8)) {
    case 0:
    case 1: {
      auto f = make("ipv6.web.content_mismatch", Severity::low, x.name, path,
                    "Different content over IPv6", "IPv6 与 IPv4 内容不一致",
                    {{"url", "https://" + x.name + path},
                     {"similarity", static_cast<double>(pick(i, 51, 800)) / 1000},
                     {"status_v4", 200},
                     {"status_v6", pick(i, 52, 2) ? 200 : 404}});
      with_policy(f, "ipv6-web-content-mismatch", "第5条", false);
      return f;
    }
    case 2:
    case 3: {
      auto f = make("ipv6.web.slow", Severity::low, x.name, path, "Slow over IPv6", "IPv6 访问较慢",
                    {{"url", "https://" + x.name + path},
                     {"ms_v4", 80 + pick(i, 53, 200)},
                     {"ms_v6", 1500 + pick(i, 54, 3000)}});
      with_policy(f, "ipv6-web-slow", "第5条", false);
      return f;
    }
    case 4: {
      const std::string addr =
          "2001:db8:" + hex(x.unit + 1) + ":" + hex(0x200 + j) + "::" + hex(i & 0xffff);
      auto f =
          make("ipv6.web.unreachable", Severity::medium, x.name, addr,
               "Site does not answer on one of its IPv6 addresses", "网站的某个 IPv6 地址无法访问",
               {{"address", addr}, {"error", "connection refused"}});
      with_policy(f, "ipv6-web-unreachable", "第5条", false);
      return f;
    }
    case 5: {
      const std::string addr =
          "2001:db8:" + hex(x.unit + 1) + ":" + hex(0x1000 + j) + "::" + hex(i & 0xffff);
      auto f = make("net.tunnel", Severity::medium, addr, "", "IPv6 tunnel traffic seen",
                    "发现 IPv6 隧道流量",
                    {{"address", addr},
                     {"tunnel", pick(i, 55, 2) ? "6to4" : "teredo"},
                     {"packets", 10 + pick(i, 56, 5000)},
                     {"vantage", "core-switch-span"}});
      with_policy(f, "net-tunnel", "第7条", false);
      return f;
    }
    case 6: {
      const std::string mx =
          "mx" + std::to_string(j) + "." + kUnits[x.unit].code + ".demo-univ.edu.cn";
      auto f = make("ipv6.mail.mx_no_aaaa", Severity::low, x.name, mx,
                    "Mail exchanger has no AAAA record", "邮件服务器无 AAAA 记录",
                    {{"mx", mx}, {"preference", 10}});
      with_policy(f, "ipv6-mail-mx-no-aaaa", "第5条", false);
      return f;
    }
    default: {
      const std::string ns =
          "ns" + std::to_string(j) + "." + kUnits[x.unit].code + ".demo-univ.edu.cn";
      auto f = make(
          "ipv6.dns.ns_no_ipv6", Severity::low, x.name, ns, "Name server not reachable over IPv6",
          "域名服务器不支持 IPv6",
          {{"name_server", ns}, {"zone", std::string(kUnits[x.unit].code) + ".demo-univ.edu.cn"}});
      with_policy(f, "ipv6-dns-ns-no-ipv6", "第5条", false);
      return f;
    }
  }
}

// The collector's clock while the database is written: one instant per call (per chunk),
// evenly over [start, end].
class SpreadClock final : public Clock {
 public:
  SpreadClock(TimePoint start, std::chrono::microseconds step) : start_(start), step_(step) {}
  time_point now() const override {
    if (real_) return std::chrono::system_clock::now();
    return start_ + step_ * calls_.fetch_add(1, std::memory_order_relaxed);
  }
  // From now on the real time (for the agents' last heartbeats).
  void go_real() { real_ = true; }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }

 private:
  TimePoint start_;
  std::chrono::microseconds step_;
  mutable std::atomic<std::int64_t> calls_{0};
  bool real_ = false;
};

// A stream of one agent's scan: findings come from `next` until it returns false.
struct Stream {
  std::string agent, job, scan;
  std::uint64_t total = 0;  // findings it will produce
  std::uint64_t made = 0;
  std::function<bool(Finding&)> next;
  std::uint64_t chunks = 0;
};

rules::AlertIntent intent(const Finding& f, const char* rule, Severity sev, rules::Text title,
                          rules::Text remediation, const char* tag, std::chrono::seconds renotify) {
  rules::AlertIntent a;
  a.rule = rule;
  a.subject = f.subject;
  a.finding_id = f.id;
  a.severity = sev;
  a.title = std::move(title);
  a.remediation = std::move(remediation);
  a.tags = {tag};
  a.renotify = renotify;
  return a;
}

// Raises an alert for f (and marks its policy alerting) when it is of an alerting kind.
bool maybe_alert(Finding& f, std::vector<rules::AlertIntent>& alerts) {
  using namespace std::chrono_literals;
  if (f.kind == "tls.cert_expired") {
    f.policy.alerting = {"tls-cert-expired"};
    alerts.push_back(intent(f, "tls-cert-expired", Severity::high,
                            {"Certificate expired", "证书已过期"},
                            {"Install a valid certificate (automatic renewal recommended) with its "
                             "full chain.",
                             "更换有效证书（推荐自动续期），并检查证书链完整。"},
                            "第16条", 24h));
    return true;
  }
  if (f.kind == "tls.cert_expiring") {
    f.policy.alerting = {"tls-cert-expiring"};
    alerts.push_back(intent(f, "tls-cert-expiring", Severity::medium,
                            {"Certificate expires within 30 days", "证书将在30天内过期"},
                            {"Renew before it expires; consider ACME automatic renewal.",
                             "在到期前续期证书，并考虑启用ACME自动续期。"},
                            "第16条", 168h));
    return true;
  }
  if (f.kind == "exposure.risky_service") {
    f.policy.alerting = {"exposure-risky-service"};
    alerts.push_back(intent(f, "exposure-risky-service", Severity::high,
                            {"High-risk service exposed", "高危服务暴露"},
                            {"Close the port or restrict it to the management network.",
                             "关闭端口或仅允许管理网段访问。"},
                            "第15条", 24h));
    return true;
  }
  return false;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int usage() {
  std::fprintf(stderr,
               "usage: edusight-bench-dashboard-findings DB_PATH [--findings N] [--hosts H] "
               "[--seed S] [--alerts A]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return usage();
  const std::string path = argv[1];
  std::uint64_t n = 1'000'000, hosts = 0, want_alerts = 300;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::uint64_t v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--findings") {
      n = v;
    } else if (a == "--hosts") {
      hosts = v;
    } else if (a == "--seed") {
      g_seed = v;
    } else if (a == "--alerts") {
      want_alerts = v;
    } else {
      return usage();
    }
  }
  if (n < 1000) {
    std::fprintf(stderr, "--findings: at least 1000\n");
    return 2;
  }
  if (hosts == 0) hosts = n * 15 / 100;
  const auto t_start = std::chrono::steady_clock::now();

  // Sizes of the per-host streams, counted first so that the deep stream makes up the rest.
  std::uint64_t n_discovery = 0, n_ipv6 = 0, n_alertable = 0;
  {
    std::vector<Finding> tmp;
    for (std::uint64_t h = 0; h < hosts; ++h) {
      tmp.clear();
      const Host x = host(h);
      discovery_findings(x, tmp);
      n_discovery += tmp.size();
      for (const auto& f : tmp) {
        n_alertable += f.kind == "tls.cert_expired" || f.kind == "tls.cert_expiring" ||
                       f.kind == "exposure.risky_service";
      }
      tmp.clear();
      ipv6_findings(x, tmp);
      n_ipv6 += tmp.size();
    }
  }
  const std::uint64_t n_legacy = n * 6 / 100;
  const std::uint64_t n_legacy_again = n_legacy / 10;  // re-reported by the second sweep
  if (n_discovery + n_ipv6 + n_legacy >= n) {
    std::fprintf(stderr, "too many hosts (%llu) for %llu findings\n",
                 static_cast<unsigned long long>(hosts), static_cast<unsigned long long>(n));
    return 2;
  }
  const std::uint64_t n_deep = n - n_discovery - n_ipv6 - n_legacy;

  // Streams. Per-host streams keep a small buffer of the current host's findings.
  auto per_host = [hosts](void (*fn)(const Host&, std::vector<Finding>&)) {
    struct State {
      std::uint64_t h = 0;
      std::deque<Finding> buf;
      std::vector<Finding> tmp;
    };
    auto st = std::make_shared<State>();
    return [st, hosts, fn](Finding& out) {
      while (st->buf.empty()) {
        if (st->h >= hosts) return false;
        st->tmp.clear();
        fn(host(st->h++), st->tmp);
        for (auto& f : st->tmp) st->buf.push_back(std::move(f));
      }
      out = std::move(st->buf.front());
      st->buf.pop_front();
      return true;
    };
  };
  // Legacy findings use a disjoint range of deep-finding numbers (so disjoint ids).
  const std::uint64_t legacy_base = 1'000'000'000ULL;
  Stream legacy{"campus-d", "legacy-sweep", "legacy-2026-11-12", n_legacy, 0, {}, 0};
  legacy.next = [&legacy, hosts, legacy_base](Finding& out) {
    if (legacy.made >= legacy.total) return false;
    out = deep_finding(legacy_base + legacy.made, hosts);
    return true;
  };
  Stream discovery{
      "campus-a", "nightly", "nightly-2026-11-24", n_discovery, 0, per_host(discovery_findings), 0};
  Stream ipv6{"campus-b", "ipv6-nightly", "ipv6-2026-11-24", n_ipv6, 0, per_host(ipv6_findings), 0};
  Stream deep{"campus-c", "deep-weekly", "deep-2026-w47", n_deep, 0, {}, 0};
  deep.next = [&deep, hosts](Finding& out) {
    if (deep.made >= deep.total) return false;
    out = deep_finding(deep.made, hosts);
    return true;
  };

  // Chunks: the legacy scan first, then the three scans interleaved in proportion, then the
  // second legacy sweep. One clock instant per chunk over the last 13 days.
  const auto chunks_of = [](std::uint64_t k) { return (k + kChunk - 1) / kChunk; };
  const std::uint64_t total_chunks = chunks_of(n_legacy) + chunks_of(n_discovery) +
                                     chunks_of(n_ipv6) + chunks_of(n_deep) +
                                     chunks_of(n_legacy_again) + 8;
  const auto now = std::chrono::system_clock::now();
  const auto span = std::chrono::hours(24 * 13);
  SpreadClock clock(now - span - std::chrono::minutes(10),
                    std::chrono::duration_cast<std::chrono::microseconds>(span) /
                        static_cast<std::int64_t>(total_chunks));

  SqliteStore store(path, clock);
  if (!store.status().ok) {
    std::fprintf(stderr, "%s\n", store.status().error.c_str());
    return 1;
  }
  for (const char* a : {"campus-a", "campus-b", "campus-c", "campus-d"}) {
    if (auto r = store.add_agent(a, std::string("esk_bench_") + a); !r.ok) {
      std::fprintf(stderr, "add agent %s: %s\n", a, r.error.c_str());
      return 1;
    }
  }

  // Alerts: about want_alerts over the alertable findings of the discovery scan, spread
  // evenly; plus a few in the legacy scan (those resolve with it).
  const std::uint64_t alert_every =
      std::max<std::uint64_t>(1, n_alertable / std::max<std::uint64_t>(1, want_alerts));
  std::uint64_t alertable_seen = 0, alerts_raised = 0;

  std::vector<Batch> group;
  std::uint64_t stored = 0, commits = 0, chunk_no = 0;
  auto flush = [&]() -> bool {
    if (group.empty()) return true;
    const auto results = store.commit_batches(group);
    for (const auto& r : results) {
      if (!r.ok || r.duplicate) {
        std::fprintf(stderr, "commit: %s\n", r.ok ? "duplicate chunk" : r.error.c_str());
        return false;
      }
    }
    for (const auto& b : group) stored += b.findings.size();
    ++commits;
    group.clear();
    return true;
  };
  // One chunk of s (up to kChunk findings) into the group; false when s is exhausted.
  auto chunk = [&](Stream& s, bool complete_at_end) -> bool {
    Batch b;
    b.agent = s.agent;
    b.job = s.job;
    b.scan = s.scan;
    b.chunk_id = s.scan + "-" + std::to_string(s.chunks++);
    b.findings.reserve(kChunk);
    Finding f;
    while (b.findings.size() < kChunk && s.next(f)) {
      ++s.made;
      if (&s == &discovery && (f.kind == "tls.cert_expired" || f.kind == "tls.cert_expiring" ||
                               f.kind == "exposure.risky_service")) {
        if (alertable_seen++ % alert_every == alert_every / 2 && alerts_raised < want_alerts &&
            maybe_alert(f, b.alerts)) {
          ++alerts_raised;
        }
      }
      f.agent = s.agent;
      f.scan = s.scan;
      b.findings.push_back(std::move(f));
    }
    const bool more = s.made < s.total;
    if (!more && complete_at_end) b.scan_complete = true;
    if (b.findings.empty() && !b.scan_complete) return false;
    ++chunk_no;
    group.push_back(std::move(b));
    if (group.size() >= kGroup && !flush()) std::exit(1);
    return more;
  };

  while (chunk(legacy, true)) {
  }
  if (!flush()) return 1;
  // Interleave by remaining share: whichever stream is furthest behind goes next.
  Stream* streams[] = {&discovery, &ipv6, &deep};
  for (;;) {
    Stream* next = nullptr;
    double behind = 2;
    for (Stream* s : streams) {
      if (s->made >= s->total) continue;
      const double done = static_cast<double>(s->made) / static_cast<double>(s->total);
      if (done < behind) {
        behind = done;
        next = s;
      }
    }
    if (!next) break;
    chunk(*next, true);
  }
  if (!flush()) return 1;
  // The next legacy sweep re-reports a tenth of what the first found and completes: the rest
  // is resolved, and alerts on it with it.
  Stream legacy2{"campus-d", "legacy-sweep", "legacy-2026-11-19", n_legacy_again, 0, {}, 0};
  legacy2.next = [&legacy2, hosts, legacy_base](Finding& out) {
    if (legacy2.made >= legacy2.total) return false;
    out = deep_finding(legacy_base + legacy2.made * 10, hosts);
    return true;
  };
  while (chunk(legacy2, true)) {
  }
  if (!flush()) return 1;

  clock.go_real();
  std::vector<Heartbeat> beats;
  for (const char* a : {"campus-a", "campus-b", "campus-c"}) {
    beats.push_back({a, {{"version", "0.5.0"}, {"uptime_s", 86400}}, "192.0.2.20"});
  }
  if (auto r = store.record_heartbeats(beats); !r.ok) {
    std::fprintf(stderr, "heartbeats: %s\n", r.error.c_str());
    return 1;
  }
  const double gen_s = seconds_since(t_start);

  const auto open = store.open_findings_by_severity();
  const auto alerts = store.active_alerts_by_severity();
  std::uint64_t open_total = 0, alerts_total = 0;
  for (auto c : open.by_severity) open_total += c;
  for (auto c : alerts.by_severity) alerts_total += c;
  std::printf("findings: %llu\n", static_cast<unsigned long long>(n));
  std::printf("hosts: %llu\n", static_cast<unsigned long long>(hosts));
  std::printf("stream_discovery: %llu\nstream_ipv6: %llu\nstream_deep: %llu\nstream_legacy: %llu\n",
              static_cast<unsigned long long>(n_discovery), static_cast<unsigned long long>(n_ipv6),
              static_cast<unsigned long long>(n_deep), static_cast<unsigned long long>(n_legacy));
  std::printf("chunks: %llu\ncommits: %llu\n", static_cast<unsigned long long>(chunk_no),
              static_cast<unsigned long long>(commits));
  std::printf("open_findings: %llu\n", static_cast<unsigned long long>(open_total));
  std::printf("active_alerts: %llu\n", static_cast<unsigned long long>(alerts_total));
  std::printf("generate_s: %.2f\n", gen_s);
  std::printf("rows_per_s: %.0f\n", static_cast<double>(stored) / gen_s);
  return 0;
}
