#include "probes/ipv6/context.hpp"

namespace edusight::ipv6 {

void Reporter::emit(std::string kind, Severity severity, std::string subject,
                    std::string_view discriminator, std::string title, std::string title_zh,
                    boost::json::object evidence) {
  Finding f;
  f.id = finding_id(kind, subject, discriminator);
  // A vantage without IPv6 cannot tell a broken site from its own blindness: say so
  // rather than raise a red finding (agent.selfcheck carries the reason).
  const bool ipv6_kind = kind.rfind("ipv6.", 0) == 0;
  if (ipv6_kind && !ipv6_trustworthy_) {
    evidence["trustworthy"] = false;
    if (kind != "ipv6.readiness") severity = Severity::info;
    title = "[untrustworthy: agent has no working IPv6] " + title;
    title_zh = "[不可信：探针自身无可用 IPv6] " + title_zh;
  }
  f.kind = std::move(kind);
  f.severity = severity;
  f.subject = std::move(subject);
  f.title = std::move(title);
  f.title_zh = std::move(title_zh);
  f.evidence = std::move(evidence);
  f.observed_at = clock_.now();
  f.agent = agent_;
  f.scan = scan_;
  ++emitted_;
  sink_.write(f);
}

}  // namespace edusight::ipv6
