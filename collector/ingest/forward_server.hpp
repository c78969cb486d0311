#pragma once
// The collector's Forward listener: one coroutine per connection (TLS, the shared-key
// handshake with per-agent keys, then event messages), a deadline on every step, and an ack
// only after the store has committed the chunk.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codec.hpp"
#include "collector/ingest/writer.hpp"
#include "collector/metrics/metrics.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector {

struct ForwardServerConfig {
  std::vector<boost::asio::ip::tcp::endpoint> listen;
  boost::asio::ssl::context* tls = nullptr;     // null: plaintext (only when configured so)
  std::string hostname = "edusight-collector";  // server_hostname in PONG
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};  // no byte from the agent for this long
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 4096;
  // Messages decoded and waiting for the store at once, over all connections. Decoded
  // records take several times their wire size, so this bounds the collector's memory when
  // a thousand agents send together; the others wait without reading (backpressure).
  std::size_t max_messages_in_flight = 32;
  forward::Limits limits;
};

class ForwardServer {
 public:
  // `random` makes the handshake nonces: a CryptoRandom in production.
  ForwardServer(boost::asio::any_io_executor executor, ForwardServerConfig config,
                StoreWriter& writer, metrics::Registry& metrics, Random& random);
  ~ForwardServer();
  ForwardServer(const ForwardServer&) = delete;
  ForwardServer& operator=(const ForwardServer&) = delete;

  // Binds every listen endpoint and starts accepting. Throws on a bind error (start-up).
  void start();
  // Closes the listeners and every connection; connections end at their next step.
  void stop();
  // Bound addresses (port 0 in the config becomes the real port).
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  std::size_t connections() const { return sessions_.size(); }
  // Closes the connections of this agent (it was revoked); call on the server's executor.
  std::size_t close_agent(const std::string& agent);

  struct Session;  // one connection (defined in the .cpp)

 private:
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor);
  boost::asio::awaitable<void> serve(std::shared_ptr<Session> session);
  boost::asio::awaitable<void> acquire_permit();
  void release_permit();

  boost::asio::any_io_executor executor_;
  ForwardServerConfig config_;
  StoreWriter& writer_;
  Random& random_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::uint64_t next_session_ = 0;
  bool stopped_ = false;
  std::size_t permits_ = 0;                         // free message permits
  std::deque<boost::asio::steady_timer*> waiters_;  // sessions waiting for one, in order

  metrics::Value& connections_open_;
  metrics::Value& connections_total_;
  metrics::Value& connections_refused_;
  metrics::Family& closed_;  // by reason
  metrics::Value& auth_failures_;
  metrics::Value& messages_;
  metrics::Value& bad_messages_;
  metrics::Value& bad_records_;
  metrics::Value& foreign_events_;
  metrics::Value& acks_;
};

}  // namespace edusight::collector
