#include "probes/discovery/classify.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/value_from.hpp>
#include <cctype>
#include <ctime>

#include "edusight/core/evidence.hpp"
#include "edusight/core/names.hpp"

namespace edusight::discovery {
namespace {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

boost::json::array strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

int year_of(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return tm.tm_year + 1900;
}

// "Wed, 21 Oct 2015 07:28:00 GMT" -> 2015
std::optional<int> http_date_year(std::string_view v) {
  for (std::size_t i = 0; i + 4 <= v.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(v[i])) && i + 4 <= v.size() &&
        std::all_of(v.begin() + i, v.begin() + i + 4,
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        (i == 0 || v[i - 1] == ' ') && (i + 4 == v.size() || v[i + 4] == ' ')) {
      const int y = std::stoi(std::string(v.substr(i, 4)));
      if (y >= 1990 && y <= 2100) return y;
    }
  }
  return std::nullopt;
}

// "https://www.x.edu.cn:8443/a" -> "www.x.edu.cn"
std::string url_host_of(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return std::string(rest.substr(1, rest.find(']') - 1));
  return lower_ascii(rest.substr(0, rest.find(':')));
}

}  // namespace

std::optional<int> copyright_year(std::string_view text) {
  const std::string t = lower_ascii(text);
  std::optional<int> best;
  for (const std::string marker : {"©", "copyright", "(c)", "版权所有"}) {
    std::size_t pos = 0;
    for (int guard = 0; guard < 100 && (pos = t.find(marker, pos)) != std::string::npos; ++guard) {
      // The years in the 40 bytes after the marker, e.g. "© 2009-2016".
      const auto window = t.substr(pos, 48);
      for (std::size_t i = 0; i + 4 <= window.size(); ++i) {
        if (!std::all_of(window.begin() + i, window.begin() + i + 4,
                         [](char c) { return c >= '0' && c <= '9'; }))
          continue;
        if (i > 0 && std::isdigit(static_cast<unsigned char>(window[i - 1]))) continue;
        if (i + 4 < window.size() && std::isdigit(static_cast<unsigned char>(window[i + 4])))
          continue;
        const int y = std::stoi(window.substr(i, 4));
        if (y >= 1990 && y <= 2100) best = std::max(best.value_or(0), y);
      }
      pos += marker.size();
    }
  }
  return best;
}

bool is_default_server_page(std::string_view title, std::string_view text) {
  const auto t = lower_ascii(title);
  const auto x = lower_ascii(text.substr(0, 2000));
  static const char* titles[] = {"welcome to nginx",
                                 "apache2 debian default page",
                                 "apache2 ubuntu default page",
                                 "test page for the apache",
                                 "iis windows server",
                                 "iis7",
                                 "apache tomcat",
                                 "it works!",
                                 "welcome to centos",
                                 "test page for the nginx"};
  for (const auto* m : titles) {
    if (t.find(m) != std::string::npos) return true;
  }
  return x.find("if you see this page, the nginx web server is successfully installed") !=
         std::string::npos;
}

Ties find_ties(const Asset& a, const std::vector<std::string>& unit_names) {
  Ties t;
  t.registry = a.registered != nullptr;
  t.linked_from_own_site = !a.linked_from.empty();
  for (const auto& raw : unit_names) {
    if (raw.empty()) continue;
    const auto name = lower_ascii(raw);
    bool seen = false;
    if (a.home) {
      if (lower_ascii(a.home->page.title).find(name) != std::string::npos)
        t.unit_name_in_title = seen = true;
      if (a.home->page.text.find(name) != std::string::npos) t.unit_name_in_text = seen = true;
      if (a.home->certificate) {
        const auto subj = lower_ascii(a.home->certificate->subject);
        if (subj.find(name) != std::string::npos) t.unit_in_certificate = seen = true;
      }
    }
    if (seen) t.unit_names_seen.push_back(raw);
  }
  return t;
}

AbandonmentSigns abandonment_signs(const Asset& a, const ZombieConfig& z,
                                   std::chrono::system_clock::time_point now) {
  AbandonmentSigns s;
  if (!a.home) return s;
  const int this_year = year_of(now);
  if (is_default_server_page(a.home->page.title, a.home->page.text)) {
    s.default_page = true;
    s.reasons.push_back("default server page (\"" + a.home->page.title + "\")");
  }
  if (const auto y = copyright_year(a.home->page.text); y && this_year - *y >= z.stale_years) {
    s.copyright_year = *y;
    s.reasons.push_back("copyright notice last updated " + std::to_string(*y));
  }
  if (const auto y = http_date_year(a.home->last_modified); y && this_year - *y >= z.stale_years) {
    s.reasons.push_back("Last-Modified " + a.home->last_modified);
  }
  if (a.home->certificate && a.home->certificate->not_after.time_since_epoch().count() != 0) {
    const auto days =
        std::chrono::duration_cast<std::chrono::hours>(now - a.home->certificate->not_after)
            .count() /
        24;
    if (days >= z.expired_certificate_days) {
      s.certificate_expired_days = static_cast<int>(days);
      s.reasons.push_back("certificate expired " + std::to_string(days) + " days ago");
    }
  }
  return s;
}

void classify_and_report(Inventory& inventory, const ClassifyInput& in, ipv6::Reporter& report) {
  const auto& cfg = in.config;
  for (auto& [host, a] : inventory.all()) {
    const auto addrs = a.addresses();
    a.ownership = in.ownership.classify(host, addrs);
    const bool own_domain = a.ownership.own_domain;
    const bool own_address = a.ownership.own_address;

    bool any_port_open = false;
    boost::json::array open;
    for (const auto& addr : addrs) {
      const auto it = in.open_ports.find(canonical_address(addr));
      if (it == in.open_ports.end()) continue;
      for (const auto p : it->second) {
        any_port_open = true;
        open.push_back({{"address", canonical_address(addr)}, {"port", p}});
      }
    }
    const bool live = a.web_answered || any_port_open;

    boost::json::array sources;
    for (const auto s : a.sources) sources.emplace_back(to_string(s));
    const auto chain = a.dns ? a.dns->cname_chain : std::vector<std::string>{};

    // dns.dangling_cname: the chain ends in a name that does not exist.
    if (a.dns && a.dns->status == dns::Status::nxdomain && !chain.empty()) {
      boost::json::object ev;
      ev["cname_chain"] = strings(chain);
      ev["missing_name"] = chain.back();
      ev["missing_registrable_domain"] = registrable_domain(chain.back());
      report.emit(
          "dns.dangling_cname", Severity::high, host, "",
          "CNAME points at a name that does not exist: whoever registers it can take the name over",
          "CNAME 指向不存在的域名，存在子域名接管风险", std::move(ev));
    }

    const bool resolves = !addrs.empty();
    if (!resolves && !a.registered) continue;  // nothing to say about a name that is not there

    boost::json::object base;
    base["ipv4"] = a.dns ? addresses_json(a.dns->ipv4) : boost::json::array{};
    base["ipv6"] = a.dns ? addresses_json(a.dns->ipv6) : boost::json::array{};
    if (!chain.empty()) base["cname_chain"] = strings(chain);
    base["sources"] = sources;
    base["own_domain"] = own_domain;
    base["own_address"] = own_address;
    if (!a.ownership.zone.empty()) base["own_zone"] = a.ownership.zone;
    if (!a.ownership.prefix.empty()) base["own_prefix"] = a.ownership.prefix;
    base["registrable_domain"] = registrable_domain(host);
    if (a.home) {
      base["title"] = a.home->page.title;
      base["url"] = a.home->url;
      base["http_status"] = a.home->http_status;
    }
    if (!a.linked_from.empty()) base["linked_from"] = strings(a.linked_from);
    if (!a.ptr_of.empty()) base["ptr_of"] = strings(a.ptr_of);
    if (!a.certificate_at.empty()) base["certificate_at"] = strings(a.certificate_at);
    if (!open.empty()) base["open_ports"] = open;
    base["registered"] = a.registered != nullptr;
    if (a.registered) {
      base["registry_name"] = a.registered->name;
      base["owner_unit"] = a.registered->owner_unit;
    }
    base["live"] = live;
    if (!a.role.empty()) base["role"] = a.role;

    if (resolves) {
      report.emit("asset.discovered", Severity::info, host, "", "System discovered", "发现信息系统",
                  base);
    }

    // Category 1: our name, someone else's address (cloud, CDN, hosting). Never 双非.
    if (resolves && own_domain && !own_address) {
      auto ev = base;
      if (!chain.empty()) ev["hosted_by"] = registrable_domain(chain.back());
      report.emit("asset.non_own_ip", Severity::medium, host, "",
                  "Own domain resolves to addresses outside the institution's prefixes",
                  "本单位域名解析到非本单位 IP 地址", std::move(ev));
    }
    // Category 2: our address, someone else's name.
    if (resolves && !own_domain && own_address) {
      report.emit("asset.non_own_domain", Severity::medium, host, "",
                  "A system on the institution's addresses runs under a domain that is not the "
                  "institution's",
                  "本单位 IP 地址上运行非本单位域名的系统", base);
    }
    // Category 3 (双非): neither, yet tied to the institution. A link alone is not a tie.
    if (resolves && !own_domain && !own_address) {
      const auto ties = find_ties(a, cfg.institution.unit_names);
      if (ties.strong()) {
        auto ev = base;
        boost::json::object t;
        t["registry"] = ties.registry;
        t["unit_name_in_title"] = ties.unit_name_in_title;
        t["unit_name_in_text"] = ties.unit_name_in_text;
        t["unit_in_certificate"] = ties.unit_in_certificate;
        t["linked_from_own_site"] = ties.linked_from_own_site;
        t["unit_names_seen"] = strings(ties.unit_names_seen);
        ev["ties"] = std::move(t);
        report.emit("asset.dual_non_own", Severity::high, host, "",
                    "System on neither the institution's domain nor its addresses, yet tied to the "
                    "institution (双非)",
                    "双非系统：既非本单位域名也非本单位 IP 地址，但与本单位相关", std::move(ev));
      }
    }
    // Registry diff. An alias (a CNAME to, or a redirect to, a registered system) is that
    // system under another name, and name and mail servers are infrastructure.
    std::string alias_of;
    if (in.registry) {
      for (const auto& n : chain) {
        if (alias_of.empty() && in.registry->find(n)) alias_of = n;
      }
      if (alias_of.empty() && a.home) {
        const auto final_host = url_host_of(a.home->url);
        if (final_host != host && in.registry->find(final_host)) alias_of = final_host;
      }
    }
    if (in.registry && live && (own_domain || own_address) && !a.registered && alias_of.empty() &&
        a.role.empty()) {
      report.emit("asset.unregistered", Severity::low, host, "",
                  "Live system missing from the registry of information systems",
                  "在用信息系统未登记在信息系统名录中", base);
    }
    if (a.registered) {
      std::vector<std::string> reasons;
      if (!resolves) {
        reasons.push_back(a.dns && a.dns->status == dns::Status::nxdomain
                              ? "name does not exist in DNS"
                              : "name has no address");
      } else if (!live) {
        reasons.push_back("nothing answers on the web ports or the scanned ports");
      }
      const auto signs = abandonment_signs(a, cfg.zombie, in.now);
      reasons.insert(reasons.end(), signs.reasons.begin(), signs.reasons.end());
      if (!reasons.empty()) {
        auto ev = base;
        ev["reasons"] = strings(reasons);
        ev["registry_line"] = a.registered->line;
        if (!a.registered->admin.empty()) ev["admin"] = a.registered->admin;
        report.emit("asset.zombie", Severity::medium, host, "",
                    "Registered system shows no life or signs of abandonment (zombie)",
                    "僵尸系统：名录中的系统无法访问或长期无人维护", std::move(ev));
      }
    }
  }
}

}  // namespace edusight::discovery
