#pragma once
// The Forward tags of EduSight's records (docs/collector-protocol.md): the one place both the
// agent, which sends them, and the collector, which dispatches on them, take them from.
#include <string_view>

namespace edusight::forward {

inline constexpr std::string_view kFindingTag = "edusight.finding";
inline constexpr std::string_view kScanTag = "edusight.scan";
inline constexpr std::string_view kHeartbeatTag = "edusight.heartbeat";

}  // namespace edusight::forward
