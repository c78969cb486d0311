// edusight-bench-dashboard-handlers: where the time of the slow dashboard requests goes, in
// process, on a database made by edusight-bench-dashboard-findings (no HTTP). Not part of the
// benchmark's figures: a diagnosis aid for bench/dashboard/run.sh's findings.
//
//   edusight-bench-dashboard-handlers DB_PATH [--runs R]
//
// Times (median of R runs, ms):
//   - the posture snapshot build, split into the store queries (one per posture kind, rows
//     read and evidence parsed) and build_assets / build_posture;
//   - select_assets() as GET /api/v1/assets calls it (the snapshot's rows passed by value),
//     with and without a search, against a variant that filters the snapshot in place and
//     copies only the page (what a fix would do);
//   - the store query behind GET /api/v1/findings?severity=high&state=open&limit=100.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "collector/api/assets.hpp"
#include "collector/api/posture.hpp"
#include "collector/store/sqlite_store.hpp"
#include "edusight/core/clock.hpp"

namespace {

using namespace edusight;
using namespace edusight::collector;
using namespace edusight::collector::api;
using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

double median_ms(int runs, const std::function<void()>& fn) {
  std::vector<double> v;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Steady::now();
    fn();
    v.push_back(ms_since(t0));
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ASCII case-insensitive substring test without allocating.
bool contains_nocase(std::string_view hay, std::string_view needle_lower) {
  if (needle_lower.empty()) return true;
  if (hay.size() < needle_lower.size()) return false;
  for (std::size_t i = 0; i + needle_lower.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle_lower.size()) {
      char c = hay[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != needle_lower[k]) break;
      ++k;
    }
    if (k == needle_lower.size()) return true;
  }
  return false;
}

// The same page as select_assets(), reading the snapshot in place and copying only the rows
// of the page.
AssetPage select_in_place(std::span<const AssetView> all, const AssetQuery& q) {
  std::string needle = q.search;
  std::transform(needle.begin(), needle.end(), needle.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  AssetPage page;
  for (const auto& a : all) {
    if (q.ownership && a.ownership != *q.ownership) continue;
    if (!needle.empty() && !contains_nocase(a.name, needle) &&
        !contains_nocase(a.owner_unit, needle) &&
        std::none_of(a.addresses.begin(), a.addresses.end(),
                     [&](const std::string& x) { return contains_nocase(x, needle); })) {
      continue;
    }
    if (page.total >= q.page.offset && page.items.size() < q.page.limit) page.items.push_back(a);
    ++page.total;
  }
  return page;
}

// A search key per row, built once with the snapshot: "name\nunit\naddr\naddr", lowercased.
std::vector<std::string> search_keys(std::span<const AssetView> all) {
  std::vector<std::string> keys;
  keys.reserve(all.size());
  for (const auto& a : all) {
    std::string k = a.name + "\n" + a.owner_unit;
    for (const auto& x : a.addresses) k += "\n" + x;
    std::transform(k.begin(), k.end(), k.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    keys.push_back(std::move(k));
  }
  return keys;
}

AssetPage select_with_keys(std::span<const AssetView> all, const std::vector<std::string>& keys,
                           const AssetQuery& q) {
  std::string needle = q.search;
  std::transform(needle.begin(), needle.end(), needle.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  AssetPage page;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (q.ownership && all[i].ownership != *q.ownership) continue;
    if (!needle.empty() && keys[i].find(needle) == std::string::npos) continue;
    if (page.total >= q.page.offset && page.items.size() < q.page.limit) {
      page.items.push_back(all[i]);
    }
    ++page.total;
  }
  return page;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: edusight-bench-dashboard-handlers DB_PATH [--runs R]\n");
    return 2;
  }
  int runs = 11;
  if (argc == 4 && std::string(argv[2]) == "--runs") runs = std::max(1, std::atoi(argv[3]));
  SystemClock clock;
  SqliteStore store(argv[1], clock);
  if (!store.status().ok) {
    std::fprintf(stderr, "%s\n", store.status().error.c_str());
    return 1;
  }

  // The snapshot build, in its parts (as load_posture does it).
  auto t0 = Steady::now();
  std::vector<StoredFinding> open;
  for (const auto& kind : posture_kinds()) {
    FindingQuery q;
    q.kind = kind;
    q.state = FindingState::open;
    q.limit = 0;
    auto r = store.query(q);
    if (!r.ok) {
      std::fprintf(stderr, "%s\n", r.error.c_str());
      return 1;
    }
    std::move(r.findings.begin(), r.findings.end(), std::back_inserter(open));
  }
  const double query_ms = ms_since(t0);
  t0 = Steady::now();
  const auto counts = store.open_findings_by_severity();
  const double counts_ms = ms_since(t0);
  t0 = Steady::now();
  auto assets = build_assets(open);
  const double assets_ms = ms_since(t0);
  const std::size_t rows = open.size();
  t0 = Steady::now();
  open.clear();
  open.shrink_to_fit();
  const double free_ms = ms_since(t0);
  t0 = Steady::now();
  const Posture p = build_posture(std::move(assets), counts.by_severity, clock.now());
  const double posture_ms = ms_since(t0);
  std::printf(
      "posture: %zu open findings of the posture kinds read in %.0f ms (store.query per "
      "kind: rows + evidence JSON parsed); open counts %.0f ms; build_assets %.0f ms "
      "(%zu rows); freeing the findings %.0f ms; build_posture %.0f ms\n",
      rows, query_ms, counts_ms, assets_ms, p.assets.size(), free_ms, posture_ms);

  t0 = Steady::now();
  const auto keys = search_keys(p.assets);
  std::printf("search keys for the snapshot built in %.0f ms\n", ms_since(t0));
  for (const char* search : {"", "lab"}) {
    AssetQuery q;
    q.search = search;
    q.page.limit = 100;
    std::size_t total_a = 0, total_b = 0;
    const double a = median_ms(runs, [&] { total_a = select_assets(p.assets, q).total; });
    const double b = median_ms(runs, [&] { total_b = select_in_place(p.assets, q).total; });
    std::size_t total_c = 0;
    const double c = median_ms(runs, [&] { total_c = select_with_keys(p.assets, keys, q).total; });
    std::printf(
        "assets search='%s': select_assets (copy of %zu rows) %.2f ms -> %zu; in place, "
        "page copied %.2f ms -> %zu; in place with precomputed lowercase keys %.2f ms -> "
        "%zu\n",
        search, p.assets.size(), a, total_a, b, total_b, c, total_c);
  }

  FindingQuery fq;
  fq.min_severity = Severity::high;
  fq.state = FindingState::open;
  fq.limit = 100;
  fq.count_total = true;
  std::size_t total = 0;
  const double with_count = median_ms(runs, [&] { total = store.query(fq).total; });
  fq.count_total = false;
  const double page_only = median_ms(runs, [&] { store.query(fq); });
  std::printf(
      "findings severity>=high state=open: query with count %.2f ms (total %zu), page "
      "only %.2f ms\n",
      with_count, total, page_only);
  return 0;
}
