#pragma once
// Request routing and the handlers behind /healthz and /api/v1. Synchronous on purpose: the
// store calls block, so ApiServer runs handle() on its store thread, never on an io thread.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string_view>

#include "collector/alerts/active_rules.hpp"
#include "collector/api/params.hpp"
#include "collector/api/posture.hpp"
#include "collector/api/tokens.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct RouterOptions {
  // An agent is online while its last heartbeat is at most this old.
  std::chrono::seconds agent_online_window{90};
  std::chrono::milliseconds token_cache_ttl{std::chrono::seconds(5)};
  // Told after an agent is revoked (on the store thread), so its open connections can close.
  std::function<void(const std::string&)> on_agent_revoked;
  // The rules in force (GET /api/v1/rules) and their reload (POST /api/v1/rules/reload);
  // absent: those routes answer 404.
  ActiveRules* rules = nullptr;
  // The posture snapshot for the overview, assets and reports; absent: built per request.
  PostureCache* posture = nullptr;
  // The built web dashboard (dashboards/web/dist), served at / without a token; empty: none.
  std::string dashboard_dir;
  // The institution's name in report titles.
  std::string institution;
};

struct Routed {
  Response response;
  // The route template, for metrics labels: "/api/v1/findings/{id}", "other", ...
  std::string_view route;
};

// `application/json; charset=utf-8`, Cache-Control: no-store, body prepared.
Response json_response(boost::beast::http::status status, const boost::json::value& body,
                       unsigned version = 11);
// {"error": message}
Response error_response(boost::beast::http::status status, std::string_view message,
                        unsigned version = 11);

// The route template of a request target ("other" when none matches); cheap, no store.
std::string_view route_of(std::string_view target);

// JSON of the stored records, as the API returns them.
boost::json::object to_json(const StoredFinding& f);
boost::json::object to_json(const AgentRecord& a, Clock::time_point now,
                            std::chrono::seconds online_window);
boost::json::object to_json(const ScanRecord& s);
boost::json::object to_json(const AlertRecord& a);

// An agent id the API accepts: 1 to 253 characters of letters, digits, '.', '-', '_'.
bool valid_agent_id(std::string_view id);

class Router {
 public:
  // `random` makes agents' keys: production passes a CryptoRandom.
  Router(Store& store, const Clock& clock, Random& random, RouterOptions options = {});

  // Every route but /metrics (which needs no store). Blocking: call from the one thread that
  // owns the store. Never throws: an unexpected exception becomes a 500.
  Routed handle(const Request& req);

  Authenticator& authenticator() { return auth_; }

 private:
  Routed dispatch(const Request& req);
  Response health(const Request& req);
  Response findings(const Request& req, const Params& params);
  Response finding(const Request& req, std::string_view id);
  Response assets(const Request& req, const Params& params);
  Response list_agents(const Request& req, const Params& params);
  Response get_agent(const Request& req, std::string_view id);
  Response add_agent(const Request& req);
  Response revoke_agent(const Request& req, std::string_view id);
  Response list_enrollments(const Request& req, const Params& params);
  Response add_enrollment(const Request& req);
  Response revoke_enrollment(const Request& req, std::string_view name);
  Response scans(const Request& req, const Params& params);
  Response alerts(const Request& req, const Params& params);
  Response alert(const Request& req, std::string_view id);
  Response acknowledge(const Request& req, std::string_view id, const TokenRecord& token);
  Response list_rules(const Request& req);
  Response overview(const Request& req);
  Response report(const Request& req, std::string_view route);
  Response static_file(const Request& req, std::string_view path);
  std::shared_ptr<const Posture> posture(std::string* error);
  Response reload_rules(const Request& req);
  Response storage_error(const Request& req, std::string_view what, const std::string& error);

  Store& store_;
  const Clock& clock_;
  Random& random_;
  RouterOptions options_;
  Authenticator auth_;
};

}  // namespace edusight::collector::api
