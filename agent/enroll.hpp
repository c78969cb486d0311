#pragma once
// `edusight-agent enroll`: trades an enrollment token for this agent's identity and key over
// HTTPS (POST /api/v1/enroll on the collector's enrollment listener), trusting the collector
// by its certificate pin or a CA file exactly as the Forward client does
// (collector/forward/tls_trust.hpp), and before the token is sent.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "agent/identity.hpp"

namespace edusight::agent {

inline constexpr std::uint16_t kDefaultEnrollPort = 24225;

struct EnrollOptions {
  std::string host;  // the collector, without brackets
  std::uint16_t port = kDefaultEnrollPort;
  std::string token;
  std::string pin_sha256;  // one of these two is required
  std::string ca_file;
  std::string server_name;  // empty: host
  std::string agent_id;     // empty: the collector uses the token's, or else `hostname`
  std::string hostname;
  std::chrono::milliseconds timeout{10'000};  // each of: resolve, connect, TLS, request, reply
  std::size_t max_response_bytes = 16 * 1024;
};

enum class EnrollErrc {
  ok,
  bad_options,
  cannot_connect,
  timeout,
  tls_failed,
  pin_mismatch,
  refused,   // the collector refused the token; `reason` says why
  protocol,  // an answer that is not the expected JSON
};

struct EnrollResult {
  EnrollErrc code = EnrollErrc::ok;
  std::string message;  // for people: what went wrong and what to do
  std::string reason;   // with refused: unknown, expired, used, revoked, rate_limited, ...
  Identity identity;    // when ok: agent id, key, collector (port = its Forward port)
};

// One HTTPS request under timeouts; never throws for network or protocol failures.
boost::asio::awaitable<EnrollResult> enroll(boost::asio::any_io_executor executor,
                                            EnrollOptions options);

}  // namespace edusight::agent
