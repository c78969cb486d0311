#pragma once
// The one thread that writes to the store. Connections hand it batches and wait (without
// blocking an io thread) for the commit; it gathers whatever is pending from all of them into
// one transaction, so many agents share one fsync (group commit). A connection reads nothing
// more until its batch is committed, which is the collector's backpressure: when the store
// falls behind, agents' TCP windows fill and they slow down.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "collector/alerts/active_rules.hpp"
#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"

namespace edusight::collector {

struct WriterLimits {
  // A group closes at this many findings (one transaction); the rest waits for the next.
  std::size_t max_group_findings = 50'000;
};

class StoreWriter {
 public:
  // `rules`, when given, judges every batch before it is queued (on the submitting thread,
  // so the single writer thread only writes).
  StoreWriter(Store& store, metrics::Registry& metrics, WriterLimits limits = {},
              const ActiveRules* rules = nullptr);
  ~StoreWriter();  // stops and joins; pending work is still committed first
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Completion signature void(Result). The handler runs on its associated executor.
  template <typename Token>
  auto async_commit(Batch batch, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result)>(
        [this](auto handler, Batch b) {
          enqueue_batch(std::move(b), erase<Result>(std::move(handler)));
        },
        token, std::move(batch));
  }

  // Completion signature void(AgentLookup): the handshake's key lookup, served by the same
  // thread so it never races a revoke.
  template <typename Token>
  auto async_find_agent(std::string id, Token&& token) {
    return boost::asio::async_initiate<Token, void(AgentLookup)>(
        [this](auto handler, std::string agent) {
          enqueue_lookup(std::move(agent), erase<AgentLookup>(std::move(handler)));
        },
        token, std::move(id));
  }

  // Called on the writer thread for every batch the store took (committed, or found already
  // stored), before the batch's handler: a campus collector forwards it upstream there
  // (collector/ingest/upstream.hpp), so the agent's ack waits until that copy is durable too.
  // Set before the first batch.
  void set_committed_hook(std::function<void(const Batch&)> hook) { hook_ = std::move(hook); }

  // Fire and forget: heartbeats are coalesced per agent and written with the next group.
  void record_heartbeat(Heartbeat heartbeat);

  // Finishes what is queued, then the thread ends; later submissions fail at once.
  void stop();

 private:
  using CommitHandler = std::function<void(Result)>;
  using LookupHandler = std::function<void(AgentLookup)>;

  // A copyable callable that completes `handler` on its own executor (an io thread), never on
  // the writer thread.
  template <typename Value, typename Handler>
  static std::function<void(Value)> erase(Handler handler) {
    auto shared = std::make_shared<Handler>(std::move(handler));
    return [shared](Value v) {
      auto executor = boost::asio::get_associated_executor(*shared);
      boost::asio::post(
          executor, [shared, v = std::move(v)]() mutable { std::move (*shared)(std::move(v)); });
    };
  }
  struct PendingBatch {
    Batch batch;
    CommitHandler handler;
  };
  struct PendingLookup {
    std::string id;
    LookupHandler handler;
  };

  void enqueue_batch(Batch batch, CommitHandler handler);
  void enqueue_lookup(std::string id, LookupHandler handler);
  void run();

  Store& store_;
  WriterLimits limits_;
  const ActiveRules* rules_;
  std::function<void(const Batch&)> hook_;
  metrics::Value& committed_findings_;
  metrics::Value& committed_chunks_;
  metrics::Value& duplicate_chunks_;
  metrics::Value& failed_chunks_;
  metrics::Value& transactions_;
  metrics::Value& queued_findings_;
  metrics::Value& heartbeats_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingBatch> batches_;
  std::deque<PendingLookup> lookups_;
  std::deque<Heartbeat> heartbeats_pending_;
  std::size_t queued_ = 0;  // findings in batches_
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edusight::collector
