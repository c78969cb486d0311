#include "collector/api/params.hpp"

#include <algorithm>
#include <charconv>

namespace edusight::collector::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::size_t> parse_size(std::string_view s) {
  std::size_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

ParamError error(std::string_view name, std::string_view message) {
  return ParamError{std::string(name), std::string(name) + ": " + std::string(message)};
}

// A non-empty value, or nothing: "kind=" is the same as leaving kind out, which is what an
// HTML form with an empty field sends.
std::optional<std::string> text_param(const Params& params, std::string_view name) {
  const auto* v = find_param(params, name);
  if (!v || v->empty()) return std::nullopt;
  return *v;
}

std::optional<ParamError> time_param(const Params& params, std::string_view name,
                                     std::optional<std::chrono::system_clock::time_point>& out) {
  const auto* v = find_param(params, name);
  if (!v || v->empty()) return std::nullopt;
  out = query_time(*v);
  if (!out) return error(name, "must be an RFC 3339 time such as 2026-11-25T13:53:17Z");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Target> parse_target(std::string_view target) {
  Target t;
  const auto q = target.find('?');
  auto path = percent_decode(target.substr(0, q), false);
  if (!path) return std::nullopt;
  t.path = std::move(*path);
  if (q == std::string_view::npos) return t;
  auto query = target.substr(q + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  // One parameter per '&'; the loop ends because every pass consumes at least one byte.
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    t.params.emplace_back(std::move(*name), std::move(*value));
  }
  return t;
}

std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> query_time(std::string_view s) {
  std::string text(s);
  if (text.size() == 10) text += "T00:00:00Z";  // a date alone: midnight UTC
  // An unencoded '+' in a query string arrives as a space; only the offset's sign can be one.
  if (const auto space = text.find(' ', 19); space != std::string::npos) text[space] = '+';
  return edusight::parse_rfc3339(text);
}

const std::string* find_param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<ParamError> check_known(const Params& params,
                                      std::initializer_list<std::string_view> known) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& name = params[i].first;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return error(name, "unknown parameter");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (params[j].first == name) return error(name, "given more than once");
    }
  }
  return std::nullopt;
}

std::optional<ParamError> parse_page(const Params& params, Page& page) {
  if (const auto* v = find_param(params, "limit"); v && !v->empty()) {
    const auto n = parse_size(*v);
    if (!n || *n < 1 || *n > kMaxLimit) {
      return error("limit", "must be an integer from 1 to " + std::to_string(kMaxLimit));
    }
    page.limit = *n;
  }
  if (const auto* v = find_param(params, "offset"); v && !v->empty()) {
    const auto n = parse_size(*v);
    if (!n || *n > kMaxOffset) {
      return error("offset", "must be an integer from 0 to " + std::to_string(kMaxOffset));
    }
    page.offset = *n;
  }
  return std::nullopt;
}

namespace {
// `severity`: the minimum severity, by name.
std::optional<ParamError> severity_param(const Params& params, std::optional<Severity>& out) {
  if (const auto v = text_param(params, "severity")) {
    out = parse_severity(*v);
    if (!out) return error("severity", "must be one of info, low, medium, high, critical");
  }
  return std::nullopt;
}
}  // namespace

Parsed<FindingQuery> parse_finding_query(const Params& params) {
  Parsed<FindingQuery> out;
  auto& q = out.value;
  q.count_total = true;
  if ((out.error = check_known(params, {"kind", "severity", "subject", "state", "campus", "since",
                                        "before", "limit", "offset"})))
    return out;
  q.kind = text_param(params, "kind");
  q.campus = text_param(params, "campus");
  q.subject = text_param(params, "subject");
  if ((out.error = severity_param(params, q.min_severity))) return out;
  if (const auto v = text_param(params, "state")) {
    q.state = parse_finding_state(*v);
    if (!q.state) {
      out.error = error("state", "must be open or resolved");
      return out;
    }
  }
  if ((out.error = time_param(params, "since", q.seen_since))) return out;
  if ((out.error = time_param(params, "before", q.seen_before))) return out;
  Page page;
  if ((out.error = parse_page(params, page))) return out;
  q.limit = page.limit;
  q.offset = page.offset;
  return out;
}

Parsed<AlertQuery> parse_alert_query(const Params& params) {
  Parsed<AlertQuery> out;
  auto& q = out.value;
  if ((out.error =
           check_known(params, {"state", "rule", "subject", "severity", "limit", "offset"})))
    return out;
  q.rule = text_param(params, "rule");
  q.subject = text_param(params, "subject");
  if ((out.error = severity_param(params, q.min_severity))) return out;
  if (const auto v = text_param(params, "state")) {
    if (*v == "active") {
      q.active = true;
    } else {
      q.state = parse_alert_state(*v);
      if (!q.state) {
        out.error = error("state", "must be firing, acknowledged, resolved or active");
        return out;
      }
    }
  }
  Page page;
  if ((out.error = parse_page(params, page))) return out;
  q.limit = page.limit;
  q.offset = page.offset;
  return out;
}

Parsed<ScanQuery> parse_scan_query(const Params& params) {
  Parsed<ScanQuery> out;
  if ((out.error = check_known(params, {"agent", "limit", "offset"}))) return out;
  out.value.agent = text_param(params, "agent");
  Page page;
  if ((out.error = parse_page(params, page))) return out;
  out.value.limit = page.limit;
  out.value.offset = page.offset;
  return out;
}

}  // namespace edusight::collector::api
