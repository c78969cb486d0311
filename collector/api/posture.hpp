#pragma once
// The campus posture behind the overview, the systems view and the compliance reports: the
// living registry (assets) and the figures national assessments ask for, per campus and per
// owner unit. Built from the open findings; at a million findings that takes seconds, so the
// collector keeps a snapshot that a thread of its own rebuilds after changes, and requests
// read the snapshot (a few seconds stale at most) instead of the findings.
#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collector/api/assets.hpp"
#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/periodic.hpp"

namespace edusight::collector::api {

struct Ratio {
  std::size_t total = 0;
  std::size_t ipv6 = 0;
};

// One owner unit's line of the compliance report.
struct UnitReport {
  std::string owner_unit;  // "" when the registry names none
  std::size_t systems = 0;
  Ratio homepage;  // systems whose IPv6 readiness was checked / that work over IPv6
  Ratio level2, level3;
  std::vector<std::string> dual_non_own, unregistered, zombie;
  std::size_t exposure = 0;
};

// The campus-wide figures, computed once per snapshot.
struct CampusFigures {
  std::size_t systems = 0, registered = 0, unregistered = 0, zombie = 0;
  std::map<std::string, std::size_t> by_ownership;
  std::map<std::string, std::size_t> by_status;
  Ratio checked, level2, level3;
};

struct Posture {
  std::chrono::system_clock::time_point as_of{};
  std::vector<AssetView> assets;  // sorted by name
  std::array<std::size_t, 5> open_findings{};
  CampusFigures campus;
  std::vector<UnitReport> units;  // by owner unit; the unnamed one last
};

// The kinds whose open findings the posture is built from.
const std::vector<std::string>& posture_kinds();
// From the store: the open findings of posture_kinds() and the open counts.
std::optional<Posture> load_posture(Store& store, std::chrono::system_clock::time_point now,
                                    std::string* error);
Posture build_posture(std::vector<AssetView> assets, const std::array<std::size_t, 5>& open,
                      std::chrono::system_clock::time_point now);

// Systems are the asset rows that are the institution's business: all but "external".
bool counts_as_system(const AssetView& a);
// Works over IPv6 for the support rate: ready or partial (has AAAA and answers).
bool supports_ipv6(const AssetView& a);

struct LiveCounts {
  SeverityCounts alerts;
  std::size_t agents_total = 0;
  std::size_t agents_online = 0;
};

// The JSON of GET /api/v1/overview, /api/v1/reports/units; the day's figures for the trend.
boost::json::object overview_json(const Posture& p, const LiveCounts& live,
                                  const PostureHistory& history);
boost::json::object units_json(const Posture& p);
boost::json::object day_figures(const Posture& p, std::size_t open_alerts);
// UTF-8 with a BOM (so Excel shows Chinese), CRLF line ends, RFC 4180 quoting.
std::string units_csv(const Posture& p);
// A self-contained page in Chinese, laid out for printing.
std::string compliance_html(const Posture& p, const std::string& institution);
// The campus's calendar day (China Standard Time), YYYY-MM-DD.
std::string campus_date(std::chrono::system_clock::time_point t);

// Keeps the latest posture, rebuilt on its own thread (with its own store connection) when
// the data changed, at most every `refresh`; records the day's figures for the trend.
class PostureCache {
 public:
  PostureCache(Store& store, const Clock& clock, metrics::Registry& metrics,
               std::chrono::milliseconds refresh = std::chrono::seconds(2));
  ~PostureCache();
  PostureCache(const PostureCache&) = delete;
  PostureCache& operator=(const PostureCache&) = delete;

  void start();
  void stop();
  // Null until the first build.
  std::shared_ptr<const Posture> current() const { return current_.load(); }
  // One pass (for tests, or before start): rebuilds when the data changed; true if it did.
  bool refresh_once();

 private:
  Store& store_;
  const Clock& clock_;
  std::chrono::milliseconds refresh_;
  std::atomic<std::shared_ptr<const Posture>> current_;
  std::int64_t built_version_ = -2;
  metrics::Value& builds_;
  metrics::Value& build_ms_;
  metrics::Value& failures_;
  PeriodicThread thread_;  // last: it runs refresh_once(), which uses the members above
};

}  // namespace edusight::collector::api
