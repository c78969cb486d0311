#pragma once
// Delivers notifications to every channel that wants them: a bounded queue and one worker
// thread per channel, in order, with retries and exponential backoff with jitter. offer()
// never blocks, so the collector's ingest never waits for a slow destination; what does not
// fit is dropped and counted.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "collector/metrics/metrics.hpp"
#include "collector/notify/notification.hpp"
#include "edusight/core/clock.hpp"

namespace edusight::collector::notify {

// Which notifications a channel wants.
struct Filter {
  Severity min_severity = Severity::info;
  std::set<Event> events{Event::firing, Event::reminder, Event::resolved};
  bool accepts(const Notification& n) const;
};

// Backoff waits that stop() can cut short: a condition variable, never a plain sleep.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Waits up to `d`; false when interrupted (then and after interrupt(), at once).
  virtual bool sleep_for(std::chrono::milliseconds d) = 0;
  virtual void interrupt() = 0;
};

class CondvarSleeper final : public Sleeper {
 public:
  bool sleep_for(std::chrono::milliseconds d) override;
  void interrupt() override;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

struct DispatcherLimits {
  std::size_t queue_capacity = 1000;  // per channel
  int max_attempts = 5;               // per notification, the first included
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  // After stop(): how long the workers keep delivering what is queued (one attempt each).
  std::chrono::milliseconds drain_timeout{5000};
};

// The wait before attempt `failures + 1`: initial * 2^(failures-1) capped at max, then
// "equal jitter" (half fixed, half random) so retries of many collectors do not align.
std::chrono::milliseconds backoff_delay(const DispatcherLimits& limits, int failures,
                                        Random& random);

struct Route {
  std::unique_ptr<Channel> channel;
  Filter filter;
};

class Dispatcher {
 public:
  // Registers the metrics and starts one worker per route. `clock` (the drain deadline),
  // `sleeper` and `random` (jitter) must outlive the dispatcher.
  Dispatcher(std::vector<Route> routes, metrics::Registry& registry, DispatcherLimits limits,
             const Clock& clock, Sleeper& sleeper, Random& random);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Queues `n` for every channel whose filter accepts it. Never blocks. False when some
  // channel's queue was full (that channel drops it and counts it) or after stop().
  bool offer(const Notification& n);
  // Stops backoff waits, delivers what is queued within drain_timeout (one attempt each;
  // what is left is dropped and counted) and joins the workers. Idempotent.
  void stop();

  std::size_t channels() const { return lanes_.size(); }

 private:
  struct Lane;
  void work(Lane& lane);
  void deliver(Lane& lane, const Notification& n);
  std::chrono::milliseconds next_backoff(int failures);

  DispatcherLimits limits_;
  const Clock& clock_;
  Sleeper& sleeper_;
  Random& random_;
  std::mutex random_mutex_;  // Random is not thread-safe; the workers share it
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace edusight::collector::notify
