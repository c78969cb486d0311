#pragma once
// The collector's HTTP(S) API: /healthz, /metrics and /api/v1 (docs in router.hpp and
// assets.hpp). One coroutine per connection on the io executor; every store call runs on
// one dedicated thread, because store calls block and a SQLite connection is not
// thread-safe.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/alerts/active_rules.hpp"
#include "collector/api/posture.hpp"
#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"

namespace boost::asio::ssl {
class context;
}

namespace edusight::collector::api {

struct ApiConfig {
  std::vector<boost::asio::ip::tcp::endpoint> listen;
  // HTTPS on every listener when set; not owned, must outlive the server.
  boost::asio::ssl::context* tls = nullptr;
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};  // TLS handshake
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};       // one request, whole
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};       // between keep-alives
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::seconds agent_online_window{90};
  std::chrono::milliseconds token_cache_ttl{std::chrono::seconds(5)};
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 512;  // more are accepted and closed at once
  // Called on the store thread after the API revoked an agent.
  std::function<void(const std::string&)> on_agent_revoked;
  // The rules in force, for GET /api/v1/rules and POST /api/v1/rules/reload; not owned.
  ActiveRules* rules = nullptr;
  // The posture snapshot (not owned); null: built per request.
  PostureCache* posture = nullptr;
  std::string dashboard_dir;  // the built web dashboard, served at /; empty: none
  std::string institution;    // in report titles
};

class ApiServer {
 public:
  // `store` is used only from the server's own store thread: give the API its own
  // connection (SqliteStore). `random` makes agents' keys; nullptr: a CryptoRandom.
  // Registers edusight_api_* metrics in `registry`.
  ApiServer(boost::asio::any_io_executor executor, ApiConfig config, Store& store,
            metrics::Registry& registry, const Clock& clock, Random* random = nullptr);
  // Joins the store thread. Call stop() and let the io_context finish (or stop it) first;
  // destroy the server before the io_context.
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and listens on every endpoint, then accepts on the executor. On failure nothing
  // listens and the error names the endpoint. Call once.
  Result start();
  // The bound addresses (port 0 resolved), after start().
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  // Thread-safe, idempotent. Closes the listeners and idle connections; a request in
  // progress gets its response (with Connection: close) first. Every step is bounded by the
  // timeouts, so the io_context runs out of work soon after.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edusight::collector::api
