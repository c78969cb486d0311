#pragma once
// `edusight-agent scan`: one scan of the configured targets, findings to the sinks.
#include <string>

#include "edusight/core/clock.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/sink.hpp"

namespace edusight::agent {

struct ScanRunOptions {
  std::string scan_id;
  bool progress = false;     // a progress line on stderr (when it is a terminal)
  std::string proc_root = "/proc";  // where the vantage facts come from
};

struct ScanOutcome {
  int targets_scanned = 0;
  int targets_refused = 0;
  std::size_t findings = 0;
};

// Runs the scan to the end; never throws for what it finds on the network.
ScanOutcome run_scan(const ScanConfig& config, FindingSink& sink, const Clock& clock, const ScanRunOptions& options);

}  // namespace edusight::agent
