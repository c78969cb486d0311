#include "collector/notify/dispatcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/collector/notify/sample.hpp"

namespace edusight::collector::notify {
namespace {

using namespace std::chrono_literals;
using test::sample;

// Polls `pred` for up to five seconds: the workers are real threads.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 5000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

// Answers from a script (then ok), records what it got; can hold send() until released.
class FakeChannel final : public Channel {
 public:
  explicit FakeChannel(std::string name, std::vector<Delivery> script = {})
      : name_(std::move(name)), script_(std::move(script)) {}
  const std::string& name() const override { return name_; }
  Delivery send(const Notification& n) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    cv_.wait(lock, [&] { return !held_; });
    got_.push_back(n);
    if (next_ < script_.size()) return script_[next_++];
    return always_ ? *always_ : Delivery::success();
  }
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    cv_.notify_all();
  }
  void always(Delivery d) {
    std::lock_guard lock(mutex_);
    always_ = std::move(d);
  }
  int entered() {
    std::lock_guard lock(mutex_);
    return entered_;
  }
  std::vector<Notification> got() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  std::string name_;
  std::vector<Delivery> script_;
  std::size_t next_ = 0;
  std::optional<Delivery> always_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  int entered_ = 0;
  std::vector<Notification> got_;
};

// Records the waits and returns at once.
class FakeSleeper final : public Sleeper {
 public:
  bool sleep_for(std::chrono::milliseconds d) override {
    std::lock_guard lock(mutex_);
    waits_.push_back(d);
    return !interrupted_;
  }
  void interrupt() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
  }
  std::vector<std::chrono::milliseconds> waits() {
    std::lock_guard lock(mutex_);
    return waits_;
  }
  bool interrupted() {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::chrono::milliseconds> waits_;
  bool interrupted_ = false;
};

// The largest value allowed, so the jitter is predictable.
class MaxRandom final : public Random {
 public:
  std::uint64_t below(std::uint64_t bound) override { return bound == 0 ? 0 : bound - 1; }
};
class ZeroRandom final : public Random {
 public:
  std::uint64_t below(std::uint64_t) override { return 0; }
};

struct Fixture {
  metrics::Registry registry;
  ManualClock clock{test::at("2026-11-25T15:00:00Z")};
  FakeSleeper sleeper;
  MaxRandom random;

  std::int64_t metric(const std::string& name, const std::string& channel) {
    const auto text = registry.render();
    const std::string key = name + "{channel=\"" + channel + "\"} ";
    const auto pos = text.find(key);
    if (pos == std::string::npos) return -1;
    return std::stoll(text.substr(pos + key.size()));
  }
};

std::vector<Route> routes(FakeChannel*& out, std::vector<Delivery> script = {},
                          Filter filter = {}) {
  auto c = std::make_unique<FakeChannel>("soc", std::move(script));
  out = c.get();
  std::vector<Route> r;
  r.push_back(Route{std::move(c), std::move(filter)});
  return r;
}

TEST(NotifyDispatcher, BackoffDoublesUpToTheCapWithEqualJitter) {
  DispatcherLimits l;
  l.initial_backoff = 1000ms;
  l.max_backoff = 5000ms;
  MaxRandom max;
  ZeroRandom zero;
  EXPECT_EQ(backoff_delay(l, 1, max), 1000ms);
  EXPECT_EQ(backoff_delay(l, 2, max), 2000ms);
  EXPECT_EQ(backoff_delay(l, 3, max), 4000ms);
  EXPECT_EQ(backoff_delay(l, 4, max), 5000ms);
  EXPECT_EQ(backoff_delay(l, 1000, max), 5000ms);
  EXPECT_EQ(backoff_delay(l, 1, zero), 500ms);
  EXPECT_EQ(backoff_delay(l, 4, zero), 2500ms);
  SeededRandom seeded(7);
  for (int i = 1; i < 10; ++i) {
    const auto d = backoff_delay(l, i, seeded);
    EXPECT_GE(d, 500ms);
    EXPECT_LE(d, 5000ms);
  }
}

TEST(NotifyDispatcher, DeliversInOrderAndFilters) {
  Fixture f;
  metrics::Registry& reg = f.registry;
  auto all = std::make_unique<FakeChannel>("all");
  auto high = std::make_unique<FakeChannel>("high-only");
  FakeChannel* a = all.get();
  FakeChannel* h = high.get();
  std::vector<Route> r;
  r.push_back(Route{std::move(all), {}});
  Filter hf;
  hf.min_severity = Severity::high;
  hf.events = {Event::firing};
  r.push_back(Route{std::move(high), hf});
  Dispatcher d(std::move(r), reg, {}, f.clock, f.sleeper, f.random);
  EXPECT_EQ(d.channels(), 2u);

  for (int i = 1; i <= 5; ++i) {
    auto n = sample();
    n.alert.id = i;
    n.alert.severity = i % 2 ? Severity::high : Severity::medium;
    EXPECT_TRUE(d.offer(n));
  }
  auto resolved = sample(Event::resolved);
  resolved.alert.id = 6;
  EXPECT_TRUE(d.offer(resolved));
  d.stop();
  const auto got = a->got();
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i].alert.id, i + 1);
  const auto filtered = h->got();
  ASSERT_EQ(filtered.size(), 3u);  // ids 1, 3, 5: high and firing
  EXPECT_EQ(filtered[1].alert.id, 3);
  EXPECT_EQ(f.metric("edusight_notifications_sent_total", "all"), 6);
  EXPECT_EQ(f.metric("edusight_notifications_sent_total", "high-only"), 3);
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "all"), 6);
  EXPECT_EQ(f.metric("edusight_notification_queue_depth", "all"), 0);
  EXPECT_EQ(f.metric("edusight_notifications_failed_total", "all"), 0);
  EXPECT_EQ(f.metric("edusight_notifications_dropped_total", "all"), 0);
  EXPECT_FALSE(d.offer(sample()));  // stopped
}

TEST(NotifyDispatcher, RetriesWithBackoffThenSucceeds) {
  Fixture f;
  FakeChannel* c = nullptr;
  Dispatcher d(routes(c, {Delivery::retry("HTTP 503"), Delivery::retry("timeout")}), f.registry, {},
               f.clock, f.sleeper, f.random);
  EXPECT_TRUE(d.offer(sample()));
  ASSERT_TRUE(
      eventually([&] { return f.metric("edusight_notifications_sent_total", "soc") == 1; }));
  d.stop();
  EXPECT_EQ(c->got().size(), 3u);
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "soc"), 3);
  EXPECT_EQ(f.metric("edusight_notifications_failed_total", "soc"), 0);
  EXPECT_EQ(f.sleeper.waits(), (std::vector<std::chrono::milliseconds>{1000ms, 2000ms}));
}

TEST(NotifyDispatcher, GivesUpAfterMaxAttempts) {
  Fixture f;
  FakeChannel* c = nullptr;
  auto r = routes(c);
  c->always(Delivery::retry("HTTP 500"));
  DispatcherLimits l;
  l.max_attempts = 5;
  l.initial_backoff = 1000ms;
  l.max_backoff = 3000ms;
  Dispatcher d(std::move(r), f.registry, l, f.clock, f.sleeper, f.random);
  d.offer(sample());
  ASSERT_TRUE(
      eventually([&] { return f.metric("edusight_notifications_failed_total", "soc") == 1; }));
  d.stop();
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "soc"), 5);
  EXPECT_EQ(f.metric("edusight_notifications_sent_total", "soc"), 0);
  EXPECT_EQ(f.sleeper.waits(),
            (std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 3000ms, 3000ms}));
}

TEST(NotifyDispatcher, PermanentErrorsAreNotRetried) {
  Fixture f;
  FakeChannel* c = nullptr;
  Dispatcher d(routes(c, {Delivery::fatal("HTTP 404")}), f.registry, {}, f.clock, f.sleeper,
               f.random);
  d.offer(sample());
  auto second = sample();
  second.alert.id = 43;
  d.offer(second);
  ASSERT_TRUE(
      eventually([&] { return f.metric("edusight_notifications_sent_total", "soc") == 1; }));
  d.stop();
  EXPECT_EQ(f.metric("edusight_notifications_failed_total", "soc"), 1);
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "soc"), 2);
  EXPECT_TRUE(f.sleeper.waits().empty());
}

TEST(NotifyDispatcher, FullQueueDropsWithoutBlocking) {
  Fixture f;
  FakeChannel* c = nullptr;
  auto r = routes(c);
  c->hold();
  DispatcherLimits l;
  l.queue_capacity = 2;
  Dispatcher d(std::move(r), f.registry, l, f.clock, f.sleeper, f.random);
  EXPECT_TRUE(d.offer(sample()));  // taken by the worker, which is held in send()
  ASSERT_TRUE(eventually([&] { return c->entered() == 1; }));
  EXPECT_TRUE(d.offer(sample()));
  EXPECT_TRUE(d.offer(sample()));
  EXPECT_EQ(f.metric("edusight_notification_queue_depth", "soc"), 2);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(d.offer(sample()));
  EXPECT_FALSE(d.offer(sample()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(f.metric("edusight_notifications_dropped_total", "soc"), 2);
  c->release();
  ASSERT_TRUE(
      eventually([&] { return f.metric("edusight_notifications_sent_total", "soc") == 3; }));
  d.stop();
  EXPECT_EQ(f.metric("edusight_notification_queue_depth", "soc"), 0);
}

TEST(NotifyDispatcher, StopCutsARetryWaitShort) {
  Fixture f;
  CondvarSleeper real;
  FakeChannel* c = nullptr;
  auto r = routes(c);
  c->always(Delivery::retry("connection refused"));
  DispatcherLimits l;
  l.initial_backoff = 60s;
  l.max_backoff = 60s;
  Dispatcher d(std::move(r), f.registry, l, f.clock, real, f.random);
  d.offer(sample());
  ASSERT_TRUE(eventually([&] { return c->entered() == 1; }));
  std::this_thread::sleep_for(20ms);  // into the 60 s wait
  const auto start = std::chrono::steady_clock::now();
  d.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(f.metric("edusight_notifications_failed_total", "soc"), 1);
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "soc"), 1);
  // A stopped sleeper stays stopped.
  EXPECT_FALSE(real.sleep_for(60s));
}

TEST(NotifyDispatcher, StopDrainsOnceEachWithinTheDrainTime) {
  Fixture f;
  FakeChannel* c = nullptr;
  auto r = routes(c);
  c->hold();
  c->always(Delivery::retry("HTTP 503"));
  DispatcherLimits l;
  l.drain_timeout = 10s;  // the manual clock does not move: never expires
  Dispatcher d(std::move(r), f.registry, l, f.clock, f.sleeper, f.random);
  for (int i = 0; i < 4; ++i) d.offer(sample());
  ASSERT_TRUE(eventually([&] { return c->entered() == 1; }));
  std::thread stopper([&] { d.stop(); });
  ASSERT_TRUE(eventually([&] { return f.sleeper.interrupted(); }));
  c->release();
  stopper.join();
  // Stopping: no backoff waits and one attempt for each of the four.
  EXPECT_EQ(f.metric("edusight_notification_attempts_total", "soc"), 4);
  EXPECT_EQ(f.metric("edusight_notifications_failed_total", "soc"), 4);
  EXPECT_EQ(f.metric("edusight_notifications_dropped_total", "soc"), 0);
  EXPECT_TRUE(f.sleeper.waits().empty());
}

TEST(NotifyDispatcher, StopDropsWhatTheDrainTimeCannotCover) {
  Fixture f;
  FakeChannel* c = nullptr;
  auto r = routes(c);
  c->hold();
  DispatcherLimits l;
  l.drain_timeout = 0ms;
  Dispatcher d(std::move(r), f.registry, l, f.clock, f.sleeper, f.random);
  for (int i = 0; i < 4; ++i) d.offer(sample());
  ASSERT_TRUE(eventually([&] { return c->entered() == 1; }));
  std::thread stopper([&] { d.stop(); });
  ASSERT_TRUE(eventually([&] { return f.sleeper.interrupted(); }));
  c->release();
  stopper.join();
  EXPECT_EQ(f.metric("edusight_notifications_sent_total", "soc"), 1);
  EXPECT_EQ(f.metric("edusight_notifications_dropped_total", "soc"), 3);
  EXPECT_EQ(f.metric("edusight_notification_queue_depth", "soc"), 0);
}

TEST(NotifyDispatcher, DestructorStops) {
  Fixture f;
  FakeChannel* c = nullptr;
  {
    Dispatcher d(routes(c), f.registry, {}, f.clock, f.sleeper, f.random);
    d.offer(sample());
  }
  EXPECT_EQ(f.metric("edusight_notifications_sent_total", "soc"), 1);
}

}  // namespace
}  // namespace edusight::collector::notify
