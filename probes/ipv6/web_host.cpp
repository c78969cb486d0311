#include "probes/ipv6/web_host.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/value_from.hpp>
#include <cmath>

#include "edusight/core/evidence.hpp"
#include "edusight/core/names.hpp"
#include "probes/ipv6/links.hpp"
#include "probes/ipv6/score.hpp"
#include "probes/web/html.hpp"
#include "probes/web/similarity.hpp"

namespace edusight::ipv6 {
namespace {

constexpr std::size_t kMaxPageBytes = 500 * 1024;
constexpr std::uint16_t kWebPorts[] = {443, 80};

struct Attempt {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  web::ProbeResult result;
  bool answered() const { return result.final.status == web::Status::ok; }
};

std::string url_for(const std::string& host, std::uint16_t port) {
  return (port == 443 ? "https://" : "http://") + host + "/";
}

std::string describe(const web::ProbeResult& r) {
  if (r.final.status == web::Status::ok) return "HTTP " + std::to_string(r.final.http_status);
  std::string s(web::to_string(r.final.status));
  if (!r.final.error.empty()) s += ": " + r.final.error;
  return s;
}

long median_us(std::vector<long> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

HomePage home_page_of(const web::ProbeResult& r) {
  HomePage hp;
  hp.url = r.final_url;
  hp.http_status = r.final.http_status;
  hp.page = web::parse_html(r.final.body, r.final_url);
  hp.last_modified = r.final.last_modified;
  hp.server_header = r.final.server_header;
  hp.certificate = r.final.certificate;
  return hp;
}

boost::asio::awaitable<WebHostSummary> check_web_host(ScanState& state, std::string host) {
  auto& ctx = state.ctx();
  const auto& cfg = ctx.config;
  WebHostSummary summary;
  const dns::AddressLookup addrs = co_await state.addresses(host);
  if (addrs.ipv4.empty() && addrs.ipv6.empty()) co_return summary;

  // Every address of every family on both web ports: a site is only as good as its worst
  // address, since clients pick any of them.
  std::vector<Attempt> v4, v6;
  for (const auto port : kWebPorts) {
    const auto url = url_for(host, port);
    // (co_await kept out of braced initialisers: g++ 12 miscompiles temporaries there.)
    for (const auto& a : addrs.ipv4) {
      auto r = co_await state.fetch(url, a, kMaxPageBytes);
      v4.push_back(Attempt{a, port, std::move(r)});
    }
    for (const auto& a : addrs.ipv6) {
      auto r = co_await state.fetch(url, a, kMaxPageBytes);
      v6.push_back(Attempt{a, port, std::move(r)});
    }
  }
  auto port_works_v4 = [&](std::uint16_t port) {
    return std::any_of(v4.begin(), v4.end(),
                       [&](const Attempt& t) { return t.port == port && t.answered(); });
  };
  const bool any_v6 =
      std::any_of(v6.begin(), v6.end(), [](const Attempt& t) { return t.answered(); });
  std::vector<std::uint16_t> web_ports;
  for (const auto port : kWebPorts) {
    if (port_works_v4(port)) web_ports.push_back(port);
  }
  if (web_ports.empty() && !any_v6) co_return summary;  // not a web system
  summary.web = true;

  ReadinessFacts facts;
  facts.has_aaaa = !addrs.ipv6.empty();
  facts.similarity_threshold = cfg.thresholds.content_similarity;
  boost::json::object readiness;
  readiness["ipv4"] = addresses_json(addrs.ipv4);
  readiness["ipv6"] = addresses_json(addrs.ipv6);
  if (!addrs.cname_chain.empty())
    readiness["cname_chain"] = boost::json::value_from(addrs.cname_chain);

  // ipv6.dns.no_aaaa
  if (addrs.ipv6.empty() && !web_ports.empty()) {
    boost::json::object ev;
    ev["ipv4"] = addresses_json(addrs.ipv4);
    ev["cname_chain"] = boost::json::value_from(addrs.cname_chain);
    ev["web_ports"] = boost::json::value_from(web_ports);
    if (!addrs.ipv4_mapped.empty()) ev["ipv4_mapped_aaaa"] = addresses_json(addrs.ipv4_mapped);
    const bool mapped = !addrs.ipv4_mapped.empty();
    ctx.report.emit(
        "ipv6.dns.no_aaaa", Severity::medium, host, "",
        mapped ? "Web host has only an IPv4-mapped AAAA (::ffff:a.b.c.d), which is not IPv6"
               : "Web host serves over IPv4 but has no AAAA record",
        mapped ? "网站仅有 IPv4 映射地址形式的 AAAA 记录（::ffff:a.b.c.d），不算支持 IPv6"
               : "网站提供 IPv4 访问但没有 AAAA 记录",
        std::move(ev));
  }

  // ipv6.web.unreachable: a port that works over IPv4 must work on every AAAA address.
  int pairs = 0, pairs_ok = 0;
  boost::json::array failures;
  for (const auto& t : v6) {
    if (std::find(web_ports.begin(), web_ports.end(), t.port) == web_ports.end()) continue;
    ++pairs;
    if (t.answered()) {
      ++pairs_ok;
      continue;
    }
    boost::json::object f;
    f["address"] = canonical_address(t.address);
    f["port"] = t.port;
    f["error"] = describe(t.result);
    if (!t.result.hops.empty()) f["url"] = t.result.hops.back().url;
    failures.push_back(std::move(f));
  }
  facts.reachable_share = pairs > 0 ? static_cast<double>(pairs_ok) / pairs : (any_v6 ? 1.0 : 0.0);
  if (!failures.empty()) {
    boost::json::object ev;
    ev["failures"] = std::move(failures);
    ev["ipv6"] = addresses_json(addrs.ipv6);
    ev["ports_working_over_ipv4"] = boost::json::value_from(web_ports);
    ctx.report.emit("ipv6.web.unreachable", Severity::high, host, "",
                    "Web host has AAAA but does not answer over IPv6 where it answers over IPv4",
                    "网站已发布 AAAA 记录，但 IPv6 无法访问（IPv4 可访问）", std::move(ev));
  }

  // Pick the port people use (https first) and compare the first answering address of each
  // family.
  const Attempt* p4 = nullptr;
  const Attempt* p6 = nullptr;
  for (const auto port : web_ports) {
    for (const auto& t : v4) {
      if (!p4 && t.port == port && t.answered()) p4 = &t;
    }
    for (const auto& t : v6) {
      if (!p6 && t.port == port && t.answered()) p6 = &t;
    }
    if (p4 && p6) break;
    p4 = p6 = nullptr;
  }
  if (!p4) {
    for (const auto& t : v4) {
      if (!p4 && t.answered()) p4 = &t;
    }
  }
  if (!p4 && !p6) {
    for (const auto& t : v6) {
      if (!p6 && t.answered()) p6 = &t;
    }
  }

  if (p4 && p6) {
    const auto page4 = web::parse_html(p4->result.final.body, p4->result.final_url);
    const auto page6 = web::parse_html(p6->result.final.body, p6->result.final_url);
    const double sim = web::text_similarity(page4.text, page6.text);
    const long s4 = p4->result.final.http_status, s6 = p6->result.final.http_status;
    facts.similarity = sim;
    facts.same_status = s4 == s6;
    readiness["similarity"] = std::round(sim * 1000) / 1000;
    if (s4 != s6 || sim < cfg.thresholds.content_similarity) {
      boost::json::object ev;
      ev["port"] = p4->port;
      ev["ipv4"] = {{"address", canonical_address(p4->address)},
                    {"status", s4},
                    {"title", page4.title},
                    {"url", p4->result.final_url}};
      ev["ipv6"] = {{"address", canonical_address(p6->address)},
                    {"status", s6},
                    {"title", page6.title},
                    {"url", p6->result.final_url}};
      ev["similarity"] = std::round(sim * 1000) / 1000;
      ev["threshold"] = cfg.thresholds.content_similarity;
      ctx.report.emit(
          "ipv6.web.content_mismatch", Severity::medium, host, "",
          s4 != s6 ? "Web host answers with a different status over IPv6 than over IPv4"
                   : "Web host serves different content over IPv6 than over IPv4",
          s4 != s6 ? "网站 IPv6 与 IPv4 返回的状态码不同" : "网站 IPv6 与 IPv4 访问内容不一致",
          std::move(ev));
    }

    // ipv6.web.slow: median of several tries, connect and first byte, fresh connections.
    std::vector<long> c4, c6, f4, f6;
    auto sample = [](const web::ProbeResult& r, std::vector<long>& c, std::vector<long>& f) {
      c.push_back(static_cast<long>(r.final.connect_time.count()));
      f.push_back(static_cast<long>(r.final.first_byte_time.count()));
    };
    sample(p4->result, c4, f4);
    sample(p6->result, c6, f6);
    const auto url = url_for(host, p4->port);
    for (int i = 1; i < cfg.thresholds.slow_tries; ++i) {
      const auto r4 = co_await state.fetch(url, p4->address, 16 * 1024);
      const auto r6 = co_await state.fetch(url, p6->address, 16 * 1024);
      if (r4.final.status == web::Status::ok) sample(r4, c4, f4);
      if (r6.final.status == web::Status::ok) sample(r6, c6, f6);
    }
    const long dc = median_us(c6) - median_us(c4);
    const long df = median_us(f6) - median_us(f4);
    const long limit = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(cfg.thresholds.slow).count());
    readiness["ipv6_extra_first_byte_ms"] = df / 1000;
    if (dc > limit || df > limit) {
      facts.slow = true;
      boost::json::object ev;
      ev["tries"] = cfg.thresholds.slow_tries;
      ev["ipv4_connect_ms"] = median_us(c4) / 1000.0;
      ev["ipv6_connect_ms"] = median_us(c6) / 1000.0;
      ev["ipv4_first_byte_ms"] = median_us(f4) / 1000.0;
      ev["ipv6_first_byte_ms"] = median_us(f6) / 1000.0;
      ev["threshold_ms"] = cfg.thresholds.slow.count();
      ctx.report.emit(
          "ipv6.web.slow", Severity::low, host, "",
          "Web host is slower over IPv6 than over IPv4 by more than the Happy Eyeballs window",
          "网站 IPv6 访问明显慢于 IPv4（超过浏览器回退阈值）", std::move(ev));
    }
  }

  // Link support, crawled from the home page as a visitor sees it.
  const Attempt* home = p4 ? p4 : p6;
  if (home) {
    summary.home = home_page_of(home->result);
  }
  bool own = false;
  for (const auto& z : cfg.institution.own_domains) own = own || is_within_zone(host, z);
  // A host that redirects to another site (an apex to www) is not crawled as that site:
  // the other host is measured in its own right.
  // A CNAME alias of another own name is measured once, under the canonical name.
  bool alias_of_own = false;
  for (const auto& z : cfg.institution.own_domains) {
    alias_of_own =
        alias_of_own || (!addrs.cname_chain.empty() && is_within_zone(addrs.cname_chain.back(), z));
  }
  const bool own_page = home && url_host(home->result.final_url) == host && !alias_of_own;
  if (home && own && own_page && works_status(home->result.final.http_status)) {
    const auto links =
        co_await measure_link_support(state, home->result.final_url, summary.home->page);
    auto level_json = [](const LevelCount& l) {
      boost::json::object o;
      o["total"] = l.total;
      o["ipv6"] = l.ipv6;
      o["dead"] = l.dead;
      o["share"] = l.total ? std::round(1000.0 * l.ipv6 / l.total) / 1000 : 1.0;
      return o;
    };
    if (links.total() > 0) {
      const double share = static_cast<double>(links.ipv6()) / links.total();
      facts.link_share = share;
      readiness["links"] = {{"level2", level_json(links.level2)},
                            {"level3", level_json(links.level3)},
                            {"share", std::round(share * 1000) / 1000}};
      if (share < cfg.thresholds.link_support) {
        boost::json::object ev;
        ev["level2"] = level_json(links.level2);
        ev["level3"] = level_json(links.level3);
        ev["share"] = std::round(share * 1000) / 1000;
        ev["threshold"] = cfg.thresholds.link_support;
        boost::json::array failing;
        for (const auto* l : {&links.level2, &links.level3}) {
          for (const auto& [url, why] : l->failing) {
            failing.push_back(
                {{"url", url}, {"level", l == &links.level2 ? 2 : 3}, {"error", why}});
          }
        }
        ev["failing"] = std::move(failing);
        ctx.report.emit(
            "ipv6.links.low_support", Severity::medium, host, "",
            "Second- and third-level links of the site work over IPv6 below the threshold",
            "网站二、三级链接的 IPv6 支持率低于阈值", std::move(ev));
      }
    }
  }

  const auto score = readiness_score(facts);
  summary.score = score.total;
  readiness["aaaa"] = facts.has_aaaa;
  readiness["reachable_share"] = std::round(facts.reachable_share * 1000) / 1000;
  readiness["same_content"] = facts.similarity && facts.same_status &&
                              *facts.similarity >= cfg.thresholds.content_similarity;
  readiness["slow"] = facts.slow;
  readiness["score"] = score.total;
  readiness["score_parts"] = {{"dns", score.dns},
                              {"reach", score.reach},
                              {"content", score.content},
                              {"links", score.links},
                              {"speed", score.speed}};
  ctx.report.emit("ipv6.readiness", Severity::info, host, "",
                  "IPv6 readiness " + std::to_string(score.total) + "/100",
                  "IPv6 支持度 " + std::to_string(score.total) + "/100", std::move(readiness));
  co_return summary;
}

}  // namespace edusight::ipv6
