#include "probes/passive/monitor.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cstdio>
#include <utility>

#include "edusight/core/names.hpp"

namespace edusight::passive {

namespace {

enum Via { kViaDns = 1, kViaTls = 2, kViaHttp = 4 };

// Names from SNI and Host headers are whatever a client typed: lower-cased, stripped of a
// trailing dot and checked to be a host name. An address literal is not a name.
bool wire_name(std::string_view in, std::array<char, 256>& buf, std::string_view& out) {
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  if (in.empty() || in.size() > 253) return false;
  std::size_t label = 0;
  bool label_has_alpha = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      label_has_alpha = false;
    } else if ((c >= 'a' && c <= 'z') || c == '-' || c == '_') {
      ++label;
      label_has_alpha = true;
    } else if (c >= '0' && c <= '9') {
      ++label;
    } else {
      return false;
    }
    if (label > 63) return false;
    buf[i] = c;
  }
  // An all-numeric last label is an IPv4 literal, never a top-level domain.
  if (label == 0 || !label_has_alpha) return false;
  out = std::string_view(buf.data(), in.size());
  return true;
}

// The Host header without its port ("www.x.cn:8080"); IPv6 literals are not names.
std::string_view host_of(std::string_view host) {
  if (!host.empty() && host.front() == '[') return {};
  const auto colon = host.find(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool global_ipv6(const Addr& a) {
  if (a.family != 6) return false;
  if (a.bytes[0] == 0xff) return false;                                 // multicast
  if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80) return false;  // link-local
  return std::any_of(a.bytes.begin(), a.bytes.end(), [](std::uint8_t b) { return b != 0; });
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

std::string mac_text(const std::array<std::uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

void add_unique(std::vector<Addr>& v, const Addr& a, std::size_t max) {
  if (v.size() >= max || std::find(v.begin(), v.end(), a) != v.end()) return;
  v.push_back(a);
}

double ratio(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return 0.0;
  // Four decimals: enough for a share, and stable text in JSON.
  return static_cast<double>(static_cast<std::uint64_t>(
             static_cast<double>(part) / static_cast<double>(whole) * 10000.0 + 0.5)) /
         10000.0;
}

}  // namespace

boost::asio::ip::address to_address(const Addr& a) {
  if (a.family == 4) {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy_n(a.bytes.begin(), 4, b.begin());
    return boost::asio::ip::make_address_v4(b);
  }
  boost::asio::ip::address_v6::bytes_type b{};
  std::copy_n(a.bytes.begin(), 16, b.begin());
  return boost::asio::ip::make_address_v6(b);
}

std::string to_string(const Addr& a) {
  return canonical_address(to_address(a));
}

std::size_t Monitor::AddrHash::operator()(const Addr& a) const {
  // FNV-1a over the bytes that matter.
  std::uint64_t h = 1469598103934665603ull ^ a.family;
  const std::size_t n = a.family == 4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ a.bytes[i]) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}

void Monitor::Seen::touch(time_point t) {
  if (packets == 0 || t < first) first = t;
  if (packets == 0 || t > last) last = t;
  ++packets;
}

bool Monitor::TunnelKey::operator<(const TunnelKey& o) const {
  const AddrLess less;
  if (kind != o.kind) return kind < o.kind;
  if (!(a == o.a)) return less(a, o.a);
  return less(b, o.b);
}

Monitor::Monitor(MonitorOptions options, const OwnershipClassifier& ownership, FindingSink& sink,
                 const Clock& clock)
    : options_(std::move(options)), ownership_(ownership), sink_(sink), clock_(clock) {
  if (options_.interval <= std::chrono::seconds(0)) options_.interval = std::chrono::seconds(1);
}

void Monitor::open_interval(time_point t) {
  // Intervals are aligned to multiples of their length, so two agents (or two runs over the
  // same capture) cut time the same way.
  const auto len = std::chrono::duration_cast<time_point::duration>(options_.interval);
  const auto since = t.time_since_epoch();
  start_ = time_point(since - (since % len + len) % len);
  end_ = start_ + len;
  open_ = true;
}

void Monitor::advance(time_point t) {
  if (!open_) {
    open_interval(t);
    return;
  }
  if (t < end_) return;  // late or out-of-order packets stay in the current interval
  flush();
  open_interval(t);
}

void Monitor::poll() {
  if (options_.packet_time || !open_) return;
  if (clock_.now() >= end_) flush();
}

void Monitor::finish() {
  if (open_) flush();
}

bool Monitor::allowed(const std::vector<boost::asio::ip::address>& list, const Addr& a) const {
  if (list.empty()) return false;
  const auto addr = to_address(a);
  return std::find(list.begin(), list.end(), addr) != list.end();
}

bool Monitor::relevant(std::string_view name, const Addr* addresses, std::size_t count) const {
  if (ownership_.zones().find(name) != nullptr) return true;
  for (std::size_t i = 0; i < count; ++i) {
    if (ownership_.prefixes().find(to_address(addresses[i])) != PrefixSet::npos) return true;
  }
  return false;
}

void Monitor::note_name(std::string_view name, const Addr* addresses, std::size_t count,
                        const Facts& facts, int via, time_point t) {
  auto it = names_.find(name);
  if (it == names_.end()) {
    // Only own names and names on own addresses are kept: the rest of the internet never
    // reaches the table.
    if (count == 0 || !relevant(name, addresses, count)) return;
    if (names_.size() >= options_.max_names) {
      ++stats_.names_dropped;
      return;
    }
    it = names_.emplace(std::string(name), NameEntry{}).first;
  }
  NameEntry& e = it->second;
  e.seen.touch(t);
  for (std::size_t i = 0; i < count; ++i)
    add_unique(e.addresses, addresses[i], kMaxAddressesPerFact);
  if (via == kViaDns && e.cname_chain.empty()) {
    for (std::size_t i = 0; i < facts.cname_count; ++i) {
      if (facts.cnames[i].valid) e.cname_chain.emplace_back(facts.cnames[i].view());
    }
  }
  e.via_dns = e.via_dns || via == kViaDns;
  e.via_tls = e.via_tls || via == kViaTls;
  e.via_http = e.via_http || via == kViaHttp;
}

void Monitor::packet(const Facts& f, bool ok, std::uint32_t wire_length, time_point timestamp) {
  const time_point t = options_.packet_time ? timestamp : clock_.now();
  advance(t);
  last_packet_ = std::max(last_packet_, t);
  ++stats_.packets;
  ++interval_packets_;
  stats_.bytes += wire_length;
  if (!ok) {
    ++stats_.malformed;
    ++stats_.by_reason[static_cast<std::size_t>(f.malformed)];
  } else {
    ++stats_.decoded;
  }
  if (f.outer_family == 0) {
    if (ok) ++stats_.not_ip;
    return;
  }
  ++ip_packets_;
  ip_bytes_ += wire_length;
  if (f.outer_family == 6) {
    ++ipv6_packets_;
    ipv6_bytes_ += wire_length;
  } else {
    ++ipv4_packets_;
  }
  if (f.tunnel != TunnelKind::none) ++tunneled_ipv6_packets_;
  if (global_ipv6(f.src)) {
    if (ipv6_addresses_.size() < options_.max_ipv6_addresses) {
      ipv6_addresses_.insert(f.src);
    } else if (!ipv6_addresses_.contains(f.src)) {
      ipv6_addresses_capped_ = true;
      ++stats_.addresses_dropped;
    }
  }
  if (f.fragment_non_first) ++stats_.fragments;

  // Tunnels are reported even from a packet whose inner part is broken: the outer header
  // already says what it is.
  if (f.tunnel != TunnelKind::none) {
    TunnelKey key{f.tunnel, f.tunnel_src, f.tunnel_dst};
    // One entry per pair, whichever way the packet goes: the campus side first, else in order.
    const bool a_own = ownership_.prefixes().find(to_address(key.a)) != PrefixSet::npos;
    const bool b_own = ownership_.prefixes().find(to_address(key.b)) != PrefixSet::npos;
    if ((b_own && !a_own) || (a_own == b_own && AddrLess{}(key.b, key.a))) std::swap(key.a, key.b);
    auto it = tunnels_.find(key);
    if (it == tunnels_.end()) {
      if (tunnels_.size() >= options_.max_entries) {
        ++stats_.tunnels_dropped;
      } else {
        it = tunnels_.emplace(key, TunnelEntry{}).first;
      }
    }
    if (it != tunnels_.end()) {
      it->second.seen.touch(t);
      it->second.bytes += wire_length;
      if (f.src.is_v6()) {
        add_unique(it->second.inner, f.src, kMaxAddressesPerFact);
        add_unique(it->second.inner, f.dst, kMaxAddressesPerFact);
      }
    }
  }
  if (!ok) return;

  std::array<char, 256> buf;
  std::string_view name;
  if (f.dns_response && f.answer_count > 0 && f.dns_qname.valid &&
      wire_name(f.dns_qname.view(), buf, name)) {
    note_name(name, f.answers.data(), f.answer_count, f, kViaDns, t);
  }
  if (!f.tls_sni.empty() && wire_name(f.tls_sni, buf, name)) {
    note_name(name, &f.dst, 1, f, kViaTls, t);
  }
  if (!f.http_host.empty() && wire_name(host_of(f.http_host), buf, name)) {
    note_name(name, &f.dst, 1, f, kViaHttp, t);
  }
  if (f.router_advert && !allowed(options_.allowed_routers, f.src)) {
    auto it = routers_.find(f.src);
    if (it == routers_.end()) {
      if (routers_.size() >= options_.max_entries) {
        ++stats_.routers_dropped;
        return;
      }
      it = routers_.emplace(f.src, RouterEntry{}).first;
    }
    RouterEntry& r = it->second;
    r.seen.touch(t);
    r.router_lifetime = f.router_lifetime;
    r.has_mac = r.has_mac || f.has_mac;
    if (f.has_mac) r.mac = f.src_mac;
    for (std::size_t i = 0; i < f.prefix_count; ++i) {
      const std::pair<Addr, std::uint8_t> p{f.prefixes[i], f.prefix_lengths[i]};
      if (r.prefixes.size() < kMaxAddressesPerFact &&
          std::find(r.prefixes.begin(), r.prefixes.end(), p) == r.prefixes.end())
        r.prefixes.push_back(p);
    }
  }
  if (f.dhcpv6_type != 0 && !allowed(options_.allowed_dhcpv6_servers, f.src)) {
    auto it = servers_.find(f.src);
    if (it == servers_.end()) {
      if (servers_.size() >= options_.max_entries) {
        ++stats_.servers_dropped;
        return;
      }
      it = servers_.emplace(f.src, ServerEntry{}).first;
    }
    ServerEntry& s = it->second;
    s.seen.touch(t);
    if (f.dhcpv6_type == 2) ++s.advertise;
    if (f.dhcpv6_type == 7) ++s.reply;
    if (s.duid.empty() && !f.dhcpv6_server_duid.empty()) s.duid = hex(f.dhcpv6_server_duid);
    s.has_mac = s.has_mac || f.has_mac;
    if (f.has_mac) s.mac = f.src_mac;
  }
}

Finding Monitor::make(std::string kind, Severity severity, std::string subject,
                      std::string_view discriminator, std::string title, std::string title_zh,
                      boost::json::object evidence, time_point observed) const {
  Finding f;
  f.id = finding_id(kind, subject, discriminator);
  f.kind = std::move(kind);
  f.severity = severity;
  f.subject = std::move(subject);
  f.title = std::move(title);
  f.title_zh = std::move(title_zh);
  f.evidence = std::move(evidence);
  f.observed_at = observed;
  f.agent = options_.agent;
  f.scan = options_.scan;
  return f;
}

void Monitor::emit(Finding f) {
  ++stats_.findings;
  sink_.write(f);
}

void Monitor::interval_evidence(boost::json::object& ev) const {
  ev["interval_start"] = format_rfc3339(start_);
  ev["interval_end"] = format_rfc3339(end_);
  ev["interface"] = options_.interface;
}

void Monitor::flush() {
  ++stats_.intervals;
  auto seen_evidence = [&](boost::json::object& ev, const Seen& s) {
    ev["packets"] = s.packets;
    ev["first_seen"] = format_rfc3339(s.first);
    ev["last_seen"] = format_rfc3339(s.last);
    interval_evidence(ev);
  };

  // asset.discovered, with the discovery probe's evidence fields and flags.
  std::vector<const std::pair<const std::string, NameEntry>*> names;
  names.reserve(names_.size());
  for (const auto& kv : names_) names.push_back(&kv);
  std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* kv : names) {
    const std::string& host = kv->first;
    const NameEntry& e = kv->second;
    std::vector<boost::asio::ip::address> addrs;
    boost::json::array v4, v6;
    for (const Addr& a : e.addresses) {
      addrs.push_back(to_address(a));
      (a.is_v6() ? v6 : v4).emplace_back(canonical_address(addrs.back()));
    }
    const OwnershipVerdict verdict = ownership_.classify(host, addrs);
    boost::json::object ev;
    ev["ipv4"] = std::move(v4);
    ev["ipv6"] = std::move(v6);
    if (!e.cname_chain.empty()) {
      boost::json::array chain;
      for (const auto& c : e.cname_chain) chain.emplace_back(c);
      ev["cname_chain"] = std::move(chain);
    }
    ev["sources"] = boost::json::array{"passive"};
    ev["own_domain"] = verdict.own_domain;
    ev["own_address"] = verdict.own_address;
    if (!verdict.zone.empty()) ev["own_zone"] = verdict.zone;
    if (!verdict.prefix.empty()) ev["own_prefix"] = verdict.prefix;
    ev["registrable_domain"] = registrable_domain(host);
    boost::json::array via;
    if (e.via_dns) via.emplace_back("dns");
    if (e.via_tls) via.emplace_back("tls_sni");
    if (e.via_http) via.emplace_back("http_host");
    ev["seen_in"] = std::move(via);
    seen_evidence(ev, e.seen);
    emit(make("asset.discovered", Severity::info, host, "", "System discovered", "发现信息系统",
              std::move(ev), e.seen.last));
  }

  for (const auto& [addr, r] : routers_) {
    boost::json::object ev;
    const std::string router = to_string(addr);
    ev["router"] = router;
    boost::json::array prefixes;
    for (const auto& [p, len] : r.prefixes)
      prefixes.emplace_back(to_string(p) + "/" + std::to_string(len));
    ev["prefixes"] = std::move(prefixes);
    ev["router_lifetime"] = r.router_lifetime;
    if (r.has_mac) ev["mac"] = mac_text(r.mac);
    seen_evidence(ev, r.seen);
    emit(make("net.rogue_ra", Severity::high, router, "",
              "Router Advertisement from a router that is not on the allowed list",
              "未授权路由器发送 IPv6 路由通告（RA）", std::move(ev), r.seen.last));
  }

  for (const auto& [addr, s] : servers_) {
    boost::json::object ev;
    const std::string server = to_string(addr);
    ev["server"] = server;
    if (!s.duid.empty()) ev["server_duid"] = s.duid;
    ev["advertise"] = s.advertise;
    ev["reply"] = s.reply;
    if (s.has_mac) ev["mac"] = mac_text(s.mac);
    seen_evidence(ev, s.seen);
    emit(make("net.rogue_dhcpv6", Severity::high, server, "",
              "DHCPv6 server that is not on the allowed list answers clients",
              "未授权 DHCPv6 服务器应答客户端", std::move(ev), s.seen.last));
  }

  for (const auto& [key, t] : tunnels_) {
    boost::json::object ev;
    const std::string a = to_string(key.a), b = to_string(key.b);
    const std::string kind(to_string(key.kind));
    ev["tunnel"] = kind;
    ev["endpoints"] = boost::json::array{a, b};
    ev["own_endpoints"] = boost::json::array{ownership_.own_address(to_address(key.a)),
                                             ownership_.own_address(to_address(key.b))};
    boost::json::array inner;
    for (const Addr& x : t.inner) inner.emplace_back(to_string(x));
    ev["inner_ipv6"] = std::move(inner);
    ev["bytes"] = t.bytes;
    seen_evidence(ev, t.seen);
    emit(make("net.tunnel", Severity::medium, a + "<->" + b, kind,
              "IPv6 in a " + kind + " tunnel that bypasses the campus IPv6 policy",
              "IPv6 隧道（" + kind + "）绕过校园网 IPv6 策略", std::move(ev), t.seen.last));
  }

  if (interval_packets_ > 0) {
    boost::json::object ev;
    ev["packets"] = interval_packets_;
    ev["ip_packets"] = ip_packets_;
    ev["ipv4_packets"] = ipv4_packets_;
    ev["ipv6_packets"] = ipv6_packets_;
    ev["tunneled_ipv6_packets"] = tunneled_ipv6_packets_;
    ev["ip_bytes"] = ip_bytes_;
    ev["ipv6_bytes"] = ipv6_bytes_;
    ev["ipv6_packet_share"] = ratio(ipv6_packets_, ip_packets_);
    ev["ipv6_byte_share"] = ratio(ipv6_bytes_, ip_bytes_);
    ev["active_ipv6_addresses"] = ipv6_addresses_.size();
    if (ipv6_addresses_capped_) ev["active_ipv6_addresses_capped"] = true;
    interval_evidence(ev);
    const auto observed = options_.packet_time ? last_packet_ : std::min(clock_.now(), end_);
    emit(make("net.ipv6_share", Severity::info, options_.interface, "", "Share of IPv6 traffic",
              "IPv6 流量占比", std::move(ev), observed));
  }

  names_.clear();
  routers_.clear();
  servers_.clear();
  tunnels_.clear();
  ipv6_addresses_.clear();
  ipv6_addresses_capped_ = false;
  ip_packets_ = ipv6_packets_ = ipv4_packets_ = ip_bytes_ = ipv6_bytes_ = 0;
  tunneled_ipv6_packets_ = interval_packets_ = 0;
  open_ = false;
}

}  // namespace edusight::passive
