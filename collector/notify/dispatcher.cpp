#include "collector/notify/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <utility>

namespace edusight::collector::notify {

bool Filter::accepts(const Notification& n) const {
  return static_cast<int>(n.alert.severity) >= static_cast<int>(min_severity) &&
         events.count(n.event) > 0;
}

bool CondvarSleeper::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [this] { return interrupted_; });
}

void CondvarSleeper::interrupt() {
  {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

std::chrono::milliseconds backoff_delay(const DispatcherLimits& limits, int failures,
                                        Random& random) {
  using std::chrono::milliseconds;
  milliseconds base = std::max(limits.initial_backoff, milliseconds(1));
  // Doubling stops at the cap, so this is at most ~60 steps whatever `failures` is.
  for (int i = 1; i < failures && base < limits.max_backoff; ++i) base *= 2;
  base = std::min(base, std::max(limits.max_backoff, milliseconds(1)));
  const auto half = base.count() / 2;
  const auto spread = static_cast<std::uint64_t>(base.count() - half) + 1;
  return milliseconds(half + static_cast<std::int64_t>(random.below(spread)));
}

struct Dispatcher::Lane {
  Lane(Route r, metrics::Registry& registry)
      : channel(std::move(r.channel)),
        filter(std::move(r.filter)),
        sent(registry
                 .counter("edusight_notifications_sent_total",
                          "Notifications delivered, by channel.")
                 .with({{"channel", channel->name()}})),
        failed(registry
                   .counter("edusight_notifications_failed_total",
                            "Notifications given up after retries or a permanent error.")
                   .with({{"channel", channel->name()}})),
        dropped(registry
                    .counter("edusight_notifications_dropped_total",
                             "Notifications not queued (queue full) or left at shutdown.")
                    .with({{"channel", channel->name()}})),
        attempts(registry
                     .counter("edusight_notification_attempts_total",
                              "Delivery attempts, retries included.")
                     .with({{"channel", channel->name()}})),
        depth(registry
                  .gauge("edusight_notification_queue_depth",
                         "Notifications waiting for delivery, by channel.")
                  .with({{"channel", channel->name()}})) {}

  std::unique_ptr<Channel> channel;
  Filter filter;
  metrics::Value& sent;
  metrics::Value& failed;
  metrics::Value& dropped;
  metrics::Value& attempts;
  metrics::Value& depth;

  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Notification> queue;                        // guarded by mutex
  std::chrono::steady_clock::time_point drain_deadline;  // set before `stopping`
  std::atomic<bool> stopping{false};
  std::thread worker;
};

Dispatcher::Dispatcher(std::vector<Route> routes, metrics::Registry& registry,
                       DispatcherLimits limits, const Clock& clock, Sleeper& sleeper,
                       Random& random)
    : limits_(limits), clock_(clock), sleeper_(sleeper), random_(random) {
  limits_.max_attempts = std::max(limits_.max_attempts, 1);
  limits_.queue_capacity = std::max<std::size_t>(limits_.queue_capacity, 1);
  for (auto& r : routes) {
    if (r.channel) lanes_.push_back(std::make_unique<Lane>(std::move(r), registry));
  }
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->worker = std::thread([this, l] { work(*l); });
  }
}

Dispatcher::~Dispatcher() {
  stop();
}

bool Dispatcher::offer(const Notification& n) {
  bool all = true;
  for (auto& lane : lanes_) {
    if (!lane->filter.accepts(n)) continue;
    {
      std::lock_guard lock(lane->mutex);
      if (lane->stopping.load() || lane->queue.size() >= limits_.queue_capacity) {
        lane->dropped.add();
        all = false;
        // A burst against a dead destination must not flood the log as well: the first drop
        // and every 100th are logged, the metric counts them all.
        const auto dropped = lane->dropped.get();
        if (dropped == 1 || dropped % 100 == 0) {
          spdlog::warn("notify: channel {} dropped alert {} ({}): {} ({} dropped so far)",
                       lane->channel->name(), n.alert.id, to_string(n.event),
                       lane->stopping.load() ? "stopping" : "queue full", dropped);
        }
        continue;
      }
      lane->queue.push_back(n);
      lane->depth.set(static_cast<std::int64_t>(lane->queue.size()));
    }
    lane->cv.notify_one();
  }
  return all;
}

void Dispatcher::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  const auto deadline = clock_.steady_now() + limits_.drain_timeout;
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock(lane->mutex);
      lane->drain_deadline = deadline;
      lane->stopping.store(true);
    }
    lane->cv.notify_all();
  }
  sleeper_.interrupt();
  for (auto& lane : lanes_) {
    if (lane->worker.joinable()) lane->worker.join();
  }
}

std::chrono::milliseconds Dispatcher::next_backoff(int failures) {
  std::lock_guard lock(random_mutex_);
  return backoff_delay(limits_, failures, random_);
}

void Dispatcher::work(Lane& lane) {
  for (;;) {
    Notification n;
    {
      std::unique_lock lock(lane.mutex);
      lane.cv.wait(lock, [&] { return lane.stopping.load() || !lane.queue.empty(); });
      if (lane.queue.empty()) return;  // stopping and nothing left
      if (lane.stopping.load() && clock_.steady_now() >= lane.drain_deadline) {
        const auto left = lane.queue.size();
        lane.dropped.add(static_cast<std::int64_t>(left));
        lane.queue.clear();
        lane.depth.set(0);
        spdlog::warn("notify: channel {}: {} notification(s) left undelivered at shutdown",
                     lane.channel->name(), left);
        return;
      }
      n = std::move(lane.queue.front());
      lane.queue.pop_front();
      lane.depth.set(static_cast<std::int64_t>(lane.queue.size()));
    }
    deliver(lane, n);
  }
}

void Dispatcher::deliver(Lane& lane, const Notification& n) {
  const auto& name = lane.channel->name();
  // Bounded by max_attempts; after stop() each notification gets one attempt only.
  for (int attempt = 1; attempt <= limits_.max_attempts; ++attempt) {
    lane.attempts.add();
    const Delivery d = lane.channel->send(n);
    if (d.ok) {
      lane.sent.add();
      if (attempt > 1) {
        spdlog::info("notify: channel {}: alert {} ({}) delivered on attempt {}", name, n.alert.id,
                     to_string(n.event), attempt);
      }
      return;
    }
    const bool last = !d.retryable || attempt == limits_.max_attempts || lane.stopping.load();
    if (last) {
      lane.failed.add();
      spdlog::error("notify: channel {}: alert {} ({}) not delivered after {} attempt(s): {}", name,
                    n.alert.id, to_string(n.event), attempt, d.error);
      return;
    }
    const auto wait = next_backoff(attempt);
    spdlog::warn("notify: channel {}: alert {} ({}) attempt {}/{} failed: {}; retrying in {} ms",
                 name, n.alert.id, to_string(n.event), attempt, limits_.max_attempts, d.error,
                 wait.count());
    if (!sleeper_.sleep_for(wait)) {
      lane.failed.add();
      spdlog::error("notify: channel {}: alert {} ({}) not delivered: stopping during retries",
                    name, n.alert.id, to_string(n.event));
      return;
    }
  }
}

}  // namespace edusight::collector::notify
