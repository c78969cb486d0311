#pragma once
// Delivers a Forward spool to one collector: one connection at a time, a window of chunks in
// flight, a chunk removed only after its ack, capped exponential backoff with jitter between
// attempts. The agent's daemon and a campus collector's upstream link both use it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "collector/forward/client.hpp"
#include "collector/forward/spool.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::forward {

// A Forward EventTime for a wall-clock instant.
EventTime event_time(std::chrono::system_clock::time_point t);

struct SenderOptions {
  forward::ClientOptions client;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds heartbeat_interval{30000};
  std::function<boost::json::object()> heartbeat;  // empty: no heartbeats
  std::string peer = "collector";                  // what the logs call the other end
};

// Delivers the spool over one connection at a time. Lives on one executor; notify() may be
// called from any thread.
class Sender {
 public:
  Sender(boost::asio::any_io_executor executor, Spool& spool, SenderOptions options,
         const Clock& clock, Random& random);

  // Until stop(): connects (capped exponential backoff with jitter), delivers, reconnects.
  boost::asio::awaitable<void> run();
  // Until the spool is empty (true) or no ack arrived for `patience` (false).
  boost::asio::awaitable<bool> drain(std::chrono::milliseconds patience);

  void notify();  // new chunks on the spool; thread-safe
  void stop();    // call on the executor; closes the connection
  bool connected() const { return client_.connected(); }
  std::uint64_t delivered_chunks() const { return delivered_; }  // acknowledged
  std::uint64_t sent_chunks() const { return sent_; }            // written, resends included

 private:
  boost::asio::awaitable<bool> loop(bool drain, std::chrono::milliseconds patience);
  boost::asio::awaitable<forward::Error> pump(bool drain);
  boost::asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point t);

  boost::asio::any_io_executor executor_;
  Spool& spool_;
  SenderOptions options_;
  const Clock& clock_;
  Random& random_;
  forward::Client client_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  std::uint64_t delivered_ = 0;
  std::uint64_t sent_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace edusight::forward
