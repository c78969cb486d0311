#pragma once
// `edusight-agent scan`: one scan of the configured targets, findings to the sinks.
#include <memory>
#include <string>
#include <vector>

#include "edusight/core/clock.hpp"
#include "edusight/core/config.hpp"
#include "edusight/core/registry.hpp"
#include "edusight/core/sink.hpp"

namespace edusight::agent {

// Everything read from disk before the scan starts; errors here are configuration errors
// (exit 2), not scan failures.
struct ScanInputs {
  std::unique_ptr<Registry> registry;  // null when none is configured
  std::vector<std::string> wordlist;
};
ScanInputs prepare_scan(const ScanConfig& config);  // throws ConfigError

struct ScanRunOptions {
  std::string scan_id;
  bool progress = false;            // a progress line on stderr (when it is a terminal)
  std::string proc_root = "/proc";  // where the vantage facts come from
  std::uint64_t seed = 0;           // randomness (wildcard probes); 0: from the system
};

struct ScanOutcome {
  int targets_scanned = 0;
  int targets_refused = 0;
  std::size_t assets = 0;
  std::size_t findings = 0;
};

// Runs the scan to the end; never throws for what it finds on the network.
ScanOutcome run_scan(const ScanConfig& config, const ScanInputs& inputs, FindingSink& sink,
                     const Clock& clock, const ScanRunOptions& options);

}  // namespace edusight::agent
