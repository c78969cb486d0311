#pragma once
// The rule set in force in the collector. Ingest threads read it for every batch; a reload
// (SIGHUP or the admin API) builds a new set and swaps it in whole, and a file that does not
// load leaves the previous rules in force.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"
#include "rules/engine/rule_set.hpp"

namespace edusight::collector {

struct ReloadOutcome {
  bool ok = false;
  std::string error;  // file:line:column: what is wrong
  std::size_t rules = 0;
  std::size_t exceptions = 0;
};

class ActiveRules {
 public:
  // Loads the files; throws ConfigError when they do not load (start-up).
  ActiveRules(std::vector<std::string> paths, const Clock& clock, metrics::Registry& metrics);

  std::shared_ptr<const rules::RuleSet> current() const { return current_.load(); }
  const std::vector<std::string>& paths() const { return paths_; }

  // Re-reads the same files. Never throws; on error the old rules stay.
  ReloadOutcome reload();

  // The collector's verdict on a batch: each finding's severity and policy are set by the
  // rules in force (what the agent said about them is replaced) and the alerts it raises are
  // added to the batch.
  void apply(Batch& batch) const;

 private:
  std::vector<std::string> paths_;
  const Clock& clock_;
  std::atomic<std::shared_ptr<const rules::RuleSet>> current_;
  std::mutex reload_mutex_;  // one reload at a time
  metrics::Value& loaded_rules_;
  metrics::Value& loaded_exceptions_;
  metrics::Value& reloads_ok_;
  metrics::Value& reloads_failed_;
  metrics::Value& last_reload_ok_;
  metrics::Value& alerts_raised_;
};

}  // namespace edusight::collector
