#pragma once
// A campus collector's link to the provincial collector (docs/federation.md). The writer
// thread hands it every batch its agents delivered once the batch is committed locally; it
// encodes the batch as Forward chunks, exactly as an agent would send them, with each record
// naming its original agent and tagged with the campus, and puts them on a durable spool
// before the agent gets its ack. A sender coroutine drains the spool upstream with acks,
// retries and backoff. An unreachable upstream never holds up local ingest: the spool is
// bounded and evicts its oldest chunks (counted).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "collector/forward/sender.hpp"
#include "collector/forward/spool.hpp"
#include "collector/metrics/metrics.hpp"
#include "collector/store/store.hpp"

namespace edusight::collector {

struct UpstreamChunk {
  std::string tag;
  std::string chunk_id;
  std::string message;  // PackedForward with the chunk option: sent as is
};

// The chunks that carry `batch` upstream. Chunk ids derive from the batch's (the agent's),
// so a batch forwarded twice (the agent re-sent it after a crash) is recognised upstream as
// the same chunks. Findings go as edusight.finding records without the local rules' verdict
// (the provincial collector judges with its own rules), max_findings to a chunk; a completed
// scan goes as its edusight.scan "completed" record (event time `now`), with
// scanned_subjects when listed.
std::vector<UpstreamChunk> encode_for_upstream(const Batch& batch, const std::string& campus,
                                               std::size_t max_findings,
                                               std::chrono::system_clock::time_point now);

struct UpstreamOptions {
  std::string campus;
  std::string spool_dir;
  forward::SpoolLimits spool_limits;
  std::size_t max_chunk_findings = 5000;
  forward::SenderOptions sender;  // client, backoff, heartbeat interval
  std::string version = "0";
};

class Upstream {
 public:
  // Opens the spool (std::runtime_error when it cannot be used: a start-up error).
  Upstream(UpstreamOptions options, metrics::Registry& metrics, const Clock& clock, Random& random);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // On the writer thread, after `batch` was committed (or found already stored): durable on
  // the spool when this returns, unless the spool refused it (logged and counted).
  void forward(const Batch& batch);

  // Starts the sender and the metrics refresh on `executor`; stop() ends both.
  void start(boost::asio::any_io_executor executor);
  void stop();  // on the executor

  forward::Spool& spool() { return spool_; }

 private:
  boost::asio::awaitable<void> refresh_metrics();
  void update_metrics();
  boost::json::object heartbeat() const;

  UpstreamOptions options_;
  const Clock& clock_;
  Random& random_;
  forward::Spool spool_;
  std::unique_ptr<forward::Sender> sender_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::chrono::system_clock::time_point started_at_;
  bool stopping_ = false;

  metrics::Value& spool_chunks_;
  metrics::Value& spool_bytes_;
  metrics::Value& spooled_;
  metrics::Value& spool_failures_;
  metrics::Value& evicted_;
  metrics::Value& sent_;
  metrics::Value& acked_;
  metrics::Value& connected_;
};

}  // namespace edusight::collector
