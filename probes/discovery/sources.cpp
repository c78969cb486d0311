#include "probes/discovery/sources.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <fstream>
#include <set>

#include "edusight/core/config.hpp"
#include "edusight/core/names.hpp"
#include "edusight/core/parallel.hpp"

namespace edusight::discovery {

std::string_view to_string(Source s) {
  switch (s) {
    case Source::registry:
      return "registry";
    case Source::target:
      return "target";
    case Source::axfr:
      return "zone_transfer";
    case Source::wordlist:
      return "wordlist";
    case Source::link:
      return "link";
    case Source::ptr:
      return "ptr";
    case Source::certificate:
      return "certificate";
    case Source::port_scan:
      return "port_scan";
    case Source::passive:
      return "passive";
    case Source::cname:
      return "cname";
    case Source::dns_infrastructure:
      return "dns_infrastructure";
  }
  return "unknown";
}

namespace {

constexpr int kDnsWorkers = 32;

bool is_host_record(dns::RType t) {
  return t == dns::RType::A || t == dns::RType::AAAA || t == dns::RType::CNAME;
}

std::set<std::string> address_set(const dns::AddressLookup& a) {
  std::set<std::string> s;
  for (const auto& x : a.ipv4) s.insert(canonical_address(x));
  for (const auto& x : a.ipv6) s.insert(canonical_address(x));
  return s;
}

}  // namespace

boost::asio::awaitable<void> discover_by_axfr(ipv6::ScanState& state, std::string zone,
                                              Inventory& inventory) {
  auto& ctx = state.ctx();
  const auto ns = co_await ctx.dns.query(zone, dns::RType::NS);
  if (ns.status != dns::Status::ok) co_return;

  boost::json::array allowed_by;
  std::set<std::string> names;
  std::size_t records = 0;
  int servers = 0;
  for (const auto& rec : ns.answers) {
    if (rec.type != dns::RType::NS || ++servers > 16) continue;
    const auto a = co_await state.addresses(rec.data);
    std::vector<boost::asio::ip::address> tries;
    if (!a.ipv4.empty()) tries.push_back(a.ipv4.front());
    if (!a.ipv6.empty()) tries.push_back(a.ipv6.front());
    for (const auto& addr : tries) {
      const auto x = co_await ctx.dns.axfr({addr, 53}, zone);
      if (!x.allowed) continue;
      allowed_by.push_back({{"name_server", rec.data},
                            {"address", canonical_address(addr)},
                            {"records", x.records.size()}});
      records = std::max(records, x.records.size());
      for (const auto& r : x.records) {
        if (!is_host_record(r.type) || r.owner.rfind("*.", 0) == 0) continue;
        if (is_within_zone(r.owner, zone)) names.insert(r.owner);
      }
    }
  }
  if (allowed_by.empty()) co_return;
  boost::json::object ev;
  ev["allowed_by"] = std::move(allowed_by);
  ev["records"] = records;
  ev["host_names"] = names.size();
  ctx.report.emit("dns.axfr_allowed", Severity::medium, zone, "",
                  "A name server hands the whole zone to anyone who asks (AXFR)",
                  "权威服务器允许任意来源进行区域传送（AXFR），泄露全部域名", std::move(ev));
  for (const auto& n : names) inventory.touch(n, Source::axfr);
}

const std::vector<std::string>& builtin_wordlist() {
  // Names Chinese campuses commonly give their systems (pinyin initials and English).
  static const std::vector<std::string> words{
      "www",     "mail",  "email",    "webmail", "smtp",   "pop",     "imap",     "mx",
      "ns",      "ns1",   "ns2",      "dns",     "oa",     "jwc",     "jw",       "jwxt",
      "yjs",     "yjsy",  "grs",      "xsc",     "rsc",    "cwc",     "kjc",      "zsb",
      "zs",      "xxgk",  "xxb",      "nic",     "net",    "its",     "lib",      "library",
      "tsg",     "news",  "xww",      "xb",      "portal", "my",      "ehall",    "i",
      "sso",     "cas",   "ids",      "auth",    "login",  "vpn",     "webvpn",   "ca",
      "pay",     "card",  "ykt",      "hr",      "lab",    "labs",    "git",      "gitlab",
      "svn",     "wiki",  "bbs",      "blog",    "cloud",  "pan",     "disk",     "mirror",
      "mirrors", "ftp",   "sftp",     "video",   "tv",     "live",    "meeting",  "zoom",
      "survey",  "wj",    "events",   "cms",     "web",    "home",    "old",      "new",
      "test",    "dev",   "demo",     "api",     "app",    "apps",    "m",        "mobile",
      "wap",     "cdn",   "static",   "img",     "file",   "files",   "download", "db",
      "mysql",   "redis", "cache",    "es",      "search", "monitor", "zabbix",   "grafana",
      "jenkins", "intra", "intranet", "admin",   "manage", "open",    "data",     "dc",
      "hpc",     "gpu",   "ai"};
  return words;
}

std::vector<std::string> load_wordlist(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, 0, "cannot open the wordlist");
  std::vector<std::string> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n > 1000000) throw ConfigError(path, n, 0, "wordlist longer than 1,000,000 lines");
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.erase(line.begin());
    if (line.empty()) continue;
    const auto c = canonical_host(line);
    if (!c || c->find('*') != std::string::npos)
      throw ConfigError(path, n, 1, "'" + line + "' is not a host label");
    out.push_back(*c);
  }
  return out;
}

boost::asio::awaitable<void> discover_by_wordlist(ipv6::ScanState& state, std::string zone,
                                                  const std::vector<std::string>& words,
                                                  Random& random, Inventory& inventory) {
  // Wildcard probe: labels nobody would register.
  std::set<std::string> wildcard;
  bool is_wildcard = false;
  for (int i = 0; i < 2; ++i) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string label = "edusight-";
    for (int k = 0; k < 16; ++k) label.push_back(hex[random.below(16)]);
    const auto a = co_await state.addresses(label + "." + zone);
    if (!a.ipv4.empty() || !a.ipv6.empty()) {
      is_wildcard = true;
      const auto s = address_set(a);
      wildcard.insert(s.begin(), s.end());
    }
  }
  if (is_wildcard) {
    spdlog::info("zone {} has a wildcard ({}): keeping only names that answer differently", zone,
                 fmt::join(wildcard, ", "));
  }
  int found = 0;
  co_await for_each_bounded(
      words.size(), kDnsWorkers,
      [&](std::size_t i) -> boost::asio::awaitable<void> {
        const std::string name = words[i] + "." + zone;
        const auto a = co_await state.addresses(name);
        // A name with no address is kept only when it is a CNAME that dangles: that is a
        // finding (dns.dangling_cname), not an absence.
        const bool dangling = a.status == dns::Status::nxdomain && !a.cname_chain.empty();
        if (a.ipv4.empty() && a.ipv6.empty() && !dangling) co_return;
        if (is_wildcard && a.cname_chain.empty()) {
          const auto s = address_set(a);
          if (std::includes(wildcard.begin(), wildcard.end(), s.begin(), s.end())) co_return;
        }
        if (inventory.touch(name, Source::wordlist)) ++found;
      },
      "wordlist");
  spdlog::debug("wordlist: {} names found in {}", found, zone);
}

std::string reverse_name(const boost::asio::ip::address& a) {
  std::string out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char hex[] = "0123456789abcdef";
  const auto b = a.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    out.push_back(hex[b[i] & 0xf]);
    out.push_back('.');
    out.push_back(hex[b[i] >> 4]);
    out.push_back('.');
  }
  return out + "ip6.arpa";
}

boost::asio::awaitable<void> discover_by_ptr(ipv6::ScanState& state,
                                             std::vector<boost::asio::ip::address> addresses,
                                             Inventory& inventory) {
  auto& ctx = state.ctx();
  co_await for_each_bounded(
      addresses.size(), kDnsWorkers,
      [&](std::size_t i) -> boost::asio::awaitable<void> {
        const auto r = co_await ctx.dns.query(reverse_name(addresses[i]), dns::RType::PTR);
        if (r.status != dns::Status::ok) co_return;
        int n = 0;
        for (const auto& rec : r.answers) {
          if (rec.type != dns::RType::PTR || ++n > 8) continue;
          if (auto* a = inventory.touch(rec.data, Source::ptr)) {
            if (a->ptr_of.size() < 16) a->ptr_of.push_back(canonical_address(addresses[i]));
          }
        }
      },
      "ptr");
}

std::vector<boost::asio::ip::address> expand_ipv4(const Prefix& p, std::size_t limit) {
  std::vector<boost::asio::ip::address> out;
  if (p.is_v6()) return out;
  const auto base =
      parse_address(p.to_string().substr(0, p.to_string().find('/')))->to_v4().to_uint();
  const int len = p.length();
  const std::uint64_t size = std::uint64_t{1} << (32 - len);
  std::uint64_t first = 0, last = size;
  if (len < 31) {  // network and broadcast addresses carry no host
    first = 1;
    last = size - 1;
  }
  for (std::uint64_t i = first; i < last && out.size() < limit; ++i) {
    out.emplace_back(boost::asio::ip::address_v4(static_cast<std::uint32_t>(base + i)));
  }
  return out;
}

}  // namespace edusight::discovery
