#pragma once
// Findings shaped like the probes' output, for the API tests.
#include <boost/json/parse.hpp>
#include <string>

#include "collector/store/store.hpp"
#include "edusight/core/finding.hpp"

namespace edusight::collector::api::testing {

inline const std::chrono::system_clock::time_point kBase(std::chrono::seconds(1'790'000'000));

inline StoredFinding stored(std::string kind, std::string subject, std::string evidence_json = "{}",
                            Severity severity = Severity::info,
                            std::chrono::seconds age = std::chrono::seconds(0),
                            FindingState state = FindingState::open) {
  StoredFinding s;
  s.finding.kind = std::move(kind);
  s.finding.subject = std::move(subject);
  s.finding.id = finding_id(s.finding.kind, s.finding.subject);
  s.finding.severity = severity;
  s.finding.title = "title of " + s.finding.kind;
  s.finding.title_zh = "标题";
  s.finding.evidence = boost::json::parse(evidence_json).as_object();
  s.finding.observed_at = kBase - age;
  s.finding.agent = "agent-1";
  s.finding.scan = "scan-1";
  s.first_seen = kBase - age - std::chrono::hours(1);
  s.last_seen = kBase - age;
  s.state = state;
  if (state == FindingState::resolved) s.resolved_at = kBase - age;
  return s;
}

// asset.* evidence as probes/discovery/classify.cpp builds it.
inline std::string discovery_evidence(bool own_domain, bool own_address, bool registered,
                                      std::string owner_unit = {}) {
  std::string e =
      R"({"ipv4":["192.0.2.10"],"ipv6":["2001:db8::10"],"sources":["registry","axfr"],)";
  e += std::string(R"("own_domain":)") + (own_domain ? "true" : "false");
  e += std::string(R"(,"own_address":)") + (own_address ? "true" : "false");
  e += std::string(R"(,"registrable_domain":"demo-univ.edu.cn","live":true,"registered":)") +
       (registered ? "true" : "false");
  if (registered) e += R"(,"registry_name":"门户","owner_unit":")" + owner_unit + "\"";
  return e + "}";
}

}  // namespace edusight::collector::api::testing
