#include "collector/ingest/writer.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <utility>
#include <vector>

namespace edusight::collector {

StoreWriter::StoreWriter(Store& store, metrics::Registry& metrics, WriterLimits limits,
                         const ActiveRules* rules)
    : store_(store),
      limits_(limits),
      rules_(rules),
      committed_findings_(
          metrics.counter("edusight_store_findings_committed_total", "Findings committed.").with()),
      committed_chunks_(
          metrics.counter("edusight_store_chunks_committed_total", "Chunks committed.").with()),
      duplicate_chunks_(metrics
                            .counter("edusight_store_chunks_duplicate_total",
                                     "Chunks received again after they were stored; "
                                     "acknowledged, not stored twice.")
                            .with()),
      failed_chunks_(
          metrics.counter("edusight_store_chunks_failed_total", "Chunks the store refused.")
              .with()),
      transactions_(
          metrics.counter("edusight_store_transactions_total", "Group commits (one fsync each).")
              .with()),
      queued_findings_(
          metrics.gauge("edusight_store_queued_findings", "Findings waiting for the writer.")
              .with()),
      heartbeats_(
          metrics.counter("edusight_agent_heartbeats_total", "Agent heartbeats received.").with()),
      thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() {
  stop();
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::enqueue_batch(Batch batch, CommitHandler handler) {
  if (rules_) rules_->apply(batch);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queued_ += batch.findings.size();
      queued_findings_.set(static_cast<std::int64_t>(queued_));
      batches_.push_back({std::move(batch), std::move(handler)});
      wake_.notify_one();
      return;
    }
  }
  handler(Result::failure("collector is shutting down"));
}

void StoreWriter::enqueue_lookup(std::string id, LookupHandler handler) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      lookups_.push_back({std::move(id), std::move(handler)});
      wake_.notify_one();
      return;
    }
  }
  AgentLookup refused;
  refused.error = "collector is shutting down";
  handler(std::move(refused));
}

void StoreWriter::record_heartbeat(Heartbeat heartbeat) {
  heartbeats_.add();
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  heartbeats_pending_.push_back(std::move(heartbeat));
  wake_.notify_one();
}

void StoreWriter::run() {
  std::vector<PendingBatch> group;
  std::vector<Batch> batches;
  std::vector<PendingLookup> lookups;
  std::vector<Heartbeat> heartbeats;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] {
        return stopping_ || !batches_.empty() || !lookups_.empty() || !heartbeats_pending_.empty();
      });
      if (stopping_ && batches_.empty() && lookups_.empty() && heartbeats_pending_.empty()) {
        return;
      }
      std::size_t findings = 0;
      while (!batches_.empty() &&
             (group.empty() ||
              findings + batches_.front().batch.findings.size() <= limits_.max_group_findings)) {
        findings += batches_.front().batch.findings.size();
        group.push_back(std::move(batches_.front()));
        batches_.pop_front();
      }
      queued_ -= findings;
      queued_findings_.set(static_cast<std::int64_t>(queued_));
      while (!lookups_.empty()) {
        lookups.push_back(std::move(lookups_.front()));
        lookups_.pop_front();
      }
      // Only the newest heartbeat of each agent matters.
      std::map<std::string, Heartbeat> latest;
      while (!heartbeats_pending_.empty()) {
        latest[heartbeats_pending_.front().agent] = std::move(heartbeats_pending_.front());
        heartbeats_pending_.pop_front();
      }
      for (auto& [agent, h] : latest) heartbeats.push_back(std::move(h));
    }

    // Lookups first: a handshake should not wait behind a large group.
    for (PendingLookup& l : lookups) l.handler(store_.find_agent(l.id));
    lookups.clear();

    if (!group.empty()) {
      batches.clear();
      for (PendingBatch& p : group) batches.push_back(std::move(p.batch));
      std::vector<Result> results = store_.commit_batches(batches);
      transactions_.add();
      for (std::size_t i = 0; i < group.size(); ++i) {
        const Result& r = results[i];
        if (!r.ok) {
          failed_chunks_.add();
          spdlog::error("store: chunk {} of agent {} not stored: {}", batches[i].chunk_id,
                        batches[i].agent, r.error);
        } else if (r.duplicate) {
          duplicate_chunks_.add();
        } else {
          committed_chunks_.add();
          committed_findings_.add(static_cast<std::int64_t>(batches[i].findings.size()));
        }
        if (r.ok && hook_) hook_(batches[i]);
        group[i].handler(r);
      }
      group.clear();
    }

    if (!heartbeats.empty()) {
      if (Result r = store_.record_heartbeats(heartbeats); !r.ok) {
        spdlog::warn("store: heartbeats not recorded: {}", r.error);
      }
      heartbeats.clear();
    }
  }
}

}  // namespace edusight::collector
