#pragma once
// The checks every store makes when an enrollment token is redeemed, in one place so that
// SqliteStore and PgStore refuse the same tokens for the same reasons.
#include <string>

#include "collector/store/store.hpp"

namespace edusight::collector {

// The refusal `e` earns at `now` for the requested `agent_id`, or `enrolled` when it may be
// redeemed; then `id` is the agent id to create (the request's, or the token's own).
inline RedeemOutcome judge_redemption(const EnrollmentRecord& e, const std::string& agent_id,
                                      TimePoint now, std::string& id) {
  if (e.revoked) return RedeemOutcome::revoked;
  if (now >= e.expires_at) return RedeemOutcome::expired;
  if (e.uses >= e.max_uses) return RedeemOutcome::used;
  id = agent_id.empty() ? e.agent_id : agent_id;
  if (!e.agent_id.empty() && id != e.agent_id) return RedeemOutcome::wrong_agent;
  if (id.empty()) return RedeemOutcome::no_agent_id;
  return RedeemOutcome::enrolled;
}

}  // namespace edusight::collector
