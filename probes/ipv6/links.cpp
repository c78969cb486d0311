#include "probes/ipv6/links.hpp"

#include <set>

#include "edusight/core/names.hpp"
#include "probes/web/html.hpp"

namespace edusight::ipv6 {
namespace {

// The national checkers read at most 500 kB of a page.
constexpr std::size_t kMaxPageBytes = 500 * 1024;

bool own_host(const ScanConfig& c, const std::string& host) {
  for (const auto& z : c.institution.own_domains) {
    if (is_within_zone(host, z)) return true;
  }
  return false;
}

// The own-host links of a page, not seen before, up to `limit`.
std::vector<std::string> new_own_links(const ScanConfig& c, const web::Page& page,
                                       std::set<std::string>& seen, int limit) {
  std::vector<std::string> out;
  for (const auto& link : page.links) {
    if (static_cast<int>(out.size()) >= limit) break;
    const auto host = url_host(link);
    if (!host || !own_host(c, *host)) continue;
    if (!seen.insert(link).second) continue;
    out.push_back(link);
  }
  return out;
}

boost::asio::awaitable<void> count_level(ScanState& state, const std::vector<std::string>& links,
                                         LevelCount& out) {
  for (const auto& url : links) {
    const auto v6 = co_await state.url_works(url, Family::v6);
    if (v6.works) {
      ++out.total;
      ++out.ipv6;
      continue;
    }
    const auto v4 = co_await state.url_works(url, Family::v4);
    if (!v4.works) {
      ++out.dead;
      continue;
    }
    ++out.total;
    if (out.failing.size() < 50) out.failing.emplace_back(url, v6.error);
  }
}

}  // namespace

boost::asio::awaitable<LinkSupport> measure_link_support(ScanState& state,
                                                         const std::string& home_url,
                                                         const web::Page& home) {
  const auto& cfg = state.ctx().config;
  LinkSupport s;
  std::set<std::string> seen{home_url};

  const auto level2 = new_own_links(cfg, home, seen, cfg.crawl.max_links_per_level);
  co_await count_level(state, level2, s.level2);
  if (cfg.crawl.max_depth < 3) co_return s;

  // Third level: links on the second-level pages, fetched as a visitor would (IPv4 first).
  std::vector<std::string> level3;
  int pages = 0;
  for (const auto& url : level2) {
    if (pages >= cfg.crawl.max_pages_per_level) break;
    if (static_cast<int>(level3.size()) >= cfg.crawl.max_links_per_level) break;
    const auto host = url_host(url);
    if (!host) continue;
    const auto a = co_await state.addresses(*host);
    const auto* first =
        !a.ipv4.empty() ? &a.ipv4.front() : (!a.ipv6.empty() ? &a.ipv6.front() : nullptr);
    if (!first) continue;
    ++pages;
    const auto r = co_await state.fetch(url, *first, kMaxPageBytes);
    if (r.final.status != web::Status::ok || !works_status(r.final.http_status)) continue;
    if (r.final.content_type.find("html") == std::string::npos && !r.final.content_type.empty())
      continue;
    const auto page = web::parse_html(r.final.body, r.final_url);
    const auto found = new_own_links(
        cfg, page, seen, cfg.crawl.max_links_per_level - static_cast<int>(level3.size()));
    level3.insert(level3.end(), found.begin(), found.end());
  }
  co_await count_level(state, level3, s.level3);
  co_return s;
}

}  // namespace edusight::ipv6
