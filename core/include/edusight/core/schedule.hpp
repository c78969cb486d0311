#pragma once
// When jobs run (the agent's scans, the collector's reports): cron expressions and fixed intervals,
// always evaluated in UTC (an agent's local time zone must not shift campus-wide scan windows;
// write "0 19 * * *" for 03:00 in China Standard Time).
//
//   "m h dom mon dow"  five fields; each `*`, a number, a list `a,b`, a range `a-b`, a step
//                      `*/n` or `a-b/n` (or `a/n`: from a to the field's end). dow 0-7, 0 and 7
//                      both Sunday. As in Vixie cron, when both dom and dow are restricted a
//                      day matches if either does.
//   @hourly @daily @weekly @monthly   "0 * * * *", "0 0 * * *", "0 0 * * 0", "0 0 1 * *"
//   @every 30m          a fixed interval (ms, s, m, h, d units): next_after(t) is t + interval,
//                       so the interval counts from the previous run's start.
#include <bitset>
#include <chrono>
#include <string>
#include <string_view>

#include "edusight/core/clock.hpp"

namespace edusight {

// "500ms", "30s", "5m", "2h", "1d" (core/duration.hpp); throws std::invalid_argument with a
// clear message.
std::chrono::milliseconds duration_or_throw(std::string_view text);

class Schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  // Throws std::invalid_argument naming the bad field, and for expressions that never fire
  // (e.g. "0 0 30 2 *").
  static Schedule parse(std::string_view text);

  // The first run strictly after t (cron: the next whole minute that matches, UTC).
  time_point next_after(time_point t) const;
  const std::string& text() const { return text_; }
  bool is_interval() const { return interval_.count() > 0; }

 private:
  std::string text_;
  std::chrono::milliseconds interval_{0};
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31
  std::bitset<13> months_;   // 1-12
  std::bitset<7> weekdays_;  // 0-6, Sunday 0
  bool dom_restricted_ = false, dow_restricted_ = false;
};

// A delay uniform in [0, max], drawn from `random` (spreads agents that share a schedule).
std::chrono::milliseconds draw_jitter(std::chrono::milliseconds max, Random& random);

}  // namespace edusight
