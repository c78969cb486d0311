#pragma once
// Agent enrollment (docs/enrollment.md): enrollment tokens made by an administrator (CLI or
// API), and the redemption endpoint, POST /api/v1/enroll, on which a new agent trades a
// token for its identity and key. Tokens are stored as SHA-256 hashes only; each works
// max_uses times (1 by default) until it expires; failed attempts are limited per peer.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "collector/api/router.hpp"
#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::api {

// "ese_" + base64url of 32 random bytes (as API tokens; production passes a CryptoRandom).
std::string generate_enrollment_token(Random& random);

struct EnrollmentRequest {
  std::string name;  // empty: "enroll-" and 8 random characters
  std::string comment;
  std::chrono::seconds ttl{std::chrono::hours(24)};
  std::int64_t max_uses = 1;
  std::string agent_id;  // empty: the agent names itself
};

struct NewEnrollment {
  Result result;
  std::string token;  // shown once: only its hash is stored
  EnrollmentRecord record;
};

// Validates the request (name and agent id as agent ids are, ttl 1s..365d, uses 1..100000)
// and stores the token's hash. A refusal is a failed result whose error says why.
NewEnrollment create_enrollment(EnrollmentStore& store, Random& random, const Clock& clock,
                                const EnrollmentRequest& request);

// "active", "expired", "used" or "revoked" at `now`.
std::string_view enrollment_state(const EnrollmentRecord& e, TimePoint now);
// Never the hash.
boost::json::object to_json(const EnrollmentRecord& e, TimePoint now);

// Failed attempts per peer address in a sliding window; a peer that reached the limit is
// refused until its oldest failure leaves the window. Bounded memory. Thread-safe.
class FailureLimiter {
 public:
  FailureLimiter(std::size_t max_failures, std::chrono::milliseconds window,
                 std::size_t max_peers = 4096);
  bool blocked(const std::string& peer, std::chrono::steady_clock::time_point now);
  void failed(const std::string& peer, std::chrono::steady_clock::time_point now);

 private:
  void forget_old(std::chrono::steady_clock::time_point now);
  std::size_t max_failures_;
  std::chrono::milliseconds window_;
  std::size_t max_peers_;
  std::mutex mutex_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> peers_;
};

struct EnrollerOptions {
  // What the agent needs to reach the Forward listener: its port, the name its certificate
  // carries, and that certificate's SHA-256 (the pin the agent keeps).
  std::uint16_t forward_port = 24224;
  std::string server_name;
  std::string certificate_sha256;
  std::size_t max_failures = 10;  // per peer address, in failure_window
  std::chrono::milliseconds failure_window{std::chrono::minutes(10)};
};

// The redemption endpoint's logic, apart from the network: every outcome is logged (reason
// and peer, never the token or the key) and counted in edusight_enrollments_total{result}.
// Blocking: call from the one thread that owns the store.
class Enroller {
 public:
  Enroller(EnrollmentStore& store, const Clock& clock, Random& random, metrics::Registry& registry,
           EnrollerOptions options);
  // `peer`: the client's address (no port), the unit of rate limiting.
  Response handle(const Request& req, const std::string& peer);
  // Counts a request refused before it reached handle() (e.g. too large), against the peer.
  void refused(const std::string& peer, std::string_view result, std::string_view why);

 private:
  Response refuse(const Request& req, const std::string& peer, boost::beast::http::status status,
                  std::string_view result, std::string_view message);
  EnrollmentStore& store_;
  const Clock& clock_;
  Random& random_;
  metrics::Family& total_;
  EnrollerOptions options_;
  FailureLimiter limiter_;
};

}  // namespace edusight::collector::api
