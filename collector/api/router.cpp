#include "collector/api/router.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <exception>
#include <filesystem>
#include <fstream>

#include "collector/api/assets.hpp"
#include "collector/api/enrollment.hpp"
#include "edusight/core/finding.hpp"
#include "edusight/core/schedule.hpp"

namespace edusight::collector::api {
namespace http = boost::beast::http;
namespace {

// Route templates; string literals, so the string_views in Routed never dangle.
constexpr std::string_view kHealthz = "/healthz";
constexpr std::string_view kMetrics = "/metrics";
constexpr std::string_view kWhoami = "/api/v1/whoami";
constexpr std::string_view kFindings = "/api/v1/findings";
constexpr std::string_view kFinding = "/api/v1/findings/{id}";
constexpr std::string_view kAssets = "/api/v1/assets";
constexpr std::string_view kAgents = "/api/v1/agents";
constexpr std::string_view kAgent = "/api/v1/agents/{id}";
constexpr std::string_view kEnrollments = "/api/v1/enrollments";
constexpr std::string_view kEnrollment = "/api/v1/enrollments/{name}";
constexpr std::string_view kScans = "/api/v1/scans";
constexpr std::string_view kAlerts = "/api/v1/alerts";
constexpr std::string_view kAlert = "/api/v1/alerts/{id}";
constexpr std::string_view kAlertAck = "/api/v1/alerts/{id}/acknowledge";
constexpr std::string_view kRules = "/api/v1/rules";
constexpr std::string_view kRulesReload = "/api/v1/rules/reload";
constexpr std::string_view kOverview = "/api/v1/overview";
constexpr std::string_view kUnits = "/api/v1/reports/units";
constexpr std::string_view kUnitsCsv = "/api/v1/reports/units.csv";
constexpr std::string_view kComplianceHtml = "/api/v1/reports/compliance.html";
constexpr std::string_view kDashboard = "dashboard";
constexpr std::string_view kOther = "other";

// The route template of a decoded path.
std::string_view route_of_path(std::string_view path) {
  const auto segs = path_segments(path);
  if (segs.size() == 1 && segs[0] == "healthz") return kHealthz;
  if (segs.size() == 1 && segs[0] == "metrics") return kMetrics;
  if (segs.size() < 3 || segs[0] != "api" || segs[1] != "v1") return kOther;
  const auto n = segs.size();
  if (n == 3 && segs[2] == "whoami") return kWhoami;
  if (segs[2] == "findings") return n == 3 ? kFindings : n == 4 ? kFinding : kOther;
  if (n == 3 && segs[2] == "assets") return kAssets;
  if (segs[2] == "agents") return n == 3 ? kAgents : n == 4 ? kAgent : kOther;
  if (segs[2] == "enrollments") return n == 3 ? kEnrollments : n == 4 ? kEnrollment : kOther;
  if (n == 3 && segs[2] == "scans") return kScans;
  if (segs[2] == "alerts") {
    if (n == 3) return kAlerts;
    if (n == 4) return kAlert;
    if (n == 5 && segs[4] == "acknowledge") return kAlertAck;
    return kOther;
  }
  if (segs[2] == "rules") {
    if (n == 3) return kRules;
    if (n == 4 && segs[3] == "reload") return kRulesReload;
  }
  if (n == 3 && segs[2] == "overview") return kOverview;
  if (n == 4 && segs[2] == "reports") {
    if (segs[3] == "units") return kUnits;
    if (segs[3] == "units.csv") return kUnitsCsv;
    if (segs[3] == "compliance.html") return kComplianceHtml;
  }
  return kOther;
}

bool is_under_api(std::string_view path) {
  const auto segs = path_segments(path);
  return segs.size() >= 2 && segs[0] == "api" && segs[1] == "v1";
}

bool changes_state(http::verb v) {
  return v == http::verb::post || v == http::verb::put || v == http::verb::patch ||
         v == http::verb::delete_;
}

Response method_not_allowed(const Request& req, std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed, "method not allowed", req.version());
  res.set(http::field::allow, allow);
  return res;
}

Response unauthorized(const Request& req, std::string_view message, bool invalid_token) {
  auto res = error_response(http::status::unauthorized, message, req.version());
  res.set(http::field::www_authenticate, invalid_token
                                             ? "Bearer realm=\"edusight\", error=\"invalid_token\""
                                             : "Bearer realm=\"edusight\"");
  return res;
}

Response bad_parameter(const Request& req, const ParamError& e) {
  boost::json::object o;
  o["error"] = e.message;
  o["parameter"] = e.parameter;
  return json_response(http::status::bad_request, o, req.version());
}

boost::json::value time_or_null(const std::optional<Clock::time_point>& t) {
  if (!t) return nullptr;
  return boost::json::string(format_rfc3339(*t));
}

boost::json::object page_json(std::size_t total, std::size_t limit, std::size_t offset,
                              boost::json::array items) {
  boost::json::object o;
  o["total"] = total;
  o["limit"] = limit;
  o["offset"] = offset;
  o["items"] = std::move(items);
  return o;
}

}  // namespace

Response json_response(http::status status, const boost::json::value& body, unsigned version) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  // Findings and agent keys are not for shared caches.
  res.set(http::field::cache_control, "no-store");
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

Response error_response(http::status status, std::string_view message, unsigned version) {
  boost::json::object o;
  o["error"] = message;
  return json_response(status, o, version);
}

std::string_view route_of(std::string_view target) {
  const auto t = parse_target(target);
  return t ? route_of_path(t->path) : kOther;
}

boost::json::object to_json(const StoredFinding& f) {
  auto o = edusight::to_json(f.finding);
  o["first_seen"] = format_rfc3339(f.first_seen);
  o["last_seen"] = format_rfc3339(f.last_seen);
  o["state"] = to_string(f.state);
  o["resolved_at"] = time_or_null(f.resolved_at);
  o["job"] = f.job;
  return o;
}

boost::json::object to_json(const AgentRecord& a, Clock::time_point now,
                            std::chrono::seconds online_window) {
  boost::json::object o;
  o["id"] = a.id;  // never the key: it is shown once, when the agent is created
  o["created_at"] = format_rfc3339(a.created_at);
  o["revoked"] = a.revoked;
  o["last_heartbeat"] = time_or_null(a.last_heartbeat);
  o["online"] = !a.revoked && a.last_heartbeat && now - *a.last_heartbeat <= online_window;
  o["status"] = a.status;
  o["address"] = a.address;
  if (!a.campus.empty()) o["campus"] = a.campus;  // a federated campus collector
  return o;
}

boost::json::object to_json(const ScanRecord& s) {
  boost::json::object o;
  o["agent"] = s.agent;
  o["scan"] = s.scan;
  o["job"] = s.job;
  o["first_chunk_at"] = format_rfc3339(s.first_chunk_at);
  o["last_chunk_at"] = format_rfc3339(s.last_chunk_at);
  o["finding_count"] = s.finding_count;
  o["complete"] = s.complete;
  return o;
}

boost::json::object to_json(const AlertRecord& a) {
  boost::json::object o;
  o["id"] = a.id;
  o["rule"] = a.rule;
  o["subject"] = a.subject;
  o["severity"] = edusight::to_string(a.severity);
  o["title"] = a.title;
  o["title_zh"] = a.title_zh;
  o["tags"] = to_json_array(a.tags);
  o["remediation"] = {{"en", a.remediation}, {"zh", a.remediation_zh}};
  o["state"] = to_string(a.state);
  o["first_fired"] = format_rfc3339(a.first_fired);
  o["last_fired"] = format_rfc3339(a.last_fired);
  o["repeats"] = a.repeats;
  o["finding_id"] = a.finding_id;
  o["agent"] = a.agent;
  o["acknowledged_at"] = time_or_null(a.acknowledged_at);
  o["acknowledged_by"] = a.acknowledged_by;
  o["ack_comment"] = a.ack_comment;
  o["resolved_at"] = time_or_null(a.resolved_at);
  o["renotify_seconds"] = a.renotify.count();
  o["last_notified"] = time_or_null(a.last_notified);
  o["notifications"] = a.notifications;
  return o;
}

namespace {
std::optional<std::int64_t> parse_alert_id(std::string_view s) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

boost::json::object text_json(const rules::Text& t) {
  return {{"en", t.en}, {"zh", t.zh}};
}
}  // namespace

bool valid_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 253) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Router::Router(Store& store, const Clock& clock, Random& random, RouterOptions options)
    : store_(store),
      clock_(clock),
      random_(random),
      options_(options),
      auth_(store, clock, options.token_cache_ttl) {}

Routed Router::handle(const Request& req) {
  try {
    return dispatch(req);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {}: {}", std::string_view(req.method_string()),
                  std::string_view(req.target()), e.what());
  } catch (...) {
    spdlog::error("api: {} {}: unknown exception", std::string_view(req.method_string()),
                  std::string_view(req.target()));
  }
  return {error_response(http::status::internal_server_error, "internal error", req.version()),
          route_of(req.target())};
}

Routed Router::dispatch(const Request& req) {
  const auto target = parse_target(req.target());
  if (!target) {
    return {error_response(http::status::bad_request, "bad request target", req.version()), kOther};
  }
  const auto route = route_of_path(target->path);
  const auto method = req.method();
  const auto segs = path_segments(target->path);

  if (route == kHealthz) {
    if (method != http::verb::get) return {method_not_allowed(req, "GET"), route};
    return {health(req), route};
  }
  if (!is_under_api(target->path)) {
    if (!options_.dashboard_dir.empty()) {
      if (method != http::verb::get && method != http::verb::head) {
        return {method_not_allowed(req, "GET, HEAD"), kDashboard};
      }
      return {static_file(req, target->path), kDashboard};
    }
    return {error_response(http::status::not_found, "not found", req.version()), route};
  }

  // Authenticate before routing, so that without a token nothing is revealed, not even
  // which paths exist.
  const auto auth = auth_.authenticate(req[http::field::authorization]);
  switch (auth.status) {
    case AuthStatus::ok:
      break;
    case AuthStatus::missing:
      return {unauthorized(req, "missing bearer token", false), route};
    case AuthStatus::malformed:
      return {unauthorized(req, "malformed bearer token", true), route};
    case AuthStatus::unknown:
      return {unauthorized(req, "unknown token", true), route};
    case AuthStatus::revoked:
      return {unauthorized(req, "revoked token", true), route};
    case AuthStatus::store_error:
      spdlog::error("api: token lookup failed: {}", auth.error);
      return {
          error_response(http::status::service_unavailable, "storage unavailable", req.version()),
          route};
  }
  const auto& token = *auth.token;
  if (changes_state(method) && token.role != Role::admin) {
    return {error_response(http::status::forbidden, "this token may only read", req.version()),
            route};
  }

  const auto& params = target->params;
  const bool get = method == http::verb::get;
  if (route == kWhoami) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    boost::json::object o;
    o["name"] = token.name;
    o["role"] = to_string(token.role);
    return {json_response(http::status::ok, o, req.version()), route};
  }
  if (route == kFindings) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {findings(req, params), route};
  }
  if (route == kFinding) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {finding(req, segs[3]), route};
  }
  if (route == kAssets) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {assets(req, params), route};
  }
  if (route == kAgents) {
    if (get) return {list_agents(req, params), route};
    if (method == http::verb::post) return {add_agent(req), route};
    return {method_not_allowed(req, "GET, POST"), route};
  }
  if (route == kAgent) {
    if (get) return {get_agent(req, segs[3]), route};
    if (method == http::verb::delete_) return {revoke_agent(req, segs[3]), route};
    return {method_not_allowed(req, "GET, DELETE"), route};
  }
  if (route == kEnrollments || route == kEnrollment) {
    // Enrollment tokens make agents: administrators only, even to look.
    if (token.role != Role::admin) {
      return {error_response(http::status::forbidden, "enrollment tokens are for administrators",
                             req.version()),
              route};
    }
    if (route == kEnrollments && get) return {list_enrollments(req, params), route};
    if (route == kEnrollments && method == http::verb::post) return {add_enrollment(req), route};
    if (route == kEnrollment && method == http::verb::delete_) {
      return {revoke_enrollment(req, segs[3]), route};
    }
    return {method_not_allowed(req, route == kEnrollments ? "GET, POST" : "DELETE"), route};
  }
  if (route == kScans) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {scans(req, params), route};
  }
  if (route == kAlerts) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {alerts(req, params), route};
  }
  if (route == kAlert) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {alert(req, segs[3]), route};
  }
  if (route == kAlertAck) {
    if (method != http::verb::post) return {method_not_allowed(req, "POST"), route};
    return {acknowledge(req, segs[3], token), route};
  }
  if (route == kRules && options_.rules) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {list_rules(req), route};
  }
  if (route == kOverview) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    return {overview(req), route};
  }
  if (route == kUnits || route == kUnitsCsv || route == kComplianceHtml) {
    if (!get) return {method_not_allowed(req, "GET"), route};
    if (const auto e = check_known(params, {})) return {bad_parameter(req, *e), route};
    return {report(req, route), route};
  }
  if (route == kRulesReload && options_.rules) {
    if (method != http::verb::post) return {method_not_allowed(req, "POST"), route};
    return {reload_rules(req), route};
  }
  return {error_response(http::status::not_found, "not found", req.version()), route};
}

Response Router::storage_error(const Request& req, std::string_view what,
                               const std::string& error) {
  // The details go to the log only: they may name files and SQL.
  spdlog::error("api: {}: {}", what, error);
  return error_response(http::status::internal_server_error, "storage error", req.version());
}

Response Router::health(const Request& req) {
  // A lookup by an indexed key that matches nothing: proves the store answers, costs nothing.
  const auto r = store_.find_token(sha256_hex("edusight healthz"));
  if (!r.ok) {
    spdlog::warn("api: health check: store failed: {}", r.error);
    boost::json::object o;
    o["status"] = "unavailable";
    o["error"] = "storage unavailable";
    return json_response(http::status::service_unavailable, o, req.version());
  }
  boost::json::object o;
  o["status"] = "ok";
  return json_response(http::status::ok, o, req.version());
}

Response Router::findings(const Request& req, const Params& params) {
  const auto parsed = parse_finding_query(params);
  if (parsed.error) return bad_parameter(req, *parsed.error);
  const auto& q = parsed.value;
  auto r = store_.query(q);
  if (!r.ok) return storage_error(req, "query findings", r.error);
  boost::json::array items;
  items.reserve(r.findings.size());
  for (const auto& f : r.findings) items.emplace_back(to_json(f));
  return json_response(http::status::ok, page_json(r.total, q.limit, q.offset, std::move(items)),
                       req.version());
}

Response Router::finding(const Request& req, std::string_view id) {
  FindingQuery q;
  q.id = std::string(id);
  q.limit = 1;
  auto r = store_.query(q);
  if (!r.ok) return storage_error(req, "find finding", r.error);
  if (r.findings.empty()) {
    return error_response(http::status::not_found, "no such finding", req.version());
  }
  return json_response(http::status::ok, to_json(r.findings.front()), req.version());
}

Response Router::assets(const Request& req, const Params& params) {
  const auto parsed = parse_asset_query(params);
  if (parsed.error) return bad_parameter(req, *parsed.error);
  std::string error;
  const auto p = posture(&error);
  if (!p) return storage_error(req, "build the assets view", error);
  auto page = select_assets(p->assets, parsed.value);
  boost::json::array items;
  items.reserve(page.items.size());
  for (const auto& a : page.items) items.emplace_back(to_json(a));
  return json_response(
      http::status::ok,
      page_json(page.total, parsed.value.page.limit, parsed.value.page.offset, std::move(items)),
      req.version());
}

Response Router::list_agents(const Request& req, const Params& params) {
  if (const auto e = check_known(params, {})) return bad_parameter(req, *e);
  auto r = store_.list_agents();
  if (!r.ok) return storage_error(req, "list agents", r.error);
  const auto now = clock_.now();
  boost::json::array items;
  items.reserve(r.agents.size());
  for (const auto& a : r.agents) items.emplace_back(to_json(a, now, options_.agent_online_window));
  boost::json::object o;
  o["total"] = r.agents.size();
  o["items"] = std::move(items);
  return json_response(http::status::ok, o, req.version());
}

Response Router::get_agent(const Request& req, std::string_view id) {
  auto r = store_.find_agent(std::string(id));
  if (!r.ok) return storage_error(req, "find agent", r.error);
  if (!r.agent) return error_response(http::status::not_found, "no such agent", req.version());
  return json_response(http::status::ok,
                       to_json(*r.agent, clock_.now(), options_.agent_online_window),
                       req.version());
}

Response Router::add_agent(const Request& req) {
  boost::system::error_code ec;
  const auto body = boost::json::parse(req.body(), ec);
  if (ec || !body.is_object()) {
    return error_response(http::status::bad_request, "body must be a JSON object", req.version());
  }
  const auto* id_value = body.get_object().if_contains("id");
  if (!id_value || !id_value->is_string() || !valid_agent_id(id_value->get_string())) {
    return error_response(http::status::bad_request,
                          "id: must be 1 to 253 letters, digits, '.', '-' or '_'", req.version());
  }
  const std::string id(id_value->get_string());
  std::string campus;  // a campus collector's campus (docs/federation.md)
  if (const auto* c = body.get_object().if_contains("campus")) {
    if (!c->is_string()) {
      return error_response(http::status::bad_request, "campus: must be a string", req.version());
    }
    campus = c->get_string();
  }
  const auto existing = store_.find_agent(id);
  if (!existing.ok) return storage_error(req, "find agent", existing.error);
  if (existing.agent) {
    return error_response(http::status::conflict, "agent exists", req.version());
  }
  const auto key = generate_secret(random_, "esk_");
  const auto added = store_.add_agent(id, key, campus);
  if (!added.ok) return storage_error(req, "add agent", added.error);
  spdlog::info("api: agent {} created", id);
  boost::json::object o;
  o["id"] = id;
  o["key"] = key;  // the only time the key is shown
  auto res = json_response(http::status::created, o, req.version());
  res.set(http::field::location, std::string(kAgents) + "/" + id);
  return res;
}

Response Router::revoke_agent(const Request& req, std::string_view id) {
  const std::string agent(id);
  const auto existing = store_.find_agent(agent);
  if (!existing.ok) return storage_error(req, "find agent", existing.error);
  if (!existing.agent) {
    return error_response(http::status::not_found, "no such agent", req.version());
  }
  if (!existing.agent->revoked) {
    const auto r = store_.revoke_agent(agent);
    if (!r.ok) return storage_error(req, "revoke agent", r.error);
    spdlog::info("api: agent {} revoked", agent);
    if (options_.on_agent_revoked) options_.on_agent_revoked(agent);
  }
  boost::json::object o;
  o["id"] = agent;
  o["revoked"] = true;
  return json_response(http::status::ok, o, req.version());
}

Response Router::list_enrollments(const Request& req, const Params& params) {
  if (const auto e = check_known(params, {})) return bad_parameter(req, *e);
  auto r = store_.list_enrollments();
  if (!r.ok) return storage_error(req, "list enrollments", r.error);
  const auto now = clock_.now();
  boost::json::array items;
  for (const auto& e : r.enrollments) items.emplace_back(to_json(e, now));
  boost::json::object o;
  o["total"] = r.enrollments.size();
  o["items"] = std::move(items);
  return json_response(http::status::ok, o, req.version());
}

Response Router::add_enrollment(const Request& req) {
  boost::system::error_code ec;
  const auto body = boost::json::parse(req.body().empty() ? "{}" : req.body(), ec);
  if (ec || !body.is_object()) {
    return error_response(http::status::bad_request, "body must be a JSON object", req.version());
  }
  const auto& o = body.get_object();
  EnrollmentRequest request;
  auto text = [&](std::string_view key, std::string& out) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = std::string(v->get_string());
    return true;
  };
  std::string ttl;
  if (!text("name", request.name) || !text("comment", request.comment) ||
      !text("agent_id", request.agent_id) || !text("ttl", ttl)) {
    return error_response(http::status::bad_request, "name, comment, agent_id, ttl: strings",
                          req.version());
  }
  if (!ttl.empty()) {
    try {
      request.ttl = std::chrono::duration_cast<std::chrono::seconds>(duration_or_throw(ttl));
    } catch (const std::invalid_argument& e) {
      return error_response(http::status::bad_request, std::string("ttl: ") + e.what(),
                            req.version());
    }
  }
  if (const auto* uses = o.if_contains("uses")) {
    if (!uses->is_int64() && !uses->is_uint64()) {
      return error_response(http::status::bad_request, "uses: a whole number", req.version());
    }
    request.max_uses = uses->to_number<std::int64_t>();
  }
  auto made = create_enrollment(store_, random_, clock_, request);
  if (!made.result.ok) {
    if (made.result.error.rfind("enrollment token exists", 0) == 0) {
      return error_response(http::status::conflict, "an enrollment token has this name",
                            req.version());
    }
    if (made.token.empty() && made.record.sha256.empty()) {
      return error_response(http::status::bad_request, made.result.error, req.version());
    }
    return storage_error(req, "add enrollment", made.result.error);
  }
  spdlog::info("api: enrollment token {} created", made.record.name);
  auto out = to_json(made.record, clock_.now());
  out["token"] = made.token;  // the only time it is shown
  auto res = json_response(http::status::created, out, req.version());
  res.set(http::field::location, std::string(kEnrollments) + "/" + made.record.name);
  return res;
}

Response Router::revoke_enrollment(const Request& req, std::string_view name) {
  const auto r = store_.revoke_enrollment(std::string(name));
  if (!r.ok) {
    if (r.error.rfind("no such enrollment token", 0) == 0) {
      return error_response(http::status::not_found, "no such enrollment token", req.version());
    }
    return storage_error(req, "revoke enrollment", r.error);
  }
  spdlog::info("api: enrollment token {} revoked", name);
  boost::json::object o;
  o["name"] = name;
  o["revoked"] = true;
  return json_response(http::status::ok, o, req.version());
}

Response Router::scans(const Request& req, const Params& params) {
  const auto parsed = parse_scan_query(params);
  if (parsed.error) return bad_parameter(req, *parsed.error);
  const auto& q = parsed.value;
  auto r = store_.list_scans(q);
  if (!r.ok) return storage_error(req, "list scans", r.error);
  boost::json::array items;
  items.reserve(r.scans.size());
  for (const auto& s : r.scans) items.emplace_back(to_json(s));
  return json_response(http::status::ok, page_json(r.total, q.limit, q.offset, std::move(items)),
                       req.version());
}

Response Router::alerts(const Request& req, const Params& params) {
  const auto parsed = parse_alert_query(params);
  if (parsed.error) return bad_parameter(req, *parsed.error);
  const auto& q = parsed.value;
  auto r = store_.list_alerts(q);
  if (!r.ok) return storage_error(req, "list alerts", r.error);
  boost::json::array items;
  items.reserve(r.alerts.size());
  for (const auto& a : r.alerts) items.emplace_back(to_json(a));
  return json_response(http::status::ok, page_json(r.total, q.limit, q.offset, std::move(items)),
                       req.version());
}

Response Router::alert(const Request& req, std::string_view id) {
  const auto n = parse_alert_id(id);
  if (!n) return error_response(http::status::not_found, "no such alert", req.version());
  AlertQuery q;
  q.id = *n;
  auto r = store_.list_alerts(q);
  if (!r.ok) return storage_error(req, "find alert", r.error);
  if (r.alerts.empty())
    return error_response(http::status::not_found, "no such alert", req.version());
  return json_response(http::status::ok, to_json(r.alerts.front()), req.version());
}

// The acknowledgement names the token's holder; an optional {"comment": "..."} says what is
// being done about it.
Response Router::acknowledge(const Request& req, std::string_view id, const TokenRecord& token) {
  const auto n = parse_alert_id(id);
  if (!n) return error_response(http::status::not_found, "no such alert", req.version());
  std::string comment;
  if (!req.body().empty()) {
    boost::system::error_code ec;
    const auto body = boost::json::parse(req.body(), ec);
    const auto* c = !ec && body.is_object() ? body.get_object().if_contains("comment") : nullptr;
    if (ec || !body.is_object() || (c && !c->is_string())) {
      return error_response(http::status::bad_request,
                            "body must be empty or a JSON object with a string comment",
                            req.version());
    }
    if (c) comment = std::string(c->get_string().subview(0, 1000));
  }
  const auto r = store_.acknowledge_alert(*n, token.name, comment);
  if (!r.ok) {
    if (r.error == "no such alert") {
      return error_response(http::status::not_found, r.error, req.version());
    }
    if (r.error == "alert is resolved") {
      return error_response(http::status::conflict, r.error, req.version());
    }
    return storage_error(req, "acknowledge alert", r.error);
  }
  spdlog::info("api: alert {} acknowledged by {}", *n, token.name);
  return alert(req, id);
}

Response Router::list_rules(const Request& req) {
  const auto set = options_.rules->current();
  const auto now = clock_.now();
  boost::json::array rules;
  for (const auto& r : set->rules()) {
    boost::json::object o;
    o["id"] = r.id;
    o["kinds"] = to_json_array(r.kinds);
    o["title"] = text_json(r.title);
    o["description"] = text_json(r.description);
    o["remediation"] = text_json(r.remediation);
    o["severity"] = r.severity ? boost::json::value(edusight::to_string(*r.severity)) : nullptr;
    o["tags"] = to_json_array(r.tags);
    o["alert"] = r.alert;
    o["renotify_seconds"] = r.renotify.count();
    o["origin"] = r.origin;
    rules.push_back(std::move(o));
  }
  boost::json::array exceptions;
  for (const auto& e : set->exceptions()) {
    exceptions.push_back(boost::json::object{{"subject", e.subject},
                                             {"rule", e.rule},
                                             {"reason", e.reason},
                                             {"owner", e.owner},
                                             {"expires", e.expires_text},
                                             {"expired", now >= e.expires},
                                             {"origin", e.origin}});
  }
  boost::json::object o;
  o["paths"] = to_json_array(options_.rules->paths());
  o["rules"] = std::move(rules);
  o["exceptions"] = std::move(exceptions);
  return json_response(http::status::ok, o, req.version());
}

// 200 with the counts, or 422 with the file, line and problem; the old rules then stay.
Response Router::reload_rules(const Request& req) {
  const auto r = options_.rules->reload();
  boost::json::object o;
  o["reloaded"] = r.ok;
  if (!r.ok) {
    o["error"] = r.error;
    return json_response(http::status::unprocessable_entity, o, req.version());
  }
  o["rules"] = r.rules;
  o["exceptions"] = r.exceptions;
  return json_response(http::status::ok, o, req.version());
}

// The snapshot when the collector keeps one (fast at a million findings), otherwise built now.
std::shared_ptr<const Posture> Router::posture(std::string* error) {
  if (options_.posture) {
    if (auto p = options_.posture->current()) return p;
  }
  auto built = load_posture(store_, clock_.now(), error);
  if (!built) return nullptr;
  return std::make_shared<const Posture>(std::move(*built));
}

Response Router::overview(const Request& req) {
  std::string error;
  const auto p = posture(&error);
  if (!p) return storage_error(req, "build the overview", error);
  LiveCounts live;
  live.alerts = store_.active_alerts_by_severity();
  if (!live.alerts.ok) return storage_error(req, "count alerts", live.alerts.error);
  const auto agents = store_.list_agents();
  if (!agents.ok) return storage_error(req, "list agents", agents.error);
  const auto now = clock_.now();
  for (const auto& a : agents.agents) {
    if (a.revoked) continue;
    ++live.agents_total;
    if (a.last_heartbeat && now - *a.last_heartbeat <= options_.agent_online_window)
      ++live.agents_online;
  }
  const auto history = store_.posture_history(90);
  if (!history.ok) return storage_error(req, "read the trend", history.error);
  return json_response(http::status::ok, overview_json(*p, live, history), req.version());
}

Response Router::report(const Request& req, std::string_view route) {
  std::string error;
  const auto p = posture(&error);
  if (!p) return storage_error(req, "build the report", error);
  if (route == kUnits) return json_response(http::status::ok, units_json(*p), req.version());
  Response res{http::status::ok, req.version()};
  res.set(http::field::cache_control, "no-store");
  const std::string date = campus_date(p->as_of);
  if (route == kUnitsCsv) {
    res.set(http::field::content_type, "text/csv; charset=utf-8");
    res.set(http::field::content_disposition,
            "attachment; filename=\"edusight-units-" + date + ".csv\"");
    res.body() = units_csv(*p);
  } else {
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.body() = compliance_html(*p, options_.institution);
  }
  res.prepare_payload();
  return res;
}

namespace {
std::string_view content_type_of(std::string_view path) {
  const auto dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}
}  // namespace

// The dashboard's files. Paths are confined to the directory (no dot segments); a path
// without an extension is one of the app's own routes and gets index.html.
Response Router::static_file(const Request& req, std::string_view path) {
  namespace fs = std::filesystem;
  std::string rel;
  for (const auto seg : path_segments(path)) {
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string_view::npos) {
      return error_response(http::status::not_found, "not found", req.version());
    }
    rel += (rel.empty() ? "" : "/") + std::string(seg);
  }
  const bool app_route = rel.empty() || rel.find('.') == std::string::npos;
  const fs::path file = fs::path(options_.dashboard_dir) / (app_route ? "index.html" : rel);
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec || !fs::is_regular_file(file, ec) || size > 16u * 1024 * 1024) {
    return error_response(http::status::not_found, "not found", req.version());
  }
  std::ifstream in(file, std::ios::binary);
  std::string body(size, '\0');
  if (!in.read(body.data(), static_cast<std::streamsize>(size))) {
    return error_response(http::status::not_found, "not found", req.version());
  }
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, content_type_of(file.string()));
  // The bundler names assets by content hash; index.html must always be fresh.
  res.set(http::field::cache_control,
          app_route || rel == "index.html" ? "no-cache" : "public, max-age=3600");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

}  // namespace edusight::collector::api
