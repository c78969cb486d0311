#pragma once
// How both stores keep times: integer microseconds since the Unix epoch. Exact, compact, and
// they sort and compare in SQL without parsing.
#include <chrono>
#include <cstdint>

namespace edusight::collector {

inline std::int64_t to_micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point from_micros(std::int64_t us) {
  using TimePoint = std::chrono::system_clock::time_point;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(us)));
}

}  // namespace edusight::collector
