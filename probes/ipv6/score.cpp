#include "probes/ipv6/score.hpp"

#include <algorithm>
#include <cmath>

namespace edusight::ipv6 {

Score readiness_score(const ReadinessFacts& f) {
  Score s;
  if (!f.has_aaaa) return s;  // no AAAA: nobody reaches it over IPv6, whatever else holds
  s.dns = 25;
  s.reach = static_cast<int>(std::lround(25.0 * std::clamp(f.reachable_share, 0.0, 1.0)));
  if (s.reach > 0) {
    if (f.similarity && f.same_status) {
      const double ratio =
          f.similarity_threshold > 0 ? *f.similarity / f.similarity_threshold : 1.0;
      s.content = static_cast<int>(std::lround(20.0 * std::clamp(ratio, 0.0, 1.0)));
    }
    // A site without links of its own is not penalised for them.
    s.links =
        static_cast<int>(std::lround(20.0 * std::clamp(f.link_share.value_or(1.0), 0.0, 1.0)));
    s.speed = f.slow ? 0 : 10;
  }
  s.total = s.dns + s.reach + s.content + s.links + s.speed;
  return s;
}

}  // namespace edusight::ipv6
