#include "probes/ipv6/selfcheck.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value_from.hpp>
#include <fstream>
#include <sstream>

#include "edusight/core/names.hpp"

namespace edusight::ipv6 {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "20010db800ff00000000000000000002" -> canonical address text, or "" when malformed.
std::string hex_to_v6(const std::string& hex) {
  if (hex.size() != 32) return {};
  boost::asio::ip::address_v6::bytes_type b{};
  for (std::size_t i = 0; i < 16; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return {};
    b[i] = static_cast<unsigned char>(v);
  }
  return canonical_address(boost::asio::ip::address_v6(b));
}

}  // namespace

VantageFacts parse_proc_ipv6(const std::string& if_inet6, const std::string& ipv6_route) {
  VantageFacts f;
  std::istringstream a(if_inet6);
  std::string line;
  for (int n = 0; n < 100000 && std::getline(a, line); ++n) {
    std::istringstream ls(line);
    std::string hex, idx, plen, scope, flags, ifname;
    if (!(ls >> hex >> idx >> plen >> scope >> flags >> ifname)) continue;
    const unsigned scope_v = static_cast<unsigned>(std::stoul(scope, nullptr, 16));
    const unsigned flags_v = static_cast<unsigned>(std::stoul(flags, nullptr, 16));
    // scope 0x00 is global; IFA_F_TENTATIVE (0x40) and IFA_F_DADFAILED (0x08) are unusable.
    if (scope_v != 0 || (flags_v & 0x48) != 0) continue;
    const auto addr = hex_to_v6(hex);
    if (addr.empty()) continue;
    f.global_ipv6.push_back(addr);
    f.interfaces_with_ipv6.push_back(ifname);
  }
  std::istringstream r(ipv6_route);
  for (int n = 0; n < 100000 && std::getline(r, line); ++n) {
    std::istringstream ls(line);
    std::string dst, dlen, src, slen, nexthop, metric, ref, use, flags, ifname;
    if (!(ls >> dst >> dlen >> src >> slen >> nexthop >> metric >> ref >> use >> flags >> ifname))
      continue;
    const unsigned flags_v = static_cast<unsigned>(std::stoul(flags, nullptr, 16));
    // ::/0 that is up (RTF_UP 0x1) and not a reject route (RTF_REJECT 0x200, the kernel's
    // placeholder on lo).
    if (dst == std::string(32, '0') && dlen == "00" && (flags_v & 0x1) && !(flags_v & 0x200) &&
        ifname != "lo") {
      f.ipv6_default_route = true;
    }
  }
  return f;
}

VantageFacts ProcVantageSource::read() const {
  return parse_proc_ipv6(read_file(root_ + "/net/if_inet6"), read_file(root_ + "/net/ipv6_route"));
}

boost::asio::awaitable<bool> run_selfcheck(CheckContext& ctx, const VantageSource& source,
                                           const std::string& agent_id) {
  const auto facts = source.read();

  // Resolvers: each must answer over its own family; one IPv6 resolver that answers shows
  // DNS over IPv6 works from here.
  boost::json::array resolvers;
  int answering = 0;
  const std::string probe_name = ctx.config.institution.own_domains.empty()
                                     ? std::string(".")
                                     : ctx.config.institution.own_domains.front();
  for (const auto& e : ctx.config.resolvers) {
    const dns::Server s{e.address, e.port};
    dns::QueryOptions opt;
    opt.timeout = ctx.config.timeouts.dns;
    opt.tries = 2;
    const auto r = co_await ctx.dns.query_server(s, probe_name, dns::RType::SOA, opt);
    const bool ok = r.status == dns::Status::ok || r.status == dns::Status::nxdomain;
    if (ok) ++answering;
    boost::json::object o;
    o["address"] = e.text();
    o["family"] = e.address.is_v6() ? "ipv6" : "ipv4";
    o["answers"] = ok;
    if (!ok)
      o["error"] = std::string(dns::to_string(r.status)) + (r.error.empty() ? "" : ": " + r.error);
    resolvers.push_back(std::move(o));
  }

  const bool has_addr = !facts.global_ipv6.empty();
  const bool ok = has_addr && facts.ipv6_default_route;
  boost::json::object ev;
  ev["global_ipv6_addresses"] = boost::json::value_from(facts.global_ipv6);
  ev["ipv6_default_route"] = facts.ipv6_default_route;
  ev["resolvers"] = std::move(resolvers);
  ev["resolvers_answering"] = answering;
  ev["ipv6_trustworthy"] = ok;
  std::string reason;
  if (!has_addr)
    reason = "no global IPv6 address";
  else if (!facts.ipv6_default_route)
    reason = "no IPv6 default route";
  if (!reason.empty()) ev["reason"] = reason;

  ctx.report.emit(
      "agent.selfcheck", ok ? Severity::info : Severity::medium, agent_id, "",
      ok ? "Agent vantage has working IPv6"
         : "Agent vantage has no working IPv6 (" + reason + "): IPv6 results are not trustworthy",
      ok ? "探针具备可用的 IPv6" : "探针自身无可用 IPv6（" + reason + "）：本次 IPv6 结果不可信",
      std::move(ev));
  co_return ok;
}

}  // namespace edusight::ipv6
