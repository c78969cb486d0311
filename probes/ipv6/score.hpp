#pragma once
// The per-system IPv6 readiness score (0-100). docs/ipv6-readiness.md explains it.
#include <optional>

namespace edusight::ipv6 {

struct ReadinessFacts {
  bool has_aaaa = false;
  // Of the (IPv6 address, port) pairs for ports that work over IPv4, the share that work.
  double reachable_share = 0;
  // Similarity of the IPv6 page to the IPv4 page (0..1); nullopt when not compared.
  std::optional<double> similarity;
  bool same_status = false;
  double similarity_threshold = 0.9;
  // Share of second- and third-level links that work over IPv6; nullopt when none found.
  std::optional<double> link_share;
  bool slow = false;
};

struct Score {
  int total = 0;
  int dns = 0;      // 25: a real AAAA
  int reach = 0;    // 25: every AAAA address answers on every web port
  int content = 0;  // 20: same status, similar page
  int links = 0;    // 20: links of levels 2 and 3 work over IPv6
  int speed = 0;    // 10: not slower than IPv4 by more than the Happy Eyeballs window
};

Score readiness_score(const ReadinessFacts& f);

}  // namespace edusight::ipv6
