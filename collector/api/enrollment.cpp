#include "collector/api/enrollment.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <iterator>
#include <utility>

#include "collector/api/tokens.hpp"
#include "edusight/core/finding.hpp"

namespace edusight::collector::api {
namespace http = boost::beast::http;

namespace {
constexpr std::string_view kEnrollPath = "/api/v1/enroll";
constexpr std::size_t kMaxTokenLength = 256;
constexpr std::chrono::seconds kMaxTtl = std::chrono::hours(24 * 365);
constexpr std::int64_t kMaxUses = 100000;
}  // namespace

std::string generate_enrollment_token(Random& random) {
  return generate_secret(random, "ese_");
}

NewEnrollment create_enrollment(EnrollmentStore& store, Random& random, const Clock& clock,
                                const EnrollmentRequest& request) {
  NewEnrollment out;
  auto refuse = [&](std::string why) {
    out.result = Result::failure(std::move(why));
    return out;
  };
  if (request.ttl < std::chrono::seconds(1) || request.ttl > kMaxTtl) {
    return refuse("ttl must be between 1s and 365d");
  }
  if (request.max_uses < 1 || request.max_uses > kMaxUses) {
    return refuse("uses must be between 1 and " + std::to_string(kMaxUses));
  }
  if (!request.name.empty() && !valid_agent_id(request.name)) {
    return refuse("name: must be 1 to 253 letters, digits, '.', '-' or '_'");
  }
  if (!request.agent_id.empty() && !valid_agent_id(request.agent_id)) {
    return refuse("agent id: must be 1 to 253 letters, digits, '.', '-' or '_'");
  }
  if (request.comment.size() > 1024) return refuse("comment: at most 1024 characters");
  EnrollmentRecord& e = out.record;
  e.name = request.name;
  if (e.name.empty()) {
    // Letters and digits only, so the name stays a valid id whatever base64url draws.
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    e.name = "enroll-";
    for (int i = 0; i < 8; ++i) e.name += kAlphabet[random.below(kAlphabet.size())];
  }
  out.token = generate_enrollment_token(random);
  e.sha256 = sha256_hex(out.token);
  e.comment = request.comment;
  e.agent_id = request.agent_id;
  e.created_at = clock.now();
  e.expires_at = e.created_at + request.ttl;
  e.max_uses = request.max_uses;
  out.result = store.add_enrollment(e);
  if (!out.result.ok) out.token.clear();
  return out;
}

std::string_view enrollment_state(const EnrollmentRecord& e, TimePoint now) {
  if (e.revoked) return "revoked";
  if (e.uses >= e.max_uses) return "used";
  if (now >= e.expires_at) return "expired";
  return "active";
}

boost::json::object to_json(const EnrollmentRecord& e, TimePoint now) {
  boost::json::object o;
  o["name"] = e.name;
  o["comment"] = e.comment;
  o["agent_id"] = e.agent_id;
  o["created_at"] = format_rfc3339(e.created_at);
  o["expires_at"] = format_rfc3339(e.expires_at);
  o["max_uses"] = e.max_uses;
  o["uses"] = e.uses;
  o["used_at"] =
      e.used_at ? boost::json::value(format_rfc3339(*e.used_at)) : boost::json::value(nullptr);
  o["used_by"] = e.used_by;
  o["revoked"] = e.revoked;
  o["state"] = enrollment_state(e, now);
  return o;
}

// ---- FailureLimiter ----

FailureLimiter::FailureLimiter(std::size_t max_failures, std::chrono::milliseconds window,
                               std::size_t max_peers)
    : max_failures_(max_failures), window_(window), max_peers_(max_peers) {}

void FailureLimiter::forget_old(std::chrono::steady_clock::time_point now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= window_) times.pop_front();
    it = times.empty() ? peers_.erase(it) : std::next(it);
  }
}

bool FailureLimiter::blocked(const std::string& peer, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  auto& times = it->second;
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
  if (times.empty()) {
    peers_.erase(it);
    return false;
  }
  return times.size() >= max_failures_;
}

void FailureLimiter::failed(const std::string& peer, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!peers_.count(peer) && peers_.size() >= max_peers_) {
    forget_old(now);
    // Still full: the peer whose latest failure is oldest makes room.
    if (peers_.size() >= max_peers_) {
      auto oldest = peers_.begin();
      for (auto it = peers_.begin(); it != peers_.end(); ++it) {
        if (it->second.back() < oldest->second.back()) oldest = it;
      }
      peers_.erase(oldest);
    }
  }
  auto& times = peers_[peer];
  times.push_back(now);
  while (times.size() > max_failures_) times.pop_front();  // more are never needed
}

// ---- Enroller ----

Enroller::Enroller(EnrollmentStore& store, const Clock& clock, Random& random,
                   metrics::Registry& registry, EnrollerOptions options)
    : store_(store),
      clock_(clock),
      random_(random),
      total_(registry.counter("edusight_enrollments_total",
                              "Agent enrollment attempts by result (enrolled or why refused).")),
      options_(std::move(options)),
      limiter_(options_.max_failures, options_.failure_window) {
  total_.with({{"result", "enrolled"}});
}

void Enroller::refused(const std::string& peer, std::string_view result, std::string_view why) {
  total_.with({{"result", std::string(result)}}).add();
  limiter_.failed(peer, clock_.steady_now());
  spdlog::warn("enroll: refused {}: {} ({})", peer, result, why);
}

Response Enroller::refuse(const Request& req, const std::string& peer, http::status status,
                          std::string_view result, std::string_view message) {
  refused(peer, result, message);
  boost::json::object o;
  o["error"] = message;
  o["reason"] = result;
  return json_response(status, o, req.version());
}

Response Enroller::handle(const Request& req, const std::string& peer) {
  const auto target = parse_target(req.target());
  if (!target || target->path != kEnrollPath) {
    return refuse(req, peer, http::status::not_found, "bad_request", "not found");
  }
  if (req.method() != http::verb::post) {
    auto res =
        refuse(req, peer, http::status::method_not_allowed, "bad_request", "method not allowed");
    res.set(http::field::allow, "POST");
    return res;
  }
  if (limiter_.blocked(peer, clock_.steady_now())) {
    // Not counted as another failure: the window must be able to run out.
    total_.with({{"result", "rate_limited"}}).add();
    spdlog::warn("enroll: refused {}: rate_limited (too many failed attempts)", peer);
    boost::json::object o;
    o["error"] = "too many failed attempts from this address: try again later";
    o["reason"] = "rate_limited";
    auto res = json_response(http::status::too_many_requests, o, req.version());
    res.set(http::field::retry_after,
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(options_.failure_window).count()));
    return res;
  }
  boost::system::error_code ec;
  const auto body = boost::json::parse(req.body(), ec);
  if (ec || !body.is_object()) {
    return refuse(req, peer, http::status::bad_request, "bad_request",
                  "body must be a JSON object");
  }
  const auto& o = body.get_object();
  auto text = [&](std::string_view key, std::string& out) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = std::string(v->get_string());
    return true;
  };
  std::string token, agent_id, hostname;
  if (!text("token", token) || token.empty() || token.size() > kMaxTokenLength) {
    return refuse(req, peer, http::status::bad_request, "bad_request", "token: required string");
  }
  if (!text("agent_id", agent_id) || (!agent_id.empty() && !valid_agent_id(agent_id))) {
    return refuse(req, peer, http::status::bad_request, "bad_request",
                  "agent_id: must be 1 to 253 letters, digits, '.', '-' or '_'");
  }
  if (!text("hostname", hostname)) {
    return refuse(req, peer, http::status::bad_request, "bad_request", "hostname: string");
  }
  const std::string hash = sha256_hex(token);
  const std::string key = generate_secret(random_, "esk_");
  const auto now = clock_.now();
  Redemption r = store_.redeem_enrollment(hash, agent_id, key, now);
  // Nobody named the agent and the token names none either: the host name is the default.
  if (r.ok && r.outcome == RedeemOutcome::no_agent_id && agent_id.empty() &&
      valid_agent_id(hostname)) {
    r = store_.redeem_enrollment(hash, hostname, key, now);
  }
  if (!r.ok) {
    spdlog::error("enroll: {}: storage error: {}", peer, r.error);
    total_.with({{"result", "error"}}).add();
    return error_response(http::status::service_unavailable, "storage unavailable", req.version());
  }
  const std::string which = r.enrollment.empty() ? "" : " (token " + r.enrollment + ")";
  switch (r.outcome) {
    case RedeemOutcome::enrolled:
      break;
    case RedeemOutcome::unknown:
      return refuse(req, peer, http::status::forbidden, "unknown", "unknown enrollment token");
    case RedeemOutcome::revoked:
      return refuse(req, peer, http::status::forbidden, "revoked",
                    "this enrollment token was revoked" + which);
    case RedeemOutcome::expired:
      return refuse(req, peer, http::status::forbidden, "expired",
                    "this enrollment token has expired" + which);
    case RedeemOutcome::used:
      return refuse(req, peer, http::status::forbidden, "used",
                    "this enrollment token was already used" + which);
    case RedeemOutcome::wrong_agent:
      return refuse(req, peer, http::status::forbidden, "wrong_agent",
                    "this enrollment token is for another agent id" + which);
    case RedeemOutcome::no_agent_id:
      return refuse(req, peer, http::status::bad_request, "no_agent_id",
                    "give agent_id (or a valid hostname)");
    case RedeemOutcome::agent_exists:
      return refuse(req, peer, http::status::conflict, "agent_exists",
                    "an agent with this id exists: choose another --agent-id, or revoke and "
                    "re-create it" +
                        which);
  }
  total_.with({{"result", "enrolled"}}).add();
  spdlog::info("enroll: agent {} enrolled from {} (token {})", r.agent->id, peer, r.enrollment);
  boost::json::object res;
  res["agent_id"] = r.agent->id;
  res["key"] = r.agent->key;  // the only time it is sent
  boost::json::object forward;
  forward["port"] = static_cast<std::int64_t>(options_.forward_port);
  forward["server_name"] = options_.server_name;
  res["forward"] = std::move(forward);
  res["certificate_sha256"] = options_.certificate_sha256;
  return json_response(http::status::ok, res, req.version());
}

}  // namespace edusight::collector::api
