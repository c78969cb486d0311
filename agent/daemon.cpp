#include "agent/daemon.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <csignal>
#include <cstdio>
#include <deque>
#include <exception>
#include <thread>

namespace edusight::agent {

namespace asio = boost::asio;
namespace chr = std::chrono;
using steady = chr::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using forward::event_time;

void log_exception(const char* what, std::exception_ptr e) {
  if (!e) {
    spdlog::debug("{} finished", what);
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} failed: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} failed", what);
  }
}

}  // namespace

// --- SpoolingSink ---

SpoolingSink::SpoolingSink(Spool& spool, const Clock& clock, std::uint64_t seed, std::string job,
                           std::size_t max_findings, chr::milliseconds max_delay)
    : spool_(spool),
      clock_(clock),
      random_(seed),
      job_(std::move(job)),
      max_findings_(std::max<std::size_t>(1, max_findings)),
      max_delay_(max_delay) {}

void SpoolingSink::write(const Finding& f) {
  std::lock_guard lock(mutex_);
  if (!accepting_) return;
  auto record = to_json(f);
  record["job"] = job_;
  if (batch_.empty()) batch_started_ = clock_.steady_now();
  batch_.push_back(
      {event_time(f.observed_at == chr::system_clock::time_point{} ? clock_.now() : f.observed_at),
       std::move(record)});
  ++findings_;
  if (batch_.size() >= max_findings_ || clock_.steady_now() - batch_started_ >= max_delay_)
    flush_locked();
}

void SpoolingSink::flush_locked() {
  if (batch_.empty()) return;
  const auto id = forward::make_chunk_id(random_);
  const auto message = forward::encode_packed_forward(kFindingTag, batch_, id);
  if (const auto ec = spool_.append(kFindingTag, id, message)) {
    failures_ += batch_.size();
    spdlog::error("spool: cannot store a chunk of {} finding(s): {}", batch_.size(), ec.message());
  }
  batch_.clear();
}

void SpoolingSink::close() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void SpoolingSink::flush_if_due() {
  std::lock_guard lock(mutex_);
  if (!batch_.empty() && clock_.steady_now() - batch_started_ >= max_delay_) flush_locked();
}

void SpoolingSink::stop_accepting() {
  std::lock_guard lock(mutex_);
  flush_locked();
  accepting_ = false;
}

std::size_t SpoolingSink::findings() const {
  std::lock_guard lock(mutex_);
  return findings_;
}

std::size_t SpoolingSink::spool_failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool spool_record(Spool& spool, const Clock& clock, Random& random, std::string_view tag,
                  boost::json::object record) {
  const auto id = forward::make_chunk_id(random);
  std::vector<forward::Entry> entries;
  entries.push_back({event_time(clock.now()), std::move(record)});
  if (const auto ec = spool.append(tag, id, forward::encode_packed_forward(tag, entries, id))) {
    spdlog::error("spool: cannot store a {} record: {}", tag, ec.message());
    return false;
  }
  return true;
}

boost::json::object scan_completed_record(const std::string& scan_id, const std::string& job,
                                          std::size_t findings) {
  boost::json::object o;
  o["event"] = "completed";
  o["scan"] = scan_id;
  o["job"] = job;
  o["findings"] = static_cast<std::uint64_t>(findings);
  return o;
}

forward::ClientOptions client_options(const CollectorConfig& c, const std::string& agent_id,
                                      const std::string& key) {
  forward::ClientOptions o;
  o.host = c.host;
  o.port = c.port;
  o.plaintext = !c.tls;
  o.ca_file = c.ca_file;
  o.pin_sha256 = c.pin_sha256;
  o.server_name = c.server_name;
  o.agent_id = agent_id;
  o.shared_key = key;
  o.connect_timeout = c.connect_timeout;
  o.ack_timeout = c.ack_timeout;
  return o;
}

// --- Daemon ---

struct Daemon::JobState {
  explicit JobState(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool running = false;
  std::optional<chr::system_clock::time_point> next_run, last_start, last_end;
  std::string last_scan;
  std::size_t last_findings = 0;
  std::uint64_t runs = 0, failures = 0;
};

// Shared by the job coroutine and the scan's thread, which may outlive the coroutine when a
// scan is abandoned at shutdown.
struct Daemon::ScanTask {
  ScanTask(const asio::any_io_executor& ex, Spool& spool, const Clock& clock, std::uint64_t seed,
           const JobConfig& job, std::size_t max_findings, chr::milliseconds max_delay)
      : done_timer(ex), job(job), sink(spool, clock, seed, job.name, max_findings, max_delay) {}
  asio::steady_timer done_timer;
  JobConfig job;  // a copy: the thread must not depend on the daemon
  SpoolingSink sink;
  std::atomic<bool> done{false};
  ScanOutcome outcome;
  std::string error;  // empty: the scan ran to its end
};

ScanOutcome default_scan_runner(const JobConfig& job, FindingSink& sink, const std::string& scan_id,
                                const Clock& clock) {
  const auto inputs = prepare_scan(job.scan);  // re-read: the registry may have changed
  ScanRunOptions opt;
  opt.scan_id = scan_id;
  opt.progress = false;
  return run_scan(job.scan, inputs, sink, clock, opt);
}

Daemon::Daemon(DaemonConfig config, const Clock& clock, Random& random, DaemonOptions options)
    : config_(std::move(config)),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      spool_(config_.spool_dir, SpoolLimits{config_.spool_max_bytes, config_.spool_max_chunks}),
      started_at_(clock.now()) {
  SenderOptions so;
  so.client = client_options(config_.collector, config_.agent_id, config_.key);
  so.heartbeat_interval = config_.heartbeat_interval;
  so.heartbeat = [this] { return heartbeat(); };
  sender_ = std::make_unique<Sender>(io_.get_executor(), spool_, std::move(so), clock_, random_);
  for (std::size_t i = 0; i < config_.jobs.size(); ++i)
    jobs_.push_back(std::make_unique<JobState>(io_.get_executor()));
}

Daemon::~Daemon() = default;

std::string Daemon::new_scan_id() {
  std::string compact;
  for (char c : format_rfc3339(clock_.now()))
    if (c != '-' && c != ':') compact.push_back(c);
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08llx",
                static_cast<unsigned long long>(random_.below(1ull << 32)));
  return "scan-" + compact + "-" + suffix;
}

boost::json::object Daemon::heartbeat() const {
  const auto stats = spool_.stats();
  boost::json::object hb;
  hb["version"] = options_.version;
  hb["started_at"] = format_rfc3339(started_at_);
  hb["uptime_s"] = chr::duration_cast<chr::seconds>(clock_.now() - started_at_).count();
  hb["last_scan"] = last_scan_;
  hb["last_scan_at"] = last_scan_at_ ? boost::json::value(format_rfc3339(*last_scan_at_))
                                     : boost::json::value(nullptr);
  hb["spool_chunks"] = stats.chunks;
  hb["spool_bytes"] = stats.bytes;
  hb["spool_evicted_chunks"] = stats.evicted_chunks;
  boost::json::array jobs;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    const auto& st = *jobs_[i];
    boost::json::object j;
    j["name"] = config_.jobs[i].name;
    j["schedule"] = config_.jobs[i].schedule.text();
    j["running"] = st.running;
    j["next_run_at"] = st.next_run ? boost::json::value(format_rfc3339(*st.next_run))
                                   : boost::json::value(nullptr);
    j["last_scan"] = st.last_scan;
    j["last_scan_at"] = st.last_end ? boost::json::value(format_rfc3339(*st.last_end))
                                    : boost::json::value(nullptr);
    j["last_findings"] = static_cast<std::uint64_t>(st.last_findings);
    j["runs"] = st.runs;
    j["failures"] = st.failures;
    jobs.push_back(std::move(j));
  }
  hb["jobs"] = std::move(jobs);
  return hb;
}

void Daemon::stop() {
  asio::post(io_, [this] { begin_shutdown(); });
}

void Daemon::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  stop_requested_at_ = steady::now();
  spdlog::info("stopping: running scans get {} ms to end, then the connection closes",
               options_.shutdown_grace.count());
  for (auto& j : jobs_) j->timer.cancel();
  sender_->stop();
}

asio::awaitable<void> Daemon::job_loop(std::size_t index) {
  const JobConfig& job = config_.jobs[index];
  JobState& st = *jobs_[index];
  bool first = true;
  // One round per run of the job, until shutdown.
  while (!stopping_) {
    const auto now = clock_.now();
    chr::system_clock::time_point due;
    if (first && job.run_at_start) {
      due = now;
    } else {
      // Intervals count from the previous start; cron from now (a scan that overran its next
      // slot skips it rather than starting twice).
      const auto base = job.schedule.is_interval() && st.last_start ? *st.last_start : now;
      due = job.schedule.next_after(base);
      if (due == chr::system_clock::time_point::max()) {
        spdlog::error("job {}: schedule '{}' never fires again", job.name, job.schedule.text());
        co_return;
      }
      due = std::max(due, now) + draw_jitter(job.jitter, random_);
    }
    first = false;
    st.next_run = due;
    spdlog::info("job {}: next run at {}", job.name, format_rfc3339(due));
    // Waits in slices of at most a minute, so a wall clock that jumps is noticed.
    while (!stopping_ && clock_.now() < due) {
      const auto left = chr::duration_cast<chr::milliseconds>(due - clock_.now());
      st.timer.expires_after(std::min<chr::milliseconds>(left, chr::minutes(1)));
      co_await st.timer.async_wait(use_tuple);
    }
    if (stopping_) break;
    co_await run_job(index);
  }
}

asio::awaitable<void> Daemon::run_job(std::size_t index) {
  const JobConfig& job = config_.jobs[index];
  JobState& st = *jobs_[index];
  const auto scan_id = new_scan_id();
  const auto ex = io_.get_executor();
  auto task = std::make_shared<ScanTask>(ex, spool_, clock_, random_.below(UINT64_MAX), job,
                                         config_.collector.batch_max_findings,
                                         config_.collector.batch_max_delay);
  st.running = true;
  st.next_run.reset();
  st.last_start = clock_.now();
  ++st.runs;
  spdlog::info("job {}: scan {} starts", job.name, scan_id);

  std::thread([task, scan_id, ex, runner = options_.scan_runner, &clock = clock_] {
    try {
      task->outcome = runner(task->job, task->sink, scan_id, clock);
    } catch (const std::exception& e) {
      task->error = e.what();
    } catch (...) {
      task->error = "unknown exception";
    }
    task->done = true;
    asio::post(ex, [task] { task->done_timer.cancel(); });
  }).detach();

  // Wakes when the scan thread is done, and on every batch delay to cut chunks that waited.
  const auto tick = std::clamp<chr::milliseconds>(config_.collector.batch_max_delay,
                                                  chr::milliseconds(50), chr::seconds(1));
  while (!task->done) {
    if (stopping_ && steady::now() - stop_requested_at_ > options_.shutdown_grace) break;
    task->done_timer.expires_after(tick);
    co_await task->done_timer.async_wait(use_tuple);
    task->sink.flush_if_due();
    sender_->notify();
  }
  st.running = false;
  st.last_end = clock_.now();
  if (!task->done) {
    // The scan's thread keeps running, so its sink (shared with it) stops taking findings.
    task->sink.stop_accepting();
    ++abandoned_;
    spdlog::warn("job {}: scan {} still running at shutdown; what it found so far is spooled",
                 job.name, scan_id);
    co_return;
  }
  task->sink.close();
  const auto findings = task->sink.findings();
  st.last_findings = findings;
  st.last_scan = scan_id;
  if (!task->error.empty()) {
    ++st.failures;
    spdlog::error("job {}: scan {} failed: {}", job.name, scan_id, task->error);
    co_return;
  }
  if (stopping_) {
    // Interrupted scans are incomplete: a "completed" event would resolve findings they never
    // got to check.
    spdlog::info("job {}: scan {} interrupted by shutdown after {} finding(s)", job.name, scan_id,
                 findings);
    co_return;
  }
  spool_record(spool_, clock_, random_, kScanTag,
               scan_completed_record(scan_id, job.name, findings));
  last_scan_ = scan_id;
  last_scan_at_ = st.last_end;
  sender_->notify();
  spdlog::info("job {}: scan {} done: {} finding(s), {} target(s) scanned", job.name, scan_id,
               findings, task->outcome.targets_scanned);
}

int Daemon::run() {
  spdlog::info("agent {} starts: {} job(s), spool {} ({} chunk(s) waiting), collector {}:{}",
               config_.agent_id, config_.jobs.size(), config_.spool_dir, spool_.size_chunks(),
               config_.collector.host, config_.collector.port);
  std::optional<asio::signal_set> signals;
  if (options_.handle_signals) {
    signals.emplace(io_, SIGINT, SIGTERM);
    signals->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: shutting down", sig);
      begin_shutdown();
    });
  }
  asio::co_spawn(io_, sender_->run(), [](std::exception_ptr e) { log_exception("sender", e); });
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    asio::co_spawn(io_, job_loop(i), [name = config_.jobs[i].name](std::exception_ptr e) {
      log_exception(("job " + name).c_str(), e);
    });
  }
  // Once stopping, the signal set is cancelled so io_.run() ends when the sender and the jobs
  // have finished.
  asio::steady_timer watcher(io_);
  auto watch = [&]() -> asio::awaitable<void> {
    while (!stopping_) {
      watcher.expires_after(chr::milliseconds(200));
      co_await watcher.async_wait(use_tuple);
    }
    if (signals) signals->cancel();
  };
  asio::co_spawn(io_, watch(), [](std::exception_ptr e) { log_exception("shutdown watcher", e); });
  io_.run();
  spdlog::info("agent stopped; {} chunk(s) wait in the spool", spool_.size_chunks());
  return 0;
}

}  // namespace edusight::agent
