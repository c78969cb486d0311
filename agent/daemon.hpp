#pragma once
// `edusight-agent run`: the scheduled agent. Jobs run on their schedules (never overlapping
// themselves, each scan on a worker thread), findings stream in chunks onto the disk spool
// FIRST, and one sender coroutine keeps a connection to the collector, delivers the spool in
// order and removes a chunk only after its ack. Heartbeats go straight to the collector when
// connected. The pieces (SpoolingSink, Sender) also serve `scan --collector`.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon_config.hpp"
#include "agent/scan_command.hpp"
#include "collector/forward/client.hpp"
#include "collector/forward/edusight_tags.hpp"
#include "collector/forward/sender.hpp"
#include "collector/forward/spool.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/sink.hpp"

namespace edusight::agent {

using forward::kFindingTag;
using forward::kHeartbeatTag;
using forward::kScanTag;
using forward::Sender;
using forward::SenderOptions;
using forward::Spool;
using forward::SpoolLimits;

// Batches findings into chunks (PackedForward with a chunk id) on the spool: a chunk is cut
// at max_findings, or when its oldest finding waited max_delay (checked on write and by
// flush_if_due(), which the daemon calls on a timer). Thread-safe.
class SpoolingSink final : public FindingSink {
 public:
  SpoolingSink(Spool& spool, const Clock& clock, std::uint64_t seed, std::string job,
               std::size_t max_findings, std::chrono::milliseconds max_delay);
  void write(const Finding& f) override;
  void close() override;  // spools what is buffered
  void flush_if_due();
  // After this, writes are dropped (a scan abandoned at shutdown keeps running a moment).
  void stop_accepting();

  std::size_t findings() const;        // written to this sink
  std::size_t spool_failures() const;  // findings lost because the spool refused a chunk

 private:
  void flush_locked();

  Spool& spool_;
  const Clock& clock_;
  SeededRandom random_;
  std::string job_;
  std::size_t max_findings_;
  std::chrono::milliseconds max_delay_;
  mutable std::mutex mutex_;
  std::vector<forward::Entry> batch_;
  std::chrono::steady_clock::time_point batch_started_{};
  std::size_t findings_ = 0;
  std::size_t failures_ = 0;
  bool accepting_ = true;
};

// Spools one record as its own chunk (the edusight.scan "completed" event). False on failure
// (logged).
bool spool_record(Spool& spool, const Clock& clock, Random& random, std::string_view tag,
                  boost::json::object record);
boost::json::object scan_completed_record(const std::string& scan_id, const std::string& job,
                                          std::size_t findings);

forward::ClientOptions client_options(const CollectorConfig& c, const std::string& agent_id,
                                      const std::string& key);

// Runs one scan of a job; the default prepares the inputs and calls run_scan. Tests inject
// their own. Runs on a worker thread; may throw (logged, the scan counts as failed).
using ScanRunner = std::function<ScanOutcome(const JobConfig& job, FindingSink& sink,
                                             const std::string& scan_id, const Clock& clock)>;
ScanOutcome default_scan_runner(const JobConfig& job, FindingSink& sink, const std::string& scan_id,
                                const Clock& clock);

struct DaemonOptions {
  ScanRunner scan_runner = default_scan_runner;
  std::chrono::milliseconds shutdown_grace{10000};  // for running scans to end
  bool handle_signals = true;                       // SIGINT/SIGTERM stop the daemon
  std::string version = "0";
};

class Daemon {
 public:
  // Opens the spool (std::runtime_error when it cannot be used).
  Daemon(DaemonConfig config, const Clock& clock, Random& random, DaemonOptions options = {});
  ~Daemon();

  // Runs until SIGINT/SIGTERM or stop(); 0 when it stopped cleanly.
  int run();
  void stop();  // thread-safe
  // Scans still running when the shutdown grace ran out: their threads are abandoned, so the
  // process should end promptly (std::_Exit) rather than destroy what they use.
  bool abandoned_scans() const { return abandoned_ > 0; }
  Spool& spool() { return spool_; }

 private:
  struct JobState;
  struct ScanTask;
  boost::asio::awaitable<void> job_loop(std::size_t index);
  boost::asio::awaitable<void> run_job(std::size_t index);
  boost::json::object heartbeat() const;
  void begin_shutdown();
  std::string new_scan_id();

  DaemonConfig config_;
  const Clock& clock_;
  Random& random_;
  DaemonOptions options_;
  boost::asio::io_context io_;
  Spool spool_;
  std::unique_ptr<Sender> sender_;
  std::vector<std::unique_ptr<JobState>> jobs_;
  std::chrono::system_clock::time_point started_at_;
  std::chrono::steady_clock::time_point stop_requested_at_{};
  bool stopping_ = false;
  std::atomic<int> abandoned_{0};
  std::string last_scan_;
  std::optional<std::chrono::system_clock::time_point> last_scan_at_;
};

}  // namespace edusight::agent
