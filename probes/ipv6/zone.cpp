#include "probes/ipv6/zone.hpp"

#include <boost/json/array.hpp>

#include "edusight/core/evidence.hpp"
#include "edusight/core/names.hpp"

namespace edusight::ipv6 {
namespace {}  // namespace

boost::asio::awaitable<bool> is_zone_apex(ScanState& state, const std::string& name) {
  const auto r = co_await state.ctx().dns.query(name, dns::RType::SOA);
  if (r.status != dns::Status::ok) co_return false;
  for (const auto& rec : r.answers) {
    if (rec.type == dns::RType::SOA && rec.owner == name) co_return true;
  }
  co_return false;
}

boost::asio::awaitable<void> check_zone(ScanState& state, std::string zone) {
  auto& ctx = state.ctx();

  // Name servers: at least two must have AAAA and answer for the zone over IPv6, asked
  // directly (no recursion), since a resolver would hide a dead one.
  const auto ns = co_await ctx.dns.query(zone, dns::RType::NS);
  if (ns.status == dns::Status::ok) {
    boost::json::array servers;
    int good = 0;
    int count = 0;
    for (const auto& rec : ns.answers) {
      if (rec.type != dns::RType::NS || count >= 16) continue;
      ++count;
      const auto a = co_await state.addresses(rec.data);
      boost::json::object o;
      o["name"] = rec.data;
      o["ipv6"] = addresses_json(a.ipv6);
      bool answered = false;
      boost::json::array errors;
      for (const auto& addr : a.ipv6) {
        dns::QueryOptions opt;
        opt.recursion_desired = false;
        opt.timeout = ctx.config.timeouts.dns;
        opt.tries = ctx.config.timeouts.dns_tries;
        const auto r = co_await ctx.dns.query_server({addr, 53}, zone, dns::RType::SOA, opt);
        bool has_soa = false;
        for (const auto& x : r.answers) has_soa = has_soa || x.type == dns::RType::SOA;
        if (r.status == dns::Status::ok && has_soa) {
          answered = true;
        } else {
          errors.push_back({{"address", canonical_address(addr)},
                            {"error", std::string(dns::to_string(r.status)) +
                                          (r.error.empty() ? "" : ": " + r.error)}});
        }
      }
      o["answers_over_ipv6"] = answered;
      if (!errors.empty()) o["errors"] = std::move(errors);
      if (answered) ++good;
      servers.push_back(std::move(o));
    }
    if (count > 0 && good < 2) {
      boost::json::object ev;
      ev["name_servers"] = std::move(servers);
      ev["answering_over_ipv6"] = good;
      ev["required"] = 2;
      ctx.report.emit("ipv6.dns.ns_no_ipv6", Severity::medium, zone, "",
                      "Fewer than two name servers of the zone have AAAA and answer over IPv6",
                      "域名的权威服务器中具备 AAAA 且可通过 IPv6 应答的少于两台", std::move(ev));
    }
  }

  // Mail: every MX host should be reachable over IPv6.
  const auto mx = co_await ctx.dns.query(zone, dns::RType::MX);
  if (mx.status == dns::Status::ok) {
    boost::json::array missing;
    int count = 0;
    for (const auto& rec : mx.answers) {
      if (rec.type != dns::RType::MX || count >= 32) continue;
      ++count;
      if (rec.data.empty()) continue;  // null MX (RFC 7505): no mail, nothing to check
      const auto a = co_await state.addresses(rec.data);
      if (!a.ipv6.empty()) continue;
      boost::json::object o;
      o["host"] = rec.data;
      o["preference"] = rec.preference;
      o["ipv4"] = addresses_json(a.ipv4);
      if (!a.ipv4_mapped.empty()) o["ipv4_mapped_aaaa"] = addresses_json(a.ipv4_mapped);
      missing.push_back(std::move(o));
    }
    if (!missing.empty()) {
      boost::json::object ev;
      ev["mx_without_aaaa"] = std::move(missing);
      ev["mx_count"] = count;
      ctx.report.emit("ipv6.mail.mx_no_aaaa", Severity::low, zone, "",
                      "A mail exchanger of the zone has no AAAA record",
                      "域名的邮件服务器（MX）缺少 AAAA 记录", std::move(ev));
    }
  }
}

}  // namespace edusight::ipv6
