#pragma once
// Judges each finding by the rules on its way to the next sink, so a one-shot scan's output
// already carries severities, policy and suppressions.
#include "edusight/core/clock.hpp"
#include "edusight/core/sink.hpp"
#include "rules/engine/rule_set.hpp"

namespace edusight::rules {

class RulesSink final : public FindingSink {
 public:
  RulesSink(const RuleSet& rules, const Clock& clock, FindingSink& next)
      : rules_(rules), clock_(clock), next_(next) {}
  void write(const Finding& f) override {
    Finding judged = f;
    rules_.apply(judged, clock_.now());
    next_.write(judged);
  }
  void close() override { next_.close(); }

 private:
  const RuleSet& rules_;
  const Clock& clock_;
  FindingSink& next_;
};

}  // namespace edusight::rules
