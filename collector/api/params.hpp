#pragma once
// Request targets and query parameters of the API: parsed strictly, so a typo in a filter is
// a 400 naming the parameter instead of a silently unfiltered answer.
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/store/store.hpp"

namespace edusight::collector::api {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Target {
  std::string path;  // percent-decoded
  Params params;     // in order, percent-decoded ('+' is a space)
};

// Percent-decoding; nullopt for a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// "/a/b?x=1&y=2" -> path and parameters; nullopt for bad percent-encoding.
std::optional<Target> parse_target(std::string_view target);
// The path split on '/', empty segments dropped: "/api/v1/x/" -> {"api", "v1", "x"}.
std::vector<std::string_view> path_segments(std::string_view path);

// A time in a query: RFC 3339 (edusight::parse_rfc3339), or a full date alone ("2026-11-25",
// midnight UTC). A space where the offset's sign belongs is read as '+', because an
// unencoded '+' in a query string arrives as a space.
std::optional<std::chrono::system_clock::time_point> query_time(std::string_view s);

struct ParamError {
  std::string parameter;
  std::string message;  // "limit: must be an integer from 1 to 1000"
};

template <typename T>
struct Parsed {
  T value{};
  std::optional<ParamError> error;
};

inline constexpr std::size_t kDefaultLimit = 100;
inline constexpr std::size_t kMaxLimit = 1000;
inline constexpr std::size_t kMaxOffset = 1'000'000'000;

struct Page {
  std::size_t limit = kDefaultLimit;
  std::size_t offset = 0;
};

// /api/v1/findings: kind, severity (minimum), subject, state (open|resolved), since, before
// (RFC 3339, on last_seen), limit (1..1000, default 100), offset. Sets count_total.
Parsed<FindingQuery> parse_finding_query(const Params& params);
// /api/v1/alerts: state (firing|acknowledged|resolved|active), rule, subject, severity
// (minimum), limit, offset.
Parsed<AlertQuery> parse_alert_query(const Params& params);
// /api/v1/scans: agent, limit, offset.
Parsed<ScanQuery> parse_scan_query(const Params& params);

// Shared pieces, exposed for the other routes and for tests.
std::optional<ParamError> check_known(const Params& params,
                                      std::initializer_list<std::string_view> known);
std::optional<ParamError> parse_page(const Params& params, Page& page);
// The value of `name` (parameters are checked for repeats first); nullptr when absent.
const std::string* find_param(const Params& params, std::string_view name);

}  // namespace edusight::collector::api
