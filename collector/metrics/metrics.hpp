#pragma once
// The collector's counters and gauges, rendered in the Prometheus text format for /metrics.
// Updating is lock-free (atomics); registration happens at start-up, before any thread runs.
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace edusight::metrics {

enum class Type { counter, gauge };

class Value {
 public:
  void add(std::int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { v_.store(n, std::memory_order_relaxed); }
  std::int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// One metric name with its help text and any number of label sets.
class Family {
 public:
  Family(std::string name, std::string help, Type type)
      : name_(std::move(name)), help_(std::move(help)), type_(type) {}
  // The value for these labels ({} for none), created on first use. The reference stays valid
  // for the registry's life, so hot paths look it up once and keep it.
  Value& with(const std::vector<std::pair<std::string, std::string>>& labels = {});
  const std::string& name() const { return name_; }
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  Type type_;
  mutable std::mutex mutex_;             // guards the map only, never the values
  std::map<std::string, Value> values_;  // rendered label set -> value
};

class Registry {
 public:
  // Same name twice returns the same family.
  Family& counter(const std::string& name, const std::string& help);
  Family& gauge(const std::string& name, const std::string& help);
  std::string render() const;  // text/plain; version=0.0.4
  std::vector<std::string> names() const;

 private:
  Family& family(const std::string& name, const std::string& help, Type type);
  mutable std::mutex mutex_;
  std::deque<Family> families_;  // deque: references stay valid as it grows
};

}  // namespace edusight::metrics
