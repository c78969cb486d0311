#pragma once
// The living registry of systems: one row per host, assembled from the OPEN findings that
// describe it (asset.*, ipv6.readiness, exposure.* and tls.*). It is a view, not a table:
// when a scan stops reporting a host's findings they are resolved and the row changes with
// them.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/api/params.hpp"
#include "collector/store/store.hpp"

namespace edusight::collector::api {

// own: own domain and own address; non_own_ip / non_own_domain / dual_non_own: the 双非
// categories 1, 2 and 3 (asset.* finding kinds); external: neither, and not tied to the
// institution; unknown: no asset.* evidence for the host (e.g. an agent that only checks
// IPv6 readiness).
inline constexpr std::string_view kOwnershipClasses[] = {
    "own", "non_own_ip", "non_own_domain", "dual_non_own", "external", "unknown"};

struct AssetView {
  std::string name;                    // host name or address
  std::vector<std::string> addresses;  // IPv4 then IPv6, as discovery resolved them
  bool own_domain = false;
  bool own_address = false;
  std::vector<std::string> sources;  // how discovery found it: registry, axfr, link, ptr, ...
  std::string ownership = "unknown";
  // In the registry. False when asset.unregistered is open, or when discovery's evidence
  // says so; true when nothing says otherwise.
  bool registered = true;
  bool unregistered = false;      // asset.unregistered is open: live, own, missing from registry
  bool zombie = false;            // asset.zombie is open
  std::string owner_unit;         // from the registry, via the evidence; empty when unknown
  std::optional<int> ipv6_score;  // ipv6.readiness evidence.score
  std::string ipv6_status = "unknown";  // ready | partial | unreachable | none | unknown
  std::size_t exposure_count = 0;       // open exposure.* and tls.* findings on its ports
  // Distinct links found at the second and third level of the site and how many of them work
  // over IPv6 (ipv6.readiness evidence.links; zero when the site was not crawled).
  std::size_t level2_total = 0, level2_ipv6 = 0, level3_total = 0, level3_ipv6 = 0;
  std::chrono::system_clock::time_point last_seen{};
  std::vector<std::string> kinds;  // kinds of the open findings that built the row, sorted
};

// Whether findings of this kind feed the view.
bool is_asset_view_kind(std::string_view kind);
// The host a finding is about: "www.x.edu.cn:443" -> "www.x.edu.cn", "[2001:db8::1]:443"
// and "2001:db8::1:443" -> "2001:db8::1"; other subjects as they are.
std::string host_of_subject(std::string_view kind, std::string_view subject);
// ready (100), none (no real AAAA), unreachable (AAAA, nothing answers over IPv6), partial.
std::string ipv6_status(const boost::json::object& readiness_evidence);

// Rows sorted by name. Findings that are not open or of other kinds are ignored, so the
// caller may pass everything it has.
std::vector<AssetView> build_assets(std::span<const StoredFinding> findings);

boost::json::object to_json(const AssetView& a);

struct AssetQuery {
  std::string search;  // case-insensitive substring of name, an address or the owner unit
  std::optional<std::string> ownership;  // one of kOwnershipClasses
  Page page;
};
// /api/v1/assets: search, class, limit, offset.
Parsed<AssetQuery> parse_asset_query(const Params& params);

struct AssetPage {
  std::size_t total = 0;  // rows matching the filters
  std::vector<AssetView> items;
};
AssetPage select_assets(const std::vector<AssetView>& all, const AssetQuery& q);

}  // namespace edusight::collector::api
