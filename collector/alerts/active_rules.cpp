#include "collector/alerts/active_rules.hpp"

#include <spdlog/spdlog.h>

namespace edusight::collector {

ActiveRules::ActiveRules(std::vector<std::string> paths, const Clock& clock,
                         metrics::Registry& metrics)
    : paths_(std::move(paths)),
      clock_(clock),
      loaded_rules_(metrics.gauge("edusight_rules_loaded", "Rules in force.").with()),
      loaded_exceptions_(metrics
                             .gauge("edusight_rule_exceptions_loaded",
                                    "Rule exceptions in force (expired ones included).")
                             .with()),
      reloads_ok_(metrics.counter("edusight_rules_reloads_total", "Rule reloads by outcome.")
                      .with({{"outcome", "ok"}})),
      reloads_failed_(metrics.counter("edusight_rules_reloads_total", "Rule reloads by outcome.")
                          .with({{"outcome", "failed"}})),
      last_reload_ok_(metrics
                          .gauge("edusight_rules_last_reload_successful",
                                 "1 when the last rule (re)load succeeded, 0 when the previous "
                                 "rules are still in force after a failed one.")
                          .with()),
      alerts_raised_(
          metrics
              .counter("edusight_alert_intents_total", "Findings that raised or repeated an alert.")
              .with()) {
  auto set = std::make_shared<const rules::RuleSet>(rules::load_rule_files(paths_));
  loaded_rules_.set(static_cast<std::int64_t>(set->rules().size()));
  loaded_exceptions_.set(static_cast<std::int64_t>(set->exceptions().size()));
  last_reload_ok_.set(1);
  current_.store(std::move(set));
}

ReloadOutcome ActiveRules::reload() {
  std::lock_guard lock(reload_mutex_);
  ReloadOutcome out;
  try {
    auto set = std::make_shared<const rules::RuleSet>(rules::load_rule_files(paths_));
    out.ok = true;
    out.rules = set->rules().size();
    out.exceptions = set->exceptions().size();
    current_.store(std::move(set));
  } catch (const std::exception& e) {  // ConfigError, or a filesystem or allocation error
    out.error = e.what();
  }
  if (out.ok) {
    reloads_ok_.add();
    last_reload_ok_.set(1);
    loaded_rules_.set(static_cast<std::int64_t>(out.rules));
    loaded_exceptions_.set(static_cast<std::int64_t>(out.exceptions));
    spdlog::info("rules: reloaded {} rules and {} exceptions", out.rules, out.exceptions);
  } else {
    reloads_failed_.add();
    last_reload_ok_.set(0);
    spdlog::error("rules: reload failed, the previous rules stay in force: {}", out.error);
  }
  return out;
}

void ActiveRules::apply(Batch& batch) const {
  const auto set = current();
  const auto now = clock_.now();
  const std::size_t before = batch.alerts.size();
  for (Finding& f : batch.findings) set->apply(f, now, &batch.alerts);
  alerts_raised_.add(static_cast<std::int64_t>(batch.alerts.size() - before));
}

}  // namespace edusight::collector
