#pragma once
// Injected time and randomness: probes and checks ask these, never the system directly,
// so tests are hermetic and repeatable.
#include <chrono>
#include <cstdint>
#include <random>

namespace edusight {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Monotonic time for measuring durations.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start)
      : now_(start), steady_(std::chrono::steady_clock::time_point{}) {}
  time_point now() const override { return now_; }
  std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
  void advance(std::chrono::nanoseconds d) {
    now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    steady_ += d;
  }

 private:
  time_point now_;
  std::chrono::steady_clock::time_point steady_;
};

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, bound).
  virtual std::uint64_t below(std::uint64_t bound) = 0;
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t bound) override {
    if (bound == 0) return 0;
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace edusight
