#include "collector/api/assets.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cctype>
#include <map>
#include <set>

#include "edusight/core/finding.hpp"

namespace edusight::collector::api {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_port_kind(std::string_view kind) {
  return starts_with(kind, "exposure.") || starts_with(kind, "tls.");
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const boost::json::value* field(const boost::json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::optional<bool> bool_field(const boost::json::object& o, std::string_view key) {
  const auto* v = field(o, key);
  if (v && v->is_bool()) return v->get_bool();
  return std::nullopt;
}

std::optional<double> number_field(const boost::json::object& o, std::string_view key) {
  const auto* v = field(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

void add_strings(const boost::json::object& o, std::string_view key, std::set<std::string>& out) {
  const auto* v = field(o, key);
  if (!v || !v->is_array()) return;
  for (const auto& x : v->get_array()) {
    if (x.is_string()) out.emplace(x.get_string());
  }
}

// A host's row while it is being assembled.
struct Builder {
  AssetView view;
  std::set<std::string> ipv4, ipv6, sources, kinds;
  bool has_flags = false;
  std::chrono::system_clock::time_point flags_seen{};
  std::optional<bool> evidence_registered;
  std::chrono::system_clock::time_point readiness_seen{};
  bool has_readiness = false;
  bool dual_non_own = false, non_own_ip = false, non_own_domain = false;
};

void take_asset_evidence(Builder& b, const StoredFinding& sf) {
  const auto& ev = sf.finding.evidence;
  add_strings(ev, "ipv4", b.ipv4);
  add_strings(ev, "ipv6", b.ipv6);
  add_strings(ev, "sources", b.sources);
  const auto own_domain = bool_field(ev, "own_domain");
  const auto own_address = bool_field(ev, "own_address");
  // Every asset.* finding carries discovery's facts about the host; the newest wins.
  if (own_domain && own_address && (!b.has_flags || sf.last_seen >= b.flags_seen)) {
    b.has_flags = true;
    b.flags_seen = sf.last_seen;
    b.view.own_domain = *own_domain;
    b.view.own_address = *own_address;
    b.evidence_registered = bool_field(ev, "registered");
    if (const auto* u = field(ev, "owner_unit"); u && u->is_string() && !u->get_string().empty()) {
      b.view.owner_unit = u->get_string();
    }
  }
  if (b.view.owner_unit.empty()) {
    if (const auto* u = field(ev, "owner_unit"); u && u->is_string()) {
      b.view.owner_unit = u->get_string();
    }
  }
}

void take(Builder& b, const StoredFinding& sf) {
  const auto& f = sf.finding;
  b.kinds.insert(f.kind);
  b.view.last_seen = std::max(b.view.last_seen, sf.last_seen);
  if (starts_with(f.kind, "asset.")) {
    take_asset_evidence(b, sf);
    if (f.kind == "asset.unregistered") b.view.unregistered = true;
    if (f.kind == "asset.zombie") b.view.zombie = true;
    if (f.kind == "asset.dual_non_own") b.dual_non_own = true;
    if (f.kind == "asset.non_own_ip") b.non_own_ip = true;
    if (f.kind == "asset.non_own_domain") b.non_own_domain = true;
  } else if (f.kind == "ipv6.readiness") {
    if (!b.has_readiness || sf.last_seen >= b.readiness_seen) {
      b.has_readiness = true;
      b.readiness_seen = sf.last_seen;
      if (const auto s = number_field(f.evidence, "score")) {
        b.view.ipv6_score = static_cast<int>(*s);
      } else {
        b.view.ipv6_score.reset();
      }
      b.view.ipv6_status = ipv6_status(f.evidence);
      b.view.level2_total = b.view.level2_ipv6 = b.view.level3_total = b.view.level3_ipv6 = 0;
      if (const auto* links = field(f.evidence, "links"); links && links->is_object()) {
        auto count = [&](const char* level, const char* key) -> std::size_t {
          const auto* l = field(links->get_object(), level);
          if (!l || !l->is_object()) return 0;
          const auto n = number_field(l->get_object(), key);
          return n && *n > 0 ? static_cast<std::size_t>(*n) : 0;
        };
        b.view.level2_total = count("level2", "total");
        b.view.level2_ipv6 = count("level2", "ipv6");
        b.view.level3_total = count("level3", "total");
        b.view.level3_ipv6 = count("level3", "ipv6");
      }
    }
  } else if (is_port_kind(f.kind)) {
    ++b.view.exposure_count;
  }
}

AssetView finish(Builder& b) {
  auto& v = b.view;
  v.addresses.assign(b.ipv4.begin(), b.ipv4.end());
  v.addresses.insert(v.addresses.end(), b.ipv6.begin(), b.ipv6.end());
  v.sources.assign(b.sources.begin(), b.sources.end());
  v.kinds.assign(b.kinds.begin(), b.kinds.end());
  // The category findings are the classifier's verdict; the flags are the fallback.
  if (b.dual_non_own) {
    v.ownership = "dual_non_own";
  } else if (b.non_own_ip) {
    v.ownership = "non_own_ip";
  } else if (b.non_own_domain) {
    v.ownership = "non_own_domain";
  } else if (b.has_flags) {
    // A name with no address (a zombie that no longer resolves) is judged by its name.
    const bool no_address = b.ipv4.empty() && b.ipv6.empty();
    if (v.own_domain && (v.own_address || no_address)) {
      v.ownership = "own";
    } else if (v.own_domain) {
      v.ownership = "non_own_ip";
    } else if (v.own_address) {
      v.ownership = "non_own_domain";
    } else {
      v.ownership = "external";
    }
  }
  v.registered = !v.unregistered && b.evidence_registered.value_or(true);
  return std::move(v);
}

}  // namespace

bool is_asset_view_kind(std::string_view kind) {
  return starts_with(kind, "asset.") || kind == "ipv6.readiness" || is_port_kind(kind);
}

std::string host_of_subject(std::string_view kind, std::string_view subject) {
  if (!is_port_kind(kind)) return std::string(subject);
  if (!subject.empty() && subject.front() == '[') {
    const auto close = subject.find(']');
    if (close != std::string_view::npos) return std::string(subject.substr(1, close - 1));
  }
  const auto colon = subject.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == subject.size()) return std::string(subject);
  const auto port = subject.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::string(subject);
  }
  return std::string(subject.substr(0, colon));
}

std::string ipv6_status(const boost::json::object& ev) {
  const auto aaaa = bool_field(ev, "aaaa");
  const auto score = number_field(ev, "score");
  const auto reachable = number_field(ev, "reachable_share");
  if (aaaa && !*aaaa) return "none";
  if (score && *score >= 100) return "ready";
  if (reachable && *reachable <= 0) return "unreachable";
  if (score) return "partial";
  return "unknown";
}

std::vector<AssetView> build_assets(std::span<const StoredFinding> findings) {
  std::map<std::string, Builder> hosts;
  for (const auto& sf : findings) {
    if (sf.state != FindingState::open || !is_asset_view_kind(sf.finding.kind)) continue;
    const auto host = host_of_subject(sf.finding.kind, sf.finding.subject);
    if (host.empty()) continue;
    auto& b = hosts[host];
    b.view.name = host;
    take(b, sf);
  }
  std::vector<AssetView> out;
  out.reserve(hosts.size());
  for (auto& [name, b] : hosts) out.push_back(finish(b));
  return out;  // std::map iteration: already sorted by name
}

boost::json::object to_json(const AssetView& a) {
  boost::json::object o;
  o["name"] = a.name;
  o["addresses"] = to_json_array(a.addresses);
  o["own_domain"] = a.own_domain;
  o["own_address"] = a.own_address;
  o["sources"] = to_json_array(a.sources);
  o["ownership"] = a.ownership;
  o["registered"] = a.registered;
  o["unregistered"] = a.unregistered;
  o["zombie"] = a.zombie;
  if (a.owner_unit.empty()) {
    o["owner_unit"] = nullptr;
  } else {
    o["owner_unit"] = a.owner_unit;
  }
  if (a.ipv6_score) {
    o["ipv6_score"] = *a.ipv6_score;
  } else {
    o["ipv6_score"] = nullptr;
  }
  o["ipv6_status"] = a.ipv6_status;
  o["exposure_count"] = a.exposure_count;
  o["links"] = {{"level2", {{"total", a.level2_total}, {"ipv6", a.level2_ipv6}}},
                {"level3", {{"total", a.level3_total}, {"ipv6", a.level3_ipv6}}}};
  o["last_seen"] = format_rfc3339(a.last_seen);
  o["kinds"] = to_json_array(a.kinds);
  return o;
}

Parsed<AssetQuery> parse_asset_query(const Params& params) {
  Parsed<AssetQuery> out;
  if ((out.error = check_known(params, {"search", "class", "limit", "offset"}))) return out;
  if (const auto* v = find_param(params, "search")) out.value.search = *v;
  if (const auto* v = find_param(params, "class"); v && !v->empty()) {
    if (std::find(std::begin(kOwnershipClasses), std::end(kOwnershipClasses), *v) ==
        std::end(kOwnershipClasses)) {
      out.error = ParamError{"class",
                             "class: must be one of own, non_own_ip, non_own_domain, "
                             "dual_non_own, external, unknown"};
      return out;
    }
    out.value.ownership = *v;
  }
  out.error = parse_page(params, out.value.page);
  return out;
}

namespace {
// Case-insensitive (ASCII) substring test without copying: the search runs over every row
// of the snapshot on each request.
bool contains_folded(std::string_view haystack, std::string_view lowered_needle) {
  const auto it =
      std::search(haystack.begin(), haystack.end(), lowered_needle.begin(), lowered_needle.end(),
                  [](char a, char b) {
                    return static_cast<char>(std::tolower(static_cast<unsigned char>(a))) == b;
                  });
  return it != haystack.end();
}
}  // namespace

// Filters the snapshot in place and copies only the page's rows: a copy of all rows per
// request was most of the cost at 150,000 systems.
AssetPage select_assets(const std::vector<AssetView>& all, const AssetQuery& q) {
  const auto needle = lower(q.search);
  const auto matches = [&](const AssetView& a) {
    if (q.ownership && a.ownership != *q.ownership) return false;
    if (needle.empty()) return true;
    if (contains_folded(a.name, needle)) return true;
    if (contains_folded(a.owner_unit, needle)) return true;
    return std::any_of(a.addresses.begin(), a.addresses.end(),
                       [&](const std::string& x) { return contains_folded(x, needle); });
  };
  AssetPage page;
  for (const AssetView& a : all) {
    if (!matches(a)) continue;
    if (page.total >= q.page.offset && page.items.size() < q.page.limit) page.items.push_back(a);
    ++page.total;
  }
  return page;
}

}  // namespace edusight::collector::api
